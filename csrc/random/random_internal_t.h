/* Template (see core/instantiate_dtypes.h): the per-ISA table of random
 * loops. Every span works on elements [begin, end) of arrays given by
 * their base pointers, with begin a multiple of FNN_RANDOM_ALIGN. */

/* Truncated normal by inversion: the constants of one call. */
typedef struct {
    double p_lo, p_span, mean, std; /* x ← mean + std·Φ⁻¹(p_lo + p_span·u) ... */
    FNN_REAL lo, hi;                /* ... clamped to [lo, hi] */
} FNN_NAME(fnn_icdf_coef);

typedef struct {
    void (*words)(const fnn_stream *s, uint32_t *out, size_t begin, size_t end);
    /* streaming: write the output with streaming stores (large outputs) */
    void (*uniform)(const fnn_stream *s, FNN_REAL *out, size_t begin, size_t end, FNN_REAL low,
                    FNN_REAL range, int streaming);
    void (*normal)(const fnn_stream *s, FNN_REAL *out, size_t begin, size_t end, FNN_REAL mean,
                   FNN_REAL std, int streaming);
    /* in place, over x[0 .. n) */
    void (*normal_icdf)(const FNN_NAME(fnn_icdf_coef) *c, FNN_REAL *x, size_t n);
} FNN_NAME(fnn_random_table);

FNN_DECLARE_TABLES(fnn_random_table);
