"""fastnn: fused, tested CPU kernels with OpenMP for training neural networks
on NumPy arrays.

Submodules
----------
functional : the kernels on plain arrays (``adam_``, ``clip_grad_norm_``, ...)
optim      : optimizer classes over parameters, with state_dict round trips
random     : the counter-based Philox4x32-10 generator and its fills
init       : weight initializers (torch.nn.init and Keras names)
reference  : plain-NumPy references of every kernel
bench      : ``python -m fastnn.bench``, the benchmark against the references
"""
__version__ = "0.1.0"

import os as _os

# Idle OpenMP threads spin only briefly before sleeping, unless the user chose
# a policy. fastnn alternates its parallel kernels with BLAS calls (own thread
# pool) and Python code; workers spinning for libgomp's default ~300k rounds
# steal the cores those need, while sleeping at once (OMP_WAIT_POLICY=PASSIVE)
# makes back-to-back small kernels pay a wake-up each (measured: Adam over an
# MLP's 6 arrays 65 us with a short spin, 161 us passive). It must be set
# before the OpenMP runtime starts, i.e. before the extensions load.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "30000"

from fastnn._config import (  # noqa: E402
    available_simd_levels, flush_denormals, get_flush_denormals, get_num_threads,
    get_simd_level, set_flush_denormals, set_num_threads, set_simd_level, show_config, threads,
)
from fastnn import functional, reference  # noqa: E402,F401
from fastnn.parameter import Parameter  # noqa: E402
from fastnn import optim  # noqa: E402,F401
from fastnn import random  # noqa: E402,F401
from fastnn import init  # noqa: E402,F401
from fastnn.preprocessing import Standardizer  # noqa: E402,F401


from fastnn.functional.capi import get_library  # noqa: E402,F401


def get_include():
    """Directory of fastnn's C headers (``fastnn.h``), as numpy.get_include().

    Pass it to the compiler (``-I``) to build C code or a Cython module
    against fastnn; see also ``get_cython_include()``, ``get_library()`` and
    docs/c_api.md.
    """
    return _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "include")


def get_cython_include():
    """Directory holding ``fastnn/_ext/capi.pxd``, for Cython's include path.

    ``from fastnn._ext.capi cimport ...`` needs Cython to find the ``.pxd``
    files. They are found through ``sys.path`` when fastnn is installed from
    a wheel, but not under an editable install (``pip install -e .``), whose
    import hook Cython does not consult. Pass this directory to
    ``cythonize(..., include_path=[fastnn.get_cython_include()])`` (or
    ``cython -I``) and ``fastnn.get_include()`` to the C compiler; see
    docs/c_api.md.

    Returns
    -------
    str
        The directory that contains the ``fastnn`` package.
    """
    return _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
from fastnn import nn  # noqa: E402,F401
