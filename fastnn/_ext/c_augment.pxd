# Declarations of csrc/augment/fastnn_augment.h for Cython.
from libc.stdint cimport uint64_t

cdef extern from "fastnn.h" nogil:
    void fnn_flip_crop_f32(const float *x, float *y, size_t n, size_t c, size_t h, size_t w,
        size_t out_h, size_t out_w, size_t pad, int reflect, double p_hflip, double p_vflip,
        uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_flip_crop_f64(const double *x, double *y, size_t n, size_t c, size_t h, size_t w,
        size_t out_h, size_t out_w, size_t pad, int reflect, double p_hflip, double p_vflip,
        uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_affine_f32(const float *x, float *y, size_t n, size_t c, size_t h, size_t w, double
        degrees, double scale_lo, double scale_hi, double translate, uint64_t seed, uint64_t
        offset, int n_threads, int flags)
    void fnn_affine_f64(const double *x, double *y, size_t n, size_t c, size_t h, size_t w,
        double degrees, double scale_lo, double scale_hi, double translate, uint64_t seed,
        uint64_t offset, int n_threads, int flags)
    void fnn_color_jitter_f32(const float *x, float *y, size_t n, size_t row_len, double
        brightness, double contrast, uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_color_jitter_f64(const double *x, double *y, size_t n, size_t row_len, double
        brightness, double contrast, uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_snr_noise_f32(const float *x, float *y, size_t n, size_t row_len, double snr_db,
        uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_snr_noise_f64(const double *x, double *y, size_t n, size_t row_len, double snr_db,
        uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_time_shift_f32(const float *x, float *y, size_t n, size_t len, size_t feat, size_t
        max_shift, int wrap, uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_time_shift_f64(const double *x, double *y, size_t n, size_t len, size_t feat,
        size_t max_shift, int wrap, uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_element_dropout_f32(const float *x, float *y, size_t n, size_t len, size_t feat,
        double p, uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_element_dropout_f64(const double *x, double *y, size_t n, size_t len, size_t feat,
        double p, uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_neighbor_swap_f32(const float *x, float *y, size_t n, size_t len, size_t feat,
        double p, uint64_t seed, uint64_t offset, int n_threads, int flags)
    void fnn_neighbor_swap_f64(const double *x, double *y, size_t n, size_t len, size_t feat,
        double p, uint64_t seed, uint64_t offset, int n_threads, int flags)
