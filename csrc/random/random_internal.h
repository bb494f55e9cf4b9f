/* Internal interface between the random drivers (random.c) and the per-ISA
 * loops (core/isa_unit.c). Not installed for users. */
#ifndef FASTNN_RANDOM_INTERNAL_H
#define FASTNN_RANDOM_INTERNAL_H

#include "../core/dispatch.h" /* FNN_DECLARE_TABLES */
#include "../fastnn.h"
#include "philox_internal.h"

#define FNN_TEMPLATE "random/random_internal_t.h"
#include "../core/instantiate_dtypes.h"

#endif
