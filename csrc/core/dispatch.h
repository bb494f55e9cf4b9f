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

/* A family's per-ISA tables. Its spans template defines one table of loops
 * per dtype and ISA, `table`_f32_avx2 and so on (FNN_ISA_NAME(table)), in the
 * units setup.py compiles from core/isa_unit.c. Inside a dtype template
 * (core/instantiate_dtypes.h):
 *   FNN_DECLARE_TABLES(fnn_optim_table);  in <family>_internal_t.h, after the
 *                                         table's typedef: the three tables
 *   FNN_PICK_TABLE(fnn_optim_table)       in the driver: a pointer to the
 *                                         table of fnn_simd_level() */
#if defined(FNN_X86_64) && !defined(FNN_NO_SIMD_DISPATCH)
#define FNN_DECLARE_TABLES(table)                                  \
    extern const FNN_NAME(table) FNN_CAT3(table, FNN_SFX, baseline); \
    extern const FNN_NAME(table) FNN_CAT3(table, FNN_SFX, avx2);     \
    extern const FNN_NAME(table) FNN_CAT3(table, FNN_SFX, avx512)
#define FNN_PICK_TABLE(table)                                                          \
    ((const FNN_NAME(table) *)fnn_simd_pick(&FNN_CAT3(table, FNN_SFX, baseline),       \
                                            &FNN_CAT3(table, FNN_SFX, avx2),           \
                                            &FNN_CAT3(table, FNN_SFX, avx512)))
#else
/* only the baseline unit has content (core/isa_begin.h) */
#define FNN_DECLARE_TABLES(table) extern const FNN_NAME(table) FNN_CAT3(table, FNN_SFX, baseline)
#define FNN_PICK_TABLE(table) (&FNN_CAT3(table, FNN_SFX, baseline))
#endif

/* The entry of fnn_simd_level() among one table per level. */
static inline const void *fnn_simd_pick(const void *baseline, const void *avx2,
                                        const void *avx512)
{
    switch (fnn_simd_level()) {
    case FNN_SIMD_AVX512: return avx512;
    case FNN_SIMD_AVX2: return avx2;
    default: return baseline;
    }
}

#endif
