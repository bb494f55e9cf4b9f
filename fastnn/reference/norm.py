"""NumPy references of the normalization kernels.

Written for clarity: every statistic is computed in float64 (two passes:
the mean, then the mean squared deviation), and the results are cast back
to the input's dtype. Shapes follow PyTorch: BatchNorm and GroupNorm take
(N, C, *) with the channels on axis 1 (or last with ``channels_last``);
LayerNorm normalizes over the trailing ``normalized_shape``.

Notation: μ and σ² are the mean and the biased variance over the reduced
axes, r = 1/√(σ² + ε), x̂ = (x − μ)·r, and y = γ·x̂ + β.
"""
import numpy as np

__all__ = ["batch_norm", "batch_norm_backward", "layer_norm", "layer_norm_backward",
           "group_norm", "group_norm_backward", "standardize_stats"]


def _channel_axes(x, channels_last):
    """x viewed as (N, C, S): channels on axis 1 (or the last axis if channels_last)."""
    if channels_last:
        c = x.shape[-1]
        x3 = x.reshape(-1, c, 1)
    else:
        x3 = x.reshape(x.shape[0], x.shape[1], -1)
    return x3


def batch_norm(x, gamma=None, beta=None, running_mean=None, running_var=None, *, training=True,
               momentum=0.1, eps=1e-5, relu=False, num_batches_tracked=None,
               channels_last=False):
    """BatchNorm forward; running statistics are updated in place.

    Training:   μ_c = mean(x[:, c]),  σ²_c = mean((x[:, c] − μ_c)²),  r_c = 1/√(σ²_c + ε)
                running_mean ← (1 − m)·running_mean + m·μ
                running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)     (M values per channel)
                m = momentum, or 1/k for the k-th batch when momentum is None
    Inference:  μ = running_mean, r = 1/√(running_var + ε)
    Both:       y = γ·(x − μ)·r + β, then max(y, 0) if relu

    Returns (y, μ, r) with μ and r as float64 arrays of shape (C,).
    """
    dtype = x.dtype
    x3 = _channel_axes(x, channels_last).astype(np.float64)
    c = x3.shape[1]
    g = np.ones(c) if gamma is None else gamma.astype(np.float64)
    b = np.zeros(c) if beta is None else beta.astype(np.float64)
    if training:
        mean = x3.mean(axis=(0, 2))
        var = ((x3 - mean[None, :, None]) ** 2).mean(axis=(0, 2))
        count = x3.shape[0] * x3.shape[2]
        if running_mean is not None:
            if num_batches_tracked is not None:
                num_batches_tracked += 1
            m = momentum if momentum is not None else 1.0 / float(num_batches_tracked)
            running_mean[...] = (1 - m) * running_mean.astype(np.float64) + m * mean
            running_var[...] = ((1 - m) * running_var.astype(np.float64)
                                + m * var * count / (count - 1))
    else:
        mean = running_mean.astype(np.float64)
        var = running_var.astype(np.float64)
    rstd = 1.0 / np.sqrt(var + eps)
    y = (x3 - mean[None, :, None]) * (g * rstd)[None, :, None] + b[None, :, None]
    if relu:
        y = np.maximum(y, 0.0)
    return y.reshape(x.shape).astype(dtype), mean, rstd


def batch_norm_backward(dy, x, mean, rstd, gamma=None, beta=None, *, training=True, relu=False,
                        channels_last=False):
    """BatchNorm backward from the forward's saved μ and r (M values per channel):

        g    = dy, or dy·[γ·x̂ + β > 0] with relu
        dβ   = Σ g                  dγ = Σ g·x̂
        training:   dx = γ·r·(g − dβ/M − x̂·dγ/M)
        inference:  dx = γ·r·g        (μ and r are constants)

    Returns (dx, dγ, dβ); dγ and dβ are None when γ, β are None.
    """
    dtype = x.dtype
    x3 = _channel_axes(x, channels_last).astype(np.float64)
    g3 = _channel_axes(dy, channels_last).astype(np.float64)
    c = x3.shape[1]
    w = np.ones(c) if gamma is None else gamma.astype(np.float64)
    b = np.zeros(c) if beta is None else beta.astype(np.float64)
    xhat = (x3 - mean[None, :, None]) * rstd[None, :, None]
    if relu:
        g3 = np.where(xhat * w[None, :, None] + b[None, :, None] > 0, g3, 0.0)
    dbeta = g3.sum(axis=(0, 2))
    dgamma = (g3 * xhat).sum(axis=(0, 2))
    if training:
        count = x3.shape[0] * x3.shape[2]
        dx = (w * rstd)[None, :, None] * (g3 - dbeta[None, :, None] / count
                                          - xhat * dgamma[None, :, None] / count)
    else:
        dx = (w * rstd)[None, :, None] * g3
    return (dx.reshape(x.shape).astype(dtype),
            None if gamma is None else dgamma.astype(dtype),
            None if beta is None else dbeta.astype(dtype))


def _rows(x, normalized_shape):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    d = int(np.prod(normalized_shape))
    return x.reshape(-1, d).astype(np.float64), tuple(normalized_shape)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """LayerNorm over the trailing ``normalized_shape`` dimensions of each row:

        μ = mean(x_row),  σ² = mean((x_row − μ)²),  r = 1/√(σ² + ε)
        y = (x − μ)·r·w + b

    Returns (y, μ, r) with μ, r float64 of shape x.shape[:-k].
    """
    x2, shape = _rows(x, normalized_shape)
    mean = x2.mean(axis=1)
    var = ((x2 - mean[:, None]) ** 2).mean(axis=1)
    rstd = 1.0 / np.sqrt(var + eps)
    y = (x2 - mean[:, None]) * rstd[:, None]
    if weight is not None:
        y = y * weight.reshape(-1).astype(np.float64)
    if bias is not None:
        y = y + bias.reshape(-1).astype(np.float64)
    lead = x.shape[:x.ndim - len(shape)]
    return y.reshape(x.shape).astype(x.dtype), mean.reshape(lead), rstd.reshape(lead)


def layer_norm_backward(dy, x, mean, rstd, normalized_shape, weight=None, bias=None):
    """LayerNorm backward (D elements per row, h = dy·w):

        dx = r·(h − mean(h) − x̂·mean(h·x̂))
        dw = Σ_rows dy·x̂      db = Σ_rows dy

    Returns (dx, dw, db); dw, db are None without weight, bias.
    """
    x2, shape = _rows(x, normalized_shape)
    g2 = dy.reshape(x2.shape).astype(np.float64)
    mean = mean.reshape(-1)
    rstd = rstd.reshape(-1)
    xhat = (x2 - mean[:, None]) * rstd[:, None]
    h = g2 * weight.reshape(-1).astype(np.float64) if weight is not None else g2
    dx = rstd[:, None] * (h - h.mean(axis=1, keepdims=True)
                          - xhat * (h * xhat).mean(axis=1, keepdims=True))
    dw = (g2 * xhat).sum(axis=0).reshape(shape).astype(x.dtype)
    db = g2.sum(axis=0).reshape(shape).astype(x.dtype)
    return (dx.reshape(x.shape).astype(x.dtype), dw if weight is not None else None,
            db if bias is not None else None)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """GroupNorm: the C channels of each sample split into G groups of C/G;
    each (sample, group) is normalized over its C/G·S values, then

        y[n, c] = x̂[n, c]·w[c] + b[c]

    Returns (y, μ, r) with μ, r float64 of shape (N, G).
    """
    n, c = x.shape[0], x.shape[1]
    xg = x.reshape(n, num_groups, -1).astype(np.float64)
    mean = xg.mean(axis=2)
    var = ((xg - mean[:, :, None]) ** 2).mean(axis=2)
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = ((xg - mean[:, :, None]) * rstd[:, :, None]).reshape(n, c, -1)
    w = np.ones(c) if weight is None else weight.astype(np.float64)
    b = np.zeros(c) if bias is None else bias.astype(np.float64)
    y = xhat * w[None, :, None] + b[None, :, None]
    return y.reshape(x.shape).astype(x.dtype), mean, rstd


def group_norm_backward(dy, x, mean, rstd, num_groups, weight=None, bias=None):
    """GroupNorm backward (D = C/G·S values per group, h = dy·w[c]):

        dx = r·(h − mean_group(h) − x̂·mean_group(h·x̂))
        dw[c] = Σ_{n, s} dy·x̂      db[c] = Σ_{n, s} dy
    """
    n, c = x.shape[0], x.shape[1]
    x3 = x.reshape(n, c, -1).astype(np.float64)
    g3 = dy.reshape(n, c, -1).astype(np.float64)
    cpg = c // num_groups
    m = np.repeat(mean, cpg, axis=1)[:, :, None]
    r = np.repeat(rstd, cpg, axis=1)[:, :, None]
    xhat = (x3 - m) * r
    w = np.ones(c) if weight is None else weight.astype(np.float64)
    h = g3 * w[None, :, None]
    hg = h.reshape(n, num_groups, -1)
    xg = xhat.reshape(n, num_groups, -1)
    dxg = (hg - hg.mean(axis=2, keepdims=True)
           - xg * (hg * xg).mean(axis=2, keepdims=True)) * rstd[:, :, None]
    dw = (g3 * xhat).sum(axis=(0, 2)).astype(x.dtype)
    db = g3.sum(axis=(0, 2)).astype(x.dtype)
    return (dxg.reshape(x.shape).astype(x.dtype), dw if weight is not None else None,
            db if bias is not None else None)


def standardize_stats(x):
    """Per-feature mean and standard deviation (ddof = 0) over axis 0 and any
    axes after 1: x of shape (N, F) or (N, F, *). Returns float64 arrays (F,)."""
    x3 = x.reshape(x.shape[0], x.shape[1], -1).astype(np.float64)
    mean = x3.mean(axis=(0, 2))
    std = np.sqrt(((x3 - mean[None, :, None]) ** 2).mean(axis=(0, 2)))
    return mean, std
