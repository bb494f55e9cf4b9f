/* Template (see core/instantiate_dtypes.h), compiled once per ISA by
 * core/isa_unit.c: the per-row and per-block loops of every loss.
 *
 * Sums over a row or block go through FNN_LANES fixed accumulators (element
 * j feeds lane j % FNN_LANES) combined by a fixed tree (core/lanes.h), so the
 * result does not depend on the vector width: every SIMD level gives the
 * same bits, which a `#pragma omp simd reduction` would not. exp and log1p
 * are the shared branch-free vector math of core/vmath_t.h. */

#include "../core/lanes.h"
#include "../core/vmath_t.h"

#define T FNN_REAL
#define COEF FNN_NAME(fnn_loss_coef)
#define SPAN(name) FNN_ISA_NAME(name)
#define INLINE static inline __attribute__((always_inline))
#define RESTRICT FNN_RESTRICT
#define HAS(bit) ((mode & (bit)) != 0)

/* ---- row losses ---- */

INLINE T SPAN(row_max)(const T *RESTRICT z, size_t n)
{
    T m = z[0];
    int has_nan = 0;
#pragma omp simd reduction(max : m) reduction(| : has_nan)
    for (size_t j = 0; j < n; ++j) {
        m = z[j] > m ? z[j] : m;
        has_nan |= (z[j] != z[j]);
    }
    return has_nan ? (T)NAN : m;
}

/* g ← exp(z − m); returns Σ g */
INLINE T SPAN(row_exp)(const T *RESTRICT z, size_t n, T m, T *RESTRICT g)
{
    T acc[FNN_LANES] = {0};
    FNN_LANE_FOR(n, j, {
        T e = FNN_NAME(m_exp_neg)(z[j] - m); /* z − m <= 0 */
        g[j] = e;
        acc[l] += e;
    });
    return FNN_NAME(fnn_lane_sum)(acc);
}

/* Cross-entropy of one row against q' (smoothed labels or probabilities),
 * weighted: loss = −Σ_c w_c·q'_c·log p_c, grad_c = scale·(W·p_c − w_c·q'_c)
 * with W = Σ_c w_c·q'_c. log p_c = (z_c − m) − log s stays exact for huge
 * logits where z_c − lse would cancel. */
INLINE T SPAN(ce_loop)(const COEF *c, const T *RESTRICT z, int64_t y, const T *RESTRICT q,
                       T *RESTRICT g, const unsigned mode)
{
    const size_t n = c->n_classes;
    const T *RESTRICT w = c->weight;
    const T a = c->a, b = c->b, scale = c->scale;
    const T m = SPAN(row_max)(z, n);
    const T s = SPAN(row_exp)(z, n, m, g);
    const T logs = FNN_M(log)(s), inv = (T)1 / s;
    T acc[FNN_LANES] = {0};
    if (HAS(FNN_LMODE_TARGET)) {
        T wacc[FNN_LANES] = {0};
        FNN_LANE_FOR(n, j, {
            T qw = HAS(FNN_LMODE_WEIGHT) ? w[j] * (a * q[j] + b) : a * q[j] + b;
            wacc[l] += qw;
        });
        const T k = scale * FNN_NAME(fnn_lane_sum)(wacc) * inv;
        FNN_LANE_FOR(n, j, {
            T qw = HAS(FNN_LMODE_WEIGHT) ? w[j] * (a * q[j] + b) : a * q[j] + b;
            acc[l] += qw * ((z[j] - m) - logs);
            g[j] = k * g[j] - scale * qw;
        });
        return -FNN_NAME(fnn_lane_sum)(acc);
    }
    const T on = a + b, off = b;
    const T wy = HAS(FNN_LMODE_WEIGHT) ? w[y] : (T)1;
    const T big_w = HAS(FNN_LMODE_WEIGHT) ? wy * on + off * (c->sum_weight - wy)
                                          : on + (T)(n - 1) * off;
    const T k = scale * big_w * inv, goff = scale * off;
    if (HAS(FNN_LMODE_OFF)) {
        FNN_LANE_FOR(n, j, {
            T wj = HAS(FNN_LMODE_WEIGHT) ? w[j] : (T)1;
            acc[l] += wj * ((z[j] - m) - logs);
            g[j] = k * g[j] - goff * wj;
        });
    } else {
#pragma omp simd
        for (size_t j = 0; j < n; ++j) g[j] = k * g[j];
    }
    g[y] -= scale * (on - off) * wy;
    const T rest = HAS(FNN_LMODE_OFF) ? -off * FNN_NAME(fnn_lane_sum)(acc) : (T)0;
    return rest - (on - off) * wy * ((z[y] - m) - logs);
}
#define CALL_ce_loop(k) return SPAN(ce_loop)(c, z, y, q, g, k)
static T SPAN(ce_row)(const COEF *c, const T *z, int64_t y, const T *q, T *g)
{
    const unsigned mode_ = c->mode;
    FNN_SWITCH8(mode_, CALL_ce_loop)
    return (T)0;
}

/* −w[y]·x[y]; the gradient is zero but at y */
static T SPAN(nll_row)(const COEF *c, const T *x, int64_t y, const T *q, T *g)
{
    (void)q;
    const T wy = c->weight ? c->weight[y] : (T)1;
    const size_t n = c->n_classes;
#pragma omp simd
    for (size_t j = 0; j < n; ++j) g[j] = (T)0;
    g[y] = -c->scale * wy;
    return -wy * x[y];
}

/* Σ_{j≠y} w_y·max(0, margin − x_y + x_j)^p / div, in two loops around y so
 * the true class never enters the sum. */
INLINE T SPAN(margin_part)(const T *RESTRICT x, size_t n, T base, T gk, T *RESTRICT g,
                           T *RESTRICT acc, const unsigned mode)
{
    T gsum[FNN_LANES] = {0};
    FNN_LANE_FOR(n, j, {
        T h = base + x[j];
        T pos = h > (T)0 ? h : (T)0;
        T v = HAS(FNN_LMODE_SQUARED) ? pos * pos : pos;
        T gj = HAS(FNN_LMODE_SQUARED) ? gk * (T)2 * pos : (h > (T)0 ? gk : (T)0);
        acc[l] += v;
        g[j] = gj;
        gsum[l] += gj;
    });
    return FNN_NAME(fnn_lane_sum)(gsum);
}
INLINE T SPAN(margin_loop)(const COEF *c, const T *RESTRICT x, int64_t y, T *RESTRICT g,
                           const unsigned mode)
{
    const size_t n = c->n_classes, yy = (size_t)y;
    const T wy = c->weight ? c->weight[y] : (T)1;
    const T base = c->margin - x[y];
    const T gk = c->scale * wy / c->div;
    T acc[FNN_LANES] = {0};
    T gs = SPAN(margin_part)(x, yy, base, gk, g, acc, mode);
    gs += SPAN(margin_part)(x + yy + 1, n - yy - 1, base, gk, g + yy + 1, acc, mode);
    g[yy] = -gs;
    return wy * FNN_NAME(fnn_lane_sum)(acc) / c->div;
}
#define CALL_margin_loop(k) return SPAN(margin_loop)(c, z, y, g, k)
static T SPAN(margin_row)(const COEF *c, const T *z, int64_t y, const T *q, T *g)
{
    (void)q;
    const unsigned mode_ = c->mode;
    FNN_SWITCH4(mode_, CALL_margin_loop)
    return (T)0;
}

/* −H = Σ p·log p; d(−H)/dz_c = p_c·(log p_c + H). A class of probability
 * 0 (a −∞ logit: a masked class) adds 0·log 0 = 0 and gets a zero gradient,
 * where the product would be 0·(−∞) = NaN; a NaN p still propagates. */
static T SPAN(entropy_row)(const COEF *c, const T *z, int64_t y, const T *q, T *g)
{
    (void)y;
    (void)q;
    const size_t n = c->n_classes;
    const T m = SPAN(row_max)(z, n);
    const T s = SPAN(row_exp)(z, n, m, g);
    const T logs = FNN_M(log)(s), inv = (T)1 / s, scale = c->scale;
    T acc[FNN_LANES] = {0};
    FNN_LANE_FOR(n, j, {
        const T p = g[j] * inv;
        acc[l] += p == (T)0 ? (T)0 : p * ((z[j] - m) - logs);
    });
    const T neg_h = FNN_NAME(fnn_lane_sum)(acc);
#pragma omp simd
    for (size_t j = 0; j < n; ++j) {
        const T p = g[j] * inv;
        g[j] = p == (T)0 ? (T)0 : scale * (p * (((z[j] - m) - logs) - neg_h));
    }
    return neg_h;
}

/* ---- elementwise losses over one block ---- */

/* PyTorch's stable form: with lw = 1 + (pos_weight − 1)·y,
 * loss = (1 − y)·x + lw·(log(1 + e^−|x|) + max(−x, 0)),
 * d/dx = (1 − y) − lw·(1 − σ(x)), all times the weight. */
INLINE double SPAN(bce_loop)(const COEF *c, size_t n, const T *RESTRICT x, const T *RESTRICT y,
                             const T *RESTRICT w, const T *RESTRICT pw, T *RESTRICT loss,
                             T *RESTRICT g, double *RESTRICT acc, const unsigned mode)
{
    const T scale = c->scale;
    FNN_LANE_FOR(n, j, {
        T xj = x[j], yj = y[j];
        T ax = xj < (T)0 ? -xj : xj;
        T e = FNN_NAME(m_exp_neg)(-ax);
        T sp = FNN_NAME(m_log1p01)(e) + (xj < (T)0 ? -xj : (T)0);
        T lw = HAS(FNN_LMODE_POSW) ? (T)1 + (pw[j] - (T)1) * yj : (T)1;
        T v = ((T)1 - yj) * xj + lw * sp;
        T sig_c = (xj < (T)0 ? (T)1 : e) / ((T)1 + e); /* 1 − σ(x) */
        T d = ((T)1 - yj) - lw * sig_c;
        if (HAS(FNN_LMODE_WEIGHT)) {
            v = w[j] * v;
            d = w[j] * d;
        }
        if (HAS(FNN_LMODE_OUT)) loss[j] = v;
        g[j] = scale * d;
        acc[l] += (double)v;
    });
    return 0.0;
}
#define CALL_bce_loop(k) SPAN(bce_loop)(c, len, x + pos, y + pos, w, pw, lo, g + pos, acc, k)
static double SPAN(bce_block)(const COEF *c, size_t start, size_t n, const T *x, const T *y,
                              T *loss, T *g)
{
    double acc[FNN_LANES] = {0};
    const unsigned mode_ = c->mode;
    size_t pos = 0;
    while (pos < n) {
        /* walk the block in pieces that do not wrap around the weight period */
        const size_t col = (start + pos) % c->period;
        const size_t len = n - pos < c->period - col ? n - pos : c->period - col;
        const T *w = c->weight ? c->weight + col : NULL;
        const T *pw = c->pos_weight ? c->pos_weight + col : NULL;
        T *lo = loss ? loss + pos : NULL;
        FNN_SWITCH8(mode_, CALL_bce_loop)
        pos += len;
    }
    return fnn_lane_sum_f64(acc);
}

INLINE double SPAN(mse_loop)(const COEF *c, size_t n, const T *RESTRICT x, const T *RESTRICT y,
                             T *RESTRICT loss, T *RESTRICT g, const unsigned mode)
{
    const T k = (T)2 * c->scale;
    double acc[FNN_LANES] = {0};
    FNN_LANE_FOR(n, j, {
        T d = x[j] - y[j];
        T v = d * d;
        if (HAS(FNN_LMODE_OUT)) loss[j] = v;
        g[j] = k * d;
        acc[l] += (double)v;
    });
    return fnn_lane_sum_f64(acc);
}
static double SPAN(mse_block)(const COEF *c, size_t start, size_t n, const T *x, const T *y,
                              T *loss, T *g)
{
    (void)start;
    if (c->mode & FNN_LMODE_OUT) return SPAN(mse_loop)(c, n, x, y, loss, g, FNN_LMODE_OUT);
    return SPAN(mse_loop)(c, n, x, y, loss, g, 0);
}

const FNN_NAME(fnn_losses_table) FNN_ISA_NAME(fnn_losses_table) = {
    {SPAN(ce_row), SPAN(nll_row), SPAN(margin_row), SPAN(entropy_row)},
    {SPAN(bce_block), SPAN(mse_block)},
};

#undef T
#undef COEF
#undef SPAN
#undef INLINE
#undef RESTRICT
#undef HAS
#undef CALL_ce_loop
#undef CALL_margin_loop
#undef CALL_bce_loop
