"""NumPy references of the losses and weight penalties.

Each function returns ``(loss, grad)`` like its fastnn kernel: ``loss`` reduced
by ``reduction`` ("mean", "sum" or "none"), ``grad`` the gradient of the
returned value (of the sum of the per-row losses for "none"). Written for
clarity, with the formula in the docstring; semantics follow
``torch.nn.functional``. Computation is in the inputs' dtype except where a
float64 sum is noted.
"""
import numpy as np

__all__ = ["softmax_cross_entropy", "cross_entropy_nd", "nll_loss",
           "binary_cross_entropy_with_logits", "mse_loss",
           "multi_margin_loss", "svm_loss", "entropy_penalty", "l1l2_penalty", "log_softmax"]


def log_softmax(z):
    """log softmax(z) along the last axis: z − max − log Σ exp(z − max)."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _reduce(per_row, denom, reduction, dtype):
    if reduction == "none":
        return per_row.astype(dtype)
    total = per_row.sum(dtype=np.float64)
    if reduction == "sum":
        return dtype.type(total)
    return dtype.type(total / denom) if denom != 0 else dtype.type(np.nan)


def _scale(reduction, denom):
    if reduction != "mean":
        return 1.0
    return 1.0 / denom if denom != 0 else 0.0


def smoothed_target(n_classes, labels=None, target=None, label_smoothing=0.0,
                    smoothing="uniform", dtype=np.float64):
    """q' from one-hot labels or probabilities q.

    uniform: q' = (1 − ε)·q + ε/K;  others: q' = (1 − ε)·q + ε·(1 − q)/(K − 1).
    """
    if target is None:
        q = np.zeros((len(labels), n_classes), dtype=dtype)
        keep = (labels >= 0) & (labels < n_classes)
        q[np.flatnonzero(keep), labels[keep]] = 1
    else:
        q = target.astype(dtype)
    eps = label_smoothing
    if smoothing == "uniform":
        return (1 - eps) * q + eps / n_classes
    if eps == 0:
        return q
    return (1 - eps) * q + eps * (1 - q) / (n_classes - 1)


def softmax_cross_entropy(logits, target, *, weight=None, ignore_index=-100,
                          label_smoothing=0.0, smoothing="uniform", reduction="mean"):
    """Softmax cross-entropy from logits.

    loss_i = −Σ_c w_c·q'_ic·log softmax(z_i)_c
    grad_ic = s·(W_i·softmax(z_i)_c − w_c·q'_ic),  W_i = Σ_c w_c·q'_ic

    q' is the smoothed target (see :func:`smoothed_target`). With labels,
    rows labelled ``ignore_index`` contribute nothing and the mean divides by
    Σ_i w[y_i] over the other rows; with probabilities it divides by n_rows.
    s is that reciprocal for "mean" and 1 otherwise.

    Logits of shape (N, C, d1, ...) go to :func:`cross_entropy_nd`.
    """
    if logits.ndim > 2:
        return cross_entropy_nd(logits, target, weight=weight, ignore_index=ignore_index,
                                label_smoothing=label_smoothing, reduction=reduction)
    z = logits
    n, k = z.shape
    dtype = z.dtype
    w = np.ones(k, dtype=dtype) if weight is None else weight
    if target.dtype.kind in "iu":
        keep = target != ignore_index
        q = smoothed_target(k, labels=np.where(keep, target, 0), label_smoothing=label_smoothing,
                            smoothing=smoothing, dtype=dtype)
        q[~keep] = 0
        denom = float(w[target[keep]].astype(np.float64).sum())
    else:
        q = smoothed_target(k, target=target, label_smoothing=label_smoothing,
                            smoothing=smoothing, dtype=dtype)
        denom = float(n)
    logp = log_softmax(z)
    wq = w * q
    per_row = -(wq * logp).sum(axis=1)
    s = dtype.type(_scale(reduction, denom))
    grad = s * (wq.sum(axis=1, keepdims=True) * np.exp(logp) - wq)
    return _reduce(per_row, denom, reduction, dtype), grad.astype(dtype)


def cross_entropy_nd(logits, target, *, weight=None, ignore_index=-100, label_smoothing=0.0,
                     reduction="mean"):
    """Cross-entropy of logits (N, C, d1, ..., dk) along the class axis 1
    (torch's K-dimensional case), written directly on that axis.

    With labels y (N, d1, ...): q = one-hot of y on axis 1 (zero where
    y = ignore_index), q' = (1 − ε)·q + ε/C at kept positions;
    loss[n, d] = −Σ_c w_c·q'[n, c, d]·log softmax(z[n, :, d])_c, and the
    mean divides by Σ w[y] over kept positions. With probabilities
    (N, C, d...) the mean divides by N·d1·…·dk. grad as in
    :func:`softmax_cross_entropy`, along axis 1.
    """
    z = logits
    dtype = z.dtype
    c = z.shape[1]
    bshape = (1, c) + (1,) * (z.ndim - 2)
    w = (np.ones(c, dtype=dtype) if weight is None else weight).reshape(bshape)
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    eps = dtype.type(label_smoothing)
    if target.dtype.kind in "iu":
        keep = target != ignore_index
        y = np.where(keep, target, 0)
        q = (np.arange(c).reshape(bshape) == y[:, None]).astype(dtype)
        q = (1 - eps) * q + eps / c
        q = q * keep[:, None]
        denom = float((w.reshape(-1)[y] * keep).astype(np.float64).sum())
    else:
        q = (1 - eps) * target.astype(dtype) + eps / c
        denom = float(target.size // c) if c else 0.0
    wq = w * q
    per = -(wq * logp).sum(axis=1)
    s = dtype.type(_scale(reduction, denom))
    grad = s * (wq.sum(axis=1, keepdims=True) * np.exp(logp) - wq)
    return _reduce(per, denom, reduction, dtype), grad.astype(dtype)


def nll_loss(log_probs, labels, *, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood: loss_i = −w[y_i]·x[i, y_i] (0 for ignored rows).

    grad is −s·w[y_i] at (i, y_i) and 0 elsewhere; the mean divides by
    Σ_i w[y_i] over kept rows.
    """
    x = log_probs
    n, k = x.shape
    dtype = x.dtype
    w = np.ones(k, dtype=dtype) if weight is None else weight
    keep = labels != ignore_index
    rows = np.flatnonzero(keep)
    y = labels[keep]
    per_row = np.zeros(n, dtype=dtype)
    per_row[rows] = -w[y] * x[rows, y]
    denom = float(w[y].astype(np.float64).sum())
    grad = np.zeros_like(x)
    grad[rows, y] = -dtype.type(_scale(reduction, denom)) * w[y]
    return _reduce(per_row, denom, reduction, dtype), grad


def binary_cross_entropy_with_logits(logits, target, *, weight=None, pos_weight=None,
                                     reduction="mean"):
    """Binary cross-entropy with logits, elementwise.

    loss = w·[(1 − y)·x + lw·(log(1 + exp(−|x|)) + max(−x, 0))],  lw = 1 + (p − 1)·y
    grad = s·w·[(1 − y) − lw·(1 − σ(x))]

    w = weight and p = pos_weight broadcast to x's shape by NumPy's rules
    (1 if None); s = 1/x.size for "mean".
    """
    x, y = logits, target
    dtype = x.dtype
    one = dtype.type(1)
    lw = one if pos_weight is None else one + (pos_weight - one) * y
    softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
    loss = (one - y) * x + lw * softplus_neg
    e = np.exp(-np.abs(x))
    sigmoid = np.where(x >= 0, one / (one + e), e / (one + e))
    d = (one - y) - lw * (one - sigmoid)
    if weight is not None:
        loss = weight * loss
        d = weight * d
    s = dtype.type(_scale(reduction, x.size))
    return _reduce(loss, x.size, reduction, dtype), (s * d).astype(dtype)


def mse_loss(input, target, *, reduction="mean"):
    """Mean squared error: loss = (x − y)², grad = 2·s·(x − y), s = 1/n for "mean"."""
    d = input - target
    s = input.dtype.type(_scale(reduction, input.size))
    return _reduce(d * d, input.size, reduction, input.dtype), (2 * s * d).astype(input.dtype)


def multi_margin_loss(input, labels, *, p=1, margin=1.0, weight=None, reduction="mean",
                      divide_by_classes=True):
    """Multiclass hinge (PyTorch's MultiMarginLoss).

    h_ij = margin − x[i, y_i] + x[i, j]
    loss_i = Σ_{j≠y_i} w[y_i]·max(0, h_ij)^p / K      (K = n_classes, or 1 if not divide_by_classes)
    grad_ij = s·w[y_i]·p·max(0, h_ij)^(p−1)·[h_ij > 0] / K for j ≠ y_i,
    grad_iy_i = −Σ_{j≠y_i} grad_ij;  the mean divides by n_rows.
    """
    x = input
    n, k = x.shape
    dtype = x.dtype
    rows = np.arange(n)
    wy = np.ones(n, dtype=dtype) if weight is None else weight[labels]
    div = dtype.type(k if divide_by_classes else 1)
    h = dtype.type(margin) - x[rows, labels][:, None] + x
    pos = np.maximum(h, 0)
    pos[rows, labels] = 0
    per_row = wy * (pos ** p).sum(axis=1) / div
    s = dtype.type(_scale(reduction, n))
    if p == 1:
        g = np.where(pos > 0, dtype.type(1), dtype.type(0))
    else:
        g = 2 * pos
    g = (s * wy / div)[:, None] * g
    g[rows, labels] = 0
    g[rows, labels] = -g.sum(axis=1)
    return _reduce(per_row, n, reduction, dtype), g.astype(dtype)


def svm_loss(scores, labels, *, margin=1.0, reduction="mean"):
    """The lectures' multiclass SVM loss L_i = Σ_{j≠y_i} max(0, s_ij − s_iy_i + margin)."""
    return multi_margin_loss(scores, labels, p=1, margin=margin, reduction=reduction,
                             divide_by_classes=False)


def entropy_penalty(logits, *, reduction="mean"):
    """Negative entropy of softmax(logits): −H_i = Σ_c p_ic·log p_ic.

    grad_ic = s·p_ic·(log p_ic + H_i); the mean divides by n_rows. A class of
    probability 0 (a −∞ logit) adds 0·log 0 = 0 and has a zero gradient.
    """
    logp = log_softmax(logits)
    p = np.exp(logp)
    zero = p == 0
    with np.errstate(invalid="ignore"):  # 0·(−∞), replaced by 0
        neg_h = np.where(zero, 0, p * logp).sum(axis=1)
        s = logits.dtype.type(_scale(reduction, logits.shape[0]))
        grad = np.where(zero, 0, s * p * (logp - neg_h[:, None]))
    return _reduce(neg_h, logits.shape[0], reduction, logits.dtype), grad.astype(logits.dtype)


def l1l2_penalty(w, l1=0.0, l2=0.0, *, grad=None, scale=1.0):
    """Elastic-net penalty (Keras's L1L2): scale·(l1·Σ|w| + l2·Σw²).

    When ``grad`` is given it is updated in place:
    grad ← grad + scale·(l1·sign(w) + 2·l2·w). Returns the penalty (float).
    """
    value = scale * (l1 * np.abs(w).sum(dtype=np.float64)
                     + l2 * np.square(w.astype(np.float64)).sum())
    if grad is not None:
        dtype = w.dtype.type
        grad += dtype(scale * l1) * np.sign(w) + 2 * dtype(scale * l2) * w
    return float(value)
