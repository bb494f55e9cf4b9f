/* The augmentation row loops compiled for the avx512 instruction set. */
#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "augment_internal.h"

#define FNN_ISA avx512
#include "../core/isa_begin.h"
#ifndef FNN_ISA_SKIP
#define FNN_TEMPLATE "augment/augment_spans_t.h"
#include "../core/instantiate_dtypes.h"
#endif
#include "../core/isa_end.h"
