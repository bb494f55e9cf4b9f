# Declarations of csrc/random/fastnn_random.h for Cython.
from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef extern from "fastnn.h" nogil:
    void fnn_philox4x32_10(const uint32_t *counter, const uint32_t *key, uint32_t *out)
    void fnn_philox_words(uint32_t *out, size_t n, uint64_t seed, uint64_t offset,
                          int n_threads, int flags)

    void fnn_uniform_f32(float *out, size_t n, double low, double high, uint64_t seed,
                         uint64_t offset, int n_threads, int flags)
    void fnn_uniform_f64(double *out, size_t n, double low, double high, uint64_t seed,
                         uint64_t offset, int n_threads, int flags)
    void fnn_normal_f32(float *out, size_t n, double mean, double std, uint64_t seed,
                        uint64_t offset, int n_threads, int flags)
    void fnn_normal_f64(double *out, size_t n, double mean, double std, uint64_t seed,
                        uint64_t offset, int n_threads, int flags)
    void fnn_dropout_f32(const float *x, float *y, uint8_t *mask, size_t n, double p,
                         uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_dropout_f64(const double *x, double *y, uint8_t *mask, size_t n, double p,
                         uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_dropout_backward_f32(const float *gy, float *gx, size_t n, double p, uint64_t seed,
                                  uint64_t offset, int n_threads, int flags)
    void fnn_dropout_backward_f64(const double *gy, double *gx, size_t n, double p,
                                  uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_dropout_backward_mask_f32(const float *gy, const uint8_t *mask, float *gx,
                                       size_t n, double p, int n_threads, int flags)
    void fnn_dropout_backward_mask_f64(const double *gy, const uint8_t *mask, double *gx,
                                       size_t n, double p, int n_threads, int flags)
    void fnn_channel_dropout_f32(const float *x, float *y, size_t n_rows, size_t row_len,
                                 double p, uint64_t seed, uint64_t offset, int n_threads,
                                 int flags)
    void fnn_channel_dropout_f64(const double *x, double *y, size_t n_rows, size_t row_len,
                                 double p, uint64_t seed, uint64_t offset, int n_threads,
                                 int flags)
    void fnn_gaussian_noise_f32(const float *x, float *y, size_t n, double std,
                                int multiplicative, uint64_t seed, uint64_t offset,
                                int n_threads, int flags)
    void fnn_gaussian_noise_f64(const double *x, double *y, size_t n, double std,
                                int multiplicative, uint64_t seed, uint64_t offset,
                                int n_threads, int flags)
