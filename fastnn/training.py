"""Training loops over arrays: fit, evaluate, predict, history and callbacks.

:func:`fit` runs mini-batch training of a :class:`fastnn.nn.Module`: each
step gathers a batch into a reused buffer, runs forward, the fused loss
and gradient, backward and one fused optimizer step. Shuffling uses
``numpy.random.default_rng(seed)``; layers draw their initial weights and
dropout masks from counter-based streams and every kernel is deterministic,
so the same seeds give bitwise the same trained weights for any thread
count.
"""
from __future__ import annotations

import contextlib
import functools
import numbers
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from fastnn import optim as _optim
from fastnn._config import hot_threads
from fastnn.callbacks import (Callback, CallbackList, EarlyStopping, ModelCheckpoint,
                              ProgressBar, ReduceLROnPlateau, TrainerState)
from fastnn.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, Loss, get_loss
from fastnn.nn.module import Module, inference_mode, register_training

__all__ = ["History", "Callback", "CallbackList", "TrainerState", "EarlyStopping",
           "ReduceLROnPlateau", "ModelCheckpoint", "ProgressBar", "fit", "evaluate", "predict",
           "get_optimizer"]

_OPTIMIZERS = {"sgd": _optim.SGD, "adagrad": _optim.Adagrad, "rmsprop": _optim.RMSprop,
               "adam": _optim.Adam, "adamw": _optim.AdamW, "nadam": _optim.NAdam,
               "radam": _optim.RAdam, "lion": _optim.Lion}


def get_optimizer(optimizer: Any, params: Any, lr: Optional[float] = None) -> Any:
    """An optimizer from a name ("adam", "sgd", ...) over ``params``, or
    an :class:`fastnn.optim.Optimizer` or a wrapper of one such as
    :class:`fastnn.pruning.MaskedOptimizer` (returned as is).

    Parameters
    ----------
    optimizer : str or Optimizer
    params : list of Parameter
        Used when ``optimizer`` is a name.
    lr : float, optional
        The rate of an optimizer built from a name (its default otherwise).

    Returns
    -------
    Optimizer
    """
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


class History(Callback):
    """Per-epoch records of :func:`fit`: ``history["loss"]``,
    ``history["val_loss"]``, metrics and ``"lr"``; ``epoch`` lists the epochs run.

    It is the last callback of a run, so it records the keys other
    callbacks add to the logs (e.g. GrowOnPlateau's ``"width"``).
    """

    def __init__(self) -> None:
        self.history: Dict[str, List[Any]] = {}
        self.epoch: List[int] = []

    def append(self, epoch: int, logs: Dict[str, Any]) -> None:
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def on_epoch_end(self, epoch, logs=None):
        self.append(epoch, dict(logs or {}))

    def __getitem__(self, key: str) -> List[Any]:
        return self.history[key]

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


# The trainer state callbacks see (kept under its former name).
_Trainer = TrainerState


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


def _binary_accuracy(out: np.ndarray, target: np.ndarray, threshold: float) -> float:
    """Fraction of outputs on the side of ``threshold`` their 0/1 target is
    (Keras' binary_accuracy, over every output of a multi-label batch)."""
    t = np.asarray(target)
    if t.size != out.size:
        raise ValueError(f"accuracy: target has shape {t.shape} but the output has shape "
                         f"{out.shape}")
    hits = np.count_nonzero((out > threshold) == (t.reshape(out.shape) > 0.5))
    return float(hits) / max(out.size, 1)


def _logits_accuracy(out: np.ndarray, target: np.ndarray) -> float:
    """Binary accuracy of logits (BCEWithLogitsLoss): positive means class 1."""
    return _binary_accuracy(out, target, 0.0)


def _accuracy(out: np.ndarray, target: np.ndarray,
              ignore_index: Optional[int] = None) -> float:
    """Fraction of rows whose largest output is the target class; one-hot or
    probability targets (n_samples, n_classes) count their argmax, integer
    labels may also come as a column (n_samples, 1). A single output per
    sample (n_samples,) or (n_samples, 1) is a probability of class 1: binary
    accuracy with threshold 0.5 (an argmax over one column is always 0).

    Per-position outputs (N, C, d1, ..., dk) (as cross-entropy takes them)
    count every position: the argmax over axis 1 against integer labels
    (N, d1, ..., dk), or against the argmax over axis 1 of probability
    targets of the output's shape. Integer labels equal to ``ignore_index``
    (the loss's) are left out of the count, as the loss leaves them out; a
    batch without any other label has accuracy 0."""
    if out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1):
        return _binary_accuracy(out, target, 0.5)
    integer = target.dtype.kind in "iu"
    if integer and target.ndim == 2 and target.shape[1] == 1 and out.ndim == 2:
        labels = target.reshape(-1)  # labels as a column
    elif integer and target.ndim == out.ndim - 1:
        labels = target
    else:
        labels = target.argmax(axis=1) if target.ndim >= 2 else target
        integer = False
    pred = out.argmax(axis=1)
    if labels.shape != pred.shape:
        raise ValueError(f"accuracy: target has shape {target.shape}, which does not match the "
                         f"output's shape {out.shape} (labels {pred.shape} or targets "
                         f"{out.shape})")
    hits = pred == labels
    if integer and ignore_index is not None:
        kept = labels != ignore_index
        return float(np.count_nonzero(hits & kept)) / max(int(np.count_nonzero(kept)), 1)
    return float(np.count_nonzero(hits)) / max(hits.size, 1)


def _metric_fns(metrics, loss):
    """Name -> fn(output, target) returning the batch's value (a mean over
    the batch, Keras' convention); fit and evaluate average the batch values
    weighted by the batch sizes."""
    if metrics is None:
        metrics = ["accuracy"] if isinstance(loss, CrossEntropyLoss) else []
    if isinstance(metrics, (str, bytes)) or callable(metrics):
        raise TypeError(f"metrics must be a list, got {type(metrics).__name__} "
                        f"(write metrics=[{metrics!r}])")
    fns = {}
    for i, m in enumerate(metrics):
        if m in ("accuracy", "acc"):
            # Keras' "accuracy" is binary accuracy with a binary cross-entropy
            if isinstance(loss, BCEWithLogitsLoss):
                fns["accuracy"] = _logits_accuracy
            elif isinstance(loss, CrossEntropyLoss):
                # positions the loss ignores are left out of the accuracy too
                fns["accuracy"] = functools.partial(_accuracy,
                                                    ignore_index=loss.ignore_index)
            else:
                fns["accuracy"] = _accuracy
        elif callable(m):
            name = getattr(m, "__name__", None) or type(m).__name__
            fns[name if name not in fns else f"{name}_{i}"] = m
        else:
            raise ValueError(f"unknown metric {m!r}: 'accuracy' or a callable "
                             f"fn(output, target) returning the batch's mean value")
    return fns


def _metric_value(name, fn, out, target):
    value = fn(out, target)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric {name!r} returned {type(value).__name__}; a metric returns "
                        f"the batch's value as a number") from None
    return value


def _check_targets(loss, y, name="y"):
    check = getattr(loss, "check_target", None)
    if check is not None:
        check(y, name)


class _Batches:
    """Gathers batches into reused buffers (one per batch shape).

    The indices are the loop's own (a slice of a permutation of the
    samples), always in range, so the gather runs with ``mode="clip"``:
    with the default ``mode="raise"`` NumPy gathers into a temporary and
    copies it into ``out`` (measured: 48 µs against 16 µs for a batch of
    128 rows of 784 float32, 165 µs against 71 µs within an epoch).
    """

    def __init__(self):
        self._bufs = {}

    def take(self, a, idx, slot):
        key = (slot, len(idx))
        buf = self._bufs.get(key)
        if buf is None:
            buf = self._bufs[key] = np.empty((len(idx),) + a.shape[1:], a.dtype)
        np.take(a, idx, axis=0, out=buf, mode="clip")
        return buf


# Module.__dict__ key of the loss and metrics of the model's latest fit (as
# given), the defaults of evaluate (Module.__getstate__ leaves it out of copies)
_FIT_LOSS = "_fit_loss_"


def evaluate(model: Module, x: np.ndarray, y: np.ndarray, *,
             loss: Optional[Union[str, Loss]] = None, batch_size: int = 256,
             metrics: Optional[Sequence[Union[str, Callable]]] = None,
             blas_threads: Optional[int] = 1) -> Dict[str, float]:
    """Mean loss (and metrics) of ``model`` in eval mode over ``(x, y)``.

    Parameters
    ----------
    model : Module
    x, y : ndarray
    loss : str or Loss, optional
        Default: the loss of the model's latest :func:`fit` (as Keras
        evaluates with the compiled loss), else "cross_entropy".
    batch_size : int
    metrics : list, optional
        As in :func:`fit`. Default: with the default loss, the metrics of
        that fit; else ``["accuracy"]`` with cross-entropy.
    blas_threads : int or None, default 1
        As in :func:`fit`.

    Returns
    -------
    dict
        ``{"loss": ..., "accuracy": ...}``: means over the samples.
    """
    _check_xy(x, y)
    batch_size = _check_batch_size(batch_size)
    if loss is None:
        loss, fit_metrics = model.__dict__.get(_FIT_LOSS, ("cross_entropy", None))
        if metrics is None:
            metrics = fit_metrics
    loss = get_loss(loss)
    _check_targets(loss, y)
    with _blas_limit(blas_threads), hot_threads():
        return _evaluate(model, x, y, loss, batch_size, _metric_fns(metrics, loss))


def _evaluate(model, x, y, loss, batch_size, fns):
    total, sums = 0.0, {k: 0.0 for k in fns}
    n = x.shape[0]
    mean = getattr(loss, "reduction", "mean") == "mean"
    # eval mode for this thread only: other threads may use the model at once
    with inference_mode(model):
        for start in range(0, n, batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            out = model.forward(np.ascontiguousarray(xb))
            value = loss.forward(out, yb)
            total += value * len(xb) if mean else value
            for k, fn in fns.items():
                sums[k] += _metric_value(k, fn, out, yb) * len(xb)
    logs = {"loss": total / n}
    logs.update({k: v / n for k, v in sums.items()})
    return logs


def predict(model: Module, x: np.ndarray, *, batch_size: int = 256,
            blas_threads: Optional[int] = 1) -> np.ndarray:
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
    with inference_mode(model), _blas_limit(blas_threads), hot_threads():
        outs = [np.array(model.forward(np.ascontiguousarray(x[s:s + batch_size])),
                         copy=True) for s in range(0, x.shape[0], batch_size)]
    return np.concatenate(outs, axis=0)



def _check_fit_args(model, x, y, loss, metrics, epochs, batch_size, initial_epoch,
                    validation_split):
    """The checks of fit's arguments before any training, shared by :func:`fit`
    and ``fastnn.distributed``'s fit. Returns ``(batch_size, loss, metric fns)``."""
    if not isinstance(model, Module):
        raise TypeError(f"model must be a fastnn.nn.Module, got {type(model).__name__}")
    _check_xy(x, y)
    batch_size = _check_batch_size(batch_size)
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, numbers.Integral) \
            or not 0 <= initial_epoch <= epochs:
        raise ValueError(f"initial_epoch must be an int in [0, epochs={epochs}], "
                         f"got {initial_epoch!r}")
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) \
            or not 0.0 <= float(validation_split) < 1.0:
        raise ValueError(f"validation_split must be a number in [0, 1), got "
                         f"{validation_split!r}")
    loss = get_loss(loss)
    _check_targets(loss, y)
    fns = _metric_fns(metrics, loss)
    return batch_size, loss, fns


def _input_dtype(model):
    """The dtype the model's first layer takes, when it is a fastnn layer that
    requires its own dtype (Linear, PReLU, the normalizations), reached through
    Sequentials and layers that keep the dtype (activations, noise, Flatten);
    None when unknown (a custom module may convert its input)."""
    from fastnn.nn import layers as L
    from fastnn.nn.module import Sequential

    checked = (L.Linear, L.PReLU, L._BatchNorm, L.LayerNorm, L.GroupNorm)
    keeps = (L.Activation, L._Noise, L.Flatten)

    def first(m):
        if isinstance(m, Sequential):
            for child in m:
                found, done = first(child)
                if done:
                    return found, True
            return None, False
        if isinstance(m, checked):
            return m.dtype, True
        return None, not isinstance(m, keeps)

    return first(model)[0]


def _check_inputs_fit_model(model, x, validation_data, transform):
    """Inputs the model cannot take raise before training, naming the array:
    validation inputs of another dtype than the model's first layer takes,
    and (without a per-batch transform, which may convert them) training
    inputs of another dtype, or validation samples shaped unlike the
    training ones."""
    dtype = _input_dtype(model) if model is not None else None
    if transform is None and dtype is not None and x.dtype != dtype:
        raise TypeError(f"x has dtype {x.dtype} but the model's first layer is {dtype}")
    if validation_data is None:
        return
    xv = validation_data[0]
    if dtype is not None and xv.dtype != dtype:
        raise TypeError(f"validation_data[0] has dtype {xv.dtype} but the model's first "
                        f"layer is {dtype}")
    if transform is None and xv.shape[1:] != x.shape[1:]:
        raise ValueError(f"validation_data[0] has samples of shape {xv.shape[1:]} but x has "
                         f"samples of shape {x.shape[1:]}")


def _end_epoch_schedule(opt, scheduler, per_batch, plateau, logs):
    """The epoch's learning rate into ``logs``, then a per-epoch scheduler's
    step (ReduceLROnPlateau on val_loss, else loss); shared by :func:`fit`
    and ``fastnn.distributed``'s fit."""
    logs["lr"] = float(opt.param_groups[0]["lr"])
    if scheduler is not None and not per_batch:
        if plateau:
            scheduler.step(logs.get("val_loss", logs["loss"]))
        else:
            scheduler.step()


def _prepare_loop(opt, x, y, loss, fns, batch_size, epochs, initial_epoch, validation_data,
                  scheduler, scheduler_interval, model=None, transform=None):
    """Checks the validation data and the scheduler interval and builds the
    loop's state; shared by :func:`fit` and ``fastnn.distributed``'s fit.
    With ``model``, inputs of a dtype or sample shape the model cannot take
    raise here, before training (see :func:`_check_inputs_fit_model`).

    Returns
    -------
    (TrainerState, bool, bool)
        The state, whether the scheduler steps per batch, and whether it is a
        ReduceLROnPlateau.
    """
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("validation_data must be a pair (x_val, y_val)")
        _check_xy(validation_data[0], validation_data[1], "validation_data[0]")
        _check_targets(loss, validation_data[1], "validation_data[1]")
    _check_inputs_fit_model(model, x, validation_data, transform)
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
    names = ["loss"] + list(fns)
    if validation_data is not None:
        names += ["val_" + k for k in names]
    names.append("lr")
    trainer = TrainerState(opt, n_batches, x, y, loss, epochs=int(epochs),
                           initial_epoch=int(initial_epoch), metrics_names=names)
    return trainer, per_batch, plateau


def fit(model: Module, x: np.ndarray, y: np.ndarray, *,
        loss: Union[str, Loss] = "cross_entropy", optimizer: Any = "adam",
        lr: Optional[float] = None, epochs: int = 1, batch_size: int = 32,
        validation_data: Optional[Tuple[np.ndarray, np.ndarray]] = None,
        validation_split: float = 0.0, shuffle: bool = True, seed: int = 0,
        callbacks: Iterable[Callback] = (),
        metrics: Optional[Sequence[Union[str, Callable]]] = None, scheduler: Any = None,
        scheduler_interval: Optional[str] = None, verbose: int = 0,
        blas_threads: Optional[int] = 1, n_threads: Optional[int] = None,
        transform: Optional[Callable] = None, initial_epoch: int = 0,
        distributed: Union[bool, Dict[str, Any]] = False) -> "History":
    """Train ``model`` on ``(x, y)`` with mini-batches.

    Parameters
    ----------
    model : Module
    x : ndarray, (n_samples, ...), the model's dtype
    y : ndarray, (n_samples, ...)
        For cross-entropy: integer class labels (n_samples,) or (n_samples, 1),
        or one-hot / probability targets (n_samples, n_classes) (Keras'
        categorical_crossentropy; cast to the model's dtype per batch).
        With per-position logits (n_samples, C, d1, ..., dk) (as torch's
        cross-entropy takes them, e.g. a segmentation or a tagger), integer
        labels (n_samples, d1, ..., dk) or probabilities of the logits' shape.
        Float labels of shape (n_samples,) raise TypeError. Targets otherwise.
    loss : str or Loss, default "cross_entropy"
    optimizer : str or Optimizer, default "adam"
        A name builds that optimizer over ``model.parameters()`` (with
        ``lr``). The optimizer built is kept with the model, and the next
        ``fit`` given the same name and ``lr`` over the same parameters uses
        it again, so calling ``fit`` again continues training (moments, step
        counts and a rate lowered by ReduceLROnPlateau carry over), as in
        Keras after ``compile``. Pass an Optimizer to choose its state.
    lr : float, optional
    epochs : int, default 1
        The index of the last epoch plus one (Keras): with ``initial_epoch``
        the run trains ``epochs − initial_epoch`` epochs.
    batch_size : int, default 32
    validation_data : (x_val, y_val), optional
    validation_split : float in [0, 1), default 0
        Fraction of the samples, taken from the end before shuffling (as
        Keras), held out for validation.
    shuffle : bool, default True
    seed : int, default 0
        Seed of the shuffling.
    callbacks : list of Callback
        See :mod:`fastnn.callbacks`.
    metrics : list, optional
        ``"accuracy"`` or callables ``fn(output, target)`` returning the
        batch's value, e.g. ``lambda out, y: (out.argmax(1) == y).mean()``
        (Keras' convention); the epoch's value is the mean of the batch
        values weighted by the batch sizes. Default ``["accuracy"]`` with
        cross-entropy (with one-hot targets, the argmax of the target is the
        class; with per-position logits, the fraction of positions whose
        argmax over axis 1 is the label; labels equal to the loss's
        ``ignore_index`` are not counted). With a binary cross-entropy (on logits) "accuracy" is the
        binary accuracy of the logits (positive is class 1) over every
        output, as Keras; with another loss and one output per sample, that
        of the output as a probability (threshold 0.5).
    scheduler : LRScheduler or ReduceLROnPlateau, optional
        Stepped every epoch (ReduceLROnPlateau with ``val_loss``, or ``loss``
        without validation), or every batch when ``scheduler_interval`` is
        "batch" (the default for CyclicLR and OneCycleLR).
    scheduler_interval : {"epoch", "batch"}, optional
    verbose : {0, 1, 2}, default 0
        0 is silent. 1: a tqdm progress bar per epoch that stays as one line
        per epoch with the epoch's logs (plain lines when tqdm is not
        installed). 2: one plain line per epoch. See :class:`ProgressBar`.
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
        A :class:`fastnn.augment.Compose` pipeline gets the step
        ``pipeline.step + epoch·n_batches + batch`` (``pipeline.step`` as
        constructed, which ``fit`` leaves unchanged): the augmentation of a
        batch depends on its epoch and index, as the shuffled order does on
        the epoch, so a resumed run draws what an uninterrupted one does, and
        a second ``fit`` from epoch 0 repeats the first one's draws (as its
        shuffling does) unless given ``initial_epoch``. Another callable is
        called as is.
    initial_epoch : int, default 0
        The epoch to start from when resuming (Keras): the shuffling skips
        the orders of the epochs before it and a Compose ``transform`` the
        steps of their batches, so a run restored with
        :func:`fastnn.callbacks.load_checkpoint` (weights, buffers such as
        the dropout streams' offsets, and optimizer) with a pipeline built
        as before continues exactly as an uninterrupted one.
    distributed : bool or dict, default False
        True: train on every rank of ``MPI.COMM_WORLD`` (launch with
        ``mpiexec -n N``; needs ``pip install fastnn[mpi]``), with
        ``batch_size`` the global batch: see :func:`fastnn.distributed.fit`.
        A dict gives that function's own options, e.g. ``{"zero": True}``
        (sharded optimizer state) or ``{"comm": comm}``.

    Returns
    -------
    History
    """
    if distributed is not False and distributed is not None:
        # The loop over MPI ranks lives in fastnn.distributed (which imports
        # mpi4py); a single-process fit never imports it.
        from fastnn.distributed import fit as distributed_fit
        options = dict(distributed) if isinstance(distributed, dict) else {}
        if not isinstance(distributed, dict) and distributed is not True:
            raise TypeError(f"distributed must be a bool or a dict, "
                            f"got {type(distributed).__name__}")
        return distributed_fit(model, x, y, loss=loss, optimizer=optimizer, lr=lr,
                               epochs=epochs, batch_size=batch_size,
                               validation_data=validation_data,
                               validation_split=validation_split, shuffle=shuffle, seed=seed,
                               callbacks=callbacks, metrics=metrics, scheduler=scheduler,
                               scheduler_interval=scheduler_interval, verbose=verbose,
                               blas_threads=blas_threads, n_threads=n_threads,
                               transform=transform, initial_epoch=initial_epoch, **options)
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be callable, got {type(transform).__name__}")
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    with _blas_limit(blas_threads), _fastnn_threads(n_threads), hot_threads():
        return _fit(model, x, y, loss, optimizer, lr, epochs, batch_size, validation_data,
                    validation_split, shuffle, seed, callbacks, metrics, scheduler,
                    scheduler_interval, verbose, transform, initial_epoch)


def _pipeline_first_step(transform: Any) -> Optional[int]:
    """The step of the first batch of epoch 0 when ``transform`` is a
    :class:`fastnn.augment.Compose` pipeline (its ``step`` attribute), else
    None.

    A training loop gives batch ``b`` of epoch ``e`` the pipeline step
    ``first + e·n_batches + b``, so that the augmentation of a batch depends
    on its place in the run only and a run resumed at ``initial_epoch``
    draws what an uninterrupted one does (shared by :func:`fit` and
    ``fastnn.distributed``'s fit).

    Parameters
    ----------
    transform : callable or None
        The loop's per-batch transform.

    Returns
    -------
    int or None
    """
    from fastnn.augment import Compose
    return int(transform.step) if isinstance(transform, Compose) else None


def _fastnn_threads(n_threads):
    if n_threads is None:
        return contextlib.nullcontext()
    from fastnn import threads
    return threads(n_threads)


def _blas_limit(blas_threads):
    if blas_threads is None:
        return contextlib.nullcontext()
    if isinstance(blas_threads, bool) or not isinstance(blas_threads, numbers.Integral) \
            or blas_threads < 1:
        raise ValueError(f"blas_threads must be an int >= 1 or None, got {blas_threads!r}")
    from fastnn import _blas
    # counted, so that concurrent fits (and dense calls) restore BLAS once
    return _blas.limit_blas_threads(int(blas_threads))


# Module.__dict__ key of the optimizer fit built from a name: (name, lr), the
# parameters, the optimizer (Module.__getstate__ leaves it out of copies)
_FIT_OPTIMIZER = "_fit_optimizer_"


def _fit_optimizer(model, optimizer, lr):
    """:func:`get_optimizer` for fit: an optimizer built from a name is kept
    on the model and returned again for the same name and lr over the same
    parameters, so a second ``fit`` continues with its state."""
    params = model.parameters()
    if not isinstance(optimizer, str):
        opt = get_optimizer(optimizer, params, lr)
        inner = getattr(opt, "optimizer", opt)  # a wrapper (pruning's MaskedOptimizer)
        held = {id(p) for p in inner._all_params()}
        if params and not any(id(p) in held or id(p.data) in held for p in params):
            raise ValueError("the optimizer updates none of the model's parameters (was it "
                             "built over another model, or before the model was rebuilt?)")
        return opt
    key = (optimizer.lower(), lr)
    cached = model.__dict__.get(_FIT_OPTIMIZER)
    if cached is not None and cached[0] == key and len(cached[1]) == len(params) \
            and all(a is b for a, b in zip(cached[1], params)):
        return cached[2]
    opt = get_optimizer(optimizer, params, lr)
    model.__dict__[_FIT_OPTIMIZER] = (key, params, opt)
    return opt


def _fit(model, x, y, loss, optimizer, lr, epochs, batch_size, validation_data,
         validation_split, shuffle, seed, callbacks, metrics, scheduler, scheduler_interval,
         verbose, transform=None, initial_epoch=0):
    given = (loss, metrics)
    batch_size, loss, fns = _check_fit_args(model, x, y, loss, metrics, epochs, batch_size,
                                            initial_epoch, validation_split)
    model.__dict__[_FIT_LOSS] = given  # evaluate's defaults
    opt = _fit_optimizer(model, optimizer, lr)
    if validation_data is None and validation_split > 0:
        n_val = int(x.shape[0] * validation_split)
        if n_val < 1:
            raise ValueError("validation_split leaves no validation sample")
        validation_data = (x[-n_val:], y[-n_val:])
        x, y = x[:-n_val], y[:-n_val]
    trainer, per_batch, plateau = _prepare_loop(
        opt, x, y, loss, fns, batch_size, epochs, initial_epoch, validation_data, scheduler,
        scheduler_interval, model, transform)
    n, n_batches = x.shape[0], trainer.n_batches
    history = History()
    cbs = CallbackList(callbacks)
    if verbose:
        cbs.append(ProgressBar(verbose))
    cbs.append(history)
    cbs.set_model(model)
    cbs.set_trainer(trainer)
    rng = np.random.default_rng(seed)
    batches = _Batches()
    order = np.arange(n)
    mean = getattr(loss, "reduction", "mean") == "mean"
    first_step = _pipeline_first_step(transform)
    if shuffle:
        for _ in range(initial_epoch):  # the orders of the epochs already run
            rng.permutation(n)
    model.train()
    try:
        cbs.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch, {})
            if shuffle:
                order = rng.permutation(n)
            total, sums = 0.0, {k: 0.0 for k in fns}
            for b in range(n_batches):
                idx = order[b * batch_size:(b + 1) * batch_size]
                cbs.on_batch_begin(b, {"size": len(idx)})
                xb = batches.take(x, idx, "x")
                yb = batches.take(y, idx, "y")
                if first_step is not None:
                    xb, yb = transform(xb, yb, step=first_step + epoch * n_batches + b)
                elif transform is not None:
                    xb, yb = transform(xb, yb)
                model.zero_grad()
                out = model.forward(xb)
                value = loss.forward(out, yb)
                for k, fn in fns.items():
                    sums[k] += _metric_value(k, fn, out, yb) * len(idx)
                model.backward(loss.backward(), input_grad=False)
                opt.step()
                if scheduler is not None and per_batch:
                    scheduler.step()
                total += value * len(idx) if mean else value
                cbs.on_batch_end(b, {"loss": value, "size": len(idx)})
            logs = {"loss": total / n}
            logs.update({k: v / n for k, v in sums.items()})
            penalty = model.penalty()
            if penalty:
                logs["penalty"] = penalty
            if validation_data is not None:
                val = _evaluate(model, validation_data[0], validation_data[1], loss,
                                max(batch_size, 256), fns)
                logs.update({"val_" + k: v for k, v in val.items()})
            _end_epoch_schedule(opt, scheduler, per_batch, plateau, logs)
            cbs.on_epoch_end(epoch, logs)
            if trainer.stop_training:
                break
        cbs.on_train_end({})
    except BaseException:
        # an interrupted run (Ctrl-C, an error in a batch or a callback) does
        # not reach on_train_end: close the progress bars, whose lines would
        # otherwise stay open and be printed again when they are collected
        for cb in cbs:
            if isinstance(cb, ProgressBar):
                cb.close()
        raise
    return history


register_training(fit=fit, evaluate=evaluate, predict=predict)
