"""Reaching fastnn's kernels from native code: where the C library and
headers are, and zero-copy pointers to any float32/float64 buffer.

fastnn ships three native entry points:

* ``fastnn.get_include()``: the C headers (``fastnn.h`` declares every
  kernel for float and double).
* ``fastnn.get_library()``: ``libfastnn.so``, a plain shared library with
  every ``fnn_*`` symbol, for C programs, ctypes and numba.
* ``fastnn/_ext/capi.pxd``: the same kernels for other Cython modules
  (``from fastnn._ext.capi cimport import_fastnn, fnn_math_f64``).

See docs/c_api.md.
"""
import os
from collections import namedtuple

import numpy as np

from fastnn._validation import as_ndarray

__all__ = ["get_library", "api_version", "buffer_pointer", "BufferPointer"]

_LIBRARY_NAMES = ("libfastnn.so", "libfastnn.dylib")

BufferPointer = namedtuple("BufferPointer", ["address", "size", "dtype", "array"])
BufferPointer.__doc__ = """Where a buffer's data is.

address : int, the address of element 0
size : int, the number of elements
dtype : numpy.dtype, float32 or float64
array : numpy.ndarray viewing the same memory (keep it, or the original
    object, alive while the address is in use)
"""


def get_library():
    """Path of ``libfastnn``, the shared library exporting every C kernel.

    It has no Python dependency: load it with ``ctypes.CDLL``, link a C
    program against it (``-L<dir> -lfastnn``), or call it from numba.

    Returns
    -------
    str
        Absolute path of ``libfastnn.so`` (``.dylib`` on macOS).

    Raises
    ------
    FileNotFoundError
        If the library was not built (e.g. an MSVC build).
    """
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")
    for name in _LIBRARY_NAMES:
        path = os.path.join(here, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"libfastnn was not built in {here}; rebuild fastnn with a "
                            f"GCC- or Clang-compatible compiler")


def api_version():
    """The C API version of the loaded kernels (``FASTNN_API_VERSION``).

    Returns
    -------
    int
    """
    from fastnn._ext import capi

    return capi.API_VERSION


def _as_array(obj, name, writable=False):
    # the one conversion of fastnn._validation (buffer protocol, DLPack: views,
    # never copies), plus __array_interface__ objects, which NumPy views too
    arr = as_ndarray(name, obj, writable=writable)
    if isinstance(arr, np.ndarray):
        return arr
    if hasattr(obj, "__array_interface__") or hasattr(obj, "__array_struct__"):
        return np.asarray(obj)
    raise TypeError(f"{name} must support the buffer protocol, __array_interface__ or "
                    f"DLPack, got {type(obj).__name__}")


def buffer_pointer(obj, dtype=None, writable=False, name="buffer"):
    """Address of a C-contiguous float32/float64 buffer, without copying.

    Accepts NumPy arrays, memoryviews and any object with the buffer
    protocol (``array.array``, ``bytearray``-backed views, ...), objects with
    ``__array_interface__`` and DLPack producers on the CPU. Nothing is ever
    copied: a buffer that would need a copy (non-contiguous, another dtype)
    is refused.

    Parameters
    ----------
    obj : buffer-like
        The data.
    dtype : {None, numpy.float32, numpy.float64}, optional
        The dtype the caller's kernel expects; None accepts either.
    writable : bool, default False
        Require a writable buffer (the kernel writes to it).
    name : str, default "buffer"
        The argument's name in error messages.

    Returns
    -------
    BufferPointer
        ``(address, size, dtype, array)``.

    Raises
    ------
    TypeError
        If ``obj`` exposes no buffer, or its dtype is not float32/float64
        (or not ``dtype``).
    ValueError
        If it is not C-contiguous, or read-only while ``writable``.
    """
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    arr = _as_array(obj, name, writable)
    if arr.dtype not in (np.float32, np.float64) or not arr.dtype.isnative:
        raise TypeError(f"{name} has dtype {arr.dtype}; fastnn kernels take native float32 "
                        f"or float64")
    if dtype is not None and arr.dtype != dtype:
        raise TypeError(f"{name} has dtype {arr.dtype}, expected {dtype}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous: fastnn passes it to C without copying")
    if writable and not arr.flags.writeable:
        raise ValueError(f"{name} is read-only but the kernel writes to it")
    return BufferPointer(arr.__array_interface__["data"][0], arr.size, arr.dtype, arr)
