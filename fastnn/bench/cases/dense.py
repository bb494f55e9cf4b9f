"""Dense layer and activation benchmarks.

Dense rows time the fused layer against the NumPy reference
(``act(x @ W.T + b)`` in separate NumPy passes). Their targets compare the
fused layer with bare products on the same shapes into preallocated
arrays: "<= 1.15x bare matmul" / "<= 1.2x two bare matmuls" with
``numpy.matmul``, and with torch "<= 1.1x fastest bare matmul" / "<= 1.2x
fastest two bare matmuls" with the faster of NumPy's and torch's products
in each round. Both are medians of 5 rounds that each time the bare
products and the layer back to back (:func:`paired_ratios`; the ratios
are appended to the targets' texts). Activation rows time 16M float32
values, the size of their targets.

The default sweep keeps every target row and nothing else: dense forward
for ReLU, GELU, SiLU and ELU on both shapes, dense backward for GELU (the
most expensive derivative) on both shapes, and the five activations forward
and backward. ``--full`` adds the backward of ReLU, SiLU and ELU.
"""
import time

import numpy as np

from fastnn import functional as F
from fastnn import reference as R
from fastnn.bench.harness import Case, Target, measure

SHAPES = [(4096, 256, 256), (256, 1024, 1024)]  # (N, in_features, out_features)
FWD_ACTS = ["relu", "gelu", "silu", "elu"]
ACT_N = 16 * 1024 * 1024  # the size of the targets
BWD_ACTS_DEFAULT = ["gelu"]
ACT_NAMES = ["gelu", "silu", "elu", "sigmoid", "tanh"]


def _label(n, k, m):
    return f"x {n}x{k} @ W {k}x{m}"


def _layer(n, k, m, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, k)).astype(dtype)
    w = (rng.standard_normal((m, k)) / np.sqrt(k)).astype(dtype)
    b = (0.1 * rng.standard_normal(m)).astype(dtype)
    g = rng.standard_normal((n, m)).astype(dtype)
    return x, w, b, g


SETTLE = 0.15  # see Case.settle
PAIRED_ROUNDS = 5


def paired_ratios(fn, bares, rounds=PAIRED_ROUNDS, min_time=0.05):
    """Medians over ``rounds`` of time(fn) / time(bare) for each of ``bares``
    and of time(fn) / the fastest bare time of the round.

    Each round times the bare products and ``fn`` back to back (threads
    settled before each), in an order that rotates every round, so that a
    slow phase of a shared machine weighs on both sides of each ratio.

    Returns
    -------
    list of float
        One median per bare product, then the median against the fastest.
    """
    fns = list(bares) + [fn]
    per_round = []
    for r in range(rounds):
        times = [0.0] * len(fns)
        for j in range(len(fns)):
            i = (j + r) % len(fns)
            time.sleep(SETTLE)
            times[i] = measure(fns[i], min_time, repeats=3)
        t_fn = times[-1]
        per_round.append([t_fn / t for t in times[:-1]] + [t_fn / min(times[:-1])])
    return [float(np.median(column)) for column in zip(*per_round)]


def _ratio_targets(fn, numpy_bare, torch_bare, what, limit_numpy, limit_fastest):
    """The targets against bare products: ``<= limit_numpy`` times NumPy's,
    and, with torch, ``<= limit_fastest`` times the faster of NumPy's and
    torch's. Both come from one :func:`paired_ratios` measurement, made
    when the first target is checked; the ratios are appended to the
    targets' texts and kept in ``row["ratios"]``."""
    bares = [numpy_bare] + ([torch_bare] if torch_bare is not None else [])
    texts = [f"<={limit_numpy}x {what}"]
    limits = [limit_numpy]
    if torch_bare is not None:
        texts.append(f"<={limit_fastest}x fastest {what} (NumPy, torch)")
        limits.append(limit_fastest)
    targets = [Target(text, None) for text in texts]

    def met_of(i):
        def met(row):
            # one measurement per row (the row of this run, never a previous one)
            kept = row.setdefault("ratios", {})
            if texts[0] not in kept:
                ratios = paired_ratios(fn, bares)
                kept.update(zip(texts, [ratios[0], ratios[-1]]))
            ratio = kept[texts[i]]
            targets[i].text = f"{texts[i]} ({ratio:.2f}x)"
            return ratio <= limits[i]
        return met
    for i, target in enumerate(targets):
        target.met = met_of(i)
    return targets


def _check_forward(x, w, b, act):
    y, _ = F.dense_forward(x, w, b, act)
    ry, _ = R.ref_dense_forward(x.astype(np.float64), w.astype(np.float64),
                                b.astype(np.float64), act)
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=1e-4)


def _check_backward(x, w, b, g, act):
    y, saved = F.dense_forward(x, w, b, act)
    got = F.dense_backward(g, x, w, saved, act)
    _, z = R.ref_dense_forward(x.astype(np.float64), w.astype(np.float64),
                               b.astype(np.float64), act)
    ref = R.ref_dense_backward(g.astype(np.float64), x.astype(np.float64),
                               w.astype(np.float64), z, act)
    for a, r in zip(got[:3], ref[:3]):
        np.testing.assert_allclose(a, r, rtol=1e-3, atol=1e-4 * max(1.0, np.abs(r).max()))


def _torch_bare(a, b, out):
    """torch's product a @ b into the array ``out`` (same memory, no copy)."""
    import torch

    ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)

    def run():
        torch.matmul(ta, tb, out=tout)
    return run


def _torch_dense(x, w, b, act, backward=False, g=None):
    import torch

    fn = {"relu": torch.nn.functional.relu, "gelu": torch.nn.functional.gelu,
          "silu": torch.nn.functional.silu, "elu": torch.nn.functional.elu}[act]
    tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
    if not backward:
        def run():
            with torch.no_grad():
                return fn(torch.nn.functional.linear(tx, tw, tb))
        return run
    tx.requires_grad_(True)
    tw.requires_grad_(True)
    tb.requires_grad_(True)
    tg = torch.from_numpy(g)
    y = fn(torch.nn.functional.linear(tx, tw, tb))

    def run():
        return torch.autograd.grad(y, (tx, tw, tb), tg, retain_graph=True)
    return run


def _dense_cases(full, with_torch):
    out = []
    dtype = np.float32
    for n, k, m in SHAPES:
        x, w, b, g = _layer(n, k, m, dtype)
        y = np.empty((n, m), dtype)
        pre = np.empty((n, m), dtype)
        mm_out = np.empty((n, m), dtype)

        def bare(x=x, w=w, mm_out=mm_out):
            np.matmul(x, w.T, out=mm_out)

        torch_bare = _torch_bare(x, w.T, mm_out) if with_torch else None

        for act in FWD_ACTS:
            preact = None if F.dense_saves_output(act) else pre

            def run_fastnn(x=x, w=w, b=b, act=act, y=y, preact=preact):
                F.dense_forward(x, w, b, act, out=y, preact_out=preact)

            def run_numpy(x=x, w=w, b=b, act=act):
                R.ref_dense_forward(x, w, b, act)

            targets = _ratio_targets(run_fastnn, bare, torch_bare, "bare matmul", 1.15, 1.1)
            if act in ("gelu", "silu", "elu"):
                targets.append(Target(">=3x NumPy", lambda r: r["speedup"] >= 3))
            out.append(Case(
                kernel=f"dense_forward {act}", size=_label(n, k, m), dtype="float32",
                fastnn=run_fastnn, numpy=run_numpy,
                check=lambda x=x, w=w, b=b, act=act: _check_forward(x, w, b, act),
                torch=_torch_dense(x, w, b, act) if with_torch else None, targets=targets,
                settle=SETTLE))

        gw = np.empty_like(w)
        gi = np.empty_like(x)
        gb = np.empty_like(b)
        dz = np.empty((n, m), dtype)

        def bare2(x=x, w=w, g=g, gw=gw, gi=gi):
            np.matmul(g.T, x, out=gw)
            np.matmul(g, w, out=gi)

        torch_bare2 = None
        if with_torch:
            torch_gw, torch_gi = _torch_bare(g.T, x, gw), _torch_bare(g, w, gi)

            def torch_bare2(torch_gw=torch_gw, torch_gi=torch_gi):
                torch_gw()
                torch_gi()

        for act in (FWD_ACTS if full else BWD_ACTS_DEFAULT):
            _, saved = F.dense_forward(x, w, b, act)
            _, z = R.ref_dense_forward(x, w, b, act)

            def run_fastnn(x=x, w=w, g=g, saved=saved, act=act, gi=gi, gw=gw, gb=gb, dz=dz):
                F.dense_backward(g, x, w, saved, act, grad_input=gi, grad_weight=gw,
                                 grad_bias=gb, grad_preact=dz)

            def run_numpy(x=x, w=w, g=g, z=z, act=act):
                R.ref_dense_backward(g, x, w, z, act)

            out.append(Case(
                kernel=f"dense_backward {act}", size=_label(n, k, m), dtype="float32",
                fastnn=run_fastnn, numpy=run_numpy,
                check=lambda x=x, w=w, b=b, g=g, act=act: _check_backward(x, w, b, g, act),
                torch=_torch_dense(x, w, b, act, True, g) if with_torch else None,
                targets=_ratio_targets(run_fastnn, bare2, torch_bare2, "two bare matmuls", 1.2,
                                       1.2),
                settle=SETTLE))
    return out


def _torch_activation(x, g, name, backward):
    import torch

    fn = {"gelu": torch.nn.functional.gelu, "silu": torch.nn.functional.silu,
          "elu": torch.nn.functional.elu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[name]
    tx = torch.from_numpy(x)
    if not backward:
        def run():
            with torch.no_grad():
                return fn(tx)
        return run
    tx.requires_grad_(True)
    y = fn(tx)
    tg = torch.from_numpy(g)

    def run():
        return torch.autograd.grad(y, tx, tg, retain_graph=True)
    return run


def _activation_cases(full, with_torch):
    out = []
    rng = np.random.default_rng(1)
    n = ACT_N
    size = "16M"
    x = (4 * rng.standard_normal(n)).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    y = np.empty_like(x)
    dx = np.empty_like(x)
    small = slice(0, 100_003)
    for name in ACT_NAMES:
        def fwd(name=name):
            F.activation(x, name, out=y)

        def fwd_numpy(name=name):
            R.ref_activation(x, name)

        def check_fwd(name=name):
            np.testing.assert_allclose(
                F.activation(x[small], name),
                R.ref_activation(x[small].astype(np.float64), name), rtol=1e-5, atol=1e-6)

        out.append(Case(kernel=f"activation {name}", size=size, dtype="float32", fastnn=fwd,
                        numpy=fwd_numpy, check=check_fwd, bytes_moved=8 * n,
                        torch=_torch_activation(x, g, name, False) if with_torch else None,
                        targets=[Target(">=5x NumPy", lambda r: r["speedup"] >= 5)]))

        # backward from what a layer keeps: the output for elu/sigmoid/tanh
        use_output = name in ("elu", "sigmoid", "tanh")
        saved = F.activation(x, name) if use_output else x
        kw = {"output": saved} if use_output else {"input": saved}

        def bwd(name=name, kw=kw):
            F.activation_backward(g, name, out=dx, **kw)

        def bwd_numpy(name=name):
            R.ref_activation_backward(g, x, name)

        def check_bwd(name=name):
            got = F.activation_backward(g[small], name, input=x[small])
            ref = R.ref_activation_backward(g[small].astype(np.float64),
                                            x[small].astype(np.float64), name)
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)

        out.append(Case(kernel=f"activation_backward {name}", size=size, dtype="float32",
                        fastnn=bwd, numpy=bwd_numpy, check=check_bwd, bytes_moved=12 * n,
                        torch=_torch_activation(x, g, name, True) if with_torch else None,
                        targets=[Target(">=5x NumPy", lambda r: r["speedup"] >= 5)]))
    return out


def cases(full=False, with_torch=False):
    return _dense_cases(full, with_torch) + _activation_cases(full, with_torch)
