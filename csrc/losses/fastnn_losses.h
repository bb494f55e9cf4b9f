/* Fused losses: the value and its gradient with respect to the input in
 * one call. The weight penalties are the regularizers family's
 * (fastnn_regularizers.h).
 *
 * Row losses (softmax cross-entropy, NLL, multi-margin, entropy penalty)
 * take an (n_rows, n_classes) C-contiguous array and reduce each row on
 * one thread; elementwise losses (binary cross-entropy with logits, mean
 * squared error) work on flat arrays. Every call
 * returns the reduced value (mean or sum, accumulated in double over fixed
 * blocks combined in block order, so it never depends on n_threads) and
 * writes the gradient of that value. With FNN_REDUCTION_NONE the call
 * writes one loss per row (per element) into `loss`, returns their sum,
 * and the gradient is that of the sum. Formulas follow torch.nn.functional;
 * fastnn/reference/losses.py writes each one out in NumPy. */
#ifndef FASTNN_LOSSES_H
#define FASTNN_LOSSES_H

#include "../core/common.h" /* size_t, int64_t, FNN_FLAG_*, FNN_DTYPE_* */

#ifdef __cplusplus
extern "C" {
#endif

/* The `reduction` argument. */
enum fnn_reduction { FNN_REDUCTION_NONE = 0, FNN_REDUCTION_MEAN = 1, FNN_REDUCTION_SUM = 2 };

/* The `smoothing` argument of fnn_softmax_cross_entropy: how label
 * smoothing ε turns a target distribution q into q'. */
enum fnn_smoothing {
    FNN_SMOOTHING_UNIFORM = 0, /* q' = (1 − ε)·q + ε/K (PyTorch) */
    FNN_SMOOTHING_OTHERS = 1   /* one-hot q: 1 − ε on the true class, ε/(K − 1) on each other */
};

#define FNN_DECLARE_LOSSES(T, SFX)                                                                \
    /* Softmax cross-entropy from logits, with integer labels or target    */                   \
    /* probabilities (exactly one of labels / target is non-NULL).         */                   \
    /*   logits  IN   n_rows × n_classes                                   */                   \
    /*   labels  IN   n_rows class indices in [0, n_classes) or ignore_index */                 \
    /*   target  IN   n_rows × n_classes probabilities                     */                   \
    /*   weight  IN   n_classes class weights, or NULL                     */                   \
    /*   loss    OUT  n_rows losses (FNN_REDUCTION_NONE only), else NULL   */                   \
    /*   grad    OUT  n_rows × n_classes                                   */                   \
    double fnn_softmax_cross_entropy_##SFX(                                                        \
        const T *logits, size_t n_rows, size_t n_classes, const int64_t *labels,                  \
        const T *target, const T *weight, int64_t ignore_index, double label_smoothing,           \
        int smoothing, int reduction, T *loss, T *grad, int n_threads, int flags);                \
    /* Negative log-likelihood of log-probabilities: −w[y]·x[y].           */                   \
    /*   log_probs IN n_rows × n_classes; labels, weight, loss, grad as above */                 \
    double fnn_nll_loss_##SFX(const T *log_probs, size_t n_rows, size_t n_classes,                \
                              const int64_t *labels, const T *weight, int64_t ignore_index,       \
                              int reduction, T *loss, T *grad, int n_threads, int flags);         \
    /* Multiclass hinge: Σ_{j≠y} w[y]·max(0, margin − x[y] + x[j])^p,       */                   \
    /* divided by n_classes when divide_by_classes (PyTorch's             */                   \
    /* MultiMarginLoss); p is 1 or 2.                                     */                    \
    /*   input IN n_rows × n_classes; labels IN n_rows (all in range)      */                   \
    double fnn_multi_margin_loss_##SFX(const T *input, size_t n_rows, size_t n_classes,          \
                                       const int64_t *labels, const T *weight, int p,             \
                                       double margin, int divide_by_classes, int reduction,        \
                                       T *loss, T *grad, int n_threads, int flags);               \
    /* Negative entropy of softmax(logits) per row, Σ_c p_c·log p_c: a     */                   \
    /* penalty that is largest for confident (low-entropy) predictions.   */                    \
    /*   logits IN n_rows × n_classes; loss OUT n_rows or NULL; grad OUT   */                   \
    double fnn_entropy_penalty_##SFX(const T *logits, size_t n_rows, size_t n_classes,           \
                                     int reduction, T *loss, T *grad, int n_threads, int flags);  \
    /* Binary cross-entropy with logits, elementwise over n values.        */                   \
    /*   logits, target IN n; loss OUT n or NULL; grad OUT n               */                   \
    /*   weight, pos_weight IN `period` values each, or NULL: element i    */                   \
    /*   uses weight[i % period] (a per-class weight tiled by the caller)  */                   \
    double fnn_bce_with_logits_##SFX(const T *logits, const T *target, size_t n, const T *weight, \
                                     const T *pos_weight, size_t period, int reduction, T *loss,  \
                                     T *grad, int n_threads, int flags);                          \
    /* Mean squared error (x − y)², elementwise over n values.             */                   \
    /*   input, target IN n; loss OUT n or NULL; grad OUT n                */                   \
    double fnn_mse_loss_##SFX(const T *input, const T *target, size_t n, int reduction, T *loss,  \
                              T *grad, int n_threads, int flags);

FNN_DECLARE_LOSSES(float, f32)
FNN_DECLARE_LOSSES(double, f64)

#ifdef __cplusplus
}
#endif

#endif
