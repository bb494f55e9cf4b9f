"""Compiled wrappers of the optimizer kernels (csrc/optim)."""
cimport numpy as cnp
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free

from fastnn._ext.c_capi cimport *

cnp.import_array()

SGD = FNN_OPTIM_SGD
ADAGRAD = FNN_OPTIM_ADAGRAD
RMSPROP = FNN_OPTIM_RMSPROP
ADAM = FNN_OPTIM_ADAM
NADAM = FNN_OPTIM_NADAM
RADAM = FNN_OPTIM_RADAM
LION = FNN_OPTIM_LION

OPT_MAXIMIZE = FNN_OPT_MAXIMIZE
OPT_DECOUPLED_WD = FNN_OPT_DECOUPLED_WD
OPT_NESTEROV = FNN_OPT_NESTEROV
OPT_AMSGRAD = FNN_OPT_AMSGRAD
OPT_CENTERED = FNN_OPT_CENTERED
OPT_EPS_INSIDE_SQRT = FNN_OPT_EPS_INSIDE_SQRT
OPT_EMA_MOMENTUM = FNN_OPT_EMA_MOMENTUM

REDUCE_SUM_SQUARES = FNN_REDUCE_SUM_SQUARES
REDUCE_SUM_ABS_POW = FNN_REDUCE_SUM_ABS_POW
REDUCE_MAX_ABS = FNN_REDUCE_MAX_ABS

DEF STACK_ARRAYS = 16


cdef inline void _pointers(object arrays, Py_ssize_t n, void **out):
    cdef Py_ssize_t i
    if arrays is None:
        return
    for i in range(n):
        out[i] = cnp.PyArray_DATA(<cnp.ndarray>arrays[i])


def step(int algorithm, list params, list grads, object state0, object state1, object state2,
         double lr, double beta1, double beta2, double eps, double momentum, double dampening,
         double alpha, double lr_decay, double weight_decay, double l1, double mu,
         double mu_next, double mu_product, int64_t step, unsigned options,
         int n_threads, int flags):
    """Run one optimizer step over lists of validated, same-dtype arrays.

    ``state0..2`` are lists parallel to ``params`` or None (see
    fastnn.h, enum fnn_optim_algorithm, for each optimizer's roles)."""
    cdef Py_ssize_t n = len(params)
    if n == 0:
        return
    cdef fnn_optim_hparams hp
    hp.lr = lr
    hp.beta1 = beta1
    hp.beta2 = beta2
    hp.eps = eps
    hp.momentum = momentum
    hp.dampening = dampening
    hp.alpha = alpha
    hp.lr_decay = lr_decay
    hp.weight_decay = weight_decay
    hp.l1 = l1
    hp.mu = mu
    hp.mu_next = mu_next
    hp.mu_product = mu_product
    hp.step = step
    hp.options = options
    cdef int dtype = (FNN_DTYPE_FLOAT32 if cnp.PyArray_TYPE(<cnp.ndarray>params[0]) == cnp.NPY_FLOAT32
                      else FNN_DTYPE_FLOAT64)

    cdef size_t stack_sizes[STACK_ARRAYS]
    cdef void *stack_ptrs[5 * STACK_ARRAYS]
    cdef size_t *sizes = stack_sizes
    cdef void **ptrs = stack_ptrs
    if n > STACK_ARRAYS:
        sizes = <size_t *>malloc(n * sizeof(size_t))
        ptrs = <void **>malloc(5 * n * sizeof(void *))
        if sizes == NULL or ptrs == NULL:
            free(sizes)
            free(ptrs)
            raise MemoryError()
    cdef Py_ssize_t i
    try:
        for i in range(n):
            sizes[i] = <size_t>cnp.PyArray_SIZE(<cnp.ndarray>params[i])
        _pointers(params, n, ptrs)
        _pointers(grads, n, ptrs + n)
        _pointers(state0, n, ptrs + 2 * n)
        _pointers(state1, n, ptrs + 3 * n)
        _pointers(state2, n, ptrs + 4 * n)
        with nogil:
            fnn_optim_step(algorithm, dtype, n, sizes, ptrs, <const void *const *>(ptrs + n),
                           ptrs + 2 * n if state0 is not None else NULL,
                           ptrs + 3 * n if state1 is not None else NULL,
                           ptrs + 4 * n if state2 is not None else NULL,
                           &hp, n_threads, flags)
    finally:
        if n > STACK_ARRAYS:
            free(sizes)
            free(ptrs)


cdef inline int _dtype(cnp.ndarray x):
    return FNN_DTYPE_FLOAT32 if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32 else FNN_DTYPE_FLOAT64


def reduce(int kind, cnp.ndarray x, double p_norm, int n_threads, int flags):
    """Σx², Σ|x|^p or max|x| (``kind``: REDUCE_*) of a validated array."""
    cdef int dtype = _dtype(x)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(x)
    cdef const void *data = cnp.PyArray_DATA(x)
    cdef double r
    with nogil:
        r = fnn_reduce(kind, dtype, data, n, p_norm, n_threads, flags)
    return r


def scale_(cnp.ndarray x, double scale, int n_threads, int flags):
    cdef int dtype = _dtype(x)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(x)
    cdef void *data = cnp.PyArray_DATA(x)
    with nogil:
        fnn_scale(dtype, data, n, scale, n_threads, flags)


def clamp_(cnp.ndarray x, double lo, double hi, int n_threads, int flags):
    cdef int dtype = _dtype(x)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(x)
    cdef void *data = cnp.PyArray_DATA(x)
    with nogil:
        fnn_clamp(dtype, data, n, lo, hi, n_threads, flags)
