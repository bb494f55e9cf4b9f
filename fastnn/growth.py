"""Network growth: add neurons to a Dense layer while training.

The lectures' constructive approach starts with a network that is too
small and adds hidden neurons when the loss stops improving, keeping what
was learned. :func:`grow_dense` adds ``n_new`` output neurons to a
:class:`fastnn.nn.Linear` (``Dense``) layer of a
:class:`fastnn.nn.Sequential` model:

- the layer's ``weight`` gains ``n_new`` rows (the new neurons' incoming
  weights, chosen by ``init``) and its ``bias`` ``n_new`` entries;
- the next Linear layer gains ``n_new`` input columns set to **zero**, so the
  function the network computes does not change at the moment of growth
  (the new neurons' outputs are multiplied by zero);
- layers in between are widened to match: BatchNorm gets gamma 1, beta 0,
  running mean 0, running variance 1 for the new channels (finite outputs, so
  ``0·h`` stays 0); a per-channel PReLU gets its ``init`` slope; elementwise
  layers (activations, Dropout, GaussianNoise) need nothing;
- an optimizer's state is kept: every state array of a grown parameter
  (``exp_avg``, ``exp_avg_sq``, ``momentum_buffer``, ``sum``, ...) is copied
  into a larger array whose new entries are those of a fresh state (zeros,
  or Adagrad's ``initial_accumulator_value``); step counts and scalar state
  (NAdam's ``mu_product``) are unchanged;
- a :class:`fastnn.pruning.Pruner` tracking a grown weight gets its mask
  extended with True (the new weights are trainable).

Parameters keep their identity (the same :class:`fastnn.Parameter` objects
with new, larger ``data`` arrays), which is why an optimizer built over
``model.parameters()`` keeps working. An optimizer or pruner that holds the
weight arrays themselves instead of the Parameters is refused (it would
keep updating the old arrays).

"Unchanged" is exact in the arithmetic sense: every old weight, bias and
statistic keeps its bits and the new outgoing weights are exactly zero.
The forward pass computes the products with BLAS, whose summation order can
depend on the matrix shapes (gemv for one row, small-matrix kernels, blocking
along the inner dimension), so the outputs of the grown network may differ
from the previous ones in the last bits even though every added term is an
exact zero. Measured with OpenBLAS 0.3.31 on 96 shapes (batch 1 to 128,
64-16-10 to 784-256-10, 1 to 16 new neurons, both dtypes): 90 bitwise
equal, the others within 2 ulps of the largest output. With exactly
representable values (where no order can round) the outputs are bitwise
equal; the tests check both.

Incoming weights of the new neurons (``init``):

- ``"random"``: the layer's kernel initializer (default, as torch,
  U(−1/√in, 1/√in)) applied to an array of the grown shape drawn from the
  counter-based stream ``(seed, offset)``, its last ``n_new`` rows: what a
  layer built at the grown size would have drawn. Biases zero.
- ``"subsample"``: the layer inputs ``a_i`` (outputs of the layers before it,
  in eval mode) of ``n_new`` training samples chosen at random. With ``μ`` the
  mean layer input over the candidate pool (at most ``max_samples`` samples,
  drawn at random) and ``r`` the mean L2 norm of the layer's existing rows,
  a new neuron gets ``w = r·(a_i − μ)/‖a_i − μ‖`` and ``b = −w·μ``, so its
  pre-activation is ``r·cos(a − μ, a_i − μ)·‖a − μ‖``: it responds to inputs
  that resemble sample ``i`` (relative to the mean) on the scale of the
  other neurons. A sample with ``a_i = μ`` gets the ``"random"`` row.
- ``"worst_fit"``: the same construction from the ``n_new`` samples of the
  pool with the largest loss (current model, eval mode; ties to the lower
  index), so the new neurons start on the inputs the network fits worst.

Samples are chosen with :mod:`fastnn.random` (Philox words keyed by ``seed``
at ``offset``), so growth is deterministic and independent of the thread
count.
"""
import collections
import math
import numbers

import numpy as np

from fastnn import random as _random
from fastnn.callbacks import Callback, get_monitor, improves, monitor_mode
from fastnn.nn import layers as _layers
from fastnn.nn.losses import get_loss
from fastnn.nn.module import Module, Sequential
from fastnn.parameter import Parameter

__all__ = ["grow_dense", "GrowthInfo", "GrowOnPlateau", "resize_optimizer_state", "INITS"]

#: the strategies for the new neurons' incoming weights
INITS = ("random", "subsample", "worst_fit")

_ELEMENTWISE = (_layers.Activation, _layers.Dropout, _layers.Dropout2d, _layers.GaussianNoise)

GrowthInfo = collections.namedtuple(
    "GrowthInfo", "layer next_layer old_size new_size init samples")
GrowthInfo.__doc__ = """What :func:`grow_dense` did.

layer, next_layer : Linear
    The grown layer and the layer whose inputs were widened.
old_size, new_size : int
    ``out_features`` of ``layer`` before and after.
init : str
samples : ndarray of int or None
    Indices (into the data given) of the samples whose layer inputs gave the
    new weights (``"subsample"``, ``"worst_fit"``), else None.
"""


# ---------------------------------------------------------------- checks


def _leaves(model):
    """The layers of a Sequential in forward order, nested Sequentials flattened."""
    out = []
    for m in model:
        if isinstance(m, Sequential):
            out.extend(_leaves(m))
        else:
            out.append(m)
    return out


def _find_layer(leaves, layer):
    if isinstance(layer, Module):
        for i, m in enumerate(leaves):
            if m is layer:
                return i
        raise ValueError("layer is not a layer of the model")
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral):
        raise TypeError(f"layer must be an int index or a Linear layer of the model, "
                        f"got {type(layer).__name__}")
    i = int(layer)
    if not -len(leaves) <= i < len(leaves):
        raise IndexError(f"layer index {layer} is out of range for a model of "
                         f"{len(leaves)} layers")
    return i % len(leaves)


def _plan(model, layer):
    """(leaves, index, grown layer, layers in between, next Linear)."""
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a fastnn.nn.Sequential, got {type(model).__name__}")
    leaves = _leaves(model)
    i = _find_layer(leaves, layer)
    target = leaves[i]
    if not isinstance(target, _layers.Linear):
        raise TypeError(f"layer {i} is a {type(target).__name__}; only Linear/Dense layers "
                        f"can grow")
    width = target.out_features
    between = []
    for j in range(i + 1, len(leaves)):
        m = leaves[j]
        if isinstance(m, _layers.Linear):
            if m.in_features != width:
                raise ValueError(f"layer {j} expects {m.in_features} inputs, layer {i} has "
                                 f"{width} outputs")
            return leaves, i, target, between, m
        if isinstance(m, _layers._BatchNorm):
            if not isinstance(m, _layers.BatchNorm1d) or m.num_features != width:
                raise ValueError(f"layer {j} ({type(m).__name__}({m.num_features})) does not "
                                 f"normalize the {width} features of layer {i}")
        elif isinstance(m, _layers.PReLU):
            if m.num_parameters not in (1, width):
                raise ValueError(f"layer {j} PReLU has {m.num_parameters} slopes; layer {i} "
                                 f"has {width} outputs")
        elif not isinstance(m, _ELEMENTWISE):
            raise ValueError(f"cannot grow layer {i} through layer {j} "
                             f"({type(m).__name__}): only BatchNorm1d, PReLU and elementwise "
                             f"layers may sit between two Linear layers")
        between.append(m)
    raise ValueError(f"layer {i} is the last Linear layer: its outputs are the model's "
                     f"outputs, and growing it would change what the model computes; grow "
                     f"a hidden layer")


def _check_n_new(n_new):
    if isinstance(n_new, bool) or not isinstance(n_new, numbers.Integral):
        raise TypeError(f"n_new must be an int, got {type(n_new).__name__}")
    if n_new < 1:
        raise ValueError(f"n_new must be >= 1, got {n_new}")
    return int(n_new)


def _grown_params(target, between, nxt):
    """Parameters whose arrays growth replaces."""
    ps = [target.weight] + ([target.bias] if target.bias is not None else [])
    for m in between:
        if isinstance(m, _layers._BatchNorm) and m.affine:
            ps += [m.weight, m.bias]
        elif isinstance(m, _layers.PReLU) and m.num_parameters > 1:
            ps.append(m.weight)
    ps.append(nxt.weight)
    return ps


def _inner_optimizer(optimizer):
    from fastnn.optim import Optimizer

    if optimizer is None:
        return None
    inner = getattr(optimizer, "optimizer", optimizer)  # a pruning MaskedOptimizer
    if not isinstance(inner, Optimizer):
        raise TypeError(f"optimizer must be a fastnn.optim.Optimizer, got "
                        f"{type(optimizer).__name__}")
    return inner


def _check_holders(params, optimizer, pruner):
    """Refuse holders of the raw arrays: growth replaces them."""
    arrays = {id(p.data) for p in params}
    if optimizer is not None:
        for p in optimizer._all_params():
            if not isinstance(p, Parameter) and id(p) in arrays:
                raise ValueError("the optimizer holds a weight array itself, not its "
                                 "Parameter: growth replaces the array, so build the "
                                 "optimizer over model.parameters()")
    if pruner is not None:
        for p in pruner.params:
            if not isinstance(p, Parameter) and id(p) in arrays:
                raise ValueError("the pruner holds a weight array itself, not its "
                                 "Parameter: growth replaces the array, so build the "
                                 "Pruner over Parameters")


# ---------------------------------------------------------------- optimizer state


def resize_optimizer_state(optimizer, param, old_shape):
    """Fit an optimizer's state of ``param`` to its grown array.

    Each state array of the old shape is copied into the leading block of a
    new array of ``param``'s shape; the other entries are those of a fresh
    state (the optimizer's ``_init_state``: zeros, or Adagrad's
    ``initial_accumulator_value``). Step counts and scalar state are kept.
    Nothing happens when the optimizer has no state for ``param``.

    Parameters
    ----------
    optimizer : fastnn.optim.Optimizer (or a pruning MaskedOptimizer)
    param : Parameter
        Already grown; its old values occupy ``data[:old_shape[0], :old_shape[1], ...]``.
    old_shape : tuple of int
    """
    opt = _inner_optimizer(optimizer)
    state = opt.state.get(id(param))
    if state is None:
        return
    group = next(g for g in opt.param_groups if any(p is param for p in g["params"]))
    fresh = opt._init_state(group, param.data)
    block = tuple(slice(0, s) for s in old_shape)
    for name, value in list(state.items()):
        if not isinstance(value, np.ndarray) or value.shape != tuple(old_shape):
            continue
        new = fresh.get(name)
        if not isinstance(new, np.ndarray) or new.shape != param.data.shape:
            new = np.zeros_like(param.data, order="C")
        new[block] = value
        state[name] = new


# ---------------------------------------------------------------- new rows


def _forward_range(layers, x):
    for m in layers:
        x = m.forward(x)
    return x


def _pool(n, max_samples, seed, offset):
    """Up to ``max_samples`` sample indices in a random order (Philox words)."""
    words = _random.philox_words(n, seed=seed, offset=offset)
    order = np.argsort(words, kind="stable")
    return order[:max_samples] if max_samples is not None else order


def _layer_inputs(model, leaves, i, x, idx, y, loss, want_loss, batch_size=256):
    """Layer inputs of layer ``i`` (float64) and, if asked, per-sample losses."""
    was = model.training
    model.eval()
    ins, losses = [], []
    try:
        for s in range(0, len(idx), batch_size):
            b = idx[s:s + batch_size]
            xb = np.ascontiguousarray(x[b])
            a = _forward_range(leaves[:i], xb)
            ins.append(np.array(a, dtype=np.float64).reshape(len(b), -1))
            if want_loss:
                out = _forward_range(leaves[i:], np.ascontiguousarray(a))
                out = np.array(out, copy=True)
                yb = y[b]
                for k in range(len(b)):
                    losses.append(float(loss.forward(out[k:k + 1], yb[k:k + 1])))
    finally:
        model.train(was)
    return np.concatenate(ins), (np.array(losses) if want_loss else None)


def _data_rows(target, random_rows, a, mu, chosen):
    """``r·(a_i − μ)/‖a_i − μ‖`` rows and biases ``−w·μ`` (see the module doc)."""
    w_old = target.weight.data.astype(np.float64)
    r = float(np.mean(np.linalg.norm(w_old, axis=1))) if w_old.size else 0.0
    if not r > 0:
        r = float(np.mean(np.linalg.norm(random_rows.astype(np.float64), axis=1)))
    d = a[chosen] - mu
    norms = np.linalg.norm(d, axis=1)
    rows = random_rows.astype(np.float64)
    ok = norms > 0
    rows[ok] = r * d[ok] / norms[ok, None]
    bias = np.zeros(len(chosen))
    bias[ok] = -(rows[ok] @ mu)
    return rows, bias


def _check_data(x, y, init, loss, dtype):
    if x is None:
        raise ValueError(f"init={init!r} needs the training inputs x")
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype != dtype:
        raise TypeError(f"x has dtype {x.dtype} but the model is {dtype}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"x must be a batch of samples, got shape {x.shape}")
    if init == "worst_fit":
        if y is None:
            raise ValueError("init='worst_fit' needs the targets y")
        if not isinstance(y, np.ndarray) or y.shape[0] != x.shape[0]:
            raise ValueError(f"y must be an array with {x.shape[0]} samples")
        return get_loss(loss)
    return None


def grow_dense(model, layer, n_new, *, init="random", optimizer=None, pruner=None, x=None,
               y=None, loss="cross_entropy", seed=0, offset=0, max_samples=2048):
    """Add ``n_new`` neurons to a hidden Linear/Dense layer, keeping the
    network's function and the optimizer's state (see the module docstring).

    Parameters
    ----------
    model : fastnn.nn.Sequential
    layer : int or Linear
        The layer to grow: an index into the model's layers in forward order
        (nested Sequentials flattened; ``model[i]`` for a flat model) or the
        layer itself. It must be followed by another Linear layer, with only
        BatchNorm1d, PReLU and elementwise layers in between.
    n_new : int >= 1
    init : {"random", "subsample", "worst_fit"}
        The new neurons' incoming weights.
    optimizer : fastnn.optim.Optimizer or pruning.MaskedOptimizer, optional
        Its state of the grown parameters is resized (kept for the existing
        entries). A MaskedOptimizer's pruner is updated too.
    pruner : fastnn.pruning.Pruner, optional
        Masks of grown weights are extended with True. Its undo history is
        cleared (an undo cannot cross a change of shapes).
    x, y : ndarray, optional
        Training inputs (and targets, for ``"worst_fit"``).
    loss : str or Loss, default "cross_entropy"
        Per-sample loss of ``"worst_fit"``.
    seed, offset : int
        The Philox streams of the random choices: the ``"random"`` rows come
        from ``(seed, offset)``, the candidate pool from ``(seed, offset + 1)``
        (so use offsets two apart for successive growths).
    max_samples : int or None, default 2048
        Size of the candidate pool for ``"subsample"``/``"worst_fit"``.

    Returns
    -------
    GrowthInfo

    Raises
    ------
    TypeError, ValueError, IndexError
        Before anything changes: a bad ``n_new``, ``init`` or ``layer``, a
        last layer (no next Linear), an incompatible layer in between, data
        missing for the chosen ``init``, or an optimizer/pruner holding raw
        weight arrays.
    """
    n_new = _check_n_new(n_new)
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; valid: {INITS}")
    if max_samples is not None and (isinstance(max_samples, bool)
                                    or not isinstance(max_samples, numbers.Integral)
                                    or max_samples < 1):
        raise ValueError(f"max_samples must be an int >= 1 or None, got {max_samples!r}")
    seed = _random.seed_key(seed)
    offset = _random.check_offset(offset)
    leaves, i, target, between, nxt = _plan(model, layer)
    opt = _inner_optimizer(optimizer)
    if pruner is None:
        pruner = getattr(optimizer, "pruner", None)
    if pruner is not None:
        from fastnn.pruning import Pruner
        if not isinstance(pruner, Pruner):
            raise TypeError(f"pruner must be a fastnn.pruning.Pruner, got "
                            f"{type(pruner).__name__}")
    params = _grown_params(target, between, nxt)
    _check_holders(params, opt, pruner)

    # the new rows: computed before anything changes
    random_rows = target._new_rows(n_new, None, seed, offset)
    rows, bias, samples = random_rows, None, None
    if init != "random":
        loss_obj = _check_data(x, y, init, loss, target.dtype)
        pool = _pool(x.shape[0], max_samples, seed, (offset + 1) % (1 << 64))
        if len(pool) < n_new:
            raise ValueError(f"init={init!r} needs at least n_new={n_new} samples, got "
                             f"{len(pool)}")
        a, losses = _layer_inputs(model, leaves, i, x, pool, y, loss_obj,
                                  init == "worst_fit")
        if a.shape[1] != target.in_features:
            raise ValueError(f"the inputs of layer {i} have {a.shape[1]} features, expected "
                             f"{target.in_features}")
        mu = a.mean(axis=0)
        chosen = (np.arange(n_new) if init == "subsample"
                  else np.argsort(-losses, kind="stable")[:n_new])
        rows, bias = _data_rows(target, random_rows, a, mu, chosen)
        samples = pool[chosen]
        if not (np.all(np.isfinite(rows)) and np.all(np.isfinite(bias))):
            raise ValueError("the layer inputs of the chosen samples are not finite")
        if target.bias is None:
            bias = None

    old_shapes = [p.data.shape for p in params]
    old_size = target.out_features
    target.grow(n_new, weight=rows, bias=bias)
    for m in between:
        if isinstance(m, _layers._BatchNorm):
            m.grow(n_new)
        elif isinstance(m, _layers.PReLU) and m.num_parameters > 1:
            m.grow(n_new)
        else:
            m._workspaces.clear()
    nxt.grow_inputs(n_new)
    for p, shape in zip(params, old_shapes):
        if opt is not None:
            resize_optimizer_state(opt, p, shape)
        if pruner is not None:
            pruner.extend_mask(p, shape)
    if pruner is not None:
        pruner._history.clear()
    return GrowthInfo(target, nxt, old_size, target.out_features, init, samples)


# ---------------------------------------------------------------- callback


class GrowOnPlateau(Callback):
    """Grow a hidden Dense layer when the monitored quantity plateaus.

    At the end of an epoch, when ``monitor`` has not improved by more than
    ``min_delta`` on its best value for ``patience`` epochs, ``layer`` gains
    ``n_new`` neurons (fewer if ``max_size`` is near) through
    :func:`grow_dense` with the training optimizer. The wait counter then
    restarts (the best value is kept: the grown network computes the same
    function, so it has to beat the plateau to count as improving), and the
    ``cooldown`` epochs after a growth do not count towards ``patience``.

    Parameters
    ----------
    layer : int or Linear
        As in :func:`grow_dense`.
    n_new : int >= 1
        Neurons added per growth.
    max_size : int
        Largest ``out_features`` the layer may reach.
    monitor : str, default "val_loss"
    min_delta : float, default 0
    patience : int >= 1, default 3
    mode : {"auto", "min", "max"}
    cooldown : int >= 0, default 0
    init : {"random", "subsample", "worst_fit"}, default "random"
    data : (x, y), optional
        Samples for ``"subsample"``/``"worst_fit"``; default the training
        data given to :func:`fastnn.training.fit` (after any validation split).
    seed : int, default 0
        Growth ``k`` (from 0) uses the Philox stream ``(seed, 2·k)`` for its
        random choices, so runs are reproducible.
    max_samples : int, default 2048
    verbose : bool, default False
        Print a line per growth.

    Attributes
    ----------
    growths : list of (epoch, old_size, new_size)
    """

    def __init__(self, layer, n_new, max_size, *, monitor="val_loss", min_delta=0.0,
                 patience=3, mode="auto", cooldown=0, init="random", data=None, seed=0,
                 max_samples=2048, verbose=False):
        self.layer = layer
        self.n_new = _check_n_new(n_new)
        if isinstance(max_size, bool) or not isinstance(max_size, numbers.Integral) \
                or max_size < 1:
            raise ValueError(f"max_size must be an int >= 1, got {max_size!r}")
        self.max_size = int(max_size)
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) \
                or patience < 1:
            raise ValueError(f"patience must be an int >= 1, got {patience!r}")
        self.patience = int(patience)
        if isinstance(cooldown, bool) or not isinstance(cooldown, numbers.Integral) \
                or cooldown < 0:
            raise ValueError(f"cooldown must be an int >= 0, got {cooldown!r}")
        self.cooldown = int(cooldown)
        self.mode = monitor_mode(monitor, mode)
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; valid: {INITS}")
        self.init = init
        self.data = data
        self.seed = _random.seed_key(seed)
        self.max_samples = max_samples
        self.verbose = bool(verbose)
        self.growths = []

    def _better(self, a, b):
        return improves(a, b, self.mode, self.min_delta)

    def on_train_begin(self, logs):
        self.wait = 0
        self.cooldown_left = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        _plan(self.model, self.layer)  # fails early on a layer that cannot grow

    def _layer(self):
        return _plan(self.model, self.layer)[2]

    def on_epoch_end(self, epoch, logs):
        value = get_monitor(logs, self.monitor)
        layer = self._layer()
        logs["width"] = layer.out_features
        in_cooldown = self.cooldown_left > 0
        if in_cooldown:
            self.cooldown_left -= 1
        if self._better(value, self.best):
            self.best = value
            self.wait = 0
            return
        if in_cooldown:
            return
        self.wait += 1
        if self.wait < self.patience or layer.out_features >= self.max_size:
            return
        n = min(self.n_new, self.max_size - layer.out_features)
        x = y = None
        loss = "cross_entropy"
        if self.init != "random":
            x, y = self.data if self.data is not None else (self.trainer.x, self.trainer.y)
            loss = getattr(self.trainer, "loss", None) or loss
        info = grow_dense(self.model, layer, n, init=self.init,
                          optimizer=self.trainer.optimizer, x=x, y=y, loss=loss,
                          seed=self.seed, offset=2 * len(self.growths),
                          max_samples=self.max_samples)
        self.growths.append((epoch, info.old_size, info.new_size))
        logs["width"] = info.new_size
        self.wait = 0
        self.cooldown_left = self.cooldown
        if self.verbose:
            print(f"epoch {epoch + 1}: {self.monitor} plateaued at {self.best:.4f}; layer grown "
                  f"{info.old_size} -> {info.new_size} ({self.init})")
