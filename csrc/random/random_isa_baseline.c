/* The random loops compiled for the baseline instruction set. */
#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h> /* SSE2, part of x86-64: streaming stores */
#endif

#include "random_internal.h"

#define FNN_ISA baseline
#include "../core/isa_begin.h"
#ifndef FNN_ISA_SKIP
#define FNN_TEMPLATE "random/random_spans_t.h"
#include "../core/instantiate_dtypes.h"
#endif
#include "../core/isa_end.h"
