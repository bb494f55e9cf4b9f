/* Template fragment (see core/instantiate_dtypes.h), compiled once per ISA
 * by core/isa_unit.c inside the spans template of the random and dropout
 * families, which include it after defining T, SPAN, INLINE, RESTRICT and
 * TILE: Philox blocks by the tile, and the loop that turns them into
 * normals (a fill, or noise added to or multiplied into data).
 *
 * Work goes tile by tile: a vectorized loop computes the Philox words of
 * FNN_RANDOM_TILE elements into a stack buffer, and a second vectorized
 * loop consumes them with the data. Box-Muller uses its own polynomial
 * log, sin and cos in plain arithmetic: libm's scalar calls would stop the
 * vectorizer, and vector math libraries round differently per ISA, which
 * would break the bitwise agreement of the SIMD levels. */

#ifndef FNN_PHILOX_T_ONCE
#define FNN_PHILOX_T_ONCE
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
/* Philox words per uniform: one for float32, two for float64 (see
 * fastnn_random.h) */
#define FNN_PHILOX_WPE (FNN_IS_F32 ? 1 : 2)
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

/* Normals z of elements [begin, end), tile by tile: out ← a + b·z
 * (FNN_NOISE_FILL), x + b·z (FNN_NOISE_ADD) or x·(1 + b·z) (FNN_NOISE_MUL). */
INLINE void SPAN(normal_loop)(const fnn_stream *s, const T *x, T *out, size_t begin, size_t end,
                              T a, T b, const int mode, int streaming)
{
    uint32_t w[TILE * FNN_PHILOX_WPE];
    T z[TILE];
    T buf[TILE];
    for (size_t t0 = begin; t0 < end; t0 += TILE) {
        const size_t n = end - t0 < TILE ? end - t0 : TILE;
        const size_t n_pairs = (n + 1) / 2;
        /* f32: a pair takes 2 words (half a block); f64: 4 words (a block) */
        FNN_PHILOX_TILE(s, t0 * FNN_PHILOX_WPE / 4, (n_pairs * 2 * FNN_PHILOX_WPE + 3) / 4, w);
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
