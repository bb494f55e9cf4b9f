"""Optimizers over parameters, with param groups and exact resumption.

Names, arguments and defaults follow ``torch.optim``. Each ``step()``
updates every parameter of a param group in one fused kernel call.
"""
from fastnn.optim.optimizer import Optimizer
from fastnn.optim.optimizers import SGD, Adagrad, Adam, AdamW, Lion, NAdam, RAdam, RMSprop

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam", "Lion"]
from fastnn.optim import lr_scheduler  # noqa: E402,F401
