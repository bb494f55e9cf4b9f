/* Template (see core/instantiate_dtypes.h): the activation drivers. They
 * derive per-dtype coefficients, pick the loops for the running CPU and
 * split the work with the thread splitter. Three ways to split:
 *   flat      no per-channel data: ranges of elements;
 *   rows      n_inner == 1 with a bias or per-channel slopes: ranges of
 *             rows, each row one span with the channel vectors;
 *   segments  n_inner > 1 with per-channel slopes: ranges of (outer,
 *             channel) segments, each one span with a scalar slope.
 * Reductions (bias and slope gradients) are computed over fixed blocks of
 * rows or segments and combined in block order, so they never depend on
 * the thread count. */

#define T FNN_REAL
#define COEF FNN_NAME(fnn_act_coef)
#define TABLE FNN_NAME(fnn_dense_table)

static const TABLE *FNN_NAME(dense_table)(void) { return FNN_PICK_TABLE(fnn_dense_table); }

/* params NULL: torch.nn's defaults (see fnn_act_params) */
static void FNN_NAME(act_coefficients)(const fnn_act_params *p, COEF *c)
{
    static const fnn_act_params defaults = {0.01, 1.0, 1.0, 20.0};
    if (p == NULL) p = &defaults;
    c->negative_slope = (T)p->negative_slope;
    c->alpha = (T)p->alpha;
    c->beta = (T)p->beta;
    c->inv_beta = (T)(1.0 / p->beta);
    c->threshold = (T)p->threshold;
}

/* The streaming-store copy when an elementwise output of n values is large
 * enough not to stay in cache, else NULL (see FNN_STREAM_MIN_BYTES). */
static FNN_NAME(fnn_stream_span) FNN_NAME(stream_for)(const TABLE *t, size_t n)
{
    return fnn_streams(n * sizeof(T)) ? t->stream : NULL;
}

/* ---- forward ---- */

typedef struct {
    FNN_NAME(fnn_act_fwd_span) span;
    FNN_NAME(fnn_stream_span) stream; /* NULL: y written in place by span */
    const COEF *c;
    unsigned mode;
    const T *x, *bias, *slope;
    T *pre, *y;
    size_t n_channels, n_inner;
} FNN_NAME(fwd_run);

static void FNN_NAME(fwd_flat)(const void *vctx, size_t b, size_t e)
{
    const FNN_NAME(fwd_run) *r = (const FNN_NAME(fwd_run) *)vctx;
    const T s0 = r->slope ? r->slope[0] : (T)0;
    if (r->stream == NULL) {
        r->span(r->c, r->mode, e - b, r->x + b, NULL, NULL, s0, r->pre ? r->pre + b : NULL,
                r->y + b);
        return;
    }
    /* chunks computed into an L1 buffer, then streamed to y */
    _Alignas(64) T buf[FNN_DENSE_STREAM_CHUNK];
    for (size_t i = b; i < e; i += FNN_DENSE_STREAM_CHUNK) {
        size_t m = e - i < FNN_DENSE_STREAM_CHUNK ? e - i : FNN_DENSE_STREAM_CHUNK;
        r->span(r->c, r->mode, m, r->x + i, NULL, NULL, s0, r->pre ? r->pre + i : NULL, buf);
        r->stream(m, buf, r->y + i);
    }
    fnn_stream_fence();
}

static void FNN_NAME(fwd_rows)(const void *vctx, size_t b, size_t e)
{
    const FNN_NAME(fwd_run) *r = (const FNN_NAME(fwd_run) *)vctx;
    const size_t n = r->n_channels;
    const T s0 = (r->slope && !(r->mode & FNN_DMODE_SLOPEV)) ? r->slope[0] : (T)0;
    for (size_t row = b; row < e; ++row)
        r->span(r->c, r->mode, n, r->x + row * n, r->bias, r->slope, s0,
                r->pre ? r->pre + row * n : NULL, r->y + row * n);
}

static void FNN_NAME(fwd_segments)(const void *vctx, size_t b, size_t e)
{
    const FNN_NAME(fwd_run) *r = (const FNN_NAME(fwd_run) *)vctx;
    const size_t n = r->n_inner;
    for (size_t seg = b; seg < e; ++seg)
        r->span(r->c, r->mode, n, r->x + seg * n, NULL, NULL, r->slope[seg % r->n_channels],
                r->pre ? r->pre + seg * n : NULL, r->y + seg * n);
}

void FNN_NAME(fnn_act_forward)(int act, const fnn_act_params *params, size_t n_outer,
                               size_t n_channels, size_t n_inner, const T *x, const T *bias,
                               const T *slope, size_t n_slope, T *pre, T *y, int n_threads,
                               int flags)
{
    if (act < 0 || act >= FNN_ACT_N) return;
    const size_t total = n_outer * n_channels * n_inner;
    if (total == 0) return;
    COEF c;
    FNN_NAME(act_coefficients)(params, &c);
    const int per_channel = slope != NULL && n_slope > 1;
    const TABLE *table = FNN_NAME(dense_table)();
    FNN_NAME(fwd_run) run = {table->fwd[act], NULL, &c, 0, x, bias, slope, pre, y,
                             n_channels, n_inner};
    if (pre) run.mode |= FNN_DMODE_PRE;
    if (n_inner == 1 && (bias || per_channel)) {
        if (bias) run.mode |= FNN_DMODE_BIAS;
        if (per_channel) run.mode |= FNN_DMODE_SLOPEV;
        fnn_parallel_ranges(n_outer, fnn_div_up(FNN_GRAIN_ELEMENTWISE, n_channels), 1,
                            n_threads, flags, FNN_NAME(fwd_rows), &run);
    } else if (per_channel) {
        fnn_parallel_ranges(n_outer * n_channels, fnn_div_up(FNN_GRAIN_ELEMENTWISE, n_inner),
                            1, n_threads, flags, FNN_NAME(fwd_segments), &run);
    } else {
        run.stream = FNN_NAME(stream_for)(table, total);
        fnn_parallel_ranges(total, FNN_GRAIN_ELEMENTWISE, 16, n_threads, flags,
                            FNN_NAME(fwd_flat), &run);
    }
}

/* ---- backward ---- */

typedef struct {
    FNN_NAME(fnn_act_bwd_span) span;
    FNN_NAME(fnn_stream_span) stream; /* NULL: dx written in place by span */
    const COEF *c;
    unsigned mode;
    const T *dy, *saved, *slope;
    T *dx;
    size_t n_channels, n_inner, n_outer;
    int n_slope_is_one;
    size_t rows_per_block;
    T *part_b, *part_s;  /* rows: one n_channels vector per block */
    double *seg_sums;    /* segments: one sum per segment */
} FNN_NAME(bwd_run);

static void FNN_NAME(bwd_flat)(const void *vctx, size_t b, size_t e)
{
    const FNN_NAME(bwd_run) *r = (const FNN_NAME(bwd_run) *)vctx;
    const T s0 = r->slope ? r->slope[0] : (T)0;
    if (r->stream == NULL) {
        r->span(r->c, r->mode, e - b, r->dy + b, r->saved + b, NULL, s0, r->dx + b, NULL, NULL);
        return;
    }
    _Alignas(64) T buf[FNN_DENSE_STREAM_CHUNK];
    for (size_t i = b; i < e; i += FNN_DENSE_STREAM_CHUNK) {
        size_t m = e - i < FNN_DENSE_STREAM_CHUNK ? e - i : FNN_DENSE_STREAM_CHUNK;
        r->span(r->c, r->mode, m, r->dy + i, r->saved + i, NULL, s0, buf, NULL, NULL);
        r->stream(m, buf, r->dx + i);
    }
    fnn_stream_fence();
}

static void FNN_NAME(bwd_rows)(const void *vctx, size_t b, size_t e)
{
    const FNN_NAME(bwd_run) *r = (const FNN_NAME(bwd_run) *)vctx;
    const size_t n = r->n_channels;
    const T s0 = (r->slope && !(r->mode & FNN_DMODE_SLOPEV)) ? r->slope[0] : (T)0;
    for (size_t row = b; row < e; ++row)
        r->span(r->c, r->mode, n, r->dy + row * n, r->saved + row * n, r->slope, s0,
                r->dx + row * n, NULL, NULL);
}

/* One block of rows accumulating its own partial sums, whatever the thread */
static void FNN_NAME(bwd_row_blocks)(const void *vctx, size_t b0, size_t b1)
{
    const FNN_NAME(bwd_run) *r = (const FNN_NAME(bwd_run) *)vctx;
    const size_t n = r->n_channels;
    const T s0 = (r->slope && !(r->mode & FNN_DMODE_SLOPEV)) ? r->slope[0] : (T)0;
    for (size_t blk = b0; blk < b1; ++blk) {
        T *acc_b = r->part_b + blk * n;
        T *acc_s = r->part_s ? r->part_s + blk * n : NULL;
        memset(acc_b, 0, n * sizeof(T));
        if (acc_s) memset(acc_s, 0, n * sizeof(T));
        size_t lo = blk * r->rows_per_block;
        size_t hi = lo + r->rows_per_block < r->n_outer ? lo + r->rows_per_block : r->n_outer;
        for (size_t row = lo; row < hi; ++row)
            r->span(r->c, r->mode, n, r->dy + row * n, r->saved + row * n, r->slope, s0,
                    r->dx + row * n, acc_b, acc_s);
    }
}

static void FNN_NAME(bwd_segments)(const void *vctx, size_t b, size_t e)
{
    const FNN_NAME(bwd_run) *r = (const FNN_NAME(bwd_run) *)vctx;
    const size_t n = r->n_inner;
    for (size_t seg = b; seg < e; ++seg) {
        const T *dy = r->dy + seg * n, *v = r->saved + seg * n;
        r->span(r->c, r->mode, n, dy, v, NULL, r->slope[r->n_slope_is_one ? 0 : seg % r->n_channels],
                r->dx + seg * n, NULL, NULL);
        if (r->seg_sums) {
            /* sequential on purpose: a fixed summation order on every ISA */
            double acc = 0.0;
            for (size_t i = 0; i < n; ++i) acc += v[i] > (T)0 ? 0.0 : (double)(dy[i] * v[i]);
            r->seg_sums[seg] = acc;
        }
    }
}

int FNN_NAME(fnn_act_backward)(int act, const fnn_act_params *params, size_t n_outer,
                               size_t n_channels, size_t n_inner, const T *dy, const T *saved,
                               int saved_is_output, const T *slope, size_t n_slope, T *dx,
                               T *dbias, T *dslope, int n_threads, int flags)
{
    if (act < 0 || act >= FNN_ACT_N) return 0;
    const size_t total = n_outer * n_channels * n_inner;
    if (act != FNN_ACT_PRELU) dslope = NULL;
    if (total == 0) {
        if (dbias) memset(dbias, 0, n_channels * sizeof(T));
        if (dslope) memset(dslope, 0, n_slope * sizeof(T));
        return 0;
    }
    COEF c;
    FNN_NAME(act_coefficients)(params, &c);
    const int per_channel = slope != NULL && n_slope > 1;
    FNN_NAME(bwd_run) run;
    memset(&run, 0, sizeof(run));
    const TABLE *table = FNN_NAME(dense_table)();
    run.span = table->bwd[act];
    run.c = &c;
    run.mode = saved_is_output ? FNN_DMODE_FROM_OUTPUT : 0u;
    run.dy = dy;
    run.saved = saved;
    run.slope = slope;
    run.dx = dx;
    run.n_channels = n_channels;
    run.n_inner = n_inner;
    run.n_outer = n_outer;
    run.n_slope_is_one = n_slope <= 1;
    const size_t row_grain = fnn_div_up(FNN_GRAIN_ELEMENTWISE, n_channels * n_inner);

    if (n_inner == 1 && (dbias || dslope)) {
        if (per_channel) run.mode |= FNN_DMODE_SLOPEV;
        run.mode |= FNN_DMODE_ACC;
        /* block size depends on the shape only */
        size_t rpb = FNN_REDUCE_BLOCK / n_channels;
        rpb = rpb < 1 ? 1 : rpb;
        const size_t n_blocks = fnn_div_up(n_outer, rpb);
        const size_t n_part = n_blocks * n_channels;
        run.rows_per_block = rpb;
        /* the PReLU loop accumulates the slope sums whenever it accumulates:
         * give it their blocks even when dslope is NULL (then unused) */
        const int slope_sums = act == FNN_ACT_PRELU;
        T *scratch = (T *)malloc((slope_sums ? 2 : 1) * n_part * sizeof(T));
        double *tot = (double *)malloc(2 * n_channels * sizeof(double));
        if (scratch == NULL || tot == NULL) {
            free(scratch);
            free(tot);
            return -1;
        }
        run.part_b = scratch;
        run.part_s = slope_sums ? scratch + n_part : NULL;
        fnn_parallel_ranges(n_blocks, fnn_div_up(row_grain, rpb), 1, n_threads, flags,
                            FNN_NAME(bwd_row_blocks), &run);
        double *tb = tot, *ts = tot + n_channels;
        for (size_t j = 0; j < n_channels; ++j) tb[j] = ts[j] = 0.0;
        for (size_t blk = 0; blk < n_blocks; ++blk) {
            const T *pb = run.part_b + blk * n_channels;
            for (size_t j = 0; j < n_channels; ++j) tb[j] += (double)pb[j];
            if (dslope) {
                const T *ps = run.part_s + blk * n_channels;
                for (size_t j = 0; j < n_channels; ++j) ts[j] += (double)ps[j];
            }
        }
        if (dbias)
            for (size_t j = 0; j < n_channels; ++j) dbias[j] = (T)tb[j];
        if (dslope) {
            if (per_channel) {
                for (size_t j = 0; j < n_channels; ++j) dslope[j] = (T)ts[j];
            } else {
                double s = 0.0;
                for (size_t j = 0; j < n_channels; ++j) s += ts[j];
                dslope[0] = (T)s;
            }
        }
        free(scratch);
        free(tot);
        return 0;
    }
    if (per_channel && n_inner == 1 && dslope == NULL) {
        run.mode |= FNN_DMODE_SLOPEV;
        fnn_parallel_ranges(n_outer, row_grain, 1, n_threads, flags, FNN_NAME(bwd_rows), &run);
        return 0;
    }
    if (dslope || per_channel) {
        /* n_inner > 1: segments with scalar slopes */
        const size_t n_seg = n_outer * n_channels;
        if (dslope) {
            run.seg_sums = (double *)malloc(n_seg * sizeof(double));
            if (run.seg_sums == NULL) return -1;
        }
        fnn_parallel_ranges(n_seg, fnn_div_up(FNN_GRAIN_ELEMENTWISE, n_inner), 1,
                            n_threads, flags, FNN_NAME(bwd_segments), &run);
        if (dslope) {
            for (size_t k = 0; k < n_slope; ++k) dslope[k] = (T)0;
            double *acc = (double *)calloc(n_slope, sizeof(double));
            if (acc == NULL) {
                free(run.seg_sums);
                return -1;
            }
            for (size_t seg = 0; seg < n_seg; ++seg)
                acc[n_slope == 1 ? 0 : seg % n_channels] += run.seg_sums[seg];
            for (size_t k = 0; k < n_slope; ++k) dslope[k] = (T)acc[k];
            free(acc);
            free(run.seg_sums);
        }
        (void)dbias;
        return 0;
    }
    run.stream = FNN_NAME(stream_for)(table, total);
    fnn_parallel_ranges(total, FNN_GRAIN_ELEMENTWISE, 16, n_threads, flags, FNN_NAME(bwd_flat),
                        &run);
    return 0;
}

/* ---- the dense layer: tiles of BLAS products with fused passes ---- */

typedef void (*FNN_NAME(gemm_fn))(char *, char *, int *, int *, int *, T *, T *, int *, T *,
                                  int *, T *, T *, int *);

static FNN_NAME(gemm_fn) FNN_NAME(gemm_of)(const fnn_blas_gemm *g)
{
#if FNN_IS_F32
    return g->sgemm;
#else
    return g->dgemm;
#endif
}

/* Column-major c (m×n, leading dimension ldc) = op(a)·op(b), k products per
 * value. A row-major array is the column-major transpose, which is how
 * the row-major callers below map onto it. k = 0 writes zeros (without
 * asking every BLAS to get beta = 0 with k = 0 right). */
static void FNN_NAME(gemm_tile)(FNN_NAME(gemm_fn) gemm, char ta, char tb, size_t m, size_t n,
                                size_t k, const T *a, size_t lda, const T *b, size_t ldb, T *c,
                                size_t ldc)
{
    if (k == 0) {
        for (size_t j = 0; j < n; ++j) memset(c + j * ldc, 0, m * sizeof(T));
        return;
    }
    int im = (int)m, in = (int)n, ik = (int)k, ilda = (int)lda, ildb = (int)ldb, ildc = (int)ldc;
    T one = (T)1, zero = (T)0;
    gemm(&ta, &tb, &im, &in, &ik, &one, (T *)a, &ilda, (T *)b, &ildb, &zero, c, &ildc);
}

static void FNN_NAME(tile_bounds)(const fnn_tile_grid *g, size_t rows, size_t cols, size_t t,
                                  size_t *r0, size_t *nr, size_t *c0, size_t *nc)
{
    *r0 = (t / g->n_col_tiles) * g->tile_rows;
    *c0 = (t % g->n_col_tiles) * g->tile_cols;
    *nr = rows - *r0 < g->tile_rows ? rows - *r0 : g->tile_rows;
    *nc = cols - *c0 < g->tile_cols ? cols - *c0 : g->tile_cols;
}

/* Whether this call runs fastnn's own product (fnn_dense_engine): always
 * without a BLAS, else by the setting; AUTO takes it where it measured
 * faster than OpenBLAS on one core: float32 with FMA (see docs/design.md,
 * "The floor under the dense rows"). The AVX-512 level takes it too, though
 * unmeasured there: its products then give the AVX2 level's bits (one FMA
 * chain per output whatever the vector width), which a BLAS would not. */
static int FNN_NAME(use_own_product)(FNN_NAME(gemm_fn) blas)
{
    const int engine = fnn_dense_get_engine();
    if (blas == NULL || engine == FNN_DENSE_ENGINE_OWN) return 1;
    if (engine == FNN_DENSE_ENGINE_BLAS) return 0;
    return FNN_IS_F32 && fnn_simd_level() >= FNN_SIMD_AVX2;
}

/* The forward of a layer with fewer than FNN_GEMM_NARROW_OUT outputs
 * leaves most of the own product's NR = 16 (float32, AVX2) panel empty
 * (the MLP's 10 classes: 0.65–0.75× OpenBLAS on one core); AUTO gives it to
 * the BLAS. A rule on the sizes alone, never the thread count: the bits of
 * such a layer are the BLAS's, the same for any n_threads. */
#ifndef FNN_GEMM_NARROW_OUT
#define FNN_GEMM_NARROW_OUT 16
#endif
static int FNN_NAME(use_own_forward)(FNN_NAME(gemm_fn) blas, size_t out_features)
{
    if (blas != NULL && fnn_dense_get_engine() == FNN_DENSE_ENGINE_AUTO &&
        out_features < FNN_GEMM_NARROW_OUT)
        return 0;
    return FNN_NAME(use_own_product)(blas);
}

/* The packing buffer the tiles of a grid need (the largest tile's). */
static size_t FNN_NAME(pack_values)(const fnn_tile_grid *g, size_t inner)
{
    return FNN_GEMM_PACK_VALUES(g->tile_cols, inner, FNN_SFX);
}

typedef struct {
    FNN_NAME(gemm_fn) gemm;
    FNN_NAME(fnn_gemm_fn) own; /* fastnn's product instead of gemm, or NULL */
    fnn_pack_slots *slots;
    fnn_tile_grid grid;
    size_t n, k, m;
    const T *x, *w, *bias, *slope;
    T s0;
    T *z;   /* the product: pre, or y */
    T *pre; /* z + bias written back here, or NULL */
    T *y;
    FNN_NAME(fnn_act_fwd_span) span; /* NULL: nothing after the product */
    const COEF *c;
    unsigned mode;
} FNN_NAME(layer_fwd_run);

/* the bias and activation pass over rows [r0, r0 + nr), columns [c0, c0 + nc) */
static void FNN_NAME(layer_fwd_pass)(const FNN_NAME(layer_fwd_run) *r, size_t r0, size_t nr,
                                     size_t c0, size_t nc)
{
    const size_t m = r->m;
    for (size_t i = r0; i < r0 + nr; ++i) {
        const size_t at = i * m + c0;
        r->span(r->c, r->mode, nc, r->z + at, r->bias ? r->bias + c0 : NULL,
                (r->mode & FNN_DMODE_SLOPEV) ? r->slope + c0 : NULL, r->s0,
                r->pre ? r->pre + at : NULL, r->y + at);
    }
}

typedef struct {
    const FNN_NAME(layer_fwd_run) *r;
    size_t r0, c0; /* the tile's corner */
} FNN_NAME(layer_fwd_block);

/* epilogue of fastnn's product: one finished block of the tile, in cache */
static void FNN_NAME(layer_fwd_epilogue)(const void *vctx, size_t i0, size_t mi, size_t j0,
                                         size_t nj)
{
    const FNN_NAME(layer_fwd_block) *b = (const FNN_NAME(layer_fwd_block) *)vctx;
    FNN_NAME(layer_fwd_pass)(b->r, b->r0 + i0, mi, b->c0 + j0, nj);
}

static void FNN_NAME(layer_fwd_own_tiles)(const void *vctx, size_t t0, size_t t1)
{
    const FNN_NAME(layer_fwd_run) *r = (const FNN_NAME(layer_fwd_run) *)vctx;
    const size_t k = r->k, m = r->m;
    const int slot = fnn_pack_slot_take(r->slots);
    for (size_t t = t0; t < t1; ++t) {
        size_t r0, nr, c0, nc;
        FNN_NAME(tile_bounds)(&r->grid, r->n, m, t, &r0, &nr, &c0, &nc);
        FNN_NAME(layer_fwd_block) blk = {r, r0, c0};
        /* z[r0:, c0:] = x[r0:]·W[c0:]ᵀ */
        FNN_NAME(fnn_gemm_args) g = {nr, nc, k, r->x + r0 * k, (ptrdiff_t)k, 1,
                                     r->w + c0 * k, 1, (ptrdiff_t)k, r->z + r0 * m + c0, m,
                                     (T *)fnn_pack_slot_at(r->slots, slot),
                                     r->span ? FNN_NAME(layer_fwd_epilogue) : NULL, &blk};
        r->own(&g);
    }
    fnn_pack_slot_give(r->slots, slot);
}

static void FNN_NAME(layer_fwd_tiles)(const void *vctx, size_t t0, size_t t1)
{
    const FNN_NAME(layer_fwd_run) *r = (const FNN_NAME(layer_fwd_run) *)vctx;
    const size_t k = r->k, m = r->m;
    for (size_t t = t0; t < t1; ++t) {
        size_t r0, nr, c0, nc;
        FNN_NAME(tile_bounds)(&r->grid, r->n, m, t, &r0, &nr, &c0, &nc);
        /* z[r0:, c0:] (row-major, stride m) = column-major (nc × nr) W[c0:]·x[r0:]ᵀ */
        FNN_NAME(gemm_tile)(r->gemm, 'T', 'N', nc, nr, k, r->w + c0 * k, k, r->x + r0 * k, k,
                            r->z + r0 * m + c0, m);
        if (r->span != NULL) FNN_NAME(layer_fwd_pass)(r, r0, nr, c0, nc);
    }
}

void FNN_NAME(fnn_dense_forward)(const fnn_blas_gemm *gemm, int act, const fnn_act_params *params,
                                 size_t n_samples, size_t in_features, size_t out_features,
                                 const T *x, const T *weight, const T *bias, const T *slope,
                                 size_t n_slope, T *pre, T *y, int n_threads, int flags)
{
    if (act < 0 || act >= FNN_ACT_N) return;
    COEF c;
    FNN_NAME(act_coefficients)(params, &c);
    FNN_NAME(layer_fwd_run) run;
    memset(&run, 0, sizeof(run));
    run.gemm = gemm ? FNN_NAME(gemm_of)(gemm) : NULL;
    run.grid = fnn_plan_tiles(n_samples, out_features, in_features, 1.0);
    run.n = n_samples;
    run.k = in_features;
    run.m = out_features;
    run.x = x;
    run.w = weight;
    run.bias = bias;
    run.slope = slope;
    run.s0 = (slope && n_slope == 1) ? slope[0] : (T)0;
    run.z = pre ? pre : y;
    run.pre = (pre && bias) ? pre : NULL;
    run.y = y;
    run.c = &c;
    if (bias) run.mode |= FNN_DMODE_BIAS;
    if (slope && n_slope > 1) run.mode |= FNN_DMODE_SLOPEV;
    if (run.pre) run.mode |= FNN_DMODE_PRE;
    if (act != FNN_ACT_IDENTITY || bias || pre) run.span = FNN_NAME(dense_table)()->fwd[act];
    const size_t n_tiles = run.grid.n_row_tiles * run.grid.n_col_tiles;
    fnn_pack_slots slots;
    if (FNN_NAME(use_own_forward)(run.gemm, out_features) &&
        fnn_pack_slots_init(&slots, n_tiles, n_threads,
                            FNN_NAME(pack_values)(&run.grid, in_features), sizeof(T)) == 0) {
        run.own = FNN_NAME(dense_table)()->gemm;
        run.slots = &slots;
        fnn_parallel_ranges(n_tiles, 1, 1, n_threads, flags | FNN_PARALLEL_LARGE_ITEMS,
                            FNN_NAME(layer_fwd_own_tiles), &run);
        free(slots.mem);
        return;
    }
    if (run.gemm == NULL) {
        /* no BLAS and no memory for the packing buffers: NaN, not garbage */
        for (size_t i = 0; i < n_samples * out_features; ++i) y[i] = (T)NAN;
        if (pre)
            for (size_t i = 0; i < n_samples * out_features; ++i) pre[i] = (T)NAN;
        return;
    }
    fnn_parallel_ranges(n_tiles, 1, 1, n_threads, flags | FNN_PARALLEL_LARGE_ITEMS,
                        FNN_NAME(layer_fwd_tiles), &run);
}

typedef struct {
    FNN_NAME(gemm_fn) gemm;
    FNN_NAME(fnn_gemm_fn) own; /* fastnn's product instead of gemm, or NULL */
    fnn_pack_slots *slots;
    fnn_tile_grid grid_w, grid_x;
    size_t n_chunks, chunk; /* dW's inner dimension (the batch) in chunks */
    size_t n_tiles_w;       /* n_chunks × tiles of grid_w */
    size_t n, k, m;
    const T *x, *w, *dz;
    T *dx, *dw;
    T *partial; /* chunks 1.. of dW: (n_chunks − 1) × m·k */
} FNN_NAME(layer_bwd_run);

/* tasks [0, n_tiles_w): (chunk, tile) of dW; then the tiles of dx */
static void FNN_NAME(layer_bwd_tiles)(const void *vctx, size_t t0, size_t t1)
{
    const FNN_NAME(layer_bwd_run) *r = (const FNN_NAME(layer_bwd_run) *)vctx;
    const size_t n = r->n, k = r->k, m = r->m;
    const size_t tiles_per_chunk = r->grid_w.n_row_tiles * r->grid_w.n_col_tiles;
    const int slot = r->own ? fnn_pack_slot_take(r->slots) : 0;
    T *pack = r->own ? (T *)fnn_pack_slot_at(r->slots, slot) : NULL;
    for (size_t t = t0; t < t1; ++t) {
        size_t r0, nr, c0, nc;
        if (t < r->n_tiles_w) {
            const size_t chunk = t / tiles_per_chunk;
            const size_t s0 = chunk * r->chunk;
            const size_t ns = n - s0 < r->chunk ? n - s0 : r->chunk;
            T *dst = chunk == 0 ? r->dw : r->partial + (chunk - 1) * m * k;
            /* dW[r0:, c0:] (stride k) = dz[s, r0:]ᵀ·x[s, c0:] over the chunk's
             * samples s (BLAS: column-major (nc × nr) x[s, c0:]ᵀ·dz[s, r0:]) */
            FNN_NAME(tile_bounds)(&r->grid_w, m, k, t % tiles_per_chunk, &r0, &nr, &c0, &nc);
            if (r->own) {
                FNN_NAME(fnn_gemm_args) g = {nr, nc, ns, r->dz + s0 * m + r0, 1, (ptrdiff_t)m,
                                             r->x + s0 * k + c0, (ptrdiff_t)k, 1,
                                             dst + r0 * k + c0, k, pack, NULL, NULL};
                r->own(&g);
            } else {
                FNN_NAME(gemm_tile)(r->gemm, 'N', 'T', nc, nr, ns, r->x + s0 * k + c0, k,
                                    r->dz + s0 * m + r0, m, dst + r0 * k + c0, k);
            }
        } else {
            /* dx[r0:, c0:] (stride k) = dz[r0:]·W[:, c0:] (BLAS: column-major
             * (nc × nr) W[:, c0:]ᵀ·dz[r0:]ᵀ) */
            FNN_NAME(tile_bounds)(&r->grid_x, n, k, t - r->n_tiles_w, &r0, &nr, &c0, &nc);
            if (r->own) {
                FNN_NAME(fnn_gemm_args) g = {nr, nc, m, r->dz + r0 * m, (ptrdiff_t)m, 1,
                                             r->w + c0, (ptrdiff_t)k, 1, r->dx + r0 * k + c0, k,
                                             pack, NULL, NULL};
                r->own(&g);
            } else {
                FNN_NAME(gemm_tile)(r->gemm, 'N', 'N', nc, nr, m, r->w + c0, k, r->dz + r0 * m,
                                    m, r->dx + r0 * k + c0, k);
            }
        }
    }
    if (r->own) fnn_pack_slot_give(r->slots, slot);
}

/* dW += the partial sums of chunks 1.., in chunk order */
static void FNN_NAME(layer_bwd_sum_chunks)(const void *vctx, size_t b, size_t e)
{
    const FNN_NAME(layer_bwd_run) *r = (const FNN_NAME(layer_bwd_run) *)vctx;
    const size_t size = r->m * r->k;
    for (size_t chunk = 1; chunk < r->n_chunks; ++chunk) {
        const T *p = r->partial + (chunk - 1) * size;
        T *dw = r->dw;
#pragma omp simd
        for (size_t i = b; i < e; ++i) dw[i] = dw[i] + p[i];
    }
}

int FNN_NAME(fnn_dense_backward)(const fnn_blas_gemm *gemm, int act, const fnn_act_params *params,
                                 size_t n_samples, size_t in_features, size_t out_features,
                                 const T *dy, const T *x, const T *weight, const T *saved,
                                 int saved_is_output, const T *slope, size_t n_slope, T *dz,
                                 T *dx, T *dweight, T *dbias, T *dslope, int n_threads, int flags)
{
    if (act < 0 || act >= FNN_ACT_N) return 0;
    int status = FNN_NAME(fnn_act_backward)(act, params, n_samples, out_features, 1, dy, saved,
                                            saved_is_output, slope, n_slope, dz, dbias, dslope,
                                            n_threads, flags);
    if (status != 0) return status;
    FNN_NAME(layer_bwd_run) run;
    memset(&run, 0, sizeof(run));
    run.gemm = gemm ? FNN_NAME(gemm_of)(gemm) : NULL;
    /* dW and dx (the same work, n·k·m multiply-adds) run side by side as
     * equally many tasks of equal size: each gets half the tiles */
    const double share = dx ? 0.5 : 1.0;
    run.n_chunks = fnn_plan_chunks(out_features, in_features, n_samples, share);
    run.chunk = fnn_div_up(n_samples, run.n_chunks);
    if (run.n_chunks > 1) {
        /* the chunks are the parallel work: one whole-output product each */
        const fnn_tile_grid whole = {out_features, in_features, 1, 1};
        run.grid_w = whole;
    } else {
        run.grid_w = fnn_plan_tiles(out_features, in_features, n_samples, share);
    }
    run.n_tiles_w = run.n_chunks * run.grid_w.n_row_tiles * run.grid_w.n_col_tiles;
    size_t n_tiles_x = 0;
    if (dx) {
        run.grid_x = fnn_plan_tiles(n_samples, in_features, out_features, share);
        n_tiles_x = run.grid_x.n_row_tiles * run.grid_x.n_col_tiles;
    }
    run.n = n_samples;
    run.k = in_features;
    run.m = out_features;
    run.x = x;
    run.w = weight;
    run.dz = dz;
    run.dx = dx;
    run.dw = dweight;
    if (run.n_chunks > 1) {
        run.partial = (T *)malloc((run.n_chunks - 1) * out_features * in_features * sizeof(T));
        if (run.partial == NULL) return -1;
    }
    /* two products below one tile's work together: not worth a parallel region */
    const double work = (double)n_samples * (double)in_features * (double)out_features;
    const int product_threads = work * (dx ? 2.0 : 1.0) < FNN_TILE_WORK ? 1 : n_threads;
    fnn_pack_slots slots;
    slots.mem = NULL;
    if (FNN_NAME(use_own_product)(run.gemm)) {
        /* dW tiles: grid_w.tile_cols columns, a chunk of the batch deep;
         * dx tiles: grid_x.tile_cols columns, out_features deep */
        size_t values = FNN_NAME(pack_values)(&run.grid_w, run.chunk);
        if (dx) {
            const size_t vx = FNN_NAME(pack_values)(&run.grid_x, out_features);
            values = vx > values ? vx : values;
        }
        if (fnn_pack_slots_init(&slots, run.n_tiles_w + n_tiles_x, product_threads, values,
                                sizeof(T)) != 0) {
            free(run.partial);
            return -1;
        }
        run.own = FNN_NAME(dense_table)()->gemm;
        run.slots = &slots;
    }
    fnn_parallel_ranges(run.n_tiles_w + n_tiles_x, 1, 1, product_threads,
                        flags | FNN_PARALLEL_LARGE_ITEMS,
                        FNN_NAME(layer_bwd_tiles), &run);
    free(slots.mem);
    if (run.n_chunks > 1) {
        fnn_parallel_ranges(out_features * in_features, FNN_GRAIN_ELEMENTWISE, 16, n_threads,
                            flags, FNN_NAME(layer_bwd_sum_chunks), &run);
        free(run.partial);
    }
    return 0;
}

/* ---- vector math ---- */

typedef struct {
    FNN_NAME(fnn_math_span) span;
    const T *x;
    T *y;
} FNN_NAME(math_run);

static void FNN_NAME(math_range)(const void *vctx, size_t b, size_t e)
{
    const FNN_NAME(math_run) *r = (const FNN_NAME(math_run) *)vctx;
    r->span(e - b, r->x + b, r->y + b);
}

void FNN_NAME(fnn_math)(int fn, const T *x, T *y, size_t n, int n_threads, int flags)
{
    if (fn < 0 || fn >= FNN_MATH_N || n == 0) return;
    FNN_NAME(math_run) run = {FNN_NAME(dense_table)()->math[fn], x, y};
    fnn_parallel_ranges(n, FNN_GRAIN_ELEMENTWISE, 16, n_threads, flags, FNN_NAME(math_range), &run);
}

#undef T
#undef COEF
#undef TABLE
