"""fit on many ranks: each rank takes its share of every global batch."""
from __future__ import annotations

import traceback
from typing import Any, Callable, Iterable, Optional, Sequence, Tuple, Union

import numpy as np

from fastnn import optim as _optim
from fastnn import training as _t
from fastnn.callbacks import Callback, CallbackList, ModelCheckpoint, ProgressBar, TrainerState
from fastnn.distributed._comm import abort, get_comm, mpi
from fastnn.distributed.ddp import DistributedDataParallel
from fastnn.distributed.setup import broadcast_parameters
from fastnn.distributed.zero import ZeroRedundancyOptimizer
from fastnn.nn.layers import _Noise
from fastnn.nn.losses import get_loss
from fastnn.nn.module import Module

__all__ = ["fit", "shard_range"]


def shard_range(n: int, rank: int, world_size: int) -> Tuple[int, int]:
    """Rows ``[lo, hi)`` of a batch of ``n`` rows that ``rank`` takes:
    contiguous, sizes differing by at most one (rank order)."""
    return n * rank // world_size, n * (rank + 1) // world_size


def fit(model: Module, x: np.ndarray, y: np.ndarray, *, comm: Any = None,
        zero: bool = False, loss: Any = "cross_entropy", optimizer: Any = "adam",
        lr: Optional[float] = None, epochs: int = 1, batch_size: int = 32,
        validation_data: Optional[Tuple[np.ndarray, np.ndarray]] = None,
        validation_split: float = 0.0, shuffle: bool = True, seed: int = 0,
        callbacks: Iterable[Callback] = (),
        metrics: Optional[Sequence[Union[str, Callable]]] = None, scheduler: Any = None,
        scheduler_interval: Optional[str] = None, verbose: int = 0,
        blas_threads: Optional[int] = 1, n_threads: Optional[int] = None,
        transform: Optional[Callable] = None, initial_epoch: int = 0) -> "_t.History":
    """:func:`fastnn.training.fit` on every rank of ``comm`` (synchronous
    data parallelism); ``model.fit(..., distributed=True)`` calls it.

    Every rank calls it with the same arguments and the same arrays. The
    arguments mean what they mean in a single process:

    - ``batch_size`` is the global batch. The epoch's order is
      ``default_rng(seed).permutation`` (the same on every rank); rank r
      takes rows :func:`shard_range` of each global batch.
    - The loss gradient is scaled by the rank's share of the global batch
      (local rows / global rows), so the gradients summed over the ranks are
      the gradient of the global batch's mean loss; one in-place
      ``Allreduce`` per dtype (or ZeRO's reduce-scatter) follows backward.
    - Dropout, Dropout2d and GaussianNoise draws and ``transform`` draws depend on a
      sample's row in the global batch: a sample gets the same mask and the
      same augmentation on any number of ranks (rows before the rank's own
      are computed and dropped).
    - BatchNorm uses each rank's statistics (as torch DDP); use
      :class:`fastnn.distributed.SyncBatchNorm1d` for global statistics.
      Buffers (running statistics) are broadcast from rank 0 after every
      epoch, so evaluation and checkpoints agree.
    - Epoch logs (loss, metrics, ``val_*``) are sums over all ranks' samples,
      the same numbers on every rank, so EarlyStopping and
      ReduceLROnPlateau decide the same everywhere. Batch logs hold the
      rank's own batch loss. ModelCheckpoint writes on rank 0 only; the
      progress display shows on rank 0 only.
    - An exception on one rank prints its traceback and aborts the job
      (``MPI_Abort``) instead of leaving the other ranks waiting.

    Parameters
    ----------
    model : Module
    x, y : ndarray
        The whole training set, on every rank.
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``.
    zero : bool, default False
        With an optimizer name, shard its state with
        :class:`ZeroRedundancyOptimizer`. A ZeroRedundancyOptimizer passed as
        ``optimizer`` is used as is.
    loss, optimizer, lr, epochs, batch_size, validation_data, validation_split,
    shuffle, seed, callbacks, metrics, scheduler, scheduler_interval, verbose,
    blas_threads, n_threads, transform, initial_epoch
        As in :func:`fastnn.training.fit`.

    Returns
    -------
    History
        The same on every rank.
    """
    comm = get_comm(comm)
    # argument errors raise on every rank alike (no collective call yet);
    # anything after them aborts the job
    _check_args(model, x, y, zero, loss, optimizer, epochs, batch_size, validation_split,
                verbose, transform, initial_epoch, metrics, scheduler_interval)
    try:
        with _t._blas_limit(blas_threads), _t._fastnn_threads(n_threads):
            return _fit(model, x, y, comm, zero, loss, optimizer, lr, epochs, batch_size,
                        validation_data, validation_split, shuffle, seed, callbacks, metrics,
                        scheduler, scheduler_interval, verbose, transform, initial_epoch)
    except BaseException as e:  # noqa: B902 - every rank must stop, not wait
        if comm.Get_size() == 1:
            raise
        abort(comm, "".join(traceback.format_exception(type(e), e, e.__traceback__)), 1)


def _noise_layers(model):
    out = []
    stack = [model]
    while stack:
        m = stack.pop()
        if isinstance(m, _Noise):  # Dropout, Dropout2d, GaussianNoise
            out.append(m)
        stack.extend(m.children())
    return out


class _GlobalRows:
    """Wrap a per-batch transform so that row i of the rank's batch is
    transformed as row lo + i of the global batch."""

    def __init__(self, transform):
        self.transform = transform
        self.lo = 0
        self._bufs = {}

    def __call__(self, xb, yb):
        lo = self.lo
        if lo == 0:
            return self.transform(xb, yb)
        key = (xb.shape, xb.dtype)
        buf = self._bufs.get(key)
        if buf is None:
            buf = self._bufs[key] = np.zeros((lo + xb.shape[0],) + xb.shape[1:], xb.dtype)
        buf[lo:] = xb
        yfull = np.zeros((lo + yb.shape[0],) + yb.shape[1:], yb.dtype)
        yfull[lo:] = yb
        xo, yo = self.transform(buf, yfull)
        return np.ascontiguousarray(xo[lo:]), np.ascontiguousarray(yo[lo:])


def _check_args(model, x, y, zero, loss, optimizer, epochs, batch_size, validation_split,
                verbose, transform, initial_epoch, metrics, scheduler_interval):
    import numbers
    if not isinstance(model, Module):
        raise TypeError(f"model must be a fastnn.nn.Module, got {type(model).__name__}")
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be callable, got {type(transform).__name__}")
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    _t._check_xy(x, y)
    batch_size = _t._check_batch_size(batch_size)
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, numbers.Integral) \
            or not 0 <= initial_epoch <= epochs:
        raise ValueError(f"initial_epoch must be an int in [0, epochs={epochs}], "
                         f"got {initial_epoch!r}")
    if not 0.0 <= float(validation_split) < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    loss = get_loss(loss)
    _t._check_targets(loss, y)
    _t._metric_fns(metrics, loss)
    if zero and not isinstance(optimizer, (str, ZeroRedundancyOptimizer)):
        raise TypeError("zero=True needs an optimizer name (or pass a "
                        "ZeroRedundancyOptimizer as optimizer)")
    if isinstance(optimizer, str) and optimizer.lower() not in _t._OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; valid names: "
                         f"{sorted(_t._OPTIMIZERS)}")
    if scheduler_interval not in (None, "epoch", "batch"):
        raise ValueError(f"scheduler_interval must be 'epoch' or 'batch', "
                         f"got {scheduler_interval!r}")


def _fit(model, x, y, comm, zero, loss, optimizer, lr, epochs, batch_size, validation_data,
         validation_split, shuffle, seed, callbacks, metrics, scheduler, scheduler_interval,
         verbose, transform, initial_epoch):
    MPI = mpi()
    batch_size = int(batch_size)
    rank, size = comm.Get_rank(), comm.Get_size()
    loss = get_loss(loss)
    fns = _t._metric_fns(metrics, loss)

    # set-up: same structure everywhere, rank 0's values
    broadcast_parameters(model, comm)
    if isinstance(optimizer, ZeroRedundancyOptimizer):
        opt, ddp = optimizer, None
    elif zero and isinstance(optimizer, str):
        cls = _t._OPTIMIZERS.get(optimizer.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {optimizer!r}; valid names: "
                             f"{sorted(_t._OPTIMIZERS)}")
        opt = ZeroRedundancyOptimizer(cls, model.parameters(), comm,
                                      **({} if lr is None else {"lr": lr}))
        ddp = None
    else:
        if zero:
            raise TypeError("zero=True needs an optimizer name (or pass a "
                            "ZeroRedundancyOptimizer as optimizer)")
        opt = _t.get_optimizer(optimizer, model.parameters(), lr)
        ddp = DistributedDataParallel(model, comm, broadcast=False)

    if validation_data is None and validation_split > 0:
        n_val = int(x.shape[0] * validation_split)
        if n_val < 1:
            raise ValueError("validation_split leaves no validation sample")
        validation_data = (x[-n_val:], y[-n_val:])
        x, y = x[:-n_val], y[:-n_val]
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("validation_data must be a pair (x_val, y_val)")
        _t._check_xy(validation_data[0], validation_data[1], "validation_data[0]")
        _t._check_targets(loss, validation_data[1], "validation_data[1]")
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
    trainer.rank, trainer.world_size = rank, size
    history = _t.History()
    callbacks = list(callbacks)
    # ZeRO's full state is gathered from every rank; a checkpoint written by
    # rank 0 alone needs it gathered before the epoch's callbacks run
    consolidate = isinstance(opt, ZeroRedundancyOptimizer) and any(
        isinstance(c, ModelCheckpoint) and getattr(c, "save_optimizer", False)
        for c in callbacks)
    if rank != 0:  # checkpoints and the display on rank 0 only
        callbacks = [c for c in callbacks
                     if not isinstance(c, (ModelCheckpoint, ProgressBar))]
    cbs = CallbackList(callbacks)
    if verbose and rank == 0:
        cbs.append(ProgressBar(verbose))
    cbs.append(history)
    cbs.set_model(model)
    cbs.set_trainer(trainer)
    rng = np.random.default_rng(seed)
    batches = _t._Batches()
    order = np.arange(n)
    mean = getattr(loss, "reduction", "mean") == "mean"
    noise = _noise_layers(model)
    tf = _GlobalRows(transform) if transform is not None else None
    if shuffle:
        for _ in range(initial_epoch):
            rng.permutation(n)
    model.train()
    cbs.on_train_begin({})
    try:
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch, {})
            if shuffle:
                order = rng.permutation(n)
            acc = np.zeros(1 + len(fns), np.float64)  # loss and metric sums over samples
            for b in range(n_batches):
                gidx = order[b * batch_size:(b + 1) * batch_size]
                lo, hi = shard_range(len(gidx), rank, size)
                idx = gidx[lo:hi]
                cbs.on_batch_begin(b, {"size": len(idx)})
                for m in noise:
                    m._row_start = lo
                xb = batches.take(x, idx, "x")
                yb = batches.take(y, idx, "y")
                if tf is not None:
                    tf.lo = lo
                    xb, yb = tf(xb, yb)
                model.zero_grad()
                if len(idx):
                    out = model.forward(xb)
                    value = loss.forward(out, yb)
                    for k, (name, fn) in enumerate(fns.items()):
                        acc[1 + k] += _t._metric_value(name, fn, out, yb) * len(idx)
                    dy = loss.backward()
                    # the mean over the global batch: this rank's rows count len/len(gidx)
                    scale = len(idx) / len(gidx) if mean else 1.0
                    if scale != 1.0:
                        dy = np.multiply(dy, dy.dtype.type(scale))
                    model.backward(dy, input_grad=False)
                    acc[0] += value * len(idx) if mean else value
                else:  # more ranks than rows: contribute zeros
                    value = 0.0
                if ddp is not None:
                    ddp.allreduce_gradients()
                opt.step()
                if scheduler is not None and per_batch:
                    scheduler.step()
                cbs.on_batch_end(b, {"loss": value, "size": len(idx)})
            for m in noise:
                m._row_start = 0
            # one Allreduce: loss and metric sums, and the regularization penalty
            # of each rank's last batch (averaged: it depends on the rank's rows)
            acc = np.append(acc, model.penalty())
            comm.Allreduce(MPI.IN_PLACE, acc, op=MPI.SUM)
            _sync_buffers(model, comm)
            logs = {"loss": float(acc[0]) / n}
            logs.update({k: float(acc[1 + i]) / n for i, k in enumerate(fns)})
            penalty = float(acc[-1]) / size
            if penalty:
                logs["penalty"] = penalty
            if validation_data is not None:
                val = _evaluate(model, validation_data[0], validation_data[1], loss,
                                max(batch_size, 256), fns, comm)
                logs.update({"val_" + k: v for k, v in val.items()})
            logs["lr"] = float(opt.param_groups[0]["lr"])
            if scheduler is not None and not per_batch:
                if plateau:
                    scheduler.step(logs.get("val_loss", logs["loss"]))
                else:
                    scheduler.step()
            if consolidate:
                opt.consolidate_state_dict()
            cbs.on_epoch_end(epoch, logs)
            # every rank decides the same (same logs), but make sure
            stop = comm.allreduce(bool(trainer.stop_training), op=MPI.LOR)
            if stop:
                break
        cbs.on_train_end({})
    finally:
        for m in noise:
            m._row_start = 0
        if ddp is not None:
            ddp.close()
    return history


def _sync_buffers(model, comm):
    for _, b in model.named_buffers():
        if isinstance(b, np.ndarray) and b.flags.c_contiguous and b.flags.writeable:
            comm.Bcast(b, root=0)


def _evaluate(model, x, y, loss, batch_size, fns, comm):
    """Loss and metrics over (x, y) split between the ranks, summed over them."""
    MPI = mpi()
    rank, size = comm.Get_rank(), comm.Get_size()
    lo, hi = shard_range(x.shape[0], rank, size)
    acc = np.zeros(1 + len(fns), np.float64)
    if hi > lo:
        part = _t._evaluate(model, x[lo:hi], y[lo:hi], loss, batch_size, fns)
        acc[0] = part["loss"] * (hi - lo)
        for i, k in enumerate(fns):
            acc[1 + i] = part[k] * (hi - lo)
    comm.Allreduce(MPI.IN_PLACE, acc, op=MPI.SUM)
    out = {"loss": float(acc[0]) / x.shape[0]}
    out.update({k: float(acc[1 + i]) / x.shape[0] for i, k in enumerate(fns)})
    return out
