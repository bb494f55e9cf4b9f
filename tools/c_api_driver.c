/* A small program over fastnn's C API, for valgrind (tools/run_valgrind.sh):
 * random fills, exp, Adam, layer norm, softmax cross-entropy, every
 * augmentation kernel, dropout and a bias + GELU forward and backward;
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
#define N_SLOTS 20 /* results saved per dtype and thread count, N_ROWS·N_COLS values each */

static int failures = 0;

#define CHECK_SAME(a, b, n, what)                                                              \
    do {                                                                                       \
        if (memcmp((a), (b), (n)) != 0) {                                                      \
            fprintf(stderr, "%s differs between 1 and 2 threads\n", what);                     \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

/* append count values of buf to results */
#define SAVE(buf, count)                                                                       \
    do {                                                                                       \
        memcpy(results + k, (buf), (count) * sizeof(*(buf)));                                  \
        k += (count);                                                                          \
    } while (0)

#define DRIVE(T, SFX)                                                                          \
    static void drive_##SFX(int n_threads, T *results)                                         \
    {                                                                                          \
        const size_t n = N_ROWS * N_COLS;                                                      \
        T *x = malloc(n * sizeof(T)), *y = malloc(n * sizeof(T));                              \
        T *g = malloc(n * sizeof(T)), *m = malloc(n * sizeof(T)), *v = malloc(n * sizeof(T)); \
        T *loss = malloc(N_ROWS * sizeof(T));                                                  \
        double *mean = malloc(N_ROWS * sizeof(double)), *rstd = malloc(N_ROWS * sizeof(double)); \
        T *bias = malloc(N_COLS * sizeof(T)), *dbias = malloc(N_COLS * sizeof(T));           \
        uint8_t *mask = malloc(n);                                                             \
        size_t k = 0; /* results saved so far, in values */                                    \
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
        k = 4 * n;                                                                             \
        /* augmentation: x as one (1, 1, N_ROWS, N_COLS) image, or N_ROWS sequences */         \
        fnn_flip_crop_##SFX(x, y, 1, 1, N_ROWS, N_COLS, N_ROWS, N_COLS, 3, 1, 0.5, 0.5, 7, 1,  \
                            n_threads, 0);                                                     \
        SAVE(y, n);                                                                            \
        fnn_flip_crop_##SFX(x, y, 1, 1, N_ROWS, N_COLS, N_ROWS - 2, N_COLS - 4, 5, 0, 1.0,     \
                            1.0, 7, 2, n_threads, 0);                                          \
        SAVE(y, (N_ROWS - 2) * (N_COLS - 4));                                                  \
        fnn_affine_##SFX(x, y, 1, 1, N_ROWS, N_COLS, 40.0, 0.5, 1.5, 0.3, 7, 3, n_threads, 0); \
        SAVE(y, n);                                                                            \
        fnn_color_jitter_##SFX(x, y, N_ROWS, N_COLS, 0.3, 0.4, 7, 4, n_threads, 0);            \
        SAVE(y, n);                                                                            \
        fnn_snr_noise_##SFX(x, y, N_ROWS, N_COLS, 5.0, 7, 5, n_threads, 0);                    \
        SAVE(y, n);                                                                            \
        fnn_time_shift_##SFX(x, y, N_ROWS, N_COLS, 1, 9, 0, 7, 6, n_threads, 0);               \
        SAVE(y, n);                                                                            \
        fnn_time_shift_##SFX(x, y, N_ROWS, N_COLS / 2, 2, 9, 1, 7, 7, n_threads, 0);           \
        SAVE(y, N_ROWS * (N_COLS / 2) * 2);                                                    \
        fnn_element_dropout_##SFX(x, y, N_ROWS, N_COLS, 1, 0.3, 7, 8, n_threads, 0);           \
        SAVE(y, n);                                                                            \
        fnn_neighbor_swap_##SFX(x, y, N_ROWS, N_COLS, 1, 0.3, 7, 9, n_threads, 0);             \
        SAVE(y, n);                                                                            \
        /* dropout with its mask; bias + GELU forward and backward */                          \
        fnn_dropout_##SFX(x, y, mask, n, 0.3, 7, 10, n_threads, 0);                            \
        SAVE(y, n);                                                                            \
        /* the mask is bit-packed: (n + 7)/8 bytes */                                          \
        for (size_t i = 0; i < (n + 7) / 8; i++) results[k + i] = (T)mask[i];                  \
        k += (n + 7) / 8;                                                                      \
        fnn_uniform_##SFX(bias, N_COLS, -1.0, 1.0, 44, 0, n_threads, 0);                       \
        fnn_act_params ap = {0.01, 1.0, 1.0, 20.0};                                            \
        fnn_act_forward_##SFX(FNN_ACT_GELU, &ap, N_ROWS, N_COLS, 1, x, bias, NULL, 0, m, y,    \
                              n_threads, 0);                                                   \
        SAVE(y, n);                                                                            \
        SAVE(m, n);                                                                            \
        if (fnn_act_backward_##SFX(FNN_ACT_GELU, &ap, N_ROWS, N_COLS, 1, g, m, 0, NULL, 0, y,  \
                                   dbias, NULL, n_threads, 0) != 0)                            \
            failures++;                                                                        \
        SAVE(y, n);                                                                            \
        SAVE(dbias, N_COLS);                                                                   \
        if (k > N_SLOTS * n) abort();                                                          \
        free(x); free(y); free(g); free(m); free(v); free(loss); free(mean); free(rstd);       \
        free(bias); free(dbias); free(mask);                                                   \
    }

DRIVE(float, f32)
DRIVE(double, f64)

int main(void)
{
    const size_t n = N_SLOTS * N_ROWS * N_COLS;
    fnn_simd_init();
    for (int level = 0; level <= fnn_simd_max_level(); level++) {
        fnn_simd_set_level(level);
        /* zeroed: the slots past the last result are compared too */
        float *a32 = calloc(n, sizeof(float)), *b32 = calloc(n, sizeof(float));
        double *a64 = calloc(n, sizeof(double)), *b64 = calloc(n, sizeof(double));
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
