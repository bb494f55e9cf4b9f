"""Argument checks shared by the Python layer of every kernel family.

The rules (docs/design.md, "Validation"):

* An array that is only read may be anything NumPy can view as the call's
  dtype: it is returned C-contiguous and in native byte order, copied when
  it is not (a copy is safe because it is never written), and with its
  shape unchanged (a 0-d input stays 0-d).
* An array written in place (``out=``, state, masks) must already be a
  native-byte-order, C-contiguous, writable ndarray of the exact shape and
  dtype: fastnn never writes into a copy.
* No array written by a call may share memory with any other array
  argument of the call, labels and masks included. :class:`Arrays`
  collects every array argument once, with whether it is written, so that
  the overlap check cannot forget one.
* Every check runs before anything is written; errors name the argument.

The compiled fast paths for the optimizers (``check_param``,
``check_inout``, ``check_input``, ``check_disjoint``, ``check_real``) live
in :mod:`fastnn._ext.runtime` and follow the same rules; the functional API
imports them from here, wrapped by :func:`as_ndarray`.

Arrays from other libraries
---------------------------
:func:`as_ndarray` is the one place where arrays enter: every check here
starts with it. An ndarray passes unchanged; an object exposing
``__dlpack__`` (a torch CPU tensor, a JAX or CuPy array on the CPU) is
viewed with ``np.from_dlpack(..., copy=False)`` and one exposing the buffer
protocol (memoryview, array.array, bytearray) with ``np.asarray(memoryview)``;
both are views of the caller's memory, never copies, so an argument written
in place updates the caller's object. A read-only buffer, a tensor that
requires grad, or a device tensor passed where fastnn writes raises and
names the argument; anything else falls through to the checks' own errors.
"""
import numbers

import numpy as np

from fastnn import _config
from fastnn._checks import check_finite_real  # noqa: F401  (re-exported)
from fastnn._ext import runtime as _rt
from fastnn._ext.runtime import check_disjoint, check_real  # noqa: F401  (re-exported)

__all__ = ["REALS", "as_ndarray", "check_array", "check_out", "out_or_new", "check_bool",
           "check_int", "check_real", "check_finite_real", "check_mask", "check_labels", "run_args", "Arrays",
           "as_native", "check_param", "check_inout", "check_inout_shape", "check_input"]

_ndarray = np.ndarray


def as_ndarray(name, a, *, writable=False):
    """``a`` as an ndarray viewing the caller's memory, without copying.

    The one conversion of arrays from other libraries (see the module
    docstring): ndarrays pass as they are; objects exposing ``__dlpack__``
    or the buffer protocol are viewed zero-copy. Anything else, and NumPy
    scalars, are returned unchanged for the caller's check to reject.

    Parameters
    ----------
    name : str
        The argument's name, for error messages.
    a : object
    writable : bool
        The call writes ``a`` in place: a read-only buffer or a tensor
        that requires grad raises instead of being viewed.

    Raises
    ------
    TypeError
        A DLPack object that is not in CPU memory, or that its library
        refuses to export (a torch tensor that requires grad, sparse...).
    ValueError
        ``writable`` and ``a`` is a read-only buffer or DLPack export.
    """
    if isinstance(a, _ndarray) or a is None or isinstance(a, (np.generic, list, tuple,
                                                               numbers.Number, str)):
        return a
    if hasattr(a, "__dlpack__"):
        return _from_dlpack(name, a, writable)
    try:
        view = memoryview(a)
    except TypeError:
        return a
    if writable and view.readonly:
        raise ValueError(f"{name} is a read-only buffer ({type(a).__name__}) but is written "
                         f"in place; pass a writable array")
    try:
        return np.asarray(view)
    except (TypeError, ValueError, NotImplementedError) as e:
        raise TypeError(f"{name}: NumPy cannot view this {type(a).__name__} buffer "
                        f"(format {view.format!r}): {e}") from None


def _from_dlpack(name, a, writable):
    kind = type(a).__name__
    if getattr(a, "requires_grad", False) is True:
        raise TypeError(f"{name} is a tensor that requires grad; pass {name}.detach() "
                        f"(a view of the same memory) so that the update is not hidden "
                        f"from autograd by accident")
    if getattr(a, "is_sparse", False) is True or getattr(a, "is_sparse_csr", False) is True:
        raise TypeError(f"{name} is a sparse {kind}; fastnn takes dense (strided) arrays")
    device_type = getattr(getattr(a, "device", None), "type", None)  # torch's device
    if isinstance(device_type, str) and device_type != "cpu":
        raise TypeError(f"{name} is a {kind} on a non-CPU device ({a.device}); fastnn works "
                        f"on CPU memory (move it with .cpu(), which copies: a parameter "
                        f"updated in place must live on the CPU)")
    try:
        device = a.__dlpack_device__()
    except Exception:  # noqa: BLE001  (an exporter without the method: from_dlpack decides)
        device = None
    if device is not None and int(device[0]) != 1:  # kDLCPU
        raise TypeError(f"{name} is a {kind} on a non-CPU device ({device}); fastnn works "
                        f"on CPU memory (move it with .cpu(), which copies: a parameter "
                        f"updated in place must live on the CPU)")
    try:
        arr = np.from_dlpack(a, copy=False)
    except (BufferError, TypeError, RuntimeError, ValueError) as e:
        raise TypeError(f"{name}: a {kind} that cannot be viewed without copying through "
                        f"DLPack ({e})") from None
    ptr = getattr(a, "data_ptr", None)
    if callable(ptr) and arr.size and ptr() != arr.__array_interface__["data"][0]:
        raise ValueError(f"{name}: the DLPack view of this {kind} is not its memory")
    if writable and not arr.flags.writeable:
        raise ValueError(f"{name} is a read-only {kind} but is written in place")
    return arr


def check_param(name, a):
    """:func:`fastnn._ext.runtime.check_param` (an array written in place
    that sets the call's dtype) on :func:`as_ndarray` of ``a``."""
    if type(a) is not _ndarray:
        a = as_ndarray(name, a, writable=True)
    return _rt.check_param(name, a)


def check_inout(name, a, like):
    """:func:`fastnn._ext.runtime.check_inout` (written in place, dtype and
    shape of ``like``) on :func:`as_ndarray` of ``a``."""
    if type(a) is not _ndarray:
        a = as_ndarray(name, a, writable=True)
    return _rt.check_inout(name, a, like)


def check_inout_shape(name, a, shape, dtype):
    """:func:`fastnn._ext.runtime.check_inout_shape` (written in place, the
    given shape and dtype) on :func:`as_ndarray` of ``a``."""
    if type(a) is not _ndarray:
        a = as_ndarray(name, a, writable=True)
    return _rt.check_inout_shape(name, a, tuple(shape), dtype)


def check_input(name, a, like):
    """:func:`fastnn._ext.runtime.check_input` (read only, dtype and shape of
    ``like``; copied when strided or byte-swapped) on :func:`as_ndarray` of ``a``."""
    if type(a) is not _ndarray:
        a = as_ndarray(name, a)
    return _rt.check_input(name, a, like)

REALS = (np.dtype(np.float32), np.dtype(np.float64))


def as_native(a):
    """``a`` C-contiguous in native byte order, the same object when it
    already is; the shape is kept (0-d included)."""
    if a.dtype.isnative and a.flags.c_contiguous:
        return a
    return np.array(a, dtype=a.dtype.newbyteorder("="), order="C", copy=True)


def _is_real(dtype):
    return dtype.kind == "f" and dtype.itemsize in (4, 8)


def check_array(name, a, *, like=None, dtype=None, shape=None, ndim=None, min_ndim=None):
    """A read-only float32/float64 array, returned native and C-contiguous.

    Parameters
    ----------
    name : str
        The argument's name, for error messages.
    a : object
    like : ndarray, optional
        The call's dtype and shape come from it.
    dtype : dtype, optional
        Required dtype (the call's), if not from ``like``.
    shape : tuple, optional
        Required shape, if not from ``like``.
    ndim, min_ndim : int, optional
    """
    a = as_ndarray(name, a)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of float32 or float64, "
                        f"got {type(a).__name__}")
    if not _is_real(a.dtype):
        raise TypeError(f"{name} has dtype {a.dtype}; fastnn kernels take float32 or float64")
    if like is not None:
        dtype, shape = like.dtype, like.shape
    if dtype is not None and a.dtype.newbyteorder("=") != np.dtype(dtype).newbyteorder("="):
        raise TypeError(f"{name} has dtype {a.dtype} but the call is {np.dtype(dtype)}: "
                        f"one dtype per call")
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{name} has shape {a.shape}, expected {tuple(shape)}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if min_ndim is not None and a.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {a.shape}")
    return as_native(a)


def check_out(name, a, shape, dtype):
    """An array written by the call: exactly ``shape`` and ``dtype`` (native
    byte order), C-contiguous and writable."""
    dtype = np.dtype(dtype)
    a = as_ndarray(name, a, writable=True)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype.newbyteorder("=") != dtype.newbyteorder("="):
        raise TypeError(f"{name} has dtype {a.dtype} but the call is {dtype}: one dtype per call")
    if not a.dtype.isnative:
        raise TypeError(f"{name} has dtype {a.dtype.str} in non-native byte order; it is "
                        f"written in place, so it must be native {dtype.newbyteorder('=')}")
    if a.shape != tuple(shape):
        raise ValueError(f"{name} has shape {a.shape}, expected {tuple(shape)}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous: fastnn never writes to a copy")
    if not a.flags.writeable:
        raise ValueError(f"{name} is read-only but is written")
    return a


def out_or_new(name, out, shape, dtype):
    """``out`` checked by :func:`check_out`, or a new array when None."""
    if out is None:
        return np.empty(shape, dtype)
    return check_out(name, out, shape, dtype)


def check_mask(name, mask, n_bytes, *, writable, what="x"):
    """A bit-packed uint8 mask of ``n_bytes`` bytes (None passes through)."""
    if mask is None:
        return None
    mask = as_ndarray(name, mask, writable=writable)
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of uint8, got {type(mask).__name__}")
    if mask.dtype != np.uint8:
        raise TypeError(f"{name} has dtype {mask.dtype}, expected uint8 (bit-packed)")
    if mask.shape != (n_bytes,):
        raise ValueError(f"{name} has shape {mask.shape}, expected ({n_bytes},): one bit per "
                         f"element of {what}")
    if not mask.flags.c_contiguous:
        if writable:
            raise ValueError(f"{name} must be C-contiguous: fastnn never writes to a copy")
        mask = np.ascontiguousarray(mask)
    if writable and not mask.flags.writeable:
        raise ValueError(f"{name} is read-only but is written")
    return mask


def check_labels(name, labels, n_rows, n_classes, ignore_index=None):
    """Integer class labels of shape (n_rows,) in [0, n_classes) (or equal
    to ``ignore_index``); returned C-contiguous native int64.

    The value check runs on the int64 array the kernel will read, so no
    out-of-range label can reach it.
    """
    labels = as_ndarray(name, labels)
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of integers, got {type(labels).__name__}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name} must have an integer dtype, got {labels.dtype}")
    if labels.shape != (n_rows,):
        raise ValueError(f"{name} has shape {labels.shape}, expected ({n_rows},)")
    if labels.dtype.kind == "u" and labels.dtype.itemsize >= 8 and labels.size \
            and labels.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} has values beyond the int64 range")
    y = np.ascontiguousarray(labels, dtype=np.int64)
    if y.size == 0 or (y.min() >= 0 and y.max() < n_classes):
        return y  # two reductions: the common case costs no temporaries
    bad = (y < 0) | (y >= n_classes)
    if ignore_index is not None:
        bad &= y != ignore_index
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] = {int(y[i])} is out of range [0, {n_classes})"
                         + (f" and is not ignore_index ({ignore_index})"
                            if ignore_index is not None else ""))
    return y


def check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def check_int(name, value, low=None, high=None):
    """An int (not a bool) in [low, high] (bounds optional)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral,
                                                                     np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def run_args(n_threads):
    """(threads, flags) for a kernel call."""
    return _config.resolve_threads(n_threads), _config.kernel_flags()


class Arrays:
    """Every array argument of one call, by name, with whether it is written.

    Add each array as it is validated (:meth:`read`, :meth:`write`, or
    :meth:`add`); :meth:`check` then raises ValueError naming the pair if
    an array written by the call shares memory with any other argument
    (read-read overlaps are harmless and allowed unless ``strict``).
    ``same_ok`` lists (written, read) pairs that may be the very same
    array (elementwise kernels that read each element before writing it).
    """

    __slots__ = ("names", "arrays", "written", "same_ok")

    def __init__(self):
        self.names, self.arrays, self.written, self.same_ok = [], [], [], set()

    def add(self, name, a, written=False):
        if a is not None:
            self.names.append(name)
            self.arrays.append(a)
            self.written.append(bool(written))
        return a

    def read(self, name, a):
        return self.add(name, a, False)

    def write(self, name, a):
        return self.add(name, a, True)

    def allow_same(self, written_name, read_name):
        self.same_ok.add((written_name, read_name))

    def check(self, strict=False):
        _rt.check_overlaps(self.names, self.arrays, self.written, strict, self.same_ok)
