# Declarations of csrc/losses/fastnn_losses.h for Cython.
from libc.stdint cimport int64_t

cdef extern from "fastnn.h" nogil:
    enum:
        FNN_REDUCTION_NONE
        FNN_REDUCTION_MEAN
        FNN_REDUCTION_SUM
    enum:
        FNN_SMOOTHING_UNIFORM
        FNN_SMOOTHING_OTHERS

    double fnn_softmax_cross_entropy_f32(const float *logits, size_t n_rows, size_t n_classes,
                                         const int64_t *labels, const float *target,
                                         const float *weight, int64_t ignore_index,
                                         double label_smoothing, int smoothing, int reduction,
                                         float *loss, float *grad, int n_threads, int flags)
    double fnn_softmax_cross_entropy_f64(const double *logits, size_t n_rows, size_t n_classes,
                                         const int64_t *labels, const double *target,
                                         const double *weight, int64_t ignore_index,
                                         double label_smoothing, int smoothing, int reduction,
                                         double *loss, double *grad, int n_threads, int flags)
    double fnn_nll_loss_f32(const float *log_probs, size_t n_rows, size_t n_classes,
                            const int64_t *labels, const float *weight, int64_t ignore_index,
                            int reduction, float *loss, float *grad, int n_threads, int flags)
    double fnn_nll_loss_f64(const double *log_probs, size_t n_rows, size_t n_classes,
                            const int64_t *labels, const double *weight, int64_t ignore_index,
                            int reduction, double *loss, double *grad, int n_threads, int flags)
    double fnn_multi_margin_loss_f32(const float *input, size_t n_rows, size_t n_classes,
                                     const int64_t *labels, const float *weight, int p,
                                     double margin, int divide_by_classes, int reduction,
                                     float *loss, float *grad, int n_threads, int flags)
    double fnn_multi_margin_loss_f64(const double *input, size_t n_rows, size_t n_classes,
                                     const int64_t *labels, const double *weight, int p,
                                     double margin, int divide_by_classes, int reduction,
                                     double *loss, double *grad, int n_threads, int flags)
    double fnn_entropy_penalty_f32(const float *logits, size_t n_rows, size_t n_classes,
                                   int reduction, float *loss, float *grad, int n_threads,
                                   int flags)
    double fnn_entropy_penalty_f64(const double *logits, size_t n_rows, size_t n_classes,
                                   int reduction, double *loss, double *grad, int n_threads,
                                   int flags)
    double fnn_bce_with_logits_f32(const float *logits, const float *target, size_t n,
                                   const float *weight, const float *pos_weight, size_t period,
                                   int reduction, float *loss, float *grad, int n_threads,
                                   int flags)
    double fnn_bce_with_logits_f64(const double *logits, const double *target, size_t n,
                                   const double *weight, const double *pos_weight, size_t period,
                                   int reduction, double *loss, double *grad, int n_threads,
                                   int flags)
    double fnn_mse_loss_f32(const float *input, const float *target, size_t n, int reduction,
                            float *loss, float *grad, int n_threads, int flags)
    double fnn_mse_loss_f64(const double *input, const double *target, size_t n, int reduction,
                            double *loss, double *grad, int n_threads, int flags)
    double fnn_l1l2_penalty_f32(const float *w, size_t n, double l1, double l2, double scale,
                                float *grad, int n_threads, int flags)
    double fnn_l1l2_penalty_f64(const double *w, size_t n, double l1, double l2, double scale,
                                double *grad, int n_threads, int flags)
    void fnn_normal_icdf_f32(float *x, size_t n, double p_lo, double p_hi, double mean,
                             double std, double lo, double hi, int n_threads, int flags)
    void fnn_normal_icdf_f64(double *x, size_t n, double p_lo, double p_hi, double mean,
                             double std, double lo, double hi, int n_threads, int flags)
