/* The activation and vector-math loops compiled for the baseline instruction set. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h> /* the non-temporal stores of stream_store */
#endif

#include "dense_internal.h"

#define FNN_ISA baseline
#include "../core/isa_begin.h"
#ifndef FNN_ISA_SKIP
#define FNN_TEMPLATE "dense/dense_spans_t.h"
#include "../core/instantiate_dtypes.h"
#endif
#include "../core/isa_end.h"
