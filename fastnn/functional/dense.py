"""The dense (fully connected) layer with a fused bias and activation.

``y = act(x @ weight.T + bias)``. The weight is stored as in
``torch.nn.Linear``: shape ``(out_features, in_features)``; ``x`` has shape
``(..., in_features)`` (a single sample may be 1-D) and ``y`` has shape
``(..., out_features)``.

How it runs: the product is cut into tiles whose shape depends on the
sizes only; each tile is one single-threaded BLAS ``?gemm`` call
(``scipy.linalg.cython_blas``, see :mod:`fastnn._blas` and
``fastnn.show_config()``) made by one of fastnn's OpenMP threads, followed
at once by the fused bias and activation pass over that tile while it is
in cache. BLAS is held to one thread for the call, so BLAS threads and
fastnn's never multiply, and every output is computed by the same calls
whatever ``n_threads`` is: results are bitwise identical for any thread
count. Backward is one fused pass computing ``dz = grad_output ⊙ act'(·)``
with the bias gradient (reduced in a fixed order), then the tiles of
``dW = dzᵀ·x`` and ``dx = dz·W`` shared out among the threads.

Without scipy (or for sizes of 2**31 and more, beyond the 32-bit BLAS
interface) the product is one ``numpy.matmul`` into a preallocated array
with BLAS's own threads, followed by the fused pass.

What forward saves for backward (``saved``, returned by
:func:`dense_forward`): the output ``y`` for identity, ReLU, sigmoid, tanh
and ELU (alpha > 0), so no memory beyond the layer's output is kept; the
pre-activation ``z = x·Wᵀ + b`` for LeakyReLU, PReLU, GELU, SiLU and
softplus, whose derivative cannot be recovered from the output.

The activation family itself (standalone, in place, with backward) is in
:mod:`fastnn.functional.activations`, re-exported here.
"""
import collections
import math

import numpy as np

from fastnn import _blas, _config
from fastnn._ext import dense as _k
from fastnn._ext.runtime import check_disjoint
from fastnn._validation import as_ndarray, check_array, check_out
from fastnn.functional.activations import *  # noqa: F401,F403
from fastnn.functional.activations import __all__ as _act_all
from fastnn.functional.activations import _Act, _check_array

__all__ = ["dense", "dense_forward", "dense_backward", "DenseGrads",
           "dense_saves_output"] + list(_act_all)

DenseGrads = collections.namedtuple(
    "DenseGrads", ["grad_input", "grad_weight", "grad_bias", "grad_prelu_weight"])
DenseGrads.__doc__ = """Gradients returned by :func:`dense_backward`: of x, weight, bias
(None without bias) and the PReLU weight (None unless activation="prelu")."""


def dense_saves_output(activation="identity", *, alpha=1.0):
    """Whether :func:`dense_forward` saves the output (True) or the
    pre-activation (False) for ``activation``.

    Parameters
    ----------
    activation : str
    alpha : float
        ELU's alpha (the output is enough only when alpha > 0).

    Returns
    -------
    bool
    """
    return _Act(activation, alpha=alpha).saves_output


def _check_same_dtype(name, a, like):
    """A read-only array of the call's dtype, returned C-contiguous and native."""
    a = as_ndarray(name, a)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    return check_array(name, a, dtype=like.dtype)


#: An array written by the call: exact shape and dtype (native), C-contiguous, writable.
_check_out = check_out


def _check_layer(x, weight, bias, act, prelu_weight):
    """Validate x, weight, bias and the PReLU weight; returns contiguous arrays."""
    x = _check_array("x", x)
    if x.ndim < 1:
        raise ValueError("x must have at least 1 dimension (..., in_features), got a 0-d array")
    weight = _check_same_dtype("weight", weight, x)
    if weight.ndim != 2:
        raise ValueError(f"weight must be 2-D (out_features, in_features), got shape "
                         f"{weight.shape}")
    if weight.shape[1] != x.shape[-1]:
        raise ValueError(f"shapes do not chain: x has shape {x.shape} and weight has shape "
                         f"{weight.shape}; weight is (out_features, in_features) as in "
                         f"torch.nn.Linear, so x.shape[-1] must equal weight.shape[1]")
    weight = np.ascontiguousarray(weight)
    out_features = weight.shape[0]
    if bias is not None:
        bias = _check_same_dtype("bias", bias, x)
        if bias.shape != (out_features,):
            raise ValueError(f"bias has shape {bias.shape} but weight has shape {weight.shape}: "
                             f"bias must have shape ({out_features},)")
        bias = np.ascontiguousarray(bias)
    if act.kind == _k.PRELU:
        if prelu_weight is None:
            raise TypeError("activation='prelu' needs prelu_weight (1 value or one per "
                            "output feature)")
        prelu_weight = _check_same_dtype("prelu_weight", prelu_weight, x)
        if prelu_weight.ndim != 1 or prelu_weight.size not in (1, out_features):
            raise ValueError(f"prelu_weight has shape {prelu_weight.shape}; it must have 1 "
                             f"value or {out_features} (one per output feature)")
        prelu_weight = np.ascontiguousarray(prelu_weight)
    elif prelu_weight is not None:
        raise ValueError(f"prelu_weight is only used with activation='prelu', not {act.name!r}")
    return x, weight, bias, prelu_weight


# The 32-bit integers of the Fortran BLAS interface
_BLAS_INT_MAX = 2**31 - 1

# False makes every call take the numpy.matmul path (tests compare the two)
USE_TILES = True


def _tiled(*sizes):
    return USE_TILES and max(sizes) <= _BLAS_INT_MAX and _blas.available()


def _in_blas_single(fn, *args):
    """fn(*args) with BLAS single-threaded (see fastnn._blas)."""
    with _blas.single_threaded():
        return fn(*args)


# numpy.matmul path: outputs per thread below which the fused pass after the product runs on
# the calling thread. BLAS worker threads keep spinning for a while after
# the product returns, so a second fastnn thread must first win a core from
# them: in a loop of layer calls that costs more than the pass itself
# (measured on 2 cores, medians of back-to-back calls, x 4096x256 @ W
# 256x256: ReLU 1.59x the bare product with the pass on 2 threads, 1.11x
# on 1; GELU 1.88x and 1.36x).
EPILOGUE_MIN_PER_THREAD = 1 << 22


def _epilogue_threads(threads, n_outputs):
    return max(1, min(threads, n_outputs // EPILOGUE_MIN_PER_THREAD))


def _run_forward(x, weight, bias, act, prelu_weight, out, preact_out, keep_preact, n_threads):
    x, weight, bias, prelu_weight = _check_layer(x, weight, bias, act, prelu_weight)
    out_shape = x.shape[:-1] + (weight.shape[0],)
    if out is not None:
        out = _check_out("out", out, out_shape, x.dtype)
    separate_preact = keep_preact and not act.saves_output
    if preact_out is not None:
        if not separate_preact:
            raise ValueError(f"preact_out is not used: activation {act.name!r} saves its output")
        preact_out = _check_out("preact_out", preact_out, out_shape, x.dtype)
    check_disjoint(("x", "weight", "bias", "prelu_weight", "out", "preact_out"),
                   (x, weight, bias, prelu_weight, out, preact_out))
    threads = _config.resolve_threads(n_threads)
    flags = _config.kernel_flags()
    if out is None:
        out = np.empty(out_shape, dtype=x.dtype)
    if separate_preact and preact_out is None:
        preact_out = np.empty(out_shape, dtype=x.dtype)
    n = math.prod(x.shape[:-1])
    m, k = weight.shape
    if _tiled(n, k, m):
        _in_blas_single(_k.dense_forward, act.kind, *act.params(), n, k, m, x, weight, bias,
                        prelu_weight, preact_out if separate_preact else None, out, threads,
                        flags)
        return out, (preact_out if separate_preact else out)
    threads = _epilogue_threads(threads, n * m)
    x2 = x.reshape(n, x.shape[-1])
    z = preact_out if separate_preact else out
    np.matmul(x2, weight.T, out=z.reshape(n, m))
    if act.kind != _k.IDENTITY or bias is not None:
        # in place: z ← z + b (kept for backward when separate), out ← act(z)
        _k.act_forward(act.kind, *act.params(), n, m, 1, z, bias, prelu_weight,
                       z if (separate_preact and bias is not None) else None, out,
                       threads, flags)
    return out, (preact_out if separate_preact else out)


def _layer_arrays_ok(dtype, *arrays):
    """Whether every array given (None skipped) is an ndarray of ``dtype`` (so
    native), C-contiguous: what :func:`_forward_layer` and
    :func:`_backward_layer` take as checked."""
    for a in arrays:
        if a is not None and (type(a) is not np.ndarray or a.dtype != dtype
                              or not a.flags.c_contiguous):
            return False
    return True


def _writable(*arrays):
    """Whether every array given (None skipped) may be written; a read-only
    one takes the general path, whose check names it."""
    for a in arrays:
        if a is not None and not a.flags.writeable:
            return False
    return True


# fastnn.nn.Linear's path into the kernels. A layer's training step makes two
# calls per layer with the same arrays every batch (its parameters, its
# workspaces, the previous layer's output); dense_forward/dense_backward
# re-validate each argument at every call, which cost an MLP's epoch at batch
# 128 more Python time than its small layer's products. The layer checks the
# dtype, layout and shapes of its arrays with cheap attribute tests
# (_layer_arrays_ok and shape compares) and calls these; they check what the
# layer cannot know (that no written array overlaps another argument) and make
# the same kernel call as the public functions, so the results are the same bits.


def _forward_layer(act, x, weight, bias, out, preact_out):
    """:func:`dense_forward` on checked arrays: x (..., k), weight (m, k),
    bias (m,) or None, out and preact_out (..., m) (preact_out None exactly
    when ``act`` saves its output), all C-contiguous of one dtype. Returns
    None when the call needs the general path (no tiles)."""
    n = math.prod(x.shape[:-1])
    m, k = weight.shape
    if not _tiled(n, k, m) or (preact_out is None) != act.saves_output \
            or not _writable(out, preact_out):
        return None
    check_disjoint(("x", "weight", "bias", "out", "preact_out"),
                   (x, weight, bias, out, preact_out))
    _in_blas_single(_k.dense_forward, act.kind, *act.params(), n, k, m, x, weight, bias, None,
                    preact_out, out, _config.resolve_threads(None), _config.kernel_flags())
    return out, (out if preact_out is None else preact_out)


def _backward_layer(act, dy, x, weight, saved, grad_input, grad_weight, grad_bias, grad_preact):
    """:func:`dense_backward` on checked arrays (shapes as there, all
    C-contiguous of one dtype; grad_input None skips it, grad_bias None means
    no bias). Returns None when the call needs the general path."""
    n = math.prod(x.shape[:-1])
    m, k = weight.shape
    if not _tiled(n, k, m) or not _writable(grad_input, grad_weight, grad_bias, grad_preact):
        return None
    check_disjoint(("grad_input", "grad_weight", "grad_bias", "grad_preact", "x", "weight",
                    "saved"),
                   (grad_input, grad_weight, grad_bias, grad_preact, x, weight, saved))
    if grad_preact is not dy:  # dz may overwrite grad_output, as in dense_backward
        check_disjoint(("grad_output", "grad_input", "grad_weight", "grad_bias",
                        "grad_preact"), (dy, grad_input, grad_weight, grad_bias, grad_preact))
    _in_blas_single(_k.dense_backward, act.kind, *act.params(), n, k, m, dy, x, weight, saved,
                    act.saves_output, None, grad_preact, grad_input, grad_weight, grad_bias,
                    None, _config.resolve_threads(None), _config.kernel_flags())
    return DenseGrads(grad_input, grad_weight, grad_bias, None)


def dense(x, weight, bias=None, activation="identity", *, negative_slope=0.01, alpha=1.0,
          approximate="none", beta=1.0, threshold=20.0, prelu_weight=None, out=None,
          n_threads=None):
    """Fused dense layer for inference: ``act(x @ weight.T + bias)``.

    Keeps nothing for backward (see :func:`dense_forward` for training).

    Parameters
    ----------
    x : ndarray, shape (..., in_features), float32 or float64
    weight : ndarray, shape (out_features, in_features)
        As ``torch.nn.Linear.weight``.
    bias : ndarray, shape (out_features,), optional
    activation : str
        One of :data:`fastnn.functional.activations.ACTIVATIONS` (default "identity").
    negative_slope, alpha, approximate, beta, threshold : float or str
        The activation's hyperparameters, defaults as in torch.nn
        (see :func:`fastnn.functional.activations.activation`).
    prelu_weight : ndarray, shape (1,) or (out_features,), optional
        PReLU slopes (activation="prelu" only).
    out : ndarray, shape (..., out_features), optional
        Where to write y; allocated if None.
    n_threads : int, optional
        Threads of the tiled product and its fused pass; default
        :func:`fastnn.get_num_threads`. Small products are a single tile
        (one thread).

    Returns
    -------
    ndarray, shape (..., out_features)
    """
    act = _Act(activation, negative_slope, alpha, approximate, beta, threshold)
    y, _ = _run_forward(x, weight, bias, act, prelu_weight, out, None, False, n_threads)
    return y


def dense_forward(x, weight, bias=None, activation="identity", *, negative_slope=0.01,
                  alpha=1.0, approximate="none", beta=1.0, threshold=20.0, prelu_weight=None,
                  out=None, preact_out=None, n_threads=None):
    """Fused dense layer for training: returns the output and what backward needs.

    Parameters
    ----------
    x, weight, bias, activation, negative_slope, alpha, approximate, beta, threshold, \
prelu_weight, out, n_threads
        As in :func:`dense`.
    preact_out : ndarray, shape (..., out_features), optional
        Where to keep the pre-activation z for activations that save it
        (see :func:`dense_saves_output`); allocated if None. Passing it for
        an activation that saves its output is a ValueError.

    Returns
    -------
    y : ndarray, shape (..., out_features)
    saved : ndarray
        ``y`` itself (same object) for activations whose backward uses the
        output, else the pre-activation ``z``. Pass it to :func:`dense_backward`.
    """
    act = _Act(activation, negative_slope, alpha, approximate, beta, threshold)
    return _run_forward(x, weight, bias, act, prelu_weight, out, preact_out, True, n_threads)


def dense_backward(grad_output, x, weight, saved, activation="identity", *, has_bias=True,
                   negative_slope=0.01, alpha=1.0, approximate="none", beta=1.0,
                   threshold=20.0, prelu_weight=None, needs_input_grad=True, grad_input=None,
                   grad_weight=None, grad_bias=None, grad_preact=None, n_threads=None):
    """Backward of :func:`dense_forward`.

    ``dz = grad_output ⊙ act'(·)`` and the bias gradient ``Σ dz`` in one fused
    pass, then ``grad_weight = dzᵀ·x`` and ``grad_input = dz·weight``.

    Parameters
    ----------
    grad_output : ndarray, shape (..., out_features)
    x : ndarray, shape (..., in_features)
        The forward input.
    weight : ndarray, shape (out_features, in_features)
    saved : ndarray, shape (..., out_features)
        The ``saved`` array returned by :func:`dense_forward`.
    activation, negative_slope, alpha, approximate, beta, threshold, prelu_weight
        As given to :func:`dense_forward`.
    has_bias : bool
        Whether the layer has a bias (then grad_bias is computed).
    needs_input_grad : bool
        False skips grad_input (e.g. for the first layer).
    grad_input, grad_weight, grad_bias : ndarray, optional
        Where to write the gradients; allocated if None. Giving grad_input
        with ``needs_input_grad=False``, or grad_bias with
        ``has_bias=False``, is a ValueError.
    grad_preact : ndarray, shape (..., out_features), optional
        Scratch for dz (returned nowhere); may be ``grad_output`` itself to
        overwrite it instead of allocating.
    n_threads : int, optional

    Returns
    -------
    DenseGrads
        (grad_input, grad_weight, grad_bias, grad_prelu_weight); entries not
        computed are None.
    """
    act = _Act(activation, negative_slope, alpha, approximate, beta, threshold)
    x, weight, _, prelu_weight = _check_layer(x, weight, None, act, prelu_weight)
    out_shape = x.shape[:-1] + (weight.shape[0],)
    dy = _check_same_dtype("grad_output", grad_output, x)
    if dy.shape != out_shape:
        raise ValueError(f"grad_output has shape {dy.shape} but x {x.shape} and weight "
                         f"{weight.shape} give outputs of shape {out_shape}")
    saved = _check_same_dtype("saved", saved, x)
    if saved.shape != out_shape:
        raise ValueError(f"saved has shape {saved.shape}, expected {out_shape} "
                         f"(the second result of dense_forward)")
    if grad_preact is not None and grad_preact is not grad_output:
        grad_preact = _check_out("grad_preact", grad_preact, out_shape, x.dtype)
    elif grad_preact is not None:
        grad_preact = _check_out("grad_preact", grad_preact, out_shape, x.dtype)
    if grad_input is not None:
        if not needs_input_grad:
            raise ValueError("grad_input given but needs_input_grad is False (it would not "
                             "be written)")
        grad_input = _check_out("grad_input", grad_input, x.shape, x.dtype)
    if grad_weight is not None:
        grad_weight = _check_out("grad_weight", grad_weight, weight.shape, x.dtype)
    if grad_bias is not None:
        if not has_bias:
            raise ValueError("grad_bias given but has_bias is False")
        grad_bias = _check_out("grad_bias", grad_bias, (weight.shape[0],), x.dtype)
    dy = np.ascontiguousarray(dy)
    saved = np.ascontiguousarray(saved)
    check_disjoint(("grad_input", "grad_weight", "grad_bias", "grad_preact", "x", "weight",
                    "saved", "prelu_weight"),
                   (grad_input, grad_weight, grad_bias, grad_preact, x, weight, saved,
                    prelu_weight))
    if grad_preact is not grad_output:
        check_disjoint(("grad_output", "grad_input", "grad_weight", "grad_bias", "grad_preact"),
                       (dy, grad_input, grad_weight, grad_bias, grad_preact))
    threads = _config.resolve_threads(n_threads)
    flags = _config.kernel_flags()

    n = math.prod(x.shape[:-1])
    m, k = weight.shape
    dz = grad_preact if grad_preact is not None else np.empty(out_shape, dtype=x.dtype)
    if has_bias and grad_bias is None:
        grad_bias = np.empty(m, dtype=x.dtype)
    if not has_bias:
        grad_bias = None
    grad_slope = np.empty_like(prelu_weight) if prelu_weight is not None else None
    if _tiled(n, k, m):
        if grad_weight is None:
            grad_weight = np.empty(weight.shape, dtype=x.dtype)
        if needs_input_grad and grad_input is None:
            grad_input = np.empty(x.shape, dtype=x.dtype)
        if not needs_input_grad:
            grad_input = None
        _in_blas_single(_k.dense_backward, act.kind, *act.params(), n, k, m, dy, x, weight,
                        saved, act.saves_output, prelu_weight, dz, grad_input, grad_weight,
                        grad_bias, grad_slope, threads, flags)
        return DenseGrads(grad_input, grad_weight, grad_bias, grad_slope)
    threads = _epilogue_threads(threads, n * m)
    _k.act_backward(act.kind, *act.params(), n, m, 1, dy, saved, act.saves_output,
                    prelu_weight, dz, grad_bias, grad_slope, threads, flags)
    dz2 = dz.reshape(n, m)
    if grad_weight is None:
        grad_weight = np.empty(weight.shape, dtype=x.dtype)
    np.matmul(dz2.T, x.reshape(n, k), out=grad_weight)
    if needs_input_grad:
        if grad_input is None:
            grad_input = np.empty(x.shape, dtype=x.dtype)
        np.matmul(dz2, weight, out=grad_input.reshape(n, k))
    else:
        grad_input = None
    return DenseGrads(grad_input, grad_weight, grad_bias, grad_slope)
