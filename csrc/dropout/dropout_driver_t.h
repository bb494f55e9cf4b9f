/* Template (see core/instantiate_dtypes.h): the dropout and noise
 * drivers. They turn (seed, offset), p and std into a stream and per-dtype
 * constants, pick the loops of the running CPU and hand the work to the
 * thread splitter. Ranges start at multiples of FNN_RANDOM_ALIGN elements
 * (channel dropout: anywhere, each row's word is computed on the spot), and
 * every decision is a function of the element index alone, so any split
 * gives the same bits. */

#define T FNN_REAL
#define TABLE FNN_NAME(fnn_dropout_table)

static const TABLE *FNN_NAME(dropout_table)(void) { return FNN_PICK_TABLE(fnn_dropout_table); }

typedef struct {
    const TABLE *tab;
    fnn_stream s;
    const T *x;
    T *y;
    uint8_t *mask;
    const uint8_t *mask_in;
    T scale; /* dropout: 1/(1 − p); noise: std */
    int mode; /* noise: FNN_NOISE_ADD or FNN_NOISE_MUL */
    uint32_t thr;   /* elementwise: 16-bit threshold */
    uint32_t thr32; /* channels: 32-bit threshold */
    int zero; /* p = 1: every element dropped */
    int streaming; /* output past the caches: streaming stores */
    size_t row_len;
} FNN_NAME(dropout_run);

static void FNN_NAME(noise_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(dropout_run) *r = (const FNN_NAME(dropout_run) *)vctx;
    r->tab->noise(&r->s, r->x, r->y, begin, end, r->scale, r->mode, r->streaming);
}

void FNN_NAME(fnn_gaussian_noise)(const T *x, T *y, size_t n, double std, int multiplicative,
                                  uint64_t seed, uint64_t offset, int n_threads, int flags)
{
    FNN_NAME(dropout_run) run = {0};
    run.tab = FNN_NAME(dropout_table)();
    run.s = fnn_make_stream(seed, offset);
    run.x = x;
    run.y = y;
    run.streaming = fnn_streams(n * sizeof(T));
    run.scale = (T)std;
    run.mode = multiplicative ? FNN_NOISE_MUL : FNN_NOISE_ADD;
    fnn_parallel_ranges(n, FNN_RANDOM_GRAIN, FNN_RANDOM_ALIGN, n_threads, flags,
                        FNN_NAME(noise_range), &run);
}

/* The loops, input and output of n values, and the threshold and survivor
 * scale of drop probability p; p = 1 is flagged instead of dividing by zero. */
static void FNN_NAME(dropout_setup)(FNN_NAME(dropout_run) *run, const T *x, T *y, size_t n,
                                    double p)
{
    run->tab = FNN_NAME(dropout_table)();
    run->x = x;
    run->y = y;
    run->streaming = fnn_streams(n * sizeof(T));
    run->zero = !(p < 1.0);
    run->thr = fnn_dropout_threshold16(p);
    run->thr32 = fnn_dropout_threshold32(p);
    run->scale = run->zero ? (T)0 : (T)(1.0 / (1.0 - p));
}

static void FNN_NAME(dropout_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(dropout_run) *r = (const FNN_NAME(dropout_run) *)vctx;
    if (r->zero) {
        memset(r->y + begin, 0, (end - begin) * sizeof(T));
        if (r->mask) memset(r->mask + begin / 8, 0, (end - begin + 7) / 8);
        return;
    }
    r->tab->dropout(&r->s, r->x, r->y, r->mask, begin, end, r->thr, r->scale, r->streaming);
}

void FNN_NAME(fnn_dropout)(const T *x, T *y, uint8_t *mask, size_t n, double p, uint64_t seed,
                           uint64_t offset, int n_threads, int flags)
{
    FNN_NAME(dropout_run) run = {0};
    FNN_NAME(dropout_setup)(&run, x, y, n, p);
    run.s = fnn_make_stream(seed, offset);
    run.mask = mask;
    fnn_parallel_ranges(n, FNN_GRAIN_ELEMENTWISE, FNN_RANDOM_ALIGN, n_threads, flags,
                        FNN_NAME(dropout_range), &run);
}

void FNN_NAME(fnn_dropout_backward)(const T *gy, T *gx, size_t n, double p, uint64_t seed,
                                    uint64_t offset, int n_threads, int flags)
{
    /* the forward kernel without a mask: gx = gy·keep·scale is the same map */
    FNN_NAME(fnn_dropout)(gy, gx, NULL, n, p, seed, offset, n_threads, flags);
}

static void FNN_NAME(dropout_mask_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(dropout_run) *r = (const FNN_NAME(dropout_run) *)vctx;
    if (r->zero) {
        memset(r->y + begin, 0, (end - begin) * sizeof(T));
        return;
    }
    r->tab->dropout_mask(r->mask_in, r->x, r->y, begin, end, r->scale, r->streaming);
}

void FNN_NAME(fnn_dropout_backward_mask)(const T *gy, const uint8_t *mask, T *gx, size_t n,
                                         double p, int n_threads, int flags)
{
    FNN_NAME(dropout_run) run = {0};
    FNN_NAME(dropout_setup)(&run, gy, gx, n, p);
    run.mask_in = mask;
    fnn_parallel_ranges(n, FNN_GRAIN_ELEMENTWISE, FNN_RANDOM_ALIGN, n_threads, flags,
                        FNN_NAME(dropout_mask_range), &run);
}

/* Walks the rows a range covers; each row's keep decision is one Philox
 * block evaluated on the spot, so any split agrees. */
static void FNN_NAME(channel_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(dropout_run) *r = (const FNN_NAME(dropout_run) *)vctx;
    size_t i = begin;
    while (i < end) {
        const size_t row = i / r->row_len;
        const size_t row_end = (row + 1) * r->row_len < end ? (row + 1) * r->row_len : end;
        T scale = (T)0;
        if (!r->zero && fnn_stream_word(&r->s, row) >= r->thr32) scale = r->scale;
        r->tab->scale(r->x + i, r->y + i, row_end - i, scale);
        i = row_end;
    }
}

void FNN_NAME(fnn_channel_dropout)(const T *x, T *y, size_t n_rows, size_t row_len, double p,
                                   uint64_t seed, uint64_t offset, int n_threads, int flags)
{
    if (n_rows == 0 || row_len == 0) return;
    FNN_NAME(dropout_run) run = {0};
    FNN_NAME(dropout_setup)(&run, x, y, n_rows * row_len, p); /* row scaling never streams */
    run.s = fnn_make_stream(seed, offset);
    run.row_len = row_len;
    fnn_parallel_ranges(n_rows * row_len, FNN_GRAIN_ELEMENTWISE, 1, n_threads, flags,
                        FNN_NAME(channel_range), &run);
}

#undef T
#undef TABLE
