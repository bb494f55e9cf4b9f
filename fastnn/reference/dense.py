"""Plain-NumPy references of the activations and the dense layer.

Written for clarity, one NumPy expression per formula (erf and erfc come
from scipy.special, which NumPy lacks). Float32 inputs are computed in
float32 like the kernels, so these are also the baselines the benchmarks
time. Formulas follow torch.nn.
"""
import numpy as np


def _special():
    """scipy.special, imported at first use: it takes 0.2 s that ``import
    fastnn`` need not pay."""
    from scipy import special
    return special


__all__ = ["ref_activation", "ref_activation_backward", "ref_dense_forward",
           "ref_dense_backward"]

_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)


def ref_activation(x, name, negative_slope=0.01, alpha=1.0, approximate="none", beta=1.0,
                   threshold=20.0, weight=None):
    """act(x) for every activation of :mod:`fastnn.functional.activations`.

    - identity: x
    - relu: max(x, 0)
    - leaky_relu: x if x > 0 else negative_slope·x
    - prelu: x if x > 0 else w[c]·x (c = axis 1)
    - elu: x if x > 0 else alpha·(exp(x) − 1)
    - gelu: x·Φ(x) = x·erfc(−x/√2)/2; approximate="tanh":
      x·(1 + tanh(u))/2 = x·σ(2u), u = √(2/π)·(x + 0.044715·x³)
    - silu / swish: x·σ(x),  σ(x) = 1/(1 + exp(−x))
    - sigmoid: σ(x)
    - tanh: tanh(x)
    - softplus: log(1 + exp(beta·x))/beta, or x where beta·x > threshold
    """
    dt = x.dtype.type
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if name == "identity":
            return x.copy()
        if name == "relu":
            return np.maximum(x, dt(0))  # NaN stays NaN
        if name == "leaky_relu":
            return np.where(x > 0, x, x * dt(negative_slope))
        if name == "prelu":
            w = _channel_view(weight, x)
            return np.where(x > 0, x, x * w)
        if name == "elu":
            return np.where(x > 0, x, dt(alpha) * np.expm1(np.minimum(x, 0)))
        if name == "gelu":
            if approximate == "tanh":
                # (1 + tanh u)/2 = σ(2u), without the cancellation for x << 0
                inner = dt(_SQRT_2_OVER_PI) * (x + dt(0.044715) * x ** 3)
                return x * _special().expit(dt(2) * inner)
            return x * _special().erfc(-x / dt(np.sqrt(2.0))) * dt(0.5)
        if name in ("silu", "swish"):
            return x * _special().expit(x)
        if name == "sigmoid":
            return _special().expit(x)
        if name == "tanh":
            return np.tanh(x)
        if name == "softplus":
            bx = x * dt(beta)
            soft = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / dt(beta)
            return np.where(bx > threshold, x, soft)
    raise ValueError(f"unknown activation {name!r}")


def _channel_view(weight, x):
    w = np.asarray(weight, dtype=x.dtype)
    if w.size == 1 or x.ndim < 2:
        return w.reshape(())
    return w.reshape((1, -1) + (1,) * (x.ndim - 2))


def ref_activation_backward(grad_output, x, name, negative_slope=0.01, alpha=1.0,
                            approximate="none", beta=1.0, threshold=20.0, weight=None):
    """grad_output ⊙ act'(x), from the input x.

    - relu: [x > 0];  leaky_relu: 1 or negative_slope;  prelu: 1 or w[c],
      and d/dw[c] = Σ grad_output·x·[x <= 0] over the elements of channel c
    - elu: 1 or alpha·exp(x)
    - gelu: Φ(x) + x·φ(x),  φ(x) = exp(−x²/2)/√(2π)
    - gelu tanh: (1 + t)/2 + x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)/2,
      t = tanh(√(2/π)(x + 0.044715x³))
    - silu: σ(x)·(1 + x·(1 − σ(x)));  sigmoid: σ(1 − σ);  tanh: 1 − tanh² = sech²
    - softplus: σ(beta·x), or 1 where beta·x > threshold

    Returns grad_input, and for prelu (grad_input, grad_weight).
    """
    dt = x.dtype.type
    g = grad_output
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if name == "identity":
            d = np.ones_like(x)
        elif name == "relu":
            d = (x > 0).astype(x.dtype)
        elif name == "leaky_relu":
            d = np.where(x > 0, dt(1), dt(negative_slope))
        elif name == "prelu":
            w = _channel_view(weight, x)
            gx = np.where(x > 0, g, g * w)
            contrib = np.where(x > 0, dt(0), g * x).astype(np.float64)
            if np.asarray(weight).size == 1 or x.ndim < 2:
                gw = np.array([contrib.sum()])
            else:
                axes = (0,) + tuple(range(2, x.ndim))
                gw = contrib.sum(axis=axes)
            return gx, gw.astype(x.dtype)
        elif name == "elu":
            d = np.where(x > 0, dt(1), dt(alpha) * np.exp(np.minimum(x, 0)))
        elif name == "gelu":
            if approximate == "tanh":
                # with s = σ(2u): (1 + t)/2 = s and (1 − t²)/2 = 2·s·(1 − s)
                inner = dt(_SQRT_2_OVER_PI) * (x + dt(0.044715) * x ** 3)
                s = _special().expit(dt(2) * inner)
                sn = _special().expit(dt(-2) * inner)
                d = s + x * (dt(2) * s * sn) * (dt(_SQRT_2_OVER_PI)
                                                * (dt(1) + dt(3 * 0.044715) * x * x))
            else:
                cdf = _special().erfc(-x / dt(np.sqrt(2.0))) * dt(0.5)
                pdf = np.exp(-x * x / dt(2)) / dt(np.sqrt(2.0 * np.pi))
                d = cdf + x * pdf
        elif name in ("silu", "swish"):
            s = _special().expit(x)
            d = s * (dt(1) + x * _special().expit(-x))
        elif name == "sigmoid":
            s = _special().expit(x)
            d = s * _special().expit(-x)
        elif name == "tanh":
            d = dt(1) / np.cosh(x) ** 2  # sech², no cancellation for large |x|
        elif name == "softplus":
            bx = x * dt(beta)
            d = np.where(bx > threshold, dt(1), _special().expit(bx))
        else:
            raise ValueError(f"unknown activation {name!r}")
        return (g * d).astype(x.dtype)


def ref_dense_forward(x, weight, bias=None, activation="identity", prelu_weight=None,
                      **params):
    """y = act(x @ weightᵀ + bias), weight of shape (out_features, in_features).

    Returns (y, z) with z the pre-activation. PReLU slopes (``prelu_weight``)
    are per output feature.
    """
    if prelu_weight is not None:
        params["weight"] = prelu_weight
    z = x @ weight.T
    if bias is not None:
        z = z + bias
    # a dense layer's channels (PReLU slopes) are its output features, the last axis
    y = ref_activation(z.reshape(int(np.prod(z.shape[:-1])), z.shape[-1]), activation,
                       **params).reshape(z.shape)
    return y, z


def ref_dense_backward(grad_output, x, weight, z, activation="identity", has_bias=True,
                       prelu_weight=None, **params):
    """dz = grad_output ⊙ act'(z); grad_x = dz @ weight, grad_weight = dzᵀ @ x,
    grad_bias = Σ_rows dz (and for prelu the slope gradient).

    Returns (grad_x, grad_weight, grad_bias or None, grad_prelu_weight or None).
    """
    if prelu_weight is not None:
        params["weight"] = prelu_weight
    m = z.shape[-1]
    res = ref_activation_backward(grad_output.reshape(-1, m), z.reshape(-1, m), activation,
                                  **params)
    gslope = None
    if activation == "prelu":
        dz2, gslope = res
    else:
        dz2 = res
    dz = dz2.reshape(z.shape)
    x2 = x.reshape(int(np.prod(x.shape[:-1])), x.shape[-1])  # -1 is ambiguous for 0 features
    grad_b = dz2.astype(np.float64).sum(axis=0).astype(x.dtype) if has_bias else None
    return (dz @ weight).reshape(x.shape), dz2.T @ x2, grad_b, gslope
