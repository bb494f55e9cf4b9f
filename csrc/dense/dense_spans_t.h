/* Template (see core/instantiate_dtypes.h), compiled once per ISA by
 * core/isa_unit.c: the activation loops over one contiguous span, and the
 * vector math exposed for testing. The drivers in dense_driver_t.h split
 * the work and pick the table for the running CPU.
 *
 * Each (activation, mode) pair is its own branch-free loop: the activation
 * and the mode bits are compile-time constants of an always-inline loop,
 * expanded by a switch. No restrict on the arrays: in-place calls (x == y,
 * dy == dx) are allowed, and `omp simd` still vectorizes since every
 * element is read before it is written at the same index. */

#include "../core/vmath_t.h"
#include "../core/stream_store.h"
#include "gemm_t.h"

#define T FNN_REAL
#define COEF FNN_NAME(fnn_act_coef)
#define SPAN(name) FNN_ISA_NAME(name)
#define INLINE static inline __attribute__((always_inline))
#define HAS(bit) ((mode & (bit)) != 0)

/* act(z); `s` is the PReLU slope of this element */
INLINE T SPAN(act_value)(const int kind, const COEF *c, T z, T s)
{
    switch (kind) {
    case FNN_ACT_IDENTITY: return z;
    case FNN_ACT_RELU: return (z > (T)0 || z != z) ? z : (T)0; /* keeps NaN, as torch */
    case FNN_ACT_LEAKY_RELU: return z > (T)0 ? z : z * c->negative_slope;
    case FNN_ACT_PRELU: return z > (T)0 ? z : z * s;
    case FNN_ACT_ELU: {
        /* for z > 0 e is unspecified and not used: no clamp to 0 needed */
        T e = FNN_NAME(m_expm1_neg)(z); /* NaN passes */
        return z > (T)0 ? z : c->alpha * e;
    }
    case FNN_ACT_GELU: {
        T pdf;
        return z * FNN_NAME(m_ncdf)(z, &pdf);
    }
    case FNN_ACT_GELU_TANH: {
        /* (1 + tanh u)/2 = σ(2u): accurate in the lower tail as well */
        T u = (T)0.79788456080286535588 * (z + (T)0.044715 * (z * z * z));
        return z * FNN_NAME(m_sigmoid)((T)2 * u);
    }
    case FNN_ACT_SILU: return z * FNN_NAME(m_sigmoid)(z);
    case FNN_ACT_SIGMOID: return FNN_NAME(m_sigmoid)(z);
    case FNN_ACT_TANH: return FNN_NAME(m_tanh)(z);
    case FNN_ACT_SOFTPLUS: {
        T bz = z * c->beta;
        /* log(1 + e^v) = max(v, 0) + log1p(e^−|v|) */
        T sp = ((bz > (T)0 ? bz : (T)0) + FNN_NAME(m_log1p01)(FNN_NAME(m_exp_neg)(-FNN_M(fabs)(bz)))) *
               c->inv_beta;
        return bz > c->threshold ? z : sp;
    }
    default: return z;
    }
}

/* act'(·) from z (from_output = 0) or from y = act(z) (from_output = 1) */
INLINE T SPAN(act_deriv)(const int kind, const int from_output, const COEF *c, T v, T s)
{
    switch (kind) {
    case FNN_ACT_IDENTITY: return (T)1;
    case FNN_ACT_RELU: return v > (T)0 ? (T)1 : (T)0;
    case FNN_ACT_LEAKY_RELU: return v > (T)0 ? (T)1 : c->negative_slope;
    case FNN_ACT_PRELU: return v > (T)0 ? (T)1 : s;
    case FNN_ACT_ELU:
        /* for z <= 0, alpha·e^z = y + alpha */
        if (from_output) return v > (T)0 ? (T)1 : v + c->alpha;
        return v > (T)0 ? (T)1 : c->alpha * FNN_NAME(m_exp_neg)(v); /* v > 0: not used */
    case FNN_ACT_GELU: {
        T pdf;
        T cdf = FNN_NAME(m_ncdf)(v, &pdf);
        return cdf + v * pdf;
    }
    case FNN_ACT_GELU_TANH: {
        const T k = (T)0.79788456080286535588, k3 = (T)(0.79788456080286535588 * 3 * 0.044715);
        T v2 = v * v;
        T u = k * (v + (T)0.044715 * (v2 * v));
        T sn;
        T sg = FNN_NAME(m_sigmoid2)((T)2 * u, &sn);
        /* d/dv v·σ(2u) = σ(2u) + v·2σ(2u)σ(−2u)·u' */
        return sg + v * ((T)2 * sg * sn) * (k + k3 * v2);
    }
    case FNN_ACT_SILU: {
        T sn;
        T sg = FNN_NAME(m_sigmoid2)(v, &sn);
        return sg * ((T)1 + v * sn);
    }
    case FNN_ACT_SIGMOID:
        if (from_output) return v * ((T)1 - v);
        {
            T sn;
            T sg = FNN_NAME(m_sigmoid2)(v, &sn);
            return sg * sn;
        }
    case FNN_ACT_TANH:
        if (from_output) return (T)1 - v * v;
        {
            /* sech²v = 4w/(1 + w)², w = e^−2|v|: no cancellation where tanh² → 1 */
            T w = FNN_NAME(m_exp_neg)((T)-2 * FNN_M(fabs)(v));
            T d = (T)1 + w;
            return ((T)4 * w) / (d * d);
        }
    case FNN_ACT_SOFTPLUS: {
        T bz = v * c->beta;
        return bz > c->threshold ? (T)1 : FNN_NAME(m_sigmoid)(bz);
    }
    default: return (T)1;
    }
}

INLINE void SPAN(fwd_loop)(const int kind, const unsigned mode, const COEF *c, size_t n,
                           const T *x, const T *bias, const T *slopev, T slope, T *pre, T *y)
{
    /* a local copy: the stores to y could alias *c, which would keep its
     * loads inside the loop */
    const COEF cc = *c;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T z = x[i];
        if (HAS(FNN_DMODE_BIAS)) z = z + bias[i];
        if (HAS(FNN_DMODE_PRE)) pre[i] = z;
        T s = HAS(FNN_DMODE_SLOPEV) ? slopev[i] : slope;
        y[i] = SPAN(act_value)(kind, &cc, z, s);
    }
}

INLINE void SPAN(bwd_loop)(const int kind, const unsigned mode, const COEF *c, size_t n,
                           const T *dy, const T *saved, const T *slopev, T slope, T *dx,
                           T *acc_b, T *acc_s)
{
    const COEF cc = *c;
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        T v = saved[i];
        T g = dy[i];
        T s = HAS(FNN_DMODE_SLOPEV) ? slopev[i] : slope;
        T dz = g * SPAN(act_deriv)(kind, HAS(FNN_DMODE_FROM_OUTPUT), &cc, v, s);
        dx[i] = dz;
        if (HAS(FNN_DMODE_ACC)) {
            acc_b[i] = acc_b[i] + dz;
            if (kind == FNN_ACT_PRELU) acc_s[i] = acc_s[i] + (v > (T)0 ? (T)0 : g * v);
        }
    }
}

#define DEFINE_ACT(kind, name)                                                                  \
    static void SPAN(fwd_##name)(const COEF *c, unsigned mode_, size_t n, const T *x,          \
                                 const T *bias, const T *slopev, T slope, T *pre, T *y)        \
    {                                                                                           \
        FNN_SWITCH8(mode_, CALL_FWD_##name)                                                     \
    }                                                                                           \
    static void SPAN(bwd_##name)(const COEF *c, unsigned mode_, size_t n, const T *dy,         \
                                 const T *saved, const T *slopev, T slope, T *dx, T *acc_b,    \
                                 T *acc_s)                                                      \
    {                                                                                           \
        FNN_SWITCH8(mode_, CALL_BWD_##name)                                                     \
    }
#define CALL_FWD_(kind, m) SPAN(fwd_loop)(kind, m, c, n, x, bias, slopev, slope, pre, y)
#define CALL_BWD_(kind, m) SPAN(bwd_loop)(kind, m, c, n, dy, saved, slopev, slope, dx, acc_b, acc_s)

#define CALL_FWD_identity(m) CALL_FWD_(FNN_ACT_IDENTITY, m)
#define CALL_BWD_identity(m) CALL_BWD_(FNN_ACT_IDENTITY, m)
#define CALL_FWD_relu(m) CALL_FWD_(FNN_ACT_RELU, m)
#define CALL_BWD_relu(m) CALL_BWD_(FNN_ACT_RELU, m)
#define CALL_FWD_leaky_relu(m) CALL_FWD_(FNN_ACT_LEAKY_RELU, m)
#define CALL_BWD_leaky_relu(m) CALL_BWD_(FNN_ACT_LEAKY_RELU, m)
#define CALL_FWD_prelu(m) CALL_FWD_(FNN_ACT_PRELU, m)
#define CALL_BWD_prelu(m) CALL_BWD_(FNN_ACT_PRELU, m)
#define CALL_FWD_elu(m) CALL_FWD_(FNN_ACT_ELU, m)
#define CALL_BWD_elu(m) CALL_BWD_(FNN_ACT_ELU, m)
#define CALL_FWD_gelu(m) CALL_FWD_(FNN_ACT_GELU, m)
#define CALL_BWD_gelu(m) CALL_BWD_(FNN_ACT_GELU, m)
#define CALL_FWD_gelu_tanh(m) CALL_FWD_(FNN_ACT_GELU_TANH, m)
#define CALL_BWD_gelu_tanh(m) CALL_BWD_(FNN_ACT_GELU_TANH, m)
#define CALL_FWD_silu(m) CALL_FWD_(FNN_ACT_SILU, m)
#define CALL_BWD_silu(m) CALL_BWD_(FNN_ACT_SILU, m)
#define CALL_FWD_sigmoid(m) CALL_FWD_(FNN_ACT_SIGMOID, m)
#define CALL_BWD_sigmoid(m) CALL_BWD_(FNN_ACT_SIGMOID, m)
#define CALL_FWD_tanh(m) CALL_FWD_(FNN_ACT_TANH, m)
#define CALL_BWD_tanh(m) CALL_BWD_(FNN_ACT_TANH, m)
#define CALL_FWD_softplus(m) CALL_FWD_(FNN_ACT_SOFTPLUS, m)
#define CALL_BWD_softplus(m) CALL_BWD_(FNN_ACT_SOFTPLUS, m)

DEFINE_ACT(FNN_ACT_IDENTITY, identity)
DEFINE_ACT(FNN_ACT_RELU, relu)
DEFINE_ACT(FNN_ACT_LEAKY_RELU, leaky_relu)
DEFINE_ACT(FNN_ACT_PRELU, prelu)
DEFINE_ACT(FNN_ACT_ELU, elu)
DEFINE_ACT(FNN_ACT_GELU, gelu)
DEFINE_ACT(FNN_ACT_GELU_TANH, gelu_tanh)
DEFINE_ACT(FNN_ACT_SILU, silu)
DEFINE_ACT(FNN_ACT_SIGMOID, sigmoid)
DEFINE_ACT(FNN_ACT_TANH, tanh)
DEFINE_ACT(FNN_ACT_SOFTPLUS, softplus)

/* ---- vector math, exposed for the accuracy tests ---- */

#define DEFINE_MATH(name, expr)                                        \
    static void SPAN(math_##name)(size_t n, const T *x, T *y)          \
    {                                                                  \
        _Pragma("omp simd") for (size_t i = 0; i < n; ++i)             \
        {                                                              \
            T v = x[i];                                                \
            y[i] = expr;                                               \
        }                                                              \
    }
DEFINE_MATH(exp, FNN_NAME(m_exp)(v))
DEFINE_MATH(expm1, FNN_NAME(m_expm1)(v))
DEFINE_MATH(tanh, FNN_NAME(m_tanh)(v))
DEFINE_MATH(erf, FNN_NAME(m_erf)(v))
DEFINE_MATH(erfc, FNN_NAME(m_erfc)(v))
DEFINE_MATH(sigmoid, FNN_NAME(m_sigmoid)(v))
DEFINE_MATH(log1p, FNN_NAME(m_log1p01)(v))

/* ---- non-temporal copy (core/stream_store.h) ---- */

static void SPAN(stream_store)(size_t n, const T *src, T *dst)
{
    fnn_stream_copy(dst, src, n * sizeof(T));
}

const FNN_NAME(fnn_dense_table) FNN_ISA_NAME(fnn_dense_table) = {
    FNN_ISA_NAME(gemm),
    {SPAN(fwd_identity), SPAN(fwd_relu), SPAN(fwd_leaky_relu), SPAN(fwd_prelu), SPAN(fwd_elu),
     SPAN(fwd_gelu), SPAN(fwd_gelu_tanh), SPAN(fwd_silu), SPAN(fwd_sigmoid), SPAN(fwd_tanh),
     SPAN(fwd_softplus)},
    {SPAN(bwd_identity), SPAN(bwd_relu), SPAN(bwd_leaky_relu), SPAN(bwd_prelu), SPAN(bwd_elu),
     SPAN(bwd_gelu), SPAN(bwd_gelu_tanh), SPAN(bwd_silu), SPAN(bwd_sigmoid), SPAN(bwd_tanh),
     SPAN(bwd_softplus)},
    {SPAN(math_exp), SPAN(math_expm1), SPAN(math_tanh), SPAN(math_erf), SPAN(math_erfc),
     SPAN(math_sigmoid), SPAN(math_log1p)},
    SPAN(stream_store),
};

#undef T
#undef COEF
#undef SPAN
#undef INLINE
#undef HAS
#undef DEFINE_ACT
#undef DEFINE_MATH
#undef CALL_FWD_
#undef CALL_BWD_
