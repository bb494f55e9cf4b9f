# Declarations of csrc/norm/fastnn_norm.h for Cython.

cdef extern from "fastnn.h" nogil:
    int FNN_NORM_ENOMEM

    int fnn_batch_norm_train_f32(const float *x, size_t n, size_t c, size_t s, const float *gamma,
                                 const float *beta, float *running_mean, float *running_var,
                                 double momentum, double eps, int relu, float *y,
                                 double *save_mean, double *save_invstd, int n_threads, int flags)
    int fnn_batch_norm_train_f64(const double *x, size_t n, size_t c, size_t s,
                                 const double *gamma, const double *beta, double *running_mean,
                                 double *running_var, double momentum, double eps, int relu,
                                 double *y, double *save_mean, double *save_invstd,
                                 int n_threads, int flags)
    int fnn_batch_norm_infer_f32(const float *x, size_t n, size_t c, size_t s, const float *gamma,
                                 const float *beta, const float *running_mean,
                                 const float *running_var, double eps, int relu, float *y,
                                 double *save_mean, double *save_invstd, int n_threads, int flags)
    int fnn_batch_norm_infer_f64(const double *x, size_t n, size_t c, size_t s,
                                 const double *gamma, const double *beta,
                                 const double *running_mean, const double *running_var,
                                 double eps, int relu, double *y, double *save_mean,
                                 double *save_invstd, int n_threads, int flags)
    int fnn_batch_norm_backward_f32(const float *dy, const float *x, size_t n, size_t c, size_t s,
                                    const float *gamma, const float *beta,
                                    const double *save_mean, const double *save_invstd,
                                    int training, int relu, float *dx, float *dgamma,
                                    float *dbeta, int n_threads, int flags)
    int fnn_batch_norm_backward_f64(const double *dy, const double *x, size_t n, size_t c,
                                    size_t s, const double *gamma, const double *beta,
                                    const double *save_mean, const double *save_invstd,
                                    int training, int relu, double *dx, double *dgamma,
                                    double *dbeta, int n_threads, int flags)
    int fnn_channel_stats_f32(const float *x, size_t n, size_t c, size_t s, double *mean,
                              double *m2, int n_threads, int flags)
    int fnn_channel_stats_f64(const double *x, size_t n, size_t c, size_t s, double *mean,
                              double *m2, int n_threads, int flags)
    int fnn_channel_affine_f32(const float *x, float *y, size_t n, size_t c, size_t s,
                               const double *center, const double *scale, const double *shift, int relu,
                               int n_threads, int flags)
    int fnn_channel_affine_f64(const double *x, double *y, size_t n, size_t c, size_t s,
                               const double *center, const double *scale, const double *shift, int relu,
                               int n_threads, int flags)
    int fnn_layer_norm_f32(const float *x, size_t m, size_t d, const float *gamma,
                           const float *beta, double eps, float *y, double *mean, double *rstd,
                           int n_threads, int flags)
    int fnn_layer_norm_f64(const double *x, size_t m, size_t d, const double *gamma,
                           const double *beta, double eps, double *y, double *mean, double *rstd,
                           int n_threads, int flags)
    int fnn_layer_norm_backward_f32(const float *dy, const float *x, size_t m, size_t d,
                                    const float *gamma, const double *mean, const double *rstd,
                                    float *dx, float *dgamma, float *dbeta, int n_threads,
                                    int flags)
    int fnn_layer_norm_backward_f64(const double *dy, const double *x, size_t m, size_t d,
                                    const double *gamma, const double *mean, const double *rstd,
                                    double *dx, double *dgamma, double *dbeta, int n_threads,
                                    int flags)
    int fnn_group_norm_f32(const float *x, size_t n, size_t c, size_t s, size_t groups,
                           const float *gamma, const float *beta, double eps, float *y,
                           double *mean, double *rstd, int n_threads, int flags)
    int fnn_group_norm_f64(const double *x, size_t n, size_t c, size_t s, size_t groups,
                           const double *gamma, const double *beta, double eps, double *y,
                           double *mean, double *rstd, int n_threads, int flags)
    int fnn_group_norm_backward_f32(const float *dy, const float *x, size_t n, size_t c, size_t s,
                                    size_t groups, const float *gamma, const double *mean,
                                    const double *rstd, float *dx, float *dgamma, float *dbeta,
                                    int n_threads, int flags)
    int fnn_group_norm_backward_f64(const double *dy, const double *x, size_t n, size_t c,
                                    size_t s, size_t groups, const double *gamma,
                                    const double *mean, const double *rstd, double *dx,
                                    double *dgamma, double *dbeta, int n_threads, int flags)
