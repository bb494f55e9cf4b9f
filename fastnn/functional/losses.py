"""Fused losses: the value and its gradient with respect to the input in one call.

Every loss returns ``(loss, grad)``. ``loss`` is a NumPy scalar of the input's
dtype for ``reduction="mean"`` or ``"sum"``, and an array of per-row (or
per-element) losses for ``reduction="none"``. ``grad`` has the input's shape
and is the gradient of the returned value; with ``reduction="none"`` it is
the gradient of the sum of the returned losses (each row's own gradient, the
same as backpropagating ones).

Semantics and defaults follow ``torch.nn.functional``; the formulas are
written out in :mod:`fastnn.reference.losses`. Inputs must be float32 or
float64 NumPy arrays (one dtype per call; non-contiguous inputs are copied),
labels any integer array. ``out`` (the gradient) and ``loss_out`` (per-row
losses, ``reduction="none"`` only) are allocated when None, otherwise they
must be C-contiguous, writable, of the right shape and dtype and must not
share memory with any input. Every argument is checked before anything is
written: a TypeError (types, dtypes) or ValueError (shapes, layout, values)
names the argument. Sums are accumulated in float64 over fixed blocks
combined in a fixed order, so results are bitwise identical for any thread
count.
"""
import math

import numpy as np

from fastnn._ext import losses as _k
from fastnn._validation import (Arrays, as_ndarray, check_array, check_int, check_labels,
                                check_real, out_or_new, run_args)

__all__ = ["softmax_cross_entropy", "cross_entropy", "nll_loss",
           "binary_cross_entropy_with_logits", "mse_loss", "multi_margin_loss", "svm_loss",
           "entropy_penalty"]

_REDUCTIONS = {"none": _k.REDUCTION_NONE, "mean": _k.REDUCTION_MEAN, "sum": _k.REDUCTION_SUM}
_SMOOTHING = {"uniform": _k.SMOOTHING_UNIFORM, "others": _k.SMOOTHING_OTHERS}


# ------------------------------------------------------------ validation

def _check_float(name, a, ndim=None, dtype=None):
    """A read-only float32/float64 input; returned C-contiguous, native, same shape."""
    return check_array(name, a, dtype=dtype, ndim=ndim)


def _check_same(name, a, like):
    return check_array(name, a, like=like)


def _check_reduction(reduction):
    if not isinstance(reduction, str):
        raise TypeError(f"reduction must be a str ('mean', 'sum' or 'none'), "
                        f"got {type(reduction).__name__}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return _REDUCTIONS[reduction]


def _check_ignore_index(value):
    # the kernels take an int64
    return check_int("ignore_index", value, -2**63, 2**63 - 1)


def _check_weight(name, weight, n, dtype):
    if weight is None:
        return None
    return check_array(name, weight, dtype=dtype, shape=(n,))


def _outputs(arrays, x, grad_shape, reduction, n_losses_shape, out, loss_out):
    """Validate or allocate the gradient and the per-row loss array; given
    ones are recorded in ``arrays`` as written."""
    grad = arrays.write("out", out_or_new("out", out, grad_shape, x.dtype))
    loss = None
    if loss_out is not None and reduction != _k.REDUCTION_NONE:
        raise ValueError("loss_out is only used with reduction='none'")
    if reduction == _k.REDUCTION_NONE:
        loss = arrays.write("loss_out", out_or_new("loss_out", loss_out, n_losses_shape,
                                                   x.dtype))
    return grad, loss


def _finish(value, loss, reduction, dtype):
    if reduction == _k.REDUCTION_NONE:
        return loss
    return dtype.type(value)


# ------------------------------------------------------------ losses

def softmax_cross_entropy(logits, target, *, weight=None, ignore_index=-100,
                          label_smoothing=0.0, smoothing="uniform", reduction="mean",
                          check_target=False, out=None, loss_out=None, n_threads=None):
    """Softmax cross-entropy from logits, fused with its gradient.

    One pass per row: log-sum-exp from the row maximum (no overflow or NaN
    for logits of any finite size, e.g. ±1e4 in float32), the loss, and the
    gradient ``softmax(z)·W − w∘q'`` written directly.

    Inputs of shape (N, C, d1, ..., dk) (k >= 1, e.g. per-pixel logits of
    a segmentation, as ``torch.nn.functional.cross_entropy`` takes them)
    are treated as N·d1·…·dk rows of C classes: the classes are moved to
    the last axis (one transposed copy of the logits, and of the gradient
    back), and labels have shape (N, d1, ..., dk), per-row losses too.

    Parameters
    ----------
    logits : ndarray, shape (n_rows, n_classes) or (N, C, d1, ..., dk), float32 or float64
    target : ndarray
        Integer class labels of shape (n_rows,) (or (N, d1, ..., dk)), or
        target probabilities of the logits' shape and dtype. Probability rows are used as given
        (as PyTorch does: rows need not sum to 1); pass ``check_target=True``
        to reject negative entries or rows whose sum is not 1.
    weight : ndarray, shape (n_classes,), optional
        Per-class weights w_c (PyTorch's ``weight``).
    ignore_index : int, default -100
        With labels: rows with this label contribute no loss and no
        gradient, and are left out of the mean's denominator.
    label_smoothing : float in [0, 1), default 0
        ε. Outside [0, 1) raises ValueError.
    smoothing : {"uniform", "others"}, default "uniform"
        "uniform" (PyTorch): q' = (1 − ε)·q + ε/K, i.e. ε spread over all K
        classes. "others" (the lectures' variant): 1 − ε on the true class
        and ε/(K − 1) on each other class, i.e. q' = (1 − ε)·q + ε·(1 − q)/(K − 1);
        needs K >= 2 when ε > 0.
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean" divides by Σ_i w[y_i] over kept rows with labels (PyTorch's
        weighted mean), by n_rows with probabilities; an empty mean is NaN
        with a zero gradient.
    check_target : bool, default False
    out : ndarray, optional
        Gradient buffer, shape of ``logits``.
    loss_out : ndarray, shape (n_rows,) or (N, d1, ..., dk), optional
        Per-row losses (``reduction="none"`` only).
    n_threads : int, optional

    Returns
    -------
    loss : scalar of the logits' dtype, or ndarray (n_rows,) or (N, d1, ..., dk) for "none"
    grad : ndarray, the logits' shape
        Gradient of ``loss`` (of ``loss.sum()`` for "none").

    Notes
    -----
    loss_i = −Σ_c w_c·q'_ic·log softmax(z_i)_c with q the one-hot label or
    the target row; grad_ic = s·(W_i·softmax(z_i)_c − w_c·q'_ic),
    W_i = Σ_c w_c·q'_ic, s the reduction's factor.
    """
    arrays = Arrays()
    z = arrays.read("logits", check_array("logits", logits, min_ndim=2))
    spatial, n_classes, n_rows, rows_shape = _rows_of(z)
    red = _check_reduction(reduction)
    ignore_index = _check_ignore_index(ignore_index)
    eps = check_real("label_smoothing", label_smoothing, 0.0, True, 1.0, False)
    if not isinstance(smoothing, str):
        raise TypeError(f"smoothing must be a str, got {type(smoothing).__name__}")
    if smoothing not in _SMOOTHING:
        raise ValueError(f"smoothing must be 'uniform' or 'others', got {smoothing!r}")
    if smoothing == "others" and eps > 0 and n_classes < 2:
        raise ValueError("smoothing='others' needs at least 2 classes (ε/(K − 1))")
    if n_rows and n_classes == 0:
        raise ValueError("logits has 0 classes")
    target = as_ndarray("target", target)
    if not isinstance(target, np.ndarray):
        raise TypeError(f"target must be a numpy.ndarray (integer labels or probabilities), "
                        f"got {type(target).__name__}")
    labels = probs = None
    if target.dtype.kind in "iu":
        labels = arrays.read("target", check_labels(
            "target", _row_labels("target", target, z, "logits"), n_rows, n_classes,
            ignore_index))
    elif target.dtype.kind == "f":
        probs = arrays.read("target", _check_same("target", target, z))
        if spatial:
            probs = _classes_last(probs)
        if check_target and probs.size:
            if not np.all(probs >= 0):
                i = int(np.flatnonzero((probs >= 0).all(axis=1) == 0)[0])
                raise ValueError(f"target row {i} has negative or NaN entries")
            tol = 1e-4 if z.dtype == np.float32 else 1e-10
            sums = probs.sum(axis=1, dtype=np.float64)
            bad = np.abs(sums - 1.0) > tol * max(1, n_classes)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"target row {i} sums to {sums[i]!r}, not 1")
    else:
        raise TypeError(f"target must have an integer (labels) or float (probabilities) "
                        f"dtype, got {target.dtype}")
    w = arrays.read("weight", _check_weight("weight", weight, n_classes, z.dtype))
    grad, loss = _outputs(arrays, z, z.shape, red, rows_shape, out, loss_out)
    arrays.check()
    value = _on_rows(lambda z_rows, loss_rows, grad_rows: _k.softmax_cross_entropy(
        z_rows, labels, probs, w, ignore_index, eps, _SMOOTHING[smoothing], red, loss_rows,
        grad_rows, *run_args(n_threads)), z, loss, grad)
    return _finish(value, loss, red, z.dtype), grad


def _rows_of(x):
    """The row layout of (N, C) or (N, C, d1, ...) inputs: ``(spatial,
    n_classes, n_rows, rows_shape)``, positions (N, d1, ...) as rows."""
    spatial = x.shape[2:]
    return spatial, x.shape[1], x.shape[0] * math.prod(spatial), (x.shape[0],) + spatial


def _row_labels(name, labels, x, x_name):
    """Integer labels of (N, C, d1, ...) inputs, (N, d1, ...), as one per
    row; those of (N, C) inputs as they are (checked by check_labels)."""
    if x.ndim == 2 or not isinstance(labels, np.ndarray):
        return labels
    rows_shape = (x.shape[0],) + x.shape[2:]
    if labels.shape != rows_shape:
        raise ValueError(f"{name} has shape {labels.shape}, expected {rows_shape} (labels of "
                         f"{x_name} {x.shape} without the class axis 1)")
    return labels.reshape(-1)


def _on_rows(run, x, loss, grad):
    """``run(x_rows, loss_rows, grad_rows)``, a kernel over rows of C
    classes, for (N, C) inputs as they are, and for (N, C, d1, ...) inputs
    on their positions as rows, the gradient moved back to axis 1."""
    if x.ndim == 2:
        return run(x, loss, grad)
    n_classes = x.shape[1]
    rows_shape = (x.shape[0],) + x.shape[2:]
    grad_rows = np.empty((math.prod(rows_shape), n_classes), x.dtype)
    value = run(_classes_last(x), None if loss is None else loss.reshape(-1), grad_rows)
    np.copyto(grad, np.moveaxis(grad_rows.reshape(rows_shape + (n_classes,)), -1, 1))
    return value


def _classes_last(a):
    """(N, C, d...) → C-contiguous (N·d…, C): one row per position."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).reshape(-1, a.shape[1])


cross_entropy = softmax_cross_entropy


def nll_loss(log_probs, labels, *, weight=None, ignore_index=-100, reduction="mean", out=None,
             loss_out=None, n_threads=None):
    """Negative log-likelihood of log-probabilities, with its gradient.

    Inputs of shape (N, C, d1, ..., dk) (k >= 1, per-position
    log-probabilities, as ``torch.nn.functional.nll_loss`` takes them) are
    treated as N·d1·…·dk rows of C classes, with labels and per-row losses
    of shape (N, d1, ..., dk), as in :func:`softmax_cross_entropy`.

    Parameters
    ----------
    log_probs : ndarray, shape (n_rows, n_classes) or (N, C, d1, ..., dk), float32 or float64
        Log-probabilities (e.g. a log-softmax output).
    labels : ndarray of int, shape (n_rows,) or (N, d1, ..., dk)
        In [0, n_classes) or equal to ``ignore_index``.
    weight : ndarray, shape (n_classes,), optional
    ignore_index : int, default -100
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean" divides by Σ_i w[y_i] over kept rows (PyTorch).
    out, loss_out, n_threads : see :func:`softmax_cross_entropy`

    Returns
    -------
    loss, grad
        loss_i = −w[y_i]·x[i, y_i]; grad is −s·w[y_i] at (i, y_i), 0 elsewhere.
    """
    arrays = Arrays()
    x = arrays.read("log_probs", _check_float("log_probs", log_probs))
    if x.ndim < 2:
        raise ValueError(f"log_probs must be (n_rows, n_classes) or (N, C, d1, ...), got shape "
                         f"{x.shape}")
    spatial, n_classes, n_rows, rows_shape = _rows_of(x)
    red = _check_reduction(reduction)
    ignore_index = _check_ignore_index(ignore_index)
    if spatial:
        labels = _row_labels("labels", as_ndarray("labels", labels), x, "log_probs")
    y = arrays.read("labels", check_labels("labels", labels, n_rows, n_classes, ignore_index))
    w = arrays.read("weight", _check_weight("weight", weight, n_classes, x.dtype))
    grad, loss = _outputs(arrays, x, x.shape, red, rows_shape, out, loss_out)
    arrays.check()
    value = _on_rows(lambda x_rows, loss_rows, grad_rows: _k.nll_loss(
        x_rows, y, w, ignore_index, red, loss_rows, grad_rows, *run_args(n_threads)),
        x, loss, grad)
    return _finish(value, loss, red, x.dtype), grad


def _check_bce_weights(weight, pos_weight, x, arrays):
    """``weight`` and ``pos_weight`` broadcast to the logits' shape (NumPy's
    rules, as torch does), given to the kernel as one period: the values
    over the trailing axes x.shape[k:] from the first axis k along which
    either varies, tiled to at least 256 values so the inner loops stay long.
    Returns (w, pw, period); a size-1 weight is a scalar whatever its shape."""
    checked = []
    for name, a in (("weight", weight), ("pos_weight", pos_weight)):
        if a is None:
            checked.append(None)
            continue
        a = arrays.read(name, _check_float(name, a, dtype=x.dtype))
        if a.size == 1:
            a = a.reshape(())
        else:
            try:
                shape = np.broadcast_shapes(a.shape, x.shape)
            except ValueError:
                shape = None
            if shape != x.shape:
                raise ValueError(f"{name} has shape {a.shape}, which does not broadcast to the "
                                 f"logits' shape {x.shape}")
        checked.append(a)
    if all(a is None for a in checked):
        return None, None, 0
    # first axis of x along which a weight varies (aligned from the right)
    k = x.ndim
    for a in checked:
        if a is not None:
            for j, d in enumerate(a.shape):
                if d != 1:
                    k = min(k, x.ndim - a.ndim + j)
                    break
    tail = x.shape[k:]
    c = math.prod(tail)
    reps = max(1, -(-256 // max(c, 1)))
    out = []
    for a in checked:
        if a is None:
            out.append(None)
            continue
        # drop the leading size-1 axes beyond the tail, then broadcast over it
        a = a.reshape(a.shape[max(0, a.ndim - len(tail)):]) if a.ndim > len(tail) else a
        period = np.broadcast_to(a, tail).reshape(-1)
        out.append(np.ascontiguousarray(np.tile(period, reps)))
    return out[0], out[1], c * reps


def binary_cross_entropy_with_logits(logits, target, *, weight=None, pos_weight=None,
                                     reduction="mean", out=None, loss_out=None, n_threads=None):
    """Binary cross-entropy on logits (sigmoid fused), elementwise, with its gradient.

    Parameters
    ----------
    logits : ndarray, float32 or float64, any shape
    target : ndarray, same shape and dtype
        Targets y, usually in [0, 1] (not checked, as in PyTorch).
    weight : ndarray, optional
        Rescaling weight of each element, of any shape that broadcasts to
        the logits' shape (NumPy's rules, as torch: (C,) per position of the
        last axis, (C, 1, 1) per channel of (N, C, H, W) logits, (N, 1) per
        sample, ...). A single value is a scalar.
    pos_weight : ndarray, optional
        Weight of the positive term (PyTorch's ``pos_weight``), any shape
        that broadcasts to the logits' shape.
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean" averages over all elements.
    out, loss_out, n_threads : see :func:`softmax_cross_entropy`
        ``loss_out`` has the logits' shape.

    Returns
    -------
    loss, grad
        With lw = 1 + (p − 1)·y: loss = w·[(1 − y)·x + lw·log(1 + e^−x)],
        grad = s·w·[(1 − y) − lw·(1 − σ(x))], computed without overflow.
    """
    arrays = Arrays()
    x = arrays.read("logits", _check_float("logits", logits))
    y = arrays.read("target", _check_same("target", target, x))
    red = _check_reduction(reduction)
    w, pw, period = _check_bce_weights(weight, pos_weight, x, arrays)
    grad, loss = _outputs(arrays, x, x.shape, red, x.shape, out, loss_out)
    arrays.check()
    value = _k.bce_with_logits(x, y, w, pw, period, red, loss, grad, *run_args(n_threads))
    return _finish(value, loss, red, x.dtype), grad


def mse_loss(input, target, *, reduction="mean", out=None, loss_out=None, n_threads=None):
    """Mean squared error (x − y)², elementwise, with its gradient.

    Parameters
    ----------
    input, target : ndarray, same shape, float32 or float64
    reduction : {"mean", "sum", "none"}, default "mean"
    out, loss_out, n_threads : see :func:`softmax_cross_entropy`

    Returns
    -------
    loss, grad
        grad = 2·s·(x − y), s = 1/n for the mean.
    """
    arrays = Arrays()
    x = arrays.read("input", _check_float("input", input))
    y = arrays.read("target", _check_same("target", target, x))
    red = _check_reduction(reduction)
    grad, loss = _outputs(arrays, x, x.shape, red, x.shape, out, loss_out)
    arrays.check()
    value = _k.mse_loss(x, y, red, loss, grad, *run_args(n_threads))
    return _finish(value, loss, red, x.dtype), grad


def _margin(name, input, labels, p, margin, weight, reduction, divide, out, loss_out,
            n_threads):
    arrays = Arrays()
    x = arrays.read(name, _check_float(name, input, ndim=2))
    n_rows, n_classes = x.shape
    red = _check_reduction(reduction)
    p = check_int("p", p)
    if p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p}")
    margin = check_real("margin", margin)
    y = arrays.read("labels", check_labels("labels", labels, n_rows, n_classes))
    w = arrays.read("weight", _check_weight("weight", weight, n_classes, x.dtype))
    grad, loss = _outputs(arrays, x, x.shape, red, (n_rows,), out, loss_out)
    arrays.check()
    value = _k.multi_margin_loss(x, y, w, p, margin, divide, red, loss, grad,
                                 *run_args(n_threads))
    return _finish(value, loss, red, x.dtype), grad


def multi_margin_loss(input, labels, *, p=1, margin=1.0, weight=None, reduction="mean",
                      out=None, loss_out=None, n_threads=None):
    """Multiclass hinge loss (PyTorch's MultiMarginLoss), with its gradient.

    loss_i = Σ_{j≠y_i} w[y_i]·max(0, margin − x[i, y_i] + x[i, j])^p / n_classes

    Parameters
    ----------
    input : ndarray, shape (n_rows, n_classes)
    labels : ndarray of int, shape (n_rows,), in [0, n_classes)
    p : {1, 2}, default 1
    margin : float, default 1.0
    weight : ndarray, shape (n_classes,), optional
    reduction : {"mean", "sum", "none"}, default "mean" (divides by n_rows)
    out, loss_out, n_threads : see :func:`softmax_cross_entropy`

    Returns
    -------
    loss, grad
    """
    return _margin("input", input, labels, p, margin, weight, reduction, True, out, loss_out,
                   n_threads)


def svm_loss(scores, labels, *, margin=1.0, reduction="mean", out=None, loss_out=None,
             n_threads=None):
    """The multiclass SVM loss of the lectures, with its gradient.

    L_i = Σ_{j≠y_i} max(0, s_ij − s_iy_i + margin), margin 1 by default: the
    multi-margin loss with p = 1, not divided by the number of classes.

    Parameters
    ----------
    scores : ndarray, shape (n_rows, n_classes)
    labels : ndarray of int, shape (n_rows,), in [0, n_classes)
    margin : float, default 1.0
    reduction : {"mean", "sum", "none"}, default "mean" (divides by n_rows)
    out, loss_out, n_threads : see :func:`softmax_cross_entropy`

    Returns
    -------
    loss, grad
    """
    return _margin("scores", scores, labels, 1, margin, None, reduction, False, out, loss_out,
                   n_threads)


def entropy_penalty(logits, *, reduction="mean", out=None, loss_out=None, n_threads=None):
    """Entropy regularizer on the predicted distributions softmax(logits).

    Returns the negative entropy −H(p_i) = Σ_c p_ic·log p_ic per row, which
    is largest for confident (low-entropy) predictions: adding β times it to
    a loss penalizes low entropy (a confidence penalty).

    Parameters
    ----------
    logits : ndarray, shape (n_rows, n_classes), n_classes >= 1
    reduction : {"mean", "sum", "none"}, default "mean" (divides by n_rows)
    out, loss_out, n_threads : see :func:`softmax_cross_entropy`

    Returns
    -------
    penalty, grad
        d(−H)/dz_c = p_c·(log p_c + H).
    """
    arrays = Arrays()
    z = arrays.read("logits", _check_float("logits", logits, ndim=2))
    n_rows, n_classes = z.shape
    if n_rows and n_classes == 0:
        raise ValueError("logits has 0 classes")
    red = _check_reduction(reduction)
    grad, loss = _outputs(arrays, z, z.shape, red, (n_rows,), out, loss_out)
    arrays.check()
    value = _k.entropy_penalty(z, red, loss, grad, *run_args(n_threads))
    return _finish(value, loss, red, z.dtype), grad
