"""Layers, models and losses over fastnn's kernels, with PyTorch's names.

``Sequential(Linear(64, 256, activation="relu"), BatchNorm1d(256), ...)``;
every module has ``forward(x)`` and ``backward(dy)`` (returning the input
gradient and accumulating parameter gradients), ``train()``/``eval()``,
``parameters()``, ``state_dict()``/``load_state_dict()``, ``save``/``load``
(.npz), ``summary()`` and ``fit``/``evaluate``/``predict``.
"""
from fastnn.nn.module import Module, Sequential, inference_mode, manual_seed
from fastnn.nn.layers import *  # noqa: F401,F403
from fastnn.nn.layers import __all__ as _layers_all
from fastnn.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss, get_loss

__all__ = (["Module", "Sequential", "manual_seed", "inference_mode", "Loss", "CrossEntropyLoss",
            "MSELoss", "BCEWithLogitsLoss", "get_loss"] + list(_layers_all))
