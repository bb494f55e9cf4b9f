"""Compiled wrappers of the regularizer kernels (csrc/regularizers).

Arguments arrive validated by fastnn.functional.regularizers: C-contiguous
arrays of one dtype, an optional gradient None."""
cimport numpy as cnp

from fastnn._ext.c_generic cimport *

cnp.import_array()

include "arrays.pxi"


def l1l2_penalty(cnp.ndarray w, double l1, double l2, double scale, object grad, int n_threads,
                 int flags):
    cdef size_t n = <size_t>cnp.PyArray_SIZE(w)
    cdef void *x = cnp.PyArray_DATA(w)
    cdef void *g = _ptr(grad)
    cdef int dtype = _dtype(w)
    cdef double r
    with nogil:
        r = fnn_l1l2_penalty(dtype, x, n, l1, l2, scale, g, n_threads, flags)
    return r
