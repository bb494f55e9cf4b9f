/* Instantiates the template named by FNN_TEMPLATE once for float and once
 * for double. Inside the template:
 *   FNN_REAL          the element type
 *   FNN_SFX           f32 or f64, the suffix of every generated name
 *   FNN_NAME(base)    base_f32 / base_f64
 *   FNN_M(fn)         the libm function for FNN_REAL: FNN_M(sqrt) is sqrtf or sqrt
 *   FNN_ISA_NAME(b)   b_f32_<isa> when FNN_ISA is defined (per-ISA units)
 *
 * Usage:
 *   #define FNN_TEMPLATE "optim_spans.h"
 *   #include "../core/instantiate_dtypes.h"
 */
#ifndef FNN_TEMPLATE
#error "define FNN_TEMPLATE before including instantiate_dtypes.h"
#endif

#define FNN_NAME(base) FNN_CAT2(base, FNN_SFX)
#ifdef FNN_ISA
#define FNN_ISA_NAME(base) FNN_CAT3(base, FNN_SFX, FNN_ISA)
#endif

#define FNN_REAL float
#define FNN_SFX f32
#define FNN_IS_F32 1
#define FNN_M(fn) fn##f
#include FNN_TEMPLATE
#undef FNN_REAL
#undef FNN_SFX
#undef FNN_IS_F32
#undef FNN_M

#define FNN_REAL double
#define FNN_SFX f64
#define FNN_IS_F32 0
#define FNN_M(fn) fn
#include FNN_TEMPLATE
#undef FNN_REAL
#undef FNN_SFX
#undef FNN_IS_F32
#undef FNN_M

#undef FNN_NAME
#ifdef FNN_ISA_NAME
#undef FNN_ISA_NAME
#endif
#undef FNN_TEMPLATE
