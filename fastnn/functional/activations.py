"""Activation functions, forward and backward, and the vector math under them.

Every activation comes as ``name(x, ...)`` (a new array, or ``out=``),
``name_(x, ...)`` (in place) and ``name_backward(grad_output, ...)``.
Defaults and formulas follow ``torch.nn`` (see :mod:`fastnn.reference.dense`).

Backward needs either the activation's input ``z`` or its output
``y = act(z)``; pass them as the keywords ``input=`` / ``output=``. The
output is enough, and used when given, for identity, ReLU, sigmoid, tanh and
ELU (alpha > 0): a layer that keeps its output anyway then needs no extra
memory. LeakyReLU, PReLU, GELU, SiLU and softplus need the input.

Arrays must be float32 or float64 ndarrays of one dtype per call; read-only
inputs may be non-contiguous (they are copied), arrays written (``out=``,
in-place ``x``) must be C-contiguous and writable. Bad arguments raise
TypeError (type, dtype) or ValueError (shape, layout, values) naming the
argument, before any array is written.
"""
import math

import numpy as np

from fastnn import _config
from fastnn._ext import dense as _k
from fastnn._ext.runtime import check_real
from fastnn._validation import Arrays, check_array, check_inout, check_input, check_param

__all__ = [
    "ACTIVATIONS", "activation", "activation_", "activation_backward",
    "identity", "relu", "relu_", "relu_backward",
    "leaky_relu", "leaky_relu_", "leaky_relu_backward",
    "prelu", "prelu_", "prelu_backward",
    "elu", "elu_", "elu_backward",
    "gelu", "gelu_", "gelu_backward",
    "silu", "silu_", "silu_backward",
    "sigmoid", "sigmoid_", "sigmoid_backward",
    "tanh", "tanh_", "tanh_backward",
    "softplus", "softplus_", "softplus_backward",
    "exp", "expm1", "erf", "erfc",
]

#: Valid activation names. "swish" is an alias of "silu".
ACTIVATIONS = ("identity", "relu", "leaky_relu", "prelu", "elu", "gelu", "silu", "swish",
               "sigmoid", "tanh", "softplus")

_KIND = {"identity": _k.IDENTITY, "relu": _k.RELU, "leaky_relu": _k.LEAKY_RELU,
         "prelu": _k.PRELU, "elu": _k.ELU, "gelu": _k.GELU, "silu": _k.SILU,
         "swish": _k.SILU, "sigmoid": _k.SIGMOID, "tanh": _k.TANH, "softplus": _k.SOFTPLUS}

# activations whose derivative can be computed from their output
_FROM_OUTPUT = {"identity", "relu", "sigmoid", "tanh", "elu"}


class _Act:
    """A validated activation: kernel id and scalar hyperparameters."""

    __slots__ = ("name", "kind", "negative_slope", "alpha", "beta", "threshold")

    def __init__(self, name, negative_slope=0.01, alpha=1.0, approximate="none", beta=1.0,
                 threshold=20.0):
        if not isinstance(name, str):
            raise TypeError(f"activation must be a str, one of {ACTIVATIONS}, "
                            f"got {type(name).__name__}")
        key = name.lower()
        if key not in _KIND:
            raise ValueError(f"unknown activation {name!r}; valid names: {', '.join(ACTIVATIONS)}")
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.name = "silu" if key == "swish" else key
        self.kind = _KIND[key]
        if self.name == "gelu" and approximate == "tanh":
            self.kind = _k.GELU_TANH
        self.negative_slope = check_real("negative_slope", negative_slope)
        self.alpha = check_real("alpha", alpha)
        self.beta = check_real("beta", beta, 0.0, False)
        self.threshold = check_real("threshold", threshold)

    @property
    def saves_output(self):
        """Whether backward can use the output instead of the input."""
        if self.name == "elu":
            return self.alpha > 0.0
        return self.name in _FROM_OUTPUT

    def params(self):
        return self.negative_slope, self.alpha, self.beta, self.threshold


def _check_array(name, a):
    """A read-only array that sets the call's dtype; returned C-contiguous
    and in native byte order (copied if needed), shape kept."""
    return check_array(name, a)


def _layout(shape):
    """(n_outer, n_channels, n_inner) of an array: the channel axis is axis 1
    (as torch.nn.PReLU); arrays of fewer than 2 dimensions have one channel."""
    if len(shape) < 2:
        return 1, 1, math.prod(shape)
    return int(shape[0]), int(shape[1]), math.prod(shape[2:])


def _check_slope(weight, x, act):
    """The PReLU weight: 1 value or one per channel, x's dtype."""
    if act.kind != _k.PRELU:
        if weight is not None:
            raise ValueError(f"weight is only used by prelu, not {act.name}")
        return None
    if weight is None:
        raise TypeError("prelu needs weight (1 value or one per channel)")
    w = check_array("weight", weight, dtype=x.dtype)
    _, n_channels, _ = _layout(x.shape)
    if w.ndim != 1 or w.size not in (1, n_channels):
        raise ValueError(f"weight has shape {w.shape}; prelu takes 1 weight or one per channel "
                         f"({n_channels} for input of shape {x.shape}, channels on axis 1)")
    return w


def _forward(x, act, weight, out, n_threads, inplace=False):
    arrays = Arrays()
    if inplace:
        x = arrays.write("x", check_param("x", x))
    else:
        x = arrays.read("x", _check_array("x", x))
    slope = arrays.read("weight", _check_slope(weight, x, act))
    if inplace:
        y = x
    elif out is None:
        y = None
    else:
        y = arrays.write("out", check_inout("out", out, x))
    arrays.check()
    threads = _config.resolve_threads(n_threads)
    flags = _config.kernel_flags()
    if y is None:
        y = np.empty_like(x)
    n_outer, n_channels, n_inner = _layout(x.shape)
    if slope is None or slope.size == 1:
        n_outer, n_channels, n_inner = 1, 1, x.size
    _k.act_forward(act.kind, *act.params(), n_outer, n_channels, n_inner, x, None, slope, None,
                   y, threads, flags)
    return y


def _backward(grad_output, input, output, act, weight, out, n_threads):
    arrays = Arrays()
    dy = arrays.read("grad_output", _check_array("grad_output", grad_output))
    saved_is_output = False
    if output is not None and act.saves_output:
        saved = arrays.read("output", check_input("output", output, dy))
        saved_is_output = True
    elif input is not None:
        saved = arrays.read("input", check_input("input", input, dy))
    elif output is not None:
        raise ValueError(f"{act.name} backward needs input= (its derivative cannot be "
                         f"recovered from the output)")
    else:
        raise TypeError(f"{act.name} backward needs input= or output=")
    if output is not None and not saved_is_output:
        # given but not needed (the derivative comes from input): still an
        # argument of the call, checked like the others
        arrays.read("output", check_input("output", output, dy))
    slope = arrays.read("weight", _check_slope(weight, dy, act))
    if out is not None:
        dx = arrays.write("out", check_inout("out", out, dy))
        # out may be grad_output itself: each element is read before it is written
        arrays.allow_same("out", "grad_output")
    else:
        dx = None
    arrays.check()
    threads = _config.resolve_threads(n_threads)
    flags = _config.kernel_flags()
    if dx is None:
        dx = np.empty_like(dy)
    dslope = np.empty_like(slope) if slope is not None else None
    n_outer, n_channels, n_inner = _layout(dy.shape)
    if slope is None:
        n_outer, n_channels, n_inner = 1, 1, dy.size
    _k.act_backward(act.kind, *act.params(), n_outer, n_channels, n_inner, dy, saved,
                    saved_is_output, slope, dx, None, dslope, threads, flags)
    if slope is not None:
        return dx, dslope
    return dx


def activation(x, name="relu", *, negative_slope=0.01, alpha=1.0, approximate="none", beta=1.0,
               threshold=20.0, weight=None, out=None, n_threads=None):
    """Apply the activation ``name`` elementwise.

    Parameters
    ----------
    x : ndarray (float32 or float64)
    name : str
        One of :data:`ACTIVATIONS`.
    negative_slope : float
        LeakyReLU slope for x < 0 (default 0.01).
    alpha : float
        ELU scale of the negative part (default 1.0).
    approximate : {"none", "tanh"}
        GELU: exact (with erf) or the tanh approximation.
    beta, threshold : float
        Softplus: log(1 + exp(beta·x))/beta, and x itself where beta·x > threshold.
    weight : ndarray, optional
        PReLU slopes: 1 value or one per channel (axis 1 of x).
    out : ndarray, optional
        Where to write the result (same shape and dtype as x); allocated if None.
    n_threads : int, optional
        Threads to use; default :func:`fastnn.get_num_threads`.

    Returns
    -------
    ndarray
        act(x).
    """
    act = _Act(name, negative_slope, alpha, approximate, beta, threshold)
    return _forward(x, act, weight, out, n_threads)


def activation_(x, name="relu", *, negative_slope=0.01, alpha=1.0, approximate="none", beta=1.0,
                threshold=20.0, weight=None, n_threads=None):
    """In-place :func:`activation`: x ← act(x). ``x`` must be C-contiguous and
    writable. Returns x."""
    act = _Act(name, negative_slope, alpha, approximate, beta, threshold)
    return _forward(x, act, weight, None, n_threads, inplace=True)


def activation_backward(grad_output, name="relu", *, input=None, output=None,
                        negative_slope=0.01, alpha=1.0, approximate="none", beta=1.0,
                        threshold=20.0, weight=None, out=None, n_threads=None):
    """Gradient of :func:`activation`: grad_input = grad_output ⊙ act'(input).

    Parameters
    ----------
    grad_output : ndarray
        Gradient of the loss with respect to the activation's output.
    name : str
        One of :data:`ACTIVATIONS`.
    input, output : ndarray, optional
        The forward call's input or output (same shape and dtype). ``output``
        is used when given for identity, relu, sigmoid, tanh and elu (alpha > 0);
        the other activations need ``input``.
    negative_slope, alpha, approximate, beta, threshold, weight
        As in :func:`activation`.
    out : ndarray, optional
        Where to write grad_input; may be ``grad_output`` itself.
    n_threads : int, optional

    Returns
    -------
    ndarray, or (ndarray, ndarray) for prelu
        grad_input, and for prelu also the gradient of ``weight``.
    """
    act = _Act(name, negative_slope, alpha, approximate, beta, threshold)
    return _backward(grad_output, input, output, act, weight, out, n_threads)


def _family(name, doc, params=(), slope=False):
    """Build name(x, ...), name_(x, ...) and name_backward(grad_output, ...)."""
    defaults = {"negative_slope": 0.01, "alpha": 1.0, "approximate": "none", "beta": 1.0,
                "threshold": 20.0}

    def pick(kwargs):
        extra = set(kwargs) - set(params)
        if extra:
            raise TypeError(f"{name}() got unexpected keyword arguments {sorted(extra)}")
        values = dict(defaults)
        values.update(kwargs)
        return _Act(name, **values)

    if slope:
        def fwd(x, weight, *, out=None, n_threads=None):
            return _forward(x, pick({}), weight, out, n_threads)

        def fwd_(x, weight, *, n_threads=None):
            return _forward(x, pick({}), weight, None, n_threads, inplace=True)

        def bwd(grad_output, weight, *, input=None, out=None, n_threads=None):
            return _backward(grad_output, input, None, pick({}), weight, out, n_threads)
    else:
        def fwd(x, *, out=None, n_threads=None, **kwargs):
            return _forward(x, pick(kwargs), None, out, n_threads)

        def fwd_(x, *, n_threads=None, **kwargs):
            return _forward(x, pick(kwargs), None, None, n_threads, inplace=True)

        def bwd(grad_output, *, input=None, output=None, out=None, n_threads=None, **kwargs):
            return _backward(grad_output, input, output, pick(kwargs), None, out, n_threads)

    opts = "".join(f", {p}={defaults[p]!r}" for p in params)
    sig = "x, weight" if slope else "x"
    fwd.__name__, fwd_.__name__, bwd.__name__ = name, name + "_", name + "_backward"
    fwd.__doc__ = (f"{doc}\n\n    ``{name}({sig}{opts}, *, out=None, n_threads=None)``: "
                   f"see :func:`activation` for the parameters.\n\n    Returns\n    -------\n"
                   f"    ndarray\n")
    fwd_.__doc__ = f"In-place :func:`{name}`: x ← {name}(x); returns x."
    bwd.__doc__ = (f"Gradient of :func:`{name}`; see :func:`activation_backward`.\n\n"
                   f"    Returns\n    -------\n    ndarray"
                   + (", ndarray\n        grad_input and the gradient of weight." if slope
                      else "\n        grad_input.") + "\n")
    return fwd, fwd_, bwd


relu, relu_, relu_backward = _family("relu", "ReLU: max(x, 0).")
leaky_relu, leaky_relu_, leaky_relu_backward = _family(
    "leaky_relu", "LeakyReLU: x if x > 0 else negative_slope·x.", ("negative_slope",))
prelu, prelu_, prelu_backward = _family(
    "prelu", "PReLU: x if x > 0 else weight[c]·x, c the channel (axis 1).", slope=True)
elu, elu_, elu_backward = _family("elu", "ELU: x if x > 0 else alpha·(exp(x) − 1).", ("alpha",))
gelu, gelu_, gelu_backward = _family(
    "gelu", "GELU: x·Φ(x), or with approximate='tanh' "
    "x·(1 + tanh(√(2/π)(x + 0.044715x³)))/2.", ("approximate",))
silu, silu_, silu_backward = _family("silu", "SiLU (swish): x·σ(x).")
sigmoid, sigmoid_, sigmoid_backward = _family("sigmoid", "Sigmoid: 1/(1 + exp(−x)).")
tanh, tanh_, tanh_backward = _family("tanh", "Hyperbolic tangent.")
softplus, softplus_, softplus_backward = _family(
    "softplus", "Softplus: log(1 + exp(beta·x))/beta, x where beta·x > threshold.",
    ("beta", "threshold"))


def identity(x, *, out=None, n_threads=None):
    """Identity: returns a copy of x (or writes it to ``out``)."""
    return _forward(x, _Act("identity"), None, out, n_threads)


def _math(fn, x, out, n_threads):
    arrays = Arrays()
    x = arrays.read("x", _check_array("x", x))
    if out is not None:
        # out may be x itself (elementwise: each element is read before it is
        # written); any partial overlap would read already-written elements
        y = arrays.write("out", check_inout("out", out, x))
        arrays.allow_same("out", "x")
    else:
        y = None
    arrays.check()
    threads = _config.resolve_threads(n_threads)
    if y is None:
        y = np.empty_like(x)
    _k.math(fn, x, y, threads, _config.kernel_flags())
    return y


def exp(x, *, out=None, n_threads=None):
    """exp(x) with fastnn's vector code (within 1 ulp; see csrc/core/vmath_t.h).

    Parameters
    ----------
    x : ndarray (float32 or float64)
    out : ndarray, optional
    n_threads : int, optional

    Returns
    -------
    ndarray
    """
    return _math(_k.MATH_EXP, x, out, n_threads)


def expm1(x, *, out=None, n_threads=None):
    """exp(x) − 1, accurate near 0 (within 2 ulp). Parameters as :func:`exp`.

    Returns
    -------
    ndarray
    """
    return _math(_k.MATH_EXPM1, x, out, n_threads)


def erf(x, *, out=None, n_threads=None):
    """The error function (within 3 ulp). Parameters as :func:`exp`.

    Returns
    -------
    ndarray
    """
    return _math(_k.MATH_ERF, x, out, n_threads)


def erfc(x, *, out=None, n_threads=None):
    """1 − erf(x) without cancellation (float32 within 11 ulp, float64 within
    9 ulp). Parameters as :func:`exp`.

    Returns
    -------
    ndarray
    """
    return _math(_k.MATH_ERFC, x, out, n_threads)
