"""Callbacks of :func:`fastnn.training.fit`, and the state they see.

A callback subclasses :class:`Callback` and overrides some of its hooks::

    on_train_begin(logs)          once, after the callbacks are attached
    on_epoch_begin(epoch, logs)   epoch counted from 0
    on_batch_begin(batch, logs)   before the forward pass of a batch
    on_batch_end(batch, logs)     after the optimizer step; logs["loss"], logs["size"]
    on_epoch_end(epoch, logs)     logs: "loss", metrics, "val_*", "lr"; may add keys
    on_train_end(logs)            once, also after early stopping

``logs`` is always a dict (empty where nothing is known). Before the first
hook, a training loop sets ``callback.model`` (the module being trained) and
``callback.trainer`` (a :class:`TrainerState`: the optimizer, the number of
epochs and batches, the training data, the loss, the names of the logs to
come and ``stop_training``, which a callback sets to end training after the
current epoch). :class:`CallbackList` calls the hooks of several callbacks
in order; any loop (the single-process :func:`fastnn.training.fit`, or a
distributed one) drives callbacks through it.

This module imports neither :mod:`fastnn.training` nor :mod:`fastnn.nn`, so
:mod:`fastnn.growth`, :mod:`fastnn.pruning` and other training loops build on
it without an import cycle. The monitor helpers :func:`monitor_mode`,
:func:`improves` and :func:`get_monitor` give every plateau-watching callback
the same conventions.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import string
import sys
import warnings
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from fastnn._checks import check_finite_real

__all__ = ["Callback", "CallbackList", "TrainerState", "EarlyStopping", "ReduceLROnPlateau",
           "ModelCheckpoint", "ProgressBar", "monitor_mode", "improves", "get_monitor",
           "checkpoint_path", "save_checkpoint", "load_checkpoint"]

Logs = Dict[str, Any]


# ---------------------------------------------------------------- monitor helpers


def monitor_mode(monitor: str, mode: str = "auto") -> str:
    """Direction of improvement of a monitored quantity.

    Parameters
    ----------
    monitor : str
        A logs key such as ``"val_loss"`` or ``"val_accuracy"``.
    mode : {"auto", "min", "max"}
        "auto" (Keras) means "max" for names containing "acc" or ending in
        "auc", else "min".

    Returns
    -------
    str
        "min" (lower is better) or "max".
    """
    if not isinstance(monitor, str):
        raise TypeError(f"monitor must be a str, got {type(monitor).__name__}")
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
    return mode


def improves(value: float, best: float, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` (absolute,
    as Keras): ``value < best − min_delta`` in "min" mode,
    ``value > best + min_delta`` in "max" mode."""
    if mode == "min":
        return value < best - min_delta
    if mode == "max":
        return value > best + min_delta
    raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")


def get_monitor(logs: Mapping[str, Any], monitor: str) -> float:
    """``logs[monitor]`` as a float; KeyError listing the available keys
    when it is missing."""
    if monitor not in logs:
        raise KeyError(f"monitored quantity {monitor!r} is not available; available: "
                       f"{sorted(logs)}")
    return float(logs[monitor])


def _no_validation(trainer, key):
    """Whether ``key`` is a validation log that the run will never produce:
    fit logs ``val_*`` keys only with validation data. (Other unknown keys
    are only reported at the end of an epoch: another callback may add them.)"""
    names = getattr(trainer, "metrics_names", None)
    return names is not None and key.startswith("val_") and \
        not any(k.startswith("val_") for k in names)


def _check_monitor_available(trainer, monitor, who):
    """Raise before training when ``monitor`` is a ``val_*`` key and the run
    has no validation data."""
    if _no_validation(trainer, monitor):
        raise ValueError(f"{who} monitors {monitor!r}, but fit has no validation data (pass "
                         f"validation_data or validation_split, or monitor e.g. "
                         f"{monitor[4:]!r})")


_check_real = check_finite_real


def _check_int(name, value, low=0):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


# ---------------------------------------------------------------- base classes


class TrainerState:
    """What callbacks see of a training run (``callback.trainer``).

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer stepping the model (a wrapper such as
        :class:`fastnn.pruning.MaskedOptimizer` included).
    n_batches : int
        Batches per epoch.
    x, y : ndarray, optional
        The training data (after any validation split).
    loss : Loss, optional
    epochs : int, optional
        The index one past the last epoch to run.
    initial_epoch : int, default 0
        The first epoch to run (resumed training).
    metrics_names : sequence of str, optional
        The keys the epoch logs will have ("loss", metrics, "val_*", "lr");
        None when unknown (then callbacks do not check their monitor early).

    Attributes
    ----------
    stop_training : bool
        Set it to True to end training after the current epoch.
    """

    def __init__(self, optimizer: Any, n_batches: int, x: Optional[np.ndarray] = None,
                 y: Optional[np.ndarray] = None, loss: Any = None, *,
                 epochs: Optional[int] = None, initial_epoch: int = 0,
                 metrics_names: Optional[Sequence[str]] = None) -> None:
        self.optimizer = optimizer
        self.n_batches = n_batches
        self.stop_training = False
        self.x, self.y, self.loss = x, y, loss
        self.epochs = epochs
        self.initial_epoch = initial_epoch
        self.metrics_names = None if metrics_names is None else list(metrics_names)


class Callback:
    """Base of the callbacks: every hook does nothing.

    ``self.model`` and ``self.trainer`` (a :class:`TrainerState`) are set
    by :meth:`set_model` and :meth:`set_trainer` before ``on_train_begin``.
    See the module docstring for when each hook runs and what its logs hold.
    """

    model: Any = None
    trainer: Optional[TrainerState] = None

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_trainer(self, trainer: TrainerState) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: Optional[Logs] = None) -> None:
        pass

    def on_train_end(self, logs: Optional[Logs] = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: Optional[Logs] = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Optional[Logs] = None) -> None:
        pass

    def on_batch_begin(self, batch: int, logs: Optional[Logs] = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: Optional[Logs] = None) -> None:
        pass


class CallbackList(Callback):
    """Several callbacks called in order, each hook with the same logs dict.

    Parameters
    ----------
    callbacks : iterable of Callback
    model : Module, optional
    trainer : TrainerState, optional
    """

    def __init__(self, callbacks: Iterable[Callback] = (), model: Any = None,
                 trainer: Optional[TrainerState] = None) -> None:
        self.callbacks = list(callbacks)
        for i, cb in enumerate(self.callbacks):
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks[{i}] must be a fastnn.callbacks.Callback, got "
                                f"{type(cb).__name__}")
        if model is not None:
            self.set_model(model)
        if trainer is not None:
            self.set_trainer(trainer)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_model(self, model: Any) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_trainer(self, trainer: TrainerState) -> None:
        self.trainer = trainer
        for cb in self.callbacks:
            cb.set_trainer(trainer)

    def on_train_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_batch_end(batch, logs)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)


# ---------------------------------------------------------------- Keras callbacks


def _worst(mode: str) -> float:
    """The starting "best" value of a monitored quantity: one every value beats."""
    return math.inf if mode == "min" else -math.inf


def _architecture(model: Any) -> tuple:
    """The names and shapes of the model's parameters and buffers: what a
    state dict must match to be loaded into it."""
    return tuple((name, np.shape(a)) for name, a in
                 list(model.named_parameters()) + list(model.named_buffers()))


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for
    ``patience`` epochs (Keras semantics).

    Parameters
    ----------
    monitor : str, default "val_loss"
    min_delta : float, default 0
        Smallest absolute change that counts as an improvement.
    patience : int, default 0
    mode : {"auto", "min", "max"}
    baseline : float, optional
        Stop if the monitored value does not beat it.
    restore_best_weights : bool, default False
        Restore the weights of the best epoch when stopping (or at the end).
        Only weights that fit the model can be restored: when the model's
        parameters change shape during training (a
        :class:`fastnn.growth.GrowOnPlateau` growth), the snapshot of the
        former architecture is dropped and the best epoch since the change
        is kept instead. If that is not the best epoch overall, the restore
        warns (RuntimeWarning) naming both epochs; if the model changed shape
        after the last snapshot (a growth at the last epoch, by a callback
        after this one), the weights are left as they are, with a warning.
        Stopping is unaffected: a grown network computes the same function,
        so it has to beat the best value of any earlier epoch.

    Attributes
    ----------
    stopped_epoch, best_epoch : int or None
    restored_epoch : int or None
        The epoch whose weights were restored at the end (None if none was).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", baseline: Optional[float] = None,
                 restore_best_weights: bool = False) -> None:
        self.monitor = monitor
        self.mode = monitor_mode(monitor, mode)
        self.min_delta = abs(_check_real("min_delta", min_delta))
        self.patience = _check_int("patience", patience)
        self.baseline = None if baseline is None else _check_real("baseline", baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.stopped_epoch: Optional[int] = None
        self.best_epoch: Optional[int] = None
        self.restored_epoch: Optional[int] = None

    def _better(self, a, b):
        return improves(a, b, self.mode, self.min_delta)

    def on_train_begin(self, logs=None):
        _check_monitor_available(self.trainer, self.monitor, "EarlyStopping")
        self.wait = 0
        self.best = _worst(self.mode)
        if self.baseline is not None:
            self.best = self.baseline
        self.best_weights = None
        self.stopped_epoch = None
        self.best_epoch = None
        self.restored_epoch = None
        # the snapshot: its epoch, its value (the best of the model's current
        # architecture) and that architecture
        self._weights_epoch: Optional[int] = None
        self._weights_best = self.best
        self._weights_arch: Optional[tuple] = None

    def _snapshot(self, epoch, value):
        arch = _architecture(self.model)
        if self.best_weights is not None and arch != self._weights_arch:
            # the parameters changed shape (a growth): the snapshot cannot be
            # loaded any more; keep the best epoch of the new architecture
            self.best_weights = None
            self._weights_best = _worst(self.mode)
        better = self._better(value, self._weights_best)
        if better:
            self._weights_best = value
        if better or self.best_weights is None:
            self.best_weights = self.model.state_dict()
            self._weights_epoch = epoch
            self._weights_arch = arch

    def on_epoch_end(self, epoch, logs=None):
        value = get_monitor(logs or {}, self.monitor)
        if self.restore_best_weights:
            self._snapshot(epoch, value)
        self.wait += 1
        if self._better(value, self.best):
            self.best = value
            self.best_epoch = epoch
            self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs=None):
        if not self.restore_best_weights or self.best_weights is None:
            return
        if _architecture(self.model) != self._weights_arch:
            warnings.warn(f"EarlyStopping: the weights of epoch {self._weights_epoch} are not "
                          f"restored: the model's parameters changed shape after that epoch "
                          f"(e.g. a GrowOnPlateau growth at the last epoch); the model keeps "
                          f"its last weights", RuntimeWarning, stacklevel=2)
            return
        if self.best_epoch is not None and self.best_epoch != self._weights_epoch:
            warnings.warn(f"EarlyStopping: the best epoch ({self.best_epoch}) came before the "
                          f"model's parameters changed shape (e.g. a GrowOnPlateau growth), so "
                          f"its weights do not fit the model; restoring the best epoch since "
                          f"the change ({self._weights_epoch}) instead",
                          RuntimeWarning, stacklevel=2)
        self.model.load_state_dict(self.best_weights)
        self.restored_epoch = self._weights_epoch


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not
    improved for ``patience`` epochs (``keras.callbacks.ReduceLROnPlateau``).

    An epoch improves when the value beats the best so far by more than
    ``min_delta`` (absolute, as in Keras). After ``patience`` epochs in a row
    without improvement the rate of every param group becomes
    ``max(lr·factor, min_lr)``, the count restarts, and the next
    ``cooldown`` epochs are not counted.

    Parameters
    ----------
    monitor : str, default "val_loss"
    factor : float in (0, 1), default 0.1
    patience : int >= 0, default 10
    verbose : int, default 0
        1 prints a line at each reduction.
    mode : {"auto", "min", "max"}
    min_delta : float >= 0, default 1e-4
    cooldown : int >= 0, default 0
    min_lr : float >= 0, default 0

    Notes
    -----
    Keras counts ``wait >= patience``; PyTorch's scheduler of the same name
    reduces one epoch later (``num_bad_epochs > patience``) and by default
    uses a relative threshold. Use
    :class:`fastnn.optim.lr_scheduler.ReduceLROnPlateau` as ``fit``'s
    ``scheduler`` for PyTorch's semantics.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        self.monitor = monitor
        self.mode = monitor_mode(monitor, mode)
        self.factor = _check_real("factor", factor, 0.0, 1.0, True, True)
        self.patience = _check_int("patience", patience)
        self.verbose = int(verbose)
        self.min_delta = _check_real("min_delta", min_delta, 0.0)
        self.cooldown = _check_int("cooldown", cooldown)
        self.min_lr = _check_real("min_lr", min_lr, 0.0)
        self._reset()

    def _reset(self):
        self.wait = 0
        self.cooldown_counter = 0
        self.best = _worst(self.mode)

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        _check_monitor_available(self.trainer, self.monitor, "ReduceLROnPlateau")
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = get_monitor(logs or {}, self.monitor)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if improves(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                reduced = False
                for group in self.trainer.optimizer.param_groups:
                    old = float(group["lr"])
                    if old > self.min_lr:
                        group["lr"] = max(old * self.factor, self.min_lr)
                        reduced = True
                if reduced:
                    if self.verbose:
                        lr = self.trainer.optimizer.param_groups[0]["lr"]
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning "
                              f"rate to {lr:.6g}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


# ---------------------------------------------------------------- checkpoints

_OPT_PREFIX = "__optimizer__/"


def checkpoint_path(path: "os.PathLike[str] | str") -> str:
    """The file :func:`save_checkpoint` and :meth:`fastnn.nn.Module.save`
    write for ``path``: ``path`` itself when it ends in ``.npz``, else
    ``path + ".npz"`` (as :func:`numpy.savez`)."""
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


def _encode(value):
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    return value


def _decode(value):
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {_decode(k): _decode(v) for k, v in value["__dict__"]}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _optimizer_arrays(optimizer):
    """An optimizer's state_dict as npz entries: arrays as such, everything
    else (group options, step counts) as one JSON string."""
    sd = optimizer.state_dict()
    arrays, meta_state = {}, {}
    for idx, s in sd["state"].items():
        meta_state[str(idx)] = {}
        for k, v in s.items():
            if isinstance(v, np.ndarray):
                arrays[f"{_OPT_PREFIX}{idx}/{k}"] = v
            else:
                meta_state[str(idx)][k] = _encode(v)
    meta = {"state": meta_state, "param_groups": [_encode(g) for g in sd["param_groups"]],
            "type": _state_kind(optimizer)}
    arrays[_OPT_PREFIX + "meta"] = np.array(json.dumps(meta))
    return arrays


def _optimizer_state_from(data):
    meta = json.loads(str(data[_OPT_PREFIX + "meta"]))
    state = {}
    for idx, scalars in meta["state"].items():
        state[int(idx)] = {k: _decode(v) for k, v in scalars.items()}
    for key in data.files:
        if key.startswith(_OPT_PREFIX) and key != _OPT_PREFIX + "meta":
            idx, name = key[len(_OPT_PREFIX):].split("/", 1)
            state.setdefault(int(idx), {})[name] = data[key]
    return {"state": state, "param_groups": [_decode(g) for g in meta["param_groups"]]}, \
        meta["type"]


def _state_kind(optimizer):
    """The name a checkpoint records for ``optimizer``'s state: its class, or
    its ``state_dict_kind`` when its state_dict has another optimizer's format
    (fastnn.distributed.ZeroRedundancyOptimizer saves Adam's state as Adam's,
    so the checkpoint loads into either)."""
    return getattr(optimizer, "state_dict_kind", None) or type(optimizer).__name__


def _inner_optimizer(optimizer):
    """The optimizer holding the state (unwrapping e.g. a MaskedOptimizer)."""
    inner = getattr(optimizer, "optimizer", None)
    return inner if inner is not None and hasattr(inner, "state_dict") else optimizer


def save_checkpoint(path: "os.PathLike[str] | str", model: Any,
                    optimizer: Any = None) -> str:
    """Save the model's ``state_dict`` (and the optimizer's) to one ``.npz``.

    Parameters
    ----------
    path : str or path-like
        ``.npz`` is appended when missing (see :func:`checkpoint_path`).
    model : Module
    optimizer : Optimizer, optional
        Its state (moments, step counts, param-group options such as the
        current ``lr``) is stored under ``__optimizer__/`` keys, which
        :meth:`fastnn.nn.Module.load` skips.

    Returns
    -------
    str
        The path written.
    """
    path = checkpoint_path(path)
    arrays = dict(model.state_dict())
    if optimizer is not None:
        arrays.update(_optimizer_arrays(_inner_optimizer(optimizer)))
    np.savez(path, **arrays)
    return path


def load_checkpoint(path: "os.PathLike[str] | str", model: Any, optimizer: Any = None, *,
                    strict: bool = True) -> Any:
    """Restore what :func:`save_checkpoint` saved, in place.

    Parameters
    ----------
    path : str or path-like
        The path given to :func:`save_checkpoint` (with or without ``.npz``).
    model : Module
    optimizer : Optimizer, optional
        Restored too; ValueError if the file holds no optimizer state.
    strict : bool, default True
        As in :meth:`fastnn.nn.Module.load_state_dict`.

    Returns
    -------
    model
    """
    path = checkpoint_path(path)
    with np.load(path, allow_pickle=False) as data:
        weights = {k: data[k] for k in data.files if not k.startswith(_OPT_PREFIX)}
        opt_state = None
        if optimizer is not None:
            if _OPT_PREFIX + "meta" not in data.files:
                raise ValueError(f"{path} holds no optimizer state (save it with "
                                 f"ModelCheckpoint(save_optimizer=True) or "
                                 f"save_checkpoint(path, model, optimizer))")
            opt_state, kind = _optimizer_state_from(data)
            inner = _inner_optimizer(optimizer)
            if kind != _state_kind(inner):
                raise TypeError(f"{path} holds the state of a {kind}, not of a "
                                f"{_state_kind(inner)}")
    model.load_state_dict(weights, strict=strict)
    if opt_state is not None:
        _inner_optimizer(optimizer).load_state_dict(opt_state)
    return model


def _format_fields(pattern):
    try:
        return [f for _, f, _, _ in string.Formatter().parse(pattern) if f]
    except ValueError as e:
        raise ValueError(f"filepath {pattern!r} is not a valid format string: {e}") from None


class ModelCheckpoint(Callback):
    """Save the model's ``state_dict`` to an ``.npz`` after each epoch.

    Parameters
    ----------
    filepath : str or path-like
        May contain ``{epoch}`` (from 1) and log keys, e.g.
        ``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"``; ``.npz`` is appended when
        missing. A ``val_*`` key without validation data raises ValueError
        when training starts; another missing key, KeyError at the epoch's end.
    monitor : str, default "val_loss"
    verbose : int, default 0
        1 prints a line per save.
    save_best_only : bool, default False
        Only save when ``monitor`` improves on the best so far.
    mode : {"auto", "min", "max"}
    save_optimizer : bool, default False
        Save the optimizer's state in the same file, so that
        :func:`load_checkpoint` and ``fit(..., initial_epoch=...)`` resume
        the run exactly.

    Attributes
    ----------
    saved : list of str
        The files written, in order (each exists; one written again is
        listed once, at its latest save).
    best : float
        The best value of ``monitor`` saved so far with ``save_best_only``.
        It is kept from one ``fit`` call to the next (as in Keras), so
        continuing training with the same callback only overwrites the best
        file with a better model.
    """

    def __init__(self, filepath: "os.PathLike[str] | str", monitor: str = "val_loss",
                 verbose: int = 0, save_best_only: bool = False, mode: str = "auto",
                 save_optimizer: bool = False) -> None:
        self.filepath = os.fspath(filepath)
        if not isinstance(self.filepath, str):
            raise TypeError(f"filepath must be a str or path-like, got "
                            f"{type(filepath).__name__}")
        self._fields = _format_fields(self.filepath)
        self.monitor = monitor
        self.mode = monitor_mode(monitor, mode)
        self.verbose = int(verbose)
        self.save_best_only = bool(save_best_only)
        self.save_optimizer = bool(save_optimizer)
        self.saved: List[str] = []
        self.best = _worst(self.mode)

    def on_train_begin(self, logs=None):
        for field in self._fields:
            key = field.split(".")[0].split("[")[0]
            if _no_validation(self.trainer, key):
                raise ValueError(f"ModelCheckpoint filepath {self.filepath!r} uses {{{key}}}, "
                                 f"but fit has no validation data (pass validation_data or "
                                 f"validation_split)")
        if self.save_best_only:
            _check_monitor_available(self.trainer, self.monitor, "ModelCheckpoint")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = get_monitor(logs, self.monitor)
            if not improves(value, self.best, self.mode):
                return
            self.best = value
        try:
            path = self.filepath.format(**{**logs, "epoch": epoch + 1})
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint filepath {self.filepath!r} uses {e}, not in the "
                           f"logs {sorted(logs)}") from None
        opt = self.trainer.optimizer if self.save_optimizer else None
        path = save_checkpoint(path, self.model, opt)
        if path in self.saved:
            self.saved.remove(path)
        self.saved.append(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}")


# ---------------------------------------------------------------- progress


def _format_logs(logs):
    parts = []
    for k, v in logs.items():
        if isinstance(v, (float, np.floating)):
            parts.append(f"{k}: {v:.4g}" if k == "lr" else f"{k}: {v:.4f}")
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            parts.append(f"{k}: {v}")
    return " - ".join(parts)


class ProgressBar(Callback):
    """Progress of :func:`fastnn.training.fit` (Keras' ``verbose``).

    Parameters
    ----------
    verbose : {1, 2}, default 1
        1: a tqdm bar per epoch over its batches with the running loss; at
        the end of the epoch the bar shows the epoch's logs and stays on its
        own line (Keras' leave semantics). Without tqdm installed, one plain
        line per epoch, as with 2. 2: one plain line per epoch,
        ``Epoch 3/10 - loss: 0.1234 - accuracy: 0.9650 - ...``.
    file : file-like, optional
        Where to write; default ``sys.stderr`` for the bar (as tqdm) and
        ``sys.stdout`` for the lines (as Keras), looked up when training
        starts.

    Attributes
    ----------
    available : bool
        Whether tqdm could be imported.
    """

    def __init__(self, verbose: int = 1, file: Any = None) -> None:
        if verbose not in (1, 2):
            raise ValueError(f"verbose must be 1 or 2, got {verbose!r}")
        self.verbose = verbose
        self.file = file
        self.bar = None
        try:
            import tqdm  # noqa: F401
            self.available = True
        except ImportError:
            self.available = False

    @property
    def uses_bar(self) -> bool:
        return self.verbose == 1 and self.available

    def _epochs_text(self, epoch):
        total = getattr(self.trainer, "epochs", None)
        return f"Epoch {epoch + 1}/{total}" if total else f"Epoch {epoch + 1}"

    def on_epoch_begin(self, epoch, logs=None):
        if self.uses_bar:
            import tqdm
            self.bar = tqdm.tqdm(total=self.trainer.n_batches, desc=self._epochs_text(epoch),
                                 file=self.file or sys.stderr, leave=True, unit="batch",
                                 dynamic_ncols=True)

    def on_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(1)
            if logs and "loss" in logs:
                self.bar.set_postfix_str(f"loss: {float(logs['loss']):.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        text = _format_logs(logs or {})
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)
            self.bar.close()
            self.bar = None
        else:
            print(f"{self._epochs_text(epoch)} - {text}", file=self.file or sys.stdout,
                  flush=True)

    def close(self) -> None:
        """Close the epoch's bar if one is open (:func:`fastnn.training.fit`
        calls it when training ends by an exception)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_train_end(self, logs=None):
        self.close()
