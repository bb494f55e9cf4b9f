/* Template (see core/instantiate_dtypes.h), compiled once per ISA by
 * core/isa_unit.c: Philox blocks and the loops that turn their words into
 * uniforms, normals and dropout masks, and the truncated normal by
 * inversion.
 *
 * Work goes tile by tile: a vectorized loop computes the Philox words of
 * FNN_RANDOM_TILE elements into a stack buffer, and a second vectorized
 * loop consumes them with the data. Box-Muller uses its own polynomial
 * log, sin and cos in plain arithmetic: libm's scalar calls would stop the
 * vectorizer, and vector math libraries round differently per ISA, which
 * would break the bitwise agreement of the SIMD levels. */

#define T FNN_REAL
#define SPAN(name) FNN_ISA_NAME(name)
#define INLINE static inline __attribute__((always_inline))
#define RESTRICT FNN_RESTRICT
#define TILE FNN_RANDOM_TILE

#if FNN_IS_F32
#define WPE 1 /* Philox words per uniform */
#else
#define WPE 2
#endif

#ifndef FNN_RANDOM_SPANS_ONCE
#define FNN_RANDOM_SPANS_ONCE
#include "../core/stream_store.h"
/* Words of blocks block0 .. block0 + n_blocks − 1, block-major: the
 * portable loop, used by the baseline unit and for the tails of the
 * vector ones. */
static inline void fnn_philox_tile_scalar(const fnn_stream *s, uint64_t block0,
                                          size_t n_blocks, uint32_t *FNN_RESTRICT w)
{
    const uint32_t k0 = s->k0, k1 = s->k1, o0 = s->o0, o1 = s->o1;
#pragma omp simd
    for (size_t j = 0; j < n_blocks; ++j) {
        const uint64_t b = block0 + j;
        uint32_t c0 = (uint32_t)b, c1 = (uint32_t)(b >> 32), c2 = o0, c3 = o1;
        FNN_PHILOX_10(c0, c1, c2, c3, k0, k1);
        w[4 * j] = c0;
        w[4 * j + 1] = c1;
        w[4 * j + 2] = c2;
        w[4 * j + 3] = c3;
    }
}

/* The AVX2 and AVX-512 units compute Philox with intrinsics, the one place
 * fastnn departs from auto-vectorized C: GCC turns the 32×32→64 products
 * into vpmullq or widen-and-repack sequences, 2-3x slower than vpmuludq on
 * 64-bit lanes. The state sits in the low halves of 64-bit lanes (the high
 * halves may hold garbage, which vpmuludq ignores and the final store
 * drops). Integer arithmetic is exact, so every level still gives the
 * same words. */
#if FNN_ISA_ID(FNN_ISA) == 2
#define FNN_PHILOX_VEC 8
static inline void fnn_philox_tile(const fnn_stream *s, uint64_t block0, size_t n_blocks,
                                   uint32_t *FNN_RESTRICT w)
{
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i mask = _mm512_set1_epi64(0xFFFFFFFFll);
    const __m512i m0 = _mm512_set1_epi64(FNN_PHILOX_M0), m1 = _mm512_set1_epi64(FNN_PHILOX_M1);
    const __m512i x2i = _mm512_set1_epi64(s->o0), x3i = _mm512_set1_epi64(s->o1);
    const __m512i lo_idx = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const __m512i hi_idx = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    __m512i ka[10], kb[10];
    uint32_t k0 = s->k0, k1 = s->k1;
    for (int r = 0; r < 10; ++r) {
        ka[r] = _mm512_set1_epi64(k0);
        kb[r] = _mm512_set1_epi64(k1);
        k0 += FNN_PHILOX_W0;
        k1 += FNN_PHILOX_W1;
    }
    size_t j = 0;
    /* two independent groups of 8 blocks per iteration: each round is a
     * multiply-shift-xor chain, and interleaving two chains hides its latency */
    for (; j + 16 <= n_blocks; j += 16) {
        const __m512i b = _mm512_add_epi64(_mm512_set1_epi64((long long)(block0 + j)), lane);
        const __m512i bb = _mm512_add_epi64(b, _mm512_set1_epi64(8));
        __m512i x0 = _mm512_and_si512(b, mask), x1 = _mm512_srli_epi64(b, 32);
        __m512i y0 = _mm512_and_si512(bb, mask), y1 = _mm512_srli_epi64(bb, 32);
        __m512i x2 = x2i, x3 = x3i, y2 = x2i, y3 = x3i;
        for (int r = 0; r < 10; ++r) {
            const __m512i p0 = _mm512_mul_epu32(x0, m0), p1 = _mm512_mul_epu32(x2, m1);
            const __m512i q0 = _mm512_mul_epu32(y0, m0), q1 = _mm512_mul_epu32(y2, m1);
            x0 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), x1, ka[r], 0x96);
            x2 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), x3, kb[r], 0x96);
            y0 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(q1, 32), y1, ka[r], 0x96);
            y2 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(q0, 32), y3, kb[r], 0x96);
            x1 = p1;
            x3 = p0;
            y1 = q1;
            y3 = q0;
        }
        __m512i a = _mm512_mask_blend_epi32(0xAAAA, x0, _mm512_slli_epi64(x1, 32));
        __m512i c = _mm512_mask_blend_epi32(0xAAAA, x2, _mm512_slli_epi64(x3, 32));
        _mm512_storeu_si512((void *)(w + 4 * j), _mm512_permutex2var_epi64(a, lo_idx, c));
        _mm512_storeu_si512((void *)(w + 4 * j + 16), _mm512_permutex2var_epi64(a, hi_idx, c));
        a = _mm512_mask_blend_epi32(0xAAAA, y0, _mm512_slli_epi64(y1, 32));
        c = _mm512_mask_blend_epi32(0xAAAA, y2, _mm512_slli_epi64(y3, 32));
        _mm512_storeu_si512((void *)(w + 4 * j + 32), _mm512_permutex2var_epi64(a, lo_idx, c));
        _mm512_storeu_si512((void *)(w + 4 * j + 48), _mm512_permutex2var_epi64(a, hi_idx, c));
    }
    for (; j + 8 <= n_blocks; j += 8) {
        const __m512i b = _mm512_add_epi64(_mm512_set1_epi64((long long)(block0 + j)), lane);
        __m512i x0 = _mm512_and_si512(b, mask), x1 = _mm512_srli_epi64(b, 32);
        __m512i x2 = x2i, x3 = x3i;
        for (int r = 0; r < 10; ++r) {
            const __m512i p0 = _mm512_mul_epu32(x0, m0), p1 = _mm512_mul_epu32(x2, m1);
            x0 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), x1, ka[r], 0x96);
            x2 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), x3, kb[r], 0x96);
            x1 = p1;
            x3 = p0;
        }
        const __m512i a = _mm512_mask_blend_epi32(0xAAAA, x0, _mm512_slli_epi64(x1, 32));
        const __m512i c = _mm512_mask_blend_epi32(0xAAAA, x2, _mm512_slli_epi64(x3, 32));
        _mm512_storeu_si512((void *)(w + 4 * j), _mm512_permutex2var_epi64(a, lo_idx, c));
        _mm512_storeu_si512((void *)(w + 4 * j + 16), _mm512_permutex2var_epi64(a, hi_idx, c));
    }
    if (j < n_blocks) fnn_philox_tile_scalar(s, block0 + j, n_blocks - j, w + 4 * j);
}
#elif FNN_ISA_ID(FNN_ISA) == 1
static inline void fnn_philox_tile(const fnn_stream *s, uint64_t block0, size_t n_blocks,
                                   uint32_t *FNN_RESTRICT w)
{
    const __m256i lane = _mm256_set_epi64x(3, 2, 1, 0);
    const __m256i mask = _mm256_set1_epi64x(0xFFFFFFFFll);
    const __m256i m0 = _mm256_set1_epi64x(FNN_PHILOX_M0), m1 = _mm256_set1_epi64x(FNN_PHILOX_M1);
    const __m256i x2i = _mm256_set1_epi64x(s->o0), x3i = _mm256_set1_epi64x(s->o1);
    __m256i ka[10], kb[10];
    uint32_t k0 = s->k0, k1 = s->k1;
    for (int r = 0; r < 10; ++r) {
        ka[r] = _mm256_set1_epi64x(k0);
        kb[r] = _mm256_set1_epi64x(k1);
        k0 += FNN_PHILOX_W0;
        k1 += FNN_PHILOX_W1;
    }
    size_t j = 0;
    for (; j + 4 <= n_blocks; j += 4) {
        const __m256i b = _mm256_add_epi64(_mm256_set1_epi64x((long long)(block0 + j)), lane);
        __m256i x0 = _mm256_and_si256(b, mask), x1 = _mm256_srli_epi64(b, 32);
        __m256i x2 = x2i, x3 = x3i;
        for (int r = 0; r < 10; ++r) {
            const __m256i p0 = _mm256_mul_epu32(x0, m0), p1 = _mm256_mul_epu32(x2, m1);
            x0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), x1), ka[r]);
            x2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), x3), kb[r]);
            x1 = p1;
            x3 = p0;
        }
        const __m256i a = _mm256_blend_epi32(x0, _mm256_slli_epi64(x1, 32), 0xAA);
        const __m256i c = _mm256_blend_epi32(x2, _mm256_slli_epi64(x3, 32), 0xAA);
        const __m256i lo = _mm256_unpacklo_epi64(a, c), hi = _mm256_unpackhi_epi64(a, c);
        _mm256_storeu_si256((__m256i *)(w + 4 * j), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(w + 4 * j + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
    if (j < n_blocks) fnn_philox_tile_scalar(s, block0 + j, n_blocks - j, w + 4 * j);
}
#else
#define fnn_philox_tile fnn_philox_tile_scalar
#endif
#define FNN_PHILOX_TILE(s, block0, n_blocks, w) fnn_philox_tile((s), (block0), (n_blocks), (w))
#endif

/* u ∈ [0, 1) from the words of element i (see fastnn_random.h). */
#if FNN_IS_F32
#define U01(w, i) ((T)(int32_t)((w)[i] >> 8) * 0x1p-24f)
#else
#define U01(w, i) \
    (((T)(int32_t)((w)[2 * (i)] >> 5) * 67108864.0 + (T)(int32_t)((w)[2 * (i) + 1] >> 6)) * 0x1p-53)
#endif

/* ln(u) for normal u > 0: u = 2^e·m with m ∈ [√½, √2), ln m = 2·atanh(s),
 * s = (m − 1)/(m + 1), |s| ≤ 0.172, the series cut where its tail is below
 * half an ulp. ln 2 is split so that e·ln2_hi is exact. */
INLINE T SPAN(log_pos)(T u)
{
#if FNN_IS_F32
    uint32_t bits, mb;
    memcpy(&bits, &u, sizeof bits);
    int32_t e = (int32_t)(bits >> 23) - 127;
    mb = (bits & 0x007fffffu) | 0x3f800000u;
#else
    uint64_t bits, mb;
    memcpy(&bits, &u, sizeof bits);
    int32_t e = (int32_t)(bits >> 52) - 1023;
    mb = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
#endif
    T m;
    memcpy(&m, &mb, sizeof m);
    const int big = m > (T)1.4142135623730951;
    m = big ? m * (T)0.5 : m;
    e += big;
    const T s = (m - (T)1) / (m + (T)1);
    const T s2 = s * s;
#if FNN_IS_F32
    T poly = (T)(1.0 / 9.0);
    poly = (T)(1.0 / 7.0) + s2 * poly;
#else
    T poly = (T)(1.0 / 21.0);
    poly = (T)(1.0 / 19.0) + s2 * poly;
    poly = (T)(1.0 / 17.0) + s2 * poly;
    poly = (T)(1.0 / 15.0) + s2 * poly;
    poly = (T)(1.0 / 13.0) + s2 * poly;
    poly = (T)(1.0 / 11.0) + s2 * poly;
    poly = (T)(1.0 / 9.0) + s2 * poly;
    poly = (T)(1.0 / 7.0) + s2 * poly;
#endif
    poly = (T)(1.0 / 5.0) + s2 * poly;
    poly = (T)(1.0 / 3.0) + s2 * poly;
    const T lnm = (s + s) + (s + s) * (s2 * poly);
    const T fe = (T)e;
#if FNN_IS_F32
    return fe * 0.693145751953125f + (lnm + fe * 1.428606765330187e-06f);
#else
    return fe * 6.93147180369123816490e-01 + (lnm + fe * 1.90821492927058770002e-10);
#endif
}

/* sin a and cos a for |a| ≤ π/4 (Taylor, tail below half an ulp). */
INLINE void SPAN(sincos_small)(T a, T *sn, T *cs)
{
    const T a2 = a * a;
#if FNN_IS_F32
    T ps = (T)(1.0 / 362880.0);
    T pc = (T)(-1.0 / 3628800.0);
    pc = (T)(1.0 / 40320.0) + a2 * pc;
#else
    T ps = (T)(1.0 / 355687428096000.0);         /* 1/17! */
    ps = (T)(-1.0 / 1307674368000.0) + a2 * ps;  /* 1/15! */
    ps = (T)(1.0 / 6227020800.0) + a2 * ps;      /* 1/13! */
    ps = (T)(-1.0 / 39916800.0) + a2 * ps;       /* 1/11! */
    ps = (T)(1.0 / 362880.0) + a2 * ps;
    T pc = (T)(-1.0 / 6402373705728000.0);       /* 1/18! */
    pc = (T)(1.0 / 20922789888000.0) + a2 * pc;  /* 1/16! */
    pc = (T)(-1.0 / 87178291200.0) + a2 * pc;    /* 1/14! */
    pc = (T)(1.0 / 479001600.0) + a2 * pc;       /* 1/12! */
    pc = (T)(-1.0 / 3628800.0) + a2 * pc;
    pc = (T)(1.0 / 40320.0) + a2 * pc;
#endif
    ps = (T)(-1.0 / 5040.0) + a2 * ps;
    ps = (T)(1.0 / 120.0) + a2 * ps;
    ps = (T)(-1.0 / 6.0) + a2 * ps;
    *sn = a + a * (a2 * ps);
    pc = (T)(-1.0 / 720.0) + a2 * pc;
    pc = (T)(1.0 / 24.0) + a2 * pc;
    pc = (T)(-0.5) + a2 * pc;
    *cs = (T)1 + a2 * pc;
}

/* Box-Muller pair p of a tile: z0 = r·cos θ, z1 = r·sin θ with
 * r = √(−2 ln u₁), u₁ ∈ (0, 1] and θ = 2π·u₂, u₂ ∈ [0, 1). The angle is
 * split on the integer bits into the quadrant q = round(4·u₂) and an exact
 * remainder t ∈ [−1/8, 1/8], so sin and cos only ever see |2πt| ≤ π/4. */
INLINE void SPAN(box_muller)(const uint32_t *RESTRICT w, size_t p, T *z0, T *z1)
{
#if FNN_IS_F32
    const uint32_t wr = w[2 * p] >> 8, wa = w[2 * p + 1] >> 8;
    const T u1 = (T)(int32_t)(wr + 1) * 0x1p-24f;
    const int32_t q = (int32_t)((wa + (1u << 21)) >> 22);
    const T t = (T)((int32_t)wa - (q << 22)) * 0x1p-24f;
#else
    const uint32_t ra = w[4 * p] >> 5, rb = w[4 * p + 1] >> 6;
    const uint32_t aa = w[4 * p + 2] >> 5, ab = w[4 * p + 3] >> 6;
    const T u1 = ((T)(int32_t)ra * 67108864.0 + (T)(int32_t)(rb + 1)) * 0x1p-53;
    const int32_t q = (int32_t)((aa + (1u << 24)) >> 25);
    const T t = ((T)((int32_t)aa - (q << 25)) * 67108864.0 + (T)(int32_t)ab) * 0x1p-53;
#endif
    const T r = FNN_M(sqrt)((T)-2 * SPAN(log_pos)(u1));
    T sn, cs;
    SPAN(sincos_small)(t * (T)6.283185307179586, &sn, &cs);
    const int swap = q & 1;
    T c = swap ? sn : cs;
    T s = swap ? cs : sn;
    c = ((q + 1) & 2) ? -c : c;
    s = (q & 2) ? -s : s;
    *z0 = r * c;
    *z1 = r * s;
}

static void SPAN(words_span)(const fnn_stream *s, uint32_t *out, size_t begin, size_t end)
{
    uint32_t w[TILE];
    for (size_t t0 = begin; t0 < end; t0 += TILE) {
        const size_t n = end - t0 < TILE ? end - t0 : TILE;
        FNN_PHILOX_TILE(s, t0 / 4, (n + 3) / 4, w);
        memcpy(out + t0, w, n * sizeof(uint32_t));
    }
}

/* With `streaming`, each tile is computed into a stack buffer and leaves
 * it by streaming stores (core/stream_store.h). */
static void SPAN(uniform_span)(const fnn_stream *s, T *out, size_t begin, size_t end, T low,
                               T range, int streaming)
{
    uint32_t w[TILE * WPE];
    T buf[TILE];
    for (size_t t0 = begin; t0 < end; t0 += TILE) {
        const size_t n = end - t0 < TILE ? end - t0 : TILE;
        FNN_PHILOX_TILE(s, t0 * WPE / 4, (n * WPE + 3) / 4, w);
        T *RESTRICT o = streaming ? buf : out + t0;
#pragma omp simd
        for (size_t i = 0; i < n; ++i) o[i] = low + range * U01(w, i);
        if (streaming) fnn_stream_copy(out + t0, buf, n * sizeof(T));
    }
    if (streaming) fnn_stream_fence();
}

INLINE void SPAN(normal_loop)(const fnn_stream *s, const T *x, T *out, size_t begin, size_t end,
                              T a, T b, const int mode, int streaming)
{
    uint32_t w[TILE * WPE];
    T z[TILE];
    T buf[TILE];
    for (size_t t0 = begin; t0 < end; t0 += TILE) {
        const size_t n = end - t0 < TILE ? end - t0 : TILE;
        const size_t n_pairs = (n + 1) / 2;
        /* f32: a pair takes 2 words (half a block); f64: 4 words (a block) */
        FNN_PHILOX_TILE(s, t0 * WPE / 4, (n_pairs * 2 * WPE + 3) / 4, w);
#pragma omp simd
        for (size_t p = 0; p < n_pairs; ++p) {
            T z0, z1;
            SPAN(box_muller)(w, p, &z0, &z1);
            z[2 * p] = z0;
            z[2 * p + 1] = z1;
        }
        T *RESTRICT o = streaming ? buf : out + t0;
        if (mode == FNN_NOISE_FILL) {
#pragma omp simd
            for (size_t i = 0; i < n; ++i) o[i] = a + b * z[i];
        } else {
            const T *RESTRICT xi = x + t0;
            if (mode == FNN_NOISE_ADD) {
#pragma omp simd
                for (size_t i = 0; i < n; ++i) o[i] = xi[i] + b * z[i];
            } else {
#pragma omp simd
                for (size_t i = 0; i < n; ++i) o[i] = xi[i] * ((T)1 + b * z[i]);
            }
        }
        if (streaming) fnn_stream_copy(out + t0, buf, n * sizeof(T));
    }
    if (streaming) fnn_stream_fence();
}

static void SPAN(normal_span)(const fnn_stream *s, const T *x, T *out, size_t begin, size_t end,
                              T a, T b, int mode, int streaming)
{
    switch (mode) {
    case FNN_NOISE_ADD:
        SPAN(normal_loop)(s, x, out, begin, end, a, b, FNN_NOISE_ADD, streaming);
        break;
    case FNN_NOISE_MUL:
        SPAN(normal_loop)(s, x, out, begin, end, a, b, FNN_NOISE_MUL, streaming);
        break;
    default: SPAN(normal_loop)(s, x, out, begin, end, a, b, FNN_NOISE_FILL, streaming); break;
    }
}

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

#ifndef FNN_RANDOM_ICDF_HELPERS
#define FNN_RANDOM_ICDF_HELPERS
/* Φ⁻¹ by Acklam's rational approximations (relative error < 1.2e-9), in
 * double for both dtypes: the central polynomials cancel from about 2.5
 * down to 0.01 near the region's edges, which float would turn into errors
 * of 1e-4. */
#define ICDF_CENTRAL FNN_CAT2(fnn_random_icdf_central, FNN_ISA)
#define ICDF_TAIL FNN_CAT2(fnn_random_icdf_tail, FNN_ISA)
#define ICDF_P_LOW 0.02425

/* |p − ½| <= ½ − ICDF_P_LOW */
static inline __attribute__((always_inline)) double ICDF_CENTRAL(double p)
{
    const double q = p - 0.5;
    const double r = q * q;
    double num = -3.969683028665376e+01;
    num = num * r + 2.209460984245205e+02;
    num = num * r + -2.759285104469687e+02;
    num = num * r + 1.383577518672690e+02;
    num = num * r + -3.066479806614716e+01;
    num = num * r + 2.506628277459239e+00;
    double den = -5.447609879822406e+01;
    den = den * r + 1.615858368580409e+02;
    den = den * r + -1.556989798598866e+02;
    den = den * r + 6.680131188771972e+01;
    den = den * r + -1.328068155288572e+01;
    den = den * r + 1.0;
    return num * q / den;
}

/* the tails, in t = √(−2·log min(p, 1 − p)); libm's log and sqrt give the
 * same bits in every ISA unit */
static double ICDF_TAIL(double p)
{
    const double q = p - 0.5;
    double pt = q < 0.0 ? p : 1.0 - p;
    pt = pt < 1e-300 ? 1e-300 : pt;
    const double t = sqrt(-2.0 * log(pt));
    double tn = -7.784894002430293e-03;
    tn = tn * t + -3.223964580411365e-01;
    tn = tn * t + -2.400758277161838e+00;
    tn = tn * t + -2.549732539343734e+00;
    tn = tn * t + 4.374664141464968e+00;
    tn = tn * t + 2.938163982698783e+00;
    double td = 7.784695709041462e-03;
    td = td * t + 3.224671290700398e-01;
    td = td * t + 2.445134137142996e+00;
    td = td * t + 3.754408661907416e+00;
    td = td * t + 1.0;
    return q < 0.0 ? tn / td : -(tn / td);
}
#endif

/* Pieces of 256 values: the central formula vectorized over all of them,
 * marking tail values (the outer 0.3% for a cut at ±2σ), which are then
 * recomputed one by one; 8 marks are tested at a time so that clean stretches
 * cost almost nothing. */
static void SPAN(normal_icdf_span)(const FNN_NAME(fnn_icdf_coef) *c, T *RESTRICT x, size_t n)
{
    const double p_lo = c->p_lo, span = c->p_span, mean = c->mean, std = c->std;
    const T lo = c->lo, hi = c->hi;
    double z[256];
    unsigned char tail[256];
    for (size_t b = 0; b < n; b += 256) {
        const size_t len = n - b < 256 ? n - b : 256;
        T *RESTRICT xb = x + b;
        int any_tail = 0;
#pragma omp simd reduction(| : any_tail)
        for (size_t j = 0; j < len; ++j) {
            const double p = p_lo + span * (double)xb[j];
            const double aq = p < 0.5 ? 0.5 - p : p - 0.5;
            const int t = aq > 0.5 - ICDF_P_LOW;
            z[j] = ICDF_CENTRAL(p);
            tail[j] = (unsigned char)t;
            any_tail |= t;
        }
        if (any_tail) {
            for (size_t j0 = 0; j0 < len; j0 += 8) {
                uint64_t marks = 0;
                if (j0 + 8 <= len) __builtin_memcpy(&marks, tail + j0, 8);
                else marks = 1;
                if (!marks) continue;
                for (size_t j = j0; j < j0 + 8 && j < len; ++j)
                    if (tail[j]) z[j] = ICDF_TAIL(p_lo + span * (double)xb[j]);
            }
        }
#pragma omp simd
        for (size_t j = 0; j < len; ++j) {
            T v = (T)(mean + std * z[j]);
            v = v < lo ? lo : v;
            xb[j] = v > hi ? hi : v;
        }
    }
}

const FNN_NAME(fnn_random_table) FNN_ISA_NAME(fnn_random_table) = {
    SPAN(words_span),   SPAN(uniform_span),      SPAN(normal_span),
    SPAN(dropout_span), SPAN(dropout_mask_span), SPAN(scale_span),
    SPAN(normal_icdf_span),
};

#undef T
#undef SPAN
#undef INLINE
#undef RESTRICT
#undef TILE
#undef WPE
#undef U01
