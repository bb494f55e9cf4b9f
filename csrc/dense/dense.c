/* Activation drivers for float and double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "dense_internal.h"

#define FNN_TEMPLATE "dense/dense_driver_t.h"
#include "../core/instantiate_dtypes.h"
