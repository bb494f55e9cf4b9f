"""Layers over fastnn's fused kernels, with PyTorch's names and defaults.

Every layer runs its forward and backward through :mod:`fastnn.functional`
(dense, activations, norm, dropout), writing into workspaces it keeps, so
repeated steps with one batch shape allocate no new activations. Layers are
float32 by default (``dtype=`` changes it); inputs must have the layer's
dtype.
"""
import importlib
import math
import numbers

import numpy as np

from fastnn import functional as F
from fastnn import init as _init
from fastnn._validation import check_int
from fastnn.functional import regularizers as _reg
from fastnn.nn.module import Module, _check_dtype, _next_seed

# the module (F.dense is the function): Linear's checked path into the kernels
_FD = importlib.import_module("fastnn.functional.dense")

__all__ = ["Linear", "Dense", "Activation", "Identity", "ReLU", "LeakyReLU", "PReLU", "ELU",
           "GELU", "SiLU", "Sigmoid", "Tanh", "Softplus", "BatchNorm1d", "BatchNorm2d",
           "LayerNorm", "GroupNorm", "Dropout", "Dropout2d", "GaussianNoise", "Flatten"]

_BIAS_OFFSET = 1 << 40  # bias draws from its own Philox stream of the layer's seed


def _check_int(name, value, low=1):
    return check_int(name, value, low)


def _check_input(name, x, dtype, min_ndim=1):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype != dtype:
        raise TypeError(f"{name} has dtype {x.dtype} but the layer is {dtype}")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {x.shape}")
    return x


def _need_forward(layer):
    if getattr(layer, "_x", None) is None:
        raise RuntimeError(f"{type(layer).__name__}.backward called before a training forward")


def _resize(param, data):
    """Give ``param`` a new (grown) array; its gradient no longer fits."""
    param.data = np.ascontiguousarray(data)
    param.grad = None


_TORCH_INIT = {
    "xavier_uniform": _init.xavier_uniform_, "xavier_normal": _init.xavier_normal_,
    "kaiming_uniform": _init.kaiming_uniform_, "kaiming_normal": _init.kaiming_normal_,
    "lecun_uniform": _init.lecun_uniform_, "lecun_normal": _init.lecun_normal_,
    "orthogonal": _init.orthogonal_, "zeros": lambda t, **kw: _init.zeros_(t),
}


def _initializer(spec, name):
    """A callable ``fn(tensor, seed=, offset=)`` from a name or callable."""
    if callable(spec):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"{name} must be a str or a callable, got {type(spec).__name__}")
    key = spec.lower().rstrip("_")
    if key in ("he_uniform", "he_normal") or key.startswith("kaiming"):
        nl = "relu"
        fn = _init.kaiming_uniform_ if key.endswith("uniform") else _init.kaiming_normal_
        return lambda t, *, seed, offset: fn(t, nonlinearity=nl, seed=seed, offset=offset)
    if key in _TORCH_INIT:
        fn = _TORCH_INIT[key]
        return lambda t, *, seed, offset: fn(t, seed=seed, offset=offset)
    try:
        keras = _init.get(spec, layout="torch")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"unknown {name} {spec!r}") from exc
    return lambda t, *, seed, offset: keras(t, seed=seed, offset=offset)


# ---------------------------------------------------------------- Linear


class Linear(Module):
    """Fully connected layer ``y = act(x·Wᵀ + b)`` (torch.nn.Linear, with a
    fused activation and Keras-style initializers and regularizers).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default True
    activation : str, default "identity"
        Fused activation (see :data:`fastnn.functional.ACTIVATIONS`), e.g.
        "relu"; its hyperparameters go in ``activation_kwargs``.
    kernel_initializer : str or callable, optional
        Default as torch.nn.Linear: U(−1/√in, 1/√in). Names: "xavier_uniform",
        "xavier_normal", "kaiming_uniform"/"he_uniform", "kaiming_normal"/
        "he_normal" (ReLU gain), "lecun_*", "orthogonal", "zeros", or a Keras
        name; or ``fn(weight, seed=, offset=)``.
    bias_initializer : str or callable, optional
        Default as torch: U(−1/√in, 1/√in); "zeros" for zeros.
    kernel_regularizer, bias_regularizer : Regularizer, str or dict, optional
        Penalties on W and b (Keras semantics: their gradient is added to
        ``grad`` in backward and their value to :meth:`penalty`).
    activity_regularizer : Regularizer, str or dict, optional
        Penalty on the output y.
    dtype : float32 or float64
    seed : int, optional
        Seed of the initial weights; default from :func:`fastnn.nn.manual_seed`.
    activation_kwargs : dict, optional
    """

    def __init__(self, in_features, out_features, bias=True, activation="identity", *,
                 kernel_initializer=None, bias_initializer=None, kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, dtype=np.float32, seed=None,
                 activation_kwargs=None):
        super().__init__()
        self.in_features = _check_int("in_features", in_features)
        self.out_features = _check_int("out_features", out_features)
        self.dtype = _check_dtype(dtype)
        self.activation = activation
        self.act_kwargs = dict(activation_kwargs or {})
        self._saves_output = F.dense_saves_output(activation,
                                                  alpha=self.act_kwargs.get("alpha", 1.0))
        self.kernel_regularizer = _reg.get(kernel_regularizer)
        self.bias_regularizer = _reg.get(bias_regularizer)
        self.activity_regularizer = (_reg.ActivityRegularization(activity_regularizer)
                                     if activity_regularizer is not None else None)
        seed = _next_seed(seed)
        self.seed = seed
        self.kernel_initializer = kernel_initializer
        bound = 1.0 / math.sqrt(self.in_features)
        w = np.empty((self.out_features, self.in_features), self.dtype)
        if kernel_initializer is None:
            _init.uniform_(w, -bound, bound, seed=seed, offset=0)
        else:
            _initializer(kernel_initializer, "kernel_initializer")(w, seed=seed, offset=0)
        self.add_parameter("weight", w)
        if bias:
            b = np.empty(self.out_features, self.dtype)
            if bias_initializer is None:
                _init.uniform_(b, -bound, bound, seed=seed, offset=_BIAS_OFFSET)
            else:
                _initializer(bias_initializer, "bias_initializer")(b, seed=seed,
                                                                   offset=_BIAS_OFFSET)
            self.add_parameter("bias", b)
        else:
            self.bias = None
        self._prelu = None
        if str(activation).lower() == "prelu":
            self._prelu = self.add_parameter("prelu_weight", np.full(1, 0.25, self.dtype))
        self._x = None
        self._penalties = [0.0, 0.0, 0.0]

    def extra_repr(self):
        act = "" if self.activation == "identity" else f", activation={self.activation!r}"
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}{act}")

    def output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.out_features,)

    def _act(self):
        """The validated activation, built again only when ``activation`` or
        its kwargs change."""
        cached = self.__dict__.get("_act_cache")
        if cached is None or cached[0] != self.activation or cached[1] != self.act_kwargs:
            cached = (self.activation, dict(self.act_kwargs),
                      _FD._Act(self.activation, **self.act_kwargs))
            self.__dict__["_act_cache"] = cached
        return cached[2]

    def forward(self, x):
        x = _check_input("x", x, self.dtype)
        shape = x.shape[:-1] + (self.out_features,)
        out = self._ws("y", shape, self.dtype)
        prelu = self._prelu.data if self._prelu is not None else None
        bias = self.bias.data if self.bias is not None else None
        weight = self.weight.data
        if self.training and prelu is None and x.ndim and x.shape[-1] == self.in_features \
                and weight.shape == (self.out_features, self.in_features) \
                and (bias is None or bias.shape == (self.out_features,)):
            pre = None if self._saves_output else self._ws("z", shape, self.dtype)
            if _FD._layer_arrays_ok(self.dtype, x, weight, bias, out, pre):
                done = _FD._forward_layer(self._act(), x, weight, bias, out, pre)
                if done is not None:
                    return self._forward_done(x, *done)
        if not self.training:
            self._x = None
            y = F.dense(x, self.weight.data, bias, self.activation, prelu_weight=prelu,
                        out=out, **self.act_kwargs)
            if self.activity_regularizer is not None:
                self.activity_regularizer.forward(y)
                self._penalties[2] = float(self.activity_regularizer.penalty)
            return y
        pre = None if self._saves_output else self._ws("z", shape, self.dtype)
        y, saved = F.dense_forward(x, self.weight.data, bias, self.activation,
                                   prelu_weight=prelu, out=out, preact_out=pre,
                                   **self.act_kwargs)
        return self._forward_done(x, y, saved)

    def _forward_done(self, x, y, saved):
        self._x, self._saved = x, saved
        if self.activity_regularizer is not None:
            self.activity_regularizer.forward(y)
            self._penalties[2] = float(self.activity_regularizer.penalty)
        return y

    def backward(self, dy, *, input_grad=True):
        _need_forward(self)
        x = self._x
        shape = x.shape[:-1] + (self.out_features,)
        dy = _check_input("dy", dy, self.dtype)
        if dy.shape != shape:
            raise ValueError(f"dy has shape {dy.shape}, expected {shape}")
        if self.activity_regularizer is not None:
            g = self._ws("dy_reg", shape, self.dtype)
            np.copyto(g, dy)
            self.activity_regularizer.backward(self._saved_y(), g)
            self._penalties[2] = float(self.activity_regularizer.penalty)
            dy = g
        gw, acc_w = self._grad_target(self.weight)
        gb = acc_b = None
        if self.bias is not None:
            gb, acc_b = self._grad_target(self.bias)
        dx = self._ws("dx", x.shape, self.dtype) if input_grad else None
        dz = self._ws("dz", shape, self.dtype)
        prelu = self._prelu.data if self._prelu is not None else None
        weight = self.weight.data
        grads = None
        if prelu is None and gw.shape == weight.shape and weight.shape == (
                self.out_features, self.in_features) and (gb is None or gb.shape == (
                    self.out_features,)) and self._saved is not None and \
                self._saved.shape == shape and \
                _FD._layer_arrays_ok(self.dtype, dy, x, weight, self._saved, dx, gw, gb, dz):
            grads = _FD._backward_layer(self._act(), dy, x, weight, self._saved, dx, gw, gb,
                                        dz)
        if grads is None:
            grads = F.dense_backward(dy, x, self.weight.data, self._saved, self.activation,
                                     has_bias=self.bias is not None, prelu_weight=prelu,
                                     needs_input_grad=input_grad, grad_input=dx,
                                     grad_weight=gw, grad_bias=gb, grad_preact=dz,
                                     **self.act_kwargs)
        if self.kernel_regularizer is not None:
            self._penalties[0] = float(self.kernel_regularizer.add_grad_(self.weight.data, gw))
        if self.bias_regularizer is not None and gb is not None:
            self._penalties[1] = float(self.bias_regularizer.add_grad_(self.bias.data, gb))
        self._grad_commit(self.weight, gw, acc_w)
        if gb is not None:
            self._grad_commit(self.bias, gb, acc_b)
        if self._prelu is not None:
            self._accumulate(self._prelu, grads.grad_prelu_weight)
        return grads.grad_input

    def _saved_y(self):
        return self._ws("y", self._x.shape[:-1] + (self.out_features,), self.dtype)

    # ------------------------------------------------------------ growth

    def grow(self, n_new, *, weight=None, bias=None, seed=None, offset=0):
        """Add ``n_new`` output neurons (rows of ``weight``, entries of ``bias``).

        The existing rows and biases keep their values bit for bit; the
        parameters get new, larger arrays (the :class:`fastnn.Parameter`
        objects stay the same, their ``grad`` is dropped). To keep the
        network's function and an optimizer's state, use
        :func:`fastnn.growth.grow_dense`, which also widens the next layer.

        Parameters
        ----------
        n_new : int >= 1
        weight : array_like (n_new, in_features), optional
            Incoming weights of the new neurons. Default: the layer's kernel
            initializer applied to a (out_features + n_new, in_features)
            array drawn from the stream (seed, offset), its last ``n_new``
            rows (what a layer built at the grown size would draw).
        bias : array_like (n_new,), optional
            Default zeros.
        seed : int, optional
            Default: the layer's seed.
        offset : int, optional

        Returns
        -------
        self
        """
        n_new = _check_int("n_new", n_new)
        new_w = self._new_rows(n_new, weight, seed, offset)
        new_b = None
        if self.bias is not None:
            new_b = np.zeros(n_new, self.dtype)
            if bias is not None:
                b = np.asarray(bias)
                if b.shape != (n_new,):
                    raise ValueError(f"bias has shape {b.shape}, expected {(n_new,)}")
                if not np.all(np.isfinite(b)):
                    raise ValueError("bias must be finite")
                new_b[...] = b
        elif bias is not None:
            raise ValueError("bias given but the layer has no bias")
        _resize(self.weight, np.concatenate([self.weight.data, new_w], axis=0))
        if self.bias is not None:
            _resize(self.bias, np.concatenate([self.bias.data, new_b]))
        self.out_features += n_new
        self._reset()
        return self

    def _new_rows(self, n_new, weight, seed, offset):
        shape = (n_new, self.in_features)
        if weight is not None:
            w = np.asarray(weight)
            if w.shape != shape:
                raise ValueError(f"weight has shape {w.shape}, expected {shape}")
            if not np.all(np.isfinite(w)):
                raise ValueError("weight must be finite")
            return np.ascontiguousarray(w, dtype=self.dtype)
        seed = self.seed if seed is None else seed
        full = np.empty((self.out_features + n_new, self.in_features), self.dtype)
        if self.kernel_initializer is None:
            bound = 1.0 / math.sqrt(self.in_features)
            _init.uniform_(full, -bound, bound, seed=seed, offset=offset)
        else:
            _initializer(self.kernel_initializer, "kernel_initializer")(full, seed=seed,
                                                                        offset=offset)
        return full[self.out_features:].copy()

    def grow_inputs(self, n_new):
        """Add ``n_new`` input features whose weights (new columns) are zero,
        so the layer's output is mathematically unchanged for any value of
        the new inputs (the previous layer's new neurons).

        Parameters
        ----------
        n_new : int >= 1

        Returns
        -------
        self
        """
        n_new = _check_int("n_new", n_new)
        w = np.zeros((self.out_features, self.in_features + n_new), self.dtype)
        w[:, :self.in_features] = self.weight.data
        _resize(self.weight, w)
        self.in_features += n_new
        self._reset()
        return self

    def _reset(self):
        self._x = self._saved = None
        self._workspaces.clear()
        self._grad_scratch.clear()

    def penalty(self):
        p = sum(self._penalties[2:])
        if self.kernel_regularizer is not None:
            p += float(self.kernel_regularizer(self.weight.data))
        if self.bias_regularizer is not None and self.bias is not None:
            p += float(self.bias_regularizer(self.bias.data))
        return float(p)


class Dense(Linear):
    """Keras-style alias of :class:`Linear`: ``Dense(in_features, units, activation=...)``."""


# ---------------------------------------------------------------- activations


class Activation(Module):
    """Elementwise activation ``name`` (see :func:`fastnn.functional.activation`).

    Parameters
    ----------
    name : str
    **kwargs
        The activation's hyperparameters (negative_slope, alpha, approximate,
        beta, threshold).
    """

    def __init__(self, name="relu", **kwargs):
        super().__init__()
        F.activation(np.zeros(1, np.float32), name, **kwargs)  # validates name and options
        self.name = name
        self.kwargs = kwargs
        self._from_output = F.dense_saves_output(name, alpha=kwargs.get("alpha", 1.0))
        self._x = None

    def extra_repr(self):
        return ", ".join([repr(self.name)] + [f"{k}={v!r}" for k, v in self.kwargs.items()])

    def forward(self, x):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
        y = F.activation(x, self.name, out=self._ws("y", x.shape, x.dtype), **self.kwargs)
        self._x, self._y = (x, y) if self.training else (None, None)
        return y

    def backward(self, dy, *, input_grad=True):
        _need_forward(self)
        if not isinstance(dy, np.ndarray) or dy.shape != self._x.shape:
            raise ValueError(f"dy must be an array of shape {self._x.shape}")
        out = self._ws("dx", dy.shape, dy.dtype)
        if self._from_output:
            return F.activation_backward(dy, self.name, output=self._y, out=out, **self.kwargs)
        return F.activation_backward(dy, self.name, input=self._x, out=out, **self.kwargs)


def _act_class(cname, name, params=(), doc=""):
    def __init__(self, *args, **kwargs):
        for p, a in zip(params, args):
            kwargs[p] = a
        kwargs.pop("inplace", None)
        Activation.__init__(self, name, **kwargs)
    return type(cname, (Activation,), {"__init__": __init__, "__doc__": doc})


Identity = _act_class("Identity", "identity", doc="Identity layer.")
ReLU = _act_class("ReLU", "relu", doc="ReLU: max(x, 0).")
LeakyReLU = _act_class("LeakyReLU", "leaky_relu", ("negative_slope",),
                       "LeakyReLU(negative_slope=0.01).")
ELU = _act_class("ELU", "elu", ("alpha",), "ELU(alpha=1.0).")
GELU = _act_class("GELU", "gelu", ("approximate",), "GELU(approximate='none').")
SiLU = _act_class("SiLU", "silu", doc="SiLU (swish): x·σ(x).")
Sigmoid = _act_class("Sigmoid", "sigmoid", doc="Logistic sigmoid.")
Tanh = _act_class("Tanh", "tanh", doc="Hyperbolic tangent.")
Softplus = _act_class("Softplus", "softplus", ("beta", "threshold"),
                      "Softplus(beta=1.0, threshold=20.0).")


class PReLU(Module):
    """PReLU with learned slopes (torch.nn.PReLU): ``num_parameters`` slopes
    (1, or one per channel on axis 1), initialised to ``init``.

    Parameters
    ----------
    num_parameters : int, default 1
    init : float, default 0.25
    dtype : float32 or float64
    """

    def __init__(self, num_parameters=1, init=0.25, dtype=np.float32):
        super().__init__()
        self.num_parameters = _check_int("num_parameters", num_parameters)
        self.dtype = _check_dtype(dtype)
        self.init = float(init)
        self.add_parameter("weight", np.full(self.num_parameters, self.init, self.dtype))
        self._x = None

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"

    def grow(self, n_new):
        """Add ``n_new`` channel slopes, set to ``init`` (per-channel PReLU
        only; one shared slope needs no change). Returns self."""
        n_new = _check_int("n_new", n_new)
        if self.num_parameters == 1:
            raise ValueError("a PReLU with one shared slope has no channels to grow")
        _resize(self.weight, np.concatenate([self.weight.data,
                                             np.full(n_new, self.init, self.dtype)]))
        self.num_parameters += n_new
        self._x = None
        self._workspaces.clear()
        self._grad_scratch.clear()
        return self

    def forward(self, x):
        x = _check_input("x", x, self.dtype)
        y = F.prelu(x, self.weight.data, out=self._ws("y", x.shape, x.dtype))
        self._x = x if self.training else None
        return y

    def backward(self, dy, *, input_grad=True):
        _need_forward(self)
        dx, dw = F.prelu_backward(dy, self.weight.data, input=self._x,
                                  out=self._ws("dx", self._x.shape, self.dtype))
        self._accumulate(self.weight, dw)
        return dx


# ---------------------------------------------------------------- normalization


class _BatchNorm(Module):
    _min_ndim = 2
    _max_ndim = 3

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=np.float32):
        super().__init__()
        self.num_features = _check_int("num_features", num_features)
        self.dtype = _check_dtype(dtype)
        self.eps = float(eps)
        if self.eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        if momentum is not None and not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum}")
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        c = self.num_features
        if self.affine:
            self.add_parameter("weight", np.ones(c, self.dtype))
            self.add_parameter("bias", np.zeros(c, self.dtype))
        else:
            self.weight = self.bias = None
        if self.track_running_stats:
            self.add_buffer("running_mean", np.zeros(c, self.dtype))
            self.add_buffer("running_var", np.ones(c, self.dtype))
            self.add_buffer("num_batches_tracked", np.zeros((), np.int64))
        self._x = None

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")

    def grow(self, n_new):
        """Add ``n_new`` channels as a new BatchNorm would have them: gamma 1,
        beta 0, running mean 0, running variance 1 (existing entries and
        ``num_batches_tracked`` unchanged). Returns self."""
        n_new = _check_int("n_new", n_new)
        if self.affine:
            _resize(self.weight, np.concatenate([self.weight.data, np.ones(n_new, self.dtype)]))
            _resize(self.bias, np.concatenate([self.bias.data, np.zeros(n_new, self.dtype)]))
        if self.track_running_stats:
            for name, fill in (("running_mean", 0.0), ("running_var", 1.0)):
                grown = np.concatenate([getattr(self, name), np.full(n_new, fill, self.dtype)])
                self._buffers[name] = grown
                object.__setattr__(self, name, grown)
        self.num_features += n_new
        self._x = None
        self._workspaces.clear()
        self._grad_scratch.clear()
        return self

    def forward(self, x):
        x = _check_input("x", x, self.dtype, self._min_ndim)
        if x.ndim > self._max_ndim or x.ndim < self._min_ndim:
            raise ValueError(f"{type(self).__name__} expects {self._min_ndim}-D"
                             f"{'' if self._min_ndim == self._max_ndim else ' or 3-D'} input, "
                             f"got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"x has {x.shape[1]} channels, expected {self.num_features}")
        g = self.weight.data if self.affine else None
        b = self.bias.data if self.affine else None
        batch_stats = self.training or not self.track_running_stats
        out = self._ws("y", x.shape, x.dtype)
        if self.track_running_stats:
            r = F.batch_norm(x, g, b, self.running_mean, self.running_var,
                             training=batch_stats, momentum=self.momentum, eps=self.eps,
                             num_batches_tracked=self.num_batches_tracked if self.training
                             else None, out=out)
        else:
            r = F.batch_norm(x, g, b, training=True, eps=self.eps, out=out)
        if self.training:
            self._x, self._stats, self._batch_stats = x, (r.mean, r.rstd), batch_stats
        else:
            self._x = None
        return r.out

    def backward(self, dy, *, input_grad=True):
        _need_forward(self)
        g = self.weight.data if self.affine else None
        b = self.bias.data if self.affine else None
        r = F.batch_norm_backward(dy, self._x, *self._stats, g, b, training=self._batch_stats,
                                  out=self._ws("dx", self._x.shape, self.dtype))
        if self.affine:
            self._accumulate(self.weight, r.dgamma)
            self._accumulate(self.bias, r.dbeta)
        return r.dx


class BatchNorm1d(_BatchNorm):
    """BatchNorm over (N, C) or (N, C, L) inputs (torch.nn.BatchNorm1d):
    eps=1e-5, momentum=0.1 (None: cumulative average), affine=True,
    track_running_stats=True."""


class BatchNorm2d(_BatchNorm):
    """BatchNorm over (N, C, H, W) inputs (torch.nn.BatchNorm2d)."""

    _min_ndim = 4
    _max_ndim = 4


class LayerNorm(Module):
    """LayerNorm over the trailing ``normalized_shape`` (torch.nn.LayerNorm).

    Parameters
    ----------
    normalized_shape : int or tuple of int
    eps : float, default 1e-5
    elementwise_affine : bool, default True
    bias : bool, default True
    dtype : float32 or float64
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=np.float32):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(_check_int("normalized_shape", int(d))
                                      for d in normalized_shape)
        self.eps = float(eps)
        self.dtype = _check_dtype(dtype)
        self.weight = self.bias = None
        if elementwise_affine:
            self.add_parameter("weight", np.ones(self.normalized_shape, self.dtype))
            if bias:
                self.add_parameter("bias", np.zeros(self.normalized_shape, self.dtype))
        self._x = None

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"

    def forward(self, x):
        x = _check_input("x", x, self.dtype)
        w = self.weight.data if self.weight is not None else None
        b = self.bias.data if self.bias is not None else None
        r = F.layer_norm(x, self.normalized_shape, w, b, self.eps,
                         out=self._ws("y", x.shape, x.dtype))
        self._x, self._stats = (x, (r.mean, r.rstd)) if self.training else (None, None)
        return r.out

    def backward(self, dy, *, input_grad=True):
        _need_forward(self)
        w = self.weight.data if self.weight is not None else None
        b = self.bias.data if self.bias is not None else None
        r = F.layer_norm_backward(dy, self._x, *self._stats, self.normalized_shape, w, b,
                                  out=self._ws("dx", self._x.shape, self.dtype))
        if w is not None:
            self._accumulate(self.weight, r.dgamma)
        if b is not None:
            self._accumulate(self.bias, r.dbeta)
        return r.dx


class GroupNorm(Module):
    """GroupNorm (torch.nn.GroupNorm): ``num_groups`` groups of the
    ``num_channels`` channels of (N, C, *) inputs, per-channel affine.

    Parameters
    ----------
    num_groups, num_channels : int
    eps : float, default 1e-5
    affine : bool, default True
    dtype : float32 or float64
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, dtype=np.float32):
        super().__init__()
        self.num_groups = _check_int("num_groups", num_groups)
        self.num_channels = _check_int("num_channels", num_channels)
        if self.num_channels % self.num_groups:
            raise ValueError(f"num_groups ({num_groups}) must divide num_channels "
                             f"({num_channels})")
        self.eps = float(eps)
        self.dtype = _check_dtype(dtype)
        self.affine = bool(affine)
        if self.affine:
            self.add_parameter("weight", np.ones(self.num_channels, self.dtype))
            self.add_parameter("bias", np.zeros(self.num_channels, self.dtype))
        else:
            self.weight = self.bias = None
        self._x = None

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}"

    def forward(self, x):
        x = _check_input("x", x, self.dtype, 2)
        if x.shape[1] != self.num_channels:
            raise ValueError(f"x has {x.shape[1]} channels, expected {self.num_channels}")
        w = self.weight.data if self.affine else None
        b = self.bias.data if self.affine else None
        r = F.group_norm(x, self.num_groups, w, b, self.eps,
                         out=self._ws("y", x.shape, x.dtype))
        self._x, self._stats = (x, (r.mean, r.rstd)) if self.training else (None, None)
        return r.out

    def backward(self, dy, *, input_grad=True):
        _need_forward(self)
        w = self.weight.data if self.affine else None
        b = self.bias.data if self.affine else None
        r = F.group_norm_backward(dy, self._x, *self._stats, self.num_groups, w, b,
                                  out=self._ws("dx", self._x.shape, self.dtype))
        if self.affine:
            self._accumulate(self.weight, r.dgamma)
            self._accumulate(self.bias, r.dbeta)
        return r.dx


# ---------------------------------------------------------------- noise


class _Noise(Module):
    """Shared state of the stochastic layers: a Philox seed and a step offset
    (each training forward uses a new offset, so masks are fresh per step and
    reproducible from the seed)."""

    def __init__(self, seed):
        super().__init__()
        self.seed = _next_seed(seed)
        self.add_buffer("offset", np.zeros((), np.uint64))
        self._x = None

    def _next_offset(self):
        off = int(self.offset)
        self.offset[...] = (off + 1) % (1 << 64)
        return off

    # Index of the first row of the next batches in the global batch (set by
    # fastnn.distributed; 0 in a single process). The draw of element i
    # depends on i, so with rows [start, start + n) of a larger batch a layer
    # draws for the batch padded in front with `start` rows and keeps its own
    # rows: a sample gets the same draw on any number of ranks.
    _row_start = 0

    def _pad_rows(self, a, slot):
        start = self._row_start
        padded = self._ws(slot, (start + a.shape[0],) + a.shape[1:], a.dtype)
        padded[:start] = 0
        padded[start:] = a
        return padded

    def backward(self, dy, *, input_grad=True):
        if self._x is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before a forward")
        if not isinstance(dy, np.ndarray) or dy.shape != self._x.shape:
            raise ValueError(f"dy must be an array of shape {self._x.shape}")
        if self._off is None:  # identity (eval mode or p = 0)
            return dy
        return self._backward(dy, self._ws("dx", dy.shape, dy.dtype))


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    return float(p)


class Dropout(_Noise):
    """Inverted dropout (torch.nn.Dropout): in training zero each element
    with probability ``p`` and scale survivors by 1/(1 − p); identity in eval.

    Parameters
    ----------
    p : float, default 0.5
    seed : int, optional
        Default from :func:`fastnn.nn.manual_seed`.
    """

    def __init__(self, p=0.5, *, seed=None):
        self.p = _check_p(p)
        super().__init__(seed)

    def extra_repr(self):
        return f"p={self.p}"

    def forward(self, x):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
        self._x = x
        if not self.training or self.p == 0.0:
            self._off = None
            return x
        self._off = self._next_offset()
        start = self._row_start
        if start:  # rows of a larger batch (see _Noise._row_start)
            xp = self._pad_rows(x, "x_pad")
            mask = self._ws("mask", ((xp.size + 7) // 8,), np.uint8)
            self._mask = mask
            return F.dropout(xp, self.p, True, seed=self.seed, offset=self._off, mask=mask,
                             out=self._ws("y", xp.shape, x.dtype))[start:]
        mask = self._ws("mask", ((x.size + 7) // 8,), np.uint8)
        self._mask = mask
        return F.dropout(x, self.p, True, seed=self.seed, offset=self._off, mask=mask,
                         out=self._ws("y", x.shape, x.dtype))

    def _backward(self, dy, out):
        start = self._row_start
        if start:
            dyp = self._pad_rows(dy, "dy_pad")
            dxp = self._ws("dx_pad", dyp.shape, dy.dtype)
            F.dropout_backward(dyp, self.p, mask=self._mask, out=dxp)
            np.copyto(out, dxp[start:])
            return out
        return F.dropout_backward(dy, self.p, mask=self._mask, out=out)


class Dropout2d(_Noise):
    """Channel dropout (torch.nn.Dropout2d): whole channels of (N, C, ...)
    inputs are zeroed with probability ``p``, survivors scaled by 1/(1 − p).

    Parameters
    ----------
    p : float, default 0.5
    seed : int, optional
    """

    def __init__(self, p=0.5, *, seed=None):
        self.p = _check_p(p)
        super().__init__(seed)

    def extra_repr(self):
        return f"p={self.p}"

    def forward(self, x):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
        self._x = x
        if not self.training or self.p == 0.0:
            self._off = None
            return x
        self._off = self._next_offset()
        start = self._row_start
        if start:  # rows of a larger batch (see _Noise._row_start)
            xp = self._pad_rows(x, "x_pad")
            return F.channel_dropout(xp, self.p, True, seed=self.seed, offset=self._off,
                                     out=self._ws("y", xp.shape, x.dtype))[start:]
        return F.channel_dropout(x, self.p, True, seed=self.seed, offset=self._off,
                                 out=self._ws("y", x.shape, x.dtype))

    def _backward(self, dy, out):
        start = self._row_start
        if start:
            dyp = self._pad_rows(dy, "dy_pad")
            dxp = F.channel_dropout_backward(dyp, self.p, seed=self.seed, offset=self._off,
                                             out=self._ws("dx_pad", dyp.shape, dy.dtype))
            np.copyto(out, dxp[start:])
            return out
        return F.channel_dropout_backward(dy, self.p, seed=self.seed, offset=self._off, out=out)


class GaussianNoise(_Noise):
    """Additive Gaussian noise in training (Keras GaussianNoise):
    ``y = x + stddev·z``; identity in eval.

    Parameters
    ----------
    stddev : float >= 0
    seed : int, optional
    """

    def __init__(self, stddev, *, seed=None):
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or stddev < 0:
            raise ValueError(f"stddev must be a real >= 0, got {stddev!r}")
        self.stddev = float(stddev)
        super().__init__(seed)

    def extra_repr(self):
        return f"stddev={self.stddev}"

    def forward(self, x):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
        self._x = x
        if not self.training or self.stddev == 0.0:
            self._off = None
            return x
        self._off = self._next_offset()
        start = self._row_start
        if start:  # rows of a larger batch (see _Noise._row_start)
            xp = self._pad_rows(x, "x_pad")
            return F.gaussian_noise(xp, self.stddev, True, seed=self.seed, offset=self._off,
                                    out=self._ws("y", xp.shape, x.dtype))[start:]
        return F.gaussian_noise(x, self.stddev, True, seed=self.seed, offset=self._off,
                                out=self._ws("y", x.shape, x.dtype))

    def backward(self, dy, *, input_grad=True):
        # additive noise: the gradient passes through unchanged
        if self._x is None:
            raise RuntimeError("GaussianNoise.backward called before a forward")
        return dy


class Flatten(Module):
    """Flatten dimensions ``start_dim`` to ``end_dim`` (torch.nn.Flatten); a
    view of C-contiguous inputs, no copy."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)
        self._shape = None

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def output_shape(self, input_shape):
        s = list(input_shape)
        a = self.start_dim % len(s)
        b = self.end_dim % len(s)
        mid = s[a:b + 1]
        n = None if None in mid else int(np.prod(mid))
        return tuple(s[:a] + [n] + s[b + 1:])

    def forward(self, x):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
        self._shape = x.shape
        return x.reshape(self.output_shape(x.shape))

    def backward(self, dy, *, input_grad=True):
        if self._shape is None:
            raise RuntimeError("Flatten.backward called before a forward")
        return dy.reshape(self._shape)
