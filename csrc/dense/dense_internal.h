/* Internal interface between the dense drivers (dense.c) and the per-ISA
 * element loops (core/isa_unit.c). Not installed for users. */
#ifndef FASTNN_DENSE_INTERNAL_H
#define FASTNN_DENSE_INTERNAL_H

#include "../core/dispatch.h" /* FNN_DECLARE_TABLES */
#include "../fastnn.h"

/* Bits of the forward loops' mode */
#define FNN_DMODE_BIAS 1u   /* z = x + bias[i] */
#define FNN_DMODE_SLOPEV 2u /* PReLU slope per element of the span (else one scalar) */
#define FNN_DMODE_PRE 4u    /* store z */
/* Bits of the backward loops' mode */
#define FNN_DMODE_FROM_OUTPUT 1u /* saved is y = act(z) */
/*      FNN_DMODE_SLOPEV    2u      as above */
#define FNN_DMODE_ACC 4u /* acc_b[i] += dz, acc_s[i] += dy·z·[z <= 0] */

#define FNN_TEMPLATE "dense/dense_internal_t.h"
#include "../core/instantiate_dtypes.h"

#endif
