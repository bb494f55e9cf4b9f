"""Compiled wrappers of the activation and dense-layer kernels (csrc/dense).

Arguments arrive validated by fastnn.functional.dense: C-contiguous arrays
of one dtype with consistent shapes. ``None`` stands for a NULL pointer."""
cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer

from fastnn._ext.c_generic cimport *

import threading

cnp.import_array()

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


cdef inline fnn_act_params _params(double negative_slope, double alpha, double beta,
                                   double threshold):
    cdef fnn_act_params p
    p.negative_slope = negative_slope
    p.alpha = alpha
    p.beta = beta
    p.threshold = threshold
    return p


cdef inline size_t _size(object a):
    if a is None:
        return 0
    return <size_t>cnp.PyArray_SIZE(<cnp.ndarray>a)


def act_forward(int act, double negative_slope, double alpha, double beta, double threshold,
                size_t n_outer, size_t n_channels, size_t n_inner, cnp.ndarray x, object bias,
                object slope, object pre, cnp.ndarray y, int n_threads, int flags):
    cdef fnn_act_params p = _params(negative_slope, alpha, beta, threshold)
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
    cdef fnn_act_params p = _params(negative_slope, alpha, beta, threshold)
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


# ---- the dense layer: tiles of BLAS products in fastnn's threads ----

ENGINE_AUTO = FNN_DENSE_ENGINE_AUTO
ENGINE_BLAS = FNN_DENSE_ENGINE_BLAS
ENGINE_OWN = FNN_DENSE_ENGINE_OWN


def set_engine(int engine):
    """The product the dense layer's tiles run (one setting per process);
    returns it, or -1 for an unknown value."""
    cdef int r
    with nogil:
        r = fnn_dense_set_engine(engine)
    return r


def get_engine():
    cdef int r
    with nogil:
        r = fnn_dense_get_engine()
    return r


ctypedef void (*sgemm_t)(char *, char *, int *, int *, int *, float *, float *, int *, float *,
                         int *, float *, float *, int *) noexcept nogil
ctypedef void (*dgemm_t)(char *, char *, int *, int *, int *, double *, double *, int *,
                         double *, int *, double *, double *, int *) noexcept nogil
ctypedef int (*get_threads_t)() noexcept nogil
ctypedef void (*set_threads_t)(int) noexcept nogil

cdef fnn_blas_gemm _gemm
_gemm.sgemm = NULL
_gemm.dgemm = NULL

cdef enum:
    MAX_CONTROLS = 16
cdef get_threads_t _get_threads[MAX_CONTROLS]
cdef set_threads_t _set_threads[MAX_CONTROLS]
cdef int _saved_threads[MAX_CONTROLS]
cdef int _n_controls = 0
cdef int _depth = 0
_controls_lock = threading.Lock()


cdef void *_capsule_pointer(object capsule) except NULL:
    return PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


def load_scipy_gemm():
    """Take sgemm/dgemm from scipy.linalg.cython_blas; False without scipy."""
    try:
        from scipy.linalg import cython_blas
    except ImportError:
        return False
    capi = cython_blas.__pyx_capi__
    _gemm.sgemm = <sgemm_t>_capsule_pointer(capi["sgemm"])
    _gemm.dgemm = <dgemm_t>_capsule_pointer(capi["dgemm"])
    return True


def set_blas_thread_controls(list controls):
    """(openblas_get_num_threads, openblas_set_num_threads) addresses of the
    OpenBLAS libraries to switch to one thread during a dense call."""
    global _n_controls
    if len(controls) > MAX_CONTROLS:
        controls = controls[:MAX_CONTROLS]
    with _controls_lock:
        if _depth != 0:
            raise RuntimeError("BLAS thread controls changed during a dense call")
        for i, (get, set_) in enumerate(controls):
            _get_threads[i] = <get_threads_t><size_t>get
            _set_threads[i] = <set_threads_t><size_t>set_
        _n_controls = len(controls)


cdef void _blas_single_enter():
    """The first of concurrent dense calls saves each OpenBLAS setting and
    sets one thread; the last one out restores them."""
    global _depth
    cdef int i
    with _controls_lock:
        if _depth == 0:
            for i in range(_n_controls):
                _saved_threads[i] = _get_threads[i]()
                if _saved_threads[i] != 1:
                    _set_threads[i](1)
        _depth += 1


cdef void _blas_single_leave():
    global _depth
    cdef int i
    with _controls_lock:
        _depth -= 1
        if _depth == 0:
            for i in range(_n_controls):
                if _saved_threads[i] != 1:
                    _set_threads[i](_saved_threads[i])


def blas_single_enter():
    """Enter a section in which every controlled OpenBLAS runs on one thread
    (counted: the first entrant saves the settings, the last one out
    restores them). fastnn.fit uses it; the dense calls enter it too."""
    _blas_single_enter()


def blas_single_leave():
    _blas_single_leave()


def dense_forward(int act, double negative_slope, double alpha, double beta, double threshold,
                  size_t n_samples, size_t in_features, size_t out_features, cnp.ndarray x,
                  cnp.ndarray weight, object bias, object slope, object pre, cnp.ndarray y,
                  int n_threads, int flags):
    cdef fnn_act_params p = _params(negative_slope, alpha, beta, threshold)
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *pw = cnp.PyArray_DATA(weight)
    cdef void *pb = _ptr(bias)
    cdef void *ps = _ptr(slope)
    cdef size_t ns = _size(slope)
    cdef void *pp = _ptr(pre)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef int dtype = _dtype(x)
    _blas_single_enter()
    try:
        with nogil:
            fnn_dense_forward(dtype, &_gemm, act, &p, n_samples, in_features, out_features, px,
                              pw, pb, ps, ns, pp, py, n_threads, flags)
    finally:
        _blas_single_leave()


def dense_backward(int act, double negative_slope, double alpha, double beta, double threshold,
                   size_t n_samples, size_t in_features, size_t out_features, cnp.ndarray dy,
                   cnp.ndarray x, cnp.ndarray weight, cnp.ndarray saved, bint saved_is_output,
                   object slope, cnp.ndarray dz, object dx, cnp.ndarray dweight, object dbias,
                   object dslope, int n_threads, int flags):
    cdef fnn_act_params p = _params(negative_slope, alpha, beta, threshold)
    cdef void *pdy = cnp.PyArray_DATA(dy)
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *pw = cnp.PyArray_DATA(weight)
    cdef void *pv = cnp.PyArray_DATA(saved)
    cdef void *ps = _ptr(slope)
    cdef size_t ns = _size(slope)
    cdef void *pdz = cnp.PyArray_DATA(dz)
    cdef void *pdx = _ptr(dx)
    cdef void *pdw = cnp.PyArray_DATA(dweight)
    cdef void *pdb = _ptr(dbias)
    cdef void *pds = _ptr(dslope)
    cdef int dtype = _dtype(x)
    cdef int status
    _blas_single_enter()
    try:
        with nogil:
            status = fnn_dense_backward(dtype, &_gemm, act, &p, n_samples, in_features,
                                        out_features, pdy, px, pw, pv, saved_is_output, ps, ns,
                                        pdz, pdx, pdw, pdb, pds, n_threads, flags)
    finally:
        _blas_single_leave()
    if status != 0:
        raise MemoryError("dense backward: out of memory for the reduction scratch")


def probe_single_threaded():
    """For the tests: each controlled OpenBLAS library's thread count as a
    dense call sees it (inside the single-thread guard)."""
    cdef int i
    seen = []
    _blas_single_enter()
    try:
        for i in range(_n_controls):
            seen.append(_get_threads[i]())
    finally:
        _blas_single_leave()
    return seen
