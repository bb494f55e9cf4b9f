/* Activations (forward and backward, fused with a per-channel bias and the
 * bias gradient) and the element passes of the dense layer.
 *
 * The dense layer y = act(x·Wᵀ + b) is split as: the matrix product, done
 * by an optimized BLAS from the Python layer outside any fastnn parallel
 * region (so BLAS and OpenMP threads never nest), then one fused pass of
 * fnn_act_forward that adds the bias and applies the activation. Backward
 * is one fused pass of fnn_act_backward (dz = dy ⊙ act'(·), db = Σ dz) and
 * the two BLAS products dW = dzᵀ·x and dx = dz·W.
 *
 * Layout: arrays are C-contiguous (n_outer, n_channels, n_inner); bias and
 * per-channel PReLU slopes are indexed by the channel. A dense layer's
 * output (N, out_features) is n_outer = N, n_channels = out_features,
 * n_inner = 1. Formulas follow torch.nn; see fastnn/reference/dense.py. */
#ifndef FASTNN_DENSE_H
#define FASTNN_DENSE_H

/* The `act` argument. What backward needs: "input" activations need the
 * pre-activation z, "output" ones can use y = act(z) instead (saving the
 * output costs no extra memory when it is the layer's result anyway). */
enum fnn_activation {
    FNN_ACT_IDENTITY = 0,   /* z                                   output or input */
    FNN_ACT_RELU = 1,       /* max(z, 0)                            output or input */
    FNN_ACT_LEAKY_RELU = 2, /* z > 0 ? z : negative_slope·z         input */
    FNN_ACT_PRELU = 3,      /* z > 0 ? z : w[c]·z, w learnable      input */
    FNN_ACT_ELU = 4,        /* z > 0 ? z : alpha·(exp(z) − 1)       output (alpha > 0) or input */
    FNN_ACT_GELU = 5,       /* z·Φ(z), Φ(z) = (1 + erf(z/√2))/2     input */
    FNN_ACT_GELU_TANH = 6,  /* z·(1 + tanh(√(2/π)(z + 0.044715z³)))/2   input */
    FNN_ACT_SILU = 7,       /* z·σ(z)                               input */
    FNN_ACT_SIGMOID = 8,    /* σ(z) = 1/(1 + exp(−z))               output or input */
    FNN_ACT_TANH = 9,       /* tanh(z)                              output or input */
    FNN_ACT_SOFTPLUS = 10,  /* log(1 + exp(βz))/β, z where βz > threshold   input */
    FNN_ACT_N = 11
};

/* Elementwise functions of fnn_math (exposed to test the vector math). */
enum fnn_math_function {
    FNN_MATH_EXP = 0,
    FNN_MATH_EXPM1 = 1,
    FNN_MATH_TANH = 2,
    FNN_MATH_ERF = 3,
    FNN_MATH_ERFC = 4,
    FNN_MATH_SIGMOID = 5,
    FNN_MATH_LOG1P = 6, /* defined for x in [0, 1] (what softplus uses) */
    FNN_MATH_N = 7
};

/* Scalar hyperparameters; each activation reads the ones it has. */
typedef struct fnn_act_params {
    double negative_slope; /* LeakyReLU */
    double alpha;          /* ELU */
    double beta;           /* Softplus */
    double threshold;      /* Softplus */
} fnn_act_params;

#define FNN_DECLARE_DENSE(T, SFX)                                                                 \
    /* y = act(x + bias[c]); pre ← x + bias[c] when pre != NULL.                  */             \
    /*   x      IN   n_outer·n_channels·n_inner values (may be the same array as pre or y) */    \
    /*   bias   IN   n_channels values or NULL; only with n_inner == 1                     */    \
    /*   slope  IN   PReLU weights: n_slope values, n_slope = 1 or n_channels; else NULL   */    \
    /*   pre    OUT  the pre-activation, or NULL                                           */    \
    /*   y      OUT                                                                        */    \
    void fnn_act_forward_##SFX(int act, const fnn_act_params *params, size_t n_outer,            \
                               size_t n_channels, size_t n_inner, const T *x, const T *bias,      \
                               const T *slope, size_t n_slope, T *pre, T *y, int n_threads,       \
                               int flags);                                                        \
    /* dx = dy ⊙ act'(z); dbias[c] = Σ dx over all but the channel axis;             */          \
    /* dslope[k] = Σ dy·z·[z <= 0] over the elements of slope k (PReLU).              */          \
    /*   dy     IN   gradient of the output (may be the same array as dx)                  */    \
    /*   saved  IN   z, or y = act(z) when saved_is_output (only where enum says "output") */    \
    /*   slope  IN   PReLU weights (n_slope values) or NULL                                */    \
    /*   dx     OUT  gradient of z                                                         */    \
    /*   dbias  OUT  n_channels values or NULL; only with n_inner == 1                     */    \
    /*   dslope OUT  n_slope values or NULL (PReLU)                                        */    \
    /* Sums are reduced in fixed row blocks combined in block order: the result does    */       \
    /* not depend on n_threads. Returns 0, or -1 if scratch memory ran out.          */       \
    int fnn_act_backward_##SFX(int act, const fnn_act_params *params, size_t n_outer,            \
                                size_t n_channels, size_t n_inner, const T *dy, const T *saved,   \
                                int saved_is_output, const T *slope, size_t n_slope, T *dx,       \
                                T *dbias, T *dslope, int n_threads, int flags);                   \
    /* y = fn(x) elementwise, fn an fnn_math_function.                                  */       \
    /*   x IN, y OUT (may be the same array), n values                                  */       \
    void fnn_math_##SFX(int fn, const T *x, T *y, size_t n, int n_threads, int flags);

FNN_DECLARE_DENSE(float, f32)
FNN_DECLARE_DENSE(double, f64)

#endif
