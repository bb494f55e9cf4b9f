/* Template (see core/instantiate_dtypes.h), compiled once per ISA by
 * core/isa_unit.c (setup.py's ISA_UNITS): the element loops of the normalization kernels over one
 * contiguous piece of a channel, row or group. The drivers in
 * norm_driver_t.h derive the constants and split the work.
 *
 * Reductions never use `omp simd reduction`, whose summation order depends
 * on the vector width: they keep FNN_NORM_LANES explicit accumulators, so
 * every ISA adds the same numbers in the same order. Options arrive as a
 * compile-time `mode` of an always-inline loop (see core/common.h). */

#ifndef FNN_NORM_SPANS_ONCE
#define FNN_NORM_SPANS_ONCE
#include "../core/stream_store.h"
#endif

#define T FNN_REAL
#define CST FNN_NAME(fnn_norm_cst)
#define SPAN(name) FNN_ISA_NAME(name)
#define INLINE static inline __attribute__((always_inline))
#define RESTRICT FNN_RESTRICT
#define HAS(bit) ((mode & (bit)) != 0)
#define L FNN_NORM_LANES

/* A constant of the current loop: per element with FNN_NM_COLS, else the
 * value loaded once before the loop (a load inside it would be redone at
 * every iteration, since y might alias the constants as far as C knows). */
#define K(name, i) (HAS(FNN_NM_COLS) ? name##_p[i] : name##_0)
#define LOAD_CST(name, need)                                          \
    /* c is NULL when the mode needs no constant: never read through it */ \
    const T *name##_p = c ? c->name : (const T *)0;                   \
    const T name##_0 = (!HAS(FNN_NM_COLS) && (need)) ? c->name[0] : (T)0; \
    (void)name##_p;                                                   \
    (void)name##_0

/* The pre-activation, the same expression in forward and backward so the
 * backward's ReLU mask is the forward's bitwise. */
#define PRE(xi, i)                                                 \
    (HAS(FNN_NM_FOLDED) ? (xi) * K(scale, i) + K(shift, i)         \
                        : (((xi) - K(m_hi, i)) - K(m_lo, i)) * K(scale, i) + K(shift, i))

static void SPAN(sum_span)(const T *RESTRICT x, size_t n, double *RESTRICT acc)
{
    double a[L];
    for (size_t j = 0; j < L; ++j) a[j] = acc[j];
    size_t i = 0;
    for (; i + L <= n; i += L) {
#pragma omp simd
        for (size_t j = 0; j < L; ++j) a[j] += (double)x[i + j];
    }
    for (size_t j = 0; i + j < n; ++j) a[j] += (double)x[i + j];
    for (size_t j = 0; j < L; ++j) acc[j] = a[j];
}

static void SPAN(sqdev_span)(const T *RESTRICT x, size_t n, double mean, double *RESTRICT acc)
{
    double a[L];
    for (size_t j = 0; j < L; ++j) a[j] = acc[j];
    size_t i = 0;
    for (; i + L <= n; i += L) {
#pragma omp simd
        for (size_t j = 0; j < L; ++j) {
            double d = (double)x[i + j] - mean;
            a[j] += d * d;
        }
    }
    for (size_t j = 0; i + j < n; ++j) {
        double d = (double)x[i + j] - mean;
        a[j] += d * d;
    }
    for (size_t j = 0; j < L; ++j) acc[j] = a[j];
}

/* Statistics of w columns over `rows` rows `ld` apart (the s = 1 layout),
 * one pass over x. Rows go in blocks of FNN_NORM_ROW_BLOCK; in a block each
 * column j is shifted by the block's first value k_j and
 *     s1_j = Σ d,  s2_j = Σ d²,  d = (double)x − k_j
 * are summed in row order (four rows per sweep: s1, s2 are loaded and stored
 * once per four additions, which still come in row order). The block's
 *     mean_b = k + s1/nb,  M2_b = s2 − s1²/nb
 * are merged into the totals in block order with Chan et al.'s update
 *     δ = mean_b − mean,  mean += δ·nb/nt,  M2 += M2_b + δ²·na·nb/nt.
 * Every column gets the same operations in the same order at every SIMD
 * width, so the result depends on nothing but the data.
 *
 * Error. d is exact for float32 data (two 24-bit significands whose
 * exponents differ by less than 29) and within one double rounding
 * otherwise. The shift k is one of the block's own values, so by
 * Samuelson's inequality |k − mean_b| ≤ σ_b·√(nb − 1) (σ_b the block's
 * population standard deviation), hence s2 = M2_b + nb·(mean_b − k)²
 * ≤ nb·M2_b. Summing nb terms in double errs by at most γ_nb·s2 (γ_n ≈
 * n·2⁻⁵³), and s1²/nb ≤ s2 carries the same relative error, so
 * |ΔM2_b| ≲ 2·nb²·2⁻⁵³·M2_b: 9·10⁻¹³ relative for nb = 64, whatever the
 * mean (x = 1000 + noise included: no cancellation beyond that factor), and
 * far below the 1e-10 the tests ask of 1/√(var + eps). The mean is
 * k + s1/nb with s1 ≤ nb·|d|max: its error is a few units of 2⁻⁵³ of the
 * spread, not of the mean. Chan's merge adds a few roundings per block. */
static void SPAN(col_stats_span)(const T *RESTRICT x, size_t rows, size_t w, size_t ld,
                                 double *RESTRICT mean, double *RESTRICT m2,
                                 double *RESTRICT s1, double *RESTRICT s2)
{
    for (size_t i0 = 0; i0 < rows; i0 += FNN_NORM_ROW_BLOCK) {
        const size_t i1 = rows - i0 < FNN_NORM_ROW_BLOCK ? rows : i0 + FNN_NORM_ROW_BLOCK;
        const T *k = x + i0 * ld;
        for (size_t j = 0; j < w; ++j) s1[j] = s2[j] = 0.0;
        size_t i = i0 + 1; /* the first row's d is 0 */
        for (; i + 4 <= i1; i += 4) {
            const T *x0 = x + i * ld, *x1 = x0 + ld, *x2 = x1 + ld, *x3 = x2 + ld;
#pragma omp simd
            for (size_t j = 0; j < w; ++j) {
                const double kj = (double)k[j];
                double a = s1[j], b = s2[j], d;
                d = (double)x0[j] - kj;
                a += d;
                b += d * d;
                d = (double)x1[j] - kj;
                a += d;
                b += d * d;
                d = (double)x2[j] - kj;
                a += d;
                b += d * d;
                d = (double)x3[j] - kj;
                a += d;
                b += d * d;
                s1[j] = a;
                s2[j] = b;
            }
        }
        for (; i < i1; ++i) {
            const T *x0 = x + i * ld;
#pragma omp simd
            for (size_t j = 0; j < w; ++j) {
                const double d = (double)x0[j] - (double)k[j];
                s1[j] += d;
                s2[j] += d * d;
            }
        }
        const double nb = (double)(i1 - i0), na = (double)i0, nt = na + nb;
        const double wb = nb / nt, wab = na * nb / nt;
        if (i0 == 0) {
#pragma omp simd
            for (size_t j = 0; j < w; ++j) {
                const double q = s2[j] - s1[j] * s1[j] / nb;
                mean[j] = (double)k[j] + s1[j] / nb;
                m2[j] = q > 0.0 ? q : 0.0;
            }
        } else {
#pragma omp simd
            for (size_t j = 0; j < w; ++j) {
                const double q = s2[j] - s1[j] * s1[j] / nb;
                const double delta = ((double)k[j] + s1[j] / nb) - mean[j];
                mean[j] += delta * wb;
                m2[j] += (q > 0.0 ? q : 0.0) + delta * delta * wab;
            }
        }
    }
}

/* x and y may be the same array (in-place inference): each element is read
 * before it is written, and omp simd vectorizes without alias checks. */
INLINE void SPAN(apply_loop)(const T *x, T *y, size_t n, const CST *c, const unsigned mode)
{
    LOAD_CST(m_hi, !HAS(FNN_NM_FOLDED));
    LOAD_CST(m_lo, !HAS(FNN_NM_FOLDED));
    LOAD_CST(scale, 1);
    LOAD_CST(shift, 1);
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T z = PRE(x[i], i);
        /* z < 0 keeps NaN as NaN, as IEEE max with a NaN operand in torch.relu */
        y[i] = HAS(FNN_NM_RELU) ? (z < (T)0 ? (T)0 : z) : z;
    }
}
#define CALL_apply_loop(k) SPAN(apply_loop)(x, y, n, c, k)
static void SPAN(apply_span)(const T *x, T *y, size_t n, const CST *c, unsigned mode)
{
    FNN_SWITCH8(mode, CALL_apply_loop)
}

/* apply over `rows` rows of w columns `ld` apart, constants per column:
 * one call per block instead of one per row. */
#define CALL_col_apply_loop(k)                                                  \
    for (size_t i = 0; i < rows; ++i)                                           \
        SPAN(apply_loop)(x + i * ld, y + i * ld, w, c, (k) | FNN_NM_COLS)
static void SPAN(col_apply_span)(const T *x, T *y, size_t rows, size_t w, size_t ld,
                                 const CST *c, unsigned mode)
{
    mode &= ~FNN_NM_COLS;
    FNN_SWITCH4(mode, CALL_col_apply_loop)
}

INLINE void SPAN(bwd_sums_loop)(const T *RESTRICT dy, const T *RESTRICT x, size_t n, double mean,
                                const CST *c, double *RESTRICT acc_dy, double *RESTRICT acc_dyx,
                                const unsigned mode)
{
    LOAD_CST(m_hi, HAS(FNN_NM_RELU) && !HAS(FNN_NM_FOLDED));
    LOAD_CST(m_lo, HAS(FNN_NM_RELU) && !HAS(FNN_NM_FOLDED));
    LOAD_CST(scale, HAS(FNN_NM_RELU));
    LOAD_CST(shift, HAS(FNN_NM_RELU));
    double a[L], b[L];
    for (size_t j = 0; j < L; ++j) {
        a[j] = acc_dy[j];
        b[j] = acc_dyx[j];
    }
#define BWD_SUMS_BODY(idx, lane)                                         \
    {                                                                    \
        T g = dy[idx];                                                   \
        if (HAS(FNN_NM_RELU)) g = PRE(x[idx], idx) > (T)0 ? g : (T)0;    \
        a[lane] += (double)g;                                            \
        b[lane] += (double)g * ((double)x[idx] - mean);                  \
    }
    size_t i = 0;
    for (; i + L <= n; i += L) {
#pragma omp simd
        for (size_t j = 0; j < L; ++j) BWD_SUMS_BODY(i + j, j)
    }
    for (size_t j = 0; i + j < n; ++j) BWD_SUMS_BODY(i + j, j)
#undef BWD_SUMS_BODY
    for (size_t j = 0; j < L; ++j) {
        acc_dy[j] = a[j];
        acc_dyx[j] = b[j];
    }
}
#define CALL_bwd_sums_loop(k) SPAN(bwd_sums_loop)(dy, x, n, mean, c, acc_dy, acc_dyx, k)
static void SPAN(bwd_sums_span)(const T *dy, const T *x, size_t n, double mean, const CST *c,
                                double *acc_dy, double *acc_dyx, unsigned mode)
{
    /* planes: constants are scalars */
    mode &= ~FNN_NM_COLS;
    FNN_SWITCH4(mode, CALL_bwd_sums_loop)
}

INLINE void SPAN(col_bwd_sums_loop)(const T *RESTRICT dy, const T *RESTRICT x, size_t n,
                                    const double *RESTRICT mean, const CST *c,
                                    double *RESTRICT acc_dy, double *RESTRICT acc_dyx,
                                    const unsigned mode)
{
    LOAD_CST(m_hi, 0);
    LOAD_CST(m_lo, 0);
    LOAD_CST(scale, 0);
    LOAD_CST(shift, 0);
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T g = dy[i];
        if (HAS(FNN_NM_RELU)) g = PRE(x[i], i) > (T)0 ? g : (T)0;
        acc_dy[i] += (double)g;
        acc_dyx[i] += (double)g * ((double)x[i] - mean[i]);
    }
}
#define CALL_col_bwd_sums_loop(k) \
    SPAN(col_bwd_sums_loop)(dy, x, n, mean, c, acc_dy, acc_dyx, (k) | FNN_NM_COLS)
static void SPAN(col_bwd_sums_span)(const T *dy, const T *x, size_t n, const double *mean,
                                    const CST *c, double *acc_dy, double *acc_dyx, unsigned mode)
{
    FNN_SWITCH4(mode, CALL_col_bwd_sums_loop)
}

INLINE void SPAN(dx_loop)(const T *RESTRICT dy, const T *RESTRICT x, T *RESTRICT dx, size_t n,
                          const CST *c, const unsigned mode)
{
    const int mask = HAS(FNN_NM_RELU);
    const int centred = !HAS(FNN_NM_INFER);
    LOAD_CST(m_hi, (mask && !HAS(FNN_NM_FOLDED)) || centred);
    LOAD_CST(m_lo, (mask && !HAS(FNN_NM_FOLDED)) || centred);
    LOAD_CST(scale, mask);
    LOAD_CST(shift, mask);
    LOAD_CST(k0, centred);
    LOAD_CST(k1, 1);
    LOAD_CST(k2, centred);
    LOAD_CST(c0, centred);
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T g = dy[i];
        if (HAS(FNN_NM_RELU)) g = PRE(x[i], i) > (T)0 ? g : (T)0;
        if (HAS(FNN_NM_INFER)) {
            dx[i] = g * K(k1, i);
        } else {
            T d = (x[i] - K(m_hi, i)) - K(m_lo, i);
            dx[i] = (g * K(k0, i) - K(c0, i)) * K(k1, i) - d * K(k2, i);
        }
    }
}
#define CALL_dx_loop(k) SPAN(dx_loop)(dy, x, dx, n, c, k)
static void SPAN(dx_span)(const T *dy, const T *x, T *dx, size_t n, const CST *c, unsigned mode)
{
    FNN_SWITCH16(mode, CALL_dx_loop)
}

/* ---- LayerNorm rows: per-row scalars, per-element weight and bias ---- */

INLINE void SPAN(ln_apply_loop)(const T *RESTRICT x, T *RESTRICT y, size_t n, T m_hi, T m_lo,
                                T rstd, const T *RESTRICT gamma, const T *RESTRICT beta,
                                const unsigned mode)
{
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T v = ((x[i] - m_hi) - m_lo) * rstd;
        if (HAS(FNN_LN_WEIGHT)) v = v * gamma[i];
        if (HAS(FNN_LN_BIAS)) v = v + beta[i];
        y[i] = v;
    }
}
#define CALL_ln_apply_loop(k) SPAN(ln_apply_loop)(xt, o, len, m_hi, m_lo, rstd, gt, bt, k)
/* With `streaming` (the call's arrays do not fit in the caches together),
 * the row is written FNN_NORM_TILE elements at a time through a stack tile
 * with streaming stores: y's lines are not read before they are written.
 * The driver fences once after its rows (a fence per row would wait for
 * every row's stores to drain). */
static void SPAN(ln_apply_span)(const T *x, T *y, size_t n, T m_hi, T m_lo, T rstd,
                                const T *gamma, const T *beta, unsigned mode, int streaming)
{
    T buf[FNN_NORM_TILE];
    for (size_t t0 = 0; t0 < n; t0 += FNN_NORM_TILE) {
        const size_t len = n - t0 < FNN_NORM_TILE ? n - t0 : FNN_NORM_TILE;
        const T *xt = x + t0, *gt = gamma ? gamma + t0 : gamma, *bt = beta ? beta + t0 : beta;
        T *o = streaming ? buf : y + t0;
        FNN_SWITCH4(mode, CALL_ln_apply_loop)
        if (streaming) fnn_stream_copy(y + t0, buf, len * sizeof(T));
    }
}

/* One row's sums Σh and Σh·(x − mean), h = dy·gamma, over FNN_NORM_LANES lanes,
 * and (FNN_LN_PARTIAL) its terms of the dgamma / dbeta partial sums, added to
 * part_g / part_b in the same pass: dy and x are converted once per element.
 * gamma arrives in double (converted once per call). */
INLINE void SPAN(ln_bwd_sums_loop)(const T *RESTRICT dy, const T *RESTRICT x, size_t n,
                                   double mean, double rstd, const double *RESTRICT gamma,
                                   double *RESTRICT acc_a, double *RESTRICT acc_b,
                                   double *RESTRICT part_g, double *RESTRICT part_b,
                                   const unsigned mode)
{
    double a[L], b[L];
    for (size_t j = 0; j < L; ++j) {
        a[j] = acc_a[j];
        b[j] = acc_b[j];
    }
#define LN_SUMS_BODY(idx, lane)                                                        \
    {                                                                                  \
        double g = (double)dy[idx];                                                    \
        double d = (double)x[idx] - mean;                                              \
        double h = HAS(FNN_LN_WEIGHT) ? g * gamma[idx] : g;                            \
        a[lane] += h;                                                                  \
        b[lane] += h * d;                                                              \
        if (HAS(FNN_LN_PARTIAL)) {                                                     \
            part_g[idx] += g * (d * rstd);                                             \
            part_b[idx] += g;                                                          \
        }                                                                              \
    }
    size_t i = 0;
    for (; i + L <= n; i += L) {
#pragma omp simd
        for (size_t j = 0; j < L; ++j) LN_SUMS_BODY(i + j, j)
    }
    for (size_t j = 0; i + j < n; ++j) LN_SUMS_BODY(i + j, j)
#undef LN_SUMS_BODY
    for (size_t j = 0; j < L; ++j) {
        acc_a[j] = a[j];
        acc_b[j] = b[j];
    }
}
#define CALL_ln_bwd_sums_loop(k) \
    SPAN(ln_bwd_sums_loop)(dy, x, n, mean, rstd, gamma, acc_a, acc_b, part_g, part_b, (k) << 0)
static void SPAN(ln_bwd_sums_span)(const T *dy, const T *x, size_t n, double mean, double rstd,
                                   const double *gamma, double *acc_a, double *acc_b,
                                   double *part_g, double *part_b, unsigned mode)
{
    /* the bias bit plays no part here */
    mode = (mode & FNN_LN_WEIGHT) | ((mode & FNN_LN_PARTIAL) ? FNN_LN_PARTIAL : 0u);
    switch (mode) {
    case 0: CALL_ln_bwd_sums_loop(0); break;
    case FNN_LN_WEIGHT: CALL_ln_bwd_sums_loop(FNN_LN_WEIGHT); break;
    case FNN_LN_PARTIAL: CALL_ln_bwd_sums_loop(FNN_LN_PARTIAL); break;
    default: CALL_ln_bwd_sums_loop(FNN_LN_WEIGHT | FNN_LN_PARTIAL); break;
    }
}

INLINE void SPAN(ln_dx_loop)(const T *RESTRICT dy, const T *RESTRICT x, T *RESTRICT dx, size_t n,
                             T m_hi, T m_lo, T rstd, T k2, T c0, const T *RESTRICT gamma,
                             const unsigned mode)
{
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T h = HAS(FNN_LN_WEIGHT) ? dy[i] * gamma[i] : dy[i];
        T d = (x[i] - m_hi) - m_lo;
        dx[i] = (h - c0) * rstd - d * k2;
    }
}
#define CALL_ln_dx_loop(k) SPAN(ln_dx_loop)(dy, x, dx, n, m_hi, m_lo, rstd, k2, c0, gamma, k)
static void SPAN(ln_dx_span)(const T *dy, const T *x, T *dx, size_t n, T m_hi, T m_lo, T rstd,
                             T k2, T c0, const T *gamma, unsigned mode)
{
    if (mode & FNN_LN_WEIGHT)
        CALL_ln_dx_loop(FNN_LN_WEIGHT);
    else
        CALL_ln_dx_loop(0);
}

const FNN_NAME(fnn_norm_table) FNN_ISA_NAME(fnn_norm_table) = {
    SPAN(sum_span),      SPAN(sqdev_span),        SPAN(col_stats_span),
    SPAN(apply_span),       SPAN(bwd_sums_span),
    SPAN(col_bwd_sums_span), SPAN(dx_span),       SPAN(ln_apply_span),
    SPAN(ln_bwd_sums_span), SPAN(ln_dx_span),
    SPAN(col_apply_span),
};

#undef T
#undef CST
#undef SPAN
#undef INLINE
#undef RESTRICT
#undef HAS
#undef L
#undef K
#undef LOAD_CST
#undef PRE
#undef CALL_apply_loop
#undef CALL_col_apply_loop
#undef CALL_bwd_sums_loop
#undef CALL_col_bwd_sums_loop
#undef CALL_dx_loop
#undef CALL_ln_apply_loop
#undef CALL_ln_bwd_sums_loop
#undef CALL_ln_dx_loop
