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
    /* mode FNN_NOISE_*: out ← a + b·z, x + b·z or x·(1 + b·z) */
    void (*normal)(const fnn_stream *s, const FNN_REAL *x, FNN_REAL *out, size_t begin,
                   size_t end, FNN_REAL a, FNN_REAL b, int mode, int streaming);
    void (*dropout)(const fnn_stream *s, const FNN_REAL *x, FNN_REAL *y, uint8_t *mask,
                    size_t begin, size_t end, uint32_t threshold, FNN_REAL scale, int streaming);
    void (*dropout_mask)(const uint8_t *mask, const FNN_REAL *gy, FNN_REAL *gx, size_t begin,
                         size_t end, FNN_REAL scale, int streaming);
    void (*scale)(const FNN_REAL *x, FNN_REAL *y, size_t n, FNN_REAL scale);
    /* in place, over x[0 .. n) */
    void (*normal_icdf)(const FNN_NAME(fnn_icdf_coef) *c, FNN_REAL *x, size_t n);
} FNN_NAME(fnn_random_table);

FNN_DECLARE_TABLES(fnn_random_table);
