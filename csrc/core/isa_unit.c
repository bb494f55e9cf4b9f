/* The per-ISA translation unit of every kernel family. setup.py compiles this
 * one file once per row of its ISA_UNITS table and per SIMD level, with
 *   -DFNN_ISA=baseline|avx2|avx512
 *   -DFNN_INTERNAL="optim/optim_internal.h"  the family's internal header
 *   -DFNN_SPANS="optim/optim_spans_t.h"      its loops, a dtype template that
 *                                            defines FNN_ISA_NAME(fnn_optim_table)
 * and the row's options, which apply at the avx2 and avx512 levels only:
 *   -DFNN_FP_CONTRACT_FAST  contract a·b + c into one fused multiply-add,
 *                           rounded once. The levels with FMA (AVX2, AVX-512)
 *                           still agree bit for bit; the baseline level rounds
 *                           twice and may differ from them in the last bit.
 *                           Every other family keeps -ffp-contract=off: all its
 *                           levels give bitwise-identical results.
 *   -DFNN_TUNE_GATHERS      GCC: tune for a CPU of the level (Haswell, Skylake-X)
 *                           instead of the generic tuning, which refuses gathers
 *                           (a table lookup would not vectorize).
 * The driver picks one of the tables at each call (FNN_PICK_TABLE in
 * core/dispatch.h). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h> /* the intrinsics of integer and data-movement loops, streaming stores */
#endif

#if !defined(FNN_ISA) || !defined(FNN_INTERNAL) || !defined(FNN_SPANS)
#error "core/isa_unit.c is compiled by setup.py with FNN_ISA, FNN_INTERNAL and FNN_SPANS defined"
#endif

#include FNN_INTERNAL

#include "isa_begin.h"
#ifndef FNN_ISA_SKIP
#if defined(FNN_FP_CONTRACT_FAST) && FNN_ISA_ID(FNN_ISA) >= 1
#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=fast")
#endif
#endif
#if defined(FNN_TUNE_GATHERS) && defined(__GNUC__) && !defined(__clang__)
/* popped with the target by isa_end.h */
#if FNN_ISA_ID(FNN_ISA) == 1
#pragma GCC target("tune=haswell")
#elif FNN_ISA_ID(FNN_ISA) == 2
#pragma GCC target("tune=skylake-avx512")
#endif
#endif
#define FNN_TEMPLATE FNN_SPANS
#include "instantiate_dtypes.h"
#endif
#include "isa_end.h"
