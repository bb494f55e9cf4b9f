/* Template (see core/instantiate_dtypes.h): per-dtype coefficients and the
 * per-ISA tables of loops. */

/* Everything a loop needs, derived once per call and rounded to FNN_REAL. */
typedef struct {
    size_t n_classes;
    const FNN_REAL *weight;     /* per-class (rows) or periodic (elementwise), or NULL */
    const FNN_REAL *pos_weight; /* BCE, periodic, or NULL */
    size_t period;              /* elementwise: weight[i % period] */
    FNN_REAL scale;             /* gradient factor: 1/denominator for the mean, else 1 */
    FNN_REAL a, b;              /* smoothing: q' = a·q + b */
    FNN_REAL sum_weight;        /* Σ_c weight[c] (labels with weights) */
    FNN_REAL margin, div;       /* multi-margin; div = K or 1 */
    unsigned mode;
} FNN_NAME(fnn_loss_coef);

/* One row: returns its (unscaled) loss and writes its gradient g. */
typedef FNN_REAL (*FNN_NAME(fnn_loss_row))(const FNN_NAME(fnn_loss_coef) *c, const FNN_REAL *z,
                                           int64_t label, const FNN_REAL *q, FNN_REAL *g);
/* Elements [start, start + n) of a flat array (start locates the periodic
 * weights): returns their summed loss, writes grad (and loss when asked). */
typedef double (*FNN_NAME(fnn_loss_elem))(const FNN_NAME(fnn_loss_coef) *c, size_t start, size_t n,
                                          const FNN_REAL *x, const FNN_REAL *y, FNN_REAL *loss,
                                          FNN_REAL *g);

typedef struct {
    FNN_NAME(fnn_loss_row) row[FNN_ROW_N];
    FNN_NAME(fnn_loss_elem) elem[FNN_ELEM_N];
} FNN_NAME(fnn_losses_table);

FNN_DECLARE_TABLES(fnn_losses_table);
