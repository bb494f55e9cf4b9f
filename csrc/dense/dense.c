/* Activation drivers for float and double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "dense_internal.h"
#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif
#include "../core/stream_store.h"

/* values per buffered chunk of a streamed pass (16 KB in float64) */
#define FNN_DENSE_STREAM_CHUNK 2048

#define FNN_TEMPLATE "dense/dense_driver_t.h"
#include "../core/instantiate_dtypes.h"
