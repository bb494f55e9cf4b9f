/* The one place where fastnn decides how work is split across threads.
 *
 * Every kernel hands its work to fnn_parallel_ranges (contiguous index
 * ranges) or fnn_parallel_segments (the same over a list of arrays). The
 * split is OpenMP `schedule(static)`-like: each thread gets one contiguous
 * range, so an element is always processed by the same code path whatever
 * the thread count, and elementwise results are bitwise independent of
 * it. Reductions use fnn_parallel_ranges over fixed-size blocks whose
 * partial results the caller combines in block order. */
#ifndef FASTNN_CORE_PARALLEL_H
#define FASTNN_CORE_PARALLEL_H

#include "common.h"

/* Below this many elements per thread, extra threads cost more than they
 * save (fork/join is a few microseconds). */
#define FNN_GRAIN_ELEMENTWISE ((size_t)32768)

/* Size of the fixed blocks that deterministic reductions are split into. */
#define FNN_REDUCE_BLOCK ((size_t)8192)
/* Outputs of at least this many bytes are written with streaming stores
 * (core/stream_store.h): half the last-level cache of a typical server
 * CPU, about where a fresh output stops fitting beside its inputs. */
#define FNN_STREAM_MIN_BYTES ((size_t)16 << 20)

/* Whether an output of n_bytes is written with streaming stores. */
static inline int fnn_streams(size_t n_bytes) { return n_bytes >= FNN_STREAM_MIN_BYTES; }

typedef void (*fnn_range_fn)(const void *ctx, size_t begin, size_t end);
typedef void (*fnn_segment_fn)(const void *ctx, size_t array, size_t begin, size_t end);

/* Number of threads a loop of n_items with the given grain will use. */
int fnn_effective_threads(size_t n_items, size_t grain, int n_threads);

/* Calls fn(ctx, begin, end) over contiguous ranges covering [0, n_items),
 * one per thread. Range boundaries are multiples of `align` items. */
void fnn_parallel_ranges(size_t n_items, size_t grain, size_t align, int n_threads, int flags,
                         fnn_range_fn fn, const void *ctx);

/* Treats n_arrays arrays of the given sizes as one index space, splits it
 * like fnn_parallel_ranges, and calls fn(ctx, array, begin, end) for each
 * piece of each array a thread owns. */
void fnn_parallel_segments(size_t n_arrays, const size_t *sizes, size_t grain, int n_threads,
                           int flags, fnn_segment_fn fn, const void *ctx);

/* Denormal control for the calling thread: returns the previous state. */
unsigned fnn_denormals_enter(int flags);
void fnn_denormals_leave(int flags, unsigned saved);

/* Whether the library was built with OpenMP, and its version (0 if not). */
int fnn_openmp_enabled(void);
int fnn_openmp_version(void);
/* omp_get_max_threads() at call time (1 without OpenMP). */
int fnn_openmp_max_threads(void);

#endif
