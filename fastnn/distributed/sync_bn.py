"""BatchNorm with statistics over the global batch."""
from __future__ import annotations

from typing import Any

import numpy as np

from fastnn.distributed._comm import get_comm, mpi
from fastnn.nn.layers import BatchNorm1d

__all__ = ["SyncBatchNorm1d"]


class SyncBatchNorm1d(BatchNorm1d):
    """BatchNorm1d whose training statistics are those of the global batch.

    In training, each rank's per-channel count, sum and sum of squares are
    summed over the ranks in one ``Allreduce`` (float64), so every rank
    normalizes with the mean and variance of the whole global batch, as a
    single process would; backward all-reduces the two per-channel sums it
    needs. Eval mode uses the running statistics, as BatchNorm1d. The
    computation is plain NumPy (the fused kernels see one rank's rows only).

    Parameters
    ----------
    num_features, eps, momentum, affine, track_running_stats, dtype
        As :class:`fastnn.nn.BatchNorm1d`.
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=np.float32, *, comm: Any = None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)
        self._comm = comm

    @classmethod
    def convert(cls, model, comm: Any = None):
        """Replace every BatchNorm1d of a Sequential (recursively) by a
        SyncBatchNorm1d with the same parameters and buffers; returns model."""
        for name, m in list(model._modules.items()):
            if isinstance(m, BatchNorm1d) and not isinstance(m, SyncBatchNorm1d):
                s = cls(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats,
                        m.dtype, comm=comm)
                s.load_state_dict(m.state_dict())
                model._modules[name] = s
            else:
                cls.convert(m, comm)
        return model

    def _axes(self, x):
        return (0,) if x.ndim == 2 else (0, 2)

    def _bshape(self, x):
        return (1, -1) if x.ndim == 2 else (1, -1, 1)

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        if not isinstance(x, np.ndarray) or x.dtype != self.dtype or x.ndim not in (2, 3) \
                or x.shape[1] != self.num_features:
            raise ValueError(f"x must be a {self.dtype} array (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L)")
        MPI = mpi()
        comm = get_comm(self._comm)
        axes, bs = self._axes(x), self._bshape(x)
        c = self.num_features
        stats = np.empty(2 * c + 1, np.float64)
        stats[0] = x.size // c
        stats[1:c + 1] = x.sum(axis=axes, dtype=np.float64)
        stats[c + 1:] = np.square(x, dtype=np.float64).sum(axis=axes)
        comm.Allreduce(MPI.IN_PLACE, stats, op=MPI.SUM)
        n = stats[0]
        mean = stats[1:c + 1] / n
        var = np.maximum(stats[c + 1:] / n - mean * mean, 0.0)
        rstd = 1.0 / np.sqrt(var + self.eps)
        xhat = ((x - mean.reshape(bs)) * rstd.reshape(bs)).astype(self.dtype)
        y = xhat
        if self.affine:
            y = xhat * self.weight.data.reshape(bs) + self.bias.data.reshape(bs)
        if self.track_running_stats:
            self.num_batches_tracked[...] += 1
            m = self.momentum
            if m is None:
                m = 1.0 / float(self.num_batches_tracked)
            unbiased = var * (n / max(n - 1.0, 1.0))
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + m * unbiased
        self._x, self._xhat, self._rstd, self._n = x, xhat, rstd, n
        return y.astype(self.dtype, copy=False)

    def backward(self, dy, *, input_grad=True):
        if not self.training:
            return super().backward(dy, input_grad=input_grad)
        if getattr(self, "_xhat", None) is None or self._x is None:
            raise RuntimeError("SyncBatchNorm1d.backward called before a training forward")
        MPI = mpi()
        comm = get_comm(self._comm)
        axes, bs = self._axes(dy), self._bshape(dy)
        c = self.num_features
        xhat = self._xhat
        sums = np.empty(2 * c, np.float64)
        sums[:c] = dy.sum(axis=axes, dtype=np.float64)
        sums[c:] = (dy * xhat).sum(axis=axes, dtype=np.float64)
        if self.affine:  # the rank's own sums: DDP sums them over the ranks
            self._accumulate(self.bias, sums[:c].astype(self.dtype))
            self._accumulate(self.weight, sums[c:].astype(self.dtype))
        comm.Allreduce(MPI.IN_PLACE, sums, op=MPI.SUM)
        g = self.weight.data.astype(np.float64) if self.affine else np.ones(c)
        mdy = sums[:c] / self._n
        mdyx = sums[c:] / self._n
        dx = (g * self._rstd).reshape(bs) * (dy - mdy.reshape(bs) - xhat * mdyx.reshape(bs))
        return dx.astype(self.dtype)
