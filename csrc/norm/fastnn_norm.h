/* Normalization kernels: BatchNorm (training and inference, optional fused
 * ReLU), LayerNorm, GroupNorm, and the per-channel statistics and affine map
 * behind input standardization.
 *
 * Layouts. BatchNorm and GroupNorm see x as (n, c, s): n samples, c channels
 * and s = the product of the spatial sizes (s = 1 for an (N, C) input; a
 * channels-last (N, ..., C) input is (n·spatial, c, 1)). LayerNorm sees x
 * as (m, d): m rows normalized over their d trailing elements.
 *
 * Statistics are accumulated in double. Each plane (BatchNorm over
 * (n, c, s > 1)) or row / group (LayerNorm, GroupNorm) gets two-pass
 * statistics (mean, then the sum of squared deviations) while it sits in
 * cache; over (n, c), each block of 64 rows gets one-pass sums of x − k and
 * (x − k)² with k the block's first row (error bound in norm_spans_t.h).
 * BatchNorm merges its planes or row blocks with Chan et al.'s pairwise
 * update. Memory is streamed in order, and a mean large against the spread
 * costs no accuracy. The saved
 * statistics that backward needs (mean and inverse
 * standard deviation) are always double, whatever the data's dtype: keeping
 * them exact lets backward rebuild the forward's pre-activation bitwise
 * (the fused ReLU mask) and centre x without cancellation.
 *
 * Each channel (BatchNorm) or row / group (LayerNorm, GroupNorm) is reduced
 * by one thread in a fixed order with a fixed number of lanes, so results
 * are bitwise identical for any n_threads and any SIMD level. Reductions
 * across rows (LayerNorm's dgamma, dbeta) use fixed row blocks combined in
 * block order.
 *
 * Every function returns 0, or FNN_NORM_ENOMEM when a work buffer could not
 * be allocated (nothing useful has been written then). Optional pointers
 * may be NULL where marked. */
#ifndef FASTNN_NORM_H
#define FASTNN_NORM_H

#include "../core/common.h" /* size_t, int64_t, FNN_FLAG_*, FNN_DTYPE_* */

#ifdef __cplusplus
extern "C" {
#endif

#define FNN_NORM_ENOMEM (-1)

#define FNN_DECLARE_NORM(T, SFX)                                                                 \
    /* BatchNorm training forward: batch mean and biased variance per channel;           */      \
    /* y = (x − mean)·invstd·gamma + beta (then max(·, 0) if relu); running statistics    */      \
    /* updated as r ← (1 − momentum)·r + momentum·batch, running_var with the unbiased     */      \
    /* variance. momentum is the factor itself (1/k for a cumulative average).             */      \
    int fnn_batch_norm_train_##SFX(                                                              \
        const T *x,               /* IN    (n, c, s) */                                        \
        size_t n, size_t c, size_t s,                                                            \
        const T *gamma,           /* IN    (c) or NULL (1) */                                  \
        const T *beta,            /* IN    (c) or NULL (0) */                                  \
        T *running_mean,          /* INOUT (c) or NULL (not tracked) */                        \
        T *running_var,           /* INOUT (c) or NULL, together with running_mean */          \
        double momentum, double eps, int relu,                                                   \
        T *y,                     /* OUT   (n, c, s); must not alias x */                      \
        double *save_mean,        /* OUT   (c) batch mean */                                   \
        double *save_invstd,      /* OUT   (c) 1/sqrt(biased var + eps) */                     \
        int n_threads, int flags);                                                               \
    /* BatchNorm inference forward, one pass: y = x·scale + shift with                    */      \
    /* scale = gamma/sqrt(running_var + eps), shift = beta − running_mean·scale.           */      \
    int fnn_batch_norm_infer_##SFX(                                                              \
        const T *x,               /* IN    (n, c, s) */                                        \
        size_t n, size_t c, size_t s,                                                            \
        const T *gamma,           /* IN    (c) or NULL */                                      \
        const T *beta,            /* IN    (c) or NULL */                                      \
        const T *running_mean,    /* IN    (c) */                                              \
        const T *running_var,     /* IN    (c) */                                              \
        double eps, int relu,                                                                    \
        T *y,                     /* OUT   (n, c, s); may be x itself */                       \
        double *save_mean,        /* OUT   (c) running_mean as double */                       \
        double *save_invstd,      /* OUT   (c) 1/sqrt(running_var + eps) */                    \
        int n_threads, int flags);                                                               \
    /* BatchNorm backward from the saved statistics of the matching forward (x̂ is        */      \
    /* recomputed): two passes in training mode, one (two with dgamma) in inference.      */      \
    /* With relu, the gradient is masked where the forward's pre-activation was <= 0;     */      \
    /* that pre-activation is rebuilt bitwise from x, the saved statistics, gamma, beta.  */      \
    int fnn_batch_norm_backward_##SFX(                                                           \
        const T *dy,              /* IN    (n, c, s) */                                        \
        const T *x,               /* IN    (n, c, s) the forward's input */                    \
        size_t n, size_t c, size_t s,                                                            \
        const T *gamma,           /* IN    (c) or NULL */                                      \
        const T *beta,            /* IN    (c) or NULL; read only with relu */                 \
        const double *save_mean,  /* IN    (c) */                                              \
        const double *save_invstd,/* IN    (c) */                                              \
        int training, int relu,                                                                  \
        T *dx,                    /* OUT   (n, c, s) */                                        \
        T *dgamma,                /* OUT   (c) or NULL */                                      \
        T *dbeta,                 /* OUT   (c) or NULL */                                      \
        int n_threads, int flags);                                                               \
    /* Per-channel mean and sum of squared deviations (two-pass, in double). */                 \
    int fnn_channel_stats_##SFX(const T *x, /* IN (n, c, s) */                                  \
                                size_t n, size_t c, size_t s,                                    \
                                double *mean, /* OUT (c) */                                      \
                                double *m2,   /* OUT (c) Σ (x − mean)² */                       \
                                int n_threads, int flags);                                       \
    /* y = (x − center[ch])·scale[ch] + shift[ch], then max(·, 0) if relu. The centre is */    \
    /* split into two T values (hi + lo), so x − center stays exact against a large mean.  */    \
    int fnn_channel_affine_##SFX(const T *x, /* IN (n, c, s) */                                 \
                                 T *y,       /* OUT (n, c, s); may be x itself */                \
                                 size_t n, size_t c, size_t s,                                   \
                                 const double *center, /* IN (c) or NULL (0) */                  \
                                 const double *scale,  /* IN (c) */                              \
                                 const double *shift,  /* IN (c) */                              \
                                 int relu, int n_threads, int flags);                            \
    /* LayerNorm over the last d elements of each of m rows:                               */      \
    /* y = (x − mean)·rstd·gamma + beta, rstd = 1/sqrt(biased var + eps).                  */      \
    int fnn_layer_norm_##SFX(const T *x,     /* IN    (m, d) */                                \
                             size_t m, size_t d,                                                 \
                             const T *gamma, /* IN    (d) or NULL */                             \
                             const T *beta,  /* IN    (d) or NULL */                             \
                             double eps,                                                         \
                             T *y,           /* OUT   (m, d); must not alias x */                \
                             double *mean,   /* OUT   (m) */                                     \
                             double *rstd,   /* OUT   (m) */                                     \
                             int n_threads, int flags);                                          \
    int fnn_layer_norm_backward_##SFX(const T *dy, /* IN (m, d) */                              \
                                      const T *x,  /* IN (m, d) */                               \
                                      size_t m, size_t d,                                        \
                                      const T *gamma,     /* IN (d) or NULL */                   \
                                      const double *mean, /* IN (m) */                           \
                                      const double *rstd, /* IN (m) */                           \
                                      T *dx,              /* OUT (m, d) */                       \
                                      T *dgamma,          /* OUT (d) or NULL */                  \
                                      T *dbeta,           /* OUT (d) or NULL */                  \
                                      int n_threads, int flags);                                 \
    /* GroupNorm: channels split into `groups` equal groups; each (sample, group) is     */      \
    /* normalized over its c/groups·s elements, then scaled per channel.                  */      \
    int fnn_group_norm_##SFX(const T *x,     /* IN  (n, c, s) */                               \
                             size_t n, size_t c, size_t s, size_t groups,                        \
                             const T *gamma, /* IN  (c) or NULL */                               \
                             const T *beta,  /* IN  (c) or NULL */                               \
                             double eps,                                                         \
                             T *y,           /* OUT (n, c, s); must not alias x */               \
                             double *mean,   /* OUT (n, groups) */                               \
                             double *rstd,   /* OUT (n, groups) */                               \
                             int n_threads, int flags);                                          \
    int fnn_group_norm_backward_##SFX(const T *dy, /* IN (n, c, s) */                           \
                                      const T *x,  /* IN (n, c, s) */                            \
                                      size_t n, size_t c, size_t s, size_t groups,               \
                                      const T *gamma,     /* IN (c) or NULL */                   \
                                      const double *mean, /* IN (n, groups) */                   \
                                      const double *rstd, /* IN (n, groups) */                   \
                                      T *dx,              /* OUT (n, c, s) */                    \
                                      T *dgamma,          /* OUT (c) or NULL */                  \
                                      T *dbeta,           /* OUT (c) or NULL */                  \
                                      int n_threads, int flags);

FNN_DECLARE_NORM(float, f32)
FNN_DECLARE_NORM(double, f64)

#ifdef __cplusplus
}
#endif

#endif
