/* One-core comparison of fastnn's own product (csrc/dense/gemm_t.h)
 * with SciPy's OpenBLAS ?gemm on the tiles the dense layer calls. Build
 * (from the repository root; LIB is SciPy's libscipy_openblas*.so):
 *
 *   gcc -O3 -std=c11 -fno-math-errno -fno-trapping-math -ffp-contract=off -fopenmp \
 *       -DFNN_ISA=avx2 -DFNN_FP_CONTRACT_FAST -DFNN_TUNE_GATHERS \
 *       '-DFNN_INTERNAL="dense/dense_internal.h"' '-DFNN_SPANS="dense/dense_spans_t.h"' \
 *       -Icsrc -c csrc/core/isa_unit.c -o /tmp/dense_avx2.o
 *   gcc -O2 -std=c11 -Icsrc tools/gemm_bench.c /tmp/dense_avx2.o -ldl -lm -o /tmp/gemm_bench
 *   /tmp/gemm_bench LIB
 *
 * Each case: interleaved rounds (own, BLAS, own, ...), each round the
 * median of several calls; prints GFLOP/s (2·m·n·k per call) of the median
 * round, and the largest difference from the BLAS result. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dense/dense_internal.h"

extern const fnn_dense_table_f32 fnn_dense_table_f32_avx2;
extern const fnn_dense_table_f64 fnn_dense_table_f64_avx2;

typedef void (*sgemm_t)(char *, char *, int *, int *, int *, float *, float *, int *, float *,
                        int *, float *, float *, int *);
typedef void (*dgemm_t)(char *, char *, int *, int *, int *, double *, double *, int *,
                        double *, int *, double *, double *, int *);
static sgemm_t sgemm;
static dgemm_t dgemm;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the three products of the dense layer, row-major, as the driver calls them:
 *   fwd: z[n×m] = x[n×k]·W[m×k]ᵀ
 *   dx:  dx[n×k] = dz[n×m]·W[m×k]
 *   dw:  dW[m×k] = dz[n×m]ᵀ·x[n×k] */
enum { FWD, DX, DW };
static const char *kind_name[] = {"fwd", "dx", "dw"};

#define DEFINE_CASE(T, SFX, BLAS)                                                                  \
    static void run_##SFX(int kind, size_t rows, size_t cols, size_t inner, int rounds, int calls) \
    {                                                                                              \
        /* C rows×cols, inner products each */                                                     \
        T *a = malloc(sizeof(T) * rows * inner), *b = malloc(sizeof(T) * inner * cols);            \
        T *c1 = malloc(sizeof(T) * rows * cols), *c2 = malloc(sizeof(T) * rows * cols);            \
        T *pack = aligned_alloc(64, sizeof(T) * FNN_GEMM_PACK_ELEMS_##SFX);                        \
        for (size_t i = 0; i < rows * inner; ++i) a[i] = (T)(rand() / (double)RAND_MAX - 0.5);     \
        for (size_t i = 0; i < inner * cols; ++i) b[i] = (T)(rand() / (double)RAND_MAX - 0.5);     \
        fnn_gemm_args_##SFX g;                                                                     \
        memset(&g, 0, sizeof(g));                                                                  \
        g.m = rows; g.n = cols; g.k = inner; g.c = c1; g.ldc = cols; g.pack = pack;                \
        g.a = a; g.b = b;                                                                          \
        char ta, tb;                                                                               \
        int im = (int)cols, in = (int)rows, ik = (int)inner, lda, ldb, ldc = (int)cols;            \
        if (kind == FWD) { /* a = x (rows×inner), b = W (cols×inner) */                            \
            g.a_rs = inner; g.a_cs = 1; g.b_rs = 1; g.b_cs = inner;                                \
            ta = 'T'; tb = 'N'; lda = (int)inner; ldb = (int)inner;                                \
        } else if (kind == DX) { /* a = dz (rows×inner), b = W (inner×cols) */                     \
            g.a_rs = inner; g.a_cs = 1; g.b_rs = cols; g.b_cs = 1;                                 \
            ta = 'N'; tb = 'N'; lda = (int)cols; ldb = (int)inner;                                 \
        } else { /* a = dz (inner×rows), b = x (inner×cols) */                                     \
            g.a_rs = 1; g.a_cs = rows; g.b_rs = cols; g.b_cs = 1;                                  \
            ta = 'N'; tb = 'T'; lda = (int)cols; ldb = (int)rows;                                  \
        }                                                                                          \
        T one = 1, zero = 0;                                                                       \
        /* column-major: C'(cols×rows) = op(B')·op(A') */                                          \
        _Pragma("GCC diagnostic ignored \"-Wunused-variable\"")                                    \
        double *t_own = malloc(sizeof(double) * rounds), *t_blas = malloc(sizeof(double) * rounds); \
        double *tc = malloc(sizeof(double) * calls);                                               \
        for (int r = 0; r < rounds; ++r) {                                                         \
            for (int q = 0; q < calls; ++q) {                                                      \
                double t0 = now();                                                                 \
                fnn_dense_table_##SFX##_avx2.gemm(&g);                                             \
                tc[q] = now() - t0;                                                                \
            }                                                                                      \
            qsort(tc, calls, sizeof(double), cmp);                                                 \
            t_own[r] = tc[calls / 2];                                                              \
            for (int q = 0; q < calls; ++q) {                                                      \
                double t0 = now();                                                                 \
                BLAS(&ta, &tb, &im, &in, &ik, &one, (T *)b, &lda, (T *)a, &ldb, &zero, c2, &ldc);  \
                tc[q] = now() - t0;                                                                \
            }                                                                                      \
            qsort(tc, calls, sizeof(double), cmp);                                                 \
            t_blas[r] = tc[calls / 2];                                                             \
        }                                                                                          \
        qsort(t_own, rounds, sizeof(double), cmp);                                                 \
        qsort(t_blas, rounds, sizeof(double), cmp);                                                \
        double err = 0, mag = 0;                                                                   \
        for (size_t i = 0; i < rows * cols; ++i) {                                                 \
            double d = fabs((double)c1[i] - (double)c2[i]);                                        \
            err = d > err ? d : err;                                                               \
            mag = fabs((double)c2[i]) > mag ? fabs((double)c2[i]) : mag;                           \
        }                                                                                          \
        double fl = 2.0 * rows * cols * inner * 1e-9;                                              \
        printf("%s %-3s %5zu x %5zu x %5zu  own %6.1f  blas %6.1f GFLOP/s  ratio %.2f  "          \
               "maxdiff/max %.1e\n",                                                               \
               #SFX, kind_name[kind], rows, cols, inner, fl / t_own[rounds / 2],                   \
               fl / t_blas[rounds / 2], t_blas[rounds / 2] / t_own[rounds / 2], err / mag);        \
        fflush(stdout);                                                                            \
        free(a); free(b); free(c1); free(c2); free(pack); free(t_own); free(t_blas); free(tc);    \
    }
DEFINE_CASE(float, f32, sgemm)
DEFINE_CASE(double, f64, dgemm)

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s libscipy_openblas.so [f32|f64]\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    sgemm = (sgemm_t)dlsym(lib, "scipy_sgemm_");
    dgemm = (dgemm_t)dlsym(lib, "scipy_dgemm_");
    void (*set_threads)(int) = (void (*)(int))dlsym(lib, "scipy_openblas_set_num_threads");
    if (set_threads) set_threads(1);
    const int do64 = argc > 2 && strcmp(argv[2], "f64") == 0;
    /* the tiles of the dense rows and of the MLP (see the design notes) */
    static const struct { int kind; size_t rows, cols, inner; } cases[] = {
        {FWD, 1024, 256, 256},  /* x 4096×256 @ W 256×256 forward: 4 × 1 tiles */
        {DX, 2048, 256, 256},   /* its dx: 2 × 1 */
        {DW, 256, 256, 2048},   /* its dW: 2 chunks of the batch */
        {FWD, 256, 256, 1024},  /* x 256×1024 @ W 1024×1024 forward: 1 × 4 */
        {DX, 256, 512, 1024},   /* its dx: 1 × 2 */
        {DW, 1024, 512, 256},   /* its dW: 1 × 2 */
        {FWD, 128, 128, 784},   /* MLP 128×784 @ 784×512: 1 × 4 */
        {DW, 512, 400, 128},    /* 1 × 2 */
        {FWD, 128, 128, 512},   /* MLP 128×512 @ 512×256: 1 × 2 */
        {DX, 128, 512, 256},
        {DW, 256, 512, 128},
        {FWD, 128, 10, 256},    /* MLP 128×256 @ 256×10 */
        {DX, 128, 256, 10},
        {DW, 10, 256, 128},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        double work = 2.0 * cases[i].rows * cases[i].cols * cases[i].inner;
        int calls = work > 1e8 ? 5 : work > 1e7 ? 15 : 41;
        if (do64)
            run_f64(cases[i].kind, cases[i].rows, cases[i].cols, cases[i].inner, 7, calls);
        else
            run_f32(cases[i].kind, cases[i].rows, cases[i].cols, cases[i].inner, 7, calls);
    }
    return 0;
}
