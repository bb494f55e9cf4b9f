/* Data augmentation: random per-sample transforms of image batches
 * (N, C, H, W) and of signals / sequences (N, L, F).
 *
 * Every random choice comes from the Philox4x32-10 stream (seed, offset)
 * of fastnn_random.h, indexed by the sample (or the sample's element),
 * never by anything that depends on the thread count:
 *   - per-sample parameters: the 4 words of counter block n for sample n;
 *   - per-element choices of sequences: word n·L + l for element (n, l);
 *   - SNR noise: the standard normal z[i] of fnn_normal's mapping for the
 *     flat index i (computed here with libm, so close to but not bitwise
 *     equal with fnn_normal).
 * A word w gives u = (w >> 8)·2⁻²⁴ ∈ [0, 1); an integer choice among k
 * values is floor(u·k). fastnn/reference/augment.py writes every mapping
 * out in NumPy. */
#ifndef FASTNN_AUGMENT_H
#define FASTNN_AUGMENT_H

#include "../core/common.h" /* size_t, int64_t, FNN_FLAG_*, FNN_DTYPE_* */

#ifdef __cplusplus
extern "C" {
#endif

/* The typed entry points (u0..u3: the uniforms of sample n's block n).
 *
 * fnn_flip_crop: padded random crop to (out_h, out_w), then random flips.
 *   hflip = u0 < p_hflip, vflip = u1 < p_vflip,
 *   top = floor(u2·(h + 2·pad − out_h + 1)), left = floor(u3·(w + 2·pad − out_w + 1)).
 *   Padding is zeros, or reflection without repeating the edge (reflect = 1,
 *   needs pad < h and pad < w).  x IN (n, c, h, w), y OUT (n, c, out_h, out_w)
 * fnn_affine: rotation, scaling and translation about the image centre,
 *   bilinear, zeros outside. angle = degrees·(2u0 − 1) (counter-clockwise
 *   on screen), scale = scale_lo + (scale_hi − scale_lo)·u1,
 *   shift = (translate·w·(2u2 − 1), translate·h·(2u3 − 1)).
 *   x IN (n, c, h, w), y OUT (n, c, h, w)
 * fnn_color_jitter: b = 1 + brightness·(2u0 − 1), k = 1 + contrast·(2u1 − 1),
 *   m = mean(x_n), y = b·(k·x + (1 − k)·m).  x IN, y OUT (n·row_len values)
 * fnn_snr_noise: y = x + σ_n·z, σ_n = √(mean(x_n²)·10^(−snr_db/10)).
 *   x IN, y OUT (n·row_len values)
 * fnn_time_shift: s = floor(u0·(2·max_shift + 1)) − max_shift,
 *   y[n, l] = x[n, l − s], zeros outside (wrap = 0) or cyclic (wrap = 1).
 *   x IN, y OUT (n, len, feat)
 * fnn_element_dropout: y[n, l, :] = 0 when u(n·len + l) < p, else x[n, l, :]
 *   (no rescaling).  x IN, y OUT (n, len, feat)
 * fnn_neighbor_swap: scanning l = 0 .. len − 2, elements l and l + 1 swap
 *   when u(n·len + l) < p, and the scan then resumes at l + 2.
 *   x IN, y OUT (n, len, feat)
 *
 * Aliasing: fnn_color_jitter, fnn_snr_noise and fnn_element_dropout may be
 * called in place (y == x). fnn_flip_crop, fnn_affine, fnn_time_shift and
 * fnn_neighbor_swap read other positions than they write: y must not overlap x. */
#define FNN_DECLARE_AUGMENT(T, SFX)                                                            \
    void fnn_flip_crop_##SFX(const T *x, T *y, size_t n, size_t c, size_t h, size_t w,         \
                             size_t out_h, size_t out_w, size_t pad, int reflect,              \
                             double p_hflip, double p_vflip, uint64_t seed, uint64_t offset,   \
                             int n_threads, int flags);                                        \
    void fnn_affine_##SFX(const T *x, T *y, size_t n, size_t c, size_t h, size_t w,            \
                          double degrees, double scale_lo, double scale_hi, double translate,   \
                          uint64_t seed, uint64_t offset, int n_threads, int flags);            \
    void fnn_color_jitter_##SFX(const T *x, T *y, size_t n, size_t row_len, double brightness, \
                                double contrast, uint64_t seed, uint64_t offset,               \
                                int n_threads, int flags);                                     \
    void fnn_snr_noise_##SFX(const T *x, T *y, size_t n, size_t row_len, double snr_db,       \
                             uint64_t seed, uint64_t offset, int n_threads, int flags);         \
    void fnn_time_shift_##SFX(const T *x, T *y, size_t n, size_t len, size_t feat,           \
                              size_t max_shift, int wrap, uint64_t seed, uint64_t offset,       \
                              int n_threads, int flags);                                        \
    void fnn_element_dropout_##SFX(const T *x, T *y, size_t n, size_t len, size_t feat,      \
                                   double p, uint64_t seed, uint64_t offset, int n_threads,     \
                                   int flags);                                                  \
    void fnn_neighbor_swap_##SFX(const T *x, T *y, size_t n, size_t len, size_t feat,        \
                                 double p, uint64_t seed, uint64_t offset, int n_threads,       \
                                 int flags);

FNN_DECLARE_AUGMENT(float, f32)
FNN_DECLARE_AUGMENT(double, f64)

#ifdef __cplusplus
}
#endif

#endif
