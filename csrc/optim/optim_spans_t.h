/* Template (see core/instantiate_dtypes.h), compiled once per ISA by
 * core/isa_unit.c: the element loops of every optimizer over one contiguous
 * piece of one array. The drivers in optim_driver_t.h split the work and
 * pick the table for the running CPU.
 *
 * Each loop reads and writes every array once. Options arrive as a
 * compile-time `mode` (FNN_MODE_* bits) of an always-inline loop, expanded
 * by FNN_SWITCH into one branch-free vectorized loop per combination. The
 * operation order mirrors torch.optim so results agree to rounding. */

#define T FNN_REAL
#define COEF FNN_NAME(fnn_optim_coef)
#define SPAN(name) FNN_ISA_NAME(name)
#define INLINE static inline __attribute__((always_inline))
#define RESTRICT FNN_RESTRICT
#define HAS(bit) ((mode & (bit)) != 0)

/* sign(x) that keeps NaN (as torch.sign does) and zero */
#define SIGN(x) ((x) > (T)0 ? (T)1 : ((x) < (T)0 ? (T)-1 : (x)))
/* torch.lerp(a, b, w): computed from the nearer end, exact at both. `omw` is
 * 1 − w computed in double by the driver and rounded once: recomputing it
 * here as 1 − (T)w would round twice, which in float32 loses most digits of
 * a small 1 − w (β₁ = 1e-5 gave m·1.00136 instead of m·1.00000). */
#define LERP(a, b, w, omw) \
    (HAS(FNN_MODE_LERP_HIGH) ? (b) - ((b) - (a)) * (omw) : (a) + (w) * ((b) - (a)))

/* The gradient every optimizer sees: sign-flipped when maximizing, plus the
 * coupled L2 term and the L1 term when they are on. */
#define PREP_GRAD(gi, pi)                                                                \
    (HAS(FNN_MODE_L1) ? (HAS(FNN_MODE_WD) ? sg * (gi) + wd * (pi) : sg * (gi)) + l1 * SIGN(pi) \
                      : (HAS(FNN_MODE_WD) ? sg * (gi) + wd * (pi) : sg * (gi)))

/* Adam's moment estimates, shared by Adam, NAdam and RAdam:
 * m ← lerp(m, g, 1 − β₁), v ← β₂·v + (1 − β₂)·g² */
#define UPDATE_MOMENTS(m, v, i, gi, mi, vi)                \
    T mi = LERP(m[i], gi, w1, beta1);                      \
    T vi = v[i] * beta2 + omb2 * (gi * gi);                \
    m[i] = mi;                                             \
    v[i] = vi

#define PREP_LOCALS                                                       \
    const T sg = c->grad_sign, wd = c->wd, l1 = c->l1, decay = c->decay; \
    (void)wd;                                                             \
    (void)l1

/* A span function that runs `loop` specialised for the mode bits in mask. */
#define DEFINE_SPAN(name, loop, SWITCH)                                                      \
    static void SPAN(name)(const COEF *c, size_t n, T *RESTRICT p, const T *RESTRICT g,     \
                           T *RESTRICT s0, T *RESTRICT s1, T *RESTRICT s2)                   \
    {                                                                                        \
        (void)s1;                                                                            \
        (void)s2;                                                                            \
        const unsigned mode_ = c->mode;                                                      \
        SWITCH(mode_, CALL_##loop)                                                           \
    }

INLINE void SPAN(sgd_loop)(const COEF *c, size_t n, T *RESTRICT p, const T *RESTRICT g,
                           T *RESTRICT buf, const unsigned mode)
{
    PREP_LOCALS;
    const T lr = c->lr, mom = c->momentum, gc = c->grad_coef;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T gi = PREP_GRAD(g[i], p[i]);
        T d = gi;
        if (HAS(FNN_MODE_SGD_BUFFER)) {
            T b = HAS(FNN_MODE_SGD_FIRST) ? gi : mom * buf[i] + gc * gi;
            buf[i] = b;
            d = HAS(FNN_MODE_SGD_NESTEROV) ? gi + mom * b : b;
        }
        p[i] = p[i] * decay - lr * d;
    }
}
#define CALL_sgd_loop(k) SPAN(sgd_loop)(c, n, p, g, s0, k)
DEFINE_SPAN(sgd_span, sgd_loop, FNN_SWITCH32)

INLINE void SPAN(adagrad_loop)(const COEF *c, size_t n, T *RESTRICT p, const T *RESTRICT g,
                               T *RESTRICT sum, const unsigned mode)
{
    PREP_LOCALS;
    const T clr = c->clr, eps = c->eps;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T gi = PREP_GRAD(g[i], p[i]);
        T s = sum[i] + gi * gi;
        sum[i] = s;
        p[i] = p[i] * decay - clr * (gi / (FNN_M(sqrt)(s) + eps));
    }
}
#define CALL_adagrad_loop(k) SPAN(adagrad_loop)(c, n, p, g, s0, k)
DEFINE_SPAN(adagrad_span, adagrad_loop, FNN_SWITCH4)

INLINE void SPAN(rmsprop_loop)(const COEF *c, size_t n, T *RESTRICT p, const T *RESTRICT g,
                               T *RESTRICT sq, T *RESTRICT ga, T *RESTRICT buf,
                               const unsigned mode)
{
    PREP_LOCALS;
    const T lr = c->lr, alpha = c->alpha, oma = c->one_minus_alpha;
    const T eps_in = c->eps_in, eps_out = c->eps_out, mom = c->momentum;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T gi = PREP_GRAD(g[i], p[i]);
        T v = sq[i] * alpha + oma * (gi * gi);
        sq[i] = v;
        if (HAS(FNN_MODE_CENTERED)) {
            T a = LERP(ga[i], gi, oma, alpha);
            ga[i] = a;
            v = v - a * a;
        }
        /* one of eps_in, eps_out is zero: adding +0 leaves the value as is */
        T d = gi / (FNN_M(sqrt)(v + eps_in) + eps_out);
        if (HAS(FNN_MODE_RMS_BUFFER)) {
            d = buf[i] * mom + d;
            buf[i] = d;
        }
        p[i] = p[i] * decay - lr * d;
    }
}
#define CALL_rmsprop_loop(k) SPAN(rmsprop_loop)(c, n, p, g, s0, s1, s2, k)
DEFINE_SPAN(rmsprop_span, rmsprop_loop, FNN_SWITCH32)

INLINE void SPAN(adam_loop)(const COEF *c, size_t n, T *RESTRICT p, const T *RESTRICT g,
                            T *RESTRICT m, T *RESTRICT v, T *RESTRICT vmax, const unsigned mode)
{
    PREP_LOCALS;
    const T w1 = c->w1, beta1 = c->beta1, beta2 = c->beta2, omb2 = c->omb2, eps = c->eps;
    const T step_size = c->step_size, inv_bc2_sqrt = c->inv_bc2_sqrt;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T gi = PREP_GRAD(g[i], p[i]);
        UPDATE_MOMENTS(m, v, i, gi, mi, vi);
        if (HAS(FNN_MODE_AMSGRAD)) {
            vi = vmax[i] > vi ? vmax[i] : vi;
            vmax[i] = vi;
        }
        /* × 1/√(1 − β₂ᵗ) rather than ÷: one division less per element */
        T denom = FNN_M(sqrt)(vi) * inv_bc2_sqrt + eps;
        p[i] = p[i] * decay - step_size * (mi / denom);
    }
}
#define CALL_adam_loop(k) SPAN(adam_loop)(c, n, p, g, s0, s1, s2, k)
DEFINE_SPAN(adam_span, adam_loop, FNN_SWITCH16)

INLINE void SPAN(nadam_loop)(const COEF *c, size_t n, T *RESTRICT p, const T *RESTRICT g,
                             T *RESTRICT m, T *RESTRICT v, const unsigned mode)
{
    PREP_LOCALS;
    const T w1 = c->w1, beta1 = c->beta1, beta2 = c->beta2, omb2 = c->omb2, eps = c->eps;
    const T bc2 = c->bc2;
    const T coef_grad = c->coef_grad, coef_avg = c->coef_avg;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T gi = PREP_GRAD(g[i], p[i]);
        UPDATE_MOMENTS(m, v, i, gi, mi, vi);
        /* one division instead of two: g and m share the denominator */
        T inv_denom = (T)1 / (FNN_M(sqrt)(vi / bc2) + eps);
        T pi = p[i] * decay - coef_grad * (gi * inv_denom);
        p[i] = pi - coef_avg * (mi * inv_denom);
    }
}
#define CALL_nadam_loop(k) SPAN(nadam_loop)(c, n, p, g, s0, s1, k)
DEFINE_SPAN(nadam_span, nadam_loop, FNN_SWITCH8)

INLINE void SPAN(radam_loop)(const COEF *c, size_t n, T *RESTRICT p, const T *RESTRICT g,
                             T *RESTRICT m, T *RESTRICT v, const unsigned mode)
{
    PREP_LOCALS;
    const T w1 = c->w1, beta1 = c->beta1, beta2 = c->beta2, omb2 = c->omb2, eps = c->eps;
    const T bc1 = c->bc1, bc2_sqrt = c->bc2_sqrt, lr = c->lr, rect_lr = c->rect_lr;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T gi = PREP_GRAD(g[i], p[i]);
        UPDATE_MOMENTS(m, v, i, gi, mi, vi);
        T m_hat = mi / bc1;
        T d = HAS(FNN_MODE_RECTIFIED) ? m_hat * rect_lr * (bc2_sqrt / (FNN_M(sqrt)(vi) + eps))
                                      : m_hat * lr;
        p[i] = p[i] * decay - d;
    }
}
#define CALL_radam_loop(k) SPAN(radam_loop)(c, n, p, g, s0, s1, k)
DEFINE_SPAN(radam_span, radam_loop, FNN_SWITCH16)

INLINE void SPAN(lion_loop)(const COEF *c, size_t n, T *RESTRICT p, const T *RESTRICT g,
                            T *RESTRICT m, const unsigned mode)
{
    PREP_LOCALS;
    const T lr = c->lr, beta1 = c->beta1, beta2 = c->beta2;
    const T omb1 = c->w1, omb2 = c->omb2;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T gi = PREP_GRAD(g[i], p[i]);
        T mi = m[i];
        T update = mi * beta1 + omb1 * gi;
        p[i] = p[i] * decay - lr * SIGN(update);
        m[i] = mi * beta2 + omb2 * gi;
    }
}
#define CALL_lion_loop(k) SPAN(lion_loop)(c, n, p, g, s0, k)
DEFINE_SPAN(lion_span, lion_loop, FNN_SWITCH4)

/* ---- reductions and maps for gradient clipping ---- */

/* Sums use 16 fixed lanes: element i always goes to lane i mod 16 and the
 * lanes are added in a fixed order, so the result is the same for every
 * vector width (an `omp simd reduction` would depend on it). */
#define LANES 16

INLINE double SPAN(combine_lanes)(const double *acc)
{
    double s = 0.0;
    for (int l = 0; l < LANES; ++l) s += acc[l];
    return s;
}

static double SPAN(sum_squares_span)(const T *x, size_t n, double unused)
{
    (void)unused;
    double acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
#pragma omp simd
        for (int l = 0; l < LANES; ++l) acc[l] += (double)x[i + l] * (double)x[i + l];
    }
    for (int l = 0; i < n; ++i, ++l) acc[l] += (double)x[i] * (double)x[i];
    return SPAN(combine_lanes)(acc);
}

static double SPAN(sum_abs_pow_span)(const T *x, size_t n, double p)
{
    double acc[LANES] = {0};
    size_t i = 0;
    if (p == 1.0) {
        for (; i + LANES <= n; i += LANES) {
#pragma omp simd
            for (int l = 0; l < LANES; ++l) acc[l] += fabs((double)x[i + l]);
        }
        for (int l = 0; i < n; ++i, ++l) acc[l] += fabs((double)x[i]);
    } else {
        for (int l = 0; i < n; ++i, l = (l + 1) % LANES) acc[l] += pow(fabs((double)x[i]), p);
    }
    return SPAN(combine_lanes)(acc);
}

static double SPAN(max_abs_span)(const T *x, size_t n, double unused)
{
    (void)unused;
    T best = 0;
    int has_nan = 0;
#pragma omp simd reduction(max : best) reduction(| : has_nan)
    for (size_t i = 0; i < n; ++i) {
        T a = FNN_M(fabs)(x[i]);
        best = a > best ? a : best;
        has_nan |= (a != a);
    }
    return has_nan ? (double)NAN : (double)best;
}

static void SPAN(scale_span)(T *x, size_t n, T scale, T unused)
{
    (void)unused;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) x[i] = x[i] * scale;
}

static void SPAN(clamp_span)(T *x, size_t n, T lo, T hi)
{
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T v = x[i];
        x[i] = v < lo ? lo : (v > hi ? hi : v);
    }
}

const FNN_NAME(fnn_optim_table) FNN_ISA_NAME(fnn_optim_table) = {
    {SPAN(sgd_span), SPAN(adagrad_span), SPAN(rmsprop_span), SPAN(adam_span), SPAN(nadam_span),
     SPAN(radam_span), SPAN(lion_span)},
    {SPAN(sum_squares_span), SPAN(sum_abs_pow_span), SPAN(max_abs_span)},
    SPAN(scale_span),
    SPAN(clamp_span),
};

#undef T
#undef COEF
#undef SPAN
#undef INLINE
#undef RESTRICT
#undef HAS
#undef SIGN
#undef LERP
#undef PREP_GRAD
#undef PREP_LOCALS
#undef UPDATE_MOMENTS
#undef LANES
#undef DEFINE_SPAN
#undef CALL_sgd_loop
#undef CALL_adagrad_loop
#undef CALL_rmsprop_loop
#undef CALL_adam_loop
#undef CALL_nadam_loop
#undef CALL_radam_loop
#undef CALL_lion_loop
