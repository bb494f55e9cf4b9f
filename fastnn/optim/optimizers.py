"""SGD, Adagrad, RMSprop, Adam, AdamW, NAdam, RAdam and Lion over parameters.

Each class keeps its per-parameter state and calls the fused kernel of
:mod:`fastnn.functional.optim` once per param group and step.
"""
import numpy as np

from fastnn.functional import optim as F
from fastnn._ext.runtime import check_real
from fastnn._validation import check_bool
from fastnn.optim.optimizer import Optimizer

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam", "Lion"]

_PENALTY_DEFAULTS = {"l1": 0.0, "maximize": False}


def _pair(betas):
    try:
        return tuple(betas)
    except TypeError:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None


def _zeros(data):
    return np.zeros_like(data, order="C")


def _check_lr(group):
    try:
        check_real("lr", group["lr"], 0.0)
    except ValueError as e:
        raise ValueError(f"invalid learning rate: {e}") from None


def _check_bools(group, *names):
    for name in names:
        check_bool(name, group[name])


def _check_betas(group):
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        check_real(f"betas[{i}]", b, 0.0, True, 1.0, False)


def _torch_only(foreach=None, fused=None, capturable=False, differentiable=False):
    """torch.optim's switches between its implementations, accepted so that
    torch code runs unchanged: ``foreach`` and ``fused`` (None or a bool) are
    ignored, fastnn always updates a param group in one fused kernel call;
    ``capturable`` (CUDA graphs) and ``differentiable`` (autograd through the
    step) have no meaning for NumPy arrays and must be False."""
    for name, value in (("foreach", foreach), ("fused", fused)):
        if value is not None:
            check_bool(name, value)
    for name, value in (("capturable", capturable), ("differentiable", differentiable)):
        if check_bool(name, value):
            raise ValueError(f"{name}=True is not supported: fastnn updates NumPy arrays, "
                             f"outside CUDA graphs and autograd")


def _check_common(group, *, eps=True, betas=False):
    """lr >= 0, weight_decay >= 0, l1 >= 0, maximize a bool (every
    optimizer), eps >= 0 and 0 <= beta < 1 where the optimizer has them."""
    _check_lr(group)
    check_real("weight_decay", group["weight_decay"], 0.0)
    check_real("l1", group["l1"], 0.0)
    _check_bools(group, "maximize")
    if "decoupled_weight_decay" in group:
        _check_bools(group, "decoupled_weight_decay")
    if eps:
        check_real("eps", group["eps"], 0.0)
    if betas:
        _check_betas(group)


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Parameters
    ----------
    params : iterable of Parameter or ndarray, or of param-group dicts
    lr : float, default 1e-3
    momentum, dampening, weight_decay : float, default 0
    nesterov, maximize : bool, default False
    l1 : float, default 0
        L1 penalty coefficient (with weight_decay, the elastic net).
    decoupled_weight_decay : bool, default False
    ema_momentum : bool, default False
        The lectures' momentum b ← μ·b + (1 − μ)·g (see :func:`fastnn.functional.sgd_`).
    foreach, fused, differentiable
        torch.optim's implementation switches (see :class:`Adam`).
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, l1=0.0, decoupled_weight_decay=False,
                 ema_momentum=False, foreach=None, differentiable=False, fused=None):
        _torch_only(foreach, fused, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, l1=l1,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      ema_momentum=ema_momentum))

    _optional_state = ("momentum_buffer",)

    def _check_group(self, group):
        _check_common(group, eps=False)
        check_real("momentum", group["momentum"], 0.0)
        check_real("dampening", group["dampening"])
        _check_bools(group, "nesterov", "ema_momentum")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _init_state(self, group, data):
        return {"momentum_buffer": self._zeros(data)} if group["momentum"] != 0 else {}

    def _update(self, group, datas, grads, states, scalars):
        step = scalars[0] + 1
        if group["momentum"] == 0:
            self._sgd(group, datas, grads, None, step)
            return
        # A parameter without a buffer (momentum switched on after its first
        # steps) starts it as torch does, at the gradient: a step-1 update.
        fresh = [i for i, s in enumerate(states) if "momentum_buffer" not in s]
        for i in fresh:
            states[i]["momentum_buffer"] = _zeros(datas[i])
        buffers = [s["momentum_buffer"] for s in states]
        if not fresh or step == 1:
            self._sgd(group, datas, grads, buffers, step)
            return
        fresh_set = set(fresh)
        old = [i for i in range(len(datas)) if i not in fresh_set]
        for idx, st in ((fresh, 1), (old, step)):
            if idx:
                self._sgd(group, [datas[i] for i in idx], [grads[i] for i in idx],
                          [buffers[i] for i in idx], st)

    @staticmethod
    def _sgd(group, datas, grads, buffers, step):
        F.sgd_(datas, grads, buffers, lr=group["lr"], momentum=group["momentum"],
               dampening=group["dampening"], weight_decay=group["weight_decay"],
               nesterov=group["nesterov"], maximize=group["maximize"], step=step,
               l1=group["l1"], decoupled_weight_decay=group["decoupled_weight_decay"],
               ema_momentum=group["ema_momentum"])


class Adagrad(Optimizer):
    """Adagrad (torch.optim.Adagrad): lr=1e-2, lr_decay=0, weight_decay=0,
    initial_accumulator_value=0, eps=1e-10; ``foreach``, ``fused`` and
    ``differentiable`` as in :class:`Adam`."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, foreach=None, *, maximize=False,
                 l1=0.0, decoupled_weight_decay=False, differentiable=False, fused=None):
        _torch_only(foreach, fused, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize, l1=l1,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check_group(self, group):
        _check_common(group)
        check_real("lr_decay", group["lr_decay"], 0.0)
        check_real("initial_accumulator_value", group["initial_accumulator_value"], 0.0)

    def _init_state(self, group, data):
        return {"sum": np.full_like(data, group["initial_accumulator_value"], order="C")}

    def _update(self, group, datas, grads, states, scalars):
        F.adagrad_(datas, grads, [s["sum"] for s in states], step=scalars[0] + 1,
                   lr=group["lr"], lr_decay=group["lr_decay"],
                   weight_decay=group["weight_decay"], eps=group["eps"],
                   maximize=group["maximize"], l1=group["l1"],
                   decoupled_weight_decay=group["decoupled_weight_decay"])


class RMSprop(Optimizer):
    """RMSprop (torch.optim.RMSprop): lr=1e-2, alpha=0.99, eps=1e-8,
    weight_decay=0, momentum=0, centered=False; ``eps_inside_sqrt`` gives the
    lectures' θ ← θ − lr·g/√(v + ε); ``capturable``, ``foreach`` and
    ``differentiable`` as in :class:`Adam`."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, capturable=False, foreach=None, *, maximize=False,
                 eps_inside_sqrt=False, l1=0.0, decoupled_weight_decay=False,
                 differentiable=False):
        _torch_only(foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize,
                                      eps_inside_sqrt=eps_inside_sqrt, l1=l1,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check_group(self, group):
        _check_common(group)
        check_real("alpha", group["alpha"], 0.0, True, 1.0, True)
        check_real("momentum", group["momentum"], 0.0)
        _check_bools(group, "centered", "eps_inside_sqrt")

    def _init_state(self, group, data):
        return {"square_avg": self._zeros(data), "grad_avg": self._zeros(data),
                "momentum_buffer": self._zeros(data)}

    def _update(self, group, datas, grads, states, scalars):
        F.rmsprop_(datas, grads, [s["square_avg"] for s in states],
                   [s["grad_avg"] for s in states], [s["momentum_buffer"] for s in states],
                   lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
                   weight_decay=group["weight_decay"], momentum=group["momentum"],
                   centered=group["centered"], maximize=group["maximize"],
                   eps_inside_sqrt=group["eps_inside_sqrt"], l1=group["l1"],
                   decoupled_weight_decay=group["decoupled_weight_decay"])


class Adam(Optimizer):
    """Adam (torch.optim.Adam): lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0, amsgrad=False; ``decoupled_weight_decay`` gives AdamW.

    Parameters
    ----------
    params : iterable of Parameter or ndarray, of (name, parameter) pairs, or
        of param-group dicts
    lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay
        As in torch.optim.Adam.
    l1 : float, default 0
        L1 penalty coefficient.
    foreach, fused : bool, optional
        Accepted as in torch.optim and ignored (every step is one fused
        kernel call per param group).
    capturable, differentiable : bool, default False
        Accepted as in torch.optim; True raises ValueError (they are about
        CUDA graphs and autograd, not NumPy arrays).
    """

    _decoupled_default = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, l1=0.0, decoupled_weight_decay=None):
        _torch_only(foreach, fused, capturable, differentiable)
        if decoupled_weight_decay is None:
            decoupled_weight_decay = self._decoupled_default
        super().__init__(params, dict(lr=lr, betas=_pair(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, l1=l1,
                                      decoupled_weight_decay=decoupled_weight_decay))

    _optional_state = ("max_exp_avg_sq",)

    def _check_group(self, group):
        _check_common(group, betas=True)
        _check_bools(group, "amsgrad")

    def _init_state(self, group, data):
        state = {"exp_avg": self._zeros(data), "exp_avg_sq": self._zeros(data)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = self._zeros(data)
        return state

    def _update(self, group, datas, grads, states, scalars):
        beta1, beta2 = group["betas"]
        max_sq = None
        if group["amsgrad"]:
            for s, d in zip(states, datas):
                if "max_exp_avg_sq" not in s:
                    s["max_exp_avg_sq"] = _zeros(d)
            max_sq = [s["max_exp_avg_sq"] for s in states]
        F.adam_(datas, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
                max_sq, step=scalars[0] + 1, lr=group["lr"], beta1=beta1, beta2=beta2,
                eps=group["eps"], weight_decay=group["weight_decay"], amsgrad=group["amsgrad"],
                maximize=group["maximize"], l1=group["l1"],
                decoupled_weight_decay=group["decoupled_weight_decay"])


class AdamW(Adam):
    """AdamW (torch.optim.AdamW): Adam with decoupled weight decay, default 1e-2."""

    _decoupled_default = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None, l1=0.0):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         foreach=foreach, capturable=capturable,
                         differentiable=differentiable, fused=fused, l1=l1,
                         decoupled_weight_decay=True)


class NAdam(Optimizer):
    """NAdam (torch.optim.NAdam): lr=2e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0, momentum_decay=4e-3, decoupled_weight_decay=False;
    ``foreach``, ``capturable`` and ``differentiable`` as in :class:`Adam`."""

    _scalar_state = ("mu_product",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False, l1=0.0):
        _torch_only(foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=_pair(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, l1=l1))

    def _check_group(self, group):
        _check_common(group, betas=True)
        check_real("momentum_decay", group["momentum_decay"], 0.0)

    def _init_state(self, group, data):
        return {"mu_product": 1.0, "exp_avg": self._zeros(data), "exp_avg_sq": self._zeros(data)}

    def _update(self, group, datas, grads, states, scalars):
        beta1, beta2 = group["betas"]
        mu_product = F.nadam_(datas, grads, [s["exp_avg"] for s in states],
                              [s["exp_avg_sq"] for s in states], step=scalars[0] + 1,
                              mu_product=scalars[1], lr=group["lr"], beta1=beta1, beta2=beta2,
                              eps=group["eps"], weight_decay=group["weight_decay"],
                              momentum_decay=group["momentum_decay"],
                              decoupled_weight_decay=group["decoupled_weight_decay"],
                              maximize=group["maximize"], l1=group["l1"])
        return (mu_product,)


class RAdam(Optimizer):
    """RAdam (torch.optim.RAdam): lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0, decoupled_weight_decay=False; ``foreach``, ``capturable``
    and ``differentiable`` as in :class:`Adam`."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False, l1=0.0):
        _torch_only(foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=_pair(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, l1=l1))

    def _check_group(self, group):
        _check_common(group, betas=True)

    def _init_state(self, group, data):
        return {"exp_avg": self._zeros(data), "exp_avg_sq": self._zeros(data)}

    def _update(self, group, datas, grads, states, scalars):
        beta1, beta2 = group["betas"]
        F.radam_(datas, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
                 step=scalars[0] + 1, lr=group["lr"], beta1=beta1, beta2=beta2,
                 eps=group["eps"], weight_decay=group["weight_decay"],
                 decoupled_weight_decay=group["decoupled_weight_decay"],
                 maximize=group["maximize"], l1=group["l1"])


class Lion(Optimizer):
    """Lion (Chen et al. 2023): lr=1e-4, betas=(0.9, 0.99), weight_decay=0."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *,
                 maximize=False, l1=0.0):
        super().__init__(params, dict(lr=lr, betas=_pair(betas), weight_decay=weight_decay,
                                      maximize=maximize, l1=l1))

    def _check_group(self, group):
        _check_common(group, eps=False, betas=True)

    def _init_state(self, group, data):
        return {"exp_avg": self._zeros(data)}

    def _update(self, group, datas, grads, states, scalars):
        beta1, beta2 = group["betas"]
        F.lion_(datas, grads, [s["exp_avg"] for s in states], lr=group["lr"], beta1=beta1,
                beta2=beta2, weight_decay=group["weight_decay"], maximize=group["maximize"],
                l1=group["l1"])
