/* Template (see core/instantiate_dtypes.h): the per-ISA table of dropout
 * and noise loops. Every span works on elements [begin, end) of arrays
 * given by their base pointers, with begin a multiple of FNN_RANDOM_ALIGN;
 * `streaming` writes the output with streaming stores (large outputs). */

typedef struct {
    void (*dropout)(const fnn_stream *s, const FNN_REAL *x, FNN_REAL *y, uint8_t *mask,
                    size_t begin, size_t end, uint32_t threshold, FNN_REAL scale, int streaming);
    void (*dropout_mask)(const uint8_t *mask, const FNN_REAL *gy, FNN_REAL *gx, size_t begin,
                         size_t end, FNN_REAL scale, int streaming);
    void (*scale)(const FNN_REAL *x, FNN_REAL *y, size_t n, FNN_REAL scale);
    /* mode FNN_NOISE_ADD: y ← x + std·z; FNN_NOISE_MUL: y ← x·(1 + std·z) */
    void (*noise)(const fnn_stream *s, const FNN_REAL *x, FNN_REAL *y, size_t begin, size_t end,
                  FNN_REAL std, int mode, int streaming);
} FNN_NAME(fnn_dropout_table);

FNN_DECLARE_TABLES(fnn_dropout_table);
