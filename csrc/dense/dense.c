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

/* Outputs of at least this many bytes written by the flat elementwise
 * passes (standalone activations and their backward) use streaming stores:
 * with the input, they no longer fit in a 32 MB last-level cache. */
#define FNN_DENSE_STREAM_BYTES ((size_t)8 << 20)
/* values per buffered chunk of a streamed pass (16 KB in float64) */
#define FNN_DENSE_STREAM_CHUNK 2048

/* Orders the streaming stores of a thread before the region's barrier. */
static inline void fnn_dense_store_fence(void)
{
#if defined(__x86_64__) || defined(_M_X64)
    _mm_sfence();
#endif
}

#define FNN_TEMPLATE "dense/dense_driver_t.h"
#include "../core/instantiate_dtypes.h"
