/* Template (see core/instantiate_dtypes.h), compiled once per ISA by
 * core/isa_unit.c: the dropout and noise loops. Their Philox tiles and
 * Box-Muller normals are the random family's (random/philox_t.h), so they
 * draw exactly the numbers of its fills. */

#define T FNN_REAL
#define SPAN(name) FNN_ISA_NAME(name)
#define INLINE static inline __attribute__((always_inline))
#define RESTRICT FNN_RESTRICT
#define TILE FNN_RANDOM_TILE

#include "../random/philox_t.h"

/* Element i survives when its 16-bit half-word h (the low half of word
 * i/2 for even i, the high half for odd i) is ≥ threshold. Half-words
 * rather than words halve the Philox work, the dominant cost of dropout,
 * and still resolve p to 2⁻¹⁶. Byte j of the mask (elements 8j .. 8j+7)
 * is exactly Philox block j; its bits past n are cleared. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
/* little-endian: half-word i is element i of the words read as uint16 */
typedef uint16_t fnn_half_alias __attribute__((may_alias));
#define FNN_HALF_WORDS(w, h, n) const fnn_half_alias *h = (const fnn_half_alias *)(w)
#else
#define FNN_HALF_WORDS(w, h, n)                                                           \
    uint16_t h[TILE];                                                                     \
    for (size_t i_ = 0; i_ < (n); ++i_) h[i_] = (uint16_t)((w)[i_ / 2] >> (16 * (i_ % 2)))
#endif

static void SPAN(dropout_span)(const fnn_stream *s, const T *x, T *y, uint8_t *mask,
                               size_t begin, size_t end, uint32_t thr, T scale, int streaming)
{
    uint32_t w[TILE / 2];
    T buf[TILE];
    for (size_t t0 = begin; t0 < end; t0 += TILE) {
        const size_t n = end - t0 < TILE ? end - t0 : TILE;
        const size_t n_bytes = (n + 7) / 8;
        FNN_PHILOX_TILE(s, t0 / 8, n_bytes, w);
        FNN_HALF_WORDS(w, h, n_bytes * 8);
        const T *RESTRICT xi = x + t0;
        T *RESTRICT yi = streaming ? buf : y + t0;
#pragma omp simd
        for (size_t i = 0; i < n; ++i) yi[i] = xi[i] * ((uint32_t)h[i] >= thr ? scale : (T)0);
        if (streaming) fnn_stream_copy(y + t0, buf, n * sizeof(T));
        if (mask) {
            /* one 0/1 byte per element, then 8 bytes to 8 bits by a multiply:
             * byte i of v lands at bit 56 + i of v·0x0102040810204080, and
             * no other product reaches bits 56..63 or carries into them */
            uint8_t keep[TILE];
#pragma omp simd
            for (size_t i = 0; i < n; ++i) keep[i] = (uint8_t)((uint32_t)h[i] >= thr);
            for (size_t i = n; i < n_bytes * 8; ++i) keep[i] = 0;
            uint8_t *RESTRICT m = mask + t0 / 8;
#pragma omp simd
            for (size_t j = 0; j < n_bytes; ++j) {
                uint64_t v;
                memcpy(&v, keep + 8 * j, 8);
                m[j] = (uint8_t)((v * 0x0102040810204080ull) >> 56);
            }
        }
    }
    if (streaming) fnn_stream_fence();
}

/* 32 mask bits at a time: a variable shift of one broadcast word per
 * element vectorizes, where per-byte bit extraction does not. */
static void SPAN(dropout_mask_span)(const uint8_t *mask, const T *gy, T *gx, size_t begin,
                                    size_t end, T scale, int streaming)
{
    T buf[TILE];
    for (size_t t0 = begin; t0 < end; t0 += TILE) {
        const size_t n = end - t0 < TILE ? end - t0 : TILE;
        T *RESTRICT out = streaming ? buf : gx + t0;
        size_t i = 0;
        for (; i + 32 <= n; i += 32) {
            const uint8_t *mb = mask + (t0 + i) / 8;
            const uint32_t bits = (uint32_t)mb[0] | (uint32_t)mb[1] << 8 |
                                  (uint32_t)mb[2] << 16 | (uint32_t)mb[3] << 24;
            const T *RESTRICT g = gy + t0 + i;
            T *RESTRICT o = out + i;
#pragma omp simd
            for (uint32_t k = 0; k < 32; ++k) o[k] = g[k] * (((bits >> k) & 1u) ? scale : (T)0);
        }
        for (; i < n; ++i) {
            const size_t e = t0 + i;
            out[i] = gy[e] * (((mask[e / 8] >> (e % 8)) & 1u) ? scale : (T)0);
        }
        if (streaming) fnn_stream_copy(gx + t0, buf, n * sizeof(T));
    }
    if (streaming) fnn_stream_fence();
}

static void SPAN(scale_span)(const T *x, T *y, size_t n, T scale)
{
    const T *RESTRICT xi = x;
    T *RESTRICT yi = y;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) yi[i] = xi[i] * scale;
}

static void SPAN(noise_span)(const fnn_stream *s, const T *x, T *y, size_t begin, size_t end,
                             T std, int mode, int streaming)
{
    if (mode == FNN_NOISE_MUL)
        SPAN(normal_loop)(s, x, y, begin, end, (T)0, std, FNN_NOISE_MUL, streaming);
    else
        SPAN(normal_loop)(s, x, y, begin, end, (T)0, std, FNN_NOISE_ADD, streaming);
}

const FNN_NAME(fnn_dropout_table) FNN_ISA_NAME(fnn_dropout_table) = {
    SPAN(dropout_span),
    SPAN(dropout_mask_span),
    SPAN(scale_span),
    SPAN(noise_span),
};

#undef T
#undef SPAN
#undef INLINE
#undef RESTRICT
#undef TILE
