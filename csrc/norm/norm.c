/* Normalization drivers for float and double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h> /* _mm_sfence: fnn_stream_fence */
#endif

#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "../core/stream_store.h"
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

/* Asks for the n_bytes at p to be brought into the caches. LayerNorm's
 * forward makes three passes over a row that sits in L1; while the last two
 * run, no demand access trains the hardware prefetcher on the next row, and
 * memory would sit idle. (Prefetching both rows of the backward measured
 * slower: its second pass already streams dx's stores.) */
static void norm_prefetch(const void *p, size_t n_bytes)
{
#if defined(__GNUC__) || defined(__clang__)
    const char *c = (const char *)p;
    for (size_t k = 0; k < n_bytes; k += 64) __builtin_prefetch(c + k, 0, 3);
#else
    (void)p;
    (void)n_bytes;
#endif
}

/* Whether a call that reads `read` bytes and writes `written` bytes writes
 * its output with streaming stores (core/stream_store.h): when its arrays
 * together reach FNN_STREAM_MIN_BYTES they do not stay in the caches beside
 * each other, and a normal store would first read every line of the output
 * from memory. */
static int norm_streams(size_t read, size_t written)
{
    return fnn_streams(read + written);
}

static size_t norm_grain(size_t work_per_item)
{
    if (work_per_item == 0) work_per_item = 1;
    size_t g = (FNN_GRAIN_ELEMENTWISE + work_per_item - 1) / work_per_item;
    return g ? g : 1;
}

#define FNN_TEMPLATE "norm/norm_driver_t.h"
#include "../core/instantiate_dtypes.h"
