/* Template (see core/instantiate_dtypes.h): the normalization drivers. They
 * derive per-channel / per-row constants in double, round them once to
 * FNN_REAL, pick the loops for the running CPU and split the work: one
 * thread owns each channel (BatchNorm) or row / group (LayerNorm,
 * GroupNorm), so every statistic is reduced in one fixed order. */

#define T FNN_REAL
#define CST FNN_NAME(fnn_norm_cst)
#define TABLE FNN_NAME(fnn_norm_table)
#define L FNN_NORM_LANES
#define F(name) FNN_NAME(name)

static const TABLE *F(norm_table)(void) { return FNN_PICK_TABLE(fnn_norm_table); }

/* Constants of one BatchNorm channel. Training centres x with the mean split
 * as hi + lo (exact against a large mean); inference folds everything into
 * x·scale + shift, one multiply-add per element. Backward calls this with
 * the same saved statistics, so its ReLU mask equals the forward's. */
static void F(bn_consts)(double mean, double invstd, const T *gamma, const T *beta, size_t ch,
                         int folded, T *mh, T *ml, T *sc, T *sh)
{
    const double g = gamma ? (double)gamma[ch] : 1.0, b = beta ? (double)beta[ch] : 0.0;
    const double k = g * invstd;
    if (folded) {
        *mh = (T)0;
        *ml = (T)0;
        *sc = (T)k;
        *sh = (T)(b - mean * k);
    } else {
        const T hi = (T)mean;
        *mh = hi;
        *ml = (T)(mean - (double)hi);
        *sc = (T)k;
        *sh = (T)b;
    }
}

/* Statistics of channels [c0, c1) of an (n, c, s) array in one streaming pass:
 * the thread walks its channels' contiguous run of every sample in memory
 * order (what the hardware prefetcher wants), takes each plane's mean and
 * squared deviations with two passes while the plane is in L1/L2, and
 * merges the planes of a channel in sample order with Chan et al.'s update
 *     δ = mean_b − mean_a,  mean += δ·n_b/n,  M2 += M2_b + δ²·n_a·n_b/n,
 * which stays exact however large the mean is against the spread. */
static void F(planes_stats)(const TABLE *t, const T *x, size_t n, size_t c, size_t s, size_t c0,
                            size_t c1, double *mean, double *m2)
{
    const double sd = (double)s;
    for (size_t i = 0; i < n; ++i) {
        const double na = (double)i * sd, nt = na + sd;
        for (size_t ch = c0; ch < c1; ++ch) {
            const T *p = x + (i * c + ch) * s;
            double acc[L];
            memset(acc, 0, sizeof(acc));
            t->sum(p, s, acc);
            const double pm = norm_lanes_total(acc) / sd;
            memset(acc, 0, sizeof(acc));
            t->sqdev(p, s, pm, acc);
            const double pm2 = norm_lanes_total(acc);
            if (i == 0) {
                mean[ch] = pm;
                m2[ch] = pm2;
            } else {
                const double delta = pm - mean[ch];
                mean[ch] += delta * (sd / nt);
                m2[ch] += pm2 + delta * delta * (na * sd / nt);
            }
        }
    }
}


/* Channels of the s = 1 layout per chunk (fnn_parallel_ranges' align): a
 * thread streams a run of NORM_COL_ALIGN values of every row, long enough
 * for the hardware prefetcher, which stops at page boundaries (a 1024-channel
 * float32 row is a page). Narrower chunks (16 channels, one cache line of a
 * row) made every row a prefetch miss. Each column's statistics are computed
 * alone, so the chunking changes no result. */
#ifndef NORM_COL_ALIGN
#define NORM_COL_ALIGN 256
#endif

/* The same for channels [c0, c1) of an (n, c) array, in one pass over x
 * (col_stats in norm_spans_t.h: blocks of FNN_NORM_ROW_BLOCK rows shifted by
 * their first row, merged in row order). s1 and s2 are scratch; all arrays
 * are indexed by channel. */
static void F(cols_stats)(const TABLE *t, const T *x, size_t n, size_t c, size_t c0, size_t c1,
                          double *mean, double *m2, double *s1, double *s2)
{
    t->col_stats(x + c0, n, c1 - c0, c, mean + c0, m2 + c0, s1 + c0, s2 + c0);
}

/* ------------------------------------------------------ BatchNorm training */

typedef struct {
    const TABLE *t;
    const T *x;
    size_t n, c, s;
    const T *gamma, *beta;
    T *rm, *rv;
    double momentum, eps;
    int relu;
    T *y;
    double *mean, *invstd;
    double *dscr; /* 2·c scratch of the s = 1 layout */
    T *tscr;      /* 4·c */
} F(bn_train_ctx);

/* Saves one channel's statistics and updates its running statistics. */
static double F(bn_finish)(const F(bn_train_ctx) * r, size_t ch, double mean, double m2)
{
    const double count = (double)r->n * (double)r->s;
    const double invstd = 1.0 / sqrt(m2 / count + r->eps);
    r->mean[ch] = mean;
    r->invstd[ch] = invstd;
    if (r->rm) {
        const double m = r->momentum;
        r->rm[ch] = (T)((1.0 - m) * (double)r->rm[ch] + m * mean);
        r->rv[ch] = (T)((1.0 - m) * (double)r->rv[ch] + m * (m2 / (count - 1.0)));
    }
    return invstd;
}

static void F(bn_train_planes)(const void *vctx, size_t c0, size_t c1)
{
    const F(bn_train_ctx) *r = (const F(bn_train_ctx) *)vctx;
    const TABLE *t = r->t;
    const size_t n = r->n, c = r->c, s = r->s;
    /* save_invstd holds M2 until each channel is finished */
    F(planes_stats)(t, r->x, n, c, s, c0, c1, r->mean, r->invstd);
    for (size_t ch = c0; ch < c1; ++ch) F(bn_finish)(r, ch, r->mean[ch], r->invstd[ch]);
    for (size_t i = 0; i < n; ++i) {
        for (size_t ch = c0; ch < c1; ++ch) {
            T mh, ml, sc, sh;
            F(bn_consts)(r->mean[ch], r->invstd[ch], r->gamma, r->beta, ch, 0, &mh, &ml, &sc,
                         &sh);
            CST cst = {&mh, &ml, &sc, &sh, NULL, NULL, NULL, NULL};
            const size_t off = (i * c + ch) * s;
            t->apply(r->x + off, r->y + off, s, &cst, r->relu ? FNN_NM_RELU : 0u);
        }
    }
}

/* The s = 1 layout, phase 1: statistics, running statistics and constants of
 * channels [c0, c1). Phase 2 (affine_run, below) normalizes by whole rows:
 * applying each column chunk right after its statistics (x's chunk is 512 KiB
 * for 512 rows of 256 float32 channels, more than stays in L2 beside y)
 * streamed 1 KiB runs of every 4 KiB row, and measured twice as slow as the
 * row pass on the development machine. */
static void F(bn_train_cols)(const void *vctx, size_t c0, size_t c1)
{
    const F(bn_train_ctx) *r = (const F(bn_train_ctx) *)vctx;
    const TABLE *t = r->t;
    const size_t n = r->n, c = r->c;
    T *mh = r->tscr, *ml = mh + c, *sc = ml + c, *sh = sc + c;
    /* save_invstd holds M2 until each channel is finished */
    F(cols_stats)(t, r->x, n, c, c0, c1, r->mean, r->invstd, r->dscr, r->dscr + c);
    for (size_t ch = c0; ch < c1; ++ch) {
        const double invstd = F(bn_finish)(r, ch, r->mean[ch], r->invstd[ch]);
        F(bn_consts)(r->mean[ch], invstd, r->gamma, r->beta, ch, 0, &mh[ch], &ml[ch], &sc[ch],
                     &sh[ch]);
    }
}

static void F(affine_run)(const T *x, T *y, size_t n, size_t c, size_t s, const T *mh,
                          const T *ml, const T *sc, const T *sh, int relu, int n_threads,
                          int flags);

int F(fnn_batch_norm_train)(const T *x, size_t n, size_t c, size_t s, const T *gamma,
                            const T *beta, T *running_mean, T *running_var, double momentum,
                            double eps, int relu, T *y, double *save_mean, double *save_invstd,
                            int n_threads, int flags)
{
    if (n == 0 || c == 0 || s == 0) return 0;
    void *scratch = NULL;
    if (s == 1) {
        scratch = malloc(2 * c * sizeof(double) + 4 * c * sizeof(T));
        if (scratch == NULL) return FNN_NORM_ENOMEM;
    }
    F(bn_train_ctx) run = {F(norm_table)(), x, n, c, s, gamma, beta,
                           running_var ? running_mean : NULL, running_mean ? running_var : NULL,
                           momentum, eps, relu, y, save_mean, save_invstd, (double *)scratch,
                           scratch ? (T *)((double *)scratch + 2 * c) : NULL};
    if (s == 1) {
        fnn_parallel_ranges(c, norm_grain(n), NORM_COL_ALIGN, n_threads, flags,
                            F(bn_train_cols), &run);
        const T *mh = run.tscr, *ml = mh + c, *sc = ml + c, *sh = sc + c;
        F(affine_run)(x, y, n, c, 1, mh, ml, sc, sh, relu, n_threads, flags);
    } else
        fnn_parallel_ranges(c, norm_grain(n * s), 1, n_threads, flags, F(bn_train_planes), &run);
    free(scratch);
    return 0;
}

/* ------------------------------------------- per-channel affine (inference) */

typedef struct {
    const TABLE *t;
    const T *x;
    T *y;
    size_t n, c, s;
    const T *mh, *ml, *sc, *sh; /* mh, ml NULL: folded x·sc + sh */
    unsigned mode;
} F(affine_ctx);

static void F(affine_rows)(const void *vctx, size_t r0, size_t r1)
{
    const F(affine_ctx) *r = (const F(affine_ctx) *)vctx;
    CST cst = {r->mh, r->ml, r->sc, r->sh, NULL, NULL, NULL, NULL};
    for (size_t i = r0; i < r1; ++i)
        r->t->apply(r->x + i * r->c, r->y + i * r->c, r->c, &cst, r->mode | FNN_NM_COLS);
}

static void F(affine_planes)(const void *vctx, size_t p0, size_t p1)
{
    const F(affine_ctx) *r = (const F(affine_ctx) *)vctx;
    for (size_t p = p0; p < p1; ++p) {
        const size_t ch = p % r->c;
        CST cst = {r->mh ? r->mh + ch : NULL, r->ml ? r->ml + ch : NULL, r->sc + ch, r->sh + ch,
                   NULL, NULL, NULL, NULL};
        r->t->apply(r->x + p * r->s, r->y + p * r->s, r->s, &cst, r->mode);
    }
}

/* y = ((x − mh[ch]) − ml[ch])·sc[ch] + sh[ch] over (n, c, s), or x·sc[ch] + sh[ch]
 * when mh is NULL, split over rows or planes. */
static void F(affine_run)(const T *x, T *y, size_t n, size_t c, size_t s, const T *mh,
                          const T *ml, const T *sc, const T *sh, int relu, int n_threads,
                          int flags)
{
    F(affine_ctx) run = {F(norm_table)(), x, y, n, c, s, mh, ml, sc, sh,
                         (mh ? 0u : FNN_NM_FOLDED) | (relu ? FNN_NM_RELU : 0u)};
    if (s == 1)
        fnn_parallel_ranges(n, norm_grain(c), 1, n_threads, flags, F(affine_rows), &run);
    else
        fnn_parallel_ranges(n * c, norm_grain(s), 1, n_threads, flags, F(affine_planes), &run);
}

int F(fnn_batch_norm_infer)(const T *x, size_t n, size_t c, size_t s, const T *gamma,
                            const T *beta, const T *running_mean, const T *running_var,
                            double eps, int relu, T *y, double *save_mean, double *save_invstd,
                            int n_threads, int flags)
{
    if (c == 0) return 0;
    T *buf = (T *)malloc(2 * c * sizeof(T));
    if (buf == NULL) return FNN_NORM_ENOMEM;
    T *sc = buf, *sh = buf + c;
    for (size_t ch = 0; ch < c; ++ch) {
        const double mean = (double)running_mean[ch];
        const double invstd = 1.0 / sqrt((double)running_var[ch] + eps);
        save_mean[ch] = mean;
        save_invstd[ch] = invstd;
        T mh, ml;
        F(bn_consts)(mean, invstd, gamma, beta, ch, 1, &mh, &ml, &sc[ch], &sh[ch]);
    }
    if (n != 0 && s != 0) F(affine_run)(x, y, n, c, s, NULL, NULL, sc, sh, relu, n_threads, flags);
    free(buf);
    return 0;
}

int F(fnn_channel_affine)(const T *x, T *y, size_t n, size_t c, size_t s, const double *center,
                          const double *scale, const double *shift, int relu, int n_threads,
                          int flags)
{
    if (c == 0 || n == 0 || s == 0) return 0;
    T *buf = (T *)malloc(4 * c * sizeof(T));
    if (buf == NULL) return FNN_NORM_ENOMEM;
    T *mh = buf, *ml = buf + c, *sc = buf + 2 * c, *sh = buf + 3 * c;
    for (size_t ch = 0; ch < c; ++ch) {
        const double m = center ? center[ch] : 0.0;
        mh[ch] = (T)m;
        ml[ch] = (T)(m - (double)mh[ch]);
        sc[ch] = (T)scale[ch];
        sh[ch] = (T)shift[ch];
    }
    F(affine_run)(x, y, n, c, s, center ? mh : NULL, center ? ml : NULL, sc, sh, relu,
                  n_threads, flags);
    free(buf);
    return 0;
}

/* --------------------------------------------------- per-channel statistics */

typedef struct {
    const TABLE *t;
    const T *x;
    size_t n, c, s;
    double *mean, *m2;
    double *scratch;
} F(stats_ctx);

static void F(stats_range)(const void *vctx, size_t c0, size_t c1)
{
    const F(stats_ctx) *r = (const F(stats_ctx) *)vctx;
    if (r->s == 1)
        F(cols_stats)(r->t, r->x, r->n, r->c, c0, c1, r->mean, r->m2, r->scratch,
                      r->scratch + r->c);
    else
        F(planes_stats)(r->t, r->x, r->n, r->c, r->s, c0, c1, r->mean, r->m2);
}

int F(fnn_channel_stats)(const T *x, size_t n, size_t c, size_t s, double *mean, double *m2,
                         int n_threads, int flags)
{
    if (n == 0 || c == 0 || s == 0) return 0;
    double *scratch = NULL;
    if (s == 1) {
        scratch = (double *)malloc(2 * c * sizeof(double));
        if (scratch == NULL) return FNN_NORM_ENOMEM;
    }
    F(stats_ctx) run = {F(norm_table)(), x, n, c, s, mean, m2, scratch};
    fnn_parallel_ranges(c, norm_grain(n * s), s == 1 ? NORM_COL_ALIGN : 1, n_threads, flags,
                        F(stats_range), &run);
    free(scratch);
    return 0;
}

/* ------------------------------------------------------ BatchNorm backward */

typedef struct {
    const TABLE *t;
    const T *dy, *x;
    size_t n, c, s;
    const T *gamma, *beta;
    const double *mean, *invstd;
    int training, relu;
    T *dx, *dgamma, *dbeta;
    double *scratch; /* 2·c: per-channel sums */
    T *tscr;         /* 8·c: per-channel constants of the s = 1 layout */
} F(bn_bwd_ctx);

/* dx constants of one channel from its sums Σdy', Σdy'·(x − mean). */
static void F(bn_dx_consts)(const F(bn_bwd_ctx) * r, size_t ch, double sdy, double sdyx, T *k1,
                            T *k2, T *c0)
{
    const double g = r->gamma ? (double)r->gamma[ch] : 1.0, is = r->invstd[ch];
    const double count = (double)r->n * (double)r->s;
    *k1 = (T)(g * is);
    if (r->training) {
        *k2 = (T)(g * is * is * is * (sdyx / count));
        *c0 = (T)(sdy / count);
    } else {
        *k2 = (T)0;
        *c0 = (T)0;
    }
}

/* Streams the thread's channels sample by sample, as planes_stats does:
 * pass 1 adds each plane's Σdy', Σdy'·(x − mean) to its channel in sample
 * order, pass 2 writes dx. */
static void F(bn_bwd_planes)(const void *vctx, size_t c0, size_t c1)
{
    const F(bn_bwd_ctx) *r = (const F(bn_bwd_ctx) *)vctx;
    const TABLE *t = r->t;
    const size_t n = r->n, c = r->c, s = r->s;
    const unsigned mode = (r->relu ? FNN_NM_RELU : 0u) | (r->training ? 0u : FNN_NM_FOLDED);
    const int need_sums = r->training || r->dgamma || r->dbeta;
    double *sdy = r->scratch, *sdyx = r->scratch + c;
    const T one = (T)1;
    for (size_t ch = c0; ch < c1; ++ch) sdy[ch] = sdyx[ch] = 0.0;
    if (need_sums) {
        for (size_t i = 0; i < n; ++i) {
            for (size_t ch = c0; ch < c1; ++ch) {
                T mh, ml, sc, sh;
                F(bn_consts)(r->mean[ch], r->invstd[ch], r->gamma, r->beta, ch, !r->training, &mh,
                             &ml, &sc, &sh);
                CST cst = {&mh, &ml, &sc, &sh, NULL, NULL, NULL, NULL};
                double a[L], b[L];
                memset(a, 0, sizeof(a));
                memset(b, 0, sizeof(b));
                const size_t off = (i * c + ch) * s;
                t->bwd_sums(r->dy + off, r->x + off, s, r->mean[ch], &cst, a, b, mode);
                sdy[ch] += norm_lanes_total(a);
                sdyx[ch] += norm_lanes_total(b);
            }
        }
        for (size_t ch = c0; ch < c1; ++ch) {
            if (r->dgamma) r->dgamma[ch] = (T)(sdyx[ch] * r->invstd[ch]);
            if (r->dbeta) r->dbeta[ch] = (T)sdy[ch];
        }
    }
    const unsigned dmode = mode | (r->training ? 0u : FNN_NM_INFER);
    for (size_t i = 0; i < n; ++i) {
        for (size_t ch = c0; ch < c1; ++ch) {
            T mh, ml, sc, sh, k1, k2, cc;
            F(bn_consts)(r->mean[ch], r->invstd[ch], r->gamma, r->beta, ch, !r->training, &mh,
                         &ml, &sc, &sh);
            F(bn_dx_consts)(r, ch, sdy[ch], sdyx[ch], &k1, &k2, &cc);
            if (!r->training) {
                /* x − mean is not used in inference */
                mh = (T)0;
                ml = (T)0;
            }
            CST cst = {&mh, &ml, &sc, &sh, &one, &k1, &k2, &cc};
            const size_t off = (i * c + ch) * s;
            t->dx(r->dy + off, r->x + off, r->dx + off, s, &cst, dmode);
        }
    }
}

/* The s = 1 layout: both passes stream the thread's part of each row. */
static void F(bn_bwd_cols)(const void *vctx, size_t c0, size_t c1)
{
    const F(bn_bwd_ctx) *r = (const F(bn_bwd_ctx) *)vctx;
    const TABLE *t = r->t;
    const size_t n = r->n, c = r->c, w = c1 - c0;
    const unsigned mode = (r->relu ? FNN_NM_RELU : 0u) | (r->training ? 0u : FNN_NM_FOLDED);
    const int need_sums = r->training || r->dgamma || r->dbeta;
    double *a = r->scratch, *b = r->scratch + c;
    T *mh = r->tscr, *ml = mh + c, *sc = ml + c, *sh = sc + c, *k0 = sh + c, *k1 = k0 + c,
      *k2 = k1 + c, *cc = k2 + c;
    for (size_t ch = c0; ch < c1; ++ch) {
        k0[ch] = (T)1;
        a[ch] = b[ch] = 0.0;
        F(bn_consts)(r->mean[ch], r->invstd[ch], r->gamma, r->beta, ch, !r->training, &mh[ch],
                     &ml[ch], &sc[ch], &sh[ch]);
    }
    CST cst = {mh + c0, ml + c0, sc + c0, sh + c0, k0 + c0, k1 + c0, k2 + c0, cc + c0};
    if (need_sums) {
        for (size_t i = 0; i < n; ++i)
            t->col_bwd_sums(r->dy + i * c + c0, r->x + i * c + c0, w, r->mean + c0, &cst, a + c0,
                            b + c0, mode);
        for (size_t ch = c0; ch < c1; ++ch) {
            if (r->dgamma) r->dgamma[ch] = (T)(b[ch] * r->invstd[ch]);
            if (r->dbeta) r->dbeta[ch] = (T)a[ch];
        }
    }
    for (size_t ch = c0; ch < c1; ++ch) F(bn_dx_consts)(r, ch, a[ch], b[ch], &k1[ch], &k2[ch], &cc[ch]);
    const unsigned dmode = mode | FNN_NM_COLS | (r->training ? 0u : FNN_NM_INFER);
    for (size_t i = 0; i < n; ++i)
        t->dx(r->dy + i * c + c0, r->x + i * c + c0, r->dx + i * c + c0, w, &cst, dmode);
}

int F(fnn_batch_norm_backward)(const T *dy, const T *x, size_t n, size_t c, size_t s,
                               const T *gamma, const T *beta, const double *save_mean,
                               const double *save_invstd, int training, int relu, T *dx,
                               T *dgamma, T *dbeta, int n_threads, int flags)
{
    if (n == 0 || c == 0 || s == 0) return 0;
    double *scratch = (double *)malloc(2 * c * sizeof(double) + (s == 1 ? 8 * c * sizeof(T) : 0));
    if (scratch == NULL) return FNN_NORM_ENOMEM;
    F(bn_bwd_ctx) run = {F(norm_table)(), dy, x, n, c, s, gamma, beta, save_mean, save_invstd,
                         training, relu, dx, dgamma, dbeta, scratch,
                         s == 1 ? (T *)(scratch + 2 * c) : NULL};
    if (s == 1)
        fnn_parallel_ranges(c, norm_grain(2 * n), NORM_COL_ALIGN, n_threads, flags,
                            F(bn_bwd_cols), &run);
    else
        fnn_parallel_ranges(c, norm_grain(2 * n * s), 1, n_threads, flags, F(bn_bwd_planes), &run);
    free(scratch);
    return 0;
}

/* --------------------------------------------------------------- LayerNorm */

/* Statistics of one contiguous row of len > 0 elements, shared by LayerNorm
 * (a row) and GroupNorm (a sample's group): the mean from FNN_NORM_LANES
 * lanes added in lane order, then the squared deviations from it the same
 * way (two passes over a row that sits in L1/L2), and 1 / sqrt(var + eps). */
static void F(row_stats)(const TABLE *t, const T *x, size_t len, double eps, double *mean,
                         double *rstd)
{
    double acc[L];
    memset(acc, 0, sizeof(acc));
    t->sum(x, len, acc);
    const double m = norm_lanes_total(acc) / (double)len;
    memset(acc, 0, sizeof(acc));
    t->sqdev(x, len, m, acc);
    *mean = m;
    *rstd = 1.0 / sqrt(norm_lanes_total(acc) / (double)len + eps);
}

typedef struct {
    const TABLE *t;
    const T *x;
    size_t m, d;
    const T *gamma, *beta;
    double eps;
    T *y;
    double *mean, *rstd;
    int streaming;
} F(ln_fwd_ctx);

static void F(ln_fwd_rows)(const void *vctx, size_t r0, size_t r1)
{
    const F(ln_fwd_ctx) *r = (const F(ln_fwd_ctx) *)vctx;
    const TABLE *t = r->t;
    const size_t d = r->d;
    const unsigned mode = (r->gamma ? FNN_LN_WEIGHT : 0u) | (r->beta ? FNN_LN_BIAS : 0u);
    for (size_t row = r0; row < r1; ++row) {
        const T *x = r->x + row * d;
        double mean, rstd;
        F(row_stats)(t, x, d, r->eps, &mean, &rstd);
        r->mean[row] = mean;
        r->rstd[row] = rstd;
        if (row + 1 < r1) norm_prefetch(x + d, d * sizeof(T));
        const T mh = (T)mean;
        t->ln_apply(x, r->y + row * d, d, mh, (T)(mean - (double)mh), (T)rstd, r->gamma, r->beta,
                    mode, r->streaming);
    }
    if (r->streaming) fnn_stream_fence();
}

int F(fnn_layer_norm)(const T *x, size_t m, size_t d, const T *gamma, const T *beta, double eps,
                      T *y, double *mean, double *rstd, int n_threads, int flags)
{
    if (m == 0 || d == 0) return 0;
    /* backward writes dx with normal stores: streaming them measured slower
     * (its stores mix with twice as many loads) */
    const size_t bytes = m * d * sizeof(T);
    F(ln_fwd_ctx) run = {F(norm_table)(), x, m, d, gamma, beta, eps, y, mean, rstd,
                         norm_streams(bytes, bytes)};
    fnn_parallel_ranges(m, norm_grain(d), 1, n_threads, flags, F(ln_fwd_rows), &run);
    return 0;
}

typedef struct {
    const TABLE *t;
    const T *dy, *x;
    size_t m, d, n_blocks;
    const T *gamma;
    const double *gamma_d; /* gamma in double, or NULL */
    const double *mean, *rstd;
    T *dx;
    double *part; /* n_blocks × 2 × d, or NULL */
    T *dgamma, *dbeta;
} F(ln_bwd_ctx);

/* Each row: one pass over dy and x for its two sums and its terms of the
 * block's dgamma / dbeta partial sums (added in row order), then dx from
 * the row while it is in L1. */
static void F(ln_bwd_blocks)(const void *vctx, size_t b0, size_t b1)
{
    const F(ln_bwd_ctx) *r = (const F(ln_bwd_ctx) *)vctx;
    const TABLE *t = r->t;
    const size_t d = r->d, m = r->m, nb = r->n_blocks;
    const unsigned mode = (r->gamma ? FNN_LN_WEIGHT : 0u) | (r->part ? FNN_LN_PARTIAL : 0u);
    for (size_t blk = b0; blk < b1; ++blk) {
        double *pg = r->part ? r->part + 2 * blk * d : NULL;
        double *pb = pg ? pg + d : NULL;
        if (pg) memset(pg, 0, 2 * d * sizeof(double));
        const size_t row0 = m * blk / nb, row1 = m * (blk + 1) / nb;
        for (size_t row = row0; row < row1; ++row) {
            const T *x = r->x + row * d, *dy = r->dy + row * d;
            const double mean = r->mean[row], rstd = r->rstd[row];
            double a[L], b[L];
            memset(a, 0, sizeof(a));
            memset(b, 0, sizeof(b));
            t->ln_bwd_sums(dy, x, d, mean, rstd, r->gamma_d, a, b, pg, pb, mode);
            const double sa = norm_lanes_total(a), sb = norm_lanes_total(b);
            const T mh = (T)mean;
            t->ln_dx(dy, x, r->dx + row * d, d, mh, (T)(mean - (double)mh), (T)rstd,
                     (T)(rstd * rstd * rstd * (sb / (double)d)), (T)(sa / (double)d), r->gamma,
                     mode);
        }
    }
}

static void F(ln_combine)(const void *vctx, size_t j0, size_t j1)
{
    const F(ln_bwd_ctx) *r = (const F(ln_bwd_ctx) *)vctx;
    const size_t d = r->d;
    for (size_t j = j0; j < j1; ++j) {
        double g = 0.0, b = 0.0;
        for (size_t blk = 0; blk < r->n_blocks; ++blk) {
            g += r->part[2 * blk * d + j];
            b += r->part[2 * blk * d + d + j];
        }
        if (r->dgamma) r->dgamma[j] = (T)g;
        if (r->dbeta) r->dbeta[j] = (T)b;
    }
}

int F(fnn_layer_norm_backward)(const T *dy, const T *x, size_t m, size_t d, const T *gamma,
                               const double *mean, const double *rstd, T *dx, T *dgamma,
                               T *dbeta, int n_threads, int flags)
{
    if (d == 0) return 0;
    if (m == 0) {
        for (size_t j = 0; j < d; ++j) {
            if (dgamma) dgamma[j] = (T)0;
            if (dbeta) dbeta[j] = (T)0;
        }
        return 0;
    }
    const size_t nb = m < NORM_ROW_BLOCKS ? m : NORM_ROW_BLOCKS;
    const size_t n_part = (dgamma || dbeta) ? 2 * nb * d : 0, n_gd = gamma ? d : 0;
    double *work = NULL;
    if (n_part + n_gd) {
        work = (double *)malloc((n_part + n_gd) * sizeof(double));
        if (work == NULL) return FNN_NORM_ENOMEM;
    }
    double *part = n_part ? work : NULL, *gamma_d = n_gd ? work + n_part : NULL;
    for (size_t j = 0; j < n_gd; ++j) gamma_d[j] = (double)gamma[j];
    F(ln_bwd_ctx) run = {F(norm_table)(), dy, x, m, d, nb, gamma, gamma_d, mean, rstd, dx, part,
                         dgamma, dbeta};
    const size_t rows_per_block = (m + nb - 1) / nb;
    fnn_parallel_ranges(nb, norm_grain(2 * d * rows_per_block), 1, n_threads, flags,
                        F(ln_bwd_blocks), &run);
    if (part) fnn_parallel_ranges(d, norm_grain(2 * nb), 16, n_threads, flags, F(ln_combine), &run);
    free(work);
    return 0;
}

/* --------------------------------------------------------------- GroupNorm */

typedef struct {
    const TABLE *t;
    const T *dy, *x;
    size_t n, c, s, groups;
    const T *gamma, *beta;
    double eps;
    T *y;
    double *mean, *rstd;
    const double *cmean, *crstd;
    double *part; /* (n, c, 2): Σdy, Σdy·(x − mean) per sample and channel */
    T *dgamma, *dbeta;
} F(gn_ctx);

/* Rows are (sample, group) pairs: contiguous runs of c/groups·s elements. */
static void F(gn_fwd_rows)(const void *vctx, size_t r0, size_t r1)
{
    const F(gn_ctx) *r = (const F(gn_ctx) *)vctx;
    const TABLE *t = r->t;
    const size_t cpg = r->c / r->groups, s = r->s, len = cpg * s;
    for (size_t row = r0; row < r1; ++row) {
        const T *x = r->x + row * len;
        double mean, rstd;
        F(row_stats)(t, x, len, r->eps, &mean, &rstd);
        r->mean[row] = mean;
        r->rstd[row] = rstd;
        const size_t ch0 = (row % r->groups) * cpg;
        for (size_t k = 0; k < cpg; ++k) {
            T mh, ml, sc, sh;
            F(bn_consts)(mean, rstd, r->gamma, r->beta, ch0 + k, 0, &mh, &ml, &sc, &sh);
            CST cst = {&mh, &ml, &sc, &sh, NULL, NULL, NULL, NULL};
            t->apply(x + k * s, r->y + row * len + k * s, s, &cst, 0u);
        }
    }
}

int F(fnn_group_norm)(const T *x, size_t n, size_t c, size_t s, size_t groups, const T *gamma,
                      const T *beta, double eps, T *y, double *mean, double *rstd, int n_threads,
                      int flags)
{
    if (n == 0 || c == 0 || s == 0 || groups == 0) return 0;
    F(gn_ctx) run = {F(norm_table)(), NULL, x, n, c, s, groups, gamma, beta, eps, y, mean, rstd,
                     NULL, NULL, NULL, NULL, NULL};
    fnn_parallel_ranges(n * groups, norm_grain(c / groups * s), 1, n_threads, flags,
                        F(gn_fwd_rows), &run);
    return 0;
}

static void F(gn_bwd_rows)(const void *vctx, size_t r0, size_t r1)
{
    const F(gn_ctx) *r = (const F(gn_ctx) *)vctx;
    const TABLE *t = r->t;
    const size_t cpg = r->c / r->groups, s = r->s, len = cpg * s;
    for (size_t row = r0; row < r1; ++row) {
        const size_t off = row * len, ch0 = (row % r->groups) * cpg;
        const double mean = r->cmean[row], rstd = r->crstd[row];
        double sa = 0.0, sb = 0.0;
        for (size_t k = 0; k < cpg; ++k) {
            double a[L], b[L];
            memset(a, 0, sizeof(a));
            memset(b, 0, sizeof(b));
            t->bwd_sums(r->dy + off + k * s, r->x + off + k * s, s, mean, NULL, a, b, 0u);
            const double sdy = norm_lanes_total(a), sdyx = norm_lanes_total(b);
            const double g = r->gamma ? (double)r->gamma[ch0 + k] : 1.0;
            sa += g * sdy;
            sb += g * sdyx;
            if (r->part) {
                double *p = r->part + 2 * (row * cpg + k); /* row·cpg + k = sample·c + channel */
                p[0] = sdy;
                p[1] = sdyx;
            }
        }
        const T mh = (T)mean, ml = (T)(mean - (double)mh);
        const T k2 = (T)(rstd * rstd * rstd * (sb / (double)len));
        const T c0 = (T)(sa / (double)len), k1 = (T)rstd;
        for (size_t k = 0; k < cpg; ++k) {
            const T k0 = r->gamma ? r->gamma[ch0 + k] : (T)1;
            CST cst = {&mh, &ml, NULL, NULL, &k0, &k1, &k2, &c0};
            t->dx(r->dy + off + k * s, r->x + off + k * s, r->y + off + k * s, s, &cst, 0u);
        }
    }
}

static void F(gn_combine)(const void *vctx, size_t c0, size_t c1)
{
    const F(gn_ctx) *r = (const F(gn_ctx) *)vctx;
    const size_t c = r->c, cpg = c / r->groups;
    for (size_t ch = c0; ch < c1; ++ch) {
        double g = 0.0, b = 0.0;
        for (size_t i = 0; i < r->n; ++i) {
            const double *p = r->part + 2 * (i * c + ch);
            g += p[1] * r->crstd[i * r->groups + ch / cpg];
            b += p[0];
        }
        if (r->dgamma) r->dgamma[ch] = (T)g;
        if (r->dbeta) r->dbeta[ch] = (T)b;
    }
}

int F(fnn_group_norm_backward)(const T *dy, const T *x, size_t n, size_t c, size_t s,
                               size_t groups, const T *gamma, const double *mean,
                               const double *rstd, T *dx, T *dgamma, T *dbeta, int n_threads,
                               int flags)
{
    if (c == 0 || groups == 0) return 0;
    if (n == 0 || s == 0) {
        for (size_t ch = 0; ch < c; ++ch) {
            if (dgamma) dgamma[ch] = (T)0;
            if (dbeta) dbeta[ch] = (T)0;
        }
        return 0;
    }
    double *part = NULL;
    if (dgamma || dbeta) {
        part = (double *)malloc(2 * n * c * sizeof(double));
        if (part == NULL) return FNN_NORM_ENOMEM;
    }
    /* y carries dx: the rows loop writes its output through it */
    F(gn_ctx) run = {F(norm_table)(), dy, x, n, c, s, groups, gamma, NULL, 0.0, dx, NULL, NULL,
                     mean, rstd, part, dgamma, dbeta};
    fnn_parallel_ranges(n * groups, norm_grain(2 * (c / groups) * s), 1, n_threads, flags,
                        F(gn_bwd_rows), &run);
    if (part) {
        fnn_parallel_ranges(c, norm_grain(2 * n), 1, n_threads, flags, F(gn_combine), &run);
        free(part);
    }
    return 0;
}

#undef T
#undef CST
#undef TABLE
#undef L
#undef F
