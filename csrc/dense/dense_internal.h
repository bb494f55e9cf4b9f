/* Internal interface between the dense drivers (dense.c) and the per-ISA
 * element loops (core/isa_unit.c). Not installed for users. */
#ifndef FASTNN_DENSE_INTERNAL_H
#define FASTNN_DENSE_INTERNAL_H

#include "../core/dispatch.h" /* FNN_DECLARE_TABLES */
#include "../fastnn.h"

/* Bits of the forward loops' mode */
#define FNN_DMODE_BIAS 1u   /* z = x + bias[i] */
#define FNN_DMODE_SLOPEV 2u /* PReLU slope per element of the span (else one scalar) */
#define FNN_DMODE_PRE 4u    /* store z */
/* Bits of the backward loops' mode */
#define FNN_DMODE_FROM_OUTPUT 1u /* saved is y = act(z) */
/*      FNN_DMODE_SLOPEV    2u      as above */
#define FNN_DMODE_ACC 4u /* acc_b[i] += dz, acc_s[i] += dy·z·[z <= 0] */

/* Blocking of fastnn's own product (dense/gemm_t.h), per dtype: the
 * micro-tile is MR rows × two vectors; KC values of K per block (a KC×NR
 * panel of B stays in L1), MC rows of A per packed block (in L2), NC
 * columns of B per packed block. NC is a multiple of every level's NR. */
#define FNN_GEMM_MR 6
#define FNN_GEMM_KC_f32 256
#define FNN_GEMM_MC_f32 144
#define FNN_GEMM_NC_f32 1024
#define FNN_GEMM_KC_f64 256
#define FNN_GEMM_MC_f64 72
#define FNN_GEMM_NC_f64 512
#define FNN_GEMM_NR_MAX_f32 32 /* AVX-512 */
#define FNN_GEMM_NR_MAX_f64 16
/* values of the packing buffer of one product with n columns of output and
 * k products per output: the B block (KC × NC), then the A block (MC × KC);
 * sfx is f32 or f64 (FNN_SFX in a template) */
#define FNN_GEMM_KC_MAX_(k, sfx) ((k) < FNN_GEMM_KC_##sfx ? (k) : FNN_GEMM_KC_##sfx)
#define FNN_GEMM_NC_MAX_(n, sfx) ((n) < FNN_GEMM_NC_##sfx ? (n) : FNN_GEMM_NC_##sfx)
#define FNN_GEMM_PACK_VALUES(n, k, sfx) FNN_GEMM_PACK_VALUES_(n, k, sfx)
#define FNN_GEMM_PACK_VALUES_(n, k, sfx)                                                        \
    (FNN_GEMM_KC_MAX_(k, sfx) *                                                               \
     ((FNN_GEMM_NC_MAX_(n, sfx) + FNN_GEMM_NR_MAX_##sfx - 1) / FNN_GEMM_NR_MAX_##sfx *         \
          FNN_GEMM_NR_MAX_##sfx +                                                              \
      FNN_GEMM_MC_##sfx))
/* the most any product needs */
#define FNN_GEMM_PACK_ELEMS_f32 FNN_GEMM_PACK_VALUES(FNN_GEMM_NC_f32, FNN_GEMM_KC_f32, f32)
#define FNN_GEMM_PACK_ELEMS_f64 FNN_GEMM_PACK_VALUES(FNN_GEMM_NC_f64, FNN_GEMM_KC_f64, f64)

#define FNN_TEMPLATE "dense/dense_internal_t.h"
#include "../core/instantiate_dtypes.h"

#endif
