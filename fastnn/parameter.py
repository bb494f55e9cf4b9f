"""A trainable array and its gradient."""
import numpy as np

__all__ = ["Parameter"]

_REALS = (np.dtype(np.float32), np.dtype(np.float64))


class Parameter:
    """A trainable array (``data``) with its gradient (``grad``).

    Optimizers update ``data`` in place, so ``data`` must stay a C-contiguous
    float32/float64 array; ``grad`` is an array of the same shape and dtype,
    or None when there is no gradient (the optimizer then skips it).

    Parameters
    ----------
    data : array_like
        Initial values. An array (a NumPy array, or a zero-copy view of a
        torch CPU tensor, memoryview or array.array, see
        :func:`fastnn._validation.as_ndarray`) is used as is, never copied:
        training updates the caller's array. It must therefore be float32
        or float64 in native byte order, C-contiguous and writable;
        anything else raises (TypeError for the dtype or byte order,
        ValueError for the layout or a read-only array) unless ``copy=True``.
        Non-array data (lists, scalars) has no memory to share and is
        converted.
    name : str, optional
    copy : bool, default False
        Train a copy: ``data`` is copied into a new C-contiguous array
        (float64 for integer or float64 data, else float32 or the float
        dtype itself). Your array is then never updated; read the trained
        values from ``param.data``.
    """

    __slots__ = ("data", "grad", "name")

    def __init__(self, data, name=None, *, copy=False):
        if not isinstance(copy, (bool, np.bool_)):
            raise TypeError(f"copy must be a bool, got {type(copy).__name__}")
        from fastnn._validation import as_ndarray

        what = f"Parameter {name!r}" if name else "Parameter data"
        try:
            arr = as_ndarray("data", data, writable=not copy)
        except ValueError as e:  # a read-only buffer
            raise ValueError(f"{what}: {e}. {_HOW}") from None
        if copy or not isinstance(arr, np.ndarray):
            src = np.asarray(arr)
            dtype = src.dtype.newbyteorder("=") if src.dtype.newbyteorder("=") in _REALS \
                else np.result_type(src.dtype, np.float32)
            if dtype not in _REALS:
                raise TypeError(f"{what} has dtype {src.dtype}; parameters are float32 or "
                                f"float64")
            data = np.array(src, dtype=dtype, order="C", copy=True)
        else:
            _check_in_place(what, arr)
            data = arr
        self.data = data
        self.grad = None
        self.name = name

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def zero_grad(self, set_to_none=True):
        """Drop the gradient (default) or set it to zeros."""
        if set_to_none or self.grad is None:
            self.grad = None
        else:
            self.grad[...] = 0

    def __repr__(self):
        name = f"{self.name!r}, " if self.name else ""
        return f"Parameter({name}shape={self.data.shape}, dtype={self.data.dtype})"


_HOW = ("Optimizers update a parameter in place and fastnn never trains a silent copy "
        "(your array would never change). To train a copy, pass copy=True "
        "(Parameter(data, copy=True)) or convert it yourself, e.g. "
        "np.ascontiguousarray(data, dtype=np.float32), and read the trained values from "
        "param.data.")


def _check_in_place(what, a):
    if a.dtype.newbyteorder("=") not in _REALS:
        raise TypeError(f"{what} has dtype {a.dtype}; parameters are float32 or float64. "
                        + _HOW)
    if not a.dtype.isnative:
        raise TypeError(f"{what} has dtype {a.dtype.str} in non-native byte order. " + _HOW)
    if not a.flags.c_contiguous:
        raise ValueError(f"{what} is not C-contiguous (a strided view or a Fortran-order "
                         f"array). " + _HOW)
    if not a.flags.writeable:
        raise ValueError(f"{what} is read-only. " + _HOW)
