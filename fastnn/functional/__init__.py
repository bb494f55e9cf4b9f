"""Functional kernels: validated, in-place operations on plain NumPy arrays."""
from fastnn.functional import augment as _augment, capi as _capi, dense as _dense
from fastnn.functional import losses as _losses, norm as _norm, optim as _optim
from fastnn.functional import random as _random
from fastnn.functional.optim import *  # noqa: F401,F403
from fastnn.functional.losses import *  # noqa: F401,F403
from fastnn.functional.random import *  # noqa: F401,F403,E402
from fastnn.functional.norm import *  # noqa: F401,F403
from fastnn.functional.augment import *  # noqa: F401,F403,E402
from fastnn.functional.dense import *  # noqa: F401,F403
from fastnn.functional.capi import *  # noqa: F401,F403

# The public kernels: the union of the submodules' __all__, in import order.
__all__ = list(dict.fromkeys(name for m in (_optim, _losses, _random, _norm, _augment, _dense,
                                            _capi) for name in m.__all__))
del _augment, _capi, _dense, _losses, _norm, _optim, _random
