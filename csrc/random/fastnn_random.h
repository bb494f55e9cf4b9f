/* Counter-based random numbers (Philox4x32-10) and the kernels built on
 * them: uniform, normal and truncated normal fills, dropout, channel
 * dropout and Gaussian noise.
 *
 * A stream is named by (seed, offset): the 64-bit seed is the Philox key
 * (low word first) and the 64-bit offset fills the high half of the
 * counter, so every offset is an independent stream of 2^64 blocks. The
 * draw for element i depends only on (seed, offset, i): element i reads
 * the words of counter block i·W/4 (W = words per element), never
 * anything that depends on the thread count. See fastnn/reference/random.py
 * for every mapping written out in NumPy. */
#ifndef FASTNN_RANDOM_H
#define FASTNN_RANDOM_H

/* One Philox4x32-10 block (Salmon et al. 2011).
 *   counter  IN   4 words
 *   key      IN   2 words
 *   out      OUT  4 words */
void fnn_philox4x32_10(const uint32_t *counter, const uint32_t *key, uint32_t *out);

/* The raw stream: out[i] = word i%4 of block i/4 of stream (seed, offset).
 *   out  OUT  n words */
void fnn_philox_words(uint32_t *out, size_t n, uint64_t seed, uint64_t offset, int n_threads,
                      int flags);

/* Typed entry points. Element mappings (u ∈ [0, 1), exact):
 *   float32: one word w per element, u = (w >> 8)·2⁻²⁴
 *   float64: two words a, b per element, u = ((a >> 5)·2²⁶ + (b >> 6))·2⁻⁵³
 * Normals: Box-Muller on consecutive pairs, (z₀, z₁) = √(−2 ln u₁)·(cos, sin)(2π u₂),
 *   float32: u₁ = ((w[2p] >> 8) + 1)·2⁻²⁴ ∈ (0, 1], u₂ from w[2p + 1];
 *   float64: u₁ (plus 2⁻⁵³) from words 4p, 4p + 1 and u₂ from 4p + 2, 4p + 3.
 * Dropout uses 16 bits per element for both dtypes: element i is dropped
 * when half-word i (the low half of word i/2 for even i, the high half for
 * odd i) is below round(p·2¹⁶), at most 2¹⁶ − 1 for p < 1. Channel dropout
 * uses word r for row r and the threshold round(p·2³²). The stored mask is
 * bit-packed,
 * element i in bit i%8 of byte i/8 (numpy.packbits bitorder="little"). */
#define FNN_DECLARE_RANDOM(T, SFX)                                                              \
    /* out ← low + (high − low)·u                       out OUT n values */                    \
    void fnn_uniform_##SFX(T *out, size_t n, double low, double high, uint64_t seed,           \
                           uint64_t offset, int n_threads, int flags);                          \
    /* out ← mean + std·z                               out OUT n values */                    \
    void fnn_normal_##SFX(T *out, size_t n, double mean, double std, uint64_t seed,            \
                          uint64_t offset, int n_threads, int flags);                           \
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
                                  uint64_t seed, uint64_t offset, int n_threads, int flags);   \
    /* Truncated normal by inversion: x ← mean + std·Φ⁻¹(p_lo + (p_hi − p_lo)·x) for uniform */ \
    /* x in [0, 1), clamped to [lo, hi] (p_lo = Φ((lo − mean)/std), p_hi likewise). Φ⁻¹ is */ \
    /* Acklam's rational approximation (relative error below 1.2e-9),                      */ \
    /*   x INOUT n                                                                          */ \
    void fnn_normal_icdf_##SFX(T *x, size_t n, double p_lo, double p_hi, double mean,          \
                               double std, double lo, double hi, int n_threads, int flags);

FNN_DECLARE_RANDOM(float, f32)
FNN_DECLARE_RANDOM(double, f64)

#endif
