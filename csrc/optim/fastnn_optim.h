/* Fused optimizer updates: one pass over memory per step, in place.
 *
 * Every optimizer updates a list of n_arrays parameter arrays at once (the
 * arrays of a whole model in one call); a single array is n_arrays = 1.
 * The per-array pointer lists are indexed by array; the state roles of
 * each optimizer are given below. Formulas follow torch.optim; see
 * fastnn/reference/optim.py for each one written out in NumPy.
 *
 * State before the first step (hp->step = 1; a step <= 1 counts as the first):
 * the caller fills every state array with zeros (Adagrad's state_sum with
 * its initial accumulator value), as torch.optim creates them; the kernels
 * read it. The exception is SGD's momentum buffer without
 * FNN_OPT_EMA_MOMENTUM: the first step sets it to the gradient and never
 * reads it, as torch does. Parameters, gradients and states are separate
 * arrays (no two may overlap). */
#ifndef FASTNN_OPTIM_H
#define FASTNN_OPTIM_H

#include "../core/common.h" /* size_t, int64_t, FNN_FLAG_*, FNN_DTYPE_* */

#ifdef __cplusplus
extern "C" {
#endif

/* Which optimizer: the `algorithm` argument of fnn_optim_step. */
enum fnn_optim_algorithm {
    FNN_OPTIM_SGD = 0,     /* state0: momentum_buffer (NULL if momentum == 0) */
    FNN_OPTIM_ADAGRAD = 1, /* state0: state_sum */
    FNN_OPTIM_RMSPROP = 2, /* state0: square_avg, state1: grad_avg (centered),
                              state2: momentum_buffer (momentum > 0) */
    FNN_OPTIM_ADAM = 3,    /* state0: exp_avg, state1: exp_avg_sq, state2: max_exp_avg_sq (amsgrad) */
    FNN_OPTIM_NADAM = 4,   /* state0: exp_avg, state1: exp_avg_sq */
    FNN_OPTIM_RADAM = 5,   /* state0: exp_avg, state1: exp_avg_sq */
    FNN_OPTIM_LION = 6,    /* state0: exp_avg */
    FNN_OPTIM_N_ALGORITHMS = 7
};

/* Option bits of fnn_optim_hparams.options */
#define FNN_OPT_MAXIMIZE 0x01        /* ascend: the gradient is negated first */
#define FNN_OPT_DECOUPLED_WD 0x02    /* θ ← θ·(1 − lr·weight_decay) instead of g ← g + weight_decay·θ */
#define FNN_OPT_NESTEROV 0x04        /* SGD */
#define FNN_OPT_AMSGRAD 0x08         /* Adam */
#define FNN_OPT_CENTERED 0x10        /* RMSprop */
#define FNN_OPT_EPS_INSIDE_SQRT 0x20 /* RMSprop: θ ← θ − lr·g/√(v + ε) */
#define FNN_OPT_EMA_MOMENTUM 0x40    /* SGD: b ← μ·b + (1 − μ)·g, from b = 0 */

/* Hyperparameters of one step. Each optimizer reads the fields it needs. */
typedef struct fnn_optim_hparams {
    double lr;
    double beta1, beta2; /* Adam, NAdam, RAdam, Lion */
    double eps;          /* Adagrad, RMSprop, Adam, NAdam, RAdam */
    double momentum;     /* SGD, RMSprop */
    double dampening;    /* SGD */
    double alpha;        /* RMSprop: smoothing constant */
    double lr_decay;     /* Adagrad */
    double weight_decay; /* L2 penalty (coupled) or decoupled decay, see FNN_OPT_DECOUPLED_WD */
    double l1;           /* L1 penalty: g ← g + l1·sign(θ) */
    double mu, mu_next, mu_product; /* NAdam: μ_t, μ_{t+1} and ∏_{i≤t} μ_i */
    int64_t step;        /* 1-based index of this update */
    unsigned options;    /* FNN_OPT_* bits */
} fnn_optim_hparams;

/* The dtype-generic entry point behind every optimizer below.
 *   algorithm  IN     an fnn_optim_algorithm
 *   dtype      IN     FNN_DTYPE_FLOAT32 or FNN_DTYPE_FLOAT64
 *   sizes      IN     n_arrays element counts
 *   params     INOUT  n_arrays parameter arrays
 *   grads      IN     n_arrays gradient arrays
 *   state0..2  INOUT  n_arrays state arrays per role, or NULL when unused */
void fnn_optim_step(int algorithm, int dtype, size_t n_arrays, const size_t *sizes,
                    void *const *params, const void *const *grads, void *const *state0,
                    void *const *state1, void *const *state2, const fnn_optim_hparams *hp,
                    int n_threads, int flags);

/* Dtype-generic entries of the gradient-clipping kernels below.
 *   kind  IN  FNN_REDUCE_SUM_SQUARES (Σx²), FNN_REDUCE_SUM_ABS_POW (Σ|x|^p) or
 *             FNN_REDUCE_MAX_ABS (max |x|, NaN if any x is NaN)
 * Accumulation is in double, in fixed blocks combined in order. */
enum { FNN_REDUCE_SUM_SQUARES = 0, FNN_REDUCE_SUM_ABS_POW = 1, FNN_REDUCE_MAX_ABS = 2, FNN_REDUCE_N = 3 };
double fnn_reduce(int kind, int dtype, const void *x, size_t n, double p, int n_threads, int flags);
/* x ← x·scale (INOUT x) */
void fnn_scale(int dtype, void *x, size_t n, double scale, int n_threads, int flags);
/* x ← clamp(x, lo, hi), NaN kept (INOUT x) */
void fnn_clamp(int dtype, void *x, size_t n, double lo, double hi, int n_threads, int flags);

/* Typed entry points, one per optimizer and dtype. */
#define FNN_DECLARE_OPTIMIZERS(T, SFX)                                                            \
    void fnn_sgd_##SFX(size_t n_arrays, const size_t *sizes, T *const *params,                   \
                       const T *const *grads, T *const *momentum_buffers,                          \
                       const fnn_optim_hparams *hp, int n_threads, int flags);                     \
    void fnn_adagrad_##SFX(size_t n_arrays, const size_t *sizes, T *const *params,               \
                           const T *const *grads, T *const *state_sums,                            \
                           const fnn_optim_hparams *hp, int n_threads, int flags);                 \
    void fnn_rmsprop_##SFX(size_t n_arrays, const size_t *sizes, T *const *params,               \
                           const T *const *grads, T *const *square_avgs, T *const *grad_avgs,      \
                           T *const *momentum_buffers, const fnn_optim_hparams *hp,                \
                           int n_threads, int flags);                                              \
    void fnn_adam_##SFX(size_t n_arrays, const size_t *sizes, T *const *params,                  \
                        const T *const *grads, T *const *exp_avgs, T *const *exp_avg_sqs,          \
                        T *const *max_exp_avg_sqs, const fnn_optim_hparams *hp, int n_threads,     \
                        int flags);                                                                \
    void fnn_nadam_##SFX(size_t n_arrays, const size_t *sizes, T *const *params,                 \
                         const T *const *grads, T *const *exp_avgs, T *const *exp_avg_sqs,         \
                         const fnn_optim_hparams *hp, int n_threads, int flags);                   \
    void fnn_radam_##SFX(size_t n_arrays, const size_t *sizes, T *const *params,                 \
                         const T *const *grads, T *const *exp_avgs, T *const *exp_avg_sqs,         \
                         const fnn_optim_hparams *hp, int n_threads, int flags);                   \
    void fnn_lion_##SFX(size_t n_arrays, const size_t *sizes, T *const *params,                  \
                        const T *const *grads, T *const *exp_avgs, const fnn_optim_hparams *hp,    \
                        int n_threads, int flags);                                                 \
    /* Deterministic reductions for gradient clipping: the result depends */                     \
    /* only on the data, never on n_threads. */                                                    \
    double fnn_sum_squares_##SFX(const T *x, size_t n, int n_threads, int flags);                 \
    double fnn_sum_abs_pow_##SFX(const T *x, size_t n, double p, int n_threads, int flags);       \
    double fnn_max_abs_##SFX(const T *x, size_t n, int n_threads, int flags);                     \
    /* x ← x·scale, and x ← clamp(x, lo, hi), in place */                                        \
    void fnn_scale_##SFX(T *x, size_t n, double scale, int n_threads, int flags);                 \
    void fnn_clamp_##SFX(T *x, size_t n, double lo, double hi, int n_threads, int flags);

FNN_DECLARE_OPTIMIZERS(float, f32)
FNN_DECLARE_OPTIMIZERS(double, f64)

#ifdef __cplusplus
}
#endif

#endif
