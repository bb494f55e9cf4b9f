/* Template (see core/instantiate_dtypes.h): the optimizer drivers. They
 * turn hyperparameters into per-dtype coefficients, pick the element loops
 * for the running CPU and hand the work to the thread splitter. */

#define T FNN_REAL
#define COEF FNN_NAME(fnn_optim_coef)
#define TABLE FNN_NAME(fnn_optim_table)

static const TABLE *FNN_NAME(optim_table)(void) { return FNN_PICK_TABLE(fnn_optim_table); }

static void FNN_NAME(optim_coefficients)(int algorithm, const fnn_optim_hparams *hp, COEF *c)
{
    memset(c, 0, sizeof(*c));
    const unsigned opt = hp->options;
    const double lr = hp->lr, wd = hp->weight_decay;
    /* Lion's weight decay is decoupled by definition (Chen et al. 2023). */
    const int decoupled = (opt & FNN_OPT_DECOUPLED_WD) || algorithm == FNN_OPTIM_LION;
    const double step = (double)hp->step;

    unsigned mode = 0;
    c->lr = (T)lr;
    c->grad_sign = (opt & FNN_OPT_MAXIMIZE) ? (T)-1 : (T)1;
    if (wd != 0.0 && !decoupled) mode |= FNN_MODE_WD;
    c->wd = (mode & FNN_MODE_WD) ? (T)wd : (T)0;
    c->decay = (wd != 0.0 && decoupled) ? (T)(1.0 - lr * wd) : (T)1;
    if (hp->l1 != 0.0) mode |= FNN_MODE_L1;
    c->l1 = (T)hp->l1;
    c->beta1 = (T)hp->beta1;
    c->beta2 = (T)hp->beta2;
    c->w1 = (T)(1.0 - hp->beta1);
    c->omb2 = (T)(1.0 - hp->beta2);
    c->eps = (T)hp->eps;
    /* torch.lerp switches formula at weight 0.5; the loops follow it */
    const int lerp_high = (algorithm == FNN_OPTIM_RMSPROP) ? (1.0 - hp->alpha) >= 0.5
                                                           : (1.0 - hp->beta1) >= 0.5;

    switch (algorithm) {
    case FNN_OPTIM_SGD:
        c->momentum = (T)hp->momentum;
        if (hp->momentum != 0.0) mode |= FNN_MODE_SGD_BUFFER;
        if (opt & FNN_OPT_EMA_MOMENTUM) {
            c->grad_coef = (T)(1.0 - hp->momentum);
        } else {
            c->grad_coef = (T)(1.0 - hp->dampening);
            if (hp->step <= 1) mode |= FNN_MODE_SGD_FIRST;
        }
        if (opt & FNN_OPT_NESTEROV) mode |= FNN_MODE_SGD_NESTEROV;
        break;
    case FNN_OPTIM_ADAGRAD: c->clr = (T)(lr / (1.0 + (step - 1.0) * hp->lr_decay)); break;
    case FNN_OPTIM_RMSPROP:
        c->alpha = (T)hp->alpha;
        c->one_minus_alpha = (T)(1.0 - hp->alpha);
        c->momentum = (T)hp->momentum;
        if (lerp_high) mode |= FNN_MODE_LERP_HIGH;
        if (opt & FNN_OPT_CENTERED) mode |= FNN_MODE_CENTERED;
        if (hp->momentum > 0.0) mode |= FNN_MODE_RMS_BUFFER;
        c->eps_in = (opt & FNN_OPT_EPS_INSIDE_SQRT) ? (T)hp->eps : (T)0;
        c->eps_out = (opt & FNN_OPT_EPS_INSIDE_SQRT) ? (T)0 : (T)hp->eps;
        break;
    case FNN_OPTIM_ADAM: {
        double bc1 = 1.0 - pow(hp->beta1, step), bc2 = 1.0 - pow(hp->beta2, step);
        c->step_size = (T)(lr / bc1);
        c->inv_bc2_sqrt = (T)(1.0 / sqrt(bc2));
        if (lerp_high) mode |= FNN_MODE_LERP_HIGH;
        if (opt & FNN_OPT_AMSGRAD) mode |= FNN_MODE_AMSGRAD;
        break;
    }
    case FNN_OPTIM_NADAM:
        c->bc2 = (T)(1.0 - pow(hp->beta2, step));
        c->coef_grad = (T)(lr * (1.0 - hp->mu) / (1.0 - hp->mu_product));
        c->coef_avg = (T)(lr * hp->mu_next / (1.0 - hp->mu_product * hp->mu_next));
        if (lerp_high) mode |= FNN_MODE_LERP_HIGH;
        break;
    case FNN_OPTIM_RADAM: {
        double beta2_t = pow(hp->beta2, step);
        double bc2 = 1.0 - beta2_t;
        double rho_inf = 2.0 / (1.0 - hp->beta2) - 1.0;
        double rho_t = rho_inf - 2.0 * step * beta2_t / bc2;
        c->bc1 = (T)(1.0 - pow(hp->beta1, step));
        c->bc2_sqrt = (T)sqrt(bc2);
        if (lerp_high) mode |= FNN_MODE_LERP_HIGH;
        if (rho_t > 5.0) {
            double rect = sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                               ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t));
            c->rect_lr = (T)(lr * rect);
            mode |= FNN_MODE_RECTIFIED;
        }
        break;
    }
    default: break;
    }
    c->mode = mode;
}

typedef struct {
    FNN_NAME(fnn_optim_span) span;
    const COEF *coef;
    T *const *params;
    const T *const *grads;
    T *const *s0, *const *s1, *const *s2;
} FNN_NAME(optim_run);

static void FNN_NAME(optim_segment)(const void *vctx, size_t a, size_t begin, size_t end)
{
    const FNN_NAME(optim_run) *r = (const FNN_NAME(optim_run) *)vctx;
    r->span(r->coef, end - begin, r->params[a] + begin, r->grads[a] + begin,
            r->s0 ? r->s0[a] + begin : NULL, r->s1 ? r->s1[a] + begin : NULL,
            r->s2 ? r->s2[a] + begin : NULL);
}

static void FNN_NAME(optim_step)(int algorithm, size_t n_arrays, const size_t *sizes,
                                 T *const *params, const T *const *grads, T *const *s0,
                                 T *const *s1, T *const *s2, const fnn_optim_hparams *hp,
                                 int n_threads, int flags)
{
    if (algorithm < 0 || algorithm >= FNN_OPTIM_N_ALGORITHMS || n_arrays == 0) return;
    COEF coef;
    FNN_NAME(optim_coefficients)(algorithm, hp, &coef);
    FNN_NAME(optim_run) run = {FNN_NAME(optim_table)()->step[algorithm], &coef, params, grads,
                               s0, s1, s2};
    fnn_parallel_segments(n_arrays, sizes, FNN_GRAIN_ELEMENTWISE, n_threads, flags,
                          FNN_NAME(optim_segment), &run);
}

void FNN_NAME(fnn_sgd)(size_t n_arrays, const size_t *sizes, T *const *params,
                       const T *const *grads, T *const *momentum_buffers,
                       const fnn_optim_hparams *hp, int n_threads, int flags)
{
    FNN_NAME(optim_step)(FNN_OPTIM_SGD, n_arrays, sizes, params, grads, momentum_buffers, NULL,
                         NULL, hp, n_threads, flags);
}

void FNN_NAME(fnn_adagrad)(size_t n_arrays, const size_t *sizes, T *const *params,
                           const T *const *grads, T *const *state_sums,
                           const fnn_optim_hparams *hp, int n_threads, int flags)
{
    FNN_NAME(optim_step)(FNN_OPTIM_ADAGRAD, n_arrays, sizes, params, grads, state_sums, NULL,
                         NULL, hp, n_threads, flags);
}

void FNN_NAME(fnn_rmsprop)(size_t n_arrays, const size_t *sizes, T *const *params,
                           const T *const *grads, T *const *square_avgs, T *const *grad_avgs,
                           T *const *momentum_buffers, const fnn_optim_hparams *hp,
                           int n_threads, int flags)
{
    FNN_NAME(optim_step)(FNN_OPTIM_RMSPROP, n_arrays, sizes, params, grads, square_avgs,
                         grad_avgs, momentum_buffers, hp, n_threads, flags);
}

void FNN_NAME(fnn_adam)(size_t n_arrays, const size_t *sizes, T *const *params,
                        const T *const *grads, T *const *exp_avgs, T *const *exp_avg_sqs,
                        T *const *max_exp_avg_sqs, const fnn_optim_hparams *hp, int n_threads,
                        int flags)
{
    FNN_NAME(optim_step)(FNN_OPTIM_ADAM, n_arrays, sizes, params, grads, exp_avgs, exp_avg_sqs,
                         max_exp_avg_sqs, hp, n_threads, flags);
}

void FNN_NAME(fnn_nadam)(size_t n_arrays, const size_t *sizes, T *const *params,
                         const T *const *grads, T *const *exp_avgs, T *const *exp_avg_sqs,
                         const fnn_optim_hparams *hp, int n_threads, int flags)
{
    FNN_NAME(optim_step)(FNN_OPTIM_NADAM, n_arrays, sizes, params, grads, exp_avgs, exp_avg_sqs,
                         NULL, hp, n_threads, flags);
}

void FNN_NAME(fnn_radam)(size_t n_arrays, const size_t *sizes, T *const *params,
                         const T *const *grads, T *const *exp_avgs, T *const *exp_avg_sqs,
                         const fnn_optim_hparams *hp, int n_threads, int flags)
{
    FNN_NAME(optim_step)(FNN_OPTIM_RADAM, n_arrays, sizes, params, grads, exp_avgs, exp_avg_sqs,
                         NULL, hp, n_threads, flags);
}

void FNN_NAME(fnn_lion)(size_t n_arrays, const size_t *sizes, T *const *params,
                        const T *const *grads, T *const *exp_avgs, const fnn_optim_hparams *hp,
                        int n_threads, int flags)
{
    FNN_NAME(optim_step)(FNN_OPTIM_LION, n_arrays, sizes, params, grads, exp_avgs, NULL, NULL,
                         hp, n_threads, flags);
}

/* ---- deterministic reductions ---- */

typedef struct {
    FNN_NAME(fnn_reduce_span) span;
    const T *x;
    size_t n;
    double p;
} FNN_NAME(reduce_run);

static double FNN_NAME(reduce_block)(const void *vctx, size_t b)
{
    const FNN_NAME(reduce_run) *r = (const FNN_NAME(reduce_run) *)vctx;
    size_t lo = b * FNN_REDUCE_BLOCK;
    size_t len = r->n - lo < FNN_REDUCE_BLOCK ? r->n - lo : FNN_REDUCE_BLOCK;
    return r->span(r->x + lo, len, r->p);
}

/* Each fixed block is reduced by the same code whatever the thread count,
 * and the block results are combined in block order (fnn_parallel_reduce),
 * so the result never depends on n_threads. */
static double FNN_NAME(reduce)(int kind, const T *x, size_t n, double p, int n_threads, int flags)
{
    if (n == 0) return 0.0;
    const size_t n_blocks = (n + FNN_REDUCE_BLOCK - 1) / FNN_REDUCE_BLOCK;
    FNN_NAME(reduce_run) run = {FNN_NAME(optim_table)()->reduce[kind], x, n, p};
    const size_t grain_blocks = (FNN_GRAIN_ELEMENTWISE + FNN_REDUCE_BLOCK - 1) / FNN_REDUCE_BLOCK;
    return fnn_parallel_reduce(n_blocks, grain_blocks, n_threads, flags, FNN_NAME(reduce_block),
                               &run, kind == FNN_REDUCE_MAX_ABS ? fnn_combine_max_nan : NULL);
}

double FNN_NAME(fnn_sum_squares)(const T *x, size_t n, int n_threads, int flags)
{
    return FNN_NAME(reduce)(FNN_REDUCE_SUM_SQUARES, x, n, 2.0, n_threads, flags);
}

double FNN_NAME(fnn_sum_abs_pow)(const T *x, size_t n, double p, int n_threads, int flags)
{
    return FNN_NAME(reduce)(FNN_REDUCE_SUM_ABS_POW, x, n, p, n_threads, flags);
}

double FNN_NAME(fnn_max_abs)(const T *x, size_t n, int n_threads, int flags)
{
    return FNN_NAME(reduce)(FNN_REDUCE_MAX_ABS, x, n, 0.0, n_threads, flags);
}

typedef struct {
    FNN_NAME(fnn_map_span) span;
    T *x;
    T a, b;
} FNN_NAME(map_run);

static void FNN_NAME(map_range)(const void *vctx, size_t begin, size_t end)
{
    const FNN_NAME(map_run) *r = (const FNN_NAME(map_run) *)vctx;
    r->span(r->x + begin, end - begin, r->a, r->b);
}

void FNN_NAME(fnn_scale)(T *x, size_t n, double scale, int n_threads, int flags)
{
    FNN_NAME(map_run) run = {FNN_NAME(optim_table)()->scale, x, (T)scale, (T)0};
    fnn_parallel_ranges(n, FNN_GRAIN_ELEMENTWISE, 16, n_threads, flags, FNN_NAME(map_range), &run);
}

void FNN_NAME(fnn_clamp)(T *x, size_t n, double lo, double hi, int n_threads, int flags)
{
    FNN_NAME(map_run) run = {FNN_NAME(optim_table)()->clamp, x, (T)lo, (T)hi};
    fnn_parallel_ranges(n, FNN_GRAIN_ELEMENTWISE, 16, n_threads, flags, FNN_NAME(map_range), &run);
}

#undef T
#undef COEF
#undef TABLE
