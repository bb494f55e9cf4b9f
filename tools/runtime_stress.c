/* Stress test of fastnn's thread runtime (csrc/core/parallel.c), built on its
 * own so that it can run under ThreadSanitizer:
 *
 *     cc -O1 -g -fsanitize=thread -std=c11 -Icsrc tools/runtime_stress.c \
 *        csrc/core/parallel.c -lpthread -o runtime_stress && ./runtime_stress
 *
 * (tests/test_runtime.py does this when the compiler supports TSan.)
 * Several caller threads run many parallel calls of assorted sizes, thread
 * counts and grains, some with nested calls inside chunks, with stragglers
 * switched on and off; every call must cover each index exactly once and
 * every reduction must equal the serial one bit for bit. Prints "ok" and
 * exits 0 on success. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"

#define N_CALLERS 3
static int rounds = 300; /* argv[1] */

typedef struct {
    unsigned char *hits;
    int nested;
} cover_ctx;

static void inner_range(const void *vctx, size_t b, size_t e)
{
    unsigned char *hits = (unsigned char *)vctx;
    for (size_t i = b; i < e; ++i) hits[i] += 1;
}

static void cover_range(const void *vctx, size_t b, size_t e)
{
    const cover_ctx *c = (const cover_ctx *)vctx;
    if (c->nested) {
        /* a parallel call from inside a chunk runs on this thread */
        fnn_parallel_ranges(e - b, 1, 1, 4, 0, inner_range, c->hits + b);
    } else {
        for (size_t i = b; i < e; ++i) c->hits[i] += 1;
    }
}

static double block_value(const void *vctx, size_t b)
{
    const double *x = (const double *)vctx;
    return x[b] * 1e-3 + 1.0 / (double)(b + 1);
}

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) & 0xffffffu;
}

static void *caller(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg * 7919u + 1u;
    long failures = 0;
    double *x = malloc(5000 * sizeof(double));
    for (int i = 0; i < 5000; ++i) x[i] = (double)((i * 37) % 101) - 50.0;
    for (int round = 0; round < rounds; ++round) {
        size_t n = 1 + next_rand(&seed) % 200000;
        size_t grain = 1 + next_rand(&seed) % 4096;
        size_t align = (size_t)1 << (next_rand(&seed) % 5);
        int threads = 1 + (int)(next_rand(&seed) % 4);
        unsigned char *hits = calloc(n, 1);
        cover_ctx c = {hits, (int)(next_rand(&seed) % 4 == 0)};
        fnn_parallel_ranges(n, grain, align, threads, 0, cover_range, &c);
        for (size_t i = 0; i < n; ++i)
            if (hits[i] != 1) {
                ++failures;
                break;
            }
        free(hits);

        size_t n_blocks = 1 + next_rand(&seed) % 5000;
        double serial = 0.0;
        for (size_t b = 0; b < n_blocks; ++b) serial += block_value(x, b);
        double got = fnn_parallel_reduce(n_blocks, 1 + next_rand(&seed) % 8, threads, 0,
                                         block_value, x, NULL);
        if (memcmp(&got, &serial, sizeof got) != 0) ++failures;
    }
    free(x);
    return (void *)failures;
}

int main(int argc, char **argv)
{
    long failures = 0;
    if (argc > 1) rounds = atoi(argv[1]);
    for (int mode = 0; mode < 3; ++mode) {
        fnn_runtime_set_test_mode(mode == 1 ? FNN_RUNTIME_TEST_STRAGGLER
                                  : mode == 2 ? FNN_RUNTIME_TEST_ABSENT
                                              : FNN_RUNTIME_TEST_OFF,
                                  20);
        pthread_t t[N_CALLERS];
        for (size_t i = 0; i < N_CALLERS; ++i) pthread_create(&t[i], NULL, caller, (void *)i);
        for (size_t i = 0; i < N_CALLERS; ++i) {
            void *r;
            pthread_join(t[i], &r);
            failures += (long)r;
        }
    }
    fnn_runtime_set_test_mode(FNN_RUNTIME_TEST_OFF, 0);
    uint64_t stats[6];
    fnn_runtime_stats(stats);
    if (failures) {
        printf("FAILED: %ld calls\n", failures);
        return 1;
    }
    printf("ok: %llu jobs, %llu inline, %llu worker chunks, %llu waits, %llu workers\n",
           (unsigned long long)stats[0], (unsigned long long)stats[1],
           (unsigned long long)stats[2], (unsigned long long)stats[3],
           (unsigned long long)stats[4]);
    return 0;
}
