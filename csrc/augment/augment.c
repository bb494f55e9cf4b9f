/* Augmentation drivers for float and double and the scalar helpers they
 * share: per-sample Philox draws, choices and reflection. */
#include <math.h>
#include <string.h>

#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "augment_internal.h"

/* Counter block b of a stream: per-sample parameters are block n, so a
 * sample draws the same values whichever thread handles it. */
static inline void fnn_aug_block(const fnn_stream *s, uint64_t b, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)b, c1 = (uint32_t)(b >> 32), c2 = s->o0, c3 = s->o1;
    FNN_PHILOX_10(c0, c1, c2, c3, s->k0, s->k1);
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* u ∈ [0, 1) with 24 bits, as float32 uniforms: exact in double, so the
 * integer choices floor(u·k) below are exact too. */
static inline double fnn_aug_u(uint32_t w) { return (double)(w >> 8) * 0x1p-24; }

static inline size_t fnn_aug_choice(uint32_t w, size_t k)
{
    size_t v = (size_t)floor(fnn_aug_u(w) * (double)k);
    return v < k ? v : k - 1;
}

/* Index of a padded coordinate in [0, n): reflection without repeating the
 * edge (PyTorch's "reflect"); callers guarantee |overhang| < n. */
static inline ptrdiff_t fnn_aug_reflect(ptrdiff_t i, ptrdiff_t n)
{
    if (i < 0) return -i;
    if (i >= n) return 2 * (n - 1) - i;
    return i;
}

/* Copies (or zeroes) one sequence element of f values: f is small, and a
 * library call per element would cost more than the copy. */
#define FNN_AUG_COPY(dst, src, f)                                   \
    do {                                                            \
        for (size_t q_ = 0; q_ < (f); ++q_) (dst)[q_] = (src)[q_];  \
    } while (0)
#define FNN_AUG_ZERO(dst, f)                                        \
    do {                                                            \
        for (size_t q_ = 0; q_ < (f); ++q_) (dst)[q_] = 0;          \
    } while (0)

/* Rows (or samples) per thread below which threads do not pay off. */
static size_t fnn_aug_grain(size_t row_len)
{
    if (row_len == 0) return FNN_GRAIN_ELEMENTWISE;
    const size_t g = FNN_GRAIN_ELEMENTWISE / row_len;
    return g ? g : 1;
}

#define FNN_TEMPLATE "augment/augment_driver_t.h"
#include "../core/instantiate_dtypes.h"
