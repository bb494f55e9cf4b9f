"""Random fills and dropout kernels on plain arrays (re-exported by
:mod:`fastnn.functional`). The fills live in :mod:`fastnn.random`, the
dropout and noise kernels in :mod:`fastnn.functional.dropout`."""
from fastnn.functional.dropout import (Dropout, channel_dropout,  # noqa: F401
                                       channel_dropout_backward, dropconnect,
                                       dropconnect_backward, dropout, dropout_backward,
                                       empty_mask, gaussian_noise, gaussian_noise_backward)
from fastnn.random import normal_, uniform_  # noqa: F401

__all__ = ["uniform_", "normal_", "dropout", "dropout_backward", "channel_dropout",
           "channel_dropout_backward", "dropconnect", "dropconnect_backward", "gaussian_noise",
           "gaussian_noise_backward", "empty_mask", "Dropout"]
