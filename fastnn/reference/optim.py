"""NumPy references of the optimizer updates.

Each function updates ``param`` and its state arrays in place for one step,
written for clarity, with the formula in its docstring. The operation order
follows ``torch.optim`` (single-tensor implementations), so these agree with
PyTorch and with fastnn's kernels to rounding. Scalars are Python floats, so
NumPy computes in the arrays' own dtype.

Common to every optimizer, before its own update (g is the gradient):

    g ← −g                      if maximize
    θ ← θ·(1 − lr·λ)            if decoupled weight decay (AdamW style)
    g ← g + λ·θ                 otherwise, when λ = weight_decay ≠ 0 (L2)
    g ← g + λ₁·sign(θ)          when λ₁ = l1 ≠ 0 (L1; with L2 it is the elastic net)
"""
import math

import numpy as np

__all__ = ["sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam", "radam", "lion",
           "clip_grad_norm", "clip_grad_value", "nadam_mu"]


def _prepare(param, grad, lr, weight_decay, l1, decoupled, maximize):
    g = -grad if maximize else grad.copy()
    sign = np.sign(param)
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param
    if l1 != 0:
        g = g + l1 * sign
    return g


def _lerp(a, b, w, one_minus_w):
    """torch.lerp: a + w·(b − a), computed from the nearer end.

    The high branch takes 1 − w as given (the β of an EMA, exact) instead of
    recomputing it from the rounded w, which loses the digits of a small
    1 − w (β₁ = 1e-5: 1.0000000000066e-5 in float64, 1.00136e-5 in float32).
    """
    return a + w * (b - a) if w < 0.5 else b - (b - a) * one_minus_w


def sgd(param, grad, momentum_buffer, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
        nesterov=False, maximize=False, step=1, l1=0.0, decoupled_weight_decay=False,
        ema_momentum=False):
    """Stochastic gradient descent with momentum.

    b ← g on the first step, then b ← μ·b + (1 − τ)·g      (τ = dampening)
    d ← g + μ·b if nesterov else b                         (d = g without momentum)
    θ ← θ − lr·d

    With ``ema_momentum`` (the lectures' form) b ← μ·b + (1 − μ)·g from b = 0.
    """
    g = _prepare(param, grad, lr, weight_decay, l1, decoupled_weight_decay, maximize)
    if momentum != 0:
        if ema_momentum:
            b = momentum * momentum_buffer + (1 - momentum) * g
        elif step <= 1:
            b = g.copy()
        else:
            b = momentum * momentum_buffer + (1 - dampening) * g
        momentum_buffer[...] = b
        g = g + momentum * b if nesterov else b
    param -= lr * g


def adagrad(param, grad, state_sum, *, step, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
            eps=1e-10, maximize=False, l1=0.0, decoupled_weight_decay=False):
    """Adagrad.

    s ← s + g²
    θ ← θ − lr/(1 + (t − 1)·lr_decay) · g/(√s + ε)
    """
    g = _prepare(param, grad, lr, weight_decay, l1, decoupled_weight_decay, maximize)
    state_sum += g * g
    clr = lr / (1 + (step - 1) * lr_decay)
    param -= clr * (g / (np.sqrt(state_sum) + eps))


def rmsprop(param, grad, square_avg, grad_avg=None, momentum_buffer=None, *, lr=1e-2,
            alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
            maximize=False, eps_inside_sqrt=False, l1=0.0, decoupled_weight_decay=False):
    """RMSprop.

    v ← α·v + (1 − α)·g²
    centered: ḡ ← lerp(ḡ, g, 1 − α);  v̂ = v − ḡ²      (else v̂ = v)
    a = √v̂ + ε        (eps_inside_sqrt, the lectures' form: a = √(v̂ + ε))
    momentum μ > 0: b ← μ·b + g/a;  θ ← θ − lr·b
    otherwise:      θ ← θ − lr·g/a
    """
    g = _prepare(param, grad, lr, weight_decay, l1, decoupled_weight_decay, maximize)
    square_avg[...] = square_avg * alpha + (1 - alpha) * (g * g)
    v = square_avg
    if centered:
        grad_avg[...] = _lerp(grad_avg, g, 1 - alpha, alpha)
        v = v - grad_avg * grad_avg
    avg = np.sqrt(v + eps) if eps_inside_sqrt else np.sqrt(v) + eps
    if momentum > 0:
        momentum_buffer[...] = momentum_buffer * momentum + g / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * (g / avg)


def adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step, lr=1e-3, beta1=0.9,
         beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False, l1=0.0,
         decoupled_weight_decay=False):
    """Adam (Kingma & Ba 2015); AdamW with ``decoupled_weight_decay``.

    m ← lerp(m, g, 1 − β₁) = β₁·m + (1 − β₁)·g
    v ← β₂·v + (1 − β₂)·g²
    v̂ = max(v̂, v) with amsgrad, else v
    θ ← θ − lr/(1 − β₁ᵗ) · m / (√v̂·(1/√(1 − β₂ᵗ)) + ε)
    """
    g = _prepare(param, grad, lr, weight_decay, l1, decoupled_weight_decay, maximize)
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1, beta1)
    exp_avg_sq[...] = exp_avg_sq * beta2 + (1 - beta2) * (g * g)
    v = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    step_size = lr / (1 - beta1 ** step)
    bc2_sqrt = math.sqrt(1 - beta2 ** step)
    param -= step_size * (exp_avg / (np.sqrt(v) * (1 / bc2_sqrt) + eps))


def adamw(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step, lr=1e-3,
          beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False,
          l1=0.0):
    """AdamW (Loshchilov & Hutter 2019): Adam with θ ← θ·(1 − lr·λ) first."""
    adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step=step, lr=lr, beta1=beta1,
         beta2=beta2, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
         l1=l1, decoupled_weight_decay=True)


def nadam_mu(step, beta1, momentum_decay):
    """NAdam's momentum schedule μₜ = β₁·(1 − ½·0.96^(t·ψ))."""
    return beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))


def nadam(param, grad, exp_avg, exp_avg_sq, *, step, mu_product, lr=2e-3, beta1=0.9,
          beta2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
          decoupled_weight_decay=False, maximize=False, l1=0.0):
    """NAdam (Dozat 2016), as torch.optim.NAdam.

    μₜ = β₁(1 − ½·0.96^(tψ)),  Πₜ = Πₜ₋₁·μₜ   (``mu_product`` is Πₜ₋₁, 1 at first)
    m ← lerp(m, g, 1 − β₁);  v ← β₂·v + (1 − β₂)·g²
    d = √(v/(1 − β₂ᵗ)) + ε
    θ ← θ − lr(1 − μₜ)/(1 − Πₜ) · g/d − lr·μₜ₊₁/(1 − Πₜ·μₜ₊₁) · m/d

    Returns Πₜ, the ``mu_product`` of the next call.
    """
    g = _prepare(param, grad, lr, weight_decay, l1, decoupled_weight_decay, maximize)
    mu = nadam_mu(step, beta1, momentum_decay)
    mu_next = nadam_mu(step + 1, beta1, momentum_decay)
    mu_product = mu_product * mu
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1, beta1)
    exp_avg_sq[...] = exp_avg_sq * beta2 + (1 - beta2) * (g * g)
    inv_denom = 1 / (np.sqrt(exp_avg_sq / (1 - beta2 ** step)) + eps)
    param -= (lr * (1 - mu) / (1 - mu_product)) * (g * inv_denom)
    param -= (lr * mu_next / (1 - mu_product * mu_next)) * (exp_avg * inv_denom)
    return mu_product


def radam(param, grad, exp_avg, exp_avg_sq, *, step, lr=1e-3, beta1=0.9, beta2=0.999,
          eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False, maximize=False, l1=0.0):
    """RAdam (Liu et al. 2020), as torch.optim.RAdam.

    m, v as in Adam;  m̂ = m/(1 − β₁ᵗ)
    ρ∞ = 2/(1 − β₂) − 1;  ρₜ = ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
    ρₜ > 5: r = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ));
            θ ← θ − m̂·lr·r·√(1 − β₂ᵗ)/(√v + ε)
    else:   θ ← θ − m̂·lr
    """
    g = _prepare(param, grad, lr, weight_decay, l1, decoupled_weight_decay, maximize)
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1, beta1)
    exp_avg_sq[...] = exp_avg_sq * beta2 + (1 - beta2) * (g * g)
    bc1 = 1 - beta1 ** step
    beta2_t = beta2 ** step
    bc2 = 1 - beta2_t
    m_hat = exp_avg / bc1
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * beta2_t / bc2
    if rho_t > 5:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                         / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        param -= m_hat * (lr * rect) * (math.sqrt(bc2) / (np.sqrt(exp_avg_sq) + eps))
    else:
        param -= m_hat * lr


def lion(param, grad, exp_avg, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0,
         maximize=False, l1=0.0):
    """Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms").

    c = β₁·m + (1 − β₁)·g
    θ ← θ − lr·(sign(c) + λ·θ)
    m ← β₂·m + (1 − β₂)·g
    """
    g = _prepare(param, grad, lr, weight_decay, l1, True, maximize)
    c = exp_avg * beta1 + (1 - beta1) * g
    param -= lr * np.sign(c)
    exp_avg[...] = exp_avg * beta2 + (1 - beta2) * g


def clip_grad_norm(grads, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint norm is at most max_norm.

    N = ‖(‖g₁‖ₚ, …, ‖gₖ‖ₚ)‖ₚ;   gᵢ ← gᵢ·min(1, max_norm/(N + 10⁻⁶))

    Returns N (a float). Norms are accumulated in float64.
    """
    if norm_type == math.inf:
        norms = [float(np.max(np.abs(g))) if g.size else 0.0 for g in grads]
        total = max(norms) if norms else 0.0
        if any(math.isnan(n) for n in norms):  # max() would depend on the order
            total = math.nan
    else:
        norms = [float(np.sum(np.abs(g.astype(np.float64)) ** norm_type)) for g in grads]
        total = sum(norms) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError("the total norm of the gradients is non-finite")
    coef = max_norm / (total + 1e-6)
    if coef > 1.0:  # a NaN norm gives NaN gradients, as in torch
        coef = 1.0
    for g in grads:
        g *= coef
    return total


def clip_grad_value(grads, clip_value):
    """gᵢ ← clamp(gᵢ, −c, c) elementwise."""
    for g in grads:
        np.clip(g, -clip_value, clip_value, out=g)
