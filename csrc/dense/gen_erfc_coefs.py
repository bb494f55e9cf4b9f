import numpy as np, mpmath as mp, sys
mp.mp.dps=40
def erfcx(a): return mp.erfc(a)*mp.exp(a*a)
# `gen_erfc_coefs.py ncdf32`: the float32 erfcx of m_ncdf, t = KX/(KX + |x|)
# with KX = float32(4√2) (K = KX/√2 in terms of a = |x|/√2), |x| <= 13.08,
# degree 9, printed as a polynomial in u = t − 0.6 (s = (t − mid)·2/(1 − T0))
NCDF32 = sys.argv[1] == 'ncdf32'
if sys.argv[1] == 'exp32':
    # `gen_erfc_coefs.py exp32`: e^r − 1 ≈ r + r²·q(r), q of degree 4, on
    # |r| <= ln2/2, minimax (Lawson) in ulps of e^r (m_expm1_reduced_for_exp)
    L = float(mp.log(2)) / 2
    r = np.cos(np.linspace(0, np.pi, 8001)) * L * 1.0005
    r = r[np.abs(r) > 1e-6]
    E = np.expm1(r); w = r**2 / np.where(r < 0, 2.0**-24, 2.0**-23)
    V = np.vander(r, 5, increasing=True); wt = np.ones_like(r)
    for _ in range(300):
        A = V * (w * np.sqrt(wt))[:, None]
        c = np.linalg.lstsq(A, (E - r) / r**2 * w * np.sqrt(wt), rcond=None)[0]
        err = np.abs((V @ c - (E - r) / r**2) * w); wt = wt * err / (wt * err).sum()
    print('exp32: %.3f ulp of e^r' % err.max(), file=sys.stderr)
    print(", ".join("%.9gf" % v for v in c.astype(np.float32)[::-1]))
    sys.exit(0)
if NCDF32:
    KX = float(np.float32(4 * np.sqrt(2)))
    K = float(mp.mpf(KX) / mp.sqrt(2)); AMAX = 13.08 / np.sqrt(2); NI = 1; D = 9; dt = 'f32'
else:
    K=float(sys.argv[1]); AMAX=float(sys.argv[2]); NI=int(sys.argv[3]); D=int(sys.argv[4]); dt=sys.argv[5]
T0=K/(K+AMAX)
f = np.float32 if dt=='f32' else np.float64
worst=0; tabs=[]
for k in range(NI):
    lo=T0+(1-T0)*k/NI; hi=T0+(1-T0)*(k+1)/NI
    M=D+1
    nodes=np.cos(np.pi*(np.arange(M)+0.5)/M)
    def tv(s):
        t=mp.mpf(lo)+(mp.mpf(hi)-mp.mpf(lo))*(mp.mpf(float(s))+1)/2
        return erfcx(K/t-K)
    vals=[tv(s) for s in nodes]
    A=mp.matrix([[mp.mpf(s)**j for j in range(M)] for s in nodes])
    c=mp.lu_solve(A, mp.matrix(vals))
    cf=[f(float(c[j])) for j in range(M)]
    tabs.append(cf)
    for s in np.linspace(-1,1,81):
        s=f(s); p=f(0)
        for j in reversed(range(M)): p=f(p*s+cf[j])
        e=abs((mp.mpf(float(p))-tv(s))/tv(s)); worst=max(worst,float(e))
ulp = 2**-24 if dt=='f32' else 2**-53
print(K,AMAX,NI,D,dt,worst/ulp, file=sys.stderr)
if NCDF32:
    # p(s) -> q(u): s = α·(u + TC − mid), expanded binomially in 40 digits
    TC = np.float32(0.6); c = mp.lu_solve(A, mp.matrix(vals))
    alpha = 2 / (1 - mp.mpf(T0)); delta = mp.mpf(float(TC)) - (1 + mp.mpf(T0)) / 2
    q = [mp.mpf(0)] * M
    for j in range(M):
        for i in range(j + 1):
            q[i] += c[j] * alpha ** j * mp.binomial(j, i) * delta ** (j - i)
    q32 = [np.float32(float(v)) for v in q]
    print("    {" + ", ".join("%.9gf" % v for v in q32) + "};")
    # error as m_ncdf evaluates it (t, u and Horner in float32, FMA), dense in |x|
    from scipy import special
    x = np.linspace(0, 13, 400001).astype(np.float32)
    u = (np.float32(KX) / (np.float32(KX) + x)).astype(np.float32) - TC  # exact: Sterbenz
    p = np.full_like(u, q32[-1])
    for v in reversed(q32[:-1]): p = (p.astype(np.float64) * u + float(v)).astype(np.float32)
    ex = special.erfcx(x.astype(np.float64) / np.sqrt(2))
    print('ncdf32 erfcx with rounded t, float32 Horner: %.2f ulp' %
          (np.abs(p - ex) / np.spacing(ex.astype(np.float32))).max(), file=sys.stderr)
elif len(sys.argv)>6:
    print("    /* t = %g/(%g + a) in [%.17g, 1]: %d pieces of degree %d */" % (K,K,T0,NI,D))
    for cf in tabs: print("    {" + ", ".join("%.17g" % float(v) for v in cf) + "},")
