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

double fnn_reduce(int kind, int dtype, const void *x, size_t n, double p, int n_threads, int flags)
{
    if (kind < 0 || kind >= FNN_REDUCE_N) return (double)NAN;
    if (dtype == FNN_DTYPE_FLOAT32) return reduce_f32(kind, (const float *)x, n, p, n_threads, flags);
    return reduce_f64(kind, (const double *)x, n, p, n_threads, flags);
}

void fnn_scale(int dtype, void *x, size_t n, double scale, int n_threads, int flags)
{
    if (dtype == FNN_DTYPE_FLOAT32) fnn_scale_f32((float *)x, n, scale, n_threads, flags);
    else fnn_scale_f64((double *)x, n, scale, n_threads, flags);
}

void fnn_clamp(int dtype, void *x, size_t n, double lo, double hi, int n_threads, int flags)
{
    if (dtype == FNN_DTYPE_FLOAT32) fnn_clamp_f32((float *)x, n, lo, hi, n_threads, flags);
    else fnn_clamp_f64((double *)x, n, lo, hi, n_threads, flags);
}
