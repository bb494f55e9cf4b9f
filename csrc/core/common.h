/* Shared definitions for every fastnn kernel: restrict, dtype templating,
 * ISA identifiers, the flag bits every kernel accepts and the dtype codes.
 * Every public header (fastnn.h and each family header) includes it.
 *
 * Kernels are written once, over FNN_REAL, in a template file and
 * instantiated for float and double by core/instantiate_dtypes.h. Per-ISA
 * translation units (core/isa_unit.c) compile the same template with a
 * different `#pragma GCC target`, and the dispatch table picks one at run
 * time. */
#ifndef FASTNN_CORE_COMMON_H
#define FASTNN_CORE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__cplusplus)
#define FNN_RESTRICT __restrict__
#else
#define FNN_RESTRICT restrict
#endif

#define FNN_CAT2_(a, b) a##_##b
#define FNN_CAT2(a, b) FNN_CAT2_(a, b)
#define FNN_CAT3(a, b, c) FNN_CAT2(FNN_CAT2(a, b), c)

/* Flag bits accepted in the `flags` argument of every kernel. */
#define FNN_FLAG_FLUSH_DENORMALS 1 /* set FTZ/DAZ on each worker while it runs */

/* dtype codes for the dtype-generic entry points (fnn_optim_step, fnn_reduce, ...) */
#define FNN_DTYPE_FLOAT32 0
#define FNN_DTYPE_FLOAT64 1

/* SIMD levels, lowest first; the value is also the index of a kernel in
 * every per-ISA dispatch table. */
enum fnn_simd_level {
    FNN_SIMD_BASELINE = 0, /* what the compiler targets by default (SSE2 on x86-64) */
    FNN_SIMD_AVX2 = 1,     /* AVX2 + FMA */
    FNN_SIMD_AVX512 = 2,   /* AVX-512 F/BW/DQ/VL with 512-bit vectors */
    FNN_SIMD_N_LEVELS = 3
};

/* Loop specialisation. GCC does not vectorize a select whose condition is
 * loop-invariant, so kernels pass their options as a compile-time bit mask:
 * FNN_SWITCH<N>(mode, CALL) expands CALL(0) ... CALL(N-1) in a switch, and an
 * always-inline loop taking `const unsigned mode` becomes one branch-free,
 * vectorized loop per combination of options. */
#define FNN_CASE_(CALL, k) \
    case k: CALL(k); break;
#define FNN_CASES4_(CALL, b) FNN_CASE_(CALL, b) FNN_CASE_(CALL, b + 1) FNN_CASE_(CALL, b + 2) FNN_CASE_(CALL, b + 3)
#define FNN_CASES16_(CALL, b) \
    FNN_CASES4_(CALL, b) FNN_CASES4_(CALL, b + 4) FNN_CASES4_(CALL, b + 8) FNN_CASES4_(CALL, b + 12)
#define FNN_CASES8_(CALL, b) FNN_CASES4_(CALL, b) FNN_CASES4_(CALL, b + 4)
#define FNN_SWITCH4(mode, CALL) \
    switch ((mode) & 3u) { FNN_CASES4_(CALL, 0) default: break; }
#define FNN_SWITCH8(mode, CALL) \
    switch ((mode) & 7u) { FNN_CASES8_(CALL, 0) default: break; }
#define FNN_SWITCH16(mode, CALL) \
    switch ((mode) & 15u) { FNN_CASES16_(CALL, 0) default: break; }
#define FNN_SWITCH32(mode, CALL) \
    switch ((mode) & 31u) { FNN_CASES16_(CALL, 0) FNN_CASES16_(CALL, 16) default: break; }

#if defined(__x86_64__) || defined(_M_X64)
#define FNN_X86_64 1
#endif

#endif
