/* Template (see core/instantiate_dtypes.h), compiled once per ISA by
 * core/isa_unit.c through dense_spans_t.h: fastnn's own single-threaded
 * matrix product, C = A·B, packed and blocked in the manner of GotoBLAS and
 * BLIS.
 *
 *   jc  over N in blocks of NC columns
 *     pc  over K in blocks of KC          pack B[pc, jc] into KC×NR panels
 *       ic  over M in blocks of MC rows   pack A[ic, pc] into MR×KC panels
 *         jr, ir                          the MR×NR micro-kernel: MR·NR/VL
 *                                         accumulators in registers
 *
 * The vectors are GCC/Clang vector types (`vector_size`), as wide as the
 * unit's instruction set: 16 bytes at the baseline (SSE2, or NEON on
 * other machines), 32 with AVX2, 64 with AVX-512. The dense unit contracts
 * a·b + c (FNN_FP_CONTRACT_FAST), so `acc += a * b` is one FMA at the AVX2
 * and AVX-512 levels; the baseline rounds the product and the sum.
 *
 * Each output's K-sum is one chain in K order: the first K block starts
 * its accumulators at zero, every later block loads them from C. So a
 * result depends neither on the blocking nor on where a caller cuts M and
 * N, only on the SIMD level (FMA or not); any tile grid and any thread
 * count give the same bits.
 *
 * Operands are read through strides, A(i, p) = a[i·a_rs + p·a_cs] and
 * B(p, j) = b[p·b_rs + j·b_cs], so one routine serves x·Wᵀ, dz·W and
 * dzᵀ·x. The packing buffer comes from the caller
 * (FNN_GEMM_PACK_VALUES(n, k, FNN_SFX) values, 64-byte aligned); nothing is
 * allocated here. After the last K
 * block of an MC×NC block of C, the caller's epilogue runs on it while it
 * is in cache (the dense forward's bias and activation). */

#define T FNN_REAL
#define GS(name) FNN_ISA_NAME(name)
#define GINLINE static inline __attribute__((always_inline))
#define ARGS FNN_NAME(fnn_gemm_args)

#if FNN_ISA_ID(FNN_ISA) == 2
#define G_VBYTES 64
#elif FNN_ISA_ID(FNN_ISA) == 1
#define G_VBYTES 32
#else
#define G_VBYTES 16
#endif
#define G_VL (G_VBYTES / (int)sizeof(T)) /* values per vector */
#define G_MR FNN_GEMM_MR
#define G_NR (2 * G_VL)
#define G_KC FNN_NAME(FNN_GEMM_KC)
#define G_MC FNN_NAME(FNN_GEMM_MC)
#define G_NC FNN_NAME(FNN_GEMM_NC)

typedef T GS(gvec) __attribute__((vector_size(G_VBYTES)));
/* the same vector at any address (C rows, unpacked B rows) */
typedef T GS(gvec_u) __attribute__((vector_size(G_VBYTES), aligned(sizeof(T))));
#define V GS(gvec)
#define VU GS(gvec_u)

/* the MR×NR block at c (row stride ldc): acc[r][0..1] for rows r < 6 */
#define G_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

/* C[0:MR, 0:NR] = (load ? C : 0) + Σ_p A(:, p)·B(p, :), from packed panels:
 * ap holds MR values per p, bp NR values per p. */
GINLINE void GS(gemm_micro)(size_t kc, const T *FNN_RESTRICT ap, const T *FNN_RESTRICT bp,
                            T *c, size_t ldc, int load)
{
#define G_DECL(r) V c##r##0, c##r##1;
    G_ROWS(G_DECL)
#undef G_DECL
    if (load) {
#define G_LOAD(r)                                  \
    c##r##0 = *(const VU *)(c + (r) * ldc);        \
    c##r##1 = *(const VU *)(c + (r) * ldc + G_VL);
        G_ROWS(G_LOAD)
#undef G_LOAD
    } else {
#define G_ZERO(r)       \
    c##r##0 = (V){0};   \
    c##r##1 = (V){0};
        G_ROWS(G_ZERO)
#undef G_ZERO
    }
    /* a − 0 is a exactly (−0 included): the scalar is broadcast from memory */
#pragma GCC unroll 4
    for (size_t p = 0; p < kc; ++p) {
        const V b0 = *(const V *)bp;
        const V b1 = *(const V *)(bp + G_VL);
#define G_FMA(r)                         \
    {                                    \
        const V a = ap[r] - (V){0};      \
        c##r##0 += a * b0;               \
        c##r##1 += a * b1;               \
    }
        G_ROWS(G_FMA)
#undef G_FMA
        ap += G_MR;
        bp += G_NR;
    }
#define G_STORE(r)                            \
    *(VU *)(c + (r) * ldc) = c##r##0;         \
    *(VU *)(c + (r) * ldc + G_VL) = c##r##1;
    G_ROWS(G_STORE)
#undef G_STORE
}

/* A partial micro-tile (mr < MR or nr < NR) goes through a full one on the
 * stack: same arithmetic, so the same bits as a full tile would give. */
GINLINE void GS(gemm_micro_edge)(size_t kc, const T *ap, const T *bp, T *c, size_t ldc,
                                 size_t mr, size_t nr, int load)
{
    _Alignas(64) T tmp[G_MR * G_NR];
    if (load)
        for (size_t i = 0; i < mr; ++i)
            for (size_t j = 0; j < nr; ++j) tmp[i * G_NR + j] = c[i * ldc + j];
    GS(gemm_micro)(kc, ap, bp, tmp, G_NR, load);
    for (size_t i = 0; i < mr; ++i)
        for (size_t j = 0; j < nr; ++j) c[i * ldc + j] = tmp[i * G_NR + j];
}

/* The transpose of the B = Wᵀ packing: G_TW columns of B (each G_TW
 * values along p, contiguous; column j at s + j·cs) into G_TW rows of a
 * panel (row q at d + q·NR). G_TW values make 32 bytes (8 float32, 4
 * float64): whole vectors at AVX2, a pair at the baseline, half of one at
 * AVX-512; NR is a multiple of G_TW at every level. A pure copy: the packed
 * panel, and so every result, is the same as the scalar transpose's. */
#if FNN_IS_F32
#define G_TW 8
#else
#define G_TW 4
#endif
typedef T GS(gtw) __attribute__((vector_size(32)));
typedef T GS(gtw_u) __attribute__((vector_size(32), aligned(sizeof(T))));
#define G_SHUF __builtin_shufflevector
#if FNN_IS_F32
/* o[q][i] = r_i[q], for the 8 vectors r0..r7 of 8 float32 */
#define G_TRANSPOSE8(o, r0, r1, r2, r3, r4, r5, r6, r7)                 \
    {                                                                   \
        const W t0 = G_SHUF(r0, r1, 0, 8, 1, 9, 4, 12, 5, 13);          \
        const W t1 = G_SHUF(r0, r1, 2, 10, 3, 11, 6, 14, 7, 15);        \
        const W t2 = G_SHUF(r2, r3, 0, 8, 1, 9, 4, 12, 5, 13);          \
        const W t3 = G_SHUF(r2, r3, 2, 10, 3, 11, 6, 14, 7, 15);        \
        const W t4 = G_SHUF(r4, r5, 0, 8, 1, 9, 4, 12, 5, 13);          \
        const W t5 = G_SHUF(r4, r5, 2, 10, 3, 11, 6, 14, 7, 15);        \
        const W t6 = G_SHUF(r6, r7, 0, 8, 1, 9, 4, 12, 5, 13);          \
        const W t7 = G_SHUF(r6, r7, 2, 10, 3, 11, 6, 14, 7, 15);        \
        const W u0 = G_SHUF(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13);          \
        const W u1 = G_SHUF(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);        \
        const W u2 = G_SHUF(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13);          \
        const W u3 = G_SHUF(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);        \
        const W u4 = G_SHUF(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13);          \
        const W u5 = G_SHUF(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);        \
        const W u6 = G_SHUF(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13);          \
        const W u7 = G_SHUF(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);        \
        o[0] = G_SHUF(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11);                \
        o[1] = G_SHUF(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11);                \
        o[2] = G_SHUF(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11);                \
        o[3] = G_SHUF(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11);                \
        o[4] = G_SHUF(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15);              \
        o[5] = G_SHUF(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15);              \
        o[6] = G_SHUF(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15);              \
        o[7] = G_SHUF(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15);              \
    }
#endif
GINLINE void GS(gemm_transpose_block)(const T *s, ptrdiff_t cs, T *d)
{
    typedef GS(gtw) W;
    typedef GS(gtw_u) WU;
#if FNN_IS_F32
    const W r0 = *(const WU *)s, r1 = *(const WU *)(s + cs), r2 = *(const WU *)(s + 2 * cs),
            r3 = *(const WU *)(s + 3 * cs), r4 = *(const WU *)(s + 4 * cs),
            r5 = *(const WU *)(s + 5 * cs), r6 = *(const WU *)(s + 6 * cs),
            r7 = *(const WU *)(s + 7 * cs);
    W o[8];
    G_TRANSPOSE8(o, r0, r1, r2, r3, r4, r5, r6, r7)
    for (int q = 0; q < 8; ++q) *(WU *)(d + q * G_NR) = o[q];
#else
    const W r0 = *(const WU *)s, r1 = *(const WU *)(s + cs), r2 = *(const WU *)(s + 2 * cs),
            r3 = *(const WU *)(s + 3 * cs);
    const W t0 = G_SHUF(r0, r1, 0, 4, 2, 6);
    const W t1 = G_SHUF(r0, r1, 1, 5, 3, 7);
    const W t2 = G_SHUF(r2, r3, 0, 4, 2, 6);
    const W t3 = G_SHUF(r2, r3, 1, 5, 3, 7);
    *(WU *)(d + 0 * G_NR) = G_SHUF(t0, t2, 0, 1, 4, 5);
    *(WU *)(d + 1 * G_NR) = G_SHUF(t1, t3, 0, 1, 4, 5);
    *(WU *)(d + 2 * G_NR) = G_SHUF(t0, t2, 2, 3, 6, 7);
    *(WU *)(d + 3 * G_NR) = G_SHUF(t1, t3, 2, 3, 6, 7);
#endif
}

#if FNN_IS_F32 && G_MR == 6
/* The A packing of x (rows contiguous along p): 8 values of p of six rows
 * into the panel's 8 × 6 values at d, by the 8×8 transpose (two zero rows)
 * and overlapping stores of 8 values, the last one shifted to end at d + 48. */
GINLINE void GS(gemm_transpose_6x8)(const T *s0, const T *s1, const T *s2, const T *s3,
                                    const T *s4, const T *s5, T *d)
{
    typedef GS(gtw) W;
    typedef GS(gtw_u) WU;
    const W r0 = *(const WU *)s0, r1 = *(const WU *)s1, r2 = *(const WU *)s2,
            r3 = *(const WU *)s3, r4 = *(const WU *)s4, r5 = *(const WU *)s5, z = (W){0};
    W o[8];
    G_TRANSPOSE8(o, r0, r1, r2, r3, r4, r5, z, z)
    for (int q = 0; q < 7; ++q) *(WU *)(d + q * 6) = o[q];
    *(WU *)(d + 40) = G_SHUF(o[6], o[7], 4, 5, 8, 9, 10, 11, 12, 13);
}
#endif

/* dst: ⌈mc/MR⌉ panels of kc × MR values (zero rows past mc) */
static void GS(gemm_pack_a)(size_t mc, size_t kc, const T *a, ptrdiff_t rs, ptrdiff_t cs,
                            T *FNN_RESTRICT dst)
{
    for (size_t i0 = 0; i0 < mc; i0 += G_MR) {
        const size_t mr = mc - i0 < G_MR ? mc - i0 : G_MR;
        const T *src = a + (ptrdiff_t)i0 * rs;
        if (mr == G_MR && cs == 1) {
            /* rows contiguous along p: six streams */
            const T *r0 = src, *r1 = src + rs, *r2 = src + 2 * rs, *r3 = src + 3 * rs,
                    *r4 = src + 4 * rs, *r5 = src + 5 * rs;
            size_t p = 0;
#if FNN_IS_F32
            for (; p + 8 <= kc; p += 8) {
                GS(gemm_transpose_6x8)(r0 + p, r1 + p, r2 + p, r3 + p, r4 + p, r5 + p, dst);
                dst += 8 * G_MR;
            }
#endif
            for (; p < kc; ++p) {
                dst[0] = r0[p];
                dst[1] = r1[p];
                dst[2] = r2[p];
                dst[3] = r3[p];
                dst[4] = r4[p];
                dst[5] = r5[p];
                dst += G_MR;
            }
        } else if (mr == G_MR && rs == 1) {
            /* columns contiguous along i: MR values per p */
            for (size_t p = 0; p < kc; ++p) {
                const T *s = src + (ptrdiff_t)p * cs;
                for (size_t i = 0; i < G_MR; ++i) dst[i] = s[i];
                dst += G_MR;
            }
        } else {
            for (size_t p = 0; p < kc; ++p) {
                size_t i = 0;
                for (; i < mr; ++i) dst[i] = src[(ptrdiff_t)i * rs + (ptrdiff_t)p * cs];
                for (; i < G_MR; ++i) dst[i] = (T)0;
                dst += G_MR;
            }
        }
    }
}

/* dst: ⌈nc/NR⌉ panels of kc × NR values (zero columns past nc) */
static void GS(gemm_pack_b)(size_t kc, size_t nc, const T *b, ptrdiff_t rs, ptrdiff_t cs,
                            T *FNN_RESTRICT dst)
{
    for (size_t j0 = 0; j0 < nc; j0 += G_NR) {
        const size_t nr = nc - j0 < G_NR ? nc - j0 : G_NR;
        const T *src = b + (ptrdiff_t)j0 * cs;
        if (nr == G_NR && cs == 1) {
            /* rows of B contiguous along j: one vector pair per p */
            for (size_t p = 0; p < kc; ++p) {
                const T *s = src + (ptrdiff_t)p * rs;
                *(V *)dst = *(const VU *)s;
                *(V *)(dst + G_VL) = *(const VU *)(s + G_VL);
                dst += G_NR;
            }
        } else if (nr == G_NR && rs == 1) {
            /* columns of B contiguous along p (B = Wᵀ): a transpose, in
             * G_TW × G_TW blocks read as vectors along p and transposed in
             * registers, then the last kc mod G_TW values of p one by one */
            size_t p0 = 0;
            for (; p0 + G_TW <= kc; p0 += G_TW)
                for (size_t j = 0; j < G_NR; j += G_TW)
                    GS(gemm_transpose_block)(src + (ptrdiff_t)j * cs + (ptrdiff_t)p0, cs,
                                             dst + p0 * G_NR + j);
            for (size_t j = 0; j < G_NR; ++j) {
                const T *s = src + (ptrdiff_t)j * cs;
                for (size_t p = p0; p < kc; ++p) dst[p * G_NR + j] = s[p];
            }
            dst += kc * G_NR;
        } else {
            for (size_t p = 0; p < kc; ++p) {
                size_t j = 0;
                for (; j < nr; ++j) dst[j] = src[(ptrdiff_t)p * rs + (ptrdiff_t)j * cs];
                for (; j < G_NR; ++j) dst[j] = (T)0;
                dst += G_NR;
            }
        }
    }
}

static void GS(gemm)(const ARGS *g)
{
    const size_t m = g->m, n = g->n, k = g->k, ldc = g->ldc;
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (size_t i = 0; i < m; ++i) memset(g->c + i * ldc, 0, n * sizeof(T));
        if (g->epilogue)
            for (size_t jc = 0; jc < n; jc += G_NC)
                for (size_t ic = 0; ic < m; ic += G_MC)
                    g->epilogue(g->ctx, ic, m - ic < G_MC ? m - ic : G_MC, jc,
                                n - jc < G_NC ? n - jc : G_NC);
        return;
    }
    /* the B block (KC × NC, columns rounded up to NR), then the A block
     * (MC × KC): FNN_GEMM_PACK_VALUES(n, k, FNN_SFX) values */
    const size_t kc_max = k < G_KC ? k : G_KC;
    const size_t nc_max = n < G_NC ? n : G_NC;
    T *pack_b = g->pack;
    T *pack_a = g->pack + kc_max * ((nc_max + G_NR - 1) / G_NR * G_NR);
    for (size_t jc = 0; jc < n; jc += G_NC) {
        const size_t nc = n - jc < G_NC ? n - jc : G_NC;
        for (size_t pc = 0; pc < k; pc += G_KC) {
            const size_t kc = k - pc < G_KC ? k - pc : G_KC;
            const int load = pc > 0, last = pc + kc == k;
            GS(gemm_pack_b)(kc, nc, g->b + (ptrdiff_t)pc * g->b_rs + (ptrdiff_t)jc * g->b_cs,
                            g->b_rs, g->b_cs, pack_b);
            for (size_t ic = 0; ic < m; ic += G_MC) {
                const size_t mc = m - ic < G_MC ? m - ic : G_MC;
                GS(gemm_pack_a)(mc, kc, g->a + (ptrdiff_t)ic * g->a_rs + (ptrdiff_t)pc * g->a_cs,
                                g->a_rs, g->a_cs, pack_a);
                for (size_t jr = 0; jr < nc; jr += G_NR) {
                    const size_t nr = nc - jr < G_NR ? nc - jr : G_NR;
                    const T *bp = pack_b + jr * kc;
                    for (size_t ir = 0; ir < mc; ir += G_MR) {
                        const size_t mr = mc - ir < G_MR ? mc - ir : G_MR;
                        T *c = g->c + (ic + ir) * ldc + jc + jr;
                        const T *ap = pack_a + ir * kc;
                        if (mr == G_MR && nr == G_NR)
                            GS(gemm_micro)(kc, ap, bp, c, ldc, load);
                        else
                            GS(gemm_micro_edge)(kc, ap, bp, c, ldc, mr, nr, load);
                    }
                }
                if (last && g->epilogue) g->epilogue(g->ctx, ic, mc, jc, nc);
            }
        }
    }
}

#undef T
#undef GS
#undef GINLINE
#undef ARGS
#undef G_VBYTES
#undef G_VL
#undef G_MR
#undef G_NR
#undef G_KC
#undef G_MC
#undef G_NC
#undef V
#undef VU
#undef G_ROWS
#undef G_TW
#undef G_SHUF
#undef G_TRANSPOSE8
