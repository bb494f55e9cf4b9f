/* Template (see core/instantiate_dtypes.h): per-dtype constants and the
 * per-ISA tables of normalization loops. */

/* Per-channel constants of one loop, already rounded to FNN_REAL. Each
 * points at one value (a plane of one channel) or, with FNN_NM_COLS, at one
 * value per element of the row. The mean is split as m_hi + m_lo so that
 * x − mean is exact to FNN_REAL rounding even when |mean| ≫ std. */
typedef struct {
    const FNN_REAL *m_hi, *m_lo;   /* training: centred pre-activation */
    const FNN_REAL *scale, *shift; /* pre-activation z = centred·scale + shift */
    /* backward: dx = (dy·k0 − c0)·k1 − centred·k2; subtracting the mean gradient c0
     * before scaling keeps dx exactly 0 where the two cancel */
    const FNN_REAL *k0, *k1, *k2, *c0;
} FNN_NAME(fnn_norm_cst);

typedef struct {
    /* acc[j] += x[i] over lanes (see FNN_NORM_LANES) */
    void (*sum)(const FNN_REAL *x, size_t n, double *acc);
    void (*sqdev)(const FNN_REAL *x, size_t n, double mean, double *acc);
    /* mean[j], m2[j] = Σ (x − mean)² of the w columns x[i·ld + j] over rows i (the
     * s = 1 layout), in one pass; s1, s2 are w doubles of scratch */
    void (*col_stats)(const FNN_REAL *x, size_t rows, size_t w, size_t ld, double *mean,
                      double *m2, double *s1, double *s2);
    /* y = z or max(z, 0) */
    void (*apply)(const FNN_REAL *x, FNN_REAL *y, size_t n, const FNN_NAME(fnn_norm_cst) *c,
                  unsigned mode);
    /* Σ dy', Σ dy'·(x − mean) with dy' the (masked) gradient */
    void (*bwd_sums)(const FNN_REAL *dy, const FNN_REAL *x, size_t n, double mean,
                     const FNN_NAME(fnn_norm_cst) *c, double *acc_dy, double *acc_dyx,
                     unsigned mode);
    void (*col_bwd_sums)(const FNN_REAL *dy, const FNN_REAL *x, size_t n, const double *mean,
                         const FNN_NAME(fnn_norm_cst) *c, double *acc_dy, double *acc_dyx,
                         unsigned mode);
    void (*dx)(const FNN_REAL *dy, const FNN_REAL *x, FNN_REAL *dx, size_t n,
               const FNN_NAME(fnn_norm_cst) *c, unsigned mode);
    /* LayerNorm rows; streaming: write the output with streaming stores */
    void (*ln_apply)(const FNN_REAL *x, FNN_REAL *y, size_t n, FNN_REAL m_hi, FNN_REAL m_lo,
                     FNN_REAL rstd, const FNN_REAL *gamma, const FNN_REAL *beta, unsigned mode,
                     int streaming);
    /* Σ h, Σ h·(x − mean) (h = dy·gamma, gamma in double), and with FNN_LN_PARTIAL
     * the row's terms of the dgamma / dbeta partial sums added to part_g / part_b */
    void (*ln_bwd_sums)(const FNN_REAL *dy, const FNN_REAL *x, size_t n, double mean,
                        double rstd, const double *gamma, double *acc_a, double *acc_b,
                        double *part_g, double *part_b, unsigned mode);
    void (*ln_dx)(const FNN_REAL *dy, const FNN_REAL *x, FNN_REAL *dx, size_t n, FNN_REAL m_hi,
                  FNN_REAL m_lo, FNN_REAL rstd, FNN_REAL k2, FNN_REAL c0, const FNN_REAL *gamma,
                  unsigned mode);
    /* apply over rows × w columns ld apart, constants per column */
    void (*col_apply)(const FNN_REAL *x, FNN_REAL *y, size_t rows, size_t w, size_t ld,
                      const FNN_NAME(fnn_norm_cst) *c, unsigned mode);
} FNN_NAME(fnn_norm_table);

FNN_DECLARE_TABLES(fnn_norm_table);
