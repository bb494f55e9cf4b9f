import numpy as np, mpmath as mp, sys
mp.mp.dps=40
def erfcx(a): return mp.erfc(a)*mp.exp(a*a)
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
if len(sys.argv)>6:
    print("    /* t = %g/(%g + a) in [%.17g, 1]: %d pieces of degree %d */" % (K,K,T0,NI,D))
    for cf in tabs: print("    {" + ", ".join("%.17g" % float(v) for v in cf) + "},")
