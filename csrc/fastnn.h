/* fastnn: fused CPU kernels for training neural networks.
 *
 * The public C interface. Every kernel:
 *   - works on C-contiguous arrays given as pointers and sizes;
 *   - exists for float (suffix _f32) and double (suffix _f64);
 *   - takes `n_threads` (the number of threads to use at most, the calling
 *     thread included; values below 1 mean 1; fastnn's pool adds at most
 *     255 workers to the calling thread;
 *     inputs too small to gain from threads run on the calling thread) and `flags`
 *     (FNN_FLAG_* bits, e.g. FNN_FLAG_FLUSH_DENORMALS);
 *   - gives bitwise-identical results for any n_threads;
 *   - does not validate its arguments: the Python layer does that.
 * Arguments are annotated IN (read), OUT (written) or INOUT (both).
 */
#ifndef FASTNN_H
#define FASTNN_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

#define FASTNN_VERSION "0.1.0"
#define FASTNN_VERSION_MAJOR 0
#define FASTNN_VERSION_MINOR 1
#define FASTNN_VERSION_PATCH 0
/* Bumped whenever a declaration below changes incompatibly. */
#define FASTNN_API_VERSION 1

#ifdef __cplusplus
extern "C" {
#endif

#include "runtime/fastnn_runtime.h"
#include "optim/fastnn_optim.h"
#include "capi/fastnn_capi.h"
#include "losses/fastnn_losses.h"
#include "regularizers/fastnn_regularizers.h"
#include "random/fastnn_random.h"
#include "dropout/fastnn_dropout.h"
#include "norm/fastnn_norm.h"
#include "augment/fastnn_augment.h"
#include "dense/fastnn_dense.h"

/* Library information */
int fnn_api_version(void);
int fnn_simd_level(void);
const char *fnn_simd_level_name(int level);
int fnn_openmp_enabled(void);

#ifdef __cplusplus
}
#endif

#endif
