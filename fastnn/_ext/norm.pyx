"""Compiled wrappers of the normalization kernels (csrc/norm).

Arguments arrive validated by fastnn.functional.norm: C-contiguous arrays of
one dtype (float32 or float64; saved statistics float64), or None where the
C kernel takes NULL."""
cimport numpy as cnp

from fastnn._ext.c_norm cimport *

cnp.import_array()

include "dispatch.pxi"


cdef inline void *_p(object a):
    if a is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline bint _f32(cnp.ndarray a):
    return cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32


cdef inline _check(int rc):
    if rc != 0:
        raise MemoryError("fastnn.norm: could not allocate a work buffer")


def batch_norm_train(cnp.ndarray x, size_t n, size_t c, size_t s, object gamma, object beta,
                     object running_mean, object running_var, double momentum, double eps,
                     bint relu, cnp.ndarray y, cnp.ndarray save_mean, cnp.ndarray save_invstd,
                     int n_threads, int flags):
    cdef void *px = _p(x)
    cdef void *pg = _p(gamma)
    cdef void *pb = _p(beta)
    cdef void *prm = _p(running_mean)
    cdef void *prv = _p(running_var)
    cdef void *py = _p(y)
    cdef double *pm = <double *>_p(save_mean)
    cdef double *pi = <double *>_p(save_invstd)
    cdef bint f32 = _f32(x)
    cdef int rc
    with nogil:
        if f32:
            rc = fnn_batch_norm_train_f32(<const float *>px, n, c, s, <const float *>pg,
                                          <const float *>pb, <float *>prm, <float *>prv,
                                          momentum, eps, relu, <float *>py, pm, pi,
                                          n_threads, flags)
        else:
            rc = fnn_batch_norm_train_f64(<const double *>px, n, c, s, <const double *>pg,
                                          <const double *>pb, <double *>prm, <double *>prv,
                                          momentum, eps, relu, <double *>py, pm, pi,
                                          n_threads, flags)
    _check(rc)


def batch_norm_infer(cnp.ndarray x, size_t n, size_t c, size_t s, object gamma, object beta,
                     cnp.ndarray running_mean, cnp.ndarray running_var, double eps, bint relu,
                     cnp.ndarray y, cnp.ndarray save_mean, cnp.ndarray save_invstd,
                     int n_threads, int flags):
    cdef void *px = _p(x)
    cdef void *pg = _p(gamma)
    cdef void *pb = _p(beta)
    cdef void *prm = _p(running_mean)
    cdef void *prv = _p(running_var)
    cdef void *py = _p(y)
    cdef double *pm = <double *>_p(save_mean)
    cdef double *pi = <double *>_p(save_invstd)
    cdef bint f32 = _f32(x)
    cdef int rc
    with nogil:
        if f32:
            rc = fnn_batch_norm_infer_f32(<const float *>px, n, c, s, <const float *>pg,
                                          <const float *>pb, <const float *>prm,
                                          <const float *>prv, eps, relu, <float *>py, pm, pi,
                                          n_threads, flags)
        else:
            rc = fnn_batch_norm_infer_f64(<const double *>px, n, c, s, <const double *>pg,
                                          <const double *>pb, <const double *>prm,
                                          <const double *>prv, eps, relu, <double *>py, pm, pi,
                                          n_threads, flags)
    _check(rc)


def batch_norm_backward(cnp.ndarray dy, cnp.ndarray x, size_t n, size_t c, size_t s,
                        object gamma, object beta, cnp.ndarray save_mean,
                        cnp.ndarray save_invstd, bint training, bint relu, cnp.ndarray dx,
                        object dgamma, object dbeta, int n_threads, int flags):
    cdef void *pdy = _p(dy)
    cdef void *px = _p(x)
    cdef void *pg = _p(gamma)
    cdef void *pb = _p(beta)
    cdef const double *pm = <const double *>_p(save_mean)
    cdef const double *pi = <const double *>_p(save_invstd)
    cdef void *pdx = _p(dx)
    cdef void *pdg = _p(dgamma)
    cdef void *pdb = _p(dbeta)
    cdef bint f32 = _f32(x)
    cdef int rc
    with nogil:
        if f32:
            rc = fnn_batch_norm_backward_f32(<const float *>pdy, <const float *>px, n, c, s,
                                             <const float *>pg, <const float *>pb, pm, pi,
                                             training, relu, <float *>pdx, <float *>pdg,
                                             <float *>pdb, n_threads, flags)
        else:
            rc = fnn_batch_norm_backward_f64(<const double *>pdy, <const double *>px, n, c, s,
                                             <const double *>pg, <const double *>pb, pm, pi,
                                             training, relu, <double *>pdx, <double *>pdg,
                                             <double *>pdb, n_threads, flags)
    _check(rc)


def channel_stats(cnp.ndarray x, size_t n, size_t c, size_t s, cnp.ndarray mean,
                  cnp.ndarray m2, int n_threads, int flags):
    cdef void *px = _p(x)
    cdef double *pm = <double *>_p(mean)
    cdef double *p2 = <double *>_p(m2)
    cdef bint f32 = _f32(x)
    cdef int rc
    with nogil:
        if f32:
            rc = fnn_channel_stats_f32(<const float *>px, n, c, s, pm, p2, n_threads, flags)
        else:
            rc = fnn_channel_stats_f64(<const double *>px, n, c, s, pm, p2, n_threads, flags)
    _check(rc)


def channel_affine(cnp.ndarray x, cnp.ndarray y, size_t n, size_t c, size_t s,
                   object center, cnp.ndarray scale, cnp.ndarray shift, bint relu, int n_threads, int flags):
    cdef void *px = _p(x)
    cdef void *py = _p(y)
    cdef const double *pce = <const double *>_p(center)
    cdef const double *psc = <const double *>_p(scale)
    cdef const double *psh = <const double *>_p(shift)
    cdef bint f32 = _f32(x)
    cdef int rc
    with nogil:
        if f32:
            rc = fnn_channel_affine_f32(<const float *>px, <float *>py, n, c, s, pce, psc, psh, relu,
                                        n_threads, flags)
        else:
            rc = fnn_channel_affine_f64(<const double *>px, <double *>py, n, c, s, pce, psc, psh,
                                        relu, n_threads, flags)
    _check(rc)


def layer_norm(cnp.ndarray x, size_t m, size_t d, object gamma, object beta, double eps,
               cnp.ndarray y, cnp.ndarray mean, cnp.ndarray rstd, int n_threads, int flags):
    cdef void *px = _p(x)
    cdef void *pg = _p(gamma)
    cdef void *pb = _p(beta)
    cdef void *py = _p(y)
    cdef double *pm = <double *>_p(mean)
    cdef double *pr = <double *>_p(rstd)
    cdef bint f32 = _f32(x)
    cdef int rc
    with nogil:
        if f32:
            rc = fnn_layer_norm_f32(<const float *>px, m, d, <const float *>pg,
                                    <const float *>pb, eps, <float *>py, pm, pr, n_threads, flags)
        else:
            rc = fnn_layer_norm_f64(<const double *>px, m, d, <const double *>pg,
                                    <const double *>pb, eps, <double *>py, pm, pr, n_threads,
                                    flags)
    _check(rc)


def layer_norm_backward(cnp.ndarray dy, cnp.ndarray x, size_t m, size_t d, object gamma,
                        cnp.ndarray mean, cnp.ndarray rstd, cnp.ndarray dx, object dgamma,
                        object dbeta, int n_threads, int flags):
    cdef void *pdy = _p(dy)
    cdef void *px = _p(x)
    cdef void *pg = _p(gamma)
    cdef const double *pm = <const double *>_p(mean)
    cdef const double *pr = <const double *>_p(rstd)
    cdef void *pdx = _p(dx)
    cdef void *pdg = _p(dgamma)
    cdef void *pdb = _p(dbeta)
    cdef bint f32 = _f32(x)
    cdef int rc
    with nogil:
        if f32:
            rc = fnn_layer_norm_backward_f32(<const float *>pdy, <const float *>px, m, d,
                                             <const float *>pg, pm, pr, <float *>pdx,
                                             <float *>pdg, <float *>pdb, n_threads, flags)
        else:
            rc = fnn_layer_norm_backward_f64(<const double *>pdy, <const double *>px, m, d,
                                             <const double *>pg, pm, pr, <double *>pdx,
                                             <double *>pdg, <double *>pdb, n_threads, flags)
    _check(rc)


def group_norm(cnp.ndarray x, size_t n, size_t c, size_t s, size_t groups, object gamma,
               object beta, double eps, cnp.ndarray y, cnp.ndarray mean, cnp.ndarray rstd,
               int n_threads, int flags):
    cdef void *px = _p(x)
    cdef void *pg = _p(gamma)
    cdef void *pb = _p(beta)
    cdef void *py = _p(y)
    cdef double *pm = <double *>_p(mean)
    cdef double *pr = <double *>_p(rstd)
    cdef bint f32 = _f32(x)
    cdef int rc
    with nogil:
        if f32:
            rc = fnn_group_norm_f32(<const float *>px, n, c, s, groups, <const float *>pg,
                                    <const float *>pb, eps, <float *>py, pm, pr, n_threads,
                                    flags)
        else:
            rc = fnn_group_norm_f64(<const double *>px, n, c, s, groups, <const double *>pg,
                                    <const double *>pb, eps, <double *>py, pm, pr, n_threads,
                                    flags)
    _check(rc)


def group_norm_backward(cnp.ndarray dy, cnp.ndarray x, size_t n, size_t c, size_t s,
                        size_t groups, object gamma, cnp.ndarray mean, cnp.ndarray rstd,
                        cnp.ndarray dx, object dgamma, object dbeta, int n_threads, int flags):
    cdef void *pdy = _p(dy)
    cdef void *px = _p(x)
    cdef void *pg = _p(gamma)
    cdef const double *pm = <const double *>_p(mean)
    cdef const double *pr = <const double *>_p(rstd)
    cdef void *pdx = _p(dx)
    cdef void *pdg = _p(dgamma)
    cdef void *pdb = _p(dbeta)
    cdef bint f32 = _f32(x)
    cdef int rc
    with nogil:
        if f32:
            rc = fnn_group_norm_backward_f32(<const float *>pdy, <const float *>px, n, c, s,
                                             groups, <const float *>pg, pm, pr, <float *>pdx,
                                             <float *>pdg, <float *>pdb, n_threads, flags)
        else:
            rc = fnn_group_norm_backward_f64(<const double *>pdy, <const double *>px, n, c, s,
                                             groups, <const double *>pg, pm, pr, <double *>pdx,
                                             <double *>pdg, <double *>pdb, n_threads, flags)
    _check(rc)
