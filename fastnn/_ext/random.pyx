"""Compiled wrappers of the random kernels (csrc/random).

Arguments arrive validated by fastnn.random and fastnn.init: contiguous arrays
of one dtype."""
cimport numpy as cnp
from libc.stdint cimport uint32_t, uint64_t

from fastnn._ext.c_generic cimport *

cnp.import_array()

include "arrays.pxi"


def philox4x32_10(cnp.ndarray counter, cnp.ndarray key, cnp.ndarray out):
    """One block: counter (4,) uint32, key (2,) uint32 -> out (4,) uint32."""
    fnn_philox4x32_10(<const uint32_t *>cnp.PyArray_DATA(counter),
                      <const uint32_t *>cnp.PyArray_DATA(key),
                      <uint32_t *>cnp.PyArray_DATA(out))


def philox_words(cnp.ndarray out, uint64_t seed, uint64_t offset, int n_threads, int flags):
    cdef uint32_t *p = <uint32_t *>cnp.PyArray_DATA(out)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(out)
    with nogil:
        fnn_philox_words(p, n, seed, offset, n_threads, flags)


def uniform(cnp.ndarray out, double low, double high, uint64_t seed, uint64_t offset,
            int n_threads, int flags):
    cdef void *p = cnp.PyArray_DATA(out)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(out)
    cdef int dtype = _dtype(out)
    with nogil:
        fnn_uniform(dtype, p, n, low, high, seed, offset, n_threads, flags)


def normal(cnp.ndarray out, double mean, double std, uint64_t seed, uint64_t offset,
           int n_threads, int flags):
    cdef void *p = cnp.PyArray_DATA(out)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(out)
    cdef int dtype = _dtype(out)
    with nogil:
        fnn_normal(dtype, p, n, mean, std, seed, offset, n_threads, flags)


def normal_icdf_(cnp.ndarray x, double p_lo, double p_hi, double mean, double std, double lo,
                 double hi, int n_threads, int flags):
    """x ← clamp(mean + std·Φ⁻¹(p_lo + (p_hi − p_lo)·x), lo, hi), in place."""
    cdef size_t n = <size_t>cnp.PyArray_SIZE(x)
    cdef void *p = cnp.PyArray_DATA(x)
    cdef int dtype = _dtype(x)
    with nogil:
        fnn_normal_icdf(dtype, p, n, p_lo, p_hi, mean, std, lo, hi, n_threads, flags)
