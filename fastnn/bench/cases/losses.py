"""Loss, regularizer and initializer benchmarks against their NumPy references.

Losses are timed as value + gradient (what a training step needs) against the
plain-NumPy reference of :mod:`fastnn.reference.losses`; initializers filling
16M float32 values against ``numpy.random.Generator`` drawing the same
distribution (its fastest float32 path, written in place).
"""
import math

import numpy as np

from fastnn import init
from fastnn import reference as R
from fastnn.bench.harness import Case, Target
from fastnn.functional import losses as L
from fastnn.functional import regularizers as REG


def _tol(dtype):
    return (1e-5, 1e-6) if np.dtype(dtype) == np.float32 else (1e-12, 1e-12)


def _check_pair(fn, ref, dtype):
    def check():
        (la, ga), (lr, gr) = fn(), ref()
        rtol, atol = _tol(dtype)
        np.testing.assert_allclose(la, lr, rtol=rtol, atol=atol)
        np.testing.assert_allclose(ga, gr, rtol=rtol, atol=atol)
    return check


def _torch_loss(name, arrays, kwargs):
    """A zero-argument callable running torch's loss forward + backward."""
    import torch
    import torch.nn.functional as TF

    tensors = [torch.from_numpy(a) for a in arrays]
    x = tensors[0].clone().requires_grad_(True)
    rest = tensors[1:]
    fn = getattr(TF, name)

    def run():
        x.grad = None
        fn(x, *rest, **kwargs).backward()
    return run


def _row_case(kernel, size, dtype, fastnn_fn, numpy_fn, nbytes, targets, torch_fn=None):
    return Case(kernel=kernel, size=size, dtype=np.dtype(dtype).name, fastnn=fastnn_fn,
                numpy=numpy_fn, check=_check_pair(fastnn_fn, numpy_fn, dtype),
                bytes_moved=nbytes, torch=torch_fn, targets=targets)


def _loss_cases(full, with_torch):
    out = []
    rng = np.random.default_rng(0)
    shapes = [(4096, 1000, np.float32)]
    if full:
        shapes += [(4096, 1000, np.float64), (65536, 10, np.float32), (256, 32000, np.float32)]
    for n, k, dtype in shapes:
        z = (rng.standard_normal((n, k)) * 3).astype(dtype)
        y = rng.integers(0, k, n)
        grad = np.empty_like(z)
        item = np.dtype(dtype).itemsize
        nbytes = 2 * z.nbytes + 8 * n
        size = f"{n}x{k}"
        targets = []
        if (n, k, dtype) == (4096, 1000, np.float32):
            targets = [Target(">=5x NumPy", lambda r: r["speedup"] >= 5)]
        torch_fn = _torch_loss("cross_entropy", [z, y], {}) if with_torch else None
        out.append(_row_case(
            "softmax_cross_entropy fwd+grad", size, dtype,
            lambda z=z, y=y, g=grad: L.softmax_cross_entropy(z, y, out=g),
            lambda z=z, y=y: R.softmax_cross_entropy(z, y), nbytes, targets, torch_fn))
        if not full:
            continue
        torch_fn = (_torch_loss("cross_entropy", [z, y], dict(label_smoothing=0.1))
                    if with_torch else None)
        out.append(_row_case(
            "softmax_cross_entropy smoothing=0.1", size, dtype,
            lambda z=z, y=y, g=grad: L.softmax_cross_entropy(z, y, label_smoothing=0.1, out=g),
            lambda z=z, y=y: R.softmax_cross_entropy(z, y, label_smoothing=0.1),
            nbytes, [], torch_fn))
        q = rng.random((n, k)).astype(dtype)
        q /= q.sum(axis=1, keepdims=True)
        out.append(_row_case(
            "softmax_cross_entropy probabilities", size, dtype,
            lambda z=z, q=q, g=grad: L.softmax_cross_entropy(z, q, out=g),
            lambda z=z, q=q: R.softmax_cross_entropy(z, q), 3 * n * k * item, []))

    # the other losses, one size each, float32 (4x larger with --full)
    n, k = (4096, 1000) if full else (1024, 1000)
    z = (rng.standard_normal((n, k)) * 3).astype(np.float32)
    y = rng.integers(0, k, n)
    logp = R.log_softmax(z)
    grad = np.empty_like(z)
    flat = z.reshape(-1)
    target = rng.random(flat.size).astype(np.float32)
    gflat = grad.reshape(-1)
    big = 2 * z.nbytes
    others = [
        ("nll_loss fwd+grad", f"{n}x{k}", lambda: L.nll_loss(logp, y, out=grad),
         lambda: R.nll_loss(logp, y), big, "nll_loss", [logp, y]),
        ("multi_margin_loss fwd+grad", f"{n}x{k}",
         lambda: L.multi_margin_loss(z, y, out=grad), lambda: R.multi_margin_loss(z, y), big,
         "multi_margin_loss", [z, y]),
        ("entropy_penalty fwd+grad", f"{n}x{k}", lambda: L.entropy_penalty(z, out=grad),
         lambda: R.entropy_penalty(z), big, None, None),
        ("bce_with_logits fwd+grad", f"{flat.size / 1e6:g}M",
         lambda: L.binary_cross_entropy_with_logits(flat, target, out=gflat),
         lambda: R.binary_cross_entropy_with_logits(flat, target), 3 * flat.nbytes,
         "binary_cross_entropy_with_logits", [flat, target]),
        ("mse_loss fwd+grad", f"{flat.size / 1e6:g}M",
         lambda: L.mse_loss(flat, target, out=gflat), lambda: R.mse_loss(flat, target),
         3 * flat.nbytes, "mse_loss", [flat, target]),
    ]
    for kernel, size, f_fn, n_fn, nbytes, torch_name, torch_args in others:
        torch_fn = (_torch_loss(torch_name, torch_args, {})
                    if with_torch and torch_name else None)
        # the NLL reference's gradient is np.zeros_like plus a scatter: its
        # pages are mapped lazily and mostly never touched, so no target
        targets = ([] if kernel.startswith("nll")
                   else [Target(">=3x NumPy", lambda r: r["speedup"] >= 3)])
        out.append(_row_case(kernel, size, np.float32, f_fn, n_fn, nbytes, targets, torch_fn))

    # elastic-net penalty with its gradient added into an existing buffer
    g_reg = np.zeros_like(flat)
    g_ref = np.zeros_like(flat)

    def check_reg():
        a, b = np.zeros_like(flat), np.zeros_like(flat)
        va = REG.l1l2_penalty(flat, 1e-4, 1e-3, grad=a)
        vb = R.l1l2_penalty(flat, 1e-4, 1e-3, grad=b)
        np.testing.assert_allclose(va, vb, rtol=1e-5)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    out.append(Case(kernel="l1l2_penalty + grad", size=f"{flat.size / 1e6:g}M",
                    dtype="float32",
                    fastnn=lambda: REG.l1l2_penalty(flat, 1e-4, 1e-3, grad=g_reg),
                    numpy=lambda: R.l1l2_penalty(flat, 1e-4, 1e-3, grad=g_ref),
                    check=check_reg, bytes_moved=3 * flat.nbytes,
                    targets=[Target(">=3x NumPy", lambda r: r["speedup"] >= 3)]))
    return out


# ------------------------------------------------------------ initializers

N_INIT = 1 << 24  # 16M float32 values
INIT_SHAPE = (4096, 4096)


def _stats_check(fill, mean, var, lo=None, hi=None):
    def check():
        w = np.empty(INIT_SHAPE, np.float32)
        fill(w)
        x = w.astype(np.float64).ravel()
        n = x.size
        assert abs(x.mean() - mean) <= 6 * math.sqrt(var / n), (x.mean(), mean)
        v = x.var()
        assert abs(v - var) <= 6 * var * math.sqrt(2.0 / n) + 1e-12, (v, var)
        if lo is not None:
            assert x.min() >= lo and x.max() <= hi, (x.min(), x.max())
        w2 = np.empty(INIT_SHAPE, np.float32)
        fill(w2)
        np.testing.assert_array_equal(w, w2)  # seeded: reproducible
    return check


def _numpy_uniform(gen, w, a, b):
    gen.random(dtype=np.float32, out=w)
    w *= np.float32(b - a)
    w += np.float32(a)


def _numpy_normal(gen, w, std):
    gen.standard_normal(dtype=np.float32, out=w)
    w *= np.float32(std)


def _numpy_trunc_normal(gen, w, std, a, b):
    """Rejection: draw, then redraw the values outside [a, b] until none is left."""
    flat = w.reshape(-1)
    _numpy_normal(gen, flat, std)
    bad = np.flatnonzero((flat < a) | (flat > b))
    while bad.size:
        draw = gen.standard_normal(bad.size, dtype=np.float32) * np.float32(std)
        ok = (draw >= a) & (draw <= b)
        flat[bad[ok]] = draw[ok]
        bad = bad[~ok]


def _init_cases(full, with_torch):
    w = np.empty(INIT_SHAPE, np.float32)
    w_np = np.empty(INIT_SHAPE, np.float32)
    gen = np.random.default_rng(0)
    fan = 4096
    xl = math.sqrt(6.0 / (2 * fan))
    he_std = math.sqrt(2.0 / fan)
    keras_std = math.sqrt(2.0 / fan) / 0.87962566103423978
    specs = [
        ("init.xavier_uniform_", lambda t: init.xavier_uniform_(t, seed=1),
         lambda: _numpy_uniform(gen, w_np, -xl, xl), 0.0, xl * xl / 3, -xl, xl,
         "xavier_uniform_"),
        ("init.kaiming_normal_", lambda t: init.kaiming_normal_(t, seed=1),
         lambda: _numpy_normal(gen, w_np, he_std), 0.0, he_std ** 2, None, None,
         "kaiming_normal_"),
        ("init.trunc_normal_", lambda t: init.trunc_normal_(t, 0.0, 1.0, -2.0, 2.0, seed=1),
         lambda: _numpy_trunc_normal(gen, w_np, 1.0, -2.0, 2.0), 0.0, 0.7737413, -2.0, 2.0,
         "trunc_normal_"),
    ]
    if full:
        specs.append(("init.uniform_", lambda t: init.uniform_(t, -0.05, 0.05, seed=1),
                      lambda: _numpy_uniform(gen, w_np, -0.05, 0.05), 0.0, 0.1 ** 2 / 12,
                      -0.05, 0.05, lambda t: t.uniform_(-0.05, 0.05)))
        specs.append(('init.get("he_normal")', lambda t: init.get("he_normal")(t, seed=1),
                      lambda: _numpy_trunc_normal(gen, w_np, keras_std, -2 * keras_std,
                                                  2 * keras_std),
                      0.0, 2.0 / fan, -2 * keras_std, 2 * keras_std, None))
        specs.append(("init.normal_", lambda t: init.normal_(t, 0.0, 0.02, seed=1),
                      lambda: _numpy_normal(gen, w_np, 0.02), 0.0, 0.02 ** 2, None, None,
                      lambda t: t.normal_(0.0, 0.02)))
    out = []
    for kernel, fill, numpy_fn, mean, var, lo, hi, torch_spec in specs:
        torch_fn = None
        if with_torch and torch_spec is not None:
            import torch

            t = torch.empty(INIT_SHAPE)
            if isinstance(torch_spec, str):
                torch_init = getattr(torch.nn.init, torch_spec)
                torch_fn = (lambda f=torch_init, t=t: f(t))
            else:
                torch_fn = (lambda f=torch_spec, t=t: f(t))
        out.append(Case(kernel=kernel, size="16M", dtype="float32",
                        fastnn=lambda fill=fill: fill(w), numpy=numpy_fn,
                        check=_stats_check(fill, mean, var, lo, hi),
                        bytes_moved=w.nbytes, torch=torch_fn,
                        targets=[Target(">=5x numpy.random", lambda r: r["speedup"] >= 5)]))

    # orthogonal: dominated by the QR factorization (LAPACK), no target
    side = 1024 if full else 256
    q = np.empty((side, side), np.float32)

    def check_orthogonal():
        init.orthogonal_(q, seed=1)
        m = q.astype(np.float64)
        np.testing.assert_allclose(m @ m.T, np.eye(side), atol=1e-4)

    def numpy_orthogonal():
        a = gen.standard_normal((side, side), dtype=np.float32)
        qq, r = np.linalg.qr(a)
        q[...] = qq * np.sign(np.diag(r))

    out.append(Case(kernel="init.orthogonal_", size=f"{side}x{side}", dtype="float32",
                    fastnn=lambda: init.orthogonal_(q, seed=1), numpy=numpy_orthogonal,
                    check=check_orthogonal))
    return out


def cases(full=False, with_torch=False):
    return _loss_cases(full, with_torch) + _init_cases(full, with_torch)
