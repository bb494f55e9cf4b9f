"""Functional kernels: validated, in-place operations on plain NumPy arrays."""
from fastnn.functional.optim import *  # noqa: F401,F403
from fastnn.functional.losses import *  # noqa: F401,F403
from fastnn.functional.random import *  # noqa: F401,F403,E402
from fastnn.functional.norm import *  # noqa: F401,F403
from fastnn.functional.augment import *  # noqa: F401,F403,E402
from fastnn.functional.dense import *  # noqa: F401,F403
from fastnn.functional.capi import *  # noqa: F401,F403
