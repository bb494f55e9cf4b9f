/* Internal interface between the normalization drivers (norm.c) and the
 * per-ISA element loops (core/isa_unit.c). Not installed for users. */
#ifndef FASTNN_NORM_INTERNAL_H
#define FASTNN_NORM_INTERNAL_H

#include "../core/dispatch.h" /* FNN_DECLARE_TABLES */
#include "../fastnn.h"

/* Reductions keep this many double accumulators per pass whatever the ISA:
 * lane j sums elements j, j + LANES, ... in order and the lanes are added in
 * order at the end, so baseline, AVX2 and AVX-512 code agree bitwise. */
#define FNN_NORM_LANES 16
/* Rows per block of the s = 1 layout's column statistics (col_stats): each
 * block is shifted by its first row and merged in block order; the error
 * bound grows as the block's row count squared (see norm_spans_t.h). */
#define FNN_NORM_ROW_BLOCK 64
/* Elements per stack tile of a row written with streaming stores. */
#define FNN_NORM_TILE 1024

/* Bits of the `mode` of the BatchNorm / GroupNorm loops; each combination
 * is its own branch-free loop (FNN_SWITCH16). */
#define FNN_NM_RELU 1u   /* relu on the output / its mask on the gradient */
#define FNN_NM_FOLDED 2u /* pre-activation x·scale + shift (inference) instead of
                            ((x − m_hi) − m_lo)·scale + shift (training) */
#define FNN_NM_COLS 4u   /* constants are arrays indexed like x (s = 1 layout) */
#define FNN_NM_INFER 8u  /* dx = dy·k1: statistics are constants */

/* Bits of the LayerNorm loops */
#define FNN_LN_WEIGHT 1u
#define FNN_LN_BIAS 2u
#define FNN_LN_PARTIAL 4u /* accumulate the dgamma / dbeta partial sums */

#define FNN_TEMPLATE "norm/norm_internal_t.h"
#include "../core/instantiate_dtypes.h"

#endif
