/* Regularizer drivers for float and double. */
#include <string.h>

#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "regularizers_internal.h"

#define FNN_TEMPLATE "regularizers/regularizers_driver_t.h"
#include "../core/instantiate_dtypes.h"
