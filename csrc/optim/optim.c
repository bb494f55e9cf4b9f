/* Optimizer drivers for float and double, and the dtype-generic entry. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "optim_internal.h"

#define FNN_TEMPLATE "optim/optim_driver_t.h"
#include "../core/instantiate_dtypes.h"

void fnn_optim_step(int algorithm, int dtype, size_t n_arrays, const size_t *sizes,
                    void *const *params, const void *const *grads, void *const *state0,
                    void *const *state1, void *const *state2, const fnn_optim_hparams *hp,
                    int n_threads, int flags)
{
    if (dtype == FNN_DTYPE_FLOAT32)
        optim_step_f32(algorithm, n_arrays, sizes, (float *const *)params,
                       (const float *const *)grads, (float *const *)state0,
                       (float *const *)state1, (float *const *)state2, hp, n_threads, flags);
    else if (dtype == FNN_DTYPE_FLOAT64)
        optim_step_f64(algorithm, n_arrays, sizes, (double *const *)params,
                       (const double *const *)grads, (double *const *)state0,
                       (double *const *)state1, (double *const *)state2, hp, n_threads, flags);
}
