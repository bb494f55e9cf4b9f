/* Template (see core/instantiate_dtypes.h): per-dtype coefficient struct
 * and the per-ISA tables of element loops. */

/* Everything a span needs, derived once per call from fnn_optim_hparams
 * and already rounded to FNN_REAL. */
typedef struct {
    FNN_REAL lr;
    FNN_REAL grad_sign;  /* -1 when maximizing */
    FNN_REAL wd;         /* coupled L2 coefficient (0 when decoupled) */
    FNN_REAL decay;      /* decoupled decay factor 1 − lr·wd (1 when coupled) */
    FNN_REAL l1;
    unsigned mode;       /* FNN_MODE_* bits: which specialised loop runs */
    /* each rounded once from double: w1 = 1 − β1 (lerp weight), omb2 = 1 − β2; the
     * lerp's high branch takes β1 itself, never 1 − w1 */
    FNN_REAL beta1, beta2, w1, omb2;
    FNN_REAL eps;
    /* SGD */
    FNN_REAL momentum, grad_coef; /* b ← momentum·b + grad_coef·g */
    /* Adagrad */
    FNN_REAL clr;
    /* RMSprop */
    FNN_REAL alpha, one_minus_alpha;
    FNN_REAL eps_in, eps_out; /* √(v + eps_in) + eps_out */
    /* Adam, NAdam, RAdam */
    FNN_REAL step_size, bc2_sqrt, inv_bc2_sqrt, bc1, bc2;
    FNN_REAL coef_grad, coef_avg; /* NAdam */
    FNN_REAL rect_lr;             /* RAdam: lr·r_t */
} FNN_NAME(fnn_optim_coef);

typedef void (*FNN_NAME(fnn_optim_span))(const FNN_NAME(fnn_optim_coef) *c, size_t n,
                                         FNN_REAL *FNN_RESTRICT param,
                                         const FNN_REAL *FNN_RESTRICT grad,
                                         FNN_REAL *FNN_RESTRICT s0, FNN_REAL *FNN_RESTRICT s1,
                                         FNN_REAL *FNN_RESTRICT s2);

/* Reductions over one block; `p` is the norm order (sum_abs_pow only). */
typedef double (*FNN_NAME(fnn_reduce_span))(const FNN_REAL *x, size_t n, double p);
/* x ← clamp(x·scale, lo, hi) with either step skipped: kind 0 scales, 1 clamps. */
typedef void (*FNN_NAME(fnn_map_span))(FNN_REAL *x, size_t n, FNN_REAL a, FNN_REAL b);

typedef struct {
    FNN_NAME(fnn_optim_span) step[FNN_OPTIM_N_ALGORITHMS];
    FNN_NAME(fnn_reduce_span) reduce[FNN_REDUCE_N];
    FNN_NAME(fnn_map_span) scale, clamp;
} FNN_NAME(fnn_optim_table);

FNN_DECLARE_TABLES(fnn_optim_table);
