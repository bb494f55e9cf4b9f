/* A small program over fastnn's C API, for valgrind (tools/run_valgrind.sh):
 * every call works on heap buffers of odd sizes, in both dtypes, on one and
 * two threads, at every SIMD level the CPU has, so that any read or write past
 * a buffer, or of uninitialized memory, is reported. Exits non-zero if the two
 * thread counts disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastnn.h"
#include "core/dispatch.h"

#define N_ROWS 7
#define N_COLS 37

static int failures = 0;

#define CHECK_SAME(a, b, n, what)                                                              \
    do {                                                                                       \
        if (memcmp((a), (b), (n)) != 0) {                                                      \
            fprintf(stderr, "%s differs between 1 and 2 threads\n", what);                     \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

#define DRIVE(T, SFX)                                                                          \
    static void drive_##SFX(int n_threads, T *results)                                         \
    {                                                                                          \
        const size_t n = N_ROWS * N_COLS;                                                      \
        T *x = malloc(n * sizeof(T)), *y = malloc(n * sizeof(T));                              \
        T *g = malloc(n * sizeof(T)), *m = malloc(n * sizeof(T)), *v = malloc(n * sizeof(T)); \
        T *loss = malloc(N_ROWS * sizeof(T));                                                  \
        double *mean = malloc(N_ROWS * sizeof(double)), *rstd = malloc(N_ROWS * sizeof(double)); \
        int64_t labels[N_ROWS];                                                                \
        for (size_t r = 0; r < N_ROWS; r++) labels[r] = (int64_t)((r * 5) % N_COLS);         \
        fnn_normal_##SFX(x, n, 0.0, 3.0, 42, 0, n_threads, 0);                                 \
        fnn_uniform_##SFX(g, n, -1.0, 1.0, 43, 0, n_threads, 0);                               \
        memset(m, 0, n * sizeof(T));                                                           \
        memset(v, 0, n * sizeof(T));                                                           \
        fnn_math_##SFX(FNN_MATH_EXP, x, y, n, n_threads, 0);                                   \
        memcpy(results, y, n * sizeof(T));                                                     \
        fnn_optim_hparams hp;                                                                  \
        memset(&hp, 0, sizeof hp);                                                             \
        hp.lr = 1e-3; hp.beta1 = 0.9; hp.beta2 = 0.999; hp.eps = 1e-8; hp.step = 1;           \
        size_t sizes[1] = {n};                                                                 \
        T *params[1] = {x}, *ms[1] = {m}, *vs[1] = {v};                                        \
        const T *grads[1] = {g};                                                               \
        fnn_adam_##SFX(1, sizes, params, grads, ms, vs, NULL, &hp, n_threads, 0);              \
        memcpy(results + n, x, n * sizeof(T));                                                 \
        fnn_layer_norm_##SFX(x, N_ROWS, N_COLS, NULL, NULL, 1e-5, y, mean, rstd, n_threads, 0); \
        memcpy(results + 2 * n, y, n * sizeof(T));                                             \
        fnn_softmax_cross_entropy_##SFX(x, N_ROWS, N_COLS, labels, NULL, NULL, -100, 0.1, 0,   \
                                        0, loss, y, n_threads, 0);                             \
        memcpy(results + 3 * n, y, n * sizeof(T));                                             \
        free(x); free(y); free(g); free(m); free(v); free(loss); free(mean); free(rstd);       \
    }

DRIVE(float, f32)
DRIVE(double, f64)

int main(void)
{
    const size_t n = 4 * N_ROWS * N_COLS;
    fnn_simd_init();
    for (int level = 0; level <= fnn_simd_max_level(); level++) {
        fnn_simd_set_level(level);
        float *a32 = malloc(n * sizeof(float)), *b32 = malloc(n * sizeof(float));
        double *a64 = malloc(n * sizeof(double)), *b64 = malloc(n * sizeof(double));
        drive_f32(1, a32);
        drive_f32(2, b32);
        drive_f64(1, a64);
        drive_f64(2, b64);
        CHECK_SAME(a32, b32, n * sizeof(float), "float32");
        CHECK_SAME(a64, b64, n * sizeof(double), "float64");
        free(a32); free(b32); free(a64); free(b64);
        printf("SIMD level %d (%s): done\n", level, fnn_simd_level_name(level));
    }
    return failures != 0;
}
