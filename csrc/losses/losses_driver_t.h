/* Template (see core/instantiate_dtypes.h): the loss drivers. They derive
 * the coefficients, pick the loops for the running CPU, split rows or
 * fixed blocks across threads and combine the block sums in block order. */

#define T FNN_REAL
#define COEF FNN_NAME(fnn_loss_coef)
#define TABLE FNN_NAME(fnn_losses_table)

static const TABLE *FNN_NAME(losses_table)(void) { return FNN_PICK_TABLE(fnn_losses_table); }

/* ---- row losses ---- */

typedef struct {
    FNN_NAME(fnn_loss_row) fn;
    const COEF *c;
    const T *z;
    const int64_t *labels; /* NULL: no labels (target, entropy) */
    const T *q;
    int64_t ignore_index;
    int use_ignore;
    size_t n_rows;
    T *loss, *g;
} FNN_NAME(row_run);

/* The loss of block b of FNN_LOSS_ROW_BLOCK rows (and their gradients). */
static double FNN_NAME(row_block)(const void *vctx, size_t b)
{
    const FNN_NAME(row_run) *r = (const FNN_NAME(row_run) *)vctx;
    const size_t k = r->c->n_classes;
    const size_t lo = b * FNN_LOSS_ROW_BLOCK;
    const size_t hi = r->n_rows - lo < FNN_LOSS_ROW_BLOCK ? r->n_rows : lo + FNN_LOSS_ROW_BLOCK;
    double acc = 0.0;
    for (size_t i = lo; i < hi; ++i) {
        const int64_t y = r->labels ? r->labels[i] : 0;
        T li;
        if (r->use_ignore && y == r->ignore_index) {
            memset(r->g + i * k, 0, k * sizeof(T));
            li = (T)0;
        } else {
            li = r->fn(r->c, r->z + i * k, y, r->q ? r->q + i * k : NULL, r->g + i * k);
        }
        if (r->loss) r->loss[i] = li;
        acc += (double)li;
    }
    return acc;
}

/* Runs every row; returns the sum of the row losses, the same for any
 * n_threads: each block of FNN_LOSS_ROW_BLOCK rows is summed alone and the
 * block sums are added in block order (fnn_parallel_reduce). */
static double FNN_NAME(run_rows)(FNN_NAME(row_run) *r, int n_threads, int flags)
{
    const size_t n_blocks = (r->n_rows + FNN_LOSS_ROW_BLOCK - 1) / FNN_LOSS_ROW_BLOCK;
    const size_t row_items = FNN_LOSS_ROW_BLOCK * (r->c->n_classes ? r->c->n_classes : 1);
    size_t grain = FNN_GRAIN_ELEMENTWISE / row_items;
    if (grain < 1) grain = 1;
    return fnn_parallel_reduce(n_blocks, grain, n_threads, flags, FNN_NAME(row_block), r, NULL);
}

/* Σ over kept rows of weight[label] (1 without weights): the denominator of
 * the weighted mean, as in PyTorch. */
static double FNN_NAME(label_weight_sum)(const int64_t *labels, size_t n_rows, const T *weight,
                                         int64_t ignore_index, int use_ignore)
{
    double total = 0.0;
    for (size_t i = 0; i < n_rows; ++i) {
        if (use_ignore && labels[i] == ignore_index) continue;
        total += weight ? (double)weight[labels[i]] : 1.0;
    }
    return total;
}

/* The gradient factor and the final value of a reduction over a total
 * whose mean divides by `denom`. An empty mean is NaN as in PyTorch; its
 * gradient factor is 0 so the gradient stays finite. */
static T FNN_NAME(grad_scale)(int reduction, double denom)
{
    if (reduction != FNN_REDUCTION_MEAN) return (T)1;
    return denom != 0.0 ? (T)(1.0 / denom) : (T)0;
}

static double FNN_NAME(reduce_value)(int reduction, double total, double denom)
{
    if (reduction != FNN_REDUCTION_MEAN) return total;
    return denom != 0.0 ? total / denom : (double)NAN;
}

double FNN_NAME(fnn_softmax_cross_entropy)(const T *logits, size_t n_rows, size_t n_classes,
                                           const int64_t *labels, const T *target,
                                           const T *weight, int64_t ignore_index,
                                           double label_smoothing, int smoothing, int reduction,
                                           T *loss, T *grad, int n_threads, int flags)
{
    COEF c;
    memset(&c, 0, sizeof c);
    c.n_classes = n_classes;
    c.weight = weight;
    const double eps = label_smoothing, k = (double)n_classes;
    double a = 1.0 - eps, b = eps / k;
    if (smoothing == FNN_SMOOTHING_OTHERS) {
        b = n_classes > 1 ? eps / (k - 1.0) : 0.0;
        a = 1.0 - eps - b;
    }
    c.a = (T)a;
    c.b = (T)b;
    unsigned mode = 0;
    if (target) mode |= FNN_LMODE_TARGET;
    if (weight) mode |= FNN_LMODE_WEIGHT;
    if (!target && b != 0.0) mode |= FNN_LMODE_OFF;
    c.mode = mode;
    if (weight) {
        double sw = 0.0;
        for (size_t j = 0; j < n_classes; ++j) sw += (double)weight[j];
        c.sum_weight = (T)sw;
    }
    const double denom = target ? (double)n_rows
                                : FNN_NAME(label_weight_sum)(labels, n_rows, weight, ignore_index, 1);
    c.scale = FNN_NAME(grad_scale)(reduction, denom);
    FNN_NAME(row_run) run = {FNN_NAME(losses_table)()->row[FNN_ROW_CE], &c, logits,
                             target ? NULL : labels, target, ignore_index, target == NULL,
                             n_rows, reduction == FNN_REDUCTION_NONE ? loss : NULL, grad};
    return FNN_NAME(reduce_value)(reduction, FNN_NAME(run_rows)(&run, n_threads, flags), denom);
}

double FNN_NAME(fnn_nll_loss)(const T *log_probs, size_t n_rows, size_t n_classes,
                              const int64_t *labels, const T *weight, int64_t ignore_index,
                              int reduction, T *loss, T *grad, int n_threads, int flags)
{
    COEF c;
    memset(&c, 0, sizeof c);
    c.n_classes = n_classes;
    c.weight = weight;
    const double denom = FNN_NAME(label_weight_sum)(labels, n_rows, weight, ignore_index, 1);
    c.scale = FNN_NAME(grad_scale)(reduction, denom);
    FNN_NAME(row_run) run = {FNN_NAME(losses_table)()->row[FNN_ROW_NLL], &c, log_probs, labels,
                             NULL, ignore_index, 1, n_rows,
                             reduction == FNN_REDUCTION_NONE ? loss : NULL, grad};
    return FNN_NAME(reduce_value)(reduction, FNN_NAME(run_rows)(&run, n_threads, flags), denom);
}

double FNN_NAME(fnn_multi_margin_loss)(const T *input, size_t n_rows, size_t n_classes,
                                       const int64_t *labels, const T *weight, int p,
                                       double margin, int divide_by_classes, int reduction,
                                       T *loss, T *grad, int n_threads, int flags)
{
    COEF c;
    memset(&c, 0, sizeof c);
    c.n_classes = n_classes;
    c.weight = weight;
    c.margin = (T)margin;
    c.div = divide_by_classes ? (T)n_classes : (T)1;
    c.mode = p == 2 ? FNN_LMODE_SQUARED : 0u;
    const double denom = (double)n_rows;
    c.scale = FNN_NAME(grad_scale)(reduction, denom);
    FNN_NAME(row_run) run = {FNN_NAME(losses_table)()->row[FNN_ROW_MARGIN], &c, input, labels,
                             NULL, 0, 0, n_rows,
                             reduction == FNN_REDUCTION_NONE ? loss : NULL, grad};
    return FNN_NAME(reduce_value)(reduction, FNN_NAME(run_rows)(&run, n_threads, flags), denom);
}

double FNN_NAME(fnn_entropy_penalty)(const T *logits, size_t n_rows, size_t n_classes,
                                     int reduction, T *loss, T *grad, int n_threads, int flags)
{
    COEF c;
    memset(&c, 0, sizeof c);
    c.n_classes = n_classes;
    const double denom = (double)n_rows;
    c.scale = FNN_NAME(grad_scale)(reduction, denom);
    FNN_NAME(row_run) run = {FNN_NAME(losses_table)()->row[FNN_ROW_ENTROPY], &c, logits, NULL,
                             NULL, 0, 0, n_rows,
                             reduction == FNN_REDUCTION_NONE ? loss : NULL, grad};
    return FNN_NAME(reduce_value)(reduction, FNN_NAME(run_rows)(&run, n_threads, flags), denom);
}

/* ---- elementwise losses ---- */

typedef struct {
    FNN_NAME(fnn_loss_elem) fn;
    const COEF *c;
    const T *x, *y;
    size_t n;
    T *loss, *g;
} FNN_NAME(elem_run);

/* The sum over block b of FNN_REDUCE_BLOCK elements. */
static double FNN_NAME(elem_block)(const void *vctx, size_t b)
{
    const FNN_NAME(elem_run) *r = (const FNN_NAME(elem_run) *)vctx;
    const size_t lo = b * FNN_REDUCE_BLOCK;
    const size_t len = r->n - lo < FNN_REDUCE_BLOCK ? r->n - lo : FNN_REDUCE_BLOCK;
    return r->fn(r->c, lo, len, r->x + lo, r->y ? r->y + lo : NULL, r->loss ? r->loss + lo : NULL,
                 r->g ? r->g + lo : NULL);
}

/* Fixed blocks of FNN_REDUCE_BLOCK elements summed in block order. */
static double FNN_NAME(run_elems)(FNN_NAME(elem_run) *r, int n_threads, int flags)
{
    const size_t n_blocks = (r->n + FNN_REDUCE_BLOCK - 1) / FNN_REDUCE_BLOCK;
    const size_t grain = (FNN_GRAIN_ELEMENTWISE + FNN_REDUCE_BLOCK - 1) / FNN_REDUCE_BLOCK;
    return fnn_parallel_reduce(n_blocks, grain, n_threads, flags, FNN_NAME(elem_block), r, NULL);
}

double FNN_NAME(fnn_bce_with_logits)(const T *logits, const T *target, size_t n, const T *weight,
                                     const T *pos_weight, size_t period, int reduction, T *loss,
                                     T *grad, int n_threads, int flags)
{
    COEF c;
    memset(&c, 0, sizeof c);
    c.weight = weight;
    c.pos_weight = pos_weight;
    c.period = (weight || pos_weight) && period ? period : (n ? n : 1);
    unsigned mode = 0;
    if (pos_weight) mode |= FNN_LMODE_POSW;
    if (weight) mode |= FNN_LMODE_WEIGHT;
    if (reduction == FNN_REDUCTION_NONE && loss) mode |= FNN_LMODE_OUT;
    c.mode = mode;
    c.scale = FNN_NAME(grad_scale)(reduction, (double)n);
    FNN_NAME(elem_run) run = {FNN_NAME(losses_table)()->elem[FNN_ELEM_BCE], &c, logits, target, n,
                              (mode & FNN_LMODE_OUT) ? loss : NULL, grad};
    return FNN_NAME(reduce_value)(reduction, FNN_NAME(run_elems)(&run, n_threads, flags), (double)n);
}

double FNN_NAME(fnn_mse_loss)(const T *input, const T *target, size_t n, int reduction, T *loss,
                              T *grad, int n_threads, int flags)
{
    COEF c;
    memset(&c, 0, sizeof c);
    c.mode = (reduction == FNN_REDUCTION_NONE && loss) ? FNN_LMODE_OUT : 0u;
    c.scale = FNN_NAME(grad_scale)(reduction, (double)n);
    FNN_NAME(elem_run) run = {FNN_NAME(losses_table)()->elem[FNN_ELEM_MSE], &c, input, target, n,
                              (c.mode & FNN_LMODE_OUT) ? loss : NULL, grad};
    return FNN_NAME(reduce_value)(reduction, FNN_NAME(run_elems)(&run, n_threads, flags), (double)n);
}

#undef T
#undef COEF
#undef TABLE
