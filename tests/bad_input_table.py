"""The bad-input matrix: one table of every public function, its array
arguments and hyperparameters, and what each bad input must do.

``tests/test_bad_inputs.py`` runs every cell; ``tools/gen_bad_inputs_doc.py``
writes the same table to ``docs/bad_inputs.md``. A cell's expected outcome is
``TypeError``, ``ValueError``, ``ok`` (accepted: the result must equal the
call with clean arguments) or ``accepted`` (a valid call with a different
meaning, e.g. another shape for an elementwise kernel: it must not fail). Outcomes follow from the role of an argument:

* ``in``: read only. Non-contiguous or read-only arrays are accepted (a
  read-only input is never written; a strided one is copied).
* ``out`` / ``inout``: written. Must be C-contiguous and writable: fastnn
  never writes to a silent copy.
* ``labels``: integer class labels (any integer dtype).

Departures from the defaults are listed per function in ``expect`` with the
reason in ``why``.
"""
from dataclasses import dataclass, field

import numpy as np

import fastnn
from fastnn import augment as AUG
from fastnn import functional as F
from fastnn import init as I
from fastnn import random as R
from fastnn.functional import regularizers as RG

ARRAY_KINDS = {
    "float16": "float16 array",
    "other_float": "the other float dtype (float32/float64 mixed in one call)",
    "int": "int32 array",
    "object": "object array",
    "list": "Python list",
    "ndim": "one extra dimension",
    "shape": "wrong shape (one element short)",
    "noncontig": "non-contiguous view",
    "readonly": "read-only array",
    "alias": "is another argument (exact aliasing)",
    "overlap": "partly overlaps another argument",
    "byteswap": "non-native byte order (>f4 / >f8 on this machine)",
}
#: kinds that only make sense for float arrays (not for uint8 masks)
FLOAT_ONLY_KINDS = ("other_float", "byteswap")
LABEL_KINDS = {
    "float": "float labels (the call's dtype)",
    "list": "Python list",
    "ndim": "one extra dimension",
    "shape": "wrong shape (one element short)",
    "range": "label out of range",
    "noncontig": "non-contiguous view",
    "readonly": "read-only array",
    "byteswap": "non-native byte order (int64)",
}
HYPER_KINDS = {
    "nan": float("nan"),
    "inf": float("inf"),
    "neg": -1.0,
    "str": "0.1",
    "huge": 2 ** 64,
}
HYPER_KIND_TEXT = {"nan": "NaN", "inf": "+inf", "neg": "-1", "str": "a str", "huge": "2**64"}


def default_outcome(role, kind):
    if role == "labels":
        return "ok" if kind in ("noncontig", "readonly", "byteswap") else (
            "TypeError" if kind in ("float", "list") else "ValueError")
    if kind in ("float16", "other_float", "int", "object", "list"):
        return "TypeError"
    if kind in ("ndim", "shape", "alias", "overlap"):
        return "ValueError"
    if kind in ("noncontig", "readonly"):
        return "ok" if role == "in" else "ValueError"
    if kind == "byteswap":
        # a read-only input is converted (a copy is safe); an array written in
        # place must already be native: fastnn never writes to a copy
        return "ok" if role == "in" else "TypeError"
    raise KeyError(kind)


@dataclass
class Spec:
    """One public function: ``make(dtype)`` gives clean arguments (a dict);
    ``pos`` lists the positional ones; ``roles`` maps array arguments to
    in/out/inout/labels; ``hyper`` maps hyperparameters to the bad kinds
    tried (expected ValueError for nan/inf/neg, TypeError for str)."""
    name: str
    fn: object
    make: object
    pos: tuple
    roles: dict
    hyper: dict = field(default_factory=dict)
    expect: dict = field(default_factory=dict)
    why: dict = field(default_factory=dict)
    empty: str = "ok"  # the call with every array empty / a zero-size batch
    any_shape: tuple = ()  # arguments of any shape: ndim/shape cells are accepted
    # (argument, kind) -> the bad value tried instead of HYPER_KINDS[kind]
    # (e.g. a tuple with one bad entry for a tuple hyperparameter)
    values: dict = field(default_factory=dict)
    # argument -> the name its error messages use, when the function passes it
    # on under another name
    msg_names: dict = field(default_factory=dict)

    def call(self, args):
        kwargs = {k: v for k, v in args.items() if k not in self.pos}
        return self.fn(*[args[k] for k in self.pos], **kwargs)

    def cells(self):
        """(argument, kind, expected outcome) for every cell of the row."""
        out = []
        clean = self.make(np.float64)
        for arg, role in self.roles.items():
            kinds = LABEL_KINDS if role == "labels" else ARRAY_KINDS
            value = clean.get(arg)
            is_float = isinstance(value, np.ndarray) and value.dtype.kind == "f"
            for kind in kinds:
                if kind in FLOAT_ONLY_KINDS and role != "labels" and not is_float:
                    continue
                if kind in ("alias", "overlap") and (
                        role == "in" or self.alias_partner(arg) is None):
                    continue
                if kind == "other_float" and arg == self._dtype_setter():
                    continue
                if kind in ("ndim", "shape") and arg in self.any_shape:
                    exp = "accepted"
                else:
                    exp = default_outcome(role, kind)
                exp = self.expect.get((arg, kind), exp)
                if exp is not None:
                    out.append((arg, kind, exp))
        for arg, kinds in self.hyper.items():
            for kind in kinds:
                exp = self.expect.get((arg, kind), "TypeError" if kind == "str" else "ValueError")
                if exp is not None:
                    out.append((arg, kind, exp))
        out.append(("*", "empty", self.empty))
        return out

    def alias_partner(self, arg):
        """Another array argument ``arg`` could share memory with."""
        args = self.make(np.float64)
        a = args[arg]
        for other, role in self.roles.items():
            b = args.get(other)
            if (other != arg and role != "labels" and isinstance(b, np.ndarray)
                    and b.shape == a.shape and b.dtype == a.dtype):
                return other
        return None

    def _dtype_setter(self):
        return next(a for a, r in self.roles.items() if r != "labels")


def _rng(dt, *shape, seed=0, positive=False):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dt)
    return np.abs(a) + 0.5 if positive else a


def _n(n):
    return n


SPECS = []


def spec(*args, **kwargs):
    SPECS.append(Spec(*args, **kwargs))


OPT_HYPER = ("nan", "inf", "neg", "str")

# ---------------------------------------------------------------- optimizers
spec("sgd_", F.sgd_, lambda dt: dict(param=_rng(dt, 4, 5), grad=_rng(dt, 4, 5, seed=1),
                                     momentum_buffer=_rng(dt, 4, 5, seed=2), lr=0.1, momentum=0.9),
     ("param", "grad", "momentum_buffer"),
     {"param": "inout", "grad": "in", "momentum_buffer": "inout"},
     {"lr": OPT_HYPER, "momentum": OPT_HYPER, "dampening": OPT_HYPER, "weight_decay": OPT_HYPER,
      "l1": OPT_HYPER})
for _name, _states, _extra, _hyp in [
    ("adagrad_", ("state_sum",), dict(step=1), ("lr", "lr_decay", "weight_decay", "eps", "l1")),
    ("rmsprop_", ("square_avg",), {}, ("lr", "alpha", "eps", "weight_decay", "momentum", "l1")),
    ("adam_", ("exp_avg", "exp_avg_sq"), dict(step=1),
     ("lr", "beta1", "beta2", "eps", "weight_decay", "l1", "step")),
    ("adamw_", ("exp_avg", "exp_avg_sq"), dict(step=1),
     ("lr", "beta1", "beta2", "eps", "weight_decay", "l1", "step")),
    ("nadam_", ("exp_avg", "exp_avg_sq"), dict(step=1),
     ("lr", "beta1", "beta2", "eps", "weight_decay", "momentum_decay", "l1", "step")),
    ("radam_", ("exp_avg", "exp_avg_sq"), dict(step=1),
     ("lr", "beta1", "beta2", "eps", "weight_decay", "l1", "step")),
    ("lion_", ("exp_avg",), {}, ("lr", "beta1", "beta2", "weight_decay", "l1")),
]:
    def _make(dt, _states=_states, _extra=_extra):
        d = dict(param=_rng(dt, 4, 5), grad=_rng(dt, 4, 5, seed=1))
        for i, s in enumerate(_states):
            d[s] = _rng(dt, 4, 5, seed=2 + i, positive=True)
        d.update(_extra)
        return d
    spec(_name, getattr(F, _name), _make, ("param", "grad") + _states,
         {"param": "inout", "grad": "in", **{s: "inout" for s in _states}},
         {h: (("nan", "inf", "neg", "str") if h != "step" else ("neg", "str")) for h in _hyp})
    if "step" in _hyp:
        SPECS[-1].expect[("step", "str")] = "TypeError"

spec("clip_grad_norm_", F.clip_grad_norm_, lambda dt: dict(grads=_rng(dt, 4, 5), max_norm=1.0),
     ("grads", "max_norm"), {"grads": "inout"},
     {"max_norm": OPT_HYPER, "norm_type": ("nan", "neg", "str")})
spec("clip_grad_value_", F.clip_grad_value_, lambda dt: dict(grads=_rng(dt, 4, 5), clip_value=0.5),
     ("grads", "clip_value"), {"grads": "inout"}, {"clip_value": OPT_HYPER})
spec("grad_norm", F.grad_norm, lambda dt: dict(grads=_rng(dt, 4, 5)), ("grads",),
     {"grads": "in"}, {"norm_type": ("nan", "neg", "str")})

# ---------------------------------------------------------------- normalization


def _bn(dt):
    return dict(x=_rng(dt, 8, 3), gamma=_rng(dt, 3, seed=1), beta=_rng(dt, 3, seed=2),
                running_mean=_rng(dt, 3, seed=3), running_var=_rng(dt, 3, seed=4, positive=True),
                out=np.empty((8, 3), dt), training=True)


def _bn_b(dt):
    x = _rng(dt, 8, 3)
    _, mean, rstd = F.batch_norm(x, training=True)
    return dict(dy=_rng(dt, 8, 3, seed=5), x=x, mean=mean, rstd=rstd, gamma=_rng(dt, 3, seed=1),
                out=np.empty((8, 3), dt))


spec("batch_norm", F.batch_norm, _bn, ("x", "gamma", "beta", "running_mean", "running_var"),
     {"x": "in", "gamma": "in", "beta": "in", "running_mean": "inout", "running_var": "inout",
      "out": "out"}, {"momentum": OPT_HYPER, "eps": OPT_HYPER})
spec("batch_norm_backward", F.batch_norm_backward, _bn_b, ("dy", "x", "mean", "rstd", "gamma"),
     {"dy": "in", "x": "in", "mean": "in", "rstd": "in", "gamma": "in", "out": "out"})


def _ln(dt):
    return dict(x=_rng(dt, 4, 6), normalized_shape=(6,), weight=_rng(dt, 6, seed=1),
                bias=_rng(dt, 6, seed=2), out=np.empty((4, 6), dt))


def _ln_b(dt):
    x = _rng(dt, 4, 6)
    _, mean, rstd = F.layer_norm(x, (6,))
    return dict(dy=_rng(dt, 4, 6, seed=5), x=x, mean=mean, rstd=rstd, normalized_shape=(6,),
                weight=_rng(dt, 6, seed=1), bias=_rng(dt, 6, seed=2))


spec("layer_norm", F.layer_norm, _ln, ("x", "normalized_shape", "weight", "bias"),
     {"x": "in", "weight": "in", "bias": "in", "out": "out"}, {"eps": OPT_HYPER})
spec("layer_norm_backward", F.layer_norm_backward, _ln_b,
     ("dy", "x", "mean", "rstd", "normalized_shape", "weight", "bias"),
     {"dy": "in", "x": "in", "mean": "in", "rstd": "in", "weight": "in", "bias": "in"})


def _gn(dt):
    return dict(x=_rng(dt, 2, 4, 3), num_groups=2, weight=_rng(dt, 4, seed=1),
                bias=_rng(dt, 4, seed=2), out=np.empty((2, 4, 3), dt))


def _gn_b(dt):
    x = _rng(dt, 2, 4, 3)
    _, mean, rstd = F.group_norm(x, 2)
    return dict(dy=_rng(dt, 2, 4, 3, seed=5), x=x, mean=mean, rstd=rstd, num_groups=2,
                weight=_rng(dt, 4, seed=1), bias=_rng(dt, 4, seed=2))


spec("group_norm", F.group_norm, _gn, ("x", "num_groups", "weight", "bias"),
     {"x": "in", "weight": "in", "bias": "in", "out": "out"}, {"eps": OPT_HYPER,
                                                              "num_groups": ("neg", "str")})
spec("group_norm_backward", F.group_norm_backward, _gn_b,
     ("dy", "x", "mean", "rstd", "num_groups", "weight", "bias"),
     {"dy": "in", "x": "in", "mean": "in", "rstd": "in", "weight": "in", "bias": "in"})


def _in(dt):
    return dict(x=_rng(dt, 2, 3, 5), weight=_rng(dt, 3, seed=1), bias=_rng(dt, 3, seed=2),
                out=np.empty((2, 3, 5), dt))


def _in_b(dt):
    x = _rng(dt, 2, 3, 5)
    _, mean, rstd = F.instance_norm(x)
    return dict(dy=_rng(dt, 2, 3, 5, seed=5), x=x, mean=mean, rstd=rstd,
                weight=_rng(dt, 3, seed=1), bias=_rng(dt, 3, seed=2))


spec("instance_norm", F.instance_norm, _in, ("x", "weight", "bias"),
     {"x": "in", "weight": "in", "bias": "in", "out": "out"}, {"eps": OPT_HYPER})
spec("instance_norm_backward", F.instance_norm_backward, _in_b,
     ("dy", "x", "mean", "rstd", "weight", "bias"),
     {"dy": "in", "x": "in", "mean": "in", "rstd": "in", "weight": "in", "bias": "in"})

# ---------------------------------------------------------------- dropout and noise
P_HYPER = ("nan", "inf", "neg", "str")
spec("dropout", F.dropout, lambda dt: dict(x=_rng(dt, 4, 5), p=0.3, seed=1,
                                           out=np.empty((4, 5), dt)),
     ("x", "p"), {"x": "in", "out": "out"}, {"p": P_HYPER, "seed": ("neg", "str"),
                                             "offset": ("neg", "str")})
spec("dropout_backward", F.dropout_backward,
     lambda dt: dict(grad_out=_rng(dt, 4, 5), p=0.3, seed=1, out=np.empty((4, 5), dt)),
     ("grad_out", "p"), {"grad_out": "in", "out": "out"}, {"p": P_HYPER})
spec("channel_dropout", F.channel_dropout,
     lambda dt: dict(x=_rng(dt, 2, 3, 4), p=0.3, seed=1, out=np.empty((2, 3, 4), dt)),
     ("x", "p"), {"x": "in", "out": "out"}, {"p": P_HYPER})
spec("channel_dropout_backward", F.channel_dropout_backward,
     lambda dt: dict(grad_out=_rng(dt, 2, 3, 4), p=0.3, seed=1, out=np.empty((2, 3, 4), dt)),
     ("grad_out", "p"), {"grad_out": "in", "out": "out"}, {"p": P_HYPER})
spec("dropconnect", F.dropconnect,
     lambda dt: dict(weight=_rng(dt, 4, 5), p=0.3, seed=1, out=np.empty((4, 5), dt)),
     ("weight", "p"), {"weight": "in", "out": "out"}, {"p": P_HYPER})
spec("dropconnect_backward", F.dropconnect_backward,
     lambda dt: dict(grad_dropped_weight=_rng(dt, 4, 5), p=0.3, seed=1, out=np.empty((4, 5), dt)),
     ("grad_dropped_weight", "p"), {"grad_dropped_weight": "in", "out": "out"}, {"p": P_HYPER})
spec("gaussian_noise", F.gaussian_noise,
     lambda dt: dict(x=_rng(dt, 4, 5), std=0.1, seed=1, out=np.empty((4, 5), dt)),
     ("x", "std"), {"x": "in", "out": "out"}, {"std": OPT_HYPER})
spec("gaussian_noise_backward", F.gaussian_noise_backward,
     lambda dt: dict(grad_out=_rng(dt, 4, 5), std=0.1, seed=1, out=np.empty((4, 5), dt)),
     ("grad_out", "std"), {"grad_out": "in", "out": "out"}, {"std": OPT_HYPER})

# ---------------------------------------------------------------- random
for _mod, _pref in ((R, "random."), (I, "init.")):
    spec(_pref + "uniform_", _mod.uniform_, lambda dt: dict(out=np.empty((4, 5), dt), seed=1),
         (), {"out": "out"} if _mod is R else {}, {"seed": ("neg", "str")})
spec("random.normal_", R.normal_, lambda dt: dict(out=np.empty((4, 5), dt), seed=1), (),
     {"out": "out"}, {"std": OPT_HYPER, "mean": ("nan", "inf", "str"), "seed": ("neg", "str")})
SPECS.pop(-2)  # init.uniform_ is listed below with the initializers
spec("random.philox_words", R.philox_words, lambda dt: dict(n=10, seed=1), ("n",), {},
     {"n": ("neg", "str"), "seed": ("neg", "str"), "offset": ("neg", "str")})

# ---------------------------------------------------------------- initializers
for _name, _extra, _hyp in [
    ("uniform_", {}, {"a": ("nan", "inf", "str")}),
    ("normal_", {}, {"std": OPT_HYPER}),
    ("trunc_normal_", {}, {"std": OPT_HYPER, "a": ("nan", "str")}),
    ("xavier_uniform_", {}, {"gain": OPT_HYPER}),
    ("xavier_normal_", {}, {"gain": OPT_HYPER}),
    ("kaiming_uniform_", {}, {"a": ("nan", "inf", "str")}),
    ("kaiming_normal_", {}, {"a": ("nan", "inf", "str")}),
    ("lecun_uniform_", {}, {}),
    ("lecun_normal_", {}, {}),
    ("variance_scaling_", {}, {"scale": OPT_HYPER}),
    ("orthogonal_", {}, {"gain": ("nan", "inf", "str")}),
]:
    spec("init." + _name, getattr(I, _name),
         lambda dt, _extra=_extra: dict(tensor=np.empty((4, 5), dt), seed=1, **_extra),
         ("tensor",), {"tensor": "out"}, dict(_hyp, seed=("neg", "str")))
for _name in ("zeros_", "ones_"):
    spec("init." + _name, getattr(I, _name), lambda dt: dict(tensor=np.empty((4, 5), dt)),
         ("tensor",), {"tensor": "out"})
spec("init.constant_", I.constant_, lambda dt: dict(tensor=np.empty((4, 5), dt), val=0.5),
     ("tensor", "val"), {"tensor": "out"}, {"val": ("nan", "inf", "str")})

# ---------------------------------------------------------------- vector math, activations
for _name in ("exp", "expm1", "erf", "erfc", "identity"):
    spec(_name, getattr(F, _name), lambda dt: dict(x=_rng(dt, 4, 5), out=np.empty((4, 5), dt)),
         ("x",), {"x": "in", "out": "out"})

ACTS = {"relu": {}, "leaky_relu": {"negative_slope": ("nan", "inf", "str")},
        "elu": {"alpha": ("nan", "inf", "str")}, "gelu": {}, "silu": {}, "sigmoid": {},
        "tanh": {}, "softplus": {"beta": ("nan", "inf", "str"), "threshold": ("nan", "str")}}
for _act, _hyp in ACTS.items():
    spec(_act, getattr(F, _act), lambda dt: dict(x=_rng(dt, 4, 5), out=np.empty((4, 5), dt)),
         ("x",), {"x": "in", "out": "out"}, _hyp)
    spec(_act + "_", getattr(F, _act + "_"), lambda dt: dict(x=_rng(dt, 4, 5)), ("x",),
         {"x": "inout"}, _hyp)
    spec(_act + "_backward", getattr(F, _act + "_backward"),
         lambda dt: dict(grad_output=_rng(dt, 4, 5, seed=1), input=_rng(dt, 4, 5),
                         out=np.empty((4, 5), dt)),
         ("grad_output",), {"grad_output": "in", "input": "in", "out": "out"}, _hyp)
spec("activation", F.activation,
     lambda dt: dict(x=_rng(dt, 4, 5), name="elu", out=np.empty((4, 5), dt)),
     ("x", "name"), {"x": "in", "out": "out"}, {"alpha": ("nan", "inf", "str"), "name": ("str",)})
SPECS[-1].expect[("name", "str")] = "ValueError"
spec("activation_", F.activation_, lambda dt: dict(x=_rng(dt, 4, 5), name="elu"), ("x", "name"),
     {"x": "inout"}, {"alpha": ("nan", "inf", "str")}, any_shape=("x",))
spec("activation_backward", F.activation_backward,
     lambda dt: dict(grad_output=_rng(dt, 4, 5, seed=1), name="elu", input=_rng(dt, 4, 5),
                     out=np.empty((4, 5), dt)),
     ("grad_output", "name"), {"grad_output": "in", "input": "in", "out": "out"},
     {"alpha": ("nan", "inf", "str")})
SPECS[-1].expect[("out", "alias")] = "ok"
SPECS[-1].why[("out", "alias")] = ("out may be the input itself: an elementwise kernel reads "
                                   "each element before writing it")
spec("prelu", F.prelu, lambda dt: dict(x=_rng(dt, 4, 5), weight=_rng(dt, 5, seed=1),
                                       out=np.empty((4, 5), dt)),
     ("x", "weight"), {"x": "in", "weight": "in", "out": "out"})
spec("prelu_", F.prelu_, lambda dt: dict(x=_rng(dt, 4, 5), weight=_rng(dt, 5, seed=1)),
     ("x", "weight"), {"x": "inout", "weight": "in"})
spec("prelu_backward", F.prelu_backward,
     lambda dt: dict(grad_output=_rng(dt, 4, 5, seed=2), weight=_rng(dt, 5, seed=1),
                     input=_rng(dt, 4, 5)),
     ("grad_output", "weight"), {"grad_output": "in", "weight": "in", "input": "in"})

# ---------------------------------------------------------------- dense


def _dense(dt):
    return dict(x=_rng(dt, 4, 5), weight=_rng(dt, 3, 5, seed=1), bias=_rng(dt, 3, seed=2),
                activation="gelu", out=np.empty((4, 3), dt))


def _dense_b(dt):
    d = _dense(dt)
    d.pop("out")
    _, saved = F.dense_forward(**d)
    return dict(grad_output=_rng(dt, 4, 3, seed=3), x=d["x"], weight=d["weight"], saved=saved,
                activation="gelu")


spec("dense", F.dense, _dense, ("x", "weight", "bias", "activation"),
     {"x": "in", "weight": "in", "bias": "in", "out": "out"})
spec("dense_forward", F.dense_forward, _dense, ("x", "weight", "bias", "activation"),
     {"x": "in", "weight": "in", "bias": "in", "out": "out"})
spec("dense_backward", F.dense_backward, _dense_b, ("grad_output", "x", "weight", "saved",
                                                   "activation"),
     {"grad_output": "in", "x": "in", "weight": "in", "saved": "in"})

# ---------------------------------------------------------------- losses


def _labels(n=4, k=5):
    return np.arange(n, dtype=np.int64) % k


for _name in ("softmax_cross_entropy", "cross_entropy"):
    spec(_name, getattr(F, _name),
         lambda dt: dict(logits=_rng(dt, 4, 5), target=_labels(), weight=_rng(dt, 5, positive=True),
                         out=np.empty((4, 5), dt)),
         ("logits", "target"), {"logits": "in", "target": "labels", "weight": "in", "out": "out"},
         {"label_smoothing": ("nan", "inf", "neg", "str"), "reduction": ("str",)})
    SPECS[-1].expect[("reduction", "str")] = "ValueError"
    SPECS[-1].expect[("target", "float")] = "ValueError"
    SPECS[-1].why[("target", "float")] = "float targets are probabilities: shape (4, 5) expected"
spec("nll_loss", F.nll_loss,
     lambda dt: dict(log_probs=_rng(dt, 4, 5), labels=_labels(), weight=_rng(dt, 5, positive=True),
                     out=np.empty((4, 5), dt)),
     ("log_probs", "labels"), {"log_probs": "in", "labels": "labels", "weight": "in", "out": "out"})
spec("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
     lambda dt: dict(logits=_rng(dt, 4, 5), target=np.abs(_rng(dt, 4, 5, seed=1)) % 1,
                     pos_weight=_rng(dt, 5, seed=2, positive=True), out=np.empty((4, 5), dt)),
     ("logits", "target"), {"logits": "in", "target": "in", "pos_weight": "in", "out": "out"})
spec("mse_loss", F.mse_loss,
     lambda dt: dict(input=_rng(dt, 4, 5), target=_rng(dt, 4, 5, seed=1),
                     out=np.empty((4, 5), dt)),
     ("input", "target"), {"input": "in", "target": "in", "out": "out"})
spec("multi_margin_loss", F.multi_margin_loss,
     lambda dt: dict(input=_rng(dt, 4, 5), labels=_labels(), out=np.empty((4, 5), dt)),
     ("input", "labels"), {"input": "in", "labels": "labels", "out": "out"},
     {"margin": ("nan", "inf", "str"), "p": ("neg", "str")})
spec("svm_loss", F.svm_loss,
     lambda dt: dict(scores=_rng(dt, 4, 5), labels=_labels(), out=np.empty((4, 5), dt)),
     ("scores", "labels"), {"scores": "in", "labels": "labels", "out": "out"},
     {"margin": ("nan", "inf", "str")})
spec("entropy_penalty", F.entropy_penalty,
     lambda dt: dict(logits=_rng(dt, 4, 5), out=np.empty((4, 5), dt)),
     ("logits",), {"logits": "in", "out": "out"})

# ---------------------------------------------------------------- regularizers
for _name, _hyp in (("l1_penalty", ("l1",)), ("l2_penalty", ("l2",)), ("l1l2_penalty", ("l1", "l2"))):
    spec("regularizers." + _name, getattr(RG, _name),
         lambda dt, _hyp=_hyp: dict(w=_rng(dt, 4, 5), grad=np.zeros((4, 5), dt),
                                    **{h: 0.01 for h in _hyp}),
         ("w",), {"w": "in", "grad": "inout"},
         dict({h: OPT_HYPER for h in _hyp}, scale=("nan", "inf", "str")))


# ---------------------------------------------------------------- augmentation
INT_HYPER = ("nan", "neg", "str")  # nan: a float where an int is needed (TypeError)
STREAM = {"seed": ("neg", "str", "huge"), "offset": ("neg", "str", "huge"),
          "n_threads": INT_HYPER}
SIZE_VALUES = {("size", "nan"): (float("nan"), 4), ("size", "inf"): (4, float("inf")),
               ("size", "neg"): (-1, 4)}
SCALE_VALUES = {("scale", "nan"): (float("nan"), 1.0), ("scale", "inf"): (0.5, float("inf")),
                ("scale", "neg"): (-1.0, 1.0)}


def _img(dt):
    # H != W so that a swapped axis cannot pass
    return _rng(dt, 2, 3, 5, 6)


def _seq(dt):
    return _rng(dt, 3, 7, 2)


AUG_FUNCS = [  # name, clean arguments besides x/out/seed, hyperparameters, x of the call
    ("random_flip_crop", dict(pad=1), ("x", "pad"),
     dict(pad=INT_HYPER + ("huge",), size=OPT_HYPER, padding_mode=("str",), p_hflip=OPT_HYPER,
          p_vflip=OPT_HYPER), _img),
    ("random_affine", dict(degrees=10.0, scale=(0.9, 1.1), translate=0.1), ("x", "degrees"),
     dict(degrees=OPT_HYPER, scale=OPT_HYPER, translate=OPT_HYPER), _img),
    ("random_color_jitter", dict(brightness=0.2, contrast=0.3), ("x", "brightness"),
     dict(brightness=OPT_HYPER, contrast=OPT_HYPER), lambda dt: _rng(dt, 2, 3, 4)),
    ("random_snr_noise", dict(snr_db=10.0), ("x", "snr_db"), dict(snr_db=OPT_HYPER),
     lambda dt: _rng(dt, 2, 3, 4)),
    ("random_time_shift", dict(max_shift=2, wrap=False), ("x", "max_shift"),
     dict(max_shift=INT_HYPER + ("huge",), wrap=("nan", "str")), _seq),
    ("random_element_dropout", dict(p=0.3), ("x", "p"), dict(p=OPT_HYPER), _seq),
    ("random_neighbor_swap", dict(p=0.3), ("x", "p"), dict(p=OPT_HYPER), _seq),
]
for _name, _clean, _pos, _hyp, _x in AUG_FUNCS:
    spec(_name, getattr(F, _name),
         lambda dt, _clean=_clean, _x=_x: dict(x=_x(dt), seed=1, offset=3,
                                               out=np.empty(_x(dt).shape, dt), **_clean),
         _pos, {"x": "in", "out": "out"}, dict(_hyp, **STREAM),
         values={**SIZE_VALUES, **SCALE_VALUES})
    _sp = SPECS[-1]
    for _h in ("pad", "max_shift", "n_threads", "wrap"):
        if "nan" in _sp.hyper.get(_h, ()):
            _sp.expect[(_h, "nan")] = "TypeError"
            _sp.why[(_h, "nan")] = (f"{_h} is a bool" if _h == "wrap" else f"{_h} is an int") + \
                ": a float is the wrong type"
    if "size" in _hyp:
        for _k in ("nan", "inf"):
            _sp.expect[("size", _k)] = "TypeError"
            _sp.why[("size", _k)] = "the entries of size are ints: a float is the wrong type"
    if "wrap" in _hyp:
        _sp.expect[("wrap", "str")] = "TypeError"
    if "padding_mode" in _hyp:
        _sp.expect[("padding_mode", "str")] = "ValueError"
        _sp.why[("padding_mode", "str")] = "a str that is not a padding mode"
    if "snr_db" in _hyp:
        _sp.expect[("snr_db", "neg")] = "accepted"
        _sp.why[("snr_db", "neg")] = "a negative SNR is valid: noise stronger than the signal"


def _transform(cls):
    def run(x, seed, offset=0, n_threads=None, **hyper):
        return cls(**hyper)(x, seed=seed, offset=offset, n_threads=n_threads)
    return run


for _cls, (_name, _clean, _pos, _hyp, _x) in zip(
        (AUG.RandomFlipCrop, AUG.RandomAffine, AUG.ColorJitter, AUG.SNRNoise, AUG.TimeShift,
         AUG.ElementDropout, AUG.NeighborSwap), AUG_FUNCS):
    _base = next(s for s in SPECS if s.name == _name)
    spec("augment." + _cls.__name__, _transform(_cls),
         lambda dt, _clean=_clean, _x=_x: dict(x=_x(dt), seed=1, offset=3, **_clean),
         ("x",), {"x": "in"}, dict(_base.hyper), expect=dict(_base.expect),
         why=dict(_base.why), values=dict(_base.values))
    # without out, a batch of another size is a valid call
    SPECS[-1].expect[("x", "shape")] = "accepted"
    if _cls in (AUG.ColorJitter, AUG.SNRNoise):
        SPECS[-1].expect[("x", "ndim")] = "accepted"
spec("augment.GaussianNoise", _transform(AUG.GaussianNoise),
     lambda dt: dict(x=_rng(dt, 2, 3, 4), seed=1, offset=3, std=0.1), ("x",), {"x": "in"},
     dict(std=OPT_HYPER, **STREAM), any_shape=("x",))
SPECS[-1].expect[("n_threads", "nan")] = "TypeError"
SPECS[-1].why[("n_threads", "nan")] = "n_threads is an int: a float is the wrong type"


def _compose(x, step=3, n_threads=None):
    aug = AUG.Compose([AUG.TimeShift(2), AUG.ElementDropout(0.2), AUG.NeighborSwap(0.3),
                       AUG.SNRNoise(10.0)], seed=1)
    return aug(x, step=step, n_threads=n_threads)


spec("augment.Compose", _compose, lambda dt: dict(x=_seq(dt), step=3), ("x",), {"x": "in"},
     {"step": INT_HYPER, "n_threads": INT_HYPER})
SPECS[-1].expect.update({("x", "shape"): "accepted", ("n_threads", "nan"): "TypeError"})
SPECS[-1].why[("n_threads", "nan")] = "n_threads is an int: a float is the wrong type"
for _k in ("nan", "str"):
    SPECS[-1].expect[("step", _k)] = "ValueError"
    SPECS[-1].why[("step", _k)] = "Compose raises ValueError for any step that is not an int >= 0"

# ---------------------------------------------------------------- regularizer classes


def _reg_call(cls):
    def run(w, scale=1.0, **hyper):
        return cls(**hyper)(w, scale=scale)
    return run


def _reg_add_grad(w, grad, scale=1.0, **hyper):
    return RG.L1L2(**hyper).add_grad_(w, grad, scale=scale)


def _w(dt):
    return dict(w=_rng(dt, 4, 5), l1=0.01, l2=0.02)


_REG_HYPER = dict(l1=OPT_HYPER, l2=OPT_HYPER, scale=("nan", "inf", "str"))
spec("regularizers.L1L2", _reg_call(RG.L1L2), _w, ("w",), {"w": "in"}, _REG_HYPER,
     any_shape=("w",))
spec("regularizers.L1L2.add_grad_", _reg_add_grad,
     lambda dt: dict(_w(dt), grad=np.zeros((4, 5), dt)), ("w", "grad"),
     {"w": "in", "grad": "inout"}, _REG_HYPER)
spec("regularizers.L1", _reg_call(RG.L1), lambda dt: dict(w=_rng(dt, 4, 5), l1=0.01), ("w",),
     {"w": "in"}, dict(l1=OPT_HYPER, scale=("nan", "inf", "str")), any_shape=("w",))
spec("regularizers.L2", _reg_call(RG.L2), lambda dt: dict(w=_rng(dt, 4, 5), l2=0.01), ("w",),
     {"w": "in"}, dict(l2=OPT_HYPER, scale=("nan", "inf", "str")), any_shape=("w",))


def _act_reg_forward(x, **hyper):
    r = RG.ActivityRegularization(**hyper)
    return r.forward(x), r.penalty


def _act_reg_backward(x, grad_output, **hyper):
    r = RG.ActivityRegularization(**hyper)
    return r.backward(x, grad_output), r.penalty


spec("regularizers.ActivityRegularization.forward", _act_reg_forward,
     lambda dt: dict(x=_rng(dt, 4, 5), l1=0.01, l2=0.02), ("x",), {"x": "in"},
     dict(l1=OPT_HYPER, l2=OPT_HYPER), msg_names={"x": "w"}, any_shape=("x",))
spec("regularizers.ActivityRegularization.backward", _act_reg_backward,
     lambda dt: dict(x=_rng(dt, 4, 5), grad_output=np.zeros((4, 5), dt), l1=0.01, l2=0.02),
     ("x", "grad_output"), {"x": "in", "grad_output": "inout"},
     dict(l1=OPT_HYPER, l2=OPT_HYPER), msg_names={"x": "w", "grad_output": "grad"})


# ---------------------------------------------------------------- classes
def _std_transform(x, out=None):
    s = fastnn.Standardizer()
    s.partial_fit(np.random.default_rng(7).standard_normal((6, 4)))
    return s.transform(x, out=out)


def _std_partial_fit(x):
    s = fastnn.Standardizer()
    s.partial_fit(x)
    return s.mean_, s.var_


spec("Standardizer.partial_fit", _std_partial_fit, lambda dt: dict(x=_rng(dt, 6, 4)), ("x",),
     {"x": "in"})
spec("Standardizer.transform", _std_transform,
     lambda dt: dict(x=_rng(dt, 6, 4), out=np.empty((6, 4), dt)), ("x",), {"x": "in", "out": "out"})


def _opt_step(cls):
    def run(param, grad, **hyper):
        p = fastnn.Parameter(param)
        p.grad = grad
        cls([p], **hyper).step()
        return p.data
    return run


for _cls, _hyp in ((fastnn.optim.SGD, ("lr", "momentum", "weight_decay")),
                   (fastnn.optim.Adagrad, ("lr", "eps", "weight_decay")),
                   (fastnn.optim.RMSprop, ("lr", "alpha", "eps")),
                   (fastnn.optim.Adam, ("lr", "eps", "weight_decay")),
                   (fastnn.optim.AdamW, ("lr", "eps", "weight_decay")),
                   (fastnn.optim.NAdam, ("lr", "eps", "momentum_decay")),
                   (fastnn.optim.RAdam, ("lr", "eps")),
                   (fastnn.optim.Lion, ("lr", "weight_decay"))):
    spec("optim." + _cls.__name__, _opt_step(_cls),
         lambda dt: dict(param=_rng(dt, 4, 5), grad=_rng(dt, 4, 5, seed=1)),
         ("param", "grad"), {"grad": "in"}, {h: OPT_HYPER for h in _hyp})
    # param is wrapped in a Parameter, which converts array-likes (documented)


def function_names():
    return sorted({s.name for s in SPECS})


# ---------------------------------------------------------------- departures from the defaults
def _by_name(name):
    return next(s for s in SPECS if s.name == name)


def _set(names, key, outcome, why):
    for n in names:
        sp = _by_name(n)
        sp.expect[key] = outcome
        sp.why[key] = why


_set(["sgd_"], ("dampening", "neg"), "accepted",
     "PyTorch does not restrict dampening either")
_set(["clip_grad_norm_"], ("max_norm", "inf"), "accepted",
     "max_norm = inf clips nothing: the call returns the norm, as in torch")
_set(["clip_grad_value_"], ("clip_value", "inf"), "accepted",
     "clip_value = inf clamps nothing, as in torch")
_set(["init.xavier_uniform_", "init.xavier_normal_"], ("gain", "neg"), "accepted",
     "a negative gain gives the distribution of |gain| (symmetric)")
_ELEMENTWISE_OUT = ["exp", "expm1", "erf", "erfc"] + [a + "_backward" for a in ACTS]
for _n in _ELEMENTWISE_OUT:
    _set([_n], ("out", "alias"), "ok", "out may be the input itself: an elementwise "
         "kernel reads each element before writing it")
_set(["binary_cross_entropy_with_logits"], ("pos_weight", "ndim"), "ok",
     "weights broadcast to the logits' shape (NumPy's rules, as torch): (1, C) is (C,)")
_set(["Standardizer.transform"], ("out", "alias"), "ok",
     "out may be x itself: elementwise")
for _n in ("batch_norm", "batch_norm_backward", "layer_norm", "layer_norm_backward",
           "group_norm", "group_norm_backward", "instance_norm", "instance_norm_backward",
           "Standardizer.partial_fit", "Standardizer.transform"):
    _by_name(_n).empty = "ValueError"
    _by_name(_n).why[("*", "empty")] = "a zero-size batch has no statistics to normalize with"
for _n in [a + "_" for a in ACTS]:
    _by_name(_n).any_shape = ("x",)
for _n in ("clip_grad_norm_", "clip_grad_value_", "grad_norm"):
    _by_name(_n).any_shape = ("grads",)
for _sp in SPECS:
    if _sp.name.startswith("init.") or _sp.name in ("random.uniform_", "random.normal_"):
        _sp.any_shape = ("tensor", "out")
_by_name("Standardizer.partial_fit").any_shape = ("x",)


# ---------------------------------------------------------------- optional array arguments
# Rows that pass the optional arrays the rows above leave out (masks, per-row
# losses, optimizer states of other options, backward outputs), so that every
# array parameter of every function is in some row (test_bad_inputs checks it
# against the signatures).


def _variant(name, suffix, fn, extra, roles, pos=None, drop=()):
    base = _by_name(name)

    def make(dt, base=base, extra=extra, drop=drop):
        d = base.make(dt)
        for k in drop:
            d.pop(k, None)
        d.update({k: (v(dt) if callable(v) else v) for k, v in extra.items()})
        return d
    spec(f"{name}[{suffix}]", fn, make, base.pos if pos is None else pos,
         dict({k: v for k, v in base.roles.items() if k not in drop}, **roles),
         expect=dict(base.expect), why=dict(base.why), msg_names=dict(base.msg_names),
         empty=base.empty, any_shape=base.any_shape)


def _mask_for(shape):
    return lambda dt: np.empty((int(np.prod(shape)) + 7) // 8, np.uint8)


def _stored_mask(dt):
    m = F.empty_mask(np.empty((4, 5)))
    F.dropout(np.ones((4, 5), dt), 0.3, seed=1, mask=m)
    return m


_variant("dropout", "mask", F.dropout, dict(mask=_mask_for((4, 5))), {"mask": "out"})
_variant("dropconnect", "mask", F.dropconnect, dict(mask=_mask_for((4, 5))), {"mask": "out"})
_variant("dropout_backward", "mask", F.dropout_backward, dict(mask=_stored_mask, seed=None),
         {"mask": "in"})
_variant("dropconnect_backward", "mask", F.dropconnect_backward,
         dict(mask=_stored_mask, seed=None), {"mask": "in"})
for _n, _rows in (("softmax_cross_entropy", 4), ("cross_entropy", 4), ("nll_loss", 4),
                  ("multi_margin_loss", 4), ("svm_loss", 4), ("entropy_penalty", 4)):
    _variant(_n, "none", getattr(F, _n),
             dict(reduction="none", loss_out=lambda dt, r=_rows: np.empty(r, dt)),
             {"loss_out": "out"})
for _n in ("binary_cross_entropy_with_logits", "mse_loss"):
    _variant(_n, "none", getattr(F, _n),
             dict(reduction="none", loss_out=lambda dt: np.empty((4, 5), dt)),
             {"loss_out": "out"})
_variant("binary_cross_entropy_with_logits", "weight", F.binary_cross_entropy_with_logits,
         dict(weight=lambda dt: _rng(dt, 5, seed=4, positive=True)), {"weight": "in"})
_set(["binary_cross_entropy_with_logits[weight]"], ("weight", "ndim"), "ok",
     "weights broadcast to the logits' shape (NumPy's rules, as torch): (1, C) is (C,)")
_variant("multi_margin_loss", "weight", F.multi_margin_loss,
         dict(weight=lambda dt: _rng(dt, 5, seed=4, positive=True)), {"weight": "in"})
_variant("adam_", "amsgrad", F.adam_,
         dict(amsgrad=True, max_exp_avg_sq=lambda dt: _rng(dt, 4, 5, seed=6, positive=True)),
         {"max_exp_avg_sq": "inout"})
_variant("adamw_", "amsgrad", F.adamw_,
         dict(amsgrad=True, max_exp_avg_sq=lambda dt: _rng(dt, 4, 5, seed=6, positive=True)),
         {"max_exp_avg_sq": "inout"})
_variant("rmsprop_", "centered", F.rmsprop_,
         dict(centered=True, momentum=0.5, grad_avg=lambda dt: _rng(dt, 4, 5, seed=6),
              momentum_buffer=lambda dt: _rng(dt, 4, 5, seed=7)),
         {"grad_avg": "inout", "momentum_buffer": "inout"})
_variant("batch_norm", "counter", F.batch_norm,
         dict(momentum=None, num_batches_tracked=lambda dt: np.zeros(1, np.int64)),
         {"num_batches_tracked": "inout"})
_variant("batch_norm_backward", "beta", F.batch_norm_backward,
         dict(beta=lambda dt: _rng(dt, 3, seed=2), relu=True), {"beta": "in"})
for _n in ("layer_norm_backward", "group_norm_backward", "instance_norm_backward"):
    _variant(_n, "out", getattr(F, _n), dict(out=lambda dt, _n=_n: np.empty(
        _by_name(_n).make(dt)["x"].shape, dt)), {"out": "out"})
_variant("prelu_backward", "out", F.prelu_backward,
         dict(out=lambda dt: np.empty((4, 5), dt)), {"out": "out"})
for _act in ("relu", "elu", "sigmoid", "tanh"):
    _variant(_act + "_backward", "output", getattr(F, _act + "_backward"),
             dict(output=lambda dt, _act=_act: getattr(F, _act)(_rng(dt, 4, 5))),
             {"output": "in"}, drop=("input",))
for _act in ("leaky_relu", "gelu", "silu", "softplus"):
    # output= is not enough for these (input= is used), but is checked when given
    _variant(_act + "_backward", "output", getattr(F, _act + "_backward"),
             dict(output=lambda dt, _act=_act: getattr(F, _act)(_rng(dt, 4, 5))),
             {"output": "in"})
_variant("activation_backward", "output", F.activation_backward,
         dict(output=lambda dt: F.elu(_rng(dt, 4, 5))), {"output": "in"}, drop=("input",))
_variant("activation", "prelu", F.activation,
         dict(name="prelu", weight=lambda dt: _rng(dt, 5, seed=1)), {"weight": "in"})
_variant("activation_", "prelu", F.activation_,
         dict(name="prelu", weight=lambda dt: _rng(dt, 5, seed=1)), {"weight": "in"})
_variant("activation_backward", "prelu", F.activation_backward,
         dict(name="prelu", weight=lambda dt: _rng(dt, 5, seed=1)), {"weight": "in"})
_variant("dense", "prelu", F.dense,
         dict(activation="prelu", prelu_weight=lambda dt: _rng(dt, 3, seed=4, positive=True)),
         {"prelu_weight": "in"})
_variant("dense_forward", "preact", F.dense_forward,
         dict(activation="prelu", prelu_weight=lambda dt: _rng(dt, 3, seed=4, positive=True),
              preact_out=lambda dt: np.empty((4, 3), dt)),
         {"prelu_weight": "in", "preact_out": "out"})


def _dense_b_full(dt):
    d = _dense(dt)
    d.pop("out")
    d["activation"] = "prelu"
    d["prelu_weight"] = _rng(dt, 3, seed=4, positive=True)
    _, saved = F.dense_forward(**d)
    return dict(grad_output=_rng(dt, 4, 3, seed=3), x=d["x"], weight=d["weight"], saved=saved,
                activation="prelu", prelu_weight=d["prelu_weight"],
                grad_input=np.empty((4, 5), dt), grad_weight=np.empty((3, 5), dt),
                grad_bias=np.empty(3, dt), grad_preact=np.empty((4, 3), dt))


spec("dense_backward[outputs]", F.dense_backward, _dense_b_full,
     ("grad_output", "x", "weight", "saved", "activation"),
     {"grad_output": "in", "x": "in", "weight": "in", "saved": "in", "prelu_weight": "in",
      "grad_input": "out", "grad_weight": "out", "grad_bias": "out", "grad_preact": "out"})
for _n in ("dropout[mask]", "dropconnect[mask]", "dropout_backward[mask]",
           "dropconnect_backward[mask]"):
    _by_name(_n).empty = "ValueError"
    _by_name(_n).why[("*", "empty")] = ("the row's mask is sized for the 20-element input, "
                                        "not for the empty one")
_set(["batch_norm[counter]"], ("num_batches_tracked", "noncontig"), "ok",
     "one element: a strided view of it is still C-contiguous")
_set(["prelu_backward[out]"], ("out", "alias"), "ok", "out may be the input itself: an "
     "elementwise kernel reads each element before writing it")
_set(["dense_backward[outputs]"], ("grad_preact", "alias"), "ok",
     "grad_preact may be grad_output itself (documented: dz overwrites the gradient)")
for _k in ("ndim", "shape"):
    _set(["activation_[prelu]"], ("x", _k), "ValueError",
         "the per-channel PReLU weight fixes the number of channels")
