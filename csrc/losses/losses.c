/* Loss drivers for float and double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "losses_internal.h"

#define FNN_TEMPLATE "losses/losses_driver_t.h"
#include "../core/instantiate_dtypes.h"
