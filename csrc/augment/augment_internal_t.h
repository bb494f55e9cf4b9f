/* Template (see core/instantiate_dtypes.h): the per-ISA table of
 * augmentation row loops. */

typedef struct {
    /* o[k] = src[-k] for k < n: a row read backwards (horizontal flip) */
    void (*reverse)(const FNN_REAL *src, FNN_REAL *o, size_t n);
    /* o[k] = a·x[k] + b */
    void (*axpb)(const FNN_REAL *x, FNN_REAL *o, size_t n, FNN_REAL a, FNN_REAL b);
    /* one output row of a bilinear warp of the plane src (h, w): output
     * pixel k samples (sx0 + k·dsx, sy0 + k·dsy), zeros outside */
    void (*warp_row)(const FNN_REAL *src, size_t h, size_t w, FNN_REAL *o, size_t n, double sx0,
                     double dsx, double sy0, double dsy);
    /* the same for any plane size (warp_row needs h·w < 2³¹) */
    void (*warp_row_big)(const FNN_REAL *src, size_t h, size_t w, FNN_REAL *o, size_t n,
                         double sx0, double dsx, double sy0, double dsy);
    /* out[k] = word first + k of the stream, k < n */
    void (*words)(const fnn_stream *s, uint32_t *out, uint64_t first, size_t n);
    /* y[i] = x[i] + sigma·z, z the standard normal first + i of the stream
     * (the random family's mapping for this dtype), computed in double */
    void (*snr_row)(const fnn_stream *s, const FNN_REAL *x, FNN_REAL *y, size_t n, uint64_t first,
                    double sigma);
    /* Σ x[k]² in double, 16 fixed lanes */
    double (*sum_sq)(const FNN_REAL *x, size_t n);
} FNN_NAME(fnn_augment_table);

FNN_DECLARE_TABLES(fnn_augment_table);
