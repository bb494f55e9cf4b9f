"""Compiled wrappers of the normalization kernels (csrc/norm).

Arguments arrive validated by fastnn.functional.norm: C-contiguous arrays of
one dtype (float32 or float64; saved statistics float64), or None where the
C kernel takes NULL."""
cimport numpy as cnp

from fastnn._ext.c_generic cimport *

cnp.import_array()

include "arrays.pxi"


cdef inline _check(int rc):
    if rc != 0:
        raise MemoryError("fastnn.norm: could not allocate a work buffer")


def batch_norm_train(cnp.ndarray x, size_t n, size_t c, size_t s, object gamma, object beta,
                     object running_mean, object running_var, double momentum, double eps,
                     bint relu, cnp.ndarray y, cnp.ndarray save_mean, cnp.ndarray save_invstd,
                     int n_threads, int flags):
    cdef int dtype = _dtype(x), rc
    cdef void *px = _ptr(x)
    cdef void *pg = _ptr(gamma)
    cdef void *pb = _ptr(beta)
    cdef void *prm = _ptr(running_mean)
    cdef void *prv = _ptr(running_var)
    cdef void *py = _ptr(y)
    cdef double *pm = <double *>_ptr(save_mean)
    cdef double *pi = <double *>_ptr(save_invstd)
    with nogil:
        rc = fnn_batch_norm_train(dtype, px, n, c, s, pg, pb, prm, prv, momentum, eps, relu, py,
                                  pm, pi, n_threads, flags)
    _check(rc)


def batch_norm_infer(cnp.ndarray x, size_t n, size_t c, size_t s, object gamma, object beta,
                     cnp.ndarray running_mean, cnp.ndarray running_var, double eps, bint relu,
                     cnp.ndarray y, cnp.ndarray save_mean, cnp.ndarray save_invstd,
                     int n_threads, int flags):
    cdef int dtype = _dtype(x), rc
    cdef void *px = _ptr(x)
    cdef void *pg = _ptr(gamma)
    cdef void *pb = _ptr(beta)
    cdef void *prm = _ptr(running_mean)
    cdef void *prv = _ptr(running_var)
    cdef void *py = _ptr(y)
    cdef double *pm = <double *>_ptr(save_mean)
    cdef double *pi = <double *>_ptr(save_invstd)
    with nogil:
        rc = fnn_batch_norm_infer(dtype, px, n, c, s, pg, pb, prm, prv, eps, relu, py, pm, pi,
                                  n_threads, flags)
    _check(rc)


def batch_norm_backward(cnp.ndarray dy, cnp.ndarray x, size_t n, size_t c, size_t s,
                        object gamma, object beta, cnp.ndarray save_mean,
                        cnp.ndarray save_invstd, bint training, bint relu, cnp.ndarray dx,
                        object dgamma, object dbeta, int n_threads, int flags):
    cdef int dtype = _dtype(x), rc
    cdef void *pdy = _ptr(dy)
    cdef void *px = _ptr(x)
    cdef void *pg = _ptr(gamma)
    cdef void *pb = _ptr(beta)
    cdef const double *pm = <const double *>_ptr(save_mean)
    cdef const double *pi = <const double *>_ptr(save_invstd)
    cdef void *pdx = _ptr(dx)
    cdef void *pdg = _ptr(dgamma)
    cdef void *pdb = _ptr(dbeta)
    with nogil:
        rc = fnn_batch_norm_backward(dtype, pdy, px, n, c, s, pg, pb, pm, pi, training, relu,
                                     pdx, pdg, pdb, n_threads, flags)
    _check(rc)


def channel_stats(cnp.ndarray x, size_t n, size_t c, size_t s, cnp.ndarray mean,
                  cnp.ndarray m2, int n_threads, int flags):
    cdef int dtype = _dtype(x), rc
    cdef void *px = _ptr(x)
    cdef double *pm = <double *>_ptr(mean)
    cdef double *p2 = <double *>_ptr(m2)
    with nogil:
        rc = fnn_channel_stats(dtype, px, n, c, s, pm, p2, n_threads, flags)
    _check(rc)


def channel_affine(cnp.ndarray x, cnp.ndarray y, size_t n, size_t c, size_t s,
                   object center, cnp.ndarray scale, cnp.ndarray shift, bint relu, int n_threads,
                   int flags):
    cdef int dtype = _dtype(x), rc
    cdef void *px = _ptr(x)
    cdef void *py = _ptr(y)
    cdef const double *pce = <const double *>_ptr(center)
    cdef const double *psc = <const double *>_ptr(scale)
    cdef const double *psh = <const double *>_ptr(shift)
    with nogil:
        rc = fnn_channel_affine(dtype, px, py, n, c, s, pce, psc, psh, relu, n_threads, flags)
    _check(rc)


def layer_norm(cnp.ndarray x, size_t m, size_t d, object gamma, object beta, double eps,
               cnp.ndarray y, cnp.ndarray mean, cnp.ndarray rstd, int n_threads, int flags):
    cdef int dtype = _dtype(x), rc
    cdef void *px = _ptr(x)
    cdef void *pg = _ptr(gamma)
    cdef void *pb = _ptr(beta)
    cdef void *py = _ptr(y)
    cdef double *pm = <double *>_ptr(mean)
    cdef double *pr = <double *>_ptr(rstd)
    with nogil:
        rc = fnn_layer_norm(dtype, px, m, d, pg, pb, eps, py, pm, pr, n_threads, flags)
    _check(rc)


def layer_norm_backward(cnp.ndarray dy, cnp.ndarray x, size_t m, size_t d, object gamma,
                        cnp.ndarray mean, cnp.ndarray rstd, cnp.ndarray dx, object dgamma,
                        object dbeta, int n_threads, int flags):
    cdef int dtype = _dtype(x), rc
    cdef void *pdy = _ptr(dy)
    cdef void *px = _ptr(x)
    cdef void *pg = _ptr(gamma)
    cdef const double *pm = <const double *>_ptr(mean)
    cdef const double *pr = <const double *>_ptr(rstd)
    cdef void *pdx = _ptr(dx)
    cdef void *pdg = _ptr(dgamma)
    cdef void *pdb = _ptr(dbeta)
    with nogil:
        rc = fnn_layer_norm_backward(dtype, pdy, px, m, d, pg, pm, pr, pdx, pdg, pdb,
                                     n_threads, flags)
    _check(rc)


def group_norm(cnp.ndarray x, size_t n, size_t c, size_t s, size_t groups, object gamma,
               object beta, double eps, cnp.ndarray y, cnp.ndarray mean, cnp.ndarray rstd,
               int n_threads, int flags):
    cdef int dtype = _dtype(x), rc
    cdef void *px = _ptr(x)
    cdef void *pg = _ptr(gamma)
    cdef void *pb = _ptr(beta)
    cdef void *py = _ptr(y)
    cdef double *pm = <double *>_ptr(mean)
    cdef double *pr = <double *>_ptr(rstd)
    with nogil:
        rc = fnn_group_norm(dtype, px, n, c, s, groups, pg, pb, eps, py, pm, pr, n_threads,
                            flags)
    _check(rc)


def group_norm_backward(cnp.ndarray dy, cnp.ndarray x, size_t n, size_t c, size_t s,
                        size_t groups, object gamma, cnp.ndarray mean, cnp.ndarray rstd,
                        cnp.ndarray dx, object dgamma, object dbeta, int n_threads, int flags):
    cdef int dtype = _dtype(x), rc
    cdef void *pdy = _ptr(dy)
    cdef void *px = _ptr(x)
    cdef void *pg = _ptr(gamma)
    cdef const double *pm = <const double *>_ptr(mean)
    cdef const double *pr = <const double *>_ptr(rstd)
    cdef void *pdx = _ptr(dx)
    cdef void *pdg = _ptr(dgamma)
    cdef void *pdb = _ptr(dbeta)
    with nogil:
        rc = fnn_group_norm_backward(dtype, pdy, px, n, c, s, groups, pg, pm, pr, pdx, pdg, pdb,
                                     n_threads, flags)
    _check(rc)
