/* Counter-based random numbers (Philox4x32-10) and the fills built on
 * them: uniform, normal and truncated normal. The dropout family
 * (fastnn_dropout.h) draws from the same streams.
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

#include "../core/common.h" /* size_t, int64_t, FNN_FLAG_*, FNN_DTYPE_* */

#ifdef __cplusplus
extern "C" {
#endif

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
 *   float64: u₁ (plus 2⁻⁵³) from words 4p, 4p + 1 and u₂ from 4p + 2, 4p + 3. */
#define FNN_DECLARE_RANDOM(T, SFX)                                                              \
    /* out ← low + (high − low)·u                       out OUT n values */                    \
    void fnn_uniform_##SFX(T *out, size_t n, double low, double high, uint64_t seed,           \
                           uint64_t offset, int n_threads, int flags);                          \
    /* out ← mean + std·z                               out OUT n values */                    \
    void fnn_normal_##SFX(T *out, size_t n, double mean, double std, uint64_t seed,            \
                          uint64_t offset, int n_threads, int flags);                           \
    /* Truncated normal by inversion: x ← mean + std·Φ⁻¹(p_lo + (p_hi − p_lo)·x) for uniform */ \
    /* x in [0, 1), clamped to [lo, hi] (p_lo = Φ((lo − mean)/std), p_hi likewise). Φ⁻¹ is */ \
    /* Acklam's rational approximation (relative error below 1.2e-9),                      */ \
    /*   x INOUT n                                                                          */ \
    void fnn_normal_icdf_##SFX(T *x, size_t n, double p_lo, double p_hi, double mean,          \
                               double std, double lo, double hi, int n_threads, int flags);

FNN_DECLARE_RANDOM(float, f32)
FNN_DECLARE_RANDOM(double, f64)

#ifdef __cplusplus
}
#endif

#endif
