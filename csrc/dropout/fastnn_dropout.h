/* Dropout, channel dropout and Gaussian noise, drawn from the Philox4x32-10
 * streams of fastnn_random.h: the decision for element i depends only on
 * (seed, offset, i), never on the thread count, so a backward pass can
 * regenerate the forward mask instead of storing it. See
 * fastnn/reference/random.py for every mapping written out in NumPy.
 *
 * Dropout uses 16 bits per element for both dtypes: element i is dropped
 * when half-word i (the low half of word i/2 for even i, the high half for
 * odd i) is below round(p·2¹⁶), at most 2¹⁶ − 1 for p < 1. Channel dropout
 * uses word r for row r and the threshold round(p·2³²). The stored mask is
 * bit-packed, element i in bit i%8 of byte i/8 (numpy.packbits
 * bitorder="little"). Gaussian noise draws z from fnn_normal's stream.
 *
 * Every call here may run in place: y may be x, gx may be gy. */
#ifndef FASTNN_DROPOUT_H
#define FASTNN_DROPOUT_H

#include "../core/common.h" /* size_t, int64_t, FNN_FLAG_*, FNN_DTYPE_* */

#ifdef __cplusplus
extern "C" {
#endif

#define FNN_DECLARE_DROPOUT(T, SFX)                                                             \
    /* y ← x·keep/(1 − p); p = 1 gives zeros.  x IN, y OUT (n values), mask OUT              */ \
    /* ((n + 7)/8 bytes, or NULL for none)                                                    */ \
    void fnn_dropout_##SFX(const T *x, T *y, uint8_t *mask, size_t n, double p, uint64_t seed, \
                           uint64_t offset, int n_threads, int flags);                          \
    /* gx ← gy·keep/(1 − p), keep regenerated from (seed, offset).  gy IN, gx OUT            */ \
    void fnn_dropout_backward_##SFX(const T *gy, T *gx, size_t n, double p, uint64_t seed,     \
                                    uint64_t offset, int n_threads, int flags);                 \
    /* gx ← gy·keep/(1 − p), keep read from a stored mask.  gy IN, mask IN, gx OUT           */ \
    void fnn_dropout_backward_mask_##SFX(const T *gy, const uint8_t *mask, T *gx, size_t n,    \
                                         double p, int n_threads, int flags);                   \
    /* Channel dropout over n_rows rows of row_len values (row r = channel r of the          */ \
    /* flattened (N·C) axis, kept with word r): y ← x·keep_r/(1 − p).  x IN, y OUT.          */ \
    /* The backward pass is the same call on the gradient.                                   */ \
    void fnn_channel_dropout_##SFX(const T *x, T *y, size_t n_rows, size_t row_len, double p,  \
                                   uint64_t seed, uint64_t offset, int n_threads, int flags);   \
    /* Gaussian noise with z from fnn_normal's stream:                                       */ \
    /*   additive (multiplicative = 0): y ← x + std·z                                         */ \
    /*   multiplicative (= 1):          y ← x·(1 + std·z)                                     */ \
    /* x IN, y OUT                                                                            */ \
    void fnn_gaussian_noise_##SFX(const T *x, T *y, size_t n, double std, int multiplicative,  \
                                  uint64_t seed, uint64_t offset, int n_threads, int flags);

FNN_DECLARE_DROPOUT(float, f32)
FNN_DECLARE_DROPOUT(double, f64)

#ifdef __cplusplus
}
#endif

#endif
