/* Activations (forward and backward, fused with a per-channel bias and the
 * bias gradient) and the element passes of the dense layer.
 *
 * The dense layer y = act(x·Wᵀ + b) is fnn_dense_forward: tiles of the
 * BLAS product, each followed by the bias and activation pass while it is
 * in cache. Backward (fnn_dense_backward) is one fused pass of
 * fnn_act_backward (dz = dy ⊙ act'(·), db = Σ dz) and the tiles of the two
 * products dW = dzᵀ·x and dx = dz·W. BLAS runs single-threaded inside
 * fastnn's threads, so the two never multiply.
 *
 * Layout: arrays are C-contiguous (n_outer, n_channels, n_inner); bias and
 * per-channel PReLU slopes are indexed by the channel. A dense layer's
 * output (N, out_features) is n_outer = N, n_channels = out_features,
 * n_inner = 1. Formulas follow torch.nn; see fastnn/reference/dense.py. */
#ifndef FASTNN_DENSE_H
#define FASTNN_DENSE_H

#include "../core/common.h" /* size_t, int64_t, FNN_FLAG_*, FNN_DTYPE_* */

#ifdef __cplusplus
extern "C" {
#endif

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

/* Scalar hyperparameters; each activation reads the ones it has. The
 * `params` argument of every call below may be NULL: torch.nn's defaults
 * (negative_slope 0.01, alpha 1, beta 1, threshold 20), which is also
 * what an activation without hyperparameters (ReLU, GELU, ...) gets. */
typedef struct fnn_act_params {
    double negative_slope; /* LeakyReLU */
    double alpha;          /* ELU */
    double beta;           /* Softplus */
    double threshold;      /* Softplus */
} fnn_act_params;

/* The matrix products of the dense layer: a Fortran BLAS ?gemm with 32-bit
 * integers (LP64), column-major C = alpha·op(A)·op(B) + beta·C, e.g. the
 * sgemm/dgemm of scipy.linalg.cython_blas or sgemm_/dgemm_ of an OpenBLAS
 * library. fnn_dense_forward/backward call it from inside their own
 * parallel region, one tile per call, so it must run single-threaded
 * while they do (fastnn's Python layer limits OpenBLAS to one thread for
 * the call). A member may be NULL when that dtype is not used. */
typedef struct fnn_blas_gemm {
    void (*sgemm)(char *transa, char *transb, int *m, int *n, int *k, float *alpha, float *a,
                  int *lda, float *b, int *ldb, float *beta, float *c, int *ldc);
    void (*dgemm)(char *transa, char *transb, int *m, int *n, int *k, double *alpha, double *a,
                  int *lda, double *b, int *ldb, double *beta, double *c, int *ldc);
} fnn_blas_gemm;

/* Which product the dense layer runs in its tiles (fnn_dense_set_engine).
 * AUTO: fastnn's own packed product where it measured faster than OpenBLAS
 * (float32 at the AVX2 and AVX-512 levels), the BLAS of `gemm` elsewhere; OWN: fastnn's
 * own at every dtype and level; BLAS: the BLAS whenever `gemm` has one.
 * Without a BLAS (gemm NULL, or its member for the dtype NULL) the own
 * product runs whatever the setting. The engine is chosen per call from the
 * dtype, the SIMD level and this setting, never from the thread count, so
 * results stay bitwise identical for any n_threads. */
enum fnn_dense_engine {
    FNN_DENSE_ENGINE_AUTO = 0,
    FNN_DENSE_ENGINE_BLAS = 1,
    FNN_DENSE_ENGINE_OWN = 2
};
/* Sets the engine (one per process, like the SIMD level; FASTNN_DENSE_ENGINE=
 * auto|blas|own sets it when the library is loaded); returns the value set,
 * or -1 for an unknown value (the setting is then unchanged). */
int fnn_dense_set_engine(int engine);
int fnn_dense_get_engine(void);

/* The dense layer, y = act(x·Wᵀ + b), x (n_samples, in_features), W
 * (out_features, in_features) as torch.nn.Linear, y (n_samples,
 * out_features), all C-contiguous, sizes below 2^31.
 *
 * The product is cut into tiles whose shape depends on the sizes only
 * (never on n_threads); each tile is one single-threaded BLAS call by one
 * fastnn thread, followed at once by the bias and activation pass over the
 * tile while it is in cache. Every output is therefore computed by the
 * same calls whatever the thread count: bitwise identical results. */
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
    void fnn_math_##SFX(int fn, const T *x, T *y, size_t n, int n_threads, int flags);          \
    /* y = act(x·Wᵀ + bias); pre ← x·Wᵀ + bias when pre != NULL (the activations */           \
    /* whose backward needs z).                                                       */      \
    /*   gemm   IN   the BLAS product (member for this dtype used), or NULL: see         */    \
    /*               fnn_dense_engine                                                     */    \
    /*   x      IN   n_samples·in_features;  weight IN  out_features·in_features         */    \
    /*   bias   IN   out_features values or NULL                                          */    \
    /*   slope  IN   PReLU weights: n_slope = 1 or out_features values; else NULL         */    \
    /*   pre    OUT  n_samples·out_features or NULL;  y OUT  n_samples·out_features       */    \
    /* With gemm NULL and no memory for the own product's packing buffers, y (and pre) */    \
    /* are set to NaN: the call cannot report it otherwise.                            */    \
    void fnn_dense_forward_##SFX(const fnn_blas_gemm *gemm, int act, const fnn_act_params *params,  \
                                 size_t n_samples, size_t in_features, size_t out_features,       \
                                 const T *x, const T *weight, const T *bias, const T *slope,      \
                                 size_t n_slope, T *pre, T *y, int n_threads, int flags);         \
    /* Backward of fnn_dense_forward: dz = dy ⊙ act'(saved) with the bias (and PReLU */       \
    /* slope) gradients as in fnn_act_backward, then dweight = dzᵀ·x and dx = dz·W.   */       \
    /*   dy     IN   n_samples·out_features (may be the same array as dz)                */    \
    /*   saved  IN   what forward saved: z, or y when saved_is_output                     */    \
    /*   dz     OUT  scratch of n_samples·out_features values                             */    \
    /*   dx     OUT  n_samples·in_features, or NULL to skip the input gradient            */    \
    /*   dweight OUT out_features·in_features; dbias, dslope OUT or NULL                  */    \
    /* Returns 0, or -1 if scratch memory ran out (nothing is then valid).         */          \
    int fnn_dense_backward_##SFX(const fnn_blas_gemm *gemm, int act, const fnn_act_params *params,  \
                                 size_t n_samples, size_t in_features, size_t out_features,       \
                                 const T *dy, const T *x, const T *weight, const T *saved,        \
                                 int saved_is_output, const T *slope, size_t n_slope, T *dz,      \
                                 T *dx, T *dweight, T *dbias, T *dslope, int n_threads,           \
                                 int flags);

FNN_DECLARE_DENSE(float, f32)
FNN_DECLARE_DENSE(double, f64)

#ifdef __cplusplus
}
#endif

#endif
