/* Template (see core/instantiate_dtypes.h), compiled once per ISA by
 * augment_isa_*.c: the row loops of the augmentation kernels. Plain C with
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
         * overflow it, and anything below −1 or at/above the size is zero */
        const double cx = fx < -2.0 ? -2.0 : (fx > (double)W ? (double)W : fx);
        const double cy = fy < -2.0 ? -2.0 : (fy > (double)H ? (double)H : fy);
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

const FNN_NAME(fnn_augment_table) FNN_ISA_NAME(fnn_augment_table) = {
    SPAN(reverse_span),
    SPAN(axpb_span),
    SPAN(warp_row_span),
    SPAN(words_span),
};

#undef T
#undef SPAN
#undef RESTRICT
