"""Train the 784-256-256-10 MLP for a number of steps on synthetic data,
float64, global batch 64, on however many ranks mpiexec started (or one
process), and save the weights (rank 0). Used by tests/test_distributed.py
to compare 1, 2 and 4 ranks.

usage: [mpiexec -n N] python mlp_steps.py OUT.npz [--steps 20] [--zero]
"""
import argparse

import numpy as np

from fastnn import nn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--zero", action="store_true")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--single", action="store_true", help="fastnn.training.fit, no MPI")
    ap.add_argument("--deterministic", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.steps * args.batch
    x = rng.standard_normal((n, 784))
    y = rng.integers(0, 10, n)
    nn.manual_seed(42)
    layers = [nn.Linear(784, 256, activation="relu", dtype=np.float64)]
    if args.dropout:
        layers.append(nn.Dropout(args.dropout))
    layers += [nn.Linear(256, 256, activation="relu", dtype=np.float64),
               nn.Linear(256, 10, dtype=np.float64)]
    model = nn.Sequential(*layers)
    distributed = False if args.single else {"zero": args.zero}
    if args.deterministic:
        distributed["deterministic"] = True
    model.fit(x, y, epochs=1, batch_size=args.batch, lr=1e-3, optimizer="adam", seed=7,
              distributed=distributed)
    rank = 0
    if not args.single:
        from mpi4py import MPI
        rank = MPI.COMM_WORLD.Get_rank()
    if rank == 0:
        np.savez(args.out, **model.state_dict())


if __name__ == "__main__":
    main()
