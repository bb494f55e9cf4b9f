/* Template (see core/instantiate_dtypes.h), compiled once per ISA by
 * core/isa_unit.c: the loops that turn Philox words into raw words,
 * uniforms, normals and truncated normals. The Philox tiles and the
 * Box-Muller loop are shared with the dropout family (philox_t.h). */

#define T FNN_REAL
#define SPAN(name) FNN_ISA_NAME(name)
#define INLINE static inline __attribute__((always_inline))
#define RESTRICT FNN_RESTRICT
#define TILE FNN_RANDOM_TILE
#define WPE FNN_PHILOX_WPE

#include "philox_t.h"

/* u ∈ [0, 1) from the words of element i (see fastnn_random.h). */
#if FNN_IS_F32
#define U01(w, i) ((T)(int32_t)((w)[i] >> 8) * 0x1p-24f)
#else
#define U01(w, i) \
    (((T)(int32_t)((w)[2 * (i)] >> 5) * 67108864.0 + (T)(int32_t)((w)[2 * (i) + 1] >> 6)) * 0x1p-53)
#endif

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

static void SPAN(normal_span)(const fnn_stream *s, T *out, size_t begin, size_t end, T mean,
                              T std, int streaming)
{
    SPAN(normal_loop)(s, NULL, out, begin, end, mean, std, FNN_NOISE_FILL, streaming);
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
    SPAN(words_span),
    SPAN(uniform_span),
    SPAN(normal_span),
    SPAN(normal_icdf_span),
};

#undef T
#undef SPAN
#undef INLINE
#undef RESTRICT
#undef TILE
#undef WPE
#undef U01
