/* Weight penalties (Keras's L1, L2 and L1L2 regularizers): the penalty and
 * its gradient in one pass. The penalty is accumulated in double over
 * fixed blocks combined in block order, so it never depends on n_threads.
 * fastnn/reference/losses.py writes it out in NumPy. */
#ifndef FASTNN_REGULARIZERS_H
#define FASTNN_REGULARIZERS_H

#include "../core/common.h" /* size_t, int64_t, FNN_FLAG_*, FNN_DTYPE_* */

#ifdef __cplusplus
extern "C" {
#endif

#define FNN_DECLARE_REGULARIZERS(T, SFX)                                                          \
    /* Elastic-net penalty scale·(l1·Σ|w| + l2·Σw²), returned; when grad   */                   \
    /* is not NULL, grad ← grad + scale·(l1·sign(w) + 2·l2·w).             */                   \
    /*   w IN n; grad INOUT n or NULL                                      */                   \
    double fnn_l1l2_penalty_##SFX(const T *w, size_t n, double l1, double l2, double scale,       \
                                  T *grad, int n_threads, int flags);

FNN_DECLARE_REGULARIZERS(float, f32)
FNN_DECLARE_REGULARIZERS(double, f64)

#ifdef __cplusplus
}
#endif

#endif
