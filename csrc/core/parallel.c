#include "parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(FNN_X86_64)
#include <xmmintrin.h>
#elif defined(__aarch64__)
#include <stdint.h>
#endif

int fnn_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fnn_openmp_version(void)
{
#ifdef _OPENMP
    return _OPENMP;
#else
    return 0;
#endif
}

int fnn_openmp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

unsigned fnn_denormals_enter(int flags)
{
    if (!(flags & FNN_FLAG_FLUSH_DENORMALS)) return 0;
#if defined(FNN_X86_64)
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); /* FTZ (bit 15) and DAZ (bit 6) */
    return saved;
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ __volatile__("msr fpcr, %0" ::"r"(fpcr | (1ull << 24)));
    return (unsigned)fpcr;
#else
    return 0;
#endif
}

void fnn_denormals_leave(int flags, unsigned saved)
{
    if (!(flags & FNN_FLAG_FLUSH_DENORMALS)) return;
#if defined(FNN_X86_64)
    _mm_setcsr(saved);
#elif defined(__aarch64__)
    uint64_t fpcr = saved;
    __asm__ __volatile__("msr fpcr, %0" ::"r"(fpcr));
#else
    (void)saved;
#endif
}

int fnn_effective_threads(size_t n_items, size_t grain, int n_threads)
{
#ifdef _OPENMP
    if (n_threads < 1) n_threads = 1;
    if (grain < 1) grain = 1;
    size_t useful = (n_items + grain - 1) / grain;
    if (useful < 1) useful = 1;
    if ((size_t)n_threads > useful) n_threads = (int)useful;
    return n_threads;
#else
    (void)n_items;
    (void)grain;
    (void)n_threads;
    return 1;
#endif
}

/* The range owned by thread `tid` of `n_threads`: an equal share of
 * `align`-sized units, so boundaries fall on cache lines. */
static void thread_range(size_t n_items, size_t align, int tid, int n_threads, size_t *begin,
                         size_t *end)
{
    size_t n_units = (n_items + align - 1) / align;
    size_t u0 = n_units * (size_t)tid / (size_t)n_threads;
    size_t u1 = n_units * (size_t)(tid + 1) / (size_t)n_threads;
    size_t b = u0 * align, e = u1 * align;
    *begin = b < n_items ? b : n_items;
    *end = e < n_items ? e : n_items;
}

void fnn_parallel_ranges(size_t n_items, size_t grain, size_t align, int n_threads, int flags,
                         fnn_range_fn fn, const void *ctx)
{
    if (n_items == 0) return;
    if (align < 1) align = 1;
    int nt = fnn_effective_threads(n_items, grain, n_threads);
    if (nt == 1) {
        unsigned saved = fnn_denormals_enter(flags);
        fn(ctx, 0, n_items);
        fnn_denormals_leave(flags, saved);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num();
        int team = omp_get_num_threads(); /* may be fewer than asked for */
        size_t b, e;
        thread_range(n_items, align, tid, team, &b, &e);
        unsigned saved = fnn_denormals_enter(flags);
        if (b < e) fn(ctx, b, e);
        fnn_denormals_leave(flags, saved);
    }
#endif
}

typedef struct {
    size_t n_arrays;
    const size_t *sizes;
    fnn_segment_fn fn;
    const void *ctx;
} segments_ctx;

static void segments_range(const void *vctx, size_t begin, size_t end)
{
    const segments_ctx *c = (const segments_ctx *)vctx;
    size_t offset = 0;
    for (size_t a = 0; a < c->n_arrays && offset < end; ++a) {
        size_t n = c->sizes[a];
        size_t lo = begin > offset ? begin - offset : 0;
        size_t hi = end - offset < n ? end - offset : n;
        if (lo < hi) c->fn(c->ctx, a, lo, hi);
        offset += n;
    }
}

void fnn_parallel_segments(size_t n_arrays, const size_t *sizes, size_t grain, int n_threads,
                           int flags, fnn_segment_fn fn, const void *ctx)
{
    size_t total = 0;
    for (size_t a = 0; a < n_arrays; ++a) total += sizes[a];
    segments_ctx c = {n_arrays, sizes, fn, ctx};
    fnn_parallel_ranges(total, grain, 16, n_threads, flags, segments_range, &c);
}
