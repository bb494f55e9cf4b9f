"""Functional kernels: validated, in-place operations on plain NumPy arrays."""
from fastnn.functional import augment as _augment, capi as _capi, dense as _dense
from fastnn.functional import dropout as _dropout, losses as _losses, norm as _norm
from fastnn.functional import optim as _optim
from fastnn.functional.optim import *  # noqa: F401,F403
from fastnn.functional.losses import *  # noqa: F401,F403
# the random fills live in fastnn.random; dropout and noise in functional/dropout.py
from fastnn.random import normal_, uniform_  # noqa: F401,E402
from fastnn.functional.dropout import *  # noqa: F401,F403,E402
from fastnn.functional.norm import *  # noqa: F401,F403
from fastnn.functional.augment import *  # noqa: F401,F403,E402
from fastnn.functional.dense import *  # noqa: F401,F403
from fastnn.functional.capi import *  # noqa: F401,F403

# The public kernels: the union of the submodules' __all__, in import order.
__all__ = list(dict.fromkeys(
    name for names in (_optim.__all__, _losses.__all__, ["uniform_", "normal_"], _dropout.__all__,
                       _norm.__all__, _augment.__all__, _dense.__all__, _capi.__all__)
    for name in names))
del _augment, _capi, _dense, _dropout, _losses, _norm, _optim
