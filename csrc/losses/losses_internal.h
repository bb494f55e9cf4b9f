/* Internal interface between the loss drivers (losses.c) and the per-ISA
 * loops (core/isa_unit.c). Not installed for users. */
#ifndef FASTNN_LOSSES_INTERNAL_H
#define FASTNN_LOSSES_INTERNAL_H

#include "../core/dispatch.h" /* FNN_DECLARE_TABLES */
#include "../fastnn.h"

/* Row kinds, indexing fnn_losses_table.row */
enum { FNN_ROW_CE = 0, FNN_ROW_NLL = 1, FNN_ROW_MARGIN = 2, FNN_ROW_ENTROPY = 3, FNN_ROW_N = 4 };
/* Elementwise kinds, indexing fnn_losses_table.elem */
enum { FNN_ELEM_BCE = 0, FNN_ELEM_MSE = 1, FNN_ELEM_N = 2 };

/* Mode bits: each combination gets its own branch-free loop (FNN_SWITCH). */
#define FNN_LMODE_TARGET 1u  /* cross-entropy: target probabilities instead of labels */
#define FNN_LMODE_WEIGHT 2u  /* per-class weights */
#define FNN_LMODE_OFF 4u     /* cross-entropy with labels: smoothing mass off the true class */
#define FNN_LMODE_SQUARED 1u /* multi-margin: p = 2 */
#define FNN_LMODE_POSW 1u    /* BCE: pos_weight */
#define FNN_LMODE_OUT 4u     /* elementwise: per-element losses written */

/* Rows per block of the deterministic row reductions. */
#define FNN_LOSS_ROW_BLOCK ((size_t)16)

#define FNN_TEMPLATE "losses/losses_internal_t.h"
#include "../core/instantiate_dtypes.h"

#endif
