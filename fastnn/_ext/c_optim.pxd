# Declarations of csrc/optim/fastnn_optim.h for Cython.
from libc.stdint cimport int64_t

cdef extern from "fastnn.h" nogil:
    enum:
        FNN_OPTIM_SGD
        FNN_OPTIM_ADAGRAD
        FNN_OPTIM_RMSPROP
        FNN_OPTIM_ADAM
        FNN_OPTIM_NADAM
        FNN_OPTIM_RADAM
        FNN_OPTIM_LION
    enum:
        FNN_OPT_MAXIMIZE
        FNN_OPT_DECOUPLED_WD
        FNN_OPT_NESTEROV
        FNN_OPT_AMSGRAD
        FNN_OPT_CENTERED
        FNN_OPT_EPS_INSIDE_SQRT
        FNN_OPT_EMA_MOMENTUM

    ctypedef struct fnn_optim_hparams:
        double lr
        double beta1
        double beta2
        double eps
        double momentum
        double dampening
        double alpha
        double lr_decay
        double weight_decay
        double l1
        double mu
        double mu_next
        double mu_product
        int64_t step
        unsigned options

    void fnn_optim_step(int algorithm, int dtype, size_t n_arrays, const size_t *sizes,
                        void *const *params, const void *const *grads, void *const *state0,
                        void *const *state1, void *const *state2, const fnn_optim_hparams *hp,
                        int n_threads, int flags)

    enum:
        FNN_REDUCE_SUM_SQUARES
        FNN_REDUCE_SUM_ABS_POW
        FNN_REDUCE_MAX_ABS
    double fnn_reduce(int kind, int dtype, const void *x, size_t n, double p, int n_threads,
                      int flags)
    void fnn_scale(int dtype, void *x, size_t n, double scale, int n_threads, int flags)
    void fnn_clamp(int dtype, void *x, size_t n, double lo, double hi, int n_threads, int flags)
