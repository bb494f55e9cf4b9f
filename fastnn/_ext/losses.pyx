"""Compiled wrappers of the loss and penalty kernels (csrc/losses).

Arguments arrive validated by fastnn.functional.losses / regularizers:
C-contiguous arrays of one dtype, labels as int64, optional arrays None."""
cimport numpy as cnp
from libc.stdint cimport int64_t

from fastnn._ext.c_losses cimport *

cnp.import_array()

include "dispatch.pxi"

REDUCTION_NONE = FNN_REDUCTION_NONE
REDUCTION_MEAN = FNN_REDUCTION_MEAN
REDUCTION_SUM = FNN_REDUCTION_SUM
SMOOTHING_UNIFORM = FNN_SMOOTHING_UNIFORM
SMOOTHING_OTHERS = FNN_SMOOTHING_OTHERS


cdef inline void *_ptr(object a):
    if a is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline bint _is_f32(cnp.ndarray a):
    return cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32


def softmax_cross_entropy(cnp.ndarray logits, object labels, object target, object weight,
                          int64_t ignore_index, double label_smoothing, int smoothing,
                          int reduction, object loss, cnp.ndarray grad, int n_threads, int flags):
    cdef size_t n_rows = <size_t>cnp.PyArray_DIM(logits, 0)
    cdef size_t n_classes = <size_t>cnp.PyArray_DIM(logits, 1)
    cdef void *z = cnp.PyArray_DATA(logits)
    cdef const int64_t *y = <const int64_t *>_ptr(labels)
    cdef void *q = _ptr(target)
    cdef void *w = _ptr(weight)
    cdef void *lo = _ptr(loss)
    cdef void *g = cnp.PyArray_DATA(grad)
    cdef bint f32 = _is_f32(logits)
    cdef double r
    with nogil:
        if f32:
            r = fnn_softmax_cross_entropy_f32(<const float *>z, n_rows, n_classes, y,
                                              <const float *>q, <const float *>w, ignore_index,
                                              label_smoothing, smoothing, reduction,
                                              <float *>lo, <float *>g, n_threads, flags)
        else:
            r = fnn_softmax_cross_entropy_f64(<const double *>z, n_rows, n_classes, y,
                                              <const double *>q, <const double *>w, ignore_index,
                                              label_smoothing, smoothing, reduction,
                                              <double *>lo, <double *>g, n_threads, flags)
    return r


def nll_loss(cnp.ndarray log_probs, cnp.ndarray labels, object weight, int64_t ignore_index,
             int reduction, object loss, cnp.ndarray grad, int n_threads, int flags):
    cdef size_t n_rows = <size_t>cnp.PyArray_DIM(log_probs, 0)
    cdef size_t n_classes = <size_t>cnp.PyArray_DIM(log_probs, 1)
    cdef void *x = cnp.PyArray_DATA(log_probs)
    cdef const int64_t *y = <const int64_t *>cnp.PyArray_DATA(labels)
    cdef void *w = _ptr(weight)
    cdef void *lo = _ptr(loss)
    cdef void *g = cnp.PyArray_DATA(grad)
    cdef bint f32 = _is_f32(log_probs)
    cdef double r
    with nogil:
        if f32:
            r = fnn_nll_loss_f32(<const float *>x, n_rows, n_classes, y, <const float *>w,
                                 ignore_index, reduction, <float *>lo, <float *>g, n_threads,
                                 flags)
        else:
            r = fnn_nll_loss_f64(<const double *>x, n_rows, n_classes, y, <const double *>w,
                                 ignore_index, reduction, <double *>lo, <double *>g, n_threads,
                                 flags)
    return r


def multi_margin_loss(cnp.ndarray input, cnp.ndarray labels, object weight, int p,
                      double margin, bint divide_by_classes, int reduction, object loss,
                      cnp.ndarray grad, int n_threads, int flags):
    cdef size_t n_rows = <size_t>cnp.PyArray_DIM(input, 0)
    cdef size_t n_classes = <size_t>cnp.PyArray_DIM(input, 1)
    cdef void *x = cnp.PyArray_DATA(input)
    cdef const int64_t *y = <const int64_t *>cnp.PyArray_DATA(labels)
    cdef void *w = _ptr(weight)
    cdef void *lo = _ptr(loss)
    cdef void *g = cnp.PyArray_DATA(grad)
    cdef bint f32 = _is_f32(input)
    cdef double r
    with nogil:
        if f32:
            r = fnn_multi_margin_loss_f32(<const float *>x, n_rows, n_classes, y,
                                          <const float *>w, p, margin, divide_by_classes,
                                          reduction, <float *>lo, <float *>g, n_threads, flags)
        else:
            r = fnn_multi_margin_loss_f64(<const double *>x, n_rows, n_classes, y,
                                          <const double *>w, p, margin, divide_by_classes,
                                          reduction, <double *>lo, <double *>g, n_threads, flags)
    return r


def entropy_penalty(cnp.ndarray logits, int reduction, object loss, cnp.ndarray grad,
                    int n_threads, int flags):
    cdef size_t n_rows = <size_t>cnp.PyArray_DIM(logits, 0)
    cdef size_t n_classes = <size_t>cnp.PyArray_DIM(logits, 1)
    cdef void *z = cnp.PyArray_DATA(logits)
    cdef void *lo = _ptr(loss)
    cdef void *g = cnp.PyArray_DATA(grad)
    cdef bint f32 = _is_f32(logits)
    cdef double r
    with nogil:
        if f32:
            r = fnn_entropy_penalty_f32(<const float *>z, n_rows, n_classes, reduction,
                                        <float *>lo, <float *>g, n_threads, flags)
        else:
            r = fnn_entropy_penalty_f64(<const double *>z, n_rows, n_classes, reduction,
                                        <double *>lo, <double *>g, n_threads, flags)
    return r


def bce_with_logits(cnp.ndarray logits, cnp.ndarray target, object weight, object pos_weight,
                    size_t period, int reduction, object loss, cnp.ndarray grad, int n_threads,
                    int flags):
    cdef size_t n = <size_t>cnp.PyArray_SIZE(logits)
    cdef void *x = cnp.PyArray_DATA(logits)
    cdef void *y = cnp.PyArray_DATA(target)
    cdef void *w = _ptr(weight)
    cdef void *pw = _ptr(pos_weight)
    cdef void *lo = _ptr(loss)
    cdef void *g = cnp.PyArray_DATA(grad)
    cdef bint f32 = _is_f32(logits)
    cdef double r
    with nogil:
        if f32:
            r = fnn_bce_with_logits_f32(<const float *>x, <const float *>y, n, <const float *>w,
                                        <const float *>pw, period, reduction, <float *>lo,
                                        <float *>g, n_threads, flags)
        else:
            r = fnn_bce_with_logits_f64(<const double *>x, <const double *>y, n,
                                        <const double *>w, <const double *>pw, period, reduction,
                                        <double *>lo, <double *>g, n_threads, flags)
    return r


def mse_loss(cnp.ndarray input, cnp.ndarray target, int reduction, object loss,
             cnp.ndarray grad, int n_threads, int flags):
    cdef size_t n = <size_t>cnp.PyArray_SIZE(input)
    cdef void *x = cnp.PyArray_DATA(input)
    cdef void *y = cnp.PyArray_DATA(target)
    cdef void *lo = _ptr(loss)
    cdef void *g = cnp.PyArray_DATA(grad)
    cdef bint f32 = _is_f32(input)
    cdef double r
    with nogil:
        if f32:
            r = fnn_mse_loss_f32(<const float *>x, <const float *>y, n, reduction, <float *>lo,
                                 <float *>g, n_threads, flags)
        else:
            r = fnn_mse_loss_f64(<const double *>x, <const double *>y, n, reduction,
                                 <double *>lo, <double *>g, n_threads, flags)
    return r


def l1l2_penalty(cnp.ndarray w, double l1, double l2, double scale, object grad, int n_threads,
                 int flags):
    cdef size_t n = <size_t>cnp.PyArray_SIZE(w)
    cdef void *x = cnp.PyArray_DATA(w)
    cdef void *g = _ptr(grad)
    cdef bint f32 = _is_f32(w)
    cdef double r
    with nogil:
        if f32:
            r = fnn_l1l2_penalty_f32(<const float *>x, n, l1, l2, scale, <float *>g, n_threads,
                                     flags)
        else:
            r = fnn_l1l2_penalty_f64(<const double *>x, n, l1, l2, scale, <double *>g,
                                     n_threads, flags)
    return r


def normal_icdf_(cnp.ndarray x, double p_lo, double p_hi, double mean, double std, double lo,
                 double hi, int n_threads, int flags):
    """x ← clamp(mean + std·Φ⁻¹(p_lo + (p_hi − p_lo)·x), lo, hi), in place."""
    cdef size_t n = <size_t>cnp.PyArray_SIZE(x)
    cdef void *p = cnp.PyArray_DATA(x)
    cdef bint f32 = _is_f32(x)
    with nogil:
        if f32:
            fnn_normal_icdf_f32(<float *>p, n, p_lo, p_hi, mean, std, lo, hi, n_threads, flags)
        else:
            fnn_normal_icdf_f64(<double *>p, n, p_lo, p_hi, mean, std, lo, hi, n_threads, flags)
