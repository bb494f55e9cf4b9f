/* Dropout and noise drivers for float and double, and the thresholds they
 * share. */
#include <math.h>
#include <string.h>

#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "dropout_internal.h"

/* Channel dropout drops row r when word r is below round(p·2³²); p values
 * whose threshold would round to 2³² keep 1 row in 2³². */
static uint32_t fnn_dropout_threshold32(double p)
{
    if (!(p > 0.0)) return 0;
    double t = floor(p * 4294967296.0 + 0.5);
    if (t > 4294967295.0) t = 4294967295.0;
    return (uint32_t)t;
}

/* Elementwise dropout drops element i when its 16-bit half-word is below
 * round(p·2¹⁶) (clamped to 2¹⁶ − 1 for p < 1; p = 1 never reaches here). */
static uint32_t fnn_dropout_threshold16(double p)
{
    if (!(p > 0.0)) return 0;
    double t = floor(p * 65536.0 + 0.5);
    if (t > 65535.0) t = 65535.0;
    return (uint32_t)t;
}

#define FNN_TEMPLATE "dropout/dropout_driver_t.h"
#include "../core/instantiate_dtypes.h"
