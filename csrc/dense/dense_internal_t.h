/* Template (see core/instantiate_dtypes.h): per-dtype coefficients and the
 * per-ISA tables of element loops. */

typedef struct {
    FNN_REAL negative_slope, alpha, beta, inv_beta, threshold;
} FNN_NAME(fnn_act_coef);

/* One contiguous span of n elements; bias/slopev point at the span's first
 * channel (NULL when unused), `slope` is the scalar PReLU weight. */
typedef void (*FNN_NAME(fnn_act_fwd_span))(const FNN_NAME(fnn_act_coef) *c, unsigned mode,
                                           size_t n, const FNN_REAL *x, const FNN_REAL *bias,
                                           const FNN_REAL *slopev, FNN_REAL slope, FNN_REAL *pre,
                                           FNN_REAL *y);
typedef void (*FNN_NAME(fnn_act_bwd_span))(const FNN_NAME(fnn_act_coef) *c, unsigned mode,
                                           size_t n, const FNN_REAL *dy, const FNN_REAL *saved,
                                           const FNN_REAL *slopev, FNN_REAL slope, FNN_REAL *dx,
                                           FNN_REAL *acc_b, FNN_REAL *acc_s);
typedef void (*FNN_NAME(fnn_math_span))(size_t n, const FNN_REAL *x, FNN_REAL *y);
/* dst[0:n] = src[0:n] with non-temporal stores where dst is aligned */
typedef void (*FNN_NAME(fnn_stream_span))(size_t n, const FNN_REAL *src, FNN_REAL *dst);

/* fastnn's own product (dense/gemm_t.h): C = A·B with
 * A(i, p) = a[i·a_rs + p·a_cs], B(p, j) = b[p·b_rs + j·b_cs], C row-major
 * (row stride ldc); `pack` holds FNN_GEMM_PACK_VALUES(n, k, <sfx>) values,
 * 64-byte aligned. epilogue(ctx, i0, mi, j0, nj), when not NULL, is called once on
 * every block of C after its last K block (blocks of at most MC rows and NC
 * columns). */
typedef struct {
    size_t m, n, k;
    const FNN_REAL *a;
    ptrdiff_t a_rs, a_cs;
    const FNN_REAL *b;
    ptrdiff_t b_rs, b_cs;
    FNN_REAL *c;
    size_t ldc;
    FNN_REAL *pack;
    void (*epilogue)(const void *ctx, size_t i0, size_t mi, size_t j0, size_t nj);
    const void *ctx;
} FNN_NAME(fnn_gemm_args);
typedef void (*FNN_NAME(fnn_gemm_fn))(const FNN_NAME(fnn_gemm_args) *g);

typedef struct {
    FNN_NAME(fnn_gemm_fn) gemm;
    FNN_NAME(fnn_act_fwd_span) fwd[FNN_ACT_N];
    FNN_NAME(fnn_act_bwd_span) bwd[FNN_ACT_N];
    FNN_NAME(fnn_math_span) math[FNN_MATH_N];
    FNN_NAME(fnn_stream_span) stream;
} FNN_NAME(fnn_dense_table);

FNN_DECLARE_TABLES(fnn_dense_table);
