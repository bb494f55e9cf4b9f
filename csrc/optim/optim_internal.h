/* Internal interface between the optimizer drivers (optim.c) and the
 * per-ISA element loops (core/isa_unit.c). Not installed for users. */
#ifndef FASTNN_OPTIM_INTERNAL_H
#define FASTNN_OPTIM_INTERNAL_H

#include "../core/dispatch.h" /* FNN_DECLARE_TABLES */
#include "../fastnn.h"

/* Bits of fnn_optim_coef.mode. Each combination gets its own loop (see
 * FNN_SWITCH in core/common.h), so each optimizer packs the options it has
 * into as few bits as it can: bits 0-1 are the penalties for all. */
#define FNN_MODE_WD 1u          /* coupled L2: g ← g + λ·θ */
#define FNN_MODE_L1 2u          /* g ← g + λ₁·sign(θ) */
#define FNN_MODE_LERP_HIGH 4u   /* moving-average weight ≥ 0.5: lerp from the far end */
#define FNN_MODE_AMSGRAD 8u     /* Adam */
#define FNN_MODE_CENTERED 8u    /* RMSprop */
#define FNN_MODE_RMS_BUFFER 16u /* RMSprop with momentum */
#define FNN_MODE_RECTIFIED 8u   /* RAdam: ρₜ > 5 */
#define FNN_MODE_SGD_BUFFER 4u  /* SGD with momentum */
#define FNN_MODE_SGD_FIRST 8u   /* SGD: first step, the buffer takes the gradient */
#define FNN_MODE_SGD_NESTEROV 16u


#define FNN_TEMPLATE "optim/optim_internal_t.h"
#include "../core/instantiate_dtypes.h"

#endif
