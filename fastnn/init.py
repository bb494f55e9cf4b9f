"""Weight initializers, in place, drawn from fastnn's counter-based generator.

The functions carry the names of ``torch.nn.init`` (``xavier_uniform_``,
``kaiming_normal_``, ``trunc_normal_``, ``orthogonal_``, ...) and its
semantics; :func:`get` gives the same initializers under Keras's names
(``"glorot_uniform"``, ``"he_normal"``, ``"lecun_normal"``, ...) with Keras's
semantics. Every random initializer draws from :mod:`fastnn.random`
(Philox4x32-10): the result depends only on ``(seed, offset)`` and the
array's shape and dtype, never on the thread count or SIMD level, so an
initialization is reproducible anywhere. ``seed`` is required (an int, a
``numpy.random.SeedSequence`` or a ``numpy.random.Generator``, see
:func:`fastnn.random.seed_key`); give each array its own ``offset`` (or seed)
so that arrays do not get the same numbers.

Why the choice matters: ``zeros_`` and ``constant_`` give every unit of a
layer the same weights, hence the same output and the same gradient, so
the units never become different (they fail to break symmetry; use them for
biases only). Xavier/Glorot keeps the variance of activations and of
gradients constant through layers with symmetric activations (tanh,
identity): Var(w) = 2/(fan_in + fan_out). He/Kaiming compensates the half of
the signal a ReLU removes: Var(w) = 2/fan_in. LeCun (Var(w) = 1/fan_in) suits
SELU networks.

Fans. For an array of shape (d0, d1, d2, ...) with at least 2 dimensions and
receptive field r = d2·d3·..., PyTorch's layout (``layout="torch"``, the
default of the torch-named functions: weight of shape (out, in, *kernel))
has fan_in = d1·r and fan_out = d0·r. Keras's layout (``layout="keras"``,
the default of :func:`get`: kernel of shape (*kernel, in, out)) has
fan_in = d[-2]·r', fan_out = d[-1]·r' with r' the product of the leading
dimensions. Arrays with fewer than 2 dimensions have no fan: ValueError.
A zero-size array (a fan of 0) is returned unchanged, as torch does.
"""
import math
import numbers

import numpy as np

from fastnn import _config
from fastnn import random as _random
from fastnn._ext import random as _random_ext
from fastnn._ext.runtime import check_real
from fastnn._validation import check_param

__all__ = ["calculate_gain", "calculate_fan_in_and_fan_out", "zeros_", "ones_", "constant_",
           "uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
           "kaiming_uniform_", "kaiming_normal_", "lecun_uniform_", "lecun_normal_",
           "variance_scaling_", "orthogonal_", "Initializer", "get"]

_LAYOUTS = ("torch", "keras")


def _tensor(tensor):
    return check_param("tensor", tensor)


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (``torch.nn.init.calculate_gain``).

    ==================  ====================================
    nonlinearity        gain
    ==================  ====================================
    linear, conv*d,     1
    sigmoid
    tanh                5/3
    relu                √2
    leaky_relu          √(2/(1 + a²)), a = param (default 0.01)
    selu                3/4
    ==================  ====================================

    Parameters
    ----------
    nonlinearity : str
    param : float, optional
        The negative slope of leaky_relu.

    Returns
    -------
    float
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d")
    if not isinstance(nonlinearity, str):
        raise TypeError(f"nonlinearity must be a str, got {type(nonlinearity).__name__}")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, numbers.Real):
            raise ValueError(f"negative_slope {param} not a valid number")
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def calculate_fan_in_and_fan_out(tensor, layout="torch"):
    """(fan_in, fan_out) of a weight array; see the module docstring.

    Parameters
    ----------
    tensor : ndarray, at least 2-D
    layout : {"torch", "keras"}

    Returns
    -------
    (int, int)
    """
    shape = getattr(tensor, "shape", None)
    if shape is None:
        raise TypeError(f"tensor must be a numpy.ndarray, got {type(tensor).__name__}")
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be 'torch' or 'keras', got {layout!r}")
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out cannot be computed for an array with fewer than "
                         f"2 dimensions (tensor has shape {tuple(shape)})")
    if layout == "torch":
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, shape[0] * receptive
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _fan(tensor, mode, layout):
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor, layout)
    # 0 only for a zero-size array, which the callers leave as it is (torch)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


# ------------------------------------------------------------ constant fills

def zeros_(tensor):
    """Fill with 0. Every unit gets the same weights and the same gradient,
    so symmetry is never broken: for biases, not for weights."""
    t = _tensor(tensor)
    t[...] = 0
    return t


def ones_(tensor):
    """Fill with 1 (fails to break symmetry, as :func:`zeros_`)."""
    t = _tensor(tensor)
    t[...] = 1
    return t


def constant_(tensor, val):
    """Fill with ``val`` (fails to break symmetry, as :func:`zeros_`)."""
    t = _tensor(tensor)
    t[...] = check_real("val", val)
    return t


# ------------------------------------------------------------ random fills

def uniform_(tensor, a=0.0, b=1.0, *, seed, offset=0, n_threads=None):
    """Fill with U[a, b) from the stream (seed, offset).

    Parameters
    ----------
    tensor : ndarray, float32 or float64, C-contiguous, writable
    a, b : float, a <= b
    seed : int, SeedSequence or Generator (keyword, required)
    offset : int, default 0
    n_threads : int, optional

    Returns
    -------
    ndarray
        ``tensor``, filled.
    """
    t = _tensor(tensor)
    a = check_real("a", a)
    b = check_real("b", b)
    if a > b:
        raise ValueError(f"a must be <= b, got a={a}, b={b}")
    return _random.uniform_(t, a, b, seed=seed, offset=offset, n_threads=n_threads)


def normal_(tensor, mean=0.0, std=1.0, *, seed, offset=0, n_threads=None):
    """Fill with N(mean, std²) from the stream (seed, offset).

    Parameters as :func:`uniform_`; ``std >= 0``.
    """
    t = _tensor(tensor)
    return _random.normal_(t, mean, std, seed=seed, offset=offset, n_threads=n_threads)


def _normal_cdf(x):
    """Φ(x), accurate in the lower tail (erfc does not cancel there)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, *, seed, offset=0, n_threads=None):
    """Fill with N(mean, std²) truncated to [a, b] (absolute bounds, as PyTorch).

    By inversion, as PyTorch does: with α = (a − mean)/std, β = (b − mean)/std
    and u from the uniform stream (seed, offset),
    ``x = mean + std·Φ⁻¹(Φ(α) + u·(Φ(β) − Φ(α)))``, clamped to [a, b]. An
    interval in the upper tail is drawn as the mirror of the lower one, where
    Φ keeps its precision. Φ⁻¹ is a rational approximation of relative error
    below 1.2e-9, evaluated in float64. Every value depends on its own
    uniform only: no rejection loop, reproducible for any thread count.

    Parameters
    ----------
    tensor : ndarray, float32 or float64, C-contiguous, writable
    mean, std : float, std > 0
    a, b : float, a < b, with a probability mass Φ(β) − Φ(α) that float64
        can represent (ValueError otherwise)
    seed, offset, n_threads : as :func:`uniform_`

    Returns
    -------
    ndarray
        ``tensor``, filled.
    """
    t = _tensor(tensor)
    mean = check_real("mean", mean)
    std = check_real("std", std, 0.0, False)
    a = check_real("a", a)
    b = check_real("b", b)
    if not a < b:
        raise ValueError(f"a must be < b, got a={a}, b={b}")
    alpha, beta = (a - mean) / std, (b - mean) / std
    sign = 1.0
    if alpha > 0:  # upper tail: draw −x from the mirrored interval
        alpha, beta, sign = -beta, -alpha, -1.0
    p_lo, p_hi = _normal_cdf(alpha), _normal_cdf(beta)
    if not p_hi > p_lo:
        raise ValueError(f"[a, b] = [{a}, {b}] holds too little of N({mean}, {std}²) to be "
                         f"represented (Φ(β) − Φ(α) = {p_hi - p_lo:.3g})")
    _random.uniform_(t, seed=seed, offset=offset, n_threads=n_threads)
    _random_ext.normal_icdf_(t, p_lo, p_hi, mean, sign * std, float(t.dtype.type(a)),
                             float(t.dtype.type(b)), _config.resolve_threads(n_threads),
                             _config.kernel_flags())
    return t


def xavier_uniform_(tensor, gain=1.0, *, seed, offset=0, n_threads=None, layout="torch"):
    """Xavier/Glorot uniform: U(−l, l), l = gain·√(6/(fan_in + fan_out)).

    Parameters
    ----------
    tensor : ndarray, at least 2-D
    gain : float, default 1
    seed, offset, n_threads : as :func:`uniform_`
    layout : {"torch", "keras"}, default "torch" (see the module docstring)
    """
    t = _tensor(tensor)
    gain = check_real("gain", gain)
    fan_in, fan_out = calculate_fan_in_and_fan_out(t, layout)
    limit = abs(gain) * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return _random.uniform_(t, -limit, limit, seed=seed, offset=offset, n_threads=n_threads)


def xavier_normal_(tensor, gain=1.0, *, seed, offset=0, n_threads=None, layout="torch"):
    """Xavier/Glorot normal: N(0, σ²), σ = gain·√(2/(fan_in + fan_out)).

    Parameters as :func:`xavier_uniform_`.
    """
    t = _tensor(tensor)
    gain = check_real("gain", gain)
    fan_in, fan_out = calculate_fan_in_and_fan_out(t, layout)
    std = abs(gain) * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return _random.normal_(t, 0.0, std, seed=seed, offset=offset, n_threads=n_threads)


def _kaiming_std(t, a, mode, nonlinearity, layout):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    a = check_real("a", a)
    gain = calculate_gain(nonlinearity, a)
    fan = _fan(t, mode, layout)
    return gain / math.sqrt(fan) if fan else None  # None: zero-size, nothing to fill


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, seed,
                     offset=0, n_threads=None, layout="torch"):
    """He/Kaiming uniform: U(−l, l), l = gain·√(3/fan), gain = calculate_gain(nonlinearity, a).

    Parameters
    ----------
    tensor : ndarray, at least 2-D
    a : float, default 0
        Negative slope of the leaky ReLU after this layer.
    mode : {"fan_in", "fan_out"}, default "fan_in"
        fan_in preserves the variance of activations forward, fan_out that
        of gradients backward.
    nonlinearity : str, default "leaky_relu" (with a = 0: ReLU's √2)
    seed, offset, n_threads, layout : as :func:`xavier_uniform_`
    """
    t = _tensor(tensor)
    std = _kaiming_std(t, a, mode, nonlinearity, layout)
    if std is None:
        return t
    limit = math.sqrt(3.0) * std
    return _random.uniform_(t, -limit, limit, seed=seed, offset=offset, n_threads=n_threads)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, seed,
                    offset=0, n_threads=None, layout="torch"):
    """He/Kaiming normal: N(0, σ²), σ = gain/√fan.

    Parameters as :func:`kaiming_uniform_`.
    """
    t = _tensor(tensor)
    std = _kaiming_std(t, a, mode, nonlinearity, layout)
    if std is None:
        return t
    return _random.normal_(t, 0.0, std, seed=seed, offset=offset, n_threads=n_threads)


def variance_scaling_(tensor, scale=1.0, mode="fan_in", distribution="truncated_normal", *,
                      seed, offset=0, n_threads=None, layout="keras"):
    """Keras's VarianceScaling: values of variance scale/n, n the chosen fan.

    distribution "truncated_normal": N(0, σ²) truncated to ±2σ with
    σ = √(scale/n)/0.87962566103423978 (the truncation's variance
    correction); "untruncated_normal": N(0, scale/n); "uniform":
    U(−l, l), l = √(3·scale/n).

    Parameters
    ----------
    tensor : ndarray, at least 2-D
    scale : float, > 0
    mode : {"fan_in", "fan_out", "fan_avg"}
    distribution : {"truncated_normal", "untruncated_normal", "normal", "uniform"}
    seed, offset, n_threads : as :func:`uniform_`
    layout : {"keras", "torch"}, default "keras"
    """
    t = _tensor(tensor)
    scale = check_real("scale", scale, 0.0, False)
    if distribution not in ("truncated_normal", "normal", "untruncated_normal", "uniform"):
        raise ValueError(f"distribution must be 'truncated_normal', 'untruncated_normal' or "
                         f"'uniform', got {distribution!r}")
    n = _fan(t, mode, layout)
    if not n:
        return t  # a zero-size array
    var = scale / n
    if distribution in ("truncated_normal", "normal"):
        std = math.sqrt(var) / 0.87962566103423978
        return trunc_normal_(t, 0.0, std, -2 * std, 2 * std, seed=seed, offset=offset,
                             n_threads=n_threads)
    if distribution == "untruncated_normal":
        return _random.normal_(t, 0.0, math.sqrt(var), seed=seed, offset=offset,
                               n_threads=n_threads)
    if distribution == "uniform":
        limit = math.sqrt(3.0 * var)
        return _random.uniform_(t, -limit, limit, seed=seed, offset=offset, n_threads=n_threads)
    raise ValueError(f"distribution must be 'truncated_normal', 'untruncated_normal' or "
                     f"'uniform', got {distribution!r}")


def lecun_uniform_(tensor, *, seed, offset=0, n_threads=None, layout="torch"):
    """LeCun uniform: U(−l, l), l = √(3/fan_in)."""
    return variance_scaling_(tensor, 1.0, "fan_in", "uniform", seed=seed, offset=offset,
                             n_threads=n_threads, layout=layout)


def lecun_normal_(tensor, *, seed, offset=0, n_threads=None, layout="torch"):
    """LeCun normal (Keras): truncated normal of variance 1/fan_in (see
    :func:`variance_scaling_`)."""
    return variance_scaling_(tensor, 1.0, "fan_in", "truncated_normal", seed=seed,
                             offset=offset, n_threads=n_threads, layout=layout)


def orthogonal_(tensor, gain=1.0, *, seed, offset=0, n_threads=None):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2013), as PyTorch.

    The array is viewed as (d0, d1·d2·...); a normal matrix of that shape
    (transposed if it is wide) is drawn from the stream, factored by QR,
    and Q with the signs of diag(R) folded in (so the result is uniform over
    orthogonal matrices) is written back.

    Parameters
    ----------
    tensor : ndarray, at least 2-D
    gain : float, default 1
    seed, offset, n_threads : as :func:`uniform_`
    """
    t = _tensor(tensor)
    gain = check_real("gain", gain)
    if t.ndim < 2:
        raise ValueError(f"orthogonal_ needs an array with at least 2 dimensions, "
                         f"got shape {t.shape}")
    if t.size == 0:
        return t
    rows = t.shape[0]
    cols = t.size // rows
    flat = np.empty((rows, cols), dtype=t.dtype)
    _random.normal_(flat, seed=seed, offset=offset, n_threads=n_threads)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    d = np.sign(np.diag(r))
    d[d == 0] = 1
    q = q * d
    if rows < cols:
        q = q.T
    t.reshape(rows, cols)[...] = gain * q
    return t


# ------------------------------------------------------------ Keras names

class Initializer:
    """An initializer under a Keras name: ``init(tensor, seed=..., offset=...)``
    fills ``tensor`` in place and returns it.

    Parameters
    ----------
    name : str
        The Keras name it was built from.
    fn : callable
        ``fn(tensor, *, seed, offset, n_threads)``.
    seed : int, SeedSequence or Generator, optional
        Default seed of the calls (Keras's ``seed`` argument).
    config : dict
    """

    def __init__(self, name, fn, seed=None, config=None):
        self.name = name
        self._fn = fn
        self.seed = seed
        self.config = dict(config or {})

    def __call__(self, tensor, *, seed=None, offset=0, n_threads=None):
        seed = self.seed if seed is None else seed
        return self._fn(tensor, seed=seed, offset=offset, n_threads=n_threads)

    def get_config(self):
        return dict(self.config, seed=self.seed)

    def __repr__(self):
        return f"Initializer({self.name!r}, {self.config})"


def _keyless(fn):
    def call(tensor, *, seed, offset, n_threads):
        return fn(tensor)
    return call


def _build(key, config, layout):
    c = dict(config)
    if key in ("zeros", "zero"):
        return _keyless(zeros_)
    if key in ("ones", "one"):
        return _keyless(ones_)
    if key == "constant":
        value = c.pop("value", 0.0)
        return _keyless(lambda t: constant_(t, value))
    if key == "randomuniform":
        lo, hi = c.pop("minval", -0.05), c.pop("maxval", 0.05)
        return lambda t, **kw: uniform_(t, lo, hi, **kw)
    if key == "randomnormal":
        mean, std = c.pop("mean", 0.0), c.pop("stddev", 0.05)
        return lambda t, **kw: normal_(t, mean, std, **kw)
    if key == "truncatednormal":
        mean, std = c.pop("mean", 0.0), c.pop("stddev", 0.05)
        return lambda t, **kw: trunc_normal_(t, mean, std, mean - 2 * std, mean + 2 * std, **kw)
    if key == "orthogonal":
        gain = c.pop("gain", 1.0)
        return lambda t, **kw: orthogonal_(t, gain, **kw)
    scaling = {
        "glorotuniform": (1.0, "fan_avg", "uniform"),
        "glorotnormal": (1.0, "fan_avg", "truncated_normal"),
        "heuniform": (2.0, "fan_in", "uniform"),
        "henormal": (2.0, "fan_in", "truncated_normal"),
        "lecununiform": (1.0, "fan_in", "uniform"),
        "lecunnormal": (1.0, "fan_in", "truncated_normal"),
    }
    if key in scaling:
        scale, mode, dist = scaling[key]
    elif key == "variancescaling":
        scale = c.pop("scale", 1.0)
        mode = c.pop("mode", "fan_in")
        dist = c.pop("distribution", "truncated_normal")
    else:
        return None
    return lambda t, **kw: variance_scaling_(t, scale, mode, dist, layout=layout, **kw)


_KERAS_KEYS = {"zeros", "zero", "ones", "one", "constant", "randomuniform", "randomnormal",
               "truncatednormal", "orthogonal", "glorotuniform", "glorotnormal", "heuniform",
               "henormal", "lecununiform", "lecunnormal", "variancescaling"}


_KERAS_ARGS = {"constant": {"value"}, "randomuniform": {"minval", "maxval"},
               "randomnormal": {"mean", "stddev"}, "truncatednormal": {"mean", "stddev"},
               "orthogonal": {"gain"}, "variancescaling": {"scale", "mode", "distribution"}}


def get(identifier, *, seed=None, layout="keras", **config):
    """An initializer from its Keras name, with Keras's semantics.

    Parameters
    ----------
    identifier : str, dict or Initializer
        A Keras name: "zeros", "ones", "constant", "random_uniform"
        (U(−0.05, 0.05)), "random_normal" (N(0, 0.05²)), "truncated_normal"
        (stddev 0.05, cut at 2 stddev), "glorot_uniform", "glorot_normal",
        "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
        "orthogonal", "variance_scaling" (case and underscores ignored, so
        class names such as "GlorotUniform" work too); or a dict
        ``{"class_name": ..., "config": {...}}``. The *_normal variance
        scalings use Keras's truncated normal.
    seed : int, SeedSequence or Generator, optional
        Default seed of the returned initializer.
    layout : {"keras", "torch"}, default "keras"
        How fans are read from the shape (module docstring).
    **config
        Keras arguments, e.g. ``stddev=0.1``, ``minval``/``maxval``,
        ``value``, ``gain``, ``scale``/``mode``/``distribution``.

    Returns
    -------
    Initializer
    """
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        cfg = dict(identifier.get("config", {}))
        cfg.update(config)
        seed = cfg.pop("seed", seed)
        return get(identifier.get("class_name"), seed=seed, layout=layout, **cfg)
    if not isinstance(identifier, str):
        raise TypeError(f"initializer identifier must be a str, a dict or an Initializer, "
                        f"got {type(identifier).__name__}")
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be 'torch' or 'keras', got {layout!r}")
    key = identifier.lower().replace("_", "")
    if key not in _KERAS_KEYS:
        raise ValueError(f"unknown initializer {identifier!r}")
    unknown = set(config) - _KERAS_ARGS.get(key, set())
    if unknown:
        raise TypeError(f"unexpected arguments for {identifier!r}: {sorted(unknown)}")
    fn = _build(key, config, layout)
    return Initializer(identifier, fn, seed, config)
