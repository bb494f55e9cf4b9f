"""Compiled wrappers of the augmentation kernels (csrc/augment).

Arguments arrive validated by fastnn.functional.augment: C-contiguous x and
y of one dtype, sizes that match them, parameters in range."""
cimport numpy as cnp
from libc.stdint cimport uint64_t

from fastnn._ext.c_generic cimport *

cnp.import_array()

include "arrays.pxi"


def flip_crop(cnp.ndarray x, cnp.ndarray y, size_t n, size_t c, size_t h, size_t w, size_t out_h, size_t out_w, size_t pad, int reflect, double p_hflip, double p_vflip,
        uint64_t seed, uint64_t offset, int n_threads, int flags):
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_flip_crop(dtype, px, py, n, c, h, w, out_h, out_w, pad, reflect, p_hflip, p_vflip,
                      seed, offset, n_threads, flags)


def affine(cnp.ndarray x, cnp.ndarray y, size_t n, size_t c, size_t h, size_t w, double degrees, double scale_lo, double scale_hi, double translate,
        uint64_t seed, uint64_t offset, int n_threads, int flags):
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_affine(dtype, px, py, n, c, h, w, degrees, scale_lo, scale_hi, translate, seed,
                   offset, n_threads, flags)


def color_jitter(cnp.ndarray x, cnp.ndarray y, size_t n, size_t row_len, double brightness, double contrast,
        uint64_t seed, uint64_t offset, int n_threads, int flags):
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_color_jitter(dtype, px, py, n, row_len, brightness, contrast, seed, offset,
                         n_threads, flags)


def snr_noise(cnp.ndarray x, cnp.ndarray y, size_t n, size_t row_len, double snr_db,
        uint64_t seed, uint64_t offset, int n_threads, int flags):
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_snr_noise(dtype, px, py, n, row_len, snr_db, seed, offset, n_threads, flags)


def time_shift(cnp.ndarray x, cnp.ndarray y, size_t n, size_t len, size_t feat, size_t max_shift, int wrap,
        uint64_t seed, uint64_t offset, int n_threads, int flags):
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_time_shift(dtype, px, py, n, len, feat, max_shift, wrap, seed, offset, n_threads,
                       flags)


def element_dropout(cnp.ndarray x, cnp.ndarray y, size_t n, size_t len, size_t feat, double p,
        uint64_t seed, uint64_t offset, int n_threads, int flags):
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_element_dropout(dtype, px, py, n, len, feat, p, seed, offset, n_threads, flags)


def neighbor_swap(cnp.ndarray x, cnp.ndarray y, size_t n, size_t len, size_t feat, double p,
        uint64_t seed, uint64_t offset, int n_threads, int flags):
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_neighbor_swap(dtype, px, py, n, len, feat, p, seed, offset, n_threads, flags)
