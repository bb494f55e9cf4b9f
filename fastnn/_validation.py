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
in :mod:`fastnn._ext.runtime` and follow the same rules.
"""
import numbers

import numpy as np

from fastnn import _config
from fastnn._checks import check_finite_real  # noqa: F401  (re-exported)
from fastnn._ext.runtime import check_disjoint, check_real  # noqa: F401  (re-exported)

__all__ = ["REALS", "check_array", "check_out", "out_or_new", "check_bool", "check_int",
           "check_real", "check_finite_real", "check_mask", "check_labels", "run_args", "Arrays", "as_native"]

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
        n = len(self.arrays)
        for i in range(n):
            for j in range(i + 1, n):
                if not (strict or self.written[i] or self.written[j]):
                    continue
                a, b = self.arrays[i], self.arrays[j]
                if self._same(i, j) and _same_buffer(a, b):
                    continue
                if _overlap(a, b):
                    raise ValueError(f"{self.names[i]} and {self.names[j]} share memory; "
                                     f"pass distinct arrays")

    def _same(self, i, j):
        ni, nj = self.names[i], self.names[j]
        return (ni, nj) in self.same_ok or (nj, ni) in self.same_ok


def _same_buffer(a, b):
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.nbytes == b.nbytes and a.strides == b.strides)


def _overlap(a, b):
    """Whether the memory bounds of two arrays intersect (exact for the
    C-contiguous arrays the checks return)."""
    return a.nbytes != 0 and b.nbytes != 0 and np.may_share_memory(a, b)
