"""Fused optimizer updates on plain arrays, in place.

Every function takes one parameter array with its gradient and state
arrays, or lists of them (all the arrays of a model, updated in one kernel
call: much faster than one call per array for the many small arrays of an
MLP). Hyperparameters and defaults follow ``torch.optim``; the formulas are
in :mod:`fastnn.reference.optim`.

Arrays written in place (``param`` and the state arrays) must be
C-contiguous, writable, and of the same shape and dtype (float32 or
float64) as ``param``; otherwise a TypeError or ValueError names the
argument and no array is modified. Gradients must have the same dtype and
shape and may be non-contiguous. No two arrays may share memory.
"""
import math
import numbers
from collections.abc import Iterable

import numpy as np

from fastnn import _config
from fastnn._ext import optim as _k
from fastnn._ext.runtime import check_disjoint, check_real, prepare_single
from fastnn._validation import (as_ndarray, check_bool, check_inout, check_input,
                                check_param)
from fastnn.parameter import Parameter

__all__ = ["sgd_", "adagrad_", "rmsprop_", "adam_", "adamw_", "nadam_", "radam_", "lion_",
           "clip_grad_norm_", "clip_grad_value_", "grad_norm"]


# ------------------------------------------------------------ validation

_check_real = check_real
_ndarray = np.ndarray


def _check_step(step):
    if type(step) is not int and (isinstance(step, bool)
                                  or not isinstance(step, numbers.Integral)):
        raise TypeError(f"step must be an int (the 1-based index of this update), "
                        f"got {type(step).__name__}")
    if step < 1:
        raise ValueError(f"step must be >= 1 (the 1-based index of this update), got {step}")
    if step > 2**63 - 1:  # the kernels take an int64
        raise ValueError(f"step must be < 2**63, got {step}")
    return int(step)


def _check_flags(names, *values):
    """Options that are bools (a str such as "False" would be true);
    ``names`` are the options' names, in the order of ``values``."""
    for value in values:  # the common case costs a type test per option
        if value.__class__ is not bool:
            break
    else:
        return
    for name, value in zip(names, values):
        check_bool(name, value)


def _common(lr, weight_decay, l1):
    return (_check_real("lr", lr, 0.0), _check_real("weight_decay", weight_decay, 0.0),
            _check_real("l1", l1, 0.0))


def _check_betas(beta1, beta2):
    return (_check_real("beta1", beta1, 0.0, True, 1.0, False),
            _check_real("beta2", beta2, 0.0, True, 1.0, False))


def _as_list(name, value, n):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} arrays but param has {n}")
        return list(value)
    raise TypeError(f"{name} must be a list of arrays like param, got {type(value).__name__}")


def _foreign(values):
    """Whether a state array is given as something other than an ndarray
    (a loop: a generator expression costs more than the whole check)."""
    for v in values:
        if v is not None and type(v) is not _ndarray:
            return True
    return False


def _prepare(param, grad, names, values, required):
    """Validate a call's arrays; return (params, grads, state lists).

    ``names``, ``values`` and ``required`` describe the state arrays; a
    value is an array (a list of arrays when param is a list) or None.
    Nothing is written before every check has passed.
    """
    if isinstance(param, (list, tuple)):
        return _prepare_many(param, grad, zip(names, values, required))
    if type(param) is not _ndarray or type(grad) is not _ndarray or _foreign(values):
        # arrays of other libraries (torch tensors, buffers): zero-copy views
        param = as_ndarray("param", param, writable=True)
        grad = as_ndarray("grad", grad)
        values = tuple(as_ndarray(n, v, writable=True) for n, v in zip(names, values))
    return prepare_single(param, grad, names, values, required)


def _prepare_many(param, grad, states):
    n = len(param)
    grads = _as_list("grad", grad, n)
    params = []
    new_grads = []
    names = []
    arrays = []
    for i in range(n):
        p = check_param(f"param[{i}]", param[i])
        if i and p.dtype != params[0].dtype:
            raise TypeError(f"param[{i}] has dtype {p.dtype} but param[0] has "
                            f"{params[0].dtype}: one dtype per call")
        params.append(p)
        g = check_input(f"grad[{i}]", grads[i], p)
        new_grads.append(g)
        names += [f"param[{i}]", f"grad[{i}]"]
        arrays += [p, g]
    lists = []
    for name, value, required in states:
        if value is None:
            if required:
                raise TypeError(f"{name} is required with these options")
            lists.append(None)
            continue
        value = _as_list(name, value, n)
        checked = []
        for i in range(n):
            s = check_inout(f"{name}[{i}]", value[i], params[i])
            checked.append(s)
            names.append(f"{name}[{i}]")
            arrays.append(s)
        lists.append(checked)
    check_disjoint(tuple(names), tuple(arrays))
    return params, new_grads, lists


def _options(maximize=False, decoupled=False, nesterov=False, amsgrad=False, centered=False,
             eps_inside_sqrt=False, ema_momentum=False):
    options = 0
    if maximize:
        options |= _k.OPT_MAXIMIZE
    if decoupled:
        options |= _k.OPT_DECOUPLED_WD
    if nesterov:
        options |= _k.OPT_NESTEROV
    if amsgrad:
        options |= _k.OPT_AMSGRAD
    if centered:
        options |= _k.OPT_CENTERED
    if eps_inside_sqrt:
        options |= _k.OPT_EPS_INSIDE_SQRT
    if ema_momentum:
        options |= _k.OPT_EMA_MOMENTUM
    return options


def _run(algorithm, prepared, n_threads, lr, beta1, beta2, eps, momentum, dampening, alpha,
         lr_decay, weight_decay, l1, mu, mu_next, mu_product, step, options):
    params, grads, lists = prepared
    n_states = len(lists)
    _k.step(algorithm, params, grads, lists[0] if n_states > 0 else None,
            lists[1] if n_states > 1 else None, lists[2] if n_states > 2 else None,
            lr, beta1, beta2, eps, momentum, dampening, alpha, lr_decay, weight_decay, l1, mu,
            mu_next, mu_product, step, options,
            _config.resolve_threads(n_threads), _config.kernel_flags())


# ------------------------------------------------------------ optimizers

def sgd_(param, grad, momentum_buffer=None, *, lr, momentum=0.0, dampening=0.0,
         weight_decay=0.0, nesterov=False, maximize=False, step=1, l1=0.0,
         decoupled_weight_decay=False, ema_momentum=False, n_threads=None):
    """SGD with momentum, in place.

    Parameters
    ----------
    param : ndarray or list of ndarray
        Parameters, updated in place.
    grad : ndarray or list of ndarray
        Gradients, same shapes and dtype.
    momentum_buffer : ndarray or list of ndarray, optional
        Momentum state (required when ``momentum > 0``). Ignored on the first
        step (it is set to the gradient) unless ``ema_momentum``.
    lr : float
        Learning rate.
    momentum, dampening : float
        b ← momentum·b + (1 − dampening)·g.
    weight_decay : float
        L2 penalty (or decoupled decay with ``decoupled_weight_decay``).
    nesterov : bool
        Nesterov momentum (needs momentum > 0 and dampening = 0).
    maximize : bool
        Ascend instead of descend.
    step : int
        1-based index of this update (step 1 initialises the buffer).
    l1 : float
        L1 penalty: g ← g + l1·sign(θ).
    decoupled_weight_decay : bool
        θ ← θ·(1 − lr·weight_decay) instead of the L2 gradient term.
    ema_momentum : bool
        The lectures' momentum: b ← momentum·b + (1 − momentum)·g from b = 0.
    n_threads : int, optional
        Threads to use; default :func:`fastnn.get_num_threads`.

    See Also
    --------
    fastnn.reference.optim.sgd : the formula.
    """
    _check_flags(("nesterov", "maximize", "decoupled_weight_decay", "ema_momentum"),
                 nesterov, maximize, decoupled_weight_decay, ema_momentum)
    lr, weight_decay, l1 = _common(lr, weight_decay, l1)
    momentum = _check_real("momentum", momentum, 0.0)
    dampening = _check_real("dampening", dampening)
    step = _check_step(step)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("nesterov momentum requires momentum > 0 and dampening = 0")
    has_buffer = momentum != 0
    prepared = _prepare(param, grad, ("momentum_buffer",),
                        (momentum_buffer if has_buffer else None,), (has_buffer,))
    _run(_k.SGD, prepared, n_threads, lr, 0.0, 0.0, 0.0, momentum, dampening, 0.0, 0.0,
         weight_decay, l1, 0.0, 0.0, 0.0, step,
         _options(maximize, decoupled_weight_decay, nesterov=nesterov,
                  ema_momentum=ema_momentum))


def adagrad_(param, grad, state_sum, *, step, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
             eps=1e-10, maximize=False, l1=0.0, decoupled_weight_decay=False, n_threads=None):
    """Adagrad, in place: s ← s + g²; θ ← θ − lr/(1 + (t−1)·lr_decay) · g/(√s + ε).

    ``state_sum`` starts at ``initial_accumulator_value`` (0 in torch).
    Other parameters as in :func:`sgd_`; see :func:`fastnn.reference.optim.adagrad`.
    """
    _check_flags(("maximize", "decoupled_weight_decay"), maximize, decoupled_weight_decay)
    lr, weight_decay, l1 = _common(lr, weight_decay, l1)
    lr_decay = _check_real("lr_decay", lr_decay, 0.0)
    eps = _check_real("eps", eps, 0.0)
    step = _check_step(step)
    prepared = _prepare(param, grad, ("state_sum",), (state_sum,), (True,))
    _run(_k.ADAGRAD, prepared, n_threads, lr, 0.0, 0.0, eps, 0.0, 0.0, 0.0, lr_decay,
         weight_decay, l1, 0.0, 0.0, 0.0, step, _options(maximize, decoupled_weight_decay))


def rmsprop_(param, grad, square_avg, grad_avg=None, momentum_buffer=None, *, lr=1e-2,
             alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
             maximize=False, eps_inside_sqrt=False, l1=0.0, decoupled_weight_decay=False,
             n_threads=None):
    """RMSprop, in place (torch.optim.RMSprop).

    ``grad_avg`` is required when ``centered``; ``momentum_buffer`` when
    ``momentum > 0``. ``eps_inside_sqrt`` selects the lectures' form
    θ ← θ − lr·g/√(v + ε). See :func:`fastnn.reference.optim.rmsprop`.
    """
    _check_flags(("centered", "maximize", "eps_inside_sqrt", "decoupled_weight_decay"),
                 centered, maximize, eps_inside_sqrt, decoupled_weight_decay)
    lr, weight_decay, l1 = _common(lr, weight_decay, l1)
    alpha = _check_real("alpha", alpha, 0.0, True, 1.0, True)
    eps = _check_real("eps", eps, 0.0)
    momentum = _check_real("momentum", momentum, 0.0)
    has_buffer = momentum > 0
    prepared = _prepare(param, grad, ("square_avg", "grad_avg", "momentum_buffer"),
                        (square_avg, grad_avg if centered else None,
                         momentum_buffer if has_buffer else None),
                        (True, bool(centered), has_buffer))
    _run(_k.RMSPROP, prepared, n_threads, lr, 0.0, 0.0, eps, momentum, 0.0, alpha, 0.0,
         weight_decay, l1, 0.0, 0.0, 0.0, 1,
         _options(maximize, decoupled_weight_decay, centered=centered,
                  eps_inside_sqrt=eps_inside_sqrt))


def adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step, lr=1e-3,
          beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
          l1=0.0, decoupled_weight_decay=False, n_threads=None):
    """Adam, in place, in one pass over memory.

    Parameters
    ----------
    param, grad : ndarray or list of ndarray
    exp_avg, exp_avg_sq : ndarray or list of ndarray
        First and second moment estimates (start at zero).
    max_exp_avg_sq : ndarray or list of ndarray, optional
        Running maximum of ``exp_avg_sq``; required with ``amsgrad``.
    step : int
        1-based index of this update (bias corrections 1 − βᵗ).
    lr, beta1, beta2, eps, weight_decay, amsgrad, maximize
        As in torch.optim.Adam.
    l1 : float
        L1 penalty: g ← g + l1·sign(θ).
    decoupled_weight_decay : bool
        AdamW: θ ← θ·(1 − lr·weight_decay) instead of the L2 gradient term.
    n_threads : int, optional

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.functional import adam_
    >>> w = np.ones(4, np.float32); g = np.full(4, 0.5, np.float32)
    >>> m, v = np.zeros_like(w), np.zeros_like(w)
    >>> adam_(w, g, m, v, step=1, lr=0.1)
    >>> w
    array([0.9, 0.9, 0.9, 0.9], dtype=float32)
    """
    _check_flags(("amsgrad", "maximize", "decoupled_weight_decay"),
                 amsgrad, maximize, decoupled_weight_decay)
    lr, weight_decay, l1 = _common(lr, weight_decay, l1)
    beta1, beta2 = _check_betas(beta1, beta2)
    eps = _check_real("eps", eps, 0.0)
    step = _check_step(step)
    prepared = _prepare(param, grad, ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
                        (exp_avg, exp_avg_sq, max_exp_avg_sq if amsgrad else None),
                        (True, True, bool(amsgrad)))
    _run(_k.ADAM, prepared, n_threads, lr, beta1, beta2, eps, 0.0, 0.0, 0.0, 0.0,
         weight_decay, l1, 0.0, 0.0, 0.0, step,
         _options(maximize, decoupled_weight_decay, amsgrad=amsgrad))


def adamw_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step, lr=1e-3,
           beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, amsgrad=False,
           maximize=False, l1=0.0, n_threads=None):
    """AdamW, in place: :func:`adam_` with decoupled weight decay (default 1e-2)."""
    adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step=step, lr=lr, beta1=beta1,
          beta2=beta2, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
          l1=l1, decoupled_weight_decay=True, n_threads=n_threads)


def nadam_(param, grad, exp_avg, exp_avg_sq, *, step, mu_product=1.0, lr=2e-3, beta1=0.9,
           beta2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
           decoupled_weight_decay=False, maximize=False, l1=0.0, n_threads=None):
    """NAdam, in place (torch.optim.NAdam).

    Parameters
    ----------
    mu_product : float
        Product of the momentum coefficients μ₁…μₜ₋₁ of the previous steps
        (1.0 before the first step).

    Returns
    -------
    float
        The product through this step: pass it as ``mu_product`` next time.

    See :func:`fastnn.reference.optim.nadam` for the formula.
    """
    from fastnn.reference.optim import nadam_mu

    _check_flags(("decoupled_weight_decay", "maximize"), decoupled_weight_decay, maximize)
    lr, weight_decay, l1 = _common(lr, weight_decay, l1)
    beta1, beta2 = _check_betas(beta1, beta2)
    eps = _check_real("eps", eps, 0.0)
    momentum_decay = _check_real("momentum_decay", momentum_decay, 0.0)
    mu_product = _check_real("mu_product", mu_product)
    step = _check_step(step)
    prepared = _prepare(param, grad, ("exp_avg", "exp_avg_sq"), (exp_avg, exp_avg_sq),
                        (True, True))
    mu = nadam_mu(step, beta1, momentum_decay)
    mu_next = nadam_mu(step + 1, beta1, momentum_decay)
    mu_product = mu_product * mu
    _run(_k.NADAM, prepared, n_threads, lr, beta1, beta2, eps, 0.0, 0.0, 0.0, 0.0,
         weight_decay, l1, mu, mu_next, mu_product, step,
         _options(maximize, decoupled_weight_decay))
    return mu_product


def radam_(param, grad, exp_avg, exp_avg_sq, *, step, lr=1e-3, beta1=0.9, beta2=0.999,
           eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False, maximize=False, l1=0.0,
           n_threads=None):
    """RAdam, in place (torch.optim.RAdam); see :func:`fastnn.reference.optim.radam`."""
    _check_flags(("decoupled_weight_decay", "maximize"), decoupled_weight_decay, maximize)
    lr, weight_decay, l1 = _common(lr, weight_decay, l1)
    beta1, beta2 = _check_betas(beta1, beta2)
    eps = _check_real("eps", eps, 0.0)
    step = _check_step(step)
    prepared = _prepare(param, grad, ("exp_avg", "exp_avg_sq"), (exp_avg, exp_avg_sq),
                        (True, True))
    _run(_k.RADAM, prepared, n_threads, lr, beta1, beta2, eps, 0.0, 0.0, 0.0, 0.0,
         weight_decay, l1, 0.0, 0.0, 0.0, step, _options(maximize, decoupled_weight_decay))


def lion_(param, grad, exp_avg, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0,
          maximize=False, l1=0.0, n_threads=None):
    """Lion, in place (Chen et al. 2023).

    c = β₁·m + (1 − β₁)·g;  θ ← θ − lr·(sign(c) + λ·θ);  m ← β₂·m + (1 − β₂)·g
    """
    _check_flags(("maximize",), maximize)
    lr, weight_decay, l1 = _common(lr, weight_decay, l1)
    beta1, beta2 = _check_betas(beta1, beta2)
    prepared = _prepare(param, grad, ("exp_avg",), (exp_avg,), (True,))
    _run(_k.LION, prepared, n_threads, lr, beta1, beta2, 0.0, 0.0, 0.0, 0.0, 0.0,
         weight_decay, l1, 0.0, 0.0, 0.0, 1, _options(maximize))


# ------------------------------------------------------------ clipping

def _one_array(a):
    """Whether ``a`` is one gradient (an array, a Parameter, a tensor or a
    buffer) rather than a collection of them."""
    if isinstance(a, (np.ndarray, Parameter)) or hasattr(a, "__dlpack__"):
        return True
    try:
        memoryview(a)
    except TypeError:
        return False
    return True


def _grad_list(grads, writable):
    if not isinstance(grads, (list, tuple)):
        # any iterable of gradients or Parameters (a generator, as torch's
        # model.parameters()); one array is a list of one
        if _one_array(grads) or not isinstance(grads, Iterable):
            grads = [grads]
        else:
            grads = list(grads)
    out = []
    names = []
    for i, g in enumerate(grads):
        g = g.grad if isinstance(g, Parameter) else g  # accept fastnn Parameters
        if g is None:
            continue
        names.append(f"grads[{i}]")
        if writable:
            a = check_param(f"grads[{i}]", g)
        else:
            g = as_ndarray(f"grads[{i}]", g)
            a = check_input(f"grads[{i}]", g, g) if isinstance(g, np.ndarray) else g
            if not hasattr(a, "dtype") or a.dtype.kind != "f" or a.dtype.itemsize not in (4, 8):
                raise TypeError(f"grads[{i}] must be a float32 or float64 numpy.ndarray")
        out.append(a)
    if writable:
        # one array listed twice (or two views of one buffer) would be scaled twice
        check_disjoint(tuple(names), tuple(out))
    return out


def _check_norm_type(norm_type):
    if isinstance(norm_type, str) and norm_type == "inf":  # as torch
        return math.inf
    if norm_type == math.inf and not isinstance(norm_type, bool):
        return math.inf
    return _check_real("norm_type", norm_type, 0.0, False)


def grad_norm(grads, norm_type=2.0, n_threads=None):
    """Joint p-norm of a list of arrays, accumulated in float64.

    The result is the same for any thread count (fixed blocks, combined in
    a fixed order).

    Parameters
    ----------
    grads : ndarray, Parameter or iterable of them
        The arrays (a Parameter's ``.grad``; None grads skipped).
    norm_type : float or "inf"
        p > 0, or ``math.inf`` (or ``"inf"``) for the largest absolute value.
    n_threads : int, optional

    Returns
    -------
    float
    """
    norm_type = _check_norm_type(norm_type)
    arrays = _grad_list(grads, writable=False)
    nt = _config.resolve_threads(n_threads)
    flags = _config.kernel_flags()
    if norm_type == math.inf:
        total = 0.0
        for a in arrays:
            m = _k.reduce(_k.REDUCE_MAX_ABS, a, 0.0, nt, flags)
            if m != m:
                return math.nan
            total = max(total, m)
        return total
    if norm_type == 2.0:
        total = math.fsum(_k.reduce(_k.REDUCE_SUM_SQUARES, a, 2.0, nt, flags) for a in arrays)
        return math.sqrt(total)
    total = math.fsum(_k.reduce(_k.REDUCE_SUM_ABS_POW, a, norm_type, nt, flags)
                      for a in arrays)
    try:
        return total ** (1.0 / norm_type)
    except OverflowError:  # tiny norm_type: float ** raises where NumPy gives inf
        return math.inf


def _check_limit(name, value):
    """A clipping limit: a real number >= 0, or ``math.inf`` (nothing is
    clipped: torch's idiom for measuring the norm only)."""
    if isinstance(value, (float, np.floating)) and value == math.inf:
        return math.inf
    return _check_real(name, value, 0.0)


def clip_grad_norm_(grads, max_norm, norm_type=2.0, error_if_nonfinite=False, n_threads=None):
    """Scale gradients in place so that their joint norm is at most ``max_norm``.

    As torch.nn.utils.clip_grad_norm_: N is the p-norm of all gradients
    together, and every gradient is multiplied by min(1, max_norm/(N + 1e-6)).

    Parameters
    ----------
    grads : ndarray, Parameter or iterable of them
        Gradients (or Parameters, whose ``.grad`` is used; None grads skipped),
        e.g. a generator of Parameters.
    max_norm : float
        >= 0; ``math.inf`` clips nothing (the call returns the norm, as torch).
    norm_type : float or "inf"
        p > 0, or ``math.inf`` (or ``"inf"``) for the largest absolute value.
    error_if_nonfinite : bool
        Raise RuntimeError, modifying nothing, if N is NaN or infinite.
        Otherwise, as in torch, a NaN norm makes every gradient NaN and an
        infinite one zeroes the finite gradients.

    Returns
    -------
    float
        The total norm N before clipping.
    """
    max_norm = _check_limit("max_norm", max_norm)
    norm_type = _check_norm_type(norm_type)
    _check_flags(("error_if_nonfinite",), error_if_nonfinite)
    arrays = _grad_list(grads, writable=True)
    total = grad_norm(arrays, norm_type, n_threads)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is "
                           f"non-finite ({total}), so it cannot be clipped")
    coef = max_norm / (total + 1e-6)
    if coef >= 1.0:  # a NaN coefficient fails this and scales (min(1.0, nan) is 1.0)
        return total  # nothing to clip: a scaling by 1 would be a pass for nothing
    nt = _config.resolve_threads(n_threads)
    flags = _config.kernel_flags()
    for a in arrays:
        _k.scale_(a, coef, nt, flags)
    return total


def clip_grad_value_(grads, clip_value, n_threads=None):
    """Clamp gradients in place to [−clip_value, clip_value] (NaN stays NaN).

    ``grads`` is an array, a Parameter or an iterable of them, as in
    :func:`clip_grad_norm_`. ``clip_value=math.inf`` clamps nothing, as in
    torch.
    """
    clip_value = _check_limit("clip_value", clip_value)
    arrays = _grad_list(grads, writable=True)
    if clip_value == math.inf:
        return  # the arrays are checked; nothing to clamp
    nt = _config.resolve_threads(n_threads)
    flags = _config.kernel_flags()
    for a in arrays:
        _k.clamp_(a, -clip_value, clip_value, nt, flags)
