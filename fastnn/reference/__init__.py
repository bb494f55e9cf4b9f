"""Plain-NumPy references of every fastnn kernel, written for clarity.

Each function carries its formula in its docstring. The test suite checks
every kernel against these, and ``python -m fastnn.bench`` times them as the
baseline of its speedups.
"""
from fastnn.reference import optim  # noqa: F401
from fastnn.reference.optim import *  # noqa: F401,F403
from fastnn.reference import losses  # noqa: F401
from fastnn.reference.losses import *  # noqa: F401,F403
from fastnn.reference import random  # noqa: F401,E402
from fastnn.reference.random import *  # noqa: F401,F403,E402
from fastnn.reference import norm  # noqa: F401,E402
from fastnn.reference.norm import *  # noqa: F401,F403,E402
from fastnn.reference import augment  # noqa: F401,E402
from fastnn.reference.augment import *  # noqa: F401,F403,E402
from fastnn.reference import dense  # noqa: F401
from fastnn.reference.dense import *  # noqa: F401,F403
from fastnn.reference import capi  # noqa: F401
from fastnn.reference.capi import *  # noqa: F401,F403
