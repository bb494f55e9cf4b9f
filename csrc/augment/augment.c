/* Augmentation drivers for float and double and the scalar helpers they
 * share: per-sample Philox draws and the element draws of sequences. */
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

/* Words of a sequence's elements: word i of the stream, with the block
 * cached because consecutive elements share it. */
typedef struct {
    const fnn_stream *s;
    uint64_t block;
    uint32_t w[4];
} fnn_aug_words;

static inline uint32_t fnn_aug_word(fnn_aug_words *c, uint64_t i)
{
    if (i / 4 != c->block) {
        c->block = i / 4;
        fnn_aug_block(c->s, c->block, c->w);
    }
    return c->w[i % 4];
}

/* Standard normal number i of fnn_normal's stream (the random family's
 * Box-Muller pairing and word mapping), computed with libm in double:
 * scalar libm calls are the same code for every SIMD level, so results
 * still agree bitwise across levels. Both numbers of a pair come from one
 * log and one sin/cos, so the last pair is kept for the next call. */
typedef struct {
    uint64_t pair;
    double z[2];
} fnn_aug_pair;

static double fnn_aug_normal(const fnn_stream *s, uint64_t i, int f32, fnn_aug_words *c,
                             fnn_aug_pair *last)
{
    const uint64_t p = i / 2;
    if (p != last->pair) {
        double u1, u2;
        if (f32) {
            const uint32_t a = fnn_aug_word(c, 2 * p), b = fnn_aug_word(c, 2 * p + 1);
            u1 = ((double)(a >> 8) + 1.0) * 0x1p-24;
            u2 = (double)(b >> 8) * 0x1p-24;
        } else {
            uint32_t w[4];
            fnn_aug_block(s, p, w);
            u1 = ((double)(w[0] >> 5) * 67108864.0 + (double)(w[1] >> 6) + 1.0) * 0x1p-53;
            u2 = ((double)(w[2] >> 5) * 67108864.0 + (double)(w[3] >> 6)) * 0x1p-53;
        }
        const double r = sqrt(-2.0 * log(u1));
        const double th = 6.283185307179586 * u2;
        last->z[0] = r * cos(th);
        last->z[1] = r * sin(th);
        last->pair = p;
    }
    return last->z[i % 2];
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
