"""Training loops over arrays: fit, evaluate, predict, history and callbacks.

:func:`fit` runs mini-batch training of a :class:`fastnn.nn.Module`: each
step gathers a batch into a reused buffer, runs forward, the fused loss
and gradient, backward and one fused optimizer step. Shuffling uses
``numpy.random.default_rng(seed)``; layers draw their initial weights and
dropout masks from counter-based streams and every kernel is deterministic,
so the same seeds give bitwise the same trained weights for any thread
count.
"""
import math
import numbers
import os
import sys

import numpy as np

from fastnn import optim as _optim
from fastnn.nn.losses import CrossEntropyLoss, get_loss
from fastnn.nn.module import Module, inference_mode

__all__ = ["History", "Callback", "EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint",
           "ProgressBar", "fit", "evaluate", "predict", "get_optimizer"]

_OPTIMIZERS = {"sgd": _optim.SGD, "adagrad": _optim.Adagrad, "rmsprop": _optim.RMSprop,
               "adam": _optim.Adam, "adamw": _optim.AdamW, "nadam": _optim.NAdam,
               "radam": _optim.RAdam, "lion": _optim.Lion}


def get_optimizer(optimizer, params, lr=None):
    """An optimizer from a name ("adam", "sgd", ...) over ``params``, or
    an :class:`fastnn.optim.Optimizer` or a wrapper of one such as
    :class:`fastnn.pruning.MaskedOptimizer` (returned as is)."""
    if isinstance(optimizer, _optim.Optimizer) or \
            isinstance(getattr(optimizer, "optimizer", None), _optim.Optimizer):
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a str or an Optimizer, got {type(optimizer).__name__}")
    key = optimizer.lower()
    if key not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; valid names: {sorted(_OPTIMIZERS)}")
    kwargs = {} if lr is None else {"lr": lr}
    return _OPTIMIZERS[key](params, **kwargs)


class History:
    """Per-epoch records of :func:`fit`: ``history["loss"]``,
    ``history["val_loss"]``, metrics and ``"lr"``; ``epoch`` lists the epochs run."""

    def __init__(self):
        self.history = {}
        self.epoch = []

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return self.history[key]

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


class Callback:
    """Base of the callbacks. ``self.model`` and ``self.trainer`` (with
    ``optimizer``, ``stop_training``, the training data ``x``, ``y`` and the
    ``loss``) are set before training starts."""

    model = None
    trainer = None

    def on_train_begin(self, logs):
        pass

    def on_epoch_begin(self, epoch, logs):
        pass

    def on_batch_end(self, batch, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self, logs):
        pass


def _improves(value, best, mode, min_delta):
    """Whether ``value`` beats ``best`` by more than ``min_delta`` ("min": lower
    is better, "max": higher is better)."""
    if mode == "min":
        return value < best - min_delta
    return value > best + min_delta


def _monitor_mode(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
    return mode


def _get_monitor(logs, monitor):
    if monitor not in logs:
        raise KeyError(f"monitored quantity {monitor!r} is not available; available: "
                       f"{sorted(logs)}")
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for
    ``patience`` epochs (Keras semantics).

    Parameters
    ----------
    monitor : str, default "val_loss"
    min_delta : float, default 0
    patience : int, default 0
    mode : {"auto", "min", "max"}
    baseline : float, optional
        Stop if the monitored value does not beat it.
    restore_best_weights : bool, default False
        Restore the weights of the best epoch when stopping (or at the end).
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 baseline=None, restore_best_weights=False):
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.mode = _monitor_mode(monitor, mode)
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.stopped_epoch = None
        self.best_epoch = None

    def _better(self, a, b):
        return _improves(a, b, self.mode, self.min_delta)

    def on_train_begin(self, logs):
        self.wait = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        if self.baseline is not None:
            self.best = float(self.baseline)
        self.best_weights = None
        self.stopped_epoch = None
        self.best_epoch = None

    def on_epoch_end(self, epoch, logs):
        value = _get_monitor(logs, self.monitor)
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.state_dict()
        self.wait += 1
        if self._better(value, self.best):
            self.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Reduce the optimizer's rate when ``monitor`` plateaus (Keras names
    over :class:`fastnn.optim.lr_scheduler.ReduceLROnPlateau`).

    Parameters
    ----------
    monitor : str, default "val_loss"
    factor : float, default 0.1
    patience : int, default 10
    mode : {"auto", "min", "max"}
    min_delta : float, default 1e-4
        The threshold (relative, as PyTorch's default threshold_mode="rel",
        unless ``threshold_mode="abs"``).
    threshold_mode : {"rel", "abs"}
    cooldown : int, default 0
    min_lr : float, default 0
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto",
                 min_delta=1e-4, threshold_mode="rel", cooldown=0, min_lr=0.0):
        self.monitor = monitor
        self.kwargs = dict(mode=_monitor_mode(monitor, mode), factor=factor, patience=patience,
                           threshold=min_delta, threshold_mode=threshold_mode,
                           cooldown=cooldown, min_lr=min_lr)
        if factor >= 1.0:
            raise ValueError("factor should be < 1.0")
        self.scheduler = None

    def on_train_begin(self, logs):
        self.scheduler = _optim.lr_scheduler.ReduceLROnPlateau(self.trainer.optimizer,
                                                               **self.kwargs)

    def on_epoch_end(self, epoch, logs):
        self.scheduler.step(_get_monitor(logs, self.monitor))


class ModelCheckpoint(Callback):
    """Save the model's ``state_dict`` to an ``.npz`` after each epoch.

    Parameters
    ----------
    filepath : str
        May contain ``{epoch}`` and log keys, e.g. ``"ckpt-{epoch:02d}.npz"``.
    monitor : str, default "val_loss"
    save_best_only : bool, default False
        Only save when ``monitor`` improves.
    mode : {"auto", "min", "max"}
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto"):
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.save_best_only = bool(save_best_only)
        self.mode = _monitor_mode(monitor, mode)
        self.saved = []

    def on_train_begin(self, logs):
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs):
        if self.save_best_only:
            value = _get_monitor(logs, self.monitor)
            if not (value < self.best if self.mode == "min" else value > self.best):
                return
            self.best = value
        path = self.filepath.format(epoch=epoch + 1, **logs)
        self.model.save(path)
        self.saved.append(path)


class ProgressBar(Callback):
    """A tqdm progress bar over the batches of each epoch, with the running
    loss; does nothing when tqdm is not installed."""

    def __init__(self, file=None):
        self.file = file
        self.bar = None
        try:
            import tqdm  # noqa: F401
            self.available = True
        except ImportError:
            self.available = False

    def on_epoch_begin(self, epoch, logs):
        if self.available:
            import tqdm
            self.bar = tqdm.tqdm(total=self.trainer.n_batches, desc=f"epoch {epoch + 1}",
                                 file=self.file or sys.stderr, leave=False)

    def on_batch_end(self, batch, logs):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs):
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()
                                  if isinstance(v, float)}, refresh=False)
            self.bar.close()
            self.bar = None


class _Trainer:
    """What callbacks see of a :func:`fit` run: ``optimizer``, ``n_batches``,
    ``stop_training``, the training data ``x``, ``y`` (after any validation
    split) and the ``loss`` object."""

    def __init__(self, optimizer, n_batches, x=None, y=None, loss=None):
        self.optimizer = optimizer
        self.n_batches = n_batches
        self.stop_training = False
        self.x, self.y, self.loss = x, y, loss


def _check_xy(x, y, name="x"):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"{name} must have at least one sample, got shape {x.shape}")
    if y is not None:
        if not isinstance(y, np.ndarray):
            raise TypeError(f"y must be a numpy.ndarray, got {type(y).__name__}")
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but y has {y.shape[0]}")


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    return int(batch_size)


def _metric_fns(metrics, loss):
    if metrics is None:
        metrics = ["accuracy"] if isinstance(loss, CrossEntropyLoss) else []
    fns = {}
    for m in metrics:
        if m in ("accuracy", "acc"):
            fns["accuracy"] = lambda out, t: int(np.count_nonzero(out.argmax(axis=1) == t))
        elif callable(m):
            fns[getattr(m, "__name__", "metric")] = m
        else:
            raise ValueError(f"unknown metric {m!r}: 'accuracy' or a callable "
                             f"fn(output, target) returning a count/sum over the batch")
    return fns


class _Batches:
    """Gathers batches into reused buffers (one per batch shape)."""

    def __init__(self):
        self._bufs = {}

    def take(self, a, idx, slot):
        key = (slot, len(idx))
        buf = self._bufs.get(key)
        if buf is None:
            buf = self._bufs[key] = np.empty((len(idx),) + a.shape[1:], a.dtype)
        np.take(a, idx, axis=0, out=buf)
        return buf


def evaluate(model, x, y, *, loss="cross_entropy", batch_size=256, metrics=None,
             blas_threads=1):
    """Mean loss (and metrics) of ``model`` in eval mode over ``(x, y)``.

    Parameters
    ----------
    model : Module
    x, y : ndarray
    loss : str or Loss
    batch_size : int
    metrics : list, optional
        Default ``["accuracy"]`` with cross-entropy.
    blas_threads : int or None, default 1
        As in :func:`fit`.

    Returns
    -------
    dict
        ``{"loss": ..., "accuracy": ...}``.
    """
    _check_xy(x, y)
    batch_size = _check_batch_size(batch_size)
    loss = get_loss(loss)
    with _blas_limit(blas_threads):
        return _evaluate(model, x, y, loss, batch_size, _metric_fns(metrics, loss))


def _evaluate(model, x, y, loss, batch_size, fns):
    was_training = model.training
    model.eval()
    total, sums = 0.0, {k: 0.0 for k in fns}
    n = x.shape[0]
    mean = getattr(loss, "reduction", "mean") == "mean"
    try:
        for start in range(0, n, batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            out = model.forward(np.ascontiguousarray(xb))
            value = loss.forward(out, yb)
            total += value * len(xb) if mean else value
            for k, fn in fns.items():
                sums[k] += fn(out, yb)
    finally:
        model.train(was_training)
    logs = {"loss": total / n}
    logs.update({k: v / n for k, v in sums.items()})
    return logs


def predict(model, x, *, batch_size=256, blas_threads=1):
    """The model's outputs in eval mode, computed in batches (``blas_threads``
    as in :func:`fit`).

    Returns
    -------
    ndarray
        ``model(x)`` for all samples (a new array).
    """
    _check_xy(x, None)
    batch_size = _check_batch_size(batch_size)
    # eval mode for this thread only: other threads may use the model at once
    with inference_mode(model), _blas_limit(blas_threads):
        outs = [np.array(model.forward(np.ascontiguousarray(x[s:s + batch_size])),
                         copy=True) for s in range(0, x.shape[0], batch_size)]
    return np.concatenate(outs, axis=0)


def fit(model, x, y, *, loss="cross_entropy", optimizer="adam", lr=None, epochs=1,
        batch_size=32, validation_data=None, validation_split=0.0, shuffle=True, seed=0,
        callbacks=(), metrics=None, scheduler=None, scheduler_interval=None, verbose=0,
        blas_threads=1, n_threads=None, transform=None):
    """Train ``model`` on ``(x, y)`` with mini-batches.

    Parameters
    ----------
    model : Module
    x : ndarray, (n_samples, ...), the model's dtype
    y : ndarray, (n_samples, ...)
        Integer labels for cross-entropy, targets otherwise.
    loss : str or Loss, default "cross_entropy"
    optimizer : str or Optimizer, default "adam"
        A name builds that optimizer over ``model.parameters()`` (with ``lr``).
    lr : float, optional
    epochs : int, default 1
    batch_size : int, default 32
    validation_data : (x_val, y_val), optional
    validation_split : float in [0, 1), default 0
        Fraction of the samples, taken from the end before shuffling (as
        Keras), held out for validation.
    shuffle : bool, default True
    seed : int, default 0
        Seed of the shuffling.
    callbacks : list of Callback
    metrics : list, optional
        Default ``["accuracy"]`` with cross-entropy.
    scheduler : LRScheduler or ReduceLROnPlateau, optional
        Stepped every epoch (ReduceLROnPlateau with ``val_loss``, or ``loss``
        without validation), or every batch when ``scheduler_interval`` is
        "batch" (the default for CyclicLR and OneCycleLR).
    scheduler_interval : {"epoch", "batch"}, optional
    verbose : int, default 0
        1 shows a tqdm progress bar (skipped if tqdm is missing).
    blas_threads : int or None, default 1
        BLAS threads during training (threadpoolctl); None leaves BLAS as
        configured. One is the default because a mini-batch step's matrices
        are small: measured on a 2-core machine shared with other work,
        OpenBLAS with 2 threads made an epoch of a 784-512-256-10 MLP at
        batch 128 five times slower than with 1 (threads spinning against
        each other and against fastnn's OpenMP threads).
    n_threads : int, optional
        fastnn's threads during training (:func:`fastnn.threads`); default
        :func:`fastnn.get_num_threads`.
    transform : callable, optional
        Per-batch transform of the training batches, ``(xb, yb) -> (xb, yb)``,
        e.g. a :class:`fastnn.augment.Compose` pipeline. Validation data is
        not transformed.

    Returns
    -------
    History
    """
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be callable, got {type(transform).__name__}")
    with _blas_limit(blas_threads), _fastnn_threads(n_threads):
        return _fit(model, x, y, loss, optimizer, lr, epochs, batch_size, validation_data,
                    validation_split, shuffle, seed, callbacks, metrics, scheduler,
                    scheduler_interval, verbose, transform)


def _fastnn_threads(n_threads):
    import contextlib

    if n_threads is None:
        return contextlib.nullcontext()
    from fastnn import threads
    return threads(n_threads)


def _blas_limit(blas_threads):
    import contextlib

    if blas_threads is None:
        return contextlib.nullcontext()
    if isinstance(blas_threads, bool) or not isinstance(blas_threads, numbers.Integral) \
            or blas_threads < 1:
        raise ValueError(f"blas_threads must be an int >= 1 or None, got {blas_threads!r}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()
    return threadpool_limits(int(blas_threads), user_api="blas")


def _fit(model, x, y, loss, optimizer, lr, epochs, batch_size, validation_data,
         validation_split, shuffle, seed, callbacks, metrics, scheduler, scheduler_interval,
         verbose, transform=None):
    if not isinstance(model, Module):
        raise TypeError(f"model must be a fastnn.nn.Module, got {type(model).__name__}")
    _check_xy(x, y)
    batch_size = _check_batch_size(batch_size)
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if not 0.0 <= float(validation_split) < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    loss = get_loss(loss)
    fns = _metric_fns(metrics, loss)
    opt = get_optimizer(optimizer, model.parameters(), lr)
    if validation_data is None and validation_split > 0:
        n_val = int(x.shape[0] * validation_split)
        if n_val < 1:
            raise ValueError("validation_split leaves no validation sample")
        validation_data = (x[-n_val:], y[-n_val:])
        x, y = x[:-n_val], y[:-n_val]
    if validation_data is not None:
        _check_xy(validation_data[0], validation_data[1], "validation_data[0]")
    if scheduler_interval is None:
        per_batch = isinstance(scheduler, (_optim.lr_scheduler.CyclicLR,
                                           _optim.lr_scheduler.OneCycleLR))
    elif scheduler_interval in ("epoch", "batch"):
        per_batch = scheduler_interval == "batch"
    else:
        raise ValueError(f"scheduler_interval must be 'epoch' or 'batch', "
                         f"got {scheduler_interval!r}")
    plateau = isinstance(scheduler, _optim.lr_scheduler.ReduceLROnPlateau)

    n = x.shape[0]
    n_batches = -(-n // batch_size)
    trainer = _Trainer(opt, n_batches, x, y, loss)
    callbacks = list(callbacks)
    if verbose:
        callbacks.append(ProgressBar())
    for cb in callbacks:
        cb.model, cb.trainer = model, trainer
    history = History()
    rng = np.random.default_rng(seed)
    batches = _Batches()
    order = np.arange(n)
    mean = getattr(loss, "reduction", "mean") == "mean"
    model.train()
    for cb in callbacks:
        cb.on_train_begin({})
    for epoch in range(epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch, {})
        if shuffle:
            order = rng.permutation(n)
        total, sums = 0.0, {k: 0.0 for k in fns}
        for b in range(n_batches):
            idx = order[b * batch_size:(b + 1) * batch_size]
            xb = batches.take(x, idx, "x")
            yb = batches.take(y, idx, "y")
            if transform is not None:
                xb, yb = transform(xb, yb)
            model.zero_grad()
            out = model.forward(xb)
            value = loss.forward(out, yb)
            for k, fn in fns.items():
                sums[k] += fn(out, yb)
            model.backward(loss.backward(), input_grad=False)
            opt.step()
            if scheduler is not None and per_batch:
                scheduler.step()
            total += value * len(idx) if mean else value
            for cb in callbacks:
                cb.on_batch_end(b, {"loss": value})
        logs = {"loss": total / n}
        logs.update({k: v / n for k, v in sums.items()})
        penalty = model.penalty()
        if penalty:
            logs["penalty"] = penalty
        if validation_data is not None:
            val = _evaluate(model, validation_data[0], validation_data[1], loss,
                            max(batch_size, 256), fns)
            logs.update({"val_" + k: v for k, v in val.items()})
        logs["lr"] = float(opt.param_groups[0]["lr"])
        if scheduler is not None and not per_batch:
            if plateau:
                scheduler.step(logs.get("val_loss", logs["loss"]))
            else:
                scheduler.step()
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        history.append(epoch, logs)
        if trainer.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end({})
    return history
