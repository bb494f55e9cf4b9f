/* Template (see core/instantiate_dtypes.h): the augmentation drivers. Work
 * is split over output rows (images) or samples (signals); every random
 * choice is a function of the sample or element index alone, so any split
 * gives the same bits. */

#define T FNN_REAL
#define TABLE FNN_NAME(fnn_augment_table)

static const TABLE *FNN_NAME(augment_table)(void) { return FNN_PICK_TABLE(fnn_augment_table); }

typedef struct {
    const TABLE *tab;
    fnn_stream s;
    const T *x;
    T *y;
    size_t n, c, h, w, out_h, out_w, pad, len, feat;
    int reflect, wrap;
    double p0, p1, p2, p3;
} FNN_NAME(aug_run);

/* Mean of x over one sample, in double with four running sums combined in
 * a fixed order: one thread reduces a sample, so the result does not
 * depend on the thread count. */
static double FNN_NAME(aug_mean)(const T *x, size_t n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += (double)x[i];
        s1 += (double)x[i + 1];
        s2 += (double)x[i + 2];
        s3 += (double)x[i + 3];
    }
    for (; i < n; ++i) s0 += (double)x[i];
    return n ? ((s0 + s1) + (s2 + s3)) / (double)n : 0.0;
}

/* ---------------------------------------------------------- flip + crop */

static void FNN_NAME(flip_crop_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(aug_run) *r = (const FNN_NAME(aug_run) *)vctx;
    const ptrdiff_t H = (ptrdiff_t)r->h, W = (ptrdiff_t)r->w, OW = (ptrdiff_t)r->out_w;
    const ptrdiff_t pad = (ptrdiff_t)r->pad;
    size_t cur = (size_t)-1;
    int hflip = 0, vflip = 0;
    ptrdiff_t top = 0, left = 0;
    for (size_t row = begin; row < end; ++row) {
        const size_t n = row / (r->c * r->out_h);
        const size_t plane = row / r->out_h;
        const ptrdiff_t yo = (ptrdiff_t)(row % r->out_h);
        if (n != cur) {
            uint32_t wd[4];
            fnn_aug_block(&r->s, n, wd);
            hflip = fnn_aug_u(wd[0]) < r->p0;
            vflip = fnn_aug_u(wd[1]) < r->p1;
            top = (ptrdiff_t)fnn_aug_choice(wd[2], r->h + 2 * r->pad - r->out_h + 1);
            left = (ptrdiff_t)fnn_aug_choice(wd[3], r->w + 2 * r->pad - r->out_w + 1);
            cur = n;
        }
        T *o = r->y + row * r->out_w;
        ptrdiff_t sy = (vflip ? (ptrdiff_t)r->out_h - 1 - yo : yo) + top - pad;
        if (r->reflect) {
            sy = fnn_aug_reflect(sy, H);
        } else if (sy < 0 || sy >= H) {
            memset(o, 0, r->out_w * sizeof(T));
            continue;
        }
        const T *src = r->x + (plane * r->h + (size_t)sy) * r->w;
        const ptrdiff_t j0 = left - pad;
        /* crop columns a <= x' < b read the row directly; the rest are padding */
        ptrdiff_t a = j0 < 0 ? -j0 : 0, b = W - j0 < OW ? W - j0 : OW;
        if (b < a) b = a;
        if (hflip) {
            if (b > a) r->tab->reverse(src + (b - 1 + j0), o + (OW - b), (size_t)(b - a));
        } else if (b > a) {
            memcpy(o + a, src + a + j0, (size_t)(b - a) * sizeof(T));
        }
        for (ptrdiff_t xc = 0; xc < OW; ++xc) {
            if (xc == a) xc = b; /* skip the direct part */
            if (xc >= OW) break;
            const ptrdiff_t xo = hflip ? OW - 1 - xc : xc;
            o[xo] = r->reflect ? src[fnn_aug_reflect(xc + j0, W)] : (T)0;
        }
    }
}

void FNN_NAME(fnn_flip_crop)(const T *x, T *y, size_t n, size_t c, size_t h, size_t w,
                             size_t out_h, size_t out_w, size_t pad, int reflect, double p_hflip,
                             double p_vflip, uint64_t seed, uint64_t offset, int n_threads,
                             int flags)
{
    if (n == 0 || c == 0 || out_h == 0 || out_w == 0) return;
    FNN_NAME(aug_run) run = {0};
    run.tab = FNN_NAME(augment_table)();
    run.s = fnn_make_stream(seed, offset);
    run.x = x;
    run.y = y;
    run.n = n;
    run.c = c;
    run.h = h;
    run.w = w;
    run.out_h = out_h;
    run.out_w = out_w;
    run.pad = pad;
    run.reflect = reflect;
    run.p0 = p_hflip;
    run.p1 = p_vflip;
    fnn_parallel_ranges(n * c * out_h, fnn_aug_grain(out_w), 1, n_threads, flags,
                        FNN_NAME(flip_crop_range), &run);
}

/* -------------------------------------------------------------- affine */

static void FNN_NAME(affine_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(aug_run) *r = (const FNN_NAME(aug_run) *)vctx;
    const double cx = 0.5 * ((double)r->w - 1.0), cy = 0.5 * ((double)r->h - 1.0);
    size_t cur = (size_t)-1;
    double A = 1.0, B = 0.0, tx = 0.0, ty = 0.0;
    /* int32 indices when a plane (with a row of margin) fits */
    void (*warp)(const T *, size_t, size_t, T *, size_t, double, double, double, double) =
        (r->h + 1) * r->w < (size_t)INT32_MAX ? r->tab->warp_row : r->tab->warp_row_big;
    for (size_t row = begin; row < end; ++row) {
        const size_t n = row / (r->c * r->h);
        const size_t plane = row / r->h;
        const double yo = (double)(row % r->h);
        if (n != cur) {
            uint32_t wd[4];
            fnn_aug_block(&r->s, n, wd);
            const double ang = r->p0 * (2.0 * fnn_aug_u(wd[0]) - 1.0) * 0.017453292519943295;
            const double sc = r->p1 + (r->p2 - r->p1) * fnn_aug_u(wd[1]);
            tx = r->p3 * (double)r->w * (2.0 * fnn_aug_u(wd[2]) - 1.0);
            ty = r->p3 * (double)r->h * (2.0 * fnn_aug_u(wd[3]) - 1.0);
            A = cos(ang) / sc;
            B = sin(ang) / sc;
            cur = n;
        }
        /* output (x, y) reads input (cx + A·u − B·v, cy + B·u + A·v) with
         * u = x − cx − tx, v = y − cy − ty: the inverse of the rotation,
         * scaling and shift, linear in x along the row */
        const double u0 = -cx - tx, v = yo - cy - ty;
        warp(r->x + plane * r->h * r->w, r->h, r->w, r->y + row * r->w, r->w,
             cx + A * u0 - B * v, A, cy + B * u0 + A * v, B);
    }
}

void FNN_NAME(fnn_affine)(const T *x, T *y, size_t n, size_t c, size_t h, size_t w,
                          double degrees, double scale_lo, double scale_hi, double translate,
                          uint64_t seed, uint64_t offset, int n_threads, int flags)
{
    if (n == 0 || c == 0 || h == 0 || w == 0) return;
    FNN_NAME(aug_run) run = {0};
    run.tab = FNN_NAME(augment_table)();
    run.s = fnn_make_stream(seed, offset);
    run.x = x;
    run.y = y;
    run.n = n;
    run.c = c;
    run.h = h;
    run.w = w;
    run.p0 = degrees;
    run.p1 = scale_lo;
    run.p2 = scale_hi;
    run.p3 = translate;
    /* a bilinear sample costs several copies' worth of work */
    fnn_parallel_ranges(n * c * h, fnn_aug_grain(8 * w), 1, n_threads, flags,
                        FNN_NAME(affine_range), &run);
}

/* -------------------------------------------------------- color jitter */

static void FNN_NAME(jitter_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(aug_run) *r = (const FNN_NAME(aug_run) *)vctx;
    const size_t len = r->len;
    for (size_t n = begin; n < end; ++n) {
        uint32_t wd[4];
        fnn_aug_block(&r->s, n, wd);
        const double b = 1.0 + r->p0 * (2.0 * fnn_aug_u(wd[0]) - 1.0);
        const double k = 1.0 + r->p1 * (2.0 * fnn_aug_u(wd[1]) - 1.0);
        const double m = FNN_NAME(aug_mean)(r->x + n * len, len);
        r->tab->axpb(r->x + n * len, r->y + n * len, len, (T)(b * k), (T)(b * (1.0 - k) * m));
    }
}

void FNN_NAME(fnn_color_jitter)(const T *x, T *y, size_t n, size_t row_len, double brightness,
                                double contrast, uint64_t seed, uint64_t offset, int n_threads,
                                int flags)
{
    if (n == 0 || row_len == 0) return;
    FNN_NAME(aug_run) run = {0};
    run.tab = FNN_NAME(augment_table)();
    run.s = fnn_make_stream(seed, offset);
    run.x = x;
    run.y = y;
    run.len = row_len;
    run.p0 = brightness;
    run.p1 = contrast;
    fnn_parallel_ranges(n, fnn_aug_grain(row_len), 1, n_threads, flags, FNN_NAME(jitter_range),
                        &run);
}

/* ----------------------------------------------------------- SNR noise */

static void FNN_NAME(snr_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(aug_run) *r = (const FNN_NAME(aug_run) *)vctx;
    const size_t len = r->len;
    for (size_t n = begin; n < end; ++n) {
        const T *xi = r->x + n * len;
        const double sigma = sqrt(r->tab->sum_sq(xi, len) / (double)len * r->p0);
        r->tab->snr_row(&r->s, xi, r->y + n * len, len, (uint64_t)(n * len), sigma);
    }
}

void FNN_NAME(fnn_snr_noise)(const T *x, T *y, size_t n, size_t row_len, double snr_db,
                             uint64_t seed, uint64_t offset, int n_threads, int flags)
{
    if (n == 0 || row_len == 0) return;
    FNN_NAME(aug_run) run = {0};
    run.tab = FNN_NAME(augment_table)();
    run.s = fnn_make_stream(seed, offset);
    run.x = x;
    run.y = y;
    run.len = row_len;
    run.p0 = pow(10.0, -snr_db / 10.0);
    /* vectorized normals cost about as much as the random family's: threads
     * from about 8192 elements per thread, as there */
    fnn_parallel_ranges(n, fnn_aug_grain(4 * row_len), 1, n_threads, flags,
                        FNN_NAME(snr_range), &run);
}

/* ----------------------------------------------------------- sequences */

static void FNN_NAME(shift_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(aug_run) *r = (const FNN_NAME(aug_run) *)vctx;
    const size_t L = r->len, F = r->feat, m = r->pad;
    for (size_t n = begin; n < end; ++n) {
        uint32_t wd[4];
        fnn_aug_block(&r->s, n, wd);
        const ptrdiff_t s = (ptrdiff_t)fnn_aug_choice(wd[0], 2 * m + 1) - (ptrdiff_t)m;
        const T *xi = r->x + n * L * F;
        T *yi = r->y + n * L * F;
        if (r->wrap) {
            /* y[l] = x[(l − s) mod L]: two blocks change places */
            const size_t ks = (size_t)(((s % (ptrdiff_t)L) + (ptrdiff_t)L) % (ptrdiff_t)L);
            memcpy(yi + ks * F, xi, (L - ks) * F * sizeof(T));
            memcpy(yi, xi + (L - ks) * F, ks * F * sizeof(T));
            continue;
        }
        /* y[l] = x[l − s]: L − k rows move, the k rows shifted in are zeros */
        const size_t a = (size_t)(s < 0 ? -s : s), k = a < L ? a : L;
        if (s >= 0) {
            memcpy(yi + k * F, xi, (L - k) * F * sizeof(T));
            memset(yi, 0, k * F * sizeof(T));
        } else {
            memcpy(yi, xi + k * F, (L - k) * F * sizeof(T));
            memset(yi + (L - k) * F, 0, k * F * sizeof(T));
        }
    }
}

void FNN_NAME(fnn_time_shift)(const T *x, T *y, size_t n, size_t len, size_t feat,
                              size_t max_shift, int wrap, uint64_t seed, uint64_t offset,
                              int n_threads, int flags)
{
    if (n == 0 || len == 0 || feat == 0) return;
    FNN_NAME(aug_run) run = {0};
    run.tab = FNN_NAME(augment_table)();
    run.s = fnn_make_stream(seed, offset);
    run.x = x;
    run.y = y;
    run.len = len;
    run.feat = feat;
    run.pad = max_shift;
    run.wrap = wrap;
    fnn_parallel_ranges(n, fnn_aug_grain(len * feat), 1, n_threads, flags,
                        FNN_NAME(shift_range), &run);
}

/* Elements are decided a tile at a time from words generated together. */
#define FNN_AUG_SEQ_TILE ((size_t)256)

static void FNN_NAME(element_dropout_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(aug_run) *r = (const FNN_NAME(aug_run) *)vctx;
    const size_t L = r->len, F = r->feat;
    /* u < p  ⇔  (w >> 8) < ceil(p·2²⁴): integer compares, exact */
    const double tp = ceil(r->p0 * 16777216.0);
    const uint32_t thr = (uint32_t)(tp > 16777216.0 ? 16777216.0 : tp);
    uint32_t w[FNN_AUG_SEQ_TILE];
    for (size_t n = begin; n < end; ++n) {
        for (size_t l0 = 0; l0 < L; l0 += FNN_AUG_SEQ_TILE) {
            const size_t cnt = L - l0 < FNN_AUG_SEQ_TILE ? L - l0 : FNN_AUG_SEQ_TILE;
            r->tab->words(&r->s, w, (uint64_t)(n * L + l0), cnt);
            const T *xi = r->x + (n * L + l0) * F;
            T *yi = r->y + (n * L + l0) * F;
            if (F == 1) {
                for (size_t l = 0; l < cnt; ++l) yi[l] = (w[l] >> 8) < thr ? (T)0 : xi[l];
                continue;
            }
            for (size_t l = 0; l < cnt; ++l) {
                if ((w[l] >> 8) < thr)
                    FNN_AUG_ZERO(yi + l * F, F);
                else
                    FNN_AUG_COPY(yi + l * F, xi + l * F, F);
            }
        }
    }
}

void FNN_NAME(fnn_element_dropout)(const T *x, T *y, size_t n, size_t len, size_t feat,
                                   double p, uint64_t seed, uint64_t offset, int n_threads,
                                   int flags)
{
    if (n == 0 || len == 0 || feat == 0) return;
    FNN_NAME(aug_run) run = {0};
    run.tab = FNN_NAME(augment_table)();
    run.s = fnn_make_stream(seed, offset);
    run.x = x;
    run.y = y;
    run.len = len;
    run.feat = feat;
    run.p0 = p;
    fnn_parallel_ranges(n, fnn_aug_grain(len * feat), 1, n_threads, flags,
                        FNN_NAME(element_dropout_range), &run);
}

static void FNN_NAME(swap_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(aug_run) *r = (const FNN_NAME(aug_run) *)vctx;
    const size_t L = r->len, F = r->feat;
    const double tp = ceil(r->p0 * 16777216.0);
    const uint32_t thr = (uint32_t)(tp > 16777216.0 ? 16777216.0 : tp);
    uint32_t w[FNN_AUG_SEQ_TILE];
    for (size_t n = begin; n < end; ++n) {
        const T *xi = r->x + n * L * F;
        T *yi = r->y + n * L * F;
        size_t l = 0, l0 = 0, cnt = 0;
        while (l < L) {
            if (l >= l0 + cnt) { /* the scan may jump past a tile's end by one */
                l0 = l;
                cnt = L - l0 < FNN_AUG_SEQ_TILE ? L - l0 : FNN_AUG_SEQ_TILE;
                r->tab->words(&r->s, w, (uint64_t)(n * L + l0), cnt);
            }
            if (l + 1 < L && (w[l - l0] >> 8) < thr) {
                FNN_AUG_COPY(yi + l * F, xi + (l + 1) * F, F);
                FNN_AUG_COPY(yi + (l + 1) * F, xi + l * F, F);
                l += 2;
            } else {
                FNN_AUG_COPY(yi + l * F, xi + l * F, F);
                l += 1;
            }
        }
    }
}

void FNN_NAME(fnn_neighbor_swap)(const T *x, T *y, size_t n, size_t len, size_t feat, double p,
                                 uint64_t seed, uint64_t offset, int n_threads, int flags)
{
    if (n == 0 || len == 0 || feat == 0) return;
    FNN_NAME(aug_run) run = {0};
    run.tab = FNN_NAME(augment_table)();
    run.s = fnn_make_stream(seed, offset);
    run.x = x;
    run.y = y;
    run.len = len;
    run.feat = feat;
    run.p0 = p;
    fnn_parallel_ranges(n, fnn_aug_grain(len * feat), 1, n_threads, flags,
                        FNN_NAME(swap_range), &run);
}

#undef T
#undef TABLE
