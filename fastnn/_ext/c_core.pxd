# Declarations of csrc/core and csrc/runtime for Cython.
from libc.stdint cimport int64_t, uint64_t

cdef extern from "fastnn.h" nogil:
    int FASTNN_API_VERSION
    int FNN_FLAG_FLUSH_DENORMALS
    int FNN_DTYPE_FLOAT32
    int FNN_DTYPE_FLOAT64

    int fnn_api_version()
    int fnn_simd_level()
    const char *fnn_simd_level_name(int level)
    int fnn_openmp_enabled()
    const char *fnn_compiler_version()
    void fnn_runtime_set_spin_us(long us)
    long fnn_runtime_spin_us()
    int fnn_runtime_pooled()
    void fnn_runtime_stats(uint64_t *out)
    void fnn_runtime_set_test_mode(int mode, long value)
    void fnn_stream_triad(double *a, const double *b, const double *c, double scalar,
                          size_t n, int n_threads)

cdef extern from "core/dispatch.h" nogil:
    int fnn_simd_max_level()
    int fnn_simd_set_level(int level)
    void fnn_simd_init()

cdef extern from "core/parallel.h" nogil:
    int fnn_openmp_version()
    int fnn_openmp_max_threads()
    int fnn_effective_threads(size_t n_items, size_t grain, int n_threads)
