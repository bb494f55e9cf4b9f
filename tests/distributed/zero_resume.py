"""ZeRO-1 checkpoints across world sizes: train 2 epochs and checkpoint
(weights + full optimizer state, written by rank 0), then resume for 2 more
epochs on another number of ranks, or in one process with a plain Adam.

usage: [mpiexec -n N] python zero_resume.py OUT.npz --save CKPT
       [mpiexec -n N] python zero_resume.py OUT.npz --resume CKPT [--plain]
       [mpiexec -n N] python zero_resume.py OUT.npz            (4 epochs straight)
"""
import argparse

import numpy as np

from fastnn import nn, optim
from fastnn.callbacks import ModelCheckpoint, load_checkpoint


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--save")
    ap.add_argument("--resume")
    ap.add_argument("--plain", action="store_true", help="one process, plain Adam, no MPI")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 30))
    y = rng.integers(0, 4, 256)
    nn.manual_seed(3)
    model = nn.Sequential(nn.Linear(30, 33, activation="relu", dtype=np.float64),
                          nn.Linear(33, 4, dtype=np.float64))
    kw = dict(batch_size=32, seed=1)
    rank = 0
    if args.plain:
        opt = optim.Adam(model.parameters(), lr=1e-2)
        distributed = False
    else:
        from fastnn.distributed import ZeroRedundancyOptimizer, rank as get_rank
        opt = ZeroRedundancyOptimizer(optim.Adam, model.parameters(), lr=1e-2)
        rank = get_rank()
        distributed = True
    if args.save:
        model.fit(x, y, optimizer=opt, epochs=2, distributed=distributed,
                  callbacks=[ModelCheckpoint(args.save, save_optimizer=True)], **kw)
    elif args.resume:
        load_checkpoint(args.resume, model, opt)
        model.fit(x, y, optimizer=opt, epochs=4, initial_epoch=2, distributed=distributed,
                  **kw)
    else:
        model.fit(x, y, optimizer=opt, epochs=4, distributed=distributed, **kw)
    if rank == 0:
        np.savez(args.out, **model.state_dict())


if __name__ == "__main__":
    main()
