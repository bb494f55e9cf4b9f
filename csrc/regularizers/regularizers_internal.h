/* Internal interface between the regularizer drivers (regularizers.c) and
 * the per-ISA loops (core/isa_unit.c). Not installed for users. */
#ifndef FASTNN_REGULARIZERS_INTERNAL_H
#define FASTNN_REGULARIZERS_INTERNAL_H

#include "../core/dispatch.h" /* FNN_DECLARE_TABLES */
#include "../fastnn.h"

/* Mode bits: each combination gets its own branch-free loop (FNN_SWITCH8). */
#define FNN_RMODE_L1 1u
#define FNN_RMODE_L2 2u
#define FNN_RMODE_GRAD 4u /* the gradient is added into grad */

#define FNN_TEMPLATE "regularizers/regularizers_internal_t.h"
#include "../core/instantiate_dtypes.h"

#endif
