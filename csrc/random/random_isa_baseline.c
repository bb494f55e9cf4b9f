/* The random loops compiled for the baseline instruction set. */
#include <math.h>
#include <string.h>

#include "random_internal.h"

#define FNN_ISA baseline
#include "../core/isa_begin.h"
#ifndef FNN_ISA_SKIP
#define FNN_TEMPLATE "random/random_spans_t.h"
#include "../core/instantiate_dtypes.h"
#endif
#include "../core/isa_end.h"
