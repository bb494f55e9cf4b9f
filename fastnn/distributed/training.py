"""fit on many ranks: each rank takes its share of every global batch."""
from __future__ import annotations

import traceback
from typing import Any, Callable, Iterable, Optional, Sequence, Tuple, Union

import numpy as np

from fastnn import training as _t
from fastnn.callbacks import Callback, CallbackList, ModelCheckpoint, ProgressBar
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
        transform: Optional[Callable] = None, initial_epoch: int = 0,
        deterministic: bool = False, block_rows: int = 16) -> "_t.History":
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
    deterministic : bool, default False
        Bitwise the same weights on any number of ranks (a power of two
        dividing ``batch_size // block_rows``, itself a power of two): each
        block of ``block_rows`` rows of the global batch gets its own
        forward and backward, and the block gradients are added in one fixed
        pairwise tree whatever the number of ranks (rank subtrees locally,
        then an Allgather of the ranks' subtree roots). Slower: smaller
        matrix products and an Allgather (world_size × the gradient bytes)
        instead of an Allreduce. Plain data parallelism only (not ZeRO); a
        ``transform`` needs a ``step`` attribute (as
        :class:`fastnn.augment.Compose`).
    block_rows : int, default 16
        Rows per block with ``deterministic``.
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
    if deterministic:
        _check_deterministic(batch_size, block_rows, comm.Get_size(), zero, optimizer,
                             transform)
    try:
        with _t._blas_limit(blas_threads), _t._fastnn_threads(n_threads):
            return _fit(model, x, y, comm, zero, loss, optimizer, lr, epochs, batch_size,
                        validation_data, validation_split, shuffle, seed, callbacks, metrics,
                        scheduler, scheduler_interval, verbose, transform, initial_epoch,
                        bool(deterministic), int(block_rows))
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
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be callable, got {type(transform).__name__}")
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    batch_size, loss, _ = _t._check_fit_args(model, x, y, loss, metrics, epochs, batch_size,
                                             initial_epoch, validation_split)
    if zero and not isinstance(optimizer, (str, ZeroRedundancyOptimizer)):
        raise TypeError("zero=True needs an optimizer name (or pass a "
                        "ZeroRedundancyOptimizer as optimizer)")
    if isinstance(optimizer, str) and optimizer.lower() not in _t._OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; valid names: "
                         f"{sorted(_t._OPTIMIZERS)}")
    if scheduler_interval not in (None, "epoch", "batch"):
        raise ValueError(f"scheduler_interval must be 'epoch' or 'batch', "
                         f"got {scheduler_interval!r}")


def _check_deterministic(batch_size, block_rows, size, zero, optimizer, transform):
    def pow2(k):
        return k >= 1 and k & (k - 1) == 0
    if isinstance(block_rows, bool) or not isinstance(block_rows, int) or block_rows < 1:
        raise ValueError(f"block_rows must be an int >= 1, got {block_rows!r}")
    n_blocks = batch_size // block_rows
    if batch_size % block_rows or not pow2(n_blocks):
        raise ValueError(f"deterministic=True needs batch_size = block_rows × a power of two, "
                         f"got batch_size={batch_size}, block_rows={block_rows}")
    if not pow2(size) or n_blocks % size:
        raise ValueError(f"deterministic=True needs a power-of-two number of ranks dividing "
                         f"the {n_blocks} blocks of a batch, got {size} ranks")
    if zero or isinstance(optimizer, ZeroRedundancyOptimizer):
        raise ValueError("deterministic=True works with plain data parallelism, not ZeRO")
    if transform is not None and not hasattr(transform, "step"):
        raise ValueError("deterministic=True needs a transform with a step attribute "
                         "(fastnn.augment.Compose), so that every block of a batch draws "
                         "the same way")


def _fit(model, x, y, comm, zero, loss, optimizer, lr, epochs, batch_size, validation_data,
         validation_split, shuffle, seed, callbacks, metrics, scheduler, scheduler_interval,
         verbose, transform, initial_epoch, deterministic=False, block_rows=16):
    MPI = mpi()
    batch_size = int(batch_size)
    n_blocks = batch_size // block_rows
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
    trainer, per_batch, plateau = _t._prepare_loop(
        opt, x, y, loss, fns, batch_size, epochs, initial_epoch, validation_data, scheduler,
        scheduler_interval, model, transform)
    n, n_batches = x.shape[0], trainer.n_batches
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
    first_step = _t._pipeline_first_step(transform)  # a Compose: steps set per batch
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
                if deterministic:
                    lo = rank * (n_blocks // size) * block_rows
                    hi = min(lo + (n_blocks // size) * block_rows, len(gidx))
                else:
                    lo, hi = shard_range(len(gidx), rank, size)
                cbs.on_batch_begin(b, {"size": max(hi - lo, 0)})
                if first_step is not None:
                    transform.step = first_step + epoch * n_batches + b
                if deterministic:
                    value = _blocked_step(model, x, y, gidx, rank, size, n_blocks, block_rows,
                                          loss, fns, acc, mean, noise, tf, batches, ddp, comm)
                else:
                    value = _rows_step(model, x, y, gidx, lo, hi, loss, fns, acc, mean, noise,
                                       tf, batches)
                    if ddp is not None:
                        ddp.allreduce_gradients()
                opt.step()
                if scheduler is not None and per_batch:
                    scheduler.step()
                cbs.on_batch_end(b, {"loss": value, "size": max(hi - lo, 0)})
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
            _t._end_epoch_schedule(opt, scheduler, per_batch, plateau, logs)
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
        if first_step is not None:
            transform.step = first_step  # as in a single process, left as given
        if ddp is not None:
            ddp.close()
    return history


def _rows_step(model, x, y, gidx, lo, hi, loss, fns, acc, mean, noise, tf, batches):
    """Forward and backward of rows [lo, hi) of the global batch ``gidx``;
    the gradients (for the mean over the global batch) are left in the
    parameters' ``grad``. Returns the rows' loss (0 without rows)."""
    idx = gidx[lo:hi]
    for m in noise:
        m._row_start = lo
    model.zero_grad()
    if len(idx) == 0:  # more ranks than rows: contribute zeros
        return 0.0
    xb = batches.take(x, idx, "x")
    yb = batches.take(y, idx, "y")
    if tf is not None:
        tf.lo = lo
        xb, yb = tf(xb, yb)
    out = model.forward(xb)
    value = loss.forward(out, yb)
    for k, (name, fn) in enumerate(fns.items()):
        acc[1 + k] += _t._metric_value(name, fn, out, yb) * len(idx)
    dy = loss.backward()
    # the mean over the global batch: these rows count len(idx)/len(gidx)
    scale = len(idx) / len(gidx) if mean else 1.0
    if scale != 1.0:
        dy = np.multiply(dy, dy.dtype.type(scale))
    model.backward(dy, input_grad=False)
    acc[0] += value * len(idx) if mean else value
    return value


class _PairwiseSum:
    """Sum of leaves pushed in order, as the fixed binary tree
    ((l0 + l1) + (l2 + l3)) + ...: a node is added as soon as its two
    children are known, so pushing the leaves of a complete subtree gives the
    subtree's root whoever pushes them."""

    def __init__(self):
        self.stack = []  # (level, {dtype: array})

    def push(self, arrays, level=0):
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            arrays = {dt: np.add(left[dt], a) for dt, a in arrays.items()}
            level += 1
        self.stack.append((level, arrays))

    def root(self):
        if len(self.stack) != 1:  # pragma: no cover - counts are powers of two
            raise RuntimeError("the number of leaves is not a power of two")
        return self.stack[0]


def _blocked_step(model, x, y, gidx, rank, size, n_blocks, block_rows, loss, fns, acc, mean,
                  noise, tf, batches, ddp, comm):
    """deterministic=True: the global batch is cut into n_blocks blocks of
    block_rows rows whatever the number of ranks; each block's gradient is
    computed alone (same code, same shapes, so the same bits on any rank) and
    the blocks are summed in one fixed pairwise tree. Rank r owns a complete
    subtree (n_blocks/size blocks); the ranks' subtree roots are allgathered
    and every rank adds them in the same tree, so the summed gradient, and
    the weights, are bitwise the same for 1, 2, 4, ... ranks."""
    per_rank = n_blocks // size
    # every block of a step draws with the step's noise offsets and transform step
    offsets = [int(m.offset) for m in noise]
    tf_step = getattr(tf.transform, "step", None) if tf is not None else None
    tree = _PairwiseSum()
    value = 0.0
    for j in range(rank * per_rank, (rank + 1) * per_rank):
        for m, off in zip(noise, offsets):
            m.offset[...] = off
        if tf_step is not None:
            tf.transform.step = tf_step
        lo, hi = j * block_rows, min((j + 1) * block_rows, len(gidx))
        value += _rows_step(model, x, y, gidx, lo, max(lo, hi), loss, fns, acc, mean, noise, tf,
                            batches) * max(hi - lo, 0)
        ddp.grads.settle()
        tree.push({dt: b.copy() for dt, b in ddp.grads.buffers.items()})
    for m, off in zip(noise, offsets):
        m.offset[...] = (off + 1) % (1 << 64)
    if tf_step is not None:
        tf.transform.step = tf_step + 1
    level, root = tree.root()
    MPI = mpi()
    if size > 1:
        top = _PairwiseSum()
        gathered = {}
        for dt, a in root.items():
            gathered[dt] = np.empty((size,) + a.shape, dt)
            comm.Allgather(a, gathered[dt])
        for r in range(size):
            top.push({dt: g[r] for dt, g in gathered.items()}, level)
        _, root = top.root()
    for dt, buf in ddp.grads.buffers.items():
        np.copyto(buf, root[dt])
    n_rows = min(per_rank * block_rows, max(len(gidx) - rank * per_rank * block_rows, 0))
    del MPI
    return value / n_rows if n_rows else 0.0


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
