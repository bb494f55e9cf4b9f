/* STREAM triad (McCalpin): a[i] = b[i] + s·c[i]. The benchmark runs it with
 * the same thread splitter as every kernel to measure the memory bandwidth
 * that a memory-bound kernel can hope to reach on this machine. */
#include "../core/parallel.h"
#include "../fastnn.h"

typedef struct {
    double *a;
    const double *b, *c;
    double s;
} triad_run;

static void triad_range(const void *vctx, size_t begin, size_t end)
{
    const triad_run *r = (const triad_run *)vctx;
    double *FNN_RESTRICT a = r->a + begin;
    const double *FNN_RESTRICT b = r->b + begin;
    const double *FNN_RESTRICT c = r->c + begin;
    const double s = r->s;
    const size_t n = end - begin;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

void fnn_stream_triad(double *a, const double *b, const double *c, double scalar, size_t n,
                      int n_threads)
{
    triad_run run = {a, b, c, scalar};
    fnn_parallel_ranges(n, FNN_GRAIN_ELEMENTWISE, 16, n_threads, 0, triad_range, &run);
}

int fnn_api_version(void) { return FASTNN_API_VERSION; }

const char *fnn_compiler_version(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#elif defined(_MSC_VER)
#define FNN_STR_(x) #x
#define FNN_STR(x) FNN_STR_(x)
    return "msvc " FNN_STR(_MSC_VER);
#else
    return "unknown";
#endif
}
