/* Template (see core/instantiate_dtypes.h), compiled once per ISA by
 * core/isa_unit.c: the row loops of the augmentation kernels. Plain C with
 * `#pragma omp simd`, auto-vectorized for each target. */

#define T FNN_REAL
#define SPAN(name) FNN_ISA_NAME(name)
#define RESTRICT FNN_RESTRICT

static void SPAN(reverse_span)(const T *src, T *o, size_t n)
{
    T *RESTRICT out = o;
#pragma omp simd
    for (size_t k = 0; k < n; ++k) out[k] = *(src - (ptrdiff_t)k);
}

static void SPAN(axpb_span)(const T *x, T *o, size_t n, T a, T b)
{
    const T *RESTRICT xi = x;
    T *RESTRICT out = o;
#pragma omp simd
    for (size_t k = 0; k < n; ++k) out[k] = a * xi[k] + b;
}

/* Coordinates and weights in double whatever T: a float32 coordinate near
 * 32 px carries ~4e-6 px of rounding, which the blend would pass on. The
 * four corners are read with bounds tests rather than from a padded copy,
 * so nothing is allocated. */
static void SPAN(warp_row_span)(const T *src, size_t h, size_t w, T *o, size_t n, double sx0,
                                double dsx, double sy0, double dsy)
{
    const T *RESTRICT s = src;
    T *RESTRICT out = o;
    const ptrdiff_t W = (ptrdiff_t)w, H = (ptrdiff_t)h;
#pragma omp simd
    for (size_t k = 0; k < n; ++k) {
        const double sx = sx0 + (double)k * dsx;
        const double sy = sy0 + (double)k * dsy;
        const double fx = floor(sx), fy = floor(sy);
        const double ax = sx - fx, ay = sy - fy;
        /* clamp before the integer conversion: far-out coordinates would
         * overflow it, and anything below −1 or at/above the size is zero;
         * a NaN coordinate (written so that it fails the test) goes below */
        const double cx = !(fx >= -2.0) ? -2.0 : (fx > (double)W ? (double)W : fx);
        const double cy = !(fy >= -2.0) ? -2.0 : (fy > (double)H ? (double)H : fy);
        const ptrdiff_t ix = (ptrdiff_t)cx, iy = (ptrdiff_t)cy;
        const int x0in = ix >= 0 && ix < W, x1in = ix + 1 >= 0 && ix + 1 < W;
        const int y0in = iy >= 0 && iy < H, y1in = iy + 1 >= 0 && iy + 1 < H;
        const double v00 = (y0in && x0in) ? (double)s[iy * W + ix] : 0.0;
        const double v01 = (y0in && x1in) ? (double)s[iy * W + ix + 1] : 0.0;
        const double v10 = (y1in && x0in) ? (double)s[(iy + 1) * W + ix] : 0.0;
        const double v11 = (y1in && x1in) ? (double)s[(iy + 1) * W + ix + 1] : 0.0;
        const double top = (1.0 - ax) * v00 + ax * v01;
        const double bot = (1.0 - ax) * v10 + ax * v11;
        out[k] = (T)((1.0 - ay) * top + ay * bot);
    }
}

#if FNN_ISA_ID(FNN_ISA) >= 1
/* The same warp in three passes over tiles of a row, for planes of fewer
 * than 2³¹ values (int32 indices): (1) coordinates, weights and corner
 * indices, plain C that vectorizes; (2) the four corners fetched with
 * masked AVX2 gathers, zero where a corner falls outside (loads and integer
 * compares only, so exact); (3) the blend, plain C that vectorizes. The
 * arithmetic is that of warp_row_span, operation for operation, so every
 * path gives the same bits. GCC does not vectorize the loads of the
 * one-pass loop (data-dependent, conditional), which kept it scalar. */
#define AUG_WARP_TILE ((size_t)64)

static void SPAN(warp_row_tiled)(const T *src, size_t h, size_t w, T *o, size_t n, double sx0,
                                 double dsx, double sy0, double dsy)
{
    const int32_t W = (int32_t)w, H = (int32_t)h;
    int32_t ixs[AUG_WARP_TILE], iys[AUG_WARP_TILE];
    double axs[AUG_WARP_TILE], ays[AUG_WARP_TILE];
    T v00[AUG_WARP_TILE], v01[AUG_WARP_TILE], v10[AUG_WARP_TILE], v11[AUG_WARP_TILE];
    for (size_t k0 = 0; k0 < n; k0 += AUG_WARP_TILE) {
        const size_t m = n - k0 < AUG_WARP_TILE ? n - k0 : AUG_WARP_TILE;
        const double kb = (double)k0;
#pragma omp simd
        for (size_t j = 0; j < m; ++j) {
            /* k0 + j, exactly; int32 → double converts in AVX2, size_t does not */
            const double k = kb + (double)(int32_t)j;
            const double sx = sx0 + k * dsx;
            const double sy = sy0 + k * dsy;
            const double fx = floor(sx), fy = floor(sy);
            axs[j] = sx - fx;
            ays[j] = sy - fy;
            const double cx = !(fx >= -2.0) ? -2.0 : (fx > (double)W ? (double)W : fx);
            const double cy = !(fy >= -2.0) ? -2.0 : (fy > (double)H ? (double)H : fy);
            ixs[j] = (int32_t)cx;
            iys[j] = (int32_t)cy;
        }
        size_t j = 0;
        const __m256i one = _mm256_set1_epi32(1), neg1 = _mm256_set1_epi32(-1);
        const __m256i vw = _mm256_set1_epi32(W), vh = _mm256_set1_epi32(H);
#if FNN_IS_F32
        enum { STEP = 8 };
#else
        enum { STEP = 4 };
#endif
        for (; j + STEP <= m; j += STEP) {
#if FNN_IS_F32
            const __m256i x0 = _mm256_loadu_si256((const __m256i *)(ixs + j));
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(iys + j));
#else
            const __m256i x0 = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(ixs + j)));
            const __m256i y0 = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(iys + j)));
#endif
            const __m256i x1 = _mm256_add_epi32(x0, one), y1 = _mm256_add_epi32(y0, one);
            /* 0 <= v < n  ⇔  v > −1 and n > v */
            const __m256i x0in = _mm256_and_si256(_mm256_cmpgt_epi32(x0, neg1),
                                                  _mm256_cmpgt_epi32(vw, x0));
            const __m256i x1in = _mm256_and_si256(_mm256_cmpgt_epi32(x1, neg1),
                                                  _mm256_cmpgt_epi32(vw, x1));
            const __m256i y0in = _mm256_and_si256(_mm256_cmpgt_epi32(y0, neg1),
                                                  _mm256_cmpgt_epi32(vh, y0));
            const __m256i y1in = _mm256_and_si256(_mm256_cmpgt_epi32(y1, neg1),
                                                  _mm256_cmpgt_epi32(vh, y1));
            /* masked-off lanes are never read, so their indices may be anything */
            const __m256i i00 = _mm256_add_epi32(_mm256_mullo_epi32(y0, vw), x0);
            const __m256i i10 = _mm256_add_epi32(i00, vw);
            const __m256i m00 = _mm256_and_si256(y0in, x0in), m01 = _mm256_and_si256(y0in, x1in);
            const __m256i m10 = _mm256_and_si256(y1in, x0in), m11 = _mm256_and_si256(y1in, x1in);
#if FNN_IS_F32
            const __m256 z = _mm256_setzero_ps();
#define AUG_GATHER(dst, idx, msk)                                                            \
    _mm256_storeu_ps((dst) + j,                                                             \
                     _mm256_mask_i32gather_ps(z, src, (idx), _mm256_castsi256_ps(msk), 4))
#else
            const __m256d z = _mm256_setzero_pd();
#define AUG_GATHER(dst, idx, msk)                                                            \
    _mm256_storeu_pd((dst) + j,                                                             \
                     _mm256_mask_i32gather_pd(z, src, _mm256_castsi256_si128(idx),           \
                                              _mm256_castsi256_pd(_mm256_cvtepi32_epi64(     \
                                                  _mm256_castsi256_si128(msk))),             \
                                              8))
#endif
            AUG_GATHER(v00, i00, m00);
            AUG_GATHER(v01, _mm256_add_epi32(i00, one), m01);
            AUG_GATHER(v10, i10, m10);
            AUG_GATHER(v11, _mm256_add_epi32(i10, one), m11);
#undef AUG_GATHER
        }
        for (; j < m; ++j) {
            const int32_t ix = ixs[j], iy = iys[j];
            const int x0in = ix >= 0 && ix < W, x1in = ix + 1 >= 0 && ix + 1 < W;
            const int y0in = iy >= 0 && iy < H, y1in = iy + 1 >= 0 && iy + 1 < H;
            v00[j] = (y0in && x0in) ? src[iy * W + ix] : (T)0;
            v01[j] = (y0in && x1in) ? src[iy * W + ix + 1] : (T)0;
            v10[j] = (y1in && x0in) ? src[(iy + 1) * W + ix] : (T)0;
            v11[j] = (y1in && x1in) ? src[(iy + 1) * W + ix + 1] : (T)0;
        }
        T *RESTRICT out = o + k0;
#pragma omp simd
        for (size_t q = 0; q < m; ++q) {
            const double ax = axs[q], ay = ays[q];
            const double top = (1.0 - ax) * (double)v00[q] + ax * (double)v01[q];
            const double bot = (1.0 - ax) * (double)v10[q] + ax * (double)v11[q];
            out[q] = (T)((1.0 - ay) * top + ay * bot);
        }
    }
}
#undef AUG_WARP_TILE
#define AUG_WARP_ROW SPAN(warp_row_tiled)
#else
#define AUG_WARP_ROW SPAN(warp_row_span)
#endif

/* Philox words of consecutive elements, 64 blocks at a time through a
 * stack buffer: one independent block per lane, so the rounds vectorize
 * where a block computed per element would not. */
static void SPAN(words_span)(const fnn_stream *s, uint32_t *out, uint64_t first, size_t n)
{
    uint32_t buf[4 * 64];
    const uint32_t k0 = s->k0, k1 = s->k1, o0 = s->o0, o1 = s->o1;
    size_t done = 0;
    while (done < n) {
        const uint64_t i0 = first + done, b0 = i0 / 4;
        const size_t skip = (size_t)(i0 % 4);
        size_t nb = (skip + (n - done) + 3) / 4;
        if (nb > 64) nb = 64;
#pragma omp simd
        for (size_t j = 0; j < nb; ++j) {
            const uint64_t b = b0 + j;
            uint32_t c0 = (uint32_t)b, c1 = (uint32_t)(b >> 32), c2 = o0, c3 = o1;
            FNN_PHILOX_10(c0, c1, c2, c3, k0, k1);
            buf[4 * j] = c0;
            buf[4 * j + 1] = c1;
            buf[4 * j + 2] = c2;
            buf[4 * j + 3] = c3;
        }
        size_t take = 4 * nb - skip;
        if (take > n - done) take = n - done;
        memcpy(out + done, buf + skip, take * sizeof(uint32_t));
        done += take;
    }
}

/* ------------------------------------------------------ normals in double
 *
 * The standard normals of the random family's stream (fastnn_random.h:
 * Box-Muller on consecutive pairs, the float32 or float64 word mapping of
 * T), computed in double for both dtypes so that x + σ·z rounds once to T,
 * as in the reference. The same split of the angle as the random family
 * (quadrant from the integer bits, |2πt| ≤ π/4) and its double series for
 * ln, sin and cos, accurate to about an ulp of double: plain arithmetic
 * that vectorizes, where libm calls would not, and gives the same bits at
 * every SIMD level with -ffp-contract=off. */

#define AUG_INLINE static inline __attribute__((always_inline))

AUG_INLINE double SPAN(aug_log_pos)(double u)
{
    uint64_t bits, mb;
    memcpy(&bits, &u, sizeof bits);
    int32_t e = (int32_t)(bits >> 52) - 1023;
    mb = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m;
    memcpy(&m, &mb, sizeof m);
    const int big = m > 1.4142135623730951;
    m = big ? m * 0.5 : m;
    e += big;
    const double s = (m - 1.0) / (m + 1.0);
    const double s2 = s * s;
    double poly = 1.0 / 21.0;
    poly = 1.0 / 19.0 + s2 * poly;
    poly = 1.0 / 17.0 + s2 * poly;
    poly = 1.0 / 15.0 + s2 * poly;
    poly = 1.0 / 13.0 + s2 * poly;
    poly = 1.0 / 11.0 + s2 * poly;
    poly = 1.0 / 9.0 + s2 * poly;
    poly = 1.0 / 7.0 + s2 * poly;
    poly = 1.0 / 5.0 + s2 * poly;
    poly = 1.0 / 3.0 + s2 * poly;
    const double lnm = (s + s) + (s + s) * (s2 * poly);
    const double fe = (double)e;
    return fe * 6.93147180369123816490e-01 + (lnm + fe * 1.90821492927058770002e-10);
}

AUG_INLINE void SPAN(aug_sincos)(double a, double *sn, double *cs)
{
    const double a2 = a * a;
    double ps = 1.0 / 355687428096000.0;
    ps = -1.0 / 1307674368000.0 + a2 * ps;
    ps = 1.0 / 6227020800.0 + a2 * ps;
    ps = -1.0 / 39916800.0 + a2 * ps;
    ps = 1.0 / 362880.0 + a2 * ps;
    ps = -1.0 / 5040.0 + a2 * ps;
    ps = 1.0 / 120.0 + a2 * ps;
    ps = -1.0 / 6.0 + a2 * ps;
    *sn = a + a * (a2 * ps);
    double pc = -1.0 / 6402373705728000.0;
    pc = 1.0 / 20922789888000.0 + a2 * pc;
    pc = -1.0 / 87178291200.0 + a2 * pc;
    pc = 1.0 / 479001600.0 + a2 * pc;
    pc = -1.0 / 3628800.0 + a2 * pc;
    pc = 1.0 / 40320.0 + a2 * pc;
    pc = -1.0 / 720.0 + a2 * pc;
    pc = 1.0 / 24.0 + a2 * pc;
    pc = -0.5 + a2 * pc;
    *cs = 1.0 + a2 * pc;
}

/* Pairs per tile of snr_row: 128 pairs, 256 normals, 2 KiB of doubles. */
#define AUG_PAIRS ((size_t)128)

/* y[i] = (T)(x[i] + sigma·z[first + i]) for i < n. */
static void SPAN(snr_row_span)(const fnn_stream *s, const T *x, T *y, size_t n, uint64_t first,
                               double sigma)
{
#if FNN_IS_F32
    enum { WPP = 2 }; /* words per pair */
#else
    enum { WPP = 4 };
#endif
    uint32_t w[AUG_PAIRS * WPP];
    double z[2 * AUG_PAIRS];
    size_t i = 0;
    while (i < n) {
        const uint64_t p0 = (first + i) / 2;
        const size_t skip = (size_t)((first + i) % 2);
        size_t np = (skip + (n - i) + 1) / 2;
        if (np > AUG_PAIRS) np = AUG_PAIRS;
        SPAN(words_span)(s, w, p0 * WPP, np * WPP);
#pragma omp simd
        for (size_t j = 0; j < np; ++j) {
#if FNN_IS_F32
            const uint32_t wr = w[2 * j] >> 8, wa = w[2 * j + 1] >> 8;
            const double u1 = (double)(int32_t)(wr + 1) * 0x1p-24;
            const int32_t q = (int32_t)((wa + (1u << 21)) >> 22);
            const double t = (double)((int32_t)wa - (q << 22)) * 0x1p-24;
#else
            const uint32_t ra = w[4 * j] >> 5, rb = w[4 * j + 1] >> 6;
            const uint32_t aa = w[4 * j + 2] >> 5, ab = w[4 * j + 3] >> 6;
            const double u1 = ((double)(int32_t)ra * 67108864.0 + (double)(int32_t)(rb + 1)) *
                              0x1p-53;
            const int32_t q = (int32_t)((aa + (1u << 24)) >> 25);
            const double t = ((double)((int32_t)aa - (q << 25)) * 67108864.0 +
                              (double)(int32_t)ab) * 0x1p-53;
#endif
            const double r = sqrt(-2.0 * SPAN(aug_log_pos)(u1));
            double sn, cs;
            SPAN(aug_sincos)(t * 6.283185307179586, &sn, &cs);
            const int swap = q & 1;
            double c = swap ? sn : cs;
            double si = swap ? cs : sn;
            c = ((q + 1) & 2) ? -c : c;
            si = (q & 2) ? -si : si;
            z[2 * j] = r * c;
            z[2 * j + 1] = r * si;
        }
        size_t take = 2 * np - skip;
        if (take > n - i) take = n - i;
        const T *RESTRICT xi = x + i;
        T *RESTRICT yi = y + i;
        const double *RESTRICT zi = z + skip;
#pragma omp simd
        for (size_t k = 0; k < take; ++k) yi[k] = (T)((double)xi[k] + sigma * zi[k]);
        i += take;
    }
}

/* Σ x² over one row in double, in 16 fixed lanes (element k to lane k mod
 * 16, lanes added in a fixed order): the same bits for every SIMD level and
 * thread count, and a loop that vectorizes. */
static double SPAN(sum_sq_span)(const T *x, size_t n)
{
    double lane[16] = {0};
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
#pragma omp simd
        for (size_t l = 0; l < 16; ++l) lane[l] += (double)x[k + l] * (double)x[k + l];
    }
    for (size_t l = 0; k + l < n; ++l) lane[l] += (double)x[k + l] * (double)x[k + l];
    double total = 0.0;
    for (size_t l = 0; l < 16; ++l) total += lane[l];
    return total;
}

#undef AUG_INLINE
#undef AUG_PAIRS

const FNN_NAME(fnn_augment_table) FNN_ISA_NAME(fnn_augment_table) = {
    SPAN(reverse_span),
    SPAN(axpb_span),
    AUG_WARP_ROW,
    SPAN(warp_row_span),
    SPAN(words_span),
    SPAN(snr_row_span),
    SPAN(sum_sq_span),
};

#undef AUG_WARP_ROW
#undef T
#undef SPAN
#undef RESTRICT
