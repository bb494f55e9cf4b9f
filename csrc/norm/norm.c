/* Normalization drivers for float and double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "norm_internal.h"

/* Row blocks of LayerNorm's backward: a function of the row count only, so
 * the dgamma / dbeta partial sums never depend on the thread count. */
#define NORM_ROW_BLOCKS 32

/* The lanes of a reduction, added in lane order. */
static double norm_lanes_total(const double *a)
{
    double t = 0.0;
    for (int j = 0; j < FNN_NORM_LANES; ++j) t += a[j];
    return t;
}

static size_t norm_grain(size_t work_per_item)
{
    if (work_per_item == 0) work_per_item = 1;
    size_t g = (FNN_GRAIN_ELEMENTWISE + work_per_item - 1) / work_per_item;
    return g ? g : 1;
}

#define FNN_TEMPLATE "norm/norm_driver_t.h"
#include "../core/instantiate_dtypes.h"
