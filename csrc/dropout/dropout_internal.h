/* Internal interface between the dropout drivers (dropout.c) and the
 * per-ISA loops (core/isa_unit.c). Not installed for users. */
#ifndef FASTNN_DROPOUT_INTERNAL_H
#define FASTNN_DROPOUT_INTERNAL_H

#include "../core/dispatch.h" /* FNN_DECLARE_TABLES */
#include "../fastnn.h"
#include "../random/philox_internal.h" /* streams, tile sizes, FNN_NOISE_* */

#define FNN_TEMPLATE "dropout/dropout_internal_t.h"
#include "../core/instantiate_dtypes.h"

#endif
