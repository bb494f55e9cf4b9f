"""Normalization benchmarks: fused kernels against the NumPy references.

The references compute in float64 for accuracy (see fastnn.reference.norm),
which is part of what they cost. Bytes moved count each array the kernel
must stream once (reads plus writes of the full-size arrays), so GB/s is a
lower bound on the traffic actually generated.
"""
import numpy as np

from fastnn import functional as F
from fastnn import reference as R
from fastnn.bench.harness import Case, Target
from fastnn.preprocessing import Standardizer


def _tol(dtype):
    return (1e-4, 1e-4) if np.dtype(dtype) == np.float32 else (1e-10, 1e-10)


def _assert(actual, expected, dtype):
    rtol, atol = _tol(dtype)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def _bn_data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.standard_normal(shape, dtype=dtype) * 2 + 0.5
    dy = rng.standard_normal(shape, dtype=dtype)
    g = (1 + 0.1 * rng.standard_normal(c)).astype(dtype)
    b = (0.1 * rng.standard_normal(c)).astype(dtype)
    return x, dy, g, b


def _bn_case(kernel, shape, dtype, *, backward, training=True, relu=False, targets=(),
             with_torch=False):
    x, dy, g, b = _bn_data(shape, dtype)
    c = shape[1]
    rm, rv = np.zeros(c, dtype), np.ones(c, dtype)
    rm_np, rv_np = rm.copy(), rv.copy()
    y = np.empty_like(x)
    dx = np.empty_like(x)

    def run_fastnn():
        o = F.batch_norm(x, g, b, rm, rv, training=training, relu=relu, out=y)
        if backward:
            F.batch_norm_backward(dy, x, o.mean, o.rstd, g, b, training=training, relu=relu,
                                  out=dx)

    def run_numpy():
        o = R.batch_norm(x, g, b, rm_np, rv_np, training=training, relu=relu)
        if backward:
            R.batch_norm_backward(dy, x, o[1], o[2], g, b, training=training, relu=relu)

    def check():
        k = min(shape[0], 8)
        xs, dys = x[:k], dy[:k]
        a_rm, a_rv = np.zeros(c, dtype), np.ones(c, dtype)
        e_rm, e_rv = a_rm.copy(), a_rv.copy()
        o = F.batch_norm(xs, g, b, a_rm, a_rv, training=training, relu=relu)
        e = R.batch_norm(xs, g, b, e_rm, e_rv, training=training, relu=relu)
        _assert(o.out, e[0], dtype)
        _assert(a_rm, e_rm, dtype)
        _assert(a_rv, e_rv, dtype)
        if backward:
            gr = F.batch_norm_backward(dys, xs, o.mean, o.rstd, g, b, training=training,
                                       relu=relu)
            ge = R.batch_norm_backward(dys, xs, e[1], e[2], g, b, training=training, relu=relu)
            for a, r in zip(gr, ge):
                _assert(a, r, dtype)

    torch_fn = None
    if with_torch:
        import torch

        tx = torch.from_numpy(x.copy()).requires_grad_(backward)
        tg = torch.from_numpy(g.copy()).requires_grad_(backward)
        tb = torch.from_numpy(b.copy()).requires_grad_(backward)
        trm, trv = torch.zeros(c, dtype=tx.dtype), torch.ones(c, dtype=tx.dtype)
        tdy = torch.from_numpy(dy)

        def torch_fn():
            out = torch.nn.functional.batch_norm(tx, trm, trv, tg, tb, training=training)
            if relu:
                out = torch.relu(out)
            if backward:
                tx.grad = tg.grad = tb.grad = None
                out.backward(tdy)

    n_arrays = 5 if backward else 2  # x, y (+ dy, x, dx)
    return Case(kernel=kernel, size="x".join(map(str, shape)), dtype=np.dtype(dtype).name,
                fastnn=run_fastnn, numpy=run_numpy, check=check,
                bytes_moved=n_arrays * x.nbytes, torch=torch_fn, targets=list(targets))


def _ln_case(shape, dtype, targets=(), with_torch=False):
    rng = np.random.default_rng(1)
    d = shape[-1]
    x = rng.standard_normal(shape, dtype=dtype)
    dy = rng.standard_normal(shape, dtype=dtype)
    w = (1 + 0.1 * rng.standard_normal(d)).astype(dtype)
    b = (0.1 * rng.standard_normal(d)).astype(dtype)
    y = np.empty_like(x)
    dx = np.empty_like(x)

    def run_fastnn():
        o = F.layer_norm(x, d, w, b, out=y)
        F.layer_norm_backward(dy, x, o.mean, o.rstd, d, w, b, out=dx)

    def run_numpy():
        o = R.layer_norm(x, d, w, b)
        R.layer_norm_backward(dy, x, o[1], o[2], d, w, b)

    def check():
        xs, dys = x[:64], dy[:64]
        o = F.layer_norm(xs, d, w, b)
        e = R.layer_norm(xs, d, w, b)
        _assert(o.out, e[0], dtype)
        for a, r in zip(F.layer_norm_backward(dys, xs, o.mean, o.rstd, d, w, b),
                        R.layer_norm_backward(dys, xs, e[1], e[2], d, w, b)):
            _assert(a, r, dtype)

    torch_fn = None
    if with_torch:
        import torch

        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        tw = torch.from_numpy(w.copy()).requires_grad_(True)
        tb = torch.from_numpy(b.copy()).requires_grad_(True)
        tdy = torch.from_numpy(dy)

        def torch_fn():
            tx.grad = tw.grad = tb.grad = None
            torch.nn.functional.layer_norm(tx, (d,), tw, tb).backward(tdy)

    return Case(kernel="layer_norm fwd+bwd", size="x".join(map(str, shape)),
                dtype=np.dtype(dtype).name, fastnn=run_fastnn, numpy=run_numpy, check=check,
                bytes_moved=5 * x.nbytes, torch=torch_fn, targets=list(targets))


def _gn_case(shape, groups, dtype, with_torch=False):
    rng = np.random.default_rng(2)
    c = shape[1]
    x = rng.standard_normal(shape, dtype=dtype)
    dy = rng.standard_normal(shape, dtype=dtype)
    w = (1 + 0.1 * rng.standard_normal(c)).astype(dtype)
    b = (0.1 * rng.standard_normal(c)).astype(dtype)
    y = np.empty_like(x)
    dx = np.empty_like(x)

    def run_fastnn():
        o = F.group_norm(x, groups, w, b, out=y)
        F.group_norm_backward(dy, x, o.mean, o.rstd, groups, w, b, out=dx)

    def run_numpy():
        o = R.group_norm(x, groups, w, b)
        R.group_norm_backward(dy, x, o[1], o[2], groups, w, b)

    def check():
        xs, dys = x[:2], dy[:2]
        o = F.group_norm(xs, groups, w, b)
        e = R.group_norm(xs, groups, w, b)
        _assert(o.out, e[0], dtype)
        for a, r in zip(F.group_norm_backward(dys, xs, o.mean, o.rstd, groups, w, b),
                        R.group_norm_backward(dys, xs, e[1], e[2], groups, w, b)):
            _assert(a, r, dtype)

    torch_fn = None
    if with_torch:
        import torch

        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        tw = torch.from_numpy(w.copy()).requires_grad_(True)
        tb = torch.from_numpy(b.copy()).requires_grad_(True)
        tdy = torch.from_numpy(dy)

        def torch_fn():
            tx.grad = tw.grad = tb.grad = None
            torch.nn.functional.group_norm(tx, groups, tw, tb).backward(tdy)

    return Case(kernel=f"group_norm fwd+bwd (G={groups})", size="x".join(map(str, shape)),
                dtype=np.dtype(dtype).name, fastnn=run_fastnn, numpy=run_numpy, check=check,
                bytes_moved=5 * x.nbytes, torch=torch_fn,
                targets=[Target(">=4x NumPy", lambda r: r["speedup"] >= 4)])


def _standardizer_case(shape, dtype):
    rng = np.random.default_rng(3)
    x = (100 + 5 * rng.standard_normal(shape)).astype(dtype)
    out = np.empty_like(x)
    s = Standardizer().fit(x)

    def run_fastnn():
        s.fit(x)
        s.transform(x, out=out)

    def run_numpy():
        mean, std = R.standardize_stats(x)
        return ((x - mean) / std).astype(dtype)

    def check():
        xs = x[:5000]
        mean, std = R.standardize_stats(xs)
        np.testing.assert_allclose(s.fit(xs).mean_, mean, rtol=1e-9)
        _assert(s.transform(xs), (xs - mean) / std, dtype)

    return Case(kernel="standardizer fit+transform", size="x".join(map(str, shape)),
                dtype=np.dtype(dtype).name, fastnn=run_fastnn, numpy=run_numpy, check=check,
                bytes_moved=3 * x.nbytes,
                targets=[Target(">=4x NumPy", lambda r: r["speedup"] >= 4)])


def cases(full=False, with_torch=False):
    f32 = np.float32
    bn2d = [Target(">=8x NumPy", lambda r: r["speedup"] >= 8)]
    if with_torch:
        bn2d.append(Target(">=2x torch", lambda r: r["vs_torch"] >= 2))
    out = [
        _bn_case("batch_norm2d train fwd+bwd", (64, 64, 32, 32), f32, backward=True,
                 targets=bn2d, with_torch=with_torch),
        _bn_case("batch_norm1d train fwd", (512, 1024), f32, backward=False,
                 targets=[Target(">=5x NumPy", lambda r: r["speedup"] >= 5)],
                 with_torch=with_torch),
        _ln_case((4096, 768), f32, targets=[Target(">=6x NumPy", lambda r: r["speedup"] >= 6)],
                 with_torch=with_torch),
        _bn_case("batch_norm2d+relu train fwd+bwd", (16, 64, 28, 28), f32, backward=True,
                 relu=True, with_torch=with_torch),
        _bn_case("batch_norm2d infer fwd", (32, 64, 28, 28), f32, backward=False,
                 training=False, with_torch=with_torch),
        _gn_case((8, 64, 28, 28), 32, f32, with_torch=with_torch),
        _standardizer_case((50_000, 64), f32),
    ]
    if full:
        out += [
            _bn_case("batch_norm2d train fwd+bwd", (64, 64, 32, 32), np.float64, backward=True,
                     with_torch=with_torch),
            _bn_case("batch_norm1d train fwd+bwd", (512, 1024), f32, backward=True,
                     with_torch=with_torch),
            _bn_case("batch_norm2d train fwd", (8, 3, 224, 224), f32, backward=False,
                     with_torch=with_torch),
            _ln_case((4096, 768), np.float64, with_torch=with_torch),
            _ln_case((512, 4096), f32, with_torch=with_torch),
            _gn_case((8, 64, 56, 56), 64, f32, with_torch=with_torch),
        ]
    return out
