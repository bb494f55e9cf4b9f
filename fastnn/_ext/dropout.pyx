"""Compiled wrappers of the dropout and noise kernels (csrc/dropout).

Arguments arrive validated by fastnn.functional.dropout: contiguous arrays of
one dtype, masks of (n + 7) // 8 uint8 bytes."""
cimport numpy as cnp
from libc.stdint cimport uint8_t, uint64_t

from fastnn._ext.c_generic cimport *

cnp.import_array()

include "arrays.pxi"


cdef inline uint8_t *_mask(object mask):
    if mask is None:
        return NULL
    return <uint8_t *>cnp.PyArray_DATA(<cnp.ndarray>mask)


def dropout(cnp.ndarray x, cnp.ndarray y, object mask, double p, uint64_t seed,
            uint64_t offset, int n_threads, int flags):
    cdef const void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef uint8_t *pm = _mask(mask)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(x)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_dropout(dtype, px, py, pm, n, p, seed, offset, n_threads, flags)


def dropout_backward(cnp.ndarray gy, cnp.ndarray gx, double p, uint64_t seed, uint64_t offset,
                     int n_threads, int flags):
    cdef const void *pg = cnp.PyArray_DATA(gy)
    cdef void *po = cnp.PyArray_DATA(gx)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(gy)
    cdef int dtype = _dtype(gy)
    with nogil:
        fnn_dropout_backward(dtype, pg, po, n, p, seed, offset, n_threads, flags)


def dropout_backward_mask(cnp.ndarray gy, cnp.ndarray mask, cnp.ndarray gx, double p,
                          int n_threads, int flags):
    cdef const void *pg = cnp.PyArray_DATA(gy)
    cdef const uint8_t *pm = <const uint8_t *>cnp.PyArray_DATA(mask)
    cdef void *po = cnp.PyArray_DATA(gx)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(gy)
    cdef int dtype = _dtype(gy)
    with nogil:
        fnn_dropout_backward_mask(dtype, pg, pm, po, n, p, n_threads, flags)


def channel_dropout(cnp.ndarray x, cnp.ndarray y, size_t n_rows, size_t row_len, double p,
                    uint64_t seed, uint64_t offset, int n_threads, int flags):
    cdef const void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_channel_dropout(dtype, px, py, n_rows, row_len, p, seed, offset, n_threads, flags)


def gaussian_noise(cnp.ndarray x, cnp.ndarray y, double std, bint multiplicative,
                   uint64_t seed, uint64_t offset, int n_threads, int flags):
    cdef const void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(x)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_gaussian_noise(dtype, px, py, n, std, multiplicative, seed, offset, n_threads,
                           flags)
