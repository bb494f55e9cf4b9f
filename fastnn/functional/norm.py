"""Normalization kernels on plain arrays: BatchNorm, LayerNorm, GroupNorm.

Conventions
-----------
* Shapes and defaults follow PyTorch. BatchNorm and GroupNorm take
  (N, C, *) inputs (channels on axis 1); BatchNorm also takes channels-last
  inputs (N, *, C) with ``channels_last=True``. LayerNorm normalizes over the
  trailing ``normalized_shape`` dimensions.
* Forwards return a :class:`NormOutput` ``(out, mean, rstd)``: the output
  and the statistics backward needs, the mean and the inverse standard
  deviation 1/√(σ² + ε). The statistics are always float64, whatever the
  input dtype: they are exact enough to rebuild the forward bitwise.
* Backwards take those statistics and return a :class:`NormGrads`
  ``(dx, dgamma, dbeta)``; dgamma (dbeta) is None when the forward had no
  weight (bias).
* Statistics are accumulated in double with two passes, so inputs whose
  mean is large against their spread (x = 1e4 + N(0, 1) in float32) keep
  full accuracy. Results are bitwise identical for any thread count and
  SIMD level.
* Every argument is checked before any array is touched: TypeError for a
  wrong type or dtype, ValueError for a wrong shape, layout, read-only
  array, zero-size input or out-of-range value, naming the argument.
  Read-only inputs may be non-contiguous (they are copied); arrays written
  (``out``, running statistics) must be C-contiguous and writable.
"""
import collections
import math
import numbers

import numpy as np

from fastnn import _config
from fastnn._ext import norm as _k
from fastnn._ext.runtime import check_disjoint, check_real
from fastnn._validation import as_native, as_ndarray, check_array, check_bool, check_inout, \
    check_inout_shape

__all__ = ["NormOutput", "NormGrads", "batch_norm", "batch_norm_backward", "layer_norm",
           "layer_norm_backward", "group_norm", "group_norm_backward", "instance_norm",
           "instance_norm_backward"]

NormOutput = collections.namedtuple("NormOutput", ["out", "mean", "rstd"])
NormOutput.__doc__ = """A normalization forward's result.

out : ndarray
    The normalized output, shaped like the input.
mean, rstd : ndarray of float64
    The statistics used (per channel for BatchNorm, per row for LayerNorm,
    (N, num_groups) for GroupNorm): mean and 1/√(var + eps). Pass them to
    the matching backward."""

NormGrads = collections.namedtuple("NormGrads", ["dx", "dgamma", "dbeta"])
NormGrads.__doc__ = """A normalization backward's result: the gradients with
respect to the input, the weight (gamma) and the bias (beta); dgamma / dbeta
are None when the forward had no weight / bias."""

_REALS = (np.dtype(np.float32), np.dtype(np.float64))
_F64 = np.dtype(np.float64)


# ------------------------------------------------------------ validation

def _check_x(name, x, min_ndim=1):
    """A read-only data array: float32/float64 ndarray, non-empty; returned
    C-contiguous (a copy if it was not)."""
    x = check_array(name, x, min_ndim=min_ndim)
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape}): a zero-size batch has no "
                         f"statistics to normalize with")
    return x


def _check_read(name, a, shape, dtype):
    """An optional read-only array of the given shape and dtype (saved
    statistics are float64 whatever the data's dtype)."""
    if a is None:
        return None
    if (type(a) is np.ndarray and a.dtype == dtype and a.shape == shape
            and a.flags.c_contiguous):
        return a  # the common case, as the checks below would return it
    a = as_ndarray(name, a)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype.newbyteorder("=") != dtype:
        raise TypeError(f"{name} has dtype {a.dtype}, expected {dtype}")
    if a.shape != tuple(shape):
        raise ValueError(f"{name} has shape {a.shape}, expected {tuple(shape)}")
    return as_native(a)


def _check_write(name, a, shape, dtype):
    """An optional array written in place: exact shape and dtype,
    C-contiguous, writable."""
    if a is None:
        return None
    return check_inout_shape(name, a, shape, dtype)


def _out(out, like, name="out"):
    if out is None:
        return np.empty_like(like)
    return check_inout(name, out, like)


def _eps(eps):
    return check_real("eps", eps, 0.0, False)


def _disjoint(written, read):
    """No written array may share memory with any other argument (read-only
    arguments may overlap each other)."""
    check_disjoint(tuple(written) + tuple(read),
                   tuple(written.values()) + tuple(read.values()), len(written))


_check_flag = check_bool


def _bn_layout(x, channels_last):
    if channels_last:
        c = x.shape[-1]
        return x.size // c, c, 1
    n, c = x.shape[0], x.shape[1]
    return n, c, x.size // (n * c)


def _check_counter(a, required):
    if a is None:
        if required:
            raise TypeError("num_batches_tracked is required when momentum is None "
                            "(the cumulative average needs the batch count)")
        return None
    a = as_ndarray("num_batches_tracked", a, writable=True)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"num_batches_tracked must be a numpy.ndarray of int64, "
                        f"got {type(a).__name__}")
    if a.dtype != np.int64:
        raise TypeError(f"num_batches_tracked has dtype {a.dtype}, expected int64")
    if a.size != 1 or a.ndim > 1:
        raise ValueError(f"num_batches_tracked must hold one count (shape () or (1,)), "
                         f"got shape {a.shape}")
    if not a.flags.writeable:
        raise ValueError("num_batches_tracked is read-only but is updated in place")
    if int(a.reshape(())) < 0:
        raise ValueError(f"num_batches_tracked must be >= 0, got {int(a.reshape(()))}")
    return a


# ------------------------------------------------------------- BatchNorm

def batch_norm(x, gamma=None, beta=None, running_mean=None, running_var=None, *, training=True,
               momentum=0.1, eps=1e-5, relu=False, num_batches_tracked=None,
               channels_last=False, out=None, n_threads=None):
    """BatchNorm forward over (N, C), (N, C, L), (N, C, H, W), ... inputs.

    Training normalizes each channel with the batch mean and biased
    variance and, when running statistics are given, updates them in the
    same call (PyTorch's convention):
    ``r ← (1 − momentum)·r + momentum·batch``, with ``running_var``
    receiving the unbiased variance. Inference (``training=False``) uses
    the running statistics in one pass, ``y = x·scale + shift`` with
    ``scale = gamma/√(running_var + eps)``, ``shift = beta − running_mean·scale``.

    Parameters
    ----------
    x : ndarray, float32 or float64
        Input, (N, C, *) or, with ``channels_last``, (N, *, C).
    gamma, beta : ndarray (C,), optional
        Affine weight and bias (None: 1 and 0).
    running_mean, running_var : ndarray (C,), optional
        Running statistics, updated in place when training (pass both, or
        neither for ``track_running_stats=False``). Required for inference.
    training : bool
        Batch statistics (True) or running statistics (False).
    momentum : float in [0, 1] or None
        Weight of the batch in the running averages. None gives the
        cumulative average over all batches: the k-th batch gets weight 1/k,
        with k read from ``num_batches_tracked``.
    eps : float > 0
        Added to the variance.
    relu : bool
        Fuse a ReLU: ``out = max(y, 0)`` (NaN stays NaN).
    num_batches_tracked : ndarray of int64, shape () or (1,), optional
        The number of batches already folded into the running statistics,
        as PyTorch's buffer. When training with running statistics it is
        incremented by one in place (before use, so the k-th call sees k);
        required when ``momentum`` is None.
    channels_last : bool
        Channels on the last axis (NHWC).
    out : ndarray, optional
        Output array like ``x`` (C-contiguous, writable, not sharing memory
        with any input); allocated when None.
    n_threads : int, optional
        Threads to use; default :func:`fastnn.get_num_threads`.

    Returns
    -------
    NormOutput
        ``(out, mean, rstd)``; ``mean`` and ``rstd`` are float64 (C,): the
        batch statistics when training, the running ones (as float64,
        rstd = 1/√(running_var + eps)) in inference. Pass them to
        :func:`batch_norm_backward`.

    Raises
    ------
    ValueError
        Training with a single value per channel (as PyTorch), a zero-size
        input, eps <= 0, momentum outside [0, 1], inference without running
        statistics, or a bad shape/layout/read-only array.

    See Also
    --------
    fastnn.reference.norm.batch_norm : the formula.
    """
    x = _check_x("x", x, 2)
    training = _check_flag("training", training)
    relu = _check_flag("relu", relu)
    channels_last = _check_flag("channels_last", channels_last)
    eps = _eps(eps)
    if momentum is not None:
        momentum = check_real("momentum", momentum, 0.0, True, 1.0, True)
    n, c, s = _bn_layout(x, channels_last)
    dt = x.dtype
    gamma = _check_read("gamma", gamma, (c,), dt)
    beta = _check_read("beta", beta, (c,), dt)
    if (running_mean is None) != (running_var is None):
        raise TypeError("running_mean and running_var go together: pass both or neither")
    tracked = running_mean is not None
    if training:
        running_mean = _check_write("running_mean", running_mean, (c,), dt)
        running_var = _check_write("running_var", running_var, (c,), dt)
        if n * s <= 1:
            raise ValueError(f"expected more than 1 value per channel when training, got input "
                             f"shape {x.shape}")
        counter = _check_counter(num_batches_tracked, tracked and momentum is None)
        if not tracked:
            counter = None
    else:
        if not tracked:
            raise ValueError("running_mean and running_var are required when training=False")
        running_mean = _check_read("running_mean", running_mean, (c,), dt)
        running_var = _check_read("running_var", running_var, (c,), dt)
        counter = None
    out = _out(out, x)
    written = {"out": out}
    if training and tracked:
        written.update(running_mean=running_mean, running_var=running_var)
        if counter is not None:
            written["num_batches_tracked"] = counter
    read = {"x": x, "gamma": gamma, "beta": beta}
    if not training:
        read.update(running_mean=running_mean, running_var=running_var)
    _disjoint(written, read)

    mean = np.empty(c, np.float64)
    rstd = np.empty(c, np.float64)
    threads, flags = _config.resolve_threads(n_threads), _config.kernel_flags()
    if training:
        factor = momentum
        if counter is not None:
            counter += 1
            if momentum is None:
                factor = 1.0 / float(counter.reshape(()))
        _k.batch_norm_train(x, n, c, s, gamma, beta, running_mean if tracked else None,
                            running_var if tracked else None, 0.0 if factor is None else factor,
                            eps, relu, out, mean, rstd, threads, flags)
    else:
        _k.batch_norm_infer(x, n, c, s, gamma, beta, running_mean, running_var, eps, relu, out,
                            mean, rstd, threads, flags)
    return NormOutput(out, mean, rstd)


def batch_norm_backward(dy, x, mean, rstd, gamma=None, beta=None, *, training=True, relu=False,
                        channels_last=False, out=None, n_threads=None):
    """BatchNorm backward, from the statistics :func:`batch_norm` returned.

    Two passes over memory: per-channel sums Σg and Σg·(x − mean), then dx
    (x̂ is recomputed from x, never stored). With ``relu`` the gradient is
    first masked where the forward's pre-activation was <= 0; that
    pre-activation is rebuilt bitwise from x, the statistics, gamma and beta.

    Parameters
    ----------
    dy : ndarray
        Gradient of the loss with respect to the forward's output.
    x : ndarray
        The forward's input.
    mean, rstd : ndarray of float64, (C,)
        The forward's ``NormOutput.mean`` and ``NormOutput.rstd``.
    gamma, beta : ndarray (C,), optional
        The forward's weight and bias (beta matters only with relu).
    training : bool
        The forward's mode. In inference the statistics are constants:
        dx = gamma·rstd·g.
    relu : bool
        The forward had ``relu=True``.
    channels_last : bool
        As in the forward.
    out : ndarray, optional
        Array for dx, like ``x``.
    n_threads : int, optional

    Returns
    -------
    NormGrads
        ``(dx, dgamma, dbeta)``: dgamma = Σ g·x̂ (None without gamma),
        dbeta = Σ g (None without beta), per channel.

    See Also
    --------
    fastnn.reference.norm.batch_norm_backward : the formulas.
    """
    x = _check_x("x", x, 2)
    training = _check_flag("training", training)
    relu = _check_flag("relu", relu)
    channels_last = _check_flag("channels_last", channels_last)
    dt = x.dtype
    dy = _check_read("dy", dy, x.shape, dt)
    n, c, s = _bn_layout(x, channels_last)
    mean = _check_read("mean", mean, (c,), _F64)
    rstd = _check_read("rstd", rstd, (c,), _F64)
    if mean is None or rstd is None:
        raise TypeError("mean and rstd (from the forward) are required")
    gamma = _check_read("gamma", gamma, (c,), dt)
    beta = _check_read("beta", beta, (c,), dt)
    if training and n * s <= 1:
        raise ValueError(f"expected more than 1 value per channel when training, got input "
                         f"shape {x.shape}")
    dx = _out(out, x)
    dgamma = np.empty(c, dt) if gamma is not None else None
    dbeta = np.empty(c, dt) if beta is not None else None
    _disjoint({"out": dx}, {"dy": dy, "x": x, "mean": mean, "rstd": rstd, "gamma": gamma,
                            "beta": beta})
    _k.batch_norm_backward(dy, x, n, c, s, gamma, beta, mean, rstd, training, relu, dx, dgamma,
                           dbeta, _config.resolve_threads(n_threads), _config.kernel_flags())
    return NormGrads(dx, dgamma, dbeta)


# ------------------------------------------------------------- LayerNorm

def _normalized_shape(x, normalized_shape):
    if isinstance(normalized_shape, (numbers.Integral, np.integer)) and not isinstance(
            normalized_shape, bool):
        shape = (int(normalized_shape),)
    elif isinstance(normalized_shape, (tuple, list)) and all(
            isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool)
            for v in normalized_shape):
        shape = tuple(int(v) for v in normalized_shape)
    else:
        raise TypeError(f"normalized_shape must be an int or a tuple of ints, "
                        f"got {normalized_shape!r}")
    k = len(shape)
    if k == 0 or k > x.ndim or tuple(x.shape[x.ndim - k:]) != shape:
        raise ValueError(f"normalized_shape {shape} must match the trailing dimensions of "
                         f"x, shape {x.shape}")
    d = math.prod(shape)
    return shape, x.shape[:x.ndim - k], x.size // d, d


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5, *, out=None,
               n_threads=None):
    """LayerNorm over the trailing ``normalized_shape`` dimensions, as
    ``torch.nn.functional.layer_norm``: y = (x − μ)·rstd·weight + bias per row.

    Parameters
    ----------
    x : ndarray, float32 or float64
    normalized_shape : int or tuple of int
        The trailing dimensions each row spans.
    weight, bias : ndarray of shape ``normalized_shape``, optional
        Elementwise affine (None: 1 and 0).
    eps : float > 0
    out : ndarray, optional
        Output like ``x`` (not sharing memory with an input).
    n_threads : int, optional

    Returns
    -------
    NormOutput
        ``(out, mean, rstd)``, mean and rstd float64 of shape
        ``x.shape[:-len(normalized_shape)]``.

    See Also
    --------
    fastnn.reference.norm.layer_norm : the formula.
    """
    x = _check_x("x", x)
    shape, lead, m, d = _normalized_shape(x, normalized_shape)
    eps = _eps(eps)
    weight = _check_read("weight", weight, shape, x.dtype)
    bias = _check_read("bias", bias, shape, x.dtype)
    out = _out(out, x)
    _disjoint({"out": out}, {"x": x, "weight": weight, "bias": bias})
    mean = np.empty(lead, np.float64)
    rstd = np.empty(lead, np.float64)
    _k.layer_norm(x, m, d, weight, bias, eps, out, mean, rstd,
                  _config.resolve_threads(n_threads), _config.kernel_flags())
    return NormOutput(out, mean, rstd)


def layer_norm_backward(dy, x, mean, rstd, normalized_shape, weight=None, bias=None, *,
                        out=None, n_threads=None):
    """LayerNorm backward, from the statistics :func:`layer_norm` returned.

    One pass over x and dy per row (the row stays in cache between the sums
    and dx); dweight and dbias are summed over fixed row blocks combined in
    order.

    Parameters
    ----------
    dy, x : ndarray
        Gradient of the output, and the forward's input.
    mean, rstd : ndarray of float64
        The forward's statistics.
    normalized_shape : int or tuple of int
    weight : ndarray, optional
        The forward's weight.
    bias : ndarray, optional
        The forward's bias: only whether it is given matters (dbias is
        computed then).
    out : ndarray, optional
        Array for dx.
    n_threads : int, optional

    Returns
    -------
    NormGrads
        ``(dx, dweight, dbias)`` (None where the forward had no weight/bias).
    """
    x = _check_x("x", x)
    shape, lead, m, d = _normalized_shape(x, normalized_shape)
    dt = x.dtype
    dy = _check_read("dy", dy, x.shape, dt)
    mean = _check_read("mean", mean, lead, _F64)
    rstd = _check_read("rstd", rstd, lead, _F64)
    if mean is None or rstd is None:
        raise TypeError("mean and rstd (from the forward) are required")
    weight = _check_read("weight", weight, shape, dt)
    bias = _check_read("bias", bias, shape, dt)
    dx = _out(out, x)
    _disjoint({"out": dx}, {"dy": dy, "x": x, "mean": mean, "rstd": rstd, "weight": weight,
                            "bias": bias})
    dw = np.empty(shape, dt) if weight is not None else None
    db = np.empty(shape, dt) if bias is not None else None
    _k.layer_norm_backward(dy, x, m, d, weight, mean, rstd, dx, dw, db,
                           _config.resolve_threads(n_threads), _config.kernel_flags())
    return NormGrads(dx, dw, db)


# ------------------------------------------------------------- GroupNorm

def _groups(x, num_groups):
    if isinstance(num_groups, bool) or not isinstance(num_groups, (numbers.Integral, np.integer)):
        raise TypeError(f"num_groups must be an int, got {type(num_groups).__name__}")
    g = int(num_groups)
    c = x.shape[1]
    if g < 1 or c % g:
        raise ValueError(f"num_groups must be >= 1 and divide the {c} channels, got {g}")
    n = x.shape[0]
    return n, c, x.size // (n * c), g


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5, *, out=None, n_threads=None):
    """GroupNorm, as ``torch.nn.functional.group_norm``: the channels of each
    sample split into ``num_groups`` groups normalized separately, then a
    per-channel affine. ``num_groups = C`` is InstanceNorm, ``1`` LayerNorm
    over (C, *) with a per-channel affine.

    Parameters
    ----------
    x : ndarray (N, C, *), float32 or float64
    num_groups : int
        Divides C.
    weight, bias : ndarray (C,), optional
    eps : float > 0
    out : ndarray, optional
    n_threads : int, optional

    Returns
    -------
    NormOutput
        ``(out, mean, rstd)``, mean and rstd float64 of shape (N, num_groups).

    See Also
    --------
    fastnn.reference.norm.group_norm : the formula.
    """
    x = _check_x("x", x, 2)
    n, c, s, g = _groups(x, num_groups)
    eps = _eps(eps)
    weight = _check_read("weight", weight, (c,), x.dtype)
    bias = _check_read("bias", bias, (c,), x.dtype)
    out = _out(out, x)
    _disjoint({"out": out}, {"x": x, "weight": weight, "bias": bias})
    mean = np.empty((n, g), np.float64)
    rstd = np.empty((n, g), np.float64)
    _k.group_norm(x, n, c, s, g, weight, bias, eps, out, mean, rstd,
                  _config.resolve_threads(n_threads), _config.kernel_flags())
    return NormOutput(out, mean, rstd)


def group_norm_backward(dy, x, mean, rstd, num_groups, weight=None, bias=None, *, out=None,
                        n_threads=None):
    """GroupNorm backward, from the statistics :func:`group_norm` returned.

    Parameters
    ----------
    dy, x : ndarray (N, C, *)
    mean, rstd : ndarray of float64, (N, num_groups)
    num_groups : int
    weight : ndarray (C,), optional
    bias : ndarray (C,), optional
        Only whether it is given matters (dbias is computed then).
    out : ndarray, optional
        Array for dx.
    n_threads : int, optional

    Returns
    -------
    NormGrads
        ``(dx, dweight, dbias)``.
    """
    x = _check_x("x", x, 2)
    n, c, s, g = _groups(x, num_groups)
    dt = x.dtype
    dy = _check_read("dy", dy, x.shape, dt)
    mean = _check_read("mean", mean, (n, g), _F64)
    rstd = _check_read("rstd", rstd, (n, g), _F64)
    if mean is None or rstd is None:
        raise TypeError("mean and rstd (from the forward) are required")
    weight = _check_read("weight", weight, (c,), dt)
    bias = _check_read("bias", bias, (c,), dt)
    dx = _out(out, x)
    _disjoint({"out": dx}, {"dy": dy, "x": x, "mean": mean, "rstd": rstd, "weight": weight,
                            "bias": bias})
    dw = np.empty(c, dt) if weight is not None else None
    db = np.empty(c, dt) if bias is not None else None
    _k.group_norm_backward(dy, x, n, c, s, g, weight, mean, rstd, dx, dw, db,
                           _config.resolve_threads(n_threads), _config.kernel_flags())
    return NormGrads(dx, dw, db)


def instance_norm(x, weight=None, bias=None, eps=1e-5, *, out=None, n_threads=None):
    """InstanceNorm without running statistics: :func:`group_norm` with one
    group per channel. Returns ``(out, mean, rstd)`` with (N, C) statistics."""
    # x is checked first: C, the number of groups, is read from the checked
    # array (a torch tensor or a buffer is viewed as an ndarray there)
    x = _check_x("x", x, 2)
    return group_norm(x, x.shape[1], weight, bias, eps, out=out, n_threads=n_threads)


def instance_norm_backward(dy, x, mean, rstd, weight=None, bias=None, *, out=None,
                           n_threads=None):
    """Backward of :func:`instance_norm` (see :func:`group_norm_backward`)."""
    x = _check_x("x", x, 2)
    return group_norm_backward(dy, x, mean, rstd, x.shape[1], weight, bias, out=out,
                               n_threads=n_threads)
