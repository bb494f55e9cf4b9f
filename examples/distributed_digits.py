"""Data-parallel training on scikit-learn's digits over MPI.

    pip install -e ".[mpi]"
    mpiexec -n 2 python examples/distributed_digits.py
    python examples/distributed_digits.py          # one process: the same numbers

Every rank loads the same data and builds the same model; ``batch_size`` is
the global batch and each rank trains on its share of every batch. The
gradients are averaged over the ranks after each backward, so the weights,
and the accuracy printed (by rank 0), are those of a single-process run with
the same seed (to rounding: the sum over ranks is added in another order).
Without mpiexec (or without mpi4py) it trains in one process.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from examples._common import digits, mlp  # noqa: E402


def _launched_by_mpi():
    return any(k in os.environ for k in ("PMI_RANK", "PMI_SIZE", "PMIX_RANK",
                                         "OMPI_COMM_WORLD_SIZE"))


def main():
    x_tr, y_tr, x_te, y_te = digits()
    model = mlp([64, 128, 64, 10], dropout=0.1, seed=0)
    distributed = _launched_by_mpi()
    rank, size = 0, 1
    if distributed:
        import fastnn.distributed as dist
        rank, size = dist.rank(), dist.world_size()
    hist = model.fit(x_tr, y_tr, epochs=20, batch_size=64, lr=3e-3, seed=0,
                     verbose=2 if rank == 0 else 0, distributed=distributed)
    test = model.evaluate(x_te, y_te)
    if rank == 0:
        print(f"ranks: {size}  train loss {hist['loss'][-1]:.4f}  "
              f"test accuracy {test['accuracy']:.4f}")


if __name__ == "__main__":
    main()
