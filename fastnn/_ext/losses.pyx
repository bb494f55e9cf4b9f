"""Compiled wrappers of the loss kernels (csrc/losses).

Arguments arrive validated by fastnn.functional.losses:
C-contiguous arrays of one dtype, labels as int64, optional arrays None."""
cimport numpy as cnp
from libc.stdint cimport int64_t

from fastnn._ext.c_generic cimport *

cnp.import_array()

include "arrays.pxi"

REDUCTION_NONE = FNN_REDUCTION_NONE
REDUCTION_MEAN = FNN_REDUCTION_MEAN
REDUCTION_SUM = FNN_REDUCTION_SUM
SMOOTHING_UNIFORM = FNN_SMOOTHING_UNIFORM
SMOOTHING_OTHERS = FNN_SMOOTHING_OTHERS


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
    cdef int dtype = _dtype(logits)
    cdef double r
    with nogil:
        r = fnn_softmax_cross_entropy(dtype, z, n_rows, n_classes, y, q, w, ignore_index,
                                      label_smoothing, smoothing, reduction, lo, g, n_threads,
                                      flags)
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
    cdef int dtype = _dtype(log_probs)
    cdef double r
    with nogil:
        r = fnn_nll_loss(dtype, x, n_rows, n_classes, y, w, ignore_index, reduction, lo, g,
                         n_threads, flags)
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
    cdef int dtype = _dtype(input)
    cdef double r
    with nogil:
        r = fnn_multi_margin_loss(dtype, x, n_rows, n_classes, y, w, p, margin,
                                  divide_by_classes, reduction, lo, g, n_threads, flags)
    return r


def entropy_penalty(cnp.ndarray logits, int reduction, object loss, cnp.ndarray grad,
                    int n_threads, int flags):
    cdef size_t n_rows = <size_t>cnp.PyArray_DIM(logits, 0)
    cdef size_t n_classes = <size_t>cnp.PyArray_DIM(logits, 1)
    cdef void *z = cnp.PyArray_DATA(logits)
    cdef void *lo = _ptr(loss)
    cdef void *g = cnp.PyArray_DATA(grad)
    cdef int dtype = _dtype(logits)
    cdef double r
    with nogil:
        r = fnn_entropy_penalty(dtype, z, n_rows, n_classes, reduction, lo, g, n_threads, flags)
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
    cdef int dtype = _dtype(logits)
    cdef double r
    with nogil:
        r = fnn_bce_with_logits(dtype, x, y, n, w, pw, period, reduction, lo, g, n_threads,
                                flags)
    return r


def mse_loss(cnp.ndarray input, cnp.ndarray target, int reduction, object loss,
             cnp.ndarray grad, int n_threads, int flags):
    cdef size_t n = <size_t>cnp.PyArray_SIZE(input)
    cdef void *x = cnp.PyArray_DATA(input)
    cdef void *y = cnp.PyArray_DATA(target)
    cdef void *lo = _ptr(loss)
    cdef void *g = cnp.PyArray_DATA(grad)
    cdef int dtype = _dtype(input)
    cdef double r
    with nogil:
        r = fnn_mse_loss(dtype, x, y, n, reduction, lo, g, n_threads, flags)
    return r
