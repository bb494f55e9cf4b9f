/* Template (see core/instantiate_dtypes.h), compiled once per ISA by
 * core/isa_unit.c: the penalty loop over one block. The sum goes through
 * the fixed lanes of core/lanes.h, so every SIMD level gives the same
 * bits. */

#include "../core/lanes.h"

#define T FNN_REAL
#define COEF FNN_NAME(fnn_reg_coef)
#define SPAN(name) FNN_ISA_NAME(name)
#define INLINE static inline __attribute__((always_inline))
#define RESTRICT FNN_RESTRICT
#define HAS(bit) ((mode & (bit)) != 0)

/* l1·|w| + l2·w² summed in double; grad += l1·sign(w) + 2·l2·w */
INLINE double SPAN(l1l2_loop)(const COEF *c, size_t n, const T *RESTRICT x, T *RESTRICT g,
                              const unsigned mode)
{
    const T l1 = c->l1, l2 = c->l2, l2x2 = (T)2 * c->l2;
    double acc[FNN_LANES] = {0};
    FNN_LANE_FOR(n, j, {
        T v = x[j];
        T sgn = v > (T)0 ? (T)1 : (v < (T)0 ? (T)-1 : v);
        T a = v < (T)0 ? -v : v;
        double p = 0.0;
        if (HAS(FNN_RMODE_L1)) p += (double)(l1 * a);
        if (HAS(FNN_RMODE_L2)) p += (double)(l2 * (v * v));
        acc[l] += p;
        if (HAS(FNN_RMODE_GRAD)) {
            T d = HAS(FNN_RMODE_L1) ? l1 * sgn : (T)0;
            if (HAS(FNN_RMODE_L2)) d = d + l2x2 * v;
            g[j] = g[j] + d;
        }
    });
    return fnn_lane_sum_f64(acc);
}
#define CALL_l1l2_loop(k) return SPAN(l1l2_loop)(c, n, w, g, k)
static double SPAN(l1l2_span)(const COEF *c, size_t n, const T *w, T *g)
{
    const unsigned mode_ = c->mode;
    FNN_SWITCH8(mode_, CALL_l1l2_loop)
    return 0.0;
}

const FNN_NAME(fnn_regularizers_table) FNN_ISA_NAME(fnn_regularizers_table) = {
    SPAN(l1l2_span),
};

#undef T
#undef COEF
#undef SPAN
#undef INLINE
#undef RESTRICT
#undef HAS
#undef CALL_l1l2_loop
