"""ZeRO stage 1: optimizer state sharded over the ranks."""
from __future__ import annotations

import copy
from typing import Any, Dict

import numpy as np

from fastnn.distributed._comm import get_comm, mpi
from fastnn.distributed.ddp import FlatGrads
from fastnn.optim.optimizer import Optimizer
from fastnn.parameter import Parameter

__all__ = ["ZeroRedundancyOptimizer"]


class ZeroRedundancyOptimizer:
    """An optimizer whose state is split over the ranks (ZeRO stage 1).

    The parameters become views of one flat array per dtype (padded to a
    multiple of the world size) and their gradients views of a flat
    gradient array of the same layout. :meth:`step`:

    1. reduce-scatters the gradients: rank r receives the sum of shard r;
    2. runs ``optimizer_class``'s fused kernel on shard r of the flat
       parameters, with the state of that shard only (1/world_size of the
       state of a plain optimizer);
    3. all-gathers the parameters (``Allgather(IN_PLACE)``).

    Elementwise updates do not depend on how the arrays are cut, so the
    parameters are the same as with the plain optimizer (bitwise, given the
    same gradients).

    Parameters
    ----------
    optimizer_class : type
        A :class:`fastnn.optim.Optimizer` subclass, e.g. ``fastnn.optim.Adam``.
    params : iterable of Parameter
        One param group (pass the per-group options as ``**kwargs``).
    comm : mpi4py communicator, optional
    broadcast : bool, default True
        Broadcast rank 0's parameter values (one ``Bcast`` per dtype).
    **kwargs
        Options of ``optimizer_class`` (``lr``, ``betas``, ...).

    Notes
    -----
    The 1/world_size of the mean gradient is folded into the loss gradient
    (see :class:`DistributedDataParallel`); :func:`fastnn.distributed.fit`
    does it for you. :meth:`state_dict` gathers the full state in the format
    of ``optimizer_class``'s own state_dict, so a checkpoint written on 4
    ranks loads into 1 rank (a plain optimizer) or 2 and continues the same.
    """

    def __init__(self, optimizer_class: type, params: Any, comm: Any = None, *,
                 broadcast: bool = True, **kwargs: Any) -> None:
        if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, Optimizer)):
            raise TypeError(f"optimizer_class must be a fastnn.optim.Optimizer subclass, got "
                            f"{optimizer_class!r}")
        params = list(params)
        if not params:
            raise ValueError("the optimizer got an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(f"params[{i}] must be a fastnn.Parameter (param groups are "
                                f"not supported; pass the options as keywords), got "
                                f"{type(p).__name__}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter appears twice in params")
        self.comm = get_comm(comm)
        self.world_size = n = self.comm.Get_size()
        self.rank = r = self.comm.Get_rank()
        self.params = params
        self.optimizer_class = optimizer_class
        MPI = mpi()
        # flat parameters, in parameter order, padded to a multiple of the world size
        self.grads = FlatGrads(params, reverse=False, pad_to=n)
        self.flat_params: Dict[np.dtype, np.ndarray] = {}
        for dt, gbuf in self.grads.buffers.items():
            self.flat_params[dt] = np.zeros(len(gbuf), dt)
        for p in params:
            dt, off, size = self.grads.offsets[id(p)]
            flat = self.flat_params[dt]
            flat[off:off + size] = p.data.reshape(-1)
            p.data = flat[off:off + size].reshape(p.shape)  # a view from now on
        if broadcast:
            for flat in self.flat_params.values():
                self.comm.Bcast(flat, root=0)
        self.shard = {}
        self._grad_shards = {}
        self.optimizers: Dict[np.dtype, Optimizer] = {}
        for dt, flat in self.flat_params.items():
            k = len(flat) // n
            self.shard[dt] = (r * k, (r + 1) * k)
            self._grad_shards[dt] = np.empty(k, dt)
            self.optimizers[dt] = optimizer_class([flat[r * k:(r + 1) * k]], **kwargs)
        # checkpoints record the state as optimizer_class's (same format)
        self.state_dict_kind = optimizer_class.__name__
        self._steps = 0
        self._consolidated = None
        first = next(iter(self.optimizers.values()))
        # one param_groups list shared by the inner optimizers: an LR scheduler
        # changing lr here changes every shard's step
        self.param_groups = first.param_groups
        for opt in self.optimizers.values():
            opt.param_groups = self.param_groups if opt is first else opt.param_groups
        self.defaults = first.defaults
        self._MPI = MPI

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.zero_grad(set_to_none)

    def step(self) -> None:
        """Reduce-scatter the gradients, update this rank's shard, all-gather
        the parameters."""
        MPI = self._MPI
        self.grads.settle()
        lr = self.param_groups[0]
        for dt, opt in self.optimizers.items():
            if opt.param_groups is not self.param_groups:  # keep every dtype's options
                for k, v in lr.items():
                    if k != "params":
                        opt.param_groups[0][k] = v
            gbuf, gshard = self.grads.buffers[dt], self._grad_shards[dt]
            if self.world_size > 1:
                self.comm.Reduce_scatter_block(gbuf, gshard, op=MPI.SUM)
            else:
                np.copyto(gshard, gbuf)
            opt.step(grads=[gshard])
            if self.world_size > 1:
                self.comm.Allgather(MPI.IN_PLACE, self.flat_params[dt])
        self._steps += 1
        self._consolidated = None

    # ---------------------------------------------------------- memory

    def state_nbytes(self) -> int:
        """Bytes of optimizer state arrays held by this rank."""
        return int(sum(v.nbytes for opt in self.optimizers.values()
                       for s in opt.state.values() for v in s.values()
                       if isinstance(v, np.ndarray)))

    # ---------------------------------------------------------- state

    def _gather(self, dt, shard_array):
        full = np.empty(len(self.flat_params[dt]), dt)
        if self.world_size > 1:
            self.comm.Allgather(np.ascontiguousarray(shard_array), full)
        else:
            full[:] = shard_array
        return full

    def consolidate_state_dict(self) -> None:
        """Gather the full state now (a collective call: every rank), so that
        :meth:`state_dict` can then be called on one rank alone (e.g. by a
        ModelCheckpoint on rank 0) until the next :meth:`step`."""
        self._consolidated = self._gather_state()

    def state_dict(self) -> Dict[str, Any]:
        """The full state, in the format of
        ``optimizer_class(params).state_dict()``: it loads into a plain
        optimizer over the same parameters, or into a ZeroRedundancyOptimizer
        on any number of ranks.

        A collective call (every rank must make it) unless
        :meth:`consolidate_state_dict` was called since the last step."""
        if self._consolidated is not None:
            return copy.deepcopy(self._consolidated)
        return self._gather_state()

    def _gather_state(self) -> Dict[str, Any]:
        state: Dict[int, Dict[str, Any]] = {}
        for dt, opt in self.optimizers.items():
            s = next(iter(opt.state.values()), None)
            if s is None:
                continue
            full = {k: (self._gather(dt, v) if isinstance(v, np.ndarray) else copy.deepcopy(v))
                    for k, v in s.items()}
            for i, p in enumerate(self.params):
                pdt, off, size = self.grads.offsets[id(p)]
                if pdt != dt:
                    continue
                state[i] = {k: (v[off:off + size].reshape(p.shape).copy()
                                if isinstance(v, np.ndarray) else v) for k, v in full.items()}
        group = {k: copy.deepcopy(v) for k, v in self.param_groups[0].items() if k != "params"}
        group["params"] = list(range(len(self.params)))
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore a full state (from :meth:`state_dict` on any number of
        ranks, or from a plain optimizer over the same parameters)."""
        groups = state_dict["param_groups"]
        if len(groups) != 1:
            raise ValueError(f"ZeroRedundancyOptimizer has one param group; the state dict "
                             f"has {len(groups)}")
        if len(groups[0]["params"]) != len(self.params):
            raise ValueError(f"the state dict has {len(groups[0]['params'])} parameters, "
                             f"the optimizer {len(self.params)}")
        saved = {int(k): v for k, v in state_dict["state"].items()}
        new_states = {}
        for dt, opt in self.optimizers.items():
            idx = [i for i, p in enumerate(self.params) if self.grads.offsets[id(p)][0] == dt]
            have = [i for i in idx if i in saved]
            if not have:
                new_states[dt] = {}
                continue
            if len(have) != len(idx):
                raise ValueError("the state dict has state for some parameters of a dtype "
                                 "but not others")
            keys = list(saved[have[0]].keys())
            lo, hi = self.shard[dt]
            shard_state = {}
            for k in keys:
                v0 = saved[have[0]][k]
                if isinstance(v0, np.ndarray):
                    full = np.zeros(len(self.flat_params[dt]), dt)
                    for i in idx:
                        p = self.params[i]
                        _, off, size = self.grads.offsets[id(p)]
                        v = np.asarray(saved[i][k])
                        if v.shape != p.shape:
                            raise ValueError(f"state {k!r} of parameter {i} has shape "
                                             f"{v.shape}; the parameter has {p.shape}")
                        full[off:off + size] = v.reshape(-1)
                    shard_state[k] = full[lo:hi].copy()
                else:
                    if any(saved[i][k] != v0 for i in idx):
                        raise ValueError(f"scalar state {k!r} differs between parameters; "
                                         f"ZeroRedundancyOptimizer keeps one value per dtype")
                    shard_state[k] = copy.deepcopy(v0)
            new_states[dt] = shard_state
        for k, v in groups[0].items():
            if k != "params":
                self.param_groups[0][k] = copy.deepcopy(v)
        self._consolidated = None
        for dt, opt in self.optimizers.items():
            opt.state = {}
            if new_states[dt]:
                shard_param = opt.param_groups[0]["params"][0]
                opt.state[id(shard_param)] = new_states[dt]

    def close(self) -> None:
        """Unbind the gradient views (the parameters stay views of the flat arrays)."""
        self.grads.close()
