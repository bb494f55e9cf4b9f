/* Template (see core/instantiate_dtypes.h): the regularizer drivers. They
 * derive the coefficients, pick the loop for the running CPU, and sum the
 * penalty over fixed blocks of FNN_REDUCE_BLOCK elements in block order
 * (fnn_parallel_reduce), so it is the same for any n_threads. */

#define T FNN_REAL
#define COEF FNN_NAME(fnn_reg_coef)
#define TABLE FNN_NAME(fnn_regularizers_table)

typedef struct {
    const TABLE *tab;
    const COEF *c;
    const T *w;
    T *g;
    size_t n;
} FNN_NAME(penalty_run);

/* The penalty of block b (and its gradient). */
static double FNN_NAME(penalty_block)(const void *vctx, size_t b)
{
    const FNN_NAME(penalty_run) *r = (const FNN_NAME(penalty_run) *)vctx;
    const size_t lo = b * FNN_REDUCE_BLOCK;
    const size_t len = r->n - lo < FNN_REDUCE_BLOCK ? r->n - lo : FNN_REDUCE_BLOCK;
    return r->tab->l1l2(r->c, len, r->w + lo, r->g ? r->g + lo : NULL);
}

double FNN_NAME(fnn_l1l2_penalty)(const T *w, size_t n, double l1, double l2, double scale,
                                  T *grad, int n_threads, int flags)
{
    COEF c;
    memset(&c, 0, sizeof c);
    c.l1 = (T)(l1 * scale);
    c.l2 = (T)(l2 * scale);
    unsigned mode = 0;
    if (l1 != 0.0) mode |= FNN_RMODE_L1;
    if (l2 != 0.0) mode |= FNN_RMODE_L2;
    if (grad) mode |= FNN_RMODE_GRAD;
    c.mode = mode;
    if (!(mode & (FNN_RMODE_L1 | FNN_RMODE_L2))) return 0.0;
    FNN_NAME(penalty_run) run = {FNN_PICK_TABLE(fnn_regularizers_table), &c, w, grad, n};
    const size_t n_blocks = (n + FNN_REDUCE_BLOCK - 1) / FNN_REDUCE_BLOCK;
    const size_t grain = (FNN_GRAIN_ELEMENTWISE + FNN_REDUCE_BLOCK - 1) / FNN_REDUCE_BLOCK;
    return fnn_parallel_reduce(n_blocks, grain, n_threads, flags, FNN_NAME(penalty_block), &run,
                               NULL);
}

#undef T
#undef COEF
#undef TABLE
