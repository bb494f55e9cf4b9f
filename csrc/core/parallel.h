/* The one place where fastnn decides how work is split across threads.
 *
 * Every kernel hands its work to fnn_parallel_ranges (contiguous index
 * ranges), fnn_parallel_segments (the same over a list of arrays) or
 * fnn_parallel_reduce (a sum over fixed blocks). The work is cut into chunks
 * whose boundaries depend on the sizes only; the calling thread and the
 * pool's workers claim chunks until none is left, and the call never waits
 * for a worker that has not started (parallel.c explains the runtime).
 * Elementwise results are therefore bitwise independent of the thread
 * count and the schedule, and reductions combine their fixed blocks in
 * block order. */
#ifndef FASTNN_CORE_PARALLEL_H
#define FASTNN_CORE_PARALLEL_H

#include "common.h"
#include "../runtime/fastnn_runtime.h"

/* Below this many elements per thread, extra threads cost more than they
 * save (fork/join is a few microseconds). */
#define FNN_GRAIN_ELEMENTWISE ((size_t)32768)

/* A bit of fnn_parallel_ranges' `flags` that drivers set, not callers (it
 * is not one of the public FNN_FLAG_* bits): each item is long enough to be
 * worth waking a sleeping worker for, e.g. the dense layer's product tiles
 * (millions of multiply-adds each), so the pool is used even for a call of
 * fewer than FNN_COLD_MIN_GRAINS items. */
#define FNN_PARALLEL_LARGE_ITEMS (1 << 16)

/* Chunks per grain: a chunk is a quarter of the smallest amount of work
 * worth a thread, so that the threads that are running share the work
 * evenly and a worker preempted inside a chunk holds a call up briefly. */
#define FNN_CHUNKS_PER_GRAIN ((size_t)4)
/* At most this many chunks per call (the claim word has 16 bits for them). */
#define FNN_MAX_CHUNKS ((size_t)65535)
/* A call of fewer than this many grains stays on the calling thread unless
 * a worker is already spinning: waking a sleeping worker costs more. */
#define FNN_COLD_MIN_GRAINS ((size_t)4)
/* Blocks whose partial results fnn_parallel_reduce keeps on the stack per
 * round; a longer reduction runs in several rounds, combined in order. */
#define FNN_REDUCE_ROUND ((size_t)512)

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

/* Items per chunk for a loop of n_items (a function of the sizes only). */
size_t fnn_parallel_chunk_items(size_t n_items, size_t grain, size_t align);

/* One block's partial result, and how partial results are combined. */
typedef double (*fnn_block_fn)(const void *ctx, size_t block);
typedef double (*fnn_combine_fn)(double acc, double part);
double fnn_combine_sum(double acc, double part);
/* max, NaN if either argument is NaN */
double fnn_combine_max_nan(double acc, double part);

/* Deterministic reduction: fn(ctx, b) for every block b in [0, n_blocks),
 * spread over the threads like fnn_parallel_ranges, then the block results
 * combined in block order, starting from 0 (combine NULL: a sum). The
 * result does not depend on n_threads or on the schedule. */
double fnn_parallel_reduce(size_t n_blocks, size_t grain_blocks, int n_threads, int flags,
                           fnn_block_fn fn, const void *ctx, fnn_combine_fn combine);

/* Denormal control for the calling thread: returns the previous state. */
unsigned fnn_denormals_enter(int flags);
void fnn_denormals_leave(int flags, unsigned saved);

/* Whether the library was built with OpenMP, and its version (0 if not). */
int fnn_openmp_enabled(void);
int fnn_openmp_version(void);
/* omp_get_max_threads() at call time (1 without OpenMP). */
int fnn_openmp_max_threads(void);

#endif
