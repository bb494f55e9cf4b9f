"""Rank 1 raises at the start of epoch 2; the job must end (not hang) with
rank 1's message.

usage: mpiexec -n N python fail_rank1.py [--outside-fit | --long]

--outside-fit: rank 1 raises in the script after a collective call while
the other ranks wait in the next one (the excepthook aborts the job).
--long: train for a long time without error (for the Ctrl-C test).
"""
import sys

import numpy as np

from fastnn import nn
from fastnn.callbacks import Callback


class Boom(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2 and self.trainer.rank == 1:
            raise RuntimeError("boom on rank 1 in epoch 2")


def outside_fit():
    import fastnn.distributed as dist
    comm = dist.get_comm()
    comm.Barrier()
    if comm.Get_rank() == 1:
        raise RuntimeError("boom on rank 1 outside fit")
    comm.Barrier()  # the other ranks wait here for rank 1
    print("finished without error")


def main():
    if "--outside-fit" in sys.argv:
        return outside_fit()
    long = "--long" in sys.argv
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 10)).astype(np.float32)
    y = rng.integers(0, 3, 256)
    model = nn.Sequential(nn.Linear(10, 16, activation="relu"), nn.Linear(16, 3))
    if long:
        print("training", flush=True)
        model.fit(x, y, epochs=100000, batch_size=32, distributed=True)
    else:
        model.fit(x, y, epochs=50, batch_size=32, distributed=True, callbacks=[Boom()])
    print("finished without error")  # must not be reached on any rank


if __name__ == "__main__":
    main()
