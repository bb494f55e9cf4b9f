/* Sums in fixed lanes, for the spans templates of per-ISA units: element j
 * of a run feeds accumulator j % FNN_LANES and the accumulators are added by
 * one fixed tree, so a sum does not depend on the vector width. Every SIMD
 * level gives the same bits, which a `#pragma omp simd reduction` would not.
 * Used by the losses and the regularizers. */
#ifndef FASTNN_CORE_LANES_H
#define FASTNN_CORE_LANES_H

#include <stddef.h>

#define FNN_LANES 16

/* for j in [0, n): BODY, where BODY may accumulate into acc[l] (l = j % FNN_LANES
 * inside the vector part, the tail continues at lane 0 after a full group). */
#define FNN_LANE_FOR(n, j, ...)                                             \
    do {                                                                    \
        size_t i0_ = 0;                                                     \
        for (; i0_ + FNN_LANES <= (n); i0_ += FNN_LANES) {                  \
            _Pragma("omp simd") for (size_t l = 0; l < FNN_LANES; ++l)      \
            {                                                               \
                const size_t j = i0_ + l;                                   \
                __VA_ARGS__                                                 \
            }                                                               \
        }                                                                   \
        for (size_t l = 0; i0_ + l < (n); ++l) {                            \
            const size_t j = i0_ + l;                                       \
            __VA_ARGS__                                                     \
        }                                                                   \
    } while (0)

/* fnn_lane_sum_f32 / _f64 (FNN_NAME(fnn_lane_sum) in a dtype template): the
 * sum of the FNN_LANES accumulators acc[] by a fixed tree (acc is overwritten). */
#define FNN_DEFINE_LANE_SUM(type, sfx)                                                 \
    static inline __attribute__((always_inline)) type fnn_lane_sum_##sfx(type *acc)  \
    {                                                                                  \
        for (size_t w = FNN_LANES / 2; w > 0; w /= 2)                                  \
            for (size_t l = 0; l < w; ++l) acc[l] += acc[l + w];                       \
        return acc[0];                                                                 \
    }
FNN_DEFINE_LANE_SUM(float, f32)
FNN_DEFINE_LANE_SUM(double, f64)
#undef FNN_DEFINE_LANE_SUM

#endif
