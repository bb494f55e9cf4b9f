/* Template (see core/instantiate_dtypes.h): per-dtype coefficients and the
 * per-ISA tables of loops. */

/* Derived once per call and rounded to FNN_REAL. */
typedef struct {
    FNN_REAL l1, l2; /* already multiplied by the call's scale */
    unsigned mode;   /* FNN_RMODE_* bits */
} FNN_NAME(fnn_reg_coef);

typedef struct {
    /* the penalty of w[0 .. n), summed in double; with FNN_RMODE_GRAD its
     * gradient is added into grad[0 .. n) */
    double (*l1l2)(const FNN_NAME(fnn_reg_coef) *c, size_t n, const FNN_REAL *w,
                   FNN_REAL *grad);
} FNN_NAME(fnn_regularizers_table);

FNN_DECLARE_TABLES(fnn_regularizers_table);
