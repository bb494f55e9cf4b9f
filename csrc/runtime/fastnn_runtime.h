/* Run-time information and the bandwidth probe. */
#ifndef FASTNN_RUNTIME_H
#define FASTNN_RUNTIME_H

#include "../core/common.h" /* size_t, int64_t, FNN_FLAG_*, FNN_DTYPE_* */

#ifdef __cplusplus
extern "C" {
#endif

/* STREAM triad a[i] = b[i] + scalar·c[i] (a OUT; b, c IN), 24 bytes per element. */
void fnn_stream_triad(double *a, const double *b, const double *c, double scalar, size_t n,
                      int n_threads);

/* The thread pool (csrc/core/parallel.c). Workers spin this many
 * microseconds for the next call after finishing one, then sleep; the
 * default is 50, or FASTNN_SPIN_US at the first parallel call. */
void fnn_runtime_set_spin_us(long us);
long fnn_runtime_spin_us(void);
/* A section of back-to-back calls (a training loop), counted: between
 * fnn_runtime_hot_begin() and the matching fnn_runtime_hot_end(), workers
 * spin 2 ms for the next call instead of the spin above (unless that is 0),
 * so that calls separated by a little work of the caller's find them hot.
 * They hold a core while they spin. fnn_runtime_hot_depth() is the number of
 * sections open. */
void fnn_runtime_hot_begin(void);
void fnn_runtime_hot_end(void);
int fnn_runtime_hot_depth(void);
/* 1 when kernels run on fastnn's own pool, 0 when on OpenMP fork-join. */
int fnn_runtime_pooled(void);
/* Counters since start: [0] jobs handed to the pool, [1] calls run on the
 * calling thread alone, [2] chunks run by workers, [3] calls that waited for
 * a worker's chunk, [4] workers created, [5] calls run alone because a
 * recent call had to wait for a preempted worker. */
void fnn_runtime_stats(uint64_t *out);

/* Test hooks: FNN_RUNTIME_TEST_STRAGGLER makes every worker sleep `value`
 * microseconds inside each chunk it claims (a preempted worker);
 * FNN_RUNTIME_TEST_ABSENT makes workers ignore every job (threads that never
 * arrive). FNN_RUNTIME_TEST_OFF restores normal operation. */
#define FNN_RUNTIME_TEST_OFF 0
#define FNN_RUNTIME_TEST_STRAGGLER 1
#define FNN_RUNTIME_TEST_ABSENT 2
void fnn_runtime_set_test_mode(int mode, long value);

/* The compiler that built the kernels, e.g. "gcc 12.2.0". */
const char *fnn_compiler_version(void);

#ifdef __cplusplus
}
#endif

#endif
