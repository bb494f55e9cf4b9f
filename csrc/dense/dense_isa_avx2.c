/* The activation and vector-math loops compiled for the avx2 instruction set. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h> /* the non-temporal stores of stream_store */
#endif

#include "dense_internal.h"

#define FNN_ISA avx2
#include "../core/isa_begin.h"
#ifndef FNN_ISA_SKIP
/* a·b + c as one fused multiply-add, rounded once: the activations run
 * about 20% faster. The two FMA levels (AVX2, AVX-512) still agree bit
 * for bit; the baseline level rounds twice and may differ from them in
 * the last bit, within the same documented error bounds. (The other
 * families keep -ffp-contract=off: every level bitwise identical.) */
#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=fast")
#endif
#if defined(__GNUC__) && !defined(__clang__)
/* GCC's generic tuning refuses gathers, so the float64 erfc table lookup
 * would not vectorize; a tuning that allows them (popped by isa_end.h). */
#pragma GCC target("tune=haswell")
#endif
#define FNN_TEMPLATE "dense/dense_spans_t.h"
#include "../core/instantiate_dtypes.h"
#endif
#include "../core/isa_end.h"
