/* Internal interface between the augmentation drivers (augment.c) and the
 * per-ISA row loops (core/isa_unit.c). Not installed for users. */
#ifndef FASTNN_AUGMENT_INTERNAL_H
#define FASTNN_AUGMENT_INTERNAL_H

#include "../core/dispatch.h" /* FNN_DECLARE_TABLES */
#include "../fastnn.h"
/* the Philox round macros and fnn_stream of the random family: the same
 * generator, so a seed means the same thing in every family */
#include "../random/philox_internal.h"

#define FNN_TEMPLATE "augment/augment_internal_t.h"
#include "../core/instantiate_dtypes.h"

#endif
