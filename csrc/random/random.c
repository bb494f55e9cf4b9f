/* Random drivers for float and double, and the raw Philox entry points. */
#include <math.h>
#include <string.h>

#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "random_internal.h"

void fnn_philox4x32_10(const uint32_t *counter, const uint32_t *key, uint32_t *out)
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    FNN_PHILOX_10(c0, c1, c2, c3, key[0], key[1]);
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

typedef struct {
    fnn_stream s;
    uint32_t *out;
} words_run;

static void words_range(const void *vctx, size_t begin, size_t end)
{
    const words_run *r = (const words_run *)vctx;
#if defined(FNN_X86_64) && !defined(FNN_NO_SIMD_DISPATCH)
    switch (fnn_simd_level()) {
    case FNN_SIMD_AVX512: fnn_random_table_f32_avx512.words(&r->s, r->out, begin, end); return;
    case FNN_SIMD_AVX2: fnn_random_table_f32_avx2.words(&r->s, r->out, begin, end); return;
    default: break;
    }
#endif
    fnn_random_table_f32_baseline.words(&r->s, r->out, begin, end);
}

void fnn_philox_words(uint32_t *out, size_t n, uint64_t seed, uint64_t offset, int n_threads,
                      int flags)
{
    words_run run = {fnn_make_stream(seed, offset), out};
    fnn_parallel_ranges(n, FNN_RANDOM_GRAIN, FNN_RANDOM_ALIGN, n_threads, flags, words_range,
                        &run);
}

#define FNN_TEMPLATE "random/random_driver_t.h"
#include "../core/instantiate_dtypes.h"
