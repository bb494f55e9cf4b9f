"""Compiled wrappers of the activation and dense-layer kernels (csrc/dense).

Arguments arrive validated by fastnn.functional.dense: C-contiguous arrays
of one dtype with consistent shapes. ``None`` stands for a NULL pointer."""
cimport numpy as cnp

from fastnn._ext.c_dense cimport *

cnp.import_array()

include "dispatch.pxi"

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


cdef inline void *_ptr(object a):
    if a is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>a)


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
    cdef bint f32 = cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32
    with nogil:
        if f32:
            fnn_act_forward_f32(act, &p, n_outer, n_channels, n_inner, <const float *>px,
                                <const float *>pb, <const float *>ps, ns, <float *>pp,
                                <float *>py, n_threads, flags)
        else:
            fnn_act_forward_f64(act, &p, n_outer, n_channels, n_inner, <const double *>px,
                                <const double *>pb, <const double *>ps, ns, <double *>pp,
                                <double *>py, n_threads, flags)


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
    cdef bint f32 = cnp.PyArray_TYPE(dy) == cnp.NPY_FLOAT32
    cdef int status
    with nogil:
        if f32:
            status = fnn_act_backward_f32(act, &p, n_outer, n_channels, n_inner,
                                          <const float *>pdy, <const float *>pv, saved_is_output,
                                          <const float *>ps, ns, <float *>pdx, <float *>pdb,
                                          <float *>pds, n_threads, flags)
        else:
            status = fnn_act_backward_f64(act, &p, n_outer, n_channels, n_inner,
                                          <const double *>pdy, <const double *>pv,
                                          saved_is_output, <const double *>ps, ns,
                                          <double *>pdx, <double *>pdb, <double *>pds,
                                          n_threads, flags)
    if status != 0:
        raise MemoryError("activation backward: out of memory for the reduction scratch")


def math(int fn, cnp.ndarray x, cnp.ndarray y, int n_threads, int flags):
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(x)
    cdef bint f32 = cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32
    with nogil:
        if f32:
            fnn_math_f32(fn, <const float *>px, <float *>py, n, n_threads, flags)
        else:
            fnn_math_f64(fn, <const double *>px, <double *>py, n, n_threads, flags)
