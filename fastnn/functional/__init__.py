"""Functional kernels: validated, in-place operations on plain NumPy arrays."""
from fastnn.functional.optim import *  # noqa: F401,F403
from fastnn.functional.dense import *  # noqa: F401,F403
