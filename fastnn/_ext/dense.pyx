"""Compiled wrappers of the activation and dense-layer kernels (csrc/dense).

Arguments arrive validated by fastnn.functional.dense: C-contiguous arrays
of one dtype with consistent shapes. ``None`` stands for a NULL pointer."""
cimport numpy as cnp

from fastnn._ext.c_generic cimport *

cnp.import_array()

include "dispatch.pxi"
include "arrays.pxi"

IDENTITY = FNN_ACT_IDENTITY
RELU = FNN_ACT_RELU
LEAKY_RELU = FNN_ACT_LEAKY_RELU
PRELU = FNN_ACT_PRELU
ELU = FNN_ACT_ELU
GELU = FNN_ACT_GELU
GELU_TANH = FNN_ACT_GELU_TANH
SILU = FNN_ACT_SILU
SIGMOID = FNN_ACT_SIGMOID
TANH = FNN_ACT_TANH
SOFTPLUS = FNN_ACT_SOFTPLUS

MATH_EXP = FNN_MATH_EXP
MATH_EXPM1 = FNN_MATH_EXPM1
MATH_TANH = FNN_MATH_TANH
MATH_ERF = FNN_MATH_ERF
MATH_ERFC = FNN_MATH_ERFC
MATH_SIGMOID = FNN_MATH_SIGMOID
MATH_LOG1P = FNN_MATH_LOG1P


cdef inline size_t _size(object a):
    if a is None:
        return 0
    return <size_t>cnp.PyArray_SIZE(<cnp.ndarray>a)


def act_forward(int act, double negative_slope, double alpha, double beta, double threshold,
                size_t n_outer, size_t n_channels, size_t n_inner, cnp.ndarray x, object bias,
                object slope, object pre, cnp.ndarray y, int n_threads, int flags):
    cdef fnn_act_params p
    p.negative_slope = negative_slope
    p.alpha = alpha
    p.beta = beta
    p.threshold = threshold
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *pb = _ptr(bias)
    cdef void *ps = _ptr(slope)
    cdef size_t ns = _size(slope)
    cdef void *pp = _ptr(pre)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_act_forward(dtype, act, &p, n_outer, n_channels, n_inner, px, pb, ps, ns, pp, py,
                        n_threads, flags)


def act_backward(int act, double negative_slope, double alpha, double beta, double threshold,
                 size_t n_outer, size_t n_channels, size_t n_inner, cnp.ndarray dy,
                 cnp.ndarray saved, bint saved_is_output, object slope, cnp.ndarray dx,
                 object dbias, object dslope, int n_threads, int flags):
    cdef fnn_act_params p
    p.negative_slope = negative_slope
    p.alpha = alpha
    p.beta = beta
    p.threshold = threshold
    cdef void *pdy = cnp.PyArray_DATA(dy)
    cdef void *pv = cnp.PyArray_DATA(saved)
    cdef void *ps = _ptr(slope)
    cdef size_t ns = _size(slope)
    cdef void *pdx = cnp.PyArray_DATA(dx)
    cdef void *pdb = _ptr(dbias)
    cdef void *pds = _ptr(dslope)
    cdef int dtype = _dtype(dy)
    cdef int status
    with nogil:
        status = fnn_act_backward(dtype, act, &p, n_outer, n_channels, n_inner, pdy, pv,
                                  saved_is_output, ps, ns, pdx, pdb, pds, n_threads, flags)
    if status != 0:
        raise MemoryError("activation backward: out of memory for the reduction scratch")


def math(int fn, cnp.ndarray x, cnp.ndarray y, int n_threads, int flags):
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(x)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_math(dtype, fn, px, py, n, n_threads, flags)
