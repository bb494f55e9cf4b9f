/* Template (see core/instantiate_dtypes.h): the random drivers. They turn
 * (seed, offset) and scalars into a stream and per-dtype constants, pick
 * the loops of the running CPU and hand the work to the thread splitter.
 * Ranges start at multiples of FNN_RANDOM_ALIGN elements, and every draw
 * is a function of the element index alone, so any split gives the same
 * bits. */

#define T FNN_REAL
#define TABLE FNN_NAME(fnn_random_table)

static const TABLE *FNN_NAME(random_table)(void) { return FNN_PICK_TABLE(fnn_random_table); }

typedef struct {
    const TABLE *tab;
    fnn_stream s;
    T *y;
    T a, b;
    int streaming; /* output past the caches: streaming stores */
} FNN_NAME(random_run);

static void FNN_NAME(uniform_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(random_run) *r = (const FNN_NAME(random_run) *)vctx;
    r->tab->uniform(&r->s, r->y, begin, end, r->a, r->b, r->streaming);
}

static void FNN_NAME(normal_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(random_run) *r = (const FNN_NAME(random_run) *)vctx;
    r->tab->normal(&r->s, r->y, begin, end, r->a, r->b, r->streaming);
}

/* Fills out[0 .. n) by `range` with the stream (seed, offset) and the
 * constants a, b. */
static void FNN_NAME(fill)(fnn_range_fn range, T *out, size_t n, double a, double b,
                           uint64_t seed, uint64_t offset, int n_threads, int flags)
{
    FNN_NAME(random_run) run = {0};
    run.tab = FNN_NAME(random_table)();
    run.s = fnn_make_stream(seed, offset);
    run.y = out;
    run.streaming = fnn_streams(n * sizeof(T));
    run.a = (T)a;
    run.b = (T)b;
    fnn_parallel_ranges(n, FNN_RANDOM_GRAIN, FNN_RANDOM_ALIGN, n_threads, flags, range, &run);
}

void FNN_NAME(fnn_uniform)(T *out, size_t n, double low, double high, uint64_t seed,
                           uint64_t offset, int n_threads, int flags)
{
    FNN_NAME(fill)(FNN_NAME(uniform_range), out, n, low, high - low, seed, offset, n_threads,
                   flags);
}

void FNN_NAME(fnn_normal)(T *out, size_t n, double mean, double std, uint64_t seed,
                          uint64_t offset, int n_threads, int flags)
{
    FNN_NAME(fill)(FNN_NAME(normal_range), out, n, mean, std, seed, offset, n_threads, flags);
}

/* ---- truncated normal by inversion ---- */

typedef struct {
    void (*span)(const FNN_NAME(fnn_icdf_coef) *c, T *x, size_t n);
    const FNN_NAME(fnn_icdf_coef) *c;
    T *x;
} FNN_NAME(icdf_run);

static void FNN_NAME(icdf_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(icdf_run) *r = (const FNN_NAME(icdf_run) *)vctx;
    r->span(r->c, r->x + begin, end - begin);
}

void FNN_NAME(fnn_normal_icdf)(T *x, size_t n, double p_lo, double p_hi, double mean, double std,
                               double lo, double hi, int n_threads, int flags)
{
    const FNN_NAME(fnn_icdf_coef) c = {p_lo, p_hi - p_lo, mean, std, (T)lo, (T)hi};
    FNN_NAME(icdf_run) run = {FNN_NAME(random_table)()->normal_icdf, &c, x};
    /* the transform costs tens of flops per value: a smaller grain pays */
    fnn_parallel_ranges(n, FNN_GRAIN_ELEMENTWISE / 4, 16, n_threads, flags, FNN_NAME(icdf_range),
                        &run);
}

#undef T
#undef TABLE
