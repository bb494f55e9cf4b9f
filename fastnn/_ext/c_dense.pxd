# Declarations of csrc/dense/fastnn_dense.h for Cython.

cdef extern from "fastnn.h" nogil:
    enum:
        FNN_ACT_IDENTITY
        FNN_ACT_RELU
        FNN_ACT_LEAKY_RELU
        FNN_ACT_PRELU
        FNN_ACT_ELU
        FNN_ACT_GELU
        FNN_ACT_GELU_TANH
        FNN_ACT_SILU
        FNN_ACT_SIGMOID
        FNN_ACT_TANH
        FNN_ACT_SOFTPLUS
        FNN_ACT_N
    enum:
        FNN_MATH_EXP
        FNN_MATH_EXPM1
        FNN_MATH_TANH
        FNN_MATH_ERF
        FNN_MATH_ERFC
        FNN_MATH_SIGMOID
        FNN_MATH_LOG1P
        FNN_MATH_N

    ctypedef struct fnn_act_params:
        double negative_slope
        double alpha
        double beta
        double threshold

    void fnn_act_forward_f32(int act, const fnn_act_params *params, size_t n_outer,
                             size_t n_channels, size_t n_inner, const float *x, const float *bias,
                             const float *slope, size_t n_slope, float *pre, float *y,
                             int n_threads, int flags)
    void fnn_act_forward_f64(int act, const fnn_act_params *params, size_t n_outer,
                             size_t n_channels, size_t n_inner, const double *x,
                             const double *bias, const double *slope, size_t n_slope,
                             double *pre, double *y, int n_threads, int flags)
    int fnn_act_backward_f32(int act, const fnn_act_params *params, size_t n_outer,
                             size_t n_channels, size_t n_inner, const float *dy,
                             const float *saved, int saved_is_output, const float *slope,
                             size_t n_slope, float *dx, float *dbias, float *dslope,
                             int n_threads, int flags)
    int fnn_act_backward_f64(int act, const fnn_act_params *params, size_t n_outer,
                             size_t n_channels, size_t n_inner, const double *dy,
                             const double *saved, int saved_is_output, const double *slope,
                             size_t n_slope, double *dx, double *dbias, double *dslope,
                             int n_threads, int flags)
    void fnn_math_f32(int fn, const float *x, float *y, size_t n, int n_threads, int flags)
    void fnn_math_f64(int fn, const double *x, double *y, size_t n, int n_threads, int flags)
