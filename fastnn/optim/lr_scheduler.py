"""Learning-rate schedules, with the names and semantics of
``torch.optim.lr_scheduler``.

A scheduler sets ``group["lr"]`` of its optimizer's param groups. As in
PyTorch, constructing it applies the epoch-0 rate, and each ``step()``
advances one epoch (or one batch, for CyclicLR and OneCycleLR). Rates are
computed in closed form from the step count and each group's initial rate
``group["initial_lr"]``. ``state_dict()`` / ``load_state_dict()`` save and
restore a scheduler for exact resumption.
"""
import bisect
import math
import numbers

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "LinearLR", "SequentialLR",
           "ReduceLROnPlateau"]


def _positive_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _per_group(name, value, n):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"expected {n} values for {name}, got {len(value)}")
        return [float(v) for v in value]
    return [float(value)] * n


class LRScheduler:
    """Base class: subclasses define ``_lr(base_lr, epoch, i)``.

    Parameters
    ----------
    optimizer : fastnn.optim.Optimizer
    last_epoch : int, default -1
        The index of the last epoch when resuming (then every group needs
        ``initial_lr``).
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{type(optimizer).__name__} is not an optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   f"when resuming an optimizer")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        self.step()

    def _lr(self, base_lr, epoch, i):
        raise NotImplementedError

    def get_lr(self):
        """The rates of the current step."""
        return [self._lr(base, self.last_epoch, i) for i, base in enumerate(self.base_lrs)]

    def get_last_lr(self):
        """The rates the latest step set."""
        return list(self._last_lr)

    def step(self, epoch=None):
        """Advance one step (or jump to ``epoch``) and set the rates."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        """Everything but the optimizer and callables."""
        return {k: v for k, v in self.__dict__.items()
                if k != "optimizer" and not callable(v)}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch})"


class StepLR(LRScheduler):
    """lr = initial_lr·gamma^⌊epoch/step_size⌋ (gamma default 0.1)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _positive_int("step_size", step_size)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, epoch, i):
        return base * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = initial_lr·gamma^k, k the number of milestones <= epoch."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, epoch, i):
        return base * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(LRScheduler):
    """lr = initial_lr·gamma^epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, epoch, i):
        return base * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr − eta_min)·(1 + cos(π·epoch/T_max))/2."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = _positive_int("T_max", T_max)
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, epoch, i):
        cos = math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (base - self.eta_min) * (1 + cos) / 2


class LinearLR(LRScheduler):
    """Linear warm-up: the factor goes from ``start_factor`` to
    ``end_factor`` over ``total_iters`` steps, then stays."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if not 0.0 < start_factor <= 1.0:
            raise ValueError("start_factor must be in (0, 1]")
        if not 0.0 <= end_factor <= 1.0:
            raise ValueError("end_factor must be in [0, 1]")
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = _positive_int("total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, epoch, i):
        t = min(epoch, self.total_iters) / self.total_iters
        return base * (self.start_factor + (self.end_factor - self.start_factor) * t)


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: cosine from initial_lr down to eta_min over T_i epochs, then a
    restart; T_0 is the first period, each next one is T_mult times longer.
    ``step(epoch)`` accepts fractional epochs (per-batch stepping)."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        self.T_0 = _positive_int("T_0", T_0)
        self.T_mult = _positive_int("T_mult", T_mult)
        self.eta_min = float(eta_min)
        self.T_i = self.T_0
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, epoch, i):
        cos = math.cos(math.pi * self.T_cur / self.T_i)
        return self.eta_min + (base - self.eta_min) * (1 + cos) / 2

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur - self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"expected a non-negative epoch, got {epoch}")
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
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self._lr(base, epoch, 0)
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]


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

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        n = len(optimizer.param_groups)
        base_lrs = _per_group("base_lr", base_lr, n)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
                group["initial_lr"] = lr
        self.max_lrs = _per_group("max_lr", max_lr, n)
        up = float(_positive_int("step_size_up", step_size_up))
        down = float(_positive_int("step_size_down", step_size_down)) if step_size_down \
            is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"mode must be 'triangular', 'triangular2' or 'exp_range', "
                             f"got {mode!r}")
        self.mode, self.gamma = mode, float(gamma)
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

    def get_lr(self):
        scale_factor, s = self._factors()
        bases = [g["initial_lr"] for g in self.optimizer.param_groups]
        lrs = [b + (m - b) * scale_factor * s for b, m in zip(bases, self.max_lrs)]
        if self.cycle_momentum:
            moms = [mx - (mx - mb) * scale_factor * s
                    for mb, mx in zip(self.base_momentums, self.max_momentums)]
            _set_momentum(self.optimizer, self._mkey, moms)
        return lrs

    def state_dict(self):
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

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        if total_steps is not None:
            self.total_steps = _positive_int("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_positive_int("epochs", epochs)
                                * _positive_int("steps_per_epoch", steps_per_epoch))
        else:
            raise ValueError("you must define either total_steps OR (epochs AND steps_per_epoch)")
        if not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"pct_start must be in [0, 1], got {pct_start}")
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
        n = len(optimizer.param_groups)
        max_lrs = _per_group("max_lr", max_lr, n)
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

    def get_lr(self):
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


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at ``milestones``
    (each next scheduler restarts from its epoch 0)."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        schedulers = list(schedulers)
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler")
        for k, s in enumerate(schedulers):
            if s.optimizer is not optimizer:
                raise ValueError(f"scheduler {k} has a different optimizer than SequentialLR")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"expected {len(schedulers) - 1} milestones, got {len(milestones)}")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = [int(m) for m in milestones]
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for s in schedulers:
            s.last_epoch -= 1
        schedulers[0]._initial_step()
        self._last_lr = schedulers[0].get_last_lr()

    def step(self, epoch=None):
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s.step(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def state_dict(self):
        return {"last_epoch": self.last_epoch, "_last_lr": self._last_lr,
                "_milestones": self._milestones,
                "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict):
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
    factor : float < 1, default 0.1
    patience : int, default 10
    threshold : float, default 1e-4
    threshold_mode : {"rel", "abs"}
        Improvement means ``a < best·(1 − threshold)`` ("rel", min mode) or
        ``a < best − threshold`` ("abs").
    cooldown : int, default 0
        Epochs to wait after a reduction before counting bad epochs again.
    min_lr : float or list, default 0
    eps : float, default 1e-8
        Reductions smaller than eps are skipped.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError("factor should be < 1.0")
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode!r} is unknown")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode!r} is unknown")
        self.optimizer = optimizer
        self.min_lrs = _per_group("min_lr", min_lr, len(optimizer.param_groups))
        self.factor, self.patience = float(factor), int(patience)
        self.threshold, self.threshold_mode, self.mode = float(threshold), threshold_mode, mode
        self.cooldown, self.eps = int(cooldown), float(eps)
        self.cooldown_counter = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def is_better(self, a, best):
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

    def step(self, metrics):
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
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self):
        return list(self._last_lr)

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
