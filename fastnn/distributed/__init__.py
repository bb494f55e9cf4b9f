"""Synchronous data-parallel training over MPI (mpi4py).

Install the extra (``pip install -e ".[mpi]"``, which brings mpi4py and
MPICH) and launch one process per rank::

    mpiexec -n 4 python train.py

where ``train.py`` calls ``model.fit(x, y, ..., distributed=True)`` (or
:func:`fastnn.distributed.fit`). Every rank loads the same arrays; each takes
its share of every global batch.

Pieces, usable on their own in a hand-written loop:

- :func:`check_structure`, :func:`broadcast_parameters`: set-up; a model
  whose names, shapes or dtypes differ between ranks raises on every rank.
- :class:`DistributedDataParallel`: gradients as views of one flat buffer
  per dtype, all-reduced in place (``Allreduce(IN_PLACE)``).
- :class:`ZeroRedundancyOptimizer`: ZeRO stage 1, optimizer state sharded.
- :class:`SyncBatchNorm1d`: batch statistics over all ranks.
- :func:`install_abort_on_error`: an uncaught exception on one rank ends the
  whole job (``MPI_Abort``) instead of leaving the other ranks waiting.

``fit(..., deterministic=True)`` gives bitwise the same weights on any
power-of-two number of ranks (fixed blocks of rows summed in a fixed tree).

``import fastnn`` never imports this package or mpi4py; importing this
package does not import mpi4py either until a communicator is needed.
See docs/distributed.md.
"""
from fastnn.distributed._comm import (MPIUnavailableError, allreduce_sum, get_comm,
                                      install_abort_on_error, is_available, rank, world_size)
from fastnn.distributed.setup import broadcast_parameters, check_structure, model_structure
from fastnn.distributed.ddp import DistributedDataParallel
from fastnn.distributed.zero import ZeroRedundancyOptimizer
from fastnn.distributed.sync_bn import SyncBatchNorm1d

#: torch's name; fastnn's BatchNorm1d covers (N, C) and (N, C, L) inputs
SyncBatchNorm = SyncBatchNorm1d
from fastnn.distributed.training import fit, shard_range

__all__ = ["MPIUnavailableError", "is_available", "get_comm", "rank", "world_size",
           "allreduce_sum", "install_abort_on_error", "model_structure", "check_structure",
           "broadcast_parameters", "DistributedDataParallel", "ZeroRedundancyOptimizer",
           "SyncBatchNorm1d", "SyncBatchNorm", "fit", "shard_range"]
