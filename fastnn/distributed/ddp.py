"""Gradient all-reduce over one flat buffer per dtype."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from fastnn.distributed._comm import get_comm, mpi
from fastnn.distributed.setup import broadcast_parameters
from fastnn.nn.module import Sequential, bind_grad_buffer, unbind_grad_buffer

__all__ = ["DistributedDataParallel", "FlatGrads"]


class FlatGrads:
    """One flat buffer per dtype holding every parameter's gradient as a view.

    Parameters are laid out in reverse order (the last layer's first), so the
    gradients Sequential's backward produces first form a prefix of the
    buffer and each bucket is one contiguous slice. ``pad_to`` pads each
    buffer to a multiple of it (ZeRO shards evenly).
    """

    def __init__(self, params, *, reverse: bool = True, pad_to: int = 1) -> None:
        params = list(params)
        order = params[::-1] if reverse else params
        self.params = params
        self.buffers: Dict[np.dtype, np.ndarray] = {}
        self.views: Dict[int, np.ndarray] = {}
        self.offsets: Dict[int, tuple] = {}
        sizes: Dict[np.dtype, int] = {}
        for p in order:
            dt = np.dtype(p.dtype)
            self.offsets[id(p)] = (dt, sizes.get(dt, 0), p.size)
            sizes[dt] = sizes.get(dt, 0) + p.size
        for dt, n in sizes.items():
            n_pad = -(-n // pad_to) * pad_to
            self.buffers[dt] = np.zeros(n_pad, dt)
        self.sizes = sizes
        for p in params:
            dt, off, n = self.offsets[id(p)]
            view = self.buffers[dt][off:off + n].reshape(p.shape)
            self.views[id(p)] = view
            bind_grad_buffer(p, view)

    def settle(self) -> None:
        """After backward: a gradient that backward did not write into its
        view (None: no gradient; or an array set by hand) is zeroed or
        copied in, so the buffer holds every gradient."""
        for p in self.params:
            view = self.views[id(p)]
            g = p.grad
            if g is view:
                continue
            if g is None:
                view[...] = 0
            else:
                np.copyto(view, g)
            p.grad = view

    def close(self) -> None:
        for p in self.params:
            unbind_grad_buffer(p)


class DistributedDataParallel:
    """Data parallelism for a hand-written loop: averaged gradients on every rank.

    On construction the model's structure is checked on every rank and rank
    0's parameters and buffers are broadcast. Each parameter's gradient is
    then a view of one flat buffer per dtype (backward writes it there), so
    :meth:`allreduce_gradients` is one ``Allreduce(IN_PLACE)`` per dtype with
    no packing pass.

    The 1/world_size of the mean is not a pass over the gradients: it is
    folded into the loss gradient, which :meth:`backward` scales before the
    model's backward (a batch × outputs array, far smaller than the
    gradients). :func:`fastnn.distributed.fit` scales by the rank's share of
    the global batch instead, which is exact for unequal shares as well.

    Parameters
    ----------
    model : Module
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``.
    overlap : bool, default False
        Start a non-blocking all-reduce (``Iallreduce``) of each bucket as soon
        as Sequential's backward has produced it (needs a :class:`Sequential`).
        Off by default: measured on a 2-core machine it does not pay (see
        docs/distributed.md); MPICH makes progress on non-blocking calls only
        inside MPI calls unless an asynchronous progress thread is enabled.
    bucket_bytes : int, default 4 MiB
        Smallest bucket with ``overlap``.

    Examples
    --------
    >>> ddp = DistributedDataParallel(model)            # doctest: +SKIP
    >>> model.zero_grad(); out = model(xb); loss.forward(out, yb)
    >>> ddp.backward(loss.backward()); ddp.allreduce_gradients(); opt.step()
    """

    def __init__(self, model, comm: Any = None, *, overlap: bool = False,
                 bucket_bytes: int = 4 << 20, broadcast: bool = True) -> None:
        self.model = model
        self.comm = get_comm(comm)
        self.world_size = self.comm.Get_size()
        if broadcast:
            broadcast_parameters(model, self.comm)
        self.grads = FlatGrads(model.parameters(), reverse=True)
        self.overlap = bool(overlap)
        self._requests: List[Any] = []
        self._dy: Optional[np.ndarray] = None
        if self.overlap:
            if not isinstance(model, Sequential):
                raise TypeError("overlap=True needs a fastnn.nn.Sequential model")
            self._plan_buckets(int(bucket_bytes))
            model._backward_hook = self._on_layer_done

    def _plan_buckets(self, bucket_bytes):
        # per layer (backward order): the end of its slice in each dtype buffer
        layers = list(self.model)
        self._bucket_after: Dict[int, List[tuple]] = {}
        start = {dt: 0 for dt in self.grads.buffers}
        done = {dt: 0 for dt in self.grads.buffers}
        for i in range(len(layers) - 1, -1, -1):
            for p in layers[i].parameters():
                dt, off, n = self.grads.offsets[id(p)]
                done[dt] = max(done[dt], off + n)
            cuts = []
            for dt in start:
                last = i == 0
                if (done[dt] - start[dt]) * dt.itemsize >= bucket_bytes or \
                        (last and done[dt] > start[dt]):
                    end = len(self.grads.buffers[dt]) if last else done[dt]
                    cuts.append((dt, start[dt], end))
                    start[dt] = done[dt] = end
            if cuts:
                self._bucket_after[i] = cuts

    def _on_layer_done(self, i):
        MPI = mpi()
        for dt, lo, hi in self._bucket_after.get(i, ()):
            layers = list(self.model)
            for j in range(i, len(layers)):  # parameters without a gradient: zeros
                for p in layers[j].parameters():
                    if p.grad is None:
                        self.grads.views[id(p)][...] = 0
                        p.grad = self.grads.views[id(p)]
            self._requests.append(self.comm.Iallreduce(MPI.IN_PLACE, self.grads.buffers[dt][lo:hi],
                                                       op=MPI.SUM))

    def backward(self, dy: np.ndarray, *, scale: Optional[float] = None) -> Any:
        """The model's backward from ``dy · scale`` (default 1/world_size,
        so that the summed gradients are the mean over the ranks)."""
        scale = 1.0 / self.world_size if scale is None else float(scale)
        if self._dy is None or self._dy.shape != dy.shape or self._dy.dtype != dy.dtype:
            self._dy = np.empty_like(dy)
        np.multiply(dy, dy.dtype.type(scale), out=self._dy)
        return self.model.backward(self._dy, input_grad=False)

    def allreduce_gradients(self) -> None:
        """Sum the gradients over the ranks, in place (waits for the buckets
        started during backward with ``overlap``)."""
        MPI = mpi()
        if self._requests:
            MPI.Request.Waitall(self._requests)
            self._requests = []
            self.grads.settle()
            return
        self.grads.settle()
        if self.world_size == 1:
            return
        for buf in self.grads.buffers.values():
            self.comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)

    def close(self) -> None:
        """Unbind the gradient buffers and the backward hook."""
        self.grads.close()
        if self.overlap:
            self.model._backward_hook = None
