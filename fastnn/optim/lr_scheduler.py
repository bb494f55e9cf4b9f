"""Learning-rate schedules, with the names and semantics of
``torch.optim.lr_scheduler``.

A scheduler sets ``group["lr"]`` of its optimizer's param groups. As in
PyTorch, constructing it applies the epoch-0 rate, and each ``step()``
advances one epoch (or one batch, for CyclicLR and OneCycleLR).

Chaining. Where PyTorch computes the next rate from the current
``group["lr"]`` (the "chainable" form of StepLR, MultiStepLR, ConstantLR,
LinearLR, ExponentialLR, PolynomialLR, CosineAnnealingLR, MultiplicativeLR),
fastnn does the same, so several schedulers on one optimizer compose their
factors (e.g. ExponentialLR(0.9) with MultiStepLR([10, 20], 0.1)), and a
rate set by hand in ``group["lr"]`` is the base of the next step. Where
PyTorch uses a closed form of the step count and ``base_lrs``
(LambdaLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, and
``step(epoch)`` with an explicit epoch), fastnn does too.

``state_dict()`` / ``load_state_dict()`` save and restore a scheduler for
exact resumption; restore the optimizer's ``state_dict`` as well (the
chainable forms continue from its ``group["lr"]``).
"""
from __future__ import annotations

import bisect
import collections
import math
import numbers
import types
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

from fastnn._checks import check_finite_real

#: ``f(epoch) -> factor`` of LambdaLR and MultiplicativeLR
LRLambda = Callable[[int], float]

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR",
           "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR",
           "ChainedScheduler", "ReduceLROnPlateau"]


def _positive_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


_real = check_finite_real


def _per_group(name, value, n, low=None, low_open=False):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"expected {n} values for {name}, got {len(value)}")
        return [_real(f"{name}[{i}]", v, low, low_open=low_open) for i, v in enumerate(value)]
    return [_real(name, value, low, low_open=low_open)] * n


def _check_optimizer(optimizer):
    if not hasattr(optimizer, "param_groups"):
        raise TypeError(f"{type(optimizer).__name__} is not an optimizer")
    return optimizer


def _group_lrs(optimizer):
    return [group["lr"] for group in optimizer.param_groups]


class LRScheduler:
    """Base class: subclasses define ``get_lr()`` (the rates of the step
    that ``last_epoch`` now counts, usually from the current
    ``group["lr"]``) and may define ``_get_closed_form_lr()`` (from
    ``base_lrs``, used by ``step(epoch)``).

    Parameters
    ----------
    optimizer : fastnn.optim.Optimizer
    last_epoch : int, default -1
        The index of the last epoch when resuming (then every group needs
        ``initial_lr``).

    Attributes
    ----------
    base_lrs : list of float
        Each group's ``initial_lr``.
    last_epoch : int
        Steps taken (0 after construction).
    """

    #: True while the constructor's step runs (torch's ``_is_initial``).
    _is_initial = False
    optimizer: Any
    base_lrs: List[float]
    last_epoch: int
    _step_count: int
    _last_lr: List[float]

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral) \
                or last_epoch < -1:
            raise ValueError(f"last_epoch must be an int >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   f"when resuming a scheduler with last_epoch >= 0 (load the "
                                   f"optimizer's state_dict first)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> List[float]:
        """The rates of the step ``last_epoch`` (called by :meth:`step`)."""
        raise NotImplementedError

    def get_last_lr(self) -> List[float]:
        """The rates the latest step set."""
        return list(self._last_lr)

    def step(self, epoch: Optional[float] = None) -> None:
        """Advance one step, or jump to ``epoch`` (closed form where the
        scheduler has one, as in PyTorch), and set the rates."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = _group_lrs(self.optimizer)

    def state_dict(self) -> Dict[str, Any]:
        """Everything but the optimizer and callables (as PyTorch, callable
        objects' ``__dict__`` is saved by the lambda-based schedulers)."""
        return {k: v for k, v in self.__dict__.items()
                if k != "optimizer" and not callable(v)}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (restore the optimizer's too)."""
        self.__dict__.update(state_dict)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch})"


def _lambdas(optimizer, fn, name):
    n = len(optimizer.param_groups)
    if isinstance(fn, (list, tuple)):
        if len(fn) != n:
            raise ValueError(f"expected {n} {name}s (one per param group), got {len(fn)}")
        fns = list(fn)
    else:
        fns = [fn] * n
    for i, f in enumerate(fns):
        if not callable(f):
            raise TypeError(f"{name} must be callable (or a list of callables), got "
                            f"{type(f).__name__}" + (f" at index {i}" if len(fns) > 1 else ""))
    return fns


class _LambdaState:
    """Construction and state_dict of the lambda-based schedulers, as PyTorch:
    one function per param group; functions and lambdas are not saved
    (``None``), a callable object's ``__dict__`` is."""

    lr_lambdas: List[LRLambda]

    def __init__(self, optimizer: Any, lr_lambda: Union[LRLambda, Sequence[LRLambda]],
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.lr_lambdas = _lambdas(optimizer, lr_lambda, "lr_lambda")
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> Dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        state = dict(state_dict)
        fns = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        self.__dict__.update(state)
        for f, saved in zip(self.lr_lambdas, fns):
            if saved is not None:
                f.__dict__.update(saved)


class LambdaLR(_LambdaState, LRScheduler):
    """lr = initial_lr·lr_lambda(epoch) (closed form, as PyTorch).

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callables
        ``f(epoch) -> factor``, or one per param group.
    last_epoch : int, default -1

    Notes
    -----
    A scheduler holding lambdas or local functions cannot be pickled. Its
    ``state_dict()`` leaves functions and lambdas out (``None``) and keeps
    the ``__dict__`` of callable objects, as PyTorch: rebuild the scheduler
    with the same functions, then ``load_state_dict``.
    """

    def get_lr(self) -> List[float]:
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaState, LRScheduler):
    """lr ← lr·lr_lambda(epoch) at each step after the first (chainable).

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callables
        ``f(epoch) -> factor``, or one per param group.
    last_epoch : int, default -1

    Notes
    -----
    Not picklable with lambdas; ``state_dict`` skips functions and lambdas
    and keeps callable objects' ``__dict__`` (see :class:`LambdaLR`).
    """

    def get_lr(self) -> List[float]:
        if self._is_initial:
            return _group_lrs(self.optimizer)
        return [group["lr"] * f(self.last_epoch)
                for f, group in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs:
    lr = initial_lr·gamma^⌊epoch/step_size⌋ when alone.

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int >= 1
    gamma : float > 0, default 0.1
    last_epoch : int, default -1
    """

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = _positive_int("step_size", step_size)
        self.gamma = _real("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _group_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each milestone (twice at a
    milestone listed twice): lr = initial_lr·gamma^k when alone, k the
    number of milestones <= epoch.

    Parameters
    ----------
    optimizer : Optimizer
    milestones : iterable of int >= 0
    gamma : float > 0, default 0.1
    last_epoch : int, default -1
    """

    def __init__(self, optimizer: Any, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        try:
            ms = list(milestones)
        except TypeError:
            raise TypeError(f"milestones must be an iterable of ints, got "
                            f"{type(milestones).__name__}") from None
        self.milestones = collections.Counter(
            _positive_int(f"milestones[{i}]", m, 0) for i, m in enumerate(ms))
        self.gamma = _real("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        if self.last_epoch not in self.milestones:
            return _group_lrs(self.optimizer)
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        ms = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect.bisect_right(ms, self.last_epoch)
                for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """Multiply the rate by ``factor`` until epoch ``total_iters``, then
    restore it.

    Parameters
    ----------
    optimizer : Optimizer
    factor : float in (0, 1], default 1/3
    total_iters : int >= 1, default 5
    last_epoch : int, default -1
    """

    def __init__(self, optimizer: Any, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        self.factor = _real("factor", factor, 0.0, 1.0, low_open=True)
        self.total_iters = _positive_int("total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _group_lrs(self.optimizer)
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Linear warm-up: the factor goes from ``start_factor`` to
    ``end_factor`` over ``total_iters`` steps, then stays.

    Parameters
    ----------
    optimizer : Optimizer
    start_factor : float in (0, 1], default 1/3
    end_factor : float in [0, 1], default 1
    total_iters : int >= 1, default 5
    last_epoch : int, default -1
    """

    def __init__(self, optimizer: Any, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        self.start_factor = _real("start_factor", start_factor, 0.0, 1.0, low_open=True)
        self.end_factor = _real("end_factor", end_factor, 0.0, 1.0)
        self.total_iters = _positive_int("total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_lrs(self.optimizer)
        d = self.end_factor - self.start_factor
        factor = 1.0 + d / (self.total_iters * self.start_factor + (self.last_epoch - 1) * d)
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        t = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * t)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every step: lr = initial_lr·gamma^epoch
    when alone.

    Parameters
    ----------
    optimizer : Optimizer
    gamma : float > 0
    last_epoch : int, default -1
    """

    def __init__(self, optimizer: Any, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _real("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        if self._is_initial:
            return _group_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Polynomial decay to 0 over ``total_iters`` steps:
    lr = initial_lr·(1 − min(epoch, total_iters)/total_iters)^power when alone.

    Parameters
    ----------
    optimizer : Optimizer
    total_iters : int >= 1, default 5
    power : float >= 0, default 1
    last_epoch : int, default -1
    """

    def __init__(self, optimizer: Any, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        self.total_iters = _positive_int("total_iters", total_iters)
        self.power = _real("power", power, 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_lrs(self.optimizer)
        decay = ((1.0 - self.last_epoch / self.total_iters)
                 / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [group["lr"] * decay for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters)
                ** self.power for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing, chainable as PyTorch's: when alone
    lr = eta_min + (initial_lr − eta_min)·(1 + cos(π·epoch/T_max))/2.

    Parameters
    ----------
    optimizer : Optimizer
    T_max : int >= 1
    eta_min : float >= 0, default 0
    last_epoch : int, default -1
    """

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = _positive_int("T_max", T_max)
        self.eta_min = _real("eta_min", eta_min, 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        e, t, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return _group_lrs(self.optimizer)
        if self._step_count == 1 and e > 0:
            return [lo + (base - lo) * (1 + math.cos(e * math.pi / t)) / 2
                    for base in self.base_lrs]
        if (e - 1 - t) % (2 * t) == 0:
            return [group["lr"] + (base - lo) * (1 - math.cos(math.pi / t)) / 2
                    for base, group in zip(self.base_lrs, self.optimizer.param_groups)]
        return [(1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t))
                * (group["lr"] - lo) + lo for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):

    """SGDR: cosine from initial_lr down to eta_min over T_i epochs, then a
    restart; T_0 is the first period, each next one is T_mult times longer.
    Closed form of ``base_lrs`` (as PyTorch). ``step(epoch)`` accepts
    fractional epochs (per-batch stepping).

    Parameters
    ----------
    optimizer : Optimizer
    T_0 : int >= 1
    T_mult : int >= 1, default 1
    eta_min : float >= 0, default 0
    last_epoch : int, default -1
    """

    T_cur: float
    T_i: int

    def __init__(self, optimizer: Any, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_0 = _positive_int("T_0", T_0)
        self.T_mult = _positive_int("T_mult", T_mult)
        self.eta_min = _real("eta_min", eta_min, 0.0)
        self.T_i = self.T_0
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        cos = math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (base - self.eta_min) * (1 + cos) / 2 for base in self.base_lrs]

    def step(self, epoch: Optional[float] = None) -> None:
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            epoch = _real("epoch", epoch, 0.0)
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = _group_lrs(self.optimizer)


def _momentum_key(optimizer):
    group = optimizer.param_groups[0]
    if "betas" in group:
        return "betas"
    if "momentum" in group:
        return "momentum"
    raise ValueError("optimizer must support momentum or beta1 with cycle_momentum enabled")


def _set_momentum(optimizer, key, values):
    for group, m in zip(optimizer.param_groups, values):
        if key == "betas":
            group["betas"] = (m, group["betas"][1])
        else:
            group["momentum"] = m


class CyclicLR(LRScheduler):
    """Cyclical learning rate (Smith 2017), stepped once per batch.

    Parameters
    ----------
    optimizer : Optimizer
    base_lr, max_lr : float or list
        The cycle's bounds (per group).
    step_size_up : int, default 2000
        Batches of the rising half; ``step_size_down`` (default the same)
        of the falling half.
    mode : {"triangular", "triangular2", "exp_range"}
        Amplitude constant, halved every cycle, or scaled by gamma^iteration.
    gamma : float, default 1.0
    scale_fn : callable, optional
        Custom amplitude scale (overrides ``mode``), of the cycle number or
        the iteration per ``scale_mode``.
    scale_mode : {"cycle", "iterations"}
    cycle_momentum : bool, default True
        Cycle momentum (SGD) or beta1 (Adam family) inversely between
        ``max_momentum`` and ``base_momentum``.
    base_momentum, max_momentum : float
    """

    def __init__(self, optimizer: Any, base_lr: Union[float, Sequence[float]],
                 max_lr: Union[float, Sequence[float]], step_size_up: int = 2000,
                 step_size_down: Optional[int] = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Optional[Callable[[float], float]] = None,
                 scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum: Union[float, Sequence[float]] = 0.8,
                 max_momentum: Union[float, Sequence[float]] = 0.9,
                 last_epoch: int = -1) -> None:
        n = len(_check_optimizer(optimizer).param_groups)
        base_lrs = _per_group("base_lr", base_lr, n, 0.0)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
                group["initial_lr"] = lr
        self.max_lrs = _per_group("max_lr", max_lr, n, 0.0)
        up = float(_positive_int("step_size_up", step_size_up))
        down = float(_positive_int("step_size_down", step_size_down)) if step_size_down \
            is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"mode must be 'triangular', 'triangular2' or 'exp_range', "
                             f"got {mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"scale_fn must be callable, got {type(scale_fn).__name__}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        self.mode, self.gamma = mode, _real("gamma", gamma, 0.0, low_open=True)
        self._scale_fn_custom = scale_fn
        if scale_fn is None:
            self.scale_mode = "iterations" if mode == "exp_range" else "cycle"
        else:
            self.scale_mode = scale_mode
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            self._mkey = _momentum_key(optimizer)
            self.base_momentums = _per_group("base_momentum", base_momentum, n)
            self.max_momentums = _per_group("max_momentum", max_momentum, n)
            if last_epoch == -1:
                _set_momentum(optimizer, self._mkey, self.max_momentums)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1.0 / (2.0 ** (x - 1))
        return self.gamma ** x

    def _factors(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        s = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        return scale_factor, s

    def get_lr(self) -> List[float]:
        scale_factor, s = self._factors()
        bases = [g["initial_lr"] for g in self.optimizer.param_groups]
        lrs = [b + (m - b) * scale_factor * s for b, m in zip(bases, self.max_lrs)]
        if self.cycle_momentum:
            moms = [mx - (mx - mb) * scale_factor * s
                    for mb, mx in zip(self.base_momentums, self.max_momentums)]
            _set_momentum(self.optimizer, self._mkey, moms)
        return lrs

    def state_dict(self) -> Dict[str, Any]:
        state = super().state_dict()
        state.pop("_scale_fn_custom", None)
        return state


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018), stepped once per batch: the
    rate rises from max_lr/div_factor to max_lr over ``pct_start`` of the
    steps, then anneals to initial_lr/final_div_factor (three_phase: back to
    the initial rate first, then down). Momentum cycles inversely.

    Parameters
    ----------
    optimizer : Optimizer
    max_lr : float or list
    total_steps : int, optional
        Or ``epochs`` and ``steps_per_epoch``.
    pct_start : float, default 0.3
    anneal_strategy : {"cos", "linear"}
    cycle_momentum : bool, default True
    base_momentum, max_momentum : float, default 0.85, 0.95
    div_factor : float, default 25
    final_div_factor : float, default 1e4
    three_phase : bool, default False
    """

    def __init__(self, optimizer: Any, max_lr: Union[float, Sequence[float]],
                 total_steps: Optional[int] = None, epochs: Optional[int] = None,
                 steps_per_epoch: Optional[int] = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: Union[float, Sequence[float]] = 0.85,
                 max_momentum: Union[float, Sequence[float]] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        if total_steps is not None:
            self.total_steps = _positive_int("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_positive_int("epochs", epochs)
                                * _positive_int("steps_per_epoch", steps_per_epoch))
        else:
            raise ValueError("you must define either total_steps OR (epochs AND steps_per_epoch)")
        pct_start = _real("pct_start", pct_start, 0.0, 1.0)
        div_factor = _real("div_factor", div_factor, 0.0, low_open=True)
        final_div_factor = _real("final_div_factor", final_div_factor, 0.0, low_open=True)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        t = self.total_steps
        if three_phase:
            self._phases = [(float(pct_start * t) - 1, "initial_lr", "max_lr", "max_m", "base_m"),
                            (float(2 * pct_start * t) - 2, "max_lr", "initial_lr", "base_m",
                             "max_m"),
                            (t - 1, "initial_lr", "min_lr", "max_m", "max_m")]
        else:
            self._phases = [(float(pct_start * t) - 1, "initial_lr", "max_lr", "max_m", "base_m"),
                            (t - 1, "max_lr", "min_lr", "base_m", "max_m")]
        n = len(_check_optimizer(optimizer).param_groups)
        max_lrs = _per_group("max_lr", max_lr, n, 0.0)
        self._bounds = []
        for group, mx in zip(optimizer.param_groups, max_lrs):
            initial = mx / div_factor
            if last_epoch == -1:
                group["initial_lr"] = initial
                group["lr"] = initial
            self._bounds.append({"initial_lr": initial, "max_lr": mx,
                                 "min_lr": initial / final_div_factor})
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            self._mkey = _momentum_key(optimizer)
            self._moms = [{"base_m": b, "max_m": m} for b, m in
                          zip(_per_group("base_momentum", base_momentum, n),
                              _per_group("max_momentum", max_momentum, n))]
            if last_epoch == -1:
                _set_momentum(optimizer, self._mkey, [m["max_m"] for m in self._moms])
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> List[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"tried to step {step} times; the total number of steps is "
                             f"{self.total_steps}")
        lrs, moms = [], []
        for i, b in enumerate(self._bounds):
            start_step = 0.0
            for k, (end_step, s, e, ms, me) in enumerate(self._phases):
                if step <= end_step or k == len(self._phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(b[s], b[e], pct))
                    if self.cycle_momentum:
                        moms.append(self._anneal(self._moms[i][ms], self._moms[i][me], pct))
                    break
                start_step = end_step
        if self.cycle_momentum:
            _set_momentum(self.optimizer, self._mkey, moms)
        return lrs


def _check_schedulers(who, schedulers, optimizer):
    try:
        schedulers = list(schedulers)
    except TypeError:
        raise TypeError(f"{who} expects a list of schedulers, got "
                        f"{type(schedulers).__name__}") from None
    if not schedulers:
        raise ValueError(f"{who} expects at least one scheduler")
    if optimizer is None:
        optimizer = getattr(schedulers[0], "optimizer", None)
    for k, s in enumerate(schedulers):
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{who} does not support ReduceLROnPlateau (its step needs the "
                             f"metric), got one at index {k}")
        if not hasattr(s, "optimizer") or not hasattr(s, "step"):
            raise TypeError(f"schedulers[{k}] is not a scheduler: {type(s).__name__}")
        if s.optimizer is not optimizer:
            raise ValueError(f"scheduler {k} ({type(s).__name__}) has a different optimizer "
                             f"than {who}")
    return schedulers, optimizer


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at ``milestones``
    (each next scheduler restarts from its epoch 0, in closed form where it
    has one, as PyTorch).

    Parameters
    ----------
    optimizer : Optimizer
    schedulers : list of LRScheduler
        Built on ``optimizer``; ReduceLROnPlateau is not accepted.
    milestones : list of int
        ``len(schedulers) − 1`` increasing epochs.
    last_epoch : int, default -1
    """

    _schedulers: List[Any]
    _milestones: List[int]

    def __init__(self, optimizer: Any, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        schedulers, _ = _check_schedulers("SequentialLR", schedulers, optimizer)
        milestones = [_positive_int(f"milestones[{i}]", m, 0) for i, m in enumerate(milestones)]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"expected {len(schedulers) - 1} milestones (one fewer than the "
                             f"schedulers), got {len(milestones)}")
        if milestones != sorted(milestones):
            raise ValueError(f"milestones must be increasing, got {milestones}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral) \
                or last_epoch < -1:
            raise ValueError(f"last_epoch must be an int >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = int(last_epoch) + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._recursive_undo()
        idx = bisect.bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def _recursive_undo(self, sched=None):
        """Undo the step each scheduler's constructor took."""
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self._recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s._update_lr(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def state_dict(self) -> Dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        state = dict(state_dict)
        subs = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, sd in zip(self._schedulers, subs):
            s.load_state_dict(sd)


class ChainedScheduler(LRScheduler):
    """Step several schedulers of one optimizer together, each step calling
    every scheduler's ``step()`` in order (their chainable forms compose).

    Parameters
    ----------
    schedulers : list of LRScheduler
        ReduceLROnPlateau is not accepted.
    optimizer : Optimizer, optional
        Default the first scheduler's; all must share it.
    """

    _schedulers: List[Any]

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Any = None) -> None:
        self._schedulers, optimizer = _check_schedulers("ChainedScheduler", schedulers,
                                                        optimizer)
        self.optimizer = optimizer
        self._last_lr = _group_lrs(self._schedulers[-1].optimizer)

    def step(self) -> None:  # type: ignore[override]
        for s in self._schedulers:
            s.step()
        self._last_lr = _group_lrs(self._schedulers[-1].optimizer)

    def state_dict(self) -> Dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        state = dict(state_dict)
        subs = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, sd in zip(self._schedulers, subs):
            s.load_state_dict(sd)


class ReduceLROnPlateau:
    """Reduce the rate by ``factor`` when a metric has stopped improving
    for ``patience`` epochs (torch.optim.lr_scheduler.ReduceLROnPlateau).

    Parameters
    ----------
    optimizer : Optimizer
    mode : {"min", "max"}
    factor : float in (0, 1), default 0.1
    patience : int >= 0, default 10
    threshold : float >= 0, default 1e-4
    threshold_mode : {"rel", "abs"}
        Improvement means ``a < best·(1 − threshold)`` ("rel", min mode) or
        ``a < best − threshold`` ("abs").
    cooldown : int >= 0, default 0
        Epochs to wait after a reduction before counting bad epochs again.
    min_lr : float or list, default 0
    eps : float >= 0, default 1e-8
        Reductions smaller than eps are skipped.

    See Also
    --------
    fastnn.callbacks.ReduceLROnPlateau : Keras' version (names, absolute
        ``min_delta``), as a callback of ``fit``.
    """

    def __init__(self, optimizer: Any, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: Union[float, Sequence[float]] = 0.0,
                 eps: float = 1e-8) -> None:
        _check_optimizer(optimizer)
        self.factor = _real("factor", factor, 0.0, 1.0, True, True)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.optimizer = optimizer
        self.min_lrs = _per_group("min_lr", min_lr, len(optimizer.param_groups), 0.0)
        # a scalar min_lr also holds for groups added later (None: one per group)
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else self.min_lrs[0]
        self.patience = _positive_int("patience", patience, 0)
        self.threshold = _real("threshold", threshold, 0.0)
        self.threshold_mode, self.mode = threshold_mode, mode
        self.cooldown = _positive_int("cooldown", cooldown, 0)
        self.eps = _real("eps", eps, 0.0)
        self.cooldown_counter = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.last_epoch = 0
        self._last_lr = _group_lrs(optimizer)

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def step(self, metrics: float) -> None:
        """Record this epoch's metric; reduce the rate if it has plateaued."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            groups = self.optimizer.param_groups
            if len(groups) != len(self.min_lrs):
                default = getattr(self, "default_min_lr", None)
                if default is None:
                    raise RuntimeError(
                        f"the optimizer has {len(groups)} param groups but "
                        f"ReduceLROnPlateau was given {len(self.min_lrs)} min_lr values "
                        f"(a param group was added since): set its min_lrs to one per group")
                self.min_lrs = [default] * len(groups)
            for group, min_lr in zip(groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _group_lrs(self.optimizer)

    def get_last_lr(self) -> List[float]:
        return list(self._last_lr)

    def state_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
