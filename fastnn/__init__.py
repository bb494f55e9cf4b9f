"""fastnn: fused, tested CPU kernels with OpenMP for training neural networks
on NumPy arrays.

Submodules
----------
functional : the kernels on plain arrays (``adam_``, ``clip_grad_norm_``, ...)
optim      : optimizer classes over parameters, with state_dict round trips
random     : the counter-based Philox4x32-10 generator and its fills
init       : weight initializers (torch.nn.init and Keras names)
nn         : layers, Sequential, losses (PyTorch names) with fit/evaluate/predict
training   : fit, evaluate, predict and History
callbacks  : Callback, EarlyStopping, ReduceLROnPlateau, ModelCheckpoint, ProgressBar
preprocessing : Standardizer (also ``fastnn.Standardizer``)
augment    : batch transforms for ``fit(transform=...)``
growth, pruning : growing and pruning Dense layers while training
reference  : plain-NumPy references of every kernel
bench      : ``python -m fastnn.bench``, the benchmark against the references
distributed : data-parallel training over MPI (mpi4py), ZeRO-1
torch      : fastnn's fused optimizers as torch.optim.Optimizer subclasses

Subpackages not needed by ``nn`` and ``training`` (augment, bench, callbacks,
distributed, growth, preprocessing, pruning, reference, torch) are imported at first
access; ``fastnn.torch`` imports torch and ``fastnn.distributed`` mpi4py only when used.
"""
__version__ = "0.1.0"

import os as _os

from fastnn._config import (  # noqa: E402
    available_simd_levels, flush_denormals, get_dense_engine, get_flush_denormals,
    get_num_threads, get_simd_level, hot_threads, set_dense_engine, set_flush_denormals,
    set_num_threads, set_simd_level, show_config, threads,
)
from fastnn import functional  # noqa: E402,F401
from fastnn.parameter import Parameter  # noqa: E402
from fastnn import optim  # noqa: E402,F401
from fastnn import random  # noqa: E402,F401
from fastnn import init  # noqa: E402,F401
from fastnn import nn  # noqa: E402,F401
# Registers fit/evaluate/predict behind Module.fit etc. (fastnn.nn does not
# import the training loop); importing it here makes them work after
# ``from fastnn.nn import Sequential`` too. Cheap: nn and optim are loaded.
from fastnn import training  # noqa: E402,F401

__all__ = ["Parameter", "Standardizer", "available_simd_levels", "flush_denormals",
           "get_cython_include", "get_dense_engine", "get_flush_denormals", "get_include",
           "get_library", "get_num_threads", "get_simd_level", "hot_threads", "set_dense_engine",
           "set_flush_denormals", "set_num_threads", "set_simd_level", "show_config", "threads",
           # subpackages
           "augment", "bench", "callbacks", "distributed", "functional", "growth", "init", "nn",
           "optim", "preprocessing", "pruning", "random", "reference", "torch", "training"]

# Imported at first attribute access (PEP 562), so ``import fastnn`` stays fast
# and ``fastnn.augment.Compose`` works without ``import fastnn.augment``.
_LAZY_MODULES = frozenset({"augment", "bench", "callbacks", "distributed", "growth",
                           "preprocessing", "pruning", "reference", "torch"})
_LAZY_ATTRS = {"Standardizer": ("fastnn.preprocessing", "Standardizer"),
               "get_library": ("fastnn.functional.capi", "get_library")}


def __getattr__(name):
    import importlib

    if name in _LAZY_MODULES:
        module = importlib.import_module(f"fastnn.{name}")
        globals()[name] = module
        return module
    if name in _LAZY_ATTRS:
        module_name, attr = _LAZY_ATTRS[name]
        value = getattr(importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fastnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


def get_include():
    """Directory of fastnn's C headers (``fastnn.h``), as numpy.get_include().

    Pass it to the compiler (``-I``) to build C code or a Cython module
    against fastnn; see also ``get_cython_include()``, ``get_library()`` and
    docs/c_api.md.

    Returns
    -------
    str
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
