"""A trainable array and its gradient."""
import numpy as np

__all__ = ["Parameter"]


class Parameter:
    """A trainable array (``data``) with its gradient (``grad``).

    Optimizers update ``data`` in place, so ``data`` must stay a C-contiguous
    float32/float64 array; ``grad`` is an array of the same shape and dtype,
    or None when there is no gradient (the optimizer then skips it).

    Parameters
    ----------
    data : array_like
        Initial values. A C-contiguous float32/float64 ndarray is used as is
        (not copied); anything else is converted.
    name : str, optional
    """

    __slots__ = ("data", "grad", "name")

    def __init__(self, data, name=None):
        if not (isinstance(data, np.ndarray) and data.dtype in (np.float32, np.float64)
                and data.flags.c_contiguous):
            data = np.ascontiguousarray(data, dtype=np.result_type(np.asarray(data).dtype,
                                                                   np.float32))
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
