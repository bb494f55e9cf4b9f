# Included by the kernel wrappers: an ndarray's data pointer and dtype code.
# The arrays arrive validated by the Python layer (C-contiguous, float32 or
# float64, or None where the C kernel takes NULL).
from fastnn._ext.c_capi cimport FNN_DTYPE_FLOAT32, FNN_DTYPE_FLOAT64


cdef inline void *_ptr(object a):
    if a is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline int _dtype(cnp.ndarray a):
    return FNN_DTYPE_FLOAT32 if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32 else FNN_DTYPE_FLOAT64
