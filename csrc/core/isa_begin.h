/* Opens a per-ISA translation unit. Define FNN_ISA to baseline, avx2 or
 * avx512 before including this file, after every system header the unit
 * needs: the target pragma below then applies only to fastnn's own code,
 * which GCC and Clang vectorize for that instruction set.
 *
 * On a non-x86 machine only the baseline unit has content; the others
 * define FNN_ISA_SKIP so their body compiles to nothing. */
#include "common.h"

#define FNN_ISA_ID_baseline 0
#define FNN_ISA_ID_avx2 1
#define FNN_ISA_ID_avx512 2
#define FNN_ISA_ID_(isa) FNN_ISA_ID_##isa
#define FNN_ISA_ID(isa) FNN_ISA_ID_(isa)

#if FNN_ISA_ID(FNN_ISA) == 0
/* baseline: no pragma */
#elif !defined(FNN_X86_64) || defined(FNN_NO_SIMD_DISPATCH)
#define FNN_ISA_SKIP 1
#elif FNN_ISA_ID(FNN_ISA) == 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define FNN_ISA_CLANG_PUSHED 1
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define FNN_ISA_GCC_PUSHED 1
#endif
#elif FNN_ISA_ID(FNN_ISA) == 2
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,prefer-vector-width=512"))), apply_to = function)
#define FNN_ISA_CLANG_PUSHED 1
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,prefer-vector-width=512")
#define FNN_ISA_GCC_PUSHED 1
#endif
#endif
