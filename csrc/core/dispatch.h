/* Run-time choice of the SIMD level: one global of libfastnn, which every
 * extension module links. fnn_simd_init() runs when the library is loaded
 * (a constructor in dispatch.c); kernels then read fnn_simd_level() to pick
 * an entry from their per-ISA table. */
#ifndef FASTNN_CORE_DISPATCH_H
#define FASTNN_CORE_DISPATCH_H

#include "common.h"

/* Highest level both this CPU and this build support. */
int fnn_simd_max_level(void);
/* The level kernels use now. */
int fnn_simd_level(void);
/* Sets the level (clamped to fnn_simd_max_level()); returns the level set. */
int fnn_simd_set_level(int level);
/* Chooses the level from the CPU, capped by the FASTNN_SIMD environment
 * variable (baseline, avx2 or avx512) when it is set. */
void fnn_simd_init(void);
const char *fnn_simd_level_name(int level);

#endif
