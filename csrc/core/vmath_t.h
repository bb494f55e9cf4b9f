/* Template included by the per-ISA span templates of the dense and losses
 * families (so compiled once per ISA and per dtype): branch-free scalar math that GCC vectorizes inside `omp simd`
 * loops. Every function computes all its cases and selects, so a loop
 * calling it stays one straight-line vector body.
 *
 * Accuracy (measured by tests/test_dense.py against SciPy/NumPy in float64
 * and by mpmath while fitting, over normal, tiny, large, negative and
 * non-finite arguments; see the generator csrc/dense/gen_erfc_coefs.py):
 *   exp, expm1      float32 <= 1 ulp, float64 <= 1 ulp (range reduction by
 *                   ln2 with a two-part constant, Taylor polynomial on
 *                   |r| <= ln2/2, exponent bits built with integer ops,
 *                   results in the subnormal range scaled in two steps)
 *   tanh, sigmoid   <= 3 ulp (from expm1 / exp and one division; the
 *                   pair σ(x), σ(−x) of backward passes: the smaller one as
 *                   e·(1/d), one more ulp)
 *   Φ (GELU)        GELU float32 <= 12 ulp for |x| <= 13, flushed to −0
 *                   below −13 (|GELU| < 1e-37 there); float64 <= 8 ulp;
 *                   one exp of the exactly split −x²/2 times erfcx(|x|/√2),
 *                   no erf series and no 1 + erf cancellation (m_ncdf;
 *                   float32: erfcx a degree-9 polynomial in t − 0.6 with
 *                   t = 4√2/(4√2 + |x|), exp with a minimax polynomial one
 *                   degree shorter; 9.3 ulp the worst of 2M samples)
 *   erf             float32 <= 3 ulp, float64 <= 3 ulp
 *   erfc            float32 <= 11 ulp, float64 <= 9 ulp (the rounding of
 *                   t = 4/(4 + a) is amplified about (4 + a)·|erfcx'/erfcx|
 *                   times: worst near a = 0.5-1) (erf: Taylor series
 *                   for |x| < 1 (float32) or 0.5 (float64), else 1 − erfc;
 *                   erfc(a) = exp(−a²)·erfcx(a) with a² split
 *                   exactly and erfcx a polynomial in t = 4/(4 + a): one piece
 *                   for float32, 16 pieces looked up by index for float64)
 *   log1p on [0, 1] <= 2 ulp (2·atanh series after a halving step)
 * The exact bounds the tests enforce are in tests/test_dense.py. */

#define T FNN_REAL
#define MINLINE static inline __attribute__((always_inline))

#if FNN_IS_F32
#define MI int32_t
#define MU uint32_t
#define M_MANT 23
#define M_BIAS 127
#define M_MAGIC 12582912.0f /* 1.5·2^23: adding it rounds to an integer */
#define M_LN2_HI 0.693145751953125f /* few bits: k·LN2_HI is exact */
#define M_LN2_LO 1.42860682030941723212e-06f
#define M_EXP_HI 88.8f    /* exp overflows above (ln FLT_MAX = 88.72) */
#define M_EXP_LO -104.0f  /* exp rounds to 0 below */
#define M_EXPM1_LO -20.0f /* expm1 is −1 in float below */
#define M_ERFC_HI 10.0f   /* erfc underflows above */
#define M_SPLIT_MASK ((MI)0xfffff000) /* keeps 12 significant bits: hi·hi exact */
#define M_ERF_SERIES_MAX 1.0f /* float32 erf: series below, 1 − erfc above */
#else
#define MI int64_t
#define MU uint64_t
#define M_MANT 52
#define M_BIAS 1023
#define M_MAGIC 6755399441055744.0 /* 1.5·2^52 */
#define M_LN2_HI 6.93147180369123816490e-01
#define M_LN2_LO 1.90821492927058770002e-10
#define M_EXP_HI 709.8
#define M_EXP_LO -745.2
#define M_EXPM1_LO -40.0
#define M_ERFC_HI 28.0
#define M_SPLIT_MASK ((MI)0xfffffffff8000000LL) /* 26 significant bits */
#define M_ERF_SERIES_MAX 0.5
#endif
#define M_LOG2E ((T)1.44269504088896340736)

MINLINE MI FNN_NAME(m_bits)(T x)
{
    union { T f; MI i; } u;
    u.f = x;
    return u.i;
}

MINLINE T FNN_NAME(m_real)(MI i)
{
    union { T f; MI i; } u;
    u.i = i;
    return u.f;
}

/* 2^k for k in the normal exponent range */
MINLINE T FNN_NAME(m_pow2)(MI k) { return FNN_NAME(m_real)((MI)((MU)(k + M_BIAS) << M_MANT)); }

/* expm1(r) on |r| <= ln2/2: Taylor to the term below half an ulp, written as
 * r + r²·q(r) so the leading term is exact. */
MINLINE T FNN_NAME(m_expm1_reduced)(T r)
{
#if FNN_IS_F32
    T q = (T)(1.0 / 5040);
    q = q * r + (T)(1.0 / 720);
    q = q * r + (T)(1.0 / 120);
    q = q * r + (T)(1.0 / 24);
    q = q * r + (T)(1.0 / 6);
    q = q * r + (T)0.5;
#else
    T q = (T)(1.0 / 6227020800.0);
    q = q * r + (T)(1.0 / 479001600.0);
    q = q * r + (T)(1.0 / 39916800.0);
    q = q * r + (T)(1.0 / 3628800.0);
    q = q * r + (T)(1.0 / 362880.0);
    q = q * r + (T)(1.0 / 40320.0);
    q = q * r + (T)(1.0 / 5040.0);
    q = q * r + (T)(1.0 / 720.0);
    q = q * r + (T)(1.0 / 120.0);
    q = q * r + (T)(1.0 / 24.0);
    q = q * r + (T)(1.0 / 6.0);
    q = q * r + (T)0.5;
#endif
    return r + (r * r) * q;
}

#if FNN_IS_F32
/* e^r − 1 on |r| <= ln2/2 for callers that go on to e^r = 1 + (e^r − 1):
 * one degree less than m_expm1_reduced, a minimax fit of the error in ulps
 * of e^r (0.04 ulp; with float32 evaluation 1 + result within 0.36 ulp of
 * e^r before its rounding, Taylor 0.30), but not accurate relative to a
 * small e^r − 1 (csrc/dense/gen_erfc_coefs.py exp32) */
MINLINE T FNN_NAME(m_expm1_reduced_for_exp)(T r)
{
    T q = (T)0.0013780382f;
    q = q * r + (T)0.00836888328f;
    q = q * r + (T)0.0416690893f;
    q = q * r + (T)0.166665196f;
    q = q * r + (T)0.499999911f;
    return r + (r * r) * q;
}
#endif

/* x = k·ln2 + r with |r| <= ln2/2; returns r and k. NaN stays NaN in r. */
MINLINE T FNN_NAME(m_reduce)(T x, MI *k)
{
    T t = x * M_LOG2E + M_MAGIC;
    *k = FNN_NAME(m_bits)(t) - FNN_NAME(m_bits)(M_MAGIC);
    T kf = t - M_MAGIC;
    return (x - kf * M_LN2_HI) - kf * M_LN2_LO;
}

/* exp(x) for x <= 0, e.g. exp(−|x|) (up to M_EXP_HI the result is still
 * exp(x); above, unspecified): without m_exp's upper clamp, one compare and
 * one select less per element */
MINLINE T FNN_NAME(m_exp_neg)(T x)
{
    x = x < M_EXP_LO ? M_EXP_LO : x; /* NaN fails the test and passes */
    MI k;
    T r = FNN_NAME(m_reduce)(x, &k);
    T p = FNN_NAME(m_expm1_reduced)(r);
    /* 2^k in two factors: each stays normal when the result is subnormal
     * (one rounding, at the last multiply) or overflows to inf */
    MI k1 = k >> 1;
    T s1 = FNN_NAME(m_pow2)(k1);
    return (s1 + s1 * p) * FNN_NAME(m_pow2)(k - k1); /* (1 + p)·2^k1, one FMA */
}

MINLINE T FNN_NAME(m_exp)(T x)
{
    return FNN_NAME(m_exp_neg)(x > M_EXP_HI ? M_EXP_HI : x); /* NaN passes */
}

/* exp(−(hi + lo)) for hi >= 0 and |lo| <= 2^-10·hi (a two-part argument,
 * e.g. an exactly split square): k is taken from hi and lo is folded into
 * the reduced argument, so one exp gives what exp(−hi)·exp(−lo) would. */
MINLINE T FNN_NAME(m_exp_neg2)(T hi, T lo)
{
    T x = -hi;
    x = x < M_EXP_LO ? M_EXP_LO : x;
    MI k;
    T r = FNN_NAME(m_reduce)(x, &k) - lo;
    T p = FNN_NAME(m_expm1_reduced)(r);
    MI k1 = k >> 1;
    return (((T)1 + p) * FNN_NAME(m_pow2)(k1)) * FNN_NAME(m_pow2)(k - k1);
}

/* expm1 for x <= 0: 2^k·p + (2^k − 1) keeps full relative accuracy near 0.
 * For x > 0 the result is unspecified (callers may select it away). */
MINLINE T FNN_NAME(m_expm1_neg)(T x)
{
    T xc = x < M_EXPM1_LO ? M_EXPM1_LO : x;
    MI k;
    T r = FNN_NAME(m_reduce)(xc, &k);
    T p = FNN_NAME(m_expm1_reduced)(r);
    T s = FNN_NAME(m_pow2)(k);
    T r2 = s * p + (s - (T)1);
    /* r2 <= 0 for x <= 0, and only x = −0 gives r2 = +0: copying x's sign
     * (bit operations) makes expm1(−0) = −0 without a compare and select */
    return FNN_M(copysign)(r2, x);
}

/* expm1 anywhere: x > 0 through −expm1(−x)·exp(x), both factors accurate */
MINLINE T FNN_NAME(m_expm1)(T x)
{
    T ax = FNN_M(fabs)(x);
    T e = FNN_NAME(m_expm1_neg)(-ax);
    T pos = -e * FNN_NAME(m_exp)(ax);
    return x > (T)0 ? pos : (x == (T)0 ? x : e); /* keeps the sign of zero */
}

MINLINE T FNN_NAME(m_tanh)(T x)
{
    /* tanh|x| = −e/(e + 2), e = expm1(−2|x|) in (−1, 0]: no cancellation */
    T e = FNN_NAME(m_expm1_neg)((T)-2 * FNN_M(fabs)(x));
    return FNN_M(copysign)(-e / (e + (T)2), x);
}

/* σ(x) and σ(−x) = 1 − σ(x), each without cancellation: one division,
 * the smaller of the two as e·(1/d) (one more rounding, <= 1 ulp) */
MINLINE T FNN_NAME(m_sigmoid2)(T x, T *sig_neg)
{
    T e = FNN_NAME(m_exp_neg)(-FNN_M(fabs)(x));
    T r = (T)1 / ((T)1 + e);
    T small = e * r;
    *sig_neg = x >= (T)0 ? small : r;
    return x >= (T)0 ? r : small;
}

/* σ(x) alone: e/(1 + e) or 1/(1 + e), one division */
MINLINE T FNN_NAME(m_sigmoid)(T x)
{
    T e = FNN_NAME(m_exp_neg)(-FNN_M(fabs)(x));
    return (x >= (T)0 ? (T)1 : e) / ((T)1 + e);
}

/* log(1 + u) for u in [0, 1]: w = 1 + u, halved above √2 so that
 * s = (m − 1)/(m + 1) is within ±0.172, log m = 2·atanh(s) by its series;
 * the factor u/(w − 1) corrects the rounding of 1 + u. */
MINLINE T FNN_NAME(m_log1p01)(T u)
{
    T w = (T)1 + u;
    int hi = w > (T)1.41421356237309504880;
    T m = hi ? w * (T)0.5 : w;
    T kf = hi ? (T)1 : (T)0;
    T s = (m - (T)1) / (m + (T)1);
    T s2 = s * s;
#if FNN_IS_F32
    T q = (T)(1.0 / 11);
    q = q * s2 + (T)(1.0 / 9);
    q = q * s2 + (T)(1.0 / 7);
    q = q * s2 + (T)(1.0 / 5);
    q = q * s2 + (T)(1.0 / 3);
#else
    T q = (T)(1.0 / 23);
    q = q * s2 + (T)(1.0 / 21);
    q = q * s2 + (T)(1.0 / 19);
    q = q * s2 + (T)(1.0 / 17);
    q = q * s2 + (T)(1.0 / 15);
    q = q * s2 + (T)(1.0 / 13);
    q = q * s2 + (T)(1.0 / 11);
    q = q * s2 + (T)(1.0 / 9);
    q = q * s2 + (T)(1.0 / 7);
    q = q * s2 + (T)(1.0 / 5);
    q = q * s2 + (T)(1.0 / 3);
#endif
    T lg = kf * M_LN2_HI + ((T)2 * s + (T)2 * s * (s2 * q) + kf * M_LN2_LO);
    T wm1 = w - (T)1;
    return wm1 == (T)0 ? u : lg * (u / wm1);
}

/* exp(−a²) for a >= 0 without the rounding error of a²: a = h + l with h
 * short enough that h² is exact, a² = h² + l·(a + h). */
MINLINE T FNN_NAME(m_exp_negsq)(T a)
{
    T h = FNN_NAME(m_real)(FNN_NAME(m_bits)(a) & M_SPLIT_MASK);
    T lo = (a - h) * (a + h);
    return FNN_NAME(m_exp)(-(h * h)) * FNN_NAME(m_exp)(-lo);
}

/* erf(a) for 0 <= a < M_ERF_SERIES_MAX (odd Taylor series, terms below half
 * an ulp dropped; the series alternates but its terms stay below erf(a)
 * there, so little cancels) */
MINLINE T FNN_NAME(m_erf_small)(T a)
{
    T z = a * a;
#if FNN_IS_F32
    T q = (T)1.4807192815879218e-08;
    q = q * z + (T)-1.6365844691234924e-07;
    q = q * z + (T)1.6462114365889248e-06;
#else
    T q = (T)9.4227590646504113e-11;
    q = q * z + (T)-1.2290555301717928e-09;
    q = q * z + (T)1.4807192815879218e-08;
    q = q * z + (T)-1.6365844691234924e-07;
    q = q * z + (T)1.6462114365889248e-06;
#endif
    q = q * z + (T)-1.492565035840625e-05;
    q = q * z + (T)0.00012055332981789664;
    q = q * z + (T)-0.00085483270234508533;
    q = q * z + (T)0.0052239776254421879;
    q = q * z + (T)-0.026866170645131252;
    q = q * z + (T)0.11283791670955126;
    q = q * z + (T)-0.37612638903183754;
    return a * (T)1.1283791670955126 + a * (z * q);
}

#ifndef FNN_DENSE_ERFCX_TABLES
#define FNN_DENSE_ERFCX_TABLES
/* erfcx(a) = exp(a²)·erfc(a) as polynomials in s in [−1, 1] over pieces of
 * t = 4/(4 + a), fitted by interpolation at Chebyshev nodes in 40-digit
 * arithmetic (csrc/dense/gen_erfc_coefs.py). */
#define FNN_ERFCX64_PIECES 16
#define FNN_ERFCX64_T0 0.125
/* row-major [piece][11], flat: GCC gathers from a flat index, not a 2-D one */
static const double fnn_erfcx64_tab[FNN_ERFCX64_PIECES * 11] = {
    0.025324021465668922, 0.0053514701302544883, 0.00016922070368858349, 5.1131216101424934e-06, 1.4693956911236537e-07, 3.9922303711538712e-09, 1.0173693781680625e-10, 2.4051945365159636e-12, 5.1895952615945897e-14, 9.954839396914083e-16, 1.6104667215028805e-17,
    0.036747235131131699, 0.0060947525155097193, 0.00020377149236724758, 6.4660507991484448e-06, 1.9370190348348843e-07, 5.440500846323237e-09, 1.4194761874227408e-10, 3.3952955833912765e-12, 7.2962730730742859e-14, 1.3608768348277089e-15, 2.0449400324476281e-17,
    0.049806837403137919, 0.0069940936485380668, 0.00024768836923964367, 8.258037430410113e-06, 2.5766193817870186e-07, 7.4646775296044342e-09, 1.9863930472495426e-10, 4.7792344058387167e-12, 1.0138119229530923e-13, 1.8109659501726034e-15, 2.4402502401893867e-17,
    0.064856217288871143, 0.0080928263188417976, 0.00030406872992305088, 1.0652570486873273e-05, 3.4568643865233778e-07, 1.0299074751991543e-08, 2.7820403789594119e-10, 6.6861995569604632e-12, 1.3853627173926562e-13, 2.3253729218956316e-15, 2.6605349053591981e-17,
    0.082349244661127544, 0.0094488745343413172, 0.00037717607472638134, 1.3878543071242873e-05, 4.6740645878271227e-07, 1.4266130909612159e-08, 3.8897898464429824e-10, 9.2631612947163029e-12, 1.8516571292955691e-13, 2.8504284450956501e-15, 2.5107033274953162e-17,
    0.10287468752204229, 0.011140298677421225, 0.00047290630367537368, 1.8256211505983828e-05, 6.362194010428332e-07, 1.9800881966253144e-08, 5.4139863337055721e-10, 1.2659194321876505e-11, 2.4066565195529329e-13, 3.2896169284594084e-15, 1.7650355089413697e-17,
    0.12720380925547536, 0.013273051395549861, 0.00059943579816957616, 2.4232164136253936e-05, 8.7053974200934598e-07, 2.7475616772481234e-08, 7.4784448471948651e-10, 1.6997667468907619e-11, 3.0229634612643668e-13, 3.5033380138853445e-15, 2.3182474163706684e-18,
    0.15635637052488383, 0.015991787397674789, 0.00076811124911507138, 3.2425241112085798e-05, 1.1952786242126836e-06, 3.8020041863098054e-08, 1.0220186431870511e-09, 2.2336382570499954e-11, 3.645180221444907e-13, 3.3245475398087135e-15, -2.155949111974532e-17,
    0.19169220170816301, 0.019494832421890804, 0.00099465194890624204, 4.3684973857679439e-05, 1.6434756818810667e-06, 5.2330322420606931e-08, 1.3776985722712115e-09, 2.8620224675268254e-11, 4.1877427928201948e-13, 2.5926592084021744e-15, -5.2553120943798035e-17,
    0.23503801626423432, 0.024054715325928278, 0.001300742276418068, 5.9163214836933693e-05, 2.2579332087945061e-06, 7.1459180749084978e-08, 1.8268301441588447e-09, 3.5635969892276359e-11, 4.5401783225293067e-13, 1.200402534237724e-15, -8.6759023553558887e-17,
    0.28886225696086953, 0.030045980790313797, 0.0017160919016226202, 8.0398115379957065e-05, 3.0926250218090421e-06, 9.6579647424750957e-08, 2.3770791998017637e-09, 4.298244878586934e-11, 4.5810392613403734e-13, -8.5950148566491438e-16, -1.1822312655129941e-16,
    0.35651450137162838, 0.037982292275704453, 0.0022810301650119939, 0.00010940751874519946, 4.2135893171240961e-06, 1.2891763887900545e-07, 3.0291508968062642e-09, 5.0069129597727188e-11, 4.1989870107992419e-13, -3.4644811969813275e-15, -1.4016921982457938e-16,
    0.44255020990664706, 0.04856505587916804, 0.0030496762097436373, 0.00014878637335631365, 5.6989885308866212e-06, 1.6965324229294719e-07, 3.7743409331416793e-09, 5.6151421862729986e-11, 3.3167039087826632e-13, -6.3621899291895371e-15, -1.466824070890835e-16,
    0.55316617903775767, 0.062745887244308504, 0.0040936865729358108, 0.00020180030854404518, 7.6380476622143161e-06, 2.1979663808900612e-07, 4.5928430722361383e-09, 6.0402595280951531e-11, 1.9117345218719903e-13, -9.2041730225654254e-15, -1.3428825443990309e-16,
    0.69677664625906477, 0.081805147554925059, 0.0055065284706635551, 0.00027246552678065621, 1.012867258783952e-05, 2.8005060750201398e-07, 5.453269304075709e-09, 6.2012789281041297e-11, 2.872057169586792e-15, -1.1605580161137572e-14, -1.0290875861922334e-16,
    0.88476415678822196, 0.10744844411548041, 0.0074081642297984165, 0.00036560412326337781, 1.3273693502729203e-05, 3.5067601985235668e-07, 6.3136503326699041e-09, 6.029827171306941e-11, -2.2203351993870676e-13, -1.3215249422848592e-14, -5.5925900400845324e-17,
};
static const float fnn_erfcx32_coef[13] =
    {0.23357014358043671, 0.31211239099502563, 0.2200557142496109, 0.13060057163238525, 0.065078645944595337, 0.026908861473202705, 0.0089942850172519684, 0.0022967967670410872, 0.00038398662582039833, 1.3344246326596476e-05, -1.2419995982781984e-05, -2.4543728613934945e-06, 1.4264986702983151e-07};
#define FNN_ERFCX32_T0 0.2857142857142857
/* erfcx(|x|/√2) for Φ in float32 (m_ncdf): a polynomial of degree 9 in
 * u = t − TC, t = K/(K + |x|), K = float32(4√2) (so t = 4/(4 + a) with
 * a = |x|/√2, as in erfc), for |x| <= 13.08: t in [0.3019, 1]. TC = 0.6 is
 * below twice the smallest t, so t − TC is exact (Sterbenz) and adds no
 * rounding. Fitted at Chebyshev nodes in 40-digit arithmetic
 * (csrc/dense/gen_erfc_coefs.py ncdf32); with t rounded as here and
 * float32 evaluation: <= 6.8 ulp. */
static const float fnn_ncdf32_coef[10] =
    {0.199072644f, 0.740649164f, 1.39727795f, 2.2598815f, 3.11886811f, 3.62690306f, 3.48069572f, 2.65646505f, 1.32159317f, 0.0496393032f};
#define FNN_NCDF32_K 5.65685415f
#define FNN_NCDF32_TC 0.600000024f
#endif

/* erfcx(a) = exp(a²)·erfc(a) for 0 <= a <= M_ERFC_HI (a little beyond is
 * harmless: float32 extrapolates, float64 uses its last piece) */
MINLINE T FNN_NAME(m_erfcx_poly)(T ac)
{
    T t = (T)4 / ((T)4 + ac);
#if FNN_IS_F32
    const T t0 = (T)FNN_ERFCX32_T0;
    T s = (t - t0) * (T)(2.0 / (1.0 - FNN_ERFCX32_T0)) - (T)1;
    /* unrolled by hand: the vectorizer needs straight-line code here */
#define CF(j) ((T)fnn_erfcx32_coef[j])
    T p = CF(12);
    p = p * s + CF(11);
    p = p * s + CF(10);
    p = p * s + CF(9);
    p = p * s + CF(8);
    p = p * s + CF(7);
    p = p * s + CF(6);
    p = p * s + CF(5);
    p = p * s + CF(4);
    p = p * s + CF(3);
    p = p * s + CF(2);
    p = p * s + CF(1);
    p = p * s + CF(0);
#undef CF
#else
    const T width = (T)((1.0 - FNN_ERFCX64_T0) / FNN_ERFCX64_PIECES);
    T u = (t - (T)FNN_ERFCX64_T0) / width;
    u = u >= (T)0 ? u : (T)0; /* NaN too: the index must stay in the table */
    int idx = (int)u; /* int32 indices: what the gathers take */
    idx = idx > FNN_ERFCX64_PIECES - 1 ? FNN_ERFCX64_PIECES - 1 : idx;
    T s = (u - (T)idx) * (T)2 - (T)1;
    /* one gather per coefficient, unrolled by hand for the vectorizer */
#define CF(j) fnn_erfcx64_tab[idx * 11 + (j)]
    T p = CF(10);
    p = p * s + CF(9);
    p = p * s + CF(8);
    p = p * s + CF(7);
    p = p * s + CF(6);
    p = p * s + CF(5);
    p = p * s + CF(4);
    p = p * s + CF(3);
    p = p * s + CF(2);
    p = p * s + CF(1);
    p = p * s + CF(0);
#undef CF
#endif
    return p;
}

/* erfc(a) and exp(−a²) for a >= 0 (NaN propagates) */
MINLINE T FNN_NAME(m_erfc_pos)(T a, T *e2_out)
{
    T ac = a > M_ERFC_HI ? M_ERFC_HI : a;
    T p = FNN_NAME(m_erfcx_poly)(ac);
    T e2 = FNN_NAME(m_exp_negsq)(ac);
    *e2_out = a > M_ERFC_HI ? (T)0 : e2;
    T r = e2 * p;
    r = a > M_ERFC_HI ? (T)0 : r;
    return a != a ? a : r;
}

MINLINE T FNN_NAME(m_erfc)(T x)
{
    T e2;
    T a = FNN_M(fabs)(x);
    T small = (T)1 - FNN_NAME(m_erf_small)(a);
    T big = FNN_NAME(m_erfc_pos)(a, &e2);
    T pos = a < (T)0.5 ? small : big;
    return x < (T)0 ? (T)2 - pos : pos;
}

MINLINE T FNN_NAME(m_erf)(T x)
{
    T e2;
    T a = FNN_M(fabs)(x);
    T small = FNN_NAME(m_erf_small)(a);
    T big = (T)1 - FNN_NAME(m_erfc_pos)(a, &e2);
    return FNN_M(copysign)(a < M_ERF_SERIES_MAX ? small : big, x);
}

/* Φ(x) = erfc(−x/√2)/2 and the density φ(x) = exp(−x²/2)/√(2π) with one
 * exp and one erfcx: Φ(−|x|) = exp(−x²/2)·erfcx(|x|/√2)/2 keeps its relative
 * accuracy in the lower tail, Φ(|x|) = 1 − Φ(−|x|) >= 1/2 cancels nothing.
 * x²/2 is split exactly (x = h + l with h² exact) so that exp(−x²/2) does
 * not inherit the rounding of x², which would cost 2·(x²/2) ulp.
 * float32: erfcx is a shorter polynomial fitted on |x| <= 13.08 only, and
 * beyond |x| = 13 Φ(−|x|) and φ are flushed to 0 (they are below 7e-39
 * there: GELU's lower tail is then −0 instead of a value under 1e-37, where
 * the product x·Φ(x) of torch's formula has long been 0), so exp needs no
 * subnormal scaling. float64: the erfcx table of erfc, |x| clamped at 40
 * where everything underflows anyway. */
MINLINE T FNN_NAME(m_ncdf)(T x, T *pdf)
{
    T ax = FNN_M(fabs)(x);
#if FNN_IS_F32
    const int flush = ax > (T)13; /* NaN: not flushed, propagates */
    ax = flush ? (T)13 : ax;
    /* the constants K and TC instead of 4/(4 + |x|/√2) and an affine map to
     * [−1, 1]: an add and a subtract instead of two FMAs and an add */
    T t = (T)FNN_NCDF32_K / ((T)FNN_NCDF32_K + ax);
    T u = t - (T)FNN_NCDF32_TC;
#define CF(j) ((T)fnn_ncdf32_coef[j])
    T p = CF(9);
    p = p * u + CF(8);
    p = p * u + CF(7);
    p = p * u + CF(6);
    p = p * u + CF(5);
    p = p * u + CF(4);
    p = p * u + CF(3);
    p = p * u + CF(2);
    p = p * u + CF(1);
    p = p * u + CF(0);
#undef CF
    T h = FNN_NAME(m_real)(FNN_NAME(m_bits)(ax) & M_SPLIT_MASK);
    T l = ax - h;
    /* x²/2 = h·(h/2) + l·(h + l/2), the first part exact; exp of it with
     * hi <= 84.5: 2^k stays normal, one scaling */
    MI k;
    T r = FNN_NAME(m_reduce)(h * (h * (T)-0.5), &k) - l * (h + (T)0.5 * l);
    T em1 = FNN_NAME(m_expm1_reduced_for_exp)(r);
    /* exp(−x²/2) = (1 + em1)·2^k, never formed: each result takes its
     * constant factor as c + c·em1 (one FMA) and one power of two */
    *pdf = flush ? (T)0 : ((T)0.39894228040143267794 + (T)0.39894228040143267794 * em1) * FNN_NAME(m_pow2)(k);
    T q = (p + p * em1) * FNN_NAME(m_pow2)(k - 1); /* Φ(−|x|) = e·erfcx/2 */
    q = flush ? (T)0 : q;
    return x < (T)0 ? q : (T)1 - q;
#else
    ax = ax > (T)40 ? (T)40 : ax; /* NaN passes */
    T p = FNN_NAME(m_erfcx_poly)(ax * (T)0.70710678118654752440);
    T h = FNN_NAME(m_real)(FNN_NAME(m_bits)(ax) & M_SPLIT_MASK);
    T l = ax - h;
    T e = FNN_NAME(m_exp_neg2)((h * h) * (T)0.5, h * l + (l * l) * (T)0.5);
    *pdf = e * (T)0.39894228040143267794;
    T q = ((T)0.5 * e) * p; /* Φ(−|x|) */
    return x < (T)0 ? q : (T)1 - q;
#endif
}

#undef T
#undef MINLINE
#undef MI
#undef MU
#undef M_MANT
#undef M_BIAS
#undef M_MAGIC
#undef M_LN2_HI
#undef M_LN2_LO
#undef M_EXP_HI
#undef M_EXP_LO
#undef M_EXPM1_LO
#undef M_ERFC_HI
#undef M_SPLIT_MASK
#undef M_ERF_SERIES_MAX
#undef M_LOG2E
