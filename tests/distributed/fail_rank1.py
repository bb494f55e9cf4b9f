"""Rank 1 raises at the start of epoch 2; the job must end (not hang) with
rank 1's message. usage: mpiexec -n N python fail_rank1.py"""
import numpy as np

from fastnn import nn
from fastnn.callbacks import Callback


class Boom(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2 and self.trainer.rank == 1:
            raise RuntimeError("boom on rank 1 in epoch 2")


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 10)).astype(np.float32)
    y = rng.integers(0, 3, 256)
    model = nn.Sequential(nn.Linear(10, 16, activation="relu"), nn.Linear(16, 3))
    model.fit(x, y, epochs=50, batch_size=32, distributed=True, callbacks=[Boom()])
    print("finished without error")  # must not be reached on any rank


if __name__ == "__main__":
    main()
