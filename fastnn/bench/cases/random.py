"""Random-family benchmarks: Philox fills and dropout against NumPy.

The NumPy baselines are what NumPy code does today: ``Generator.random`` /
``standard_normal`` for fills, a ``rng.random(shape) >= p`` mask for
dropout and ``grad * mask / (1 - p)`` with that stored boolean mask for its
backward pass. Backward without a stored mask is compared with NumPy doing
the same: redrawing the mask from a generator seeded as in forward.
"""
import importlib

import numpy as np

from fastnn import random as FR
from fastnn import reference as R
from fastnn.bench.harness import Case, Target

D = importlib.import_module("fastnn.functional.dropout")

P = 0.5
BIG = 1 << 24  # 16M elements
CHECK_N = 100_003


def _targets_dropout(with_torch):
    targets = [Target(">=15x NumPy", lambda r: r["speedup"] >= 15),
               Target("within 2x of bandwidth bound", lambda r: r["pct_roofline"] >= 50)]
    if with_torch:
        targets.append(Target(">=20x torch", lambda r: r["vs_torch"] >= 20))
    return targets


def _check_dropout(dtype):
    x = np.random.default_rng(1).standard_normal(CHECK_N).astype(dtype)
    mask = D.empty_mask(x)
    y = D.dropout(x, P, seed=3, offset=1, mask=mask)
    np.testing.assert_array_equal(y, R.dropout_ref(x, P, seed=3, offset=1))
    np.testing.assert_array_equal(mask, R.dropout_mask_ref(CHECK_N, P, seed=3, offset=1))
    np.testing.assert_array_equal(D.dropout_backward(x, P, mask=mask), y)
    np.testing.assert_array_equal(D.dropout_backward(x, P, seed=3, offset=1), y)


def _dropout_cases(n, label, dtype, with_torch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(dtype)
    y = np.empty_like(x)
    g = rng.standard_normal(n).astype(dtype)
    gx = np.empty_like(x)
    mask = D.empty_mask(x)
    D.dropout(x, P, seed=7, offset=0, out=y, mask=mask)
    bool_mask = rng.random(n) >= P
    item = np.dtype(dtype).itemsize
    name = np.dtype(dtype).name
    check = lambda: _check_dropout(dtype)  # noqa: E731

    torch_fwd = torch_bwd = None
    if with_torch:
        import torch

        tx = torch.from_numpy(x)
        tg = torch.from_numpy(g)
        _, tmask = torch.ops.aten.native_dropout(tx, P, True)

        def torch_fwd():
            return torch.nn.functional.dropout(tx, P, training=True)

        def torch_bwd():
            return torch.ops.aten.native_dropout_backward(tg, tmask, 1.0 / (1.0 - P))

    return [
        Case(kernel="dropout forward", size=label, dtype=name,
             fastnn=lambda: D.dropout(x, P, seed=7, offset=0, out=y),
             numpy=lambda: R.dropout_numpy(x, P, rng), check=check,
             bytes_moved=2 * item * n, torch=torch_fwd, targets=_targets_dropout(with_torch)),
        Case(kernel="dropout forward + stored mask", size=label, dtype=name,
             fastnn=lambda: D.dropout(x, P, seed=7, offset=0, out=y, mask=mask),
             numpy=lambda: R.dropout_numpy(x, P, rng), check=check,
             bytes_moved=2 * item * n + n // 8, torch=torch_fwd,
             targets=_targets_dropout(with_torch)),
        Case(kernel="dropout backward (regenerated mask)", size=label, dtype=name,
             fastnn=lambda: D.dropout_backward(g, P, seed=7, offset=0, out=gx),
             numpy=lambda: R.dropout_backward_numpy(g, P, seed=7), check=check,
             bytes_moved=2 * item * n, torch=torch_bwd, targets=_targets_dropout(with_torch)),
        Case(kernel="dropout backward (stored mask)", size=label, dtype=name,
             fastnn=lambda: D.dropout_backward(g, P, mask=mask, out=gx),
             numpy=lambda: g * bool_mask / (1 - P), check=check,
             bytes_moved=2 * item * n + n // 8, torch=torch_bwd,
             targets=_targets_dropout(with_torch)),
    ]


def _check_fill(kind, dtype):
    n = 10_007
    if kind == "uniform":
        got = FR.uniform_(np.empty(n, dtype), -1.0, 1.0, seed=5, offset=2)
        np.testing.assert_array_equal(got, R.uniform_ref((n,), dtype, -1.0, 1.0, seed=5,
                                                         offset=2))
    else:
        got = FR.normal_(np.empty(n, dtype), 0.0, 1.0, seed=5, offset=2)
        tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-12
        np.testing.assert_allclose(got, R.normal_ref((n,), dtype, seed=5, offset=2),
                                   rtol=tol, atol=tol)


def _fill_cases(n, label, dtype, with_torch):
    rng = np.random.default_rng(0)
    out = np.empty(n, dtype)
    name = np.dtype(dtype).name
    item = np.dtype(dtype).itemsize
    target = [Target(">=5x numpy.random.Generator", lambda r: r["speedup"] >= 5)]
    torch_uniform = torch_normal = None
    if with_torch:
        import torch

        t = torch.from_numpy(out)
        torch_uniform = lambda: t.uniform_()  # noqa: E731
        torch_normal = lambda: t.normal_()  # noqa: E731
    return [
        Case(kernel="uniform_", size=label, dtype=name,
             fastnn=lambda: FR.uniform_(out, seed=1, offset=0),
             numpy=lambda: rng.random(n, dtype=dtype), check=lambda: _check_fill("uniform", dtype),
             bytes_moved=item * n, torch=torch_uniform, targets=target),
        Case(kernel="normal_", size=label, dtype=name,
             fastnn=lambda: FR.normal_(out, seed=1, offset=0),
             numpy=lambda: rng.standard_normal(n, dtype=dtype),
             check=lambda: _check_fill("normal", dtype),
             bytes_moved=item * n, torch=torch_normal, targets=target),
    ]


def _other_cases(full, with_torch):
    rng = np.random.default_rng(0)
    out = []
    # Dropout2d on a conv activation (N, C, H, W)
    shape = (32, 64, 28, 28)
    x = rng.standard_normal(shape).astype(np.float32)
    y = np.empty_like(x)

    def np_channel():
        keep = rng.random(shape[:2]) >= P
        return x * (keep[:, :, None, None] / (1 - P)).astype(np.float32)

    def check_channel():
        small = x[:4, :8]
        np.testing.assert_array_equal(D.channel_dropout(small, P, seed=2),
                                      R.channel_dropout_ref(small, P, seed=2))

    torch_channel = None
    if with_torch:
        import torch

        tx = torch.from_numpy(x)
        torch_channel = lambda: torch.nn.functional.dropout2d(tx, P, training=True)  # noqa: E731
    out.append(Case(kernel="channel_dropout (Dropout2d)", size="32x64x28x28", dtype="float32",
                    fastnn=lambda: D.channel_dropout(x, P, seed=1, out=y), numpy=np_channel,
                    check=check_channel, bytes_moved=8 * x.size, torch=torch_channel,
                    targets=[Target(">=2x NumPy", lambda r: r["speedup"] >= 2)]))

    # multiplicative Gaussian noise (Gaussian dropout) on 4M activations
    n = 1 << 22
    a = rng.standard_normal(n).astype(np.float32)
    b = np.empty_like(a)
    std = float(np.sqrt(P / (1 - P)))

    def check_noise():
        small = a[:CHECK_N]
        np.testing.assert_allclose(
            D.gaussian_noise(small, std, multiplicative=True, seed=4),
            R.gaussian_noise_ref(small, std, multiplicative=True, seed=4), rtol=1e-5, atol=1e-5)

    out.append(Case(kernel="gaussian_noise (multiplicative)", size="4M", dtype="float32",
                    fastnn=lambda: D.gaussian_noise(a, std, multiplicative=True, seed=1, out=b),
                    numpy=lambda: a * (1 + std * rng.standard_normal(n, dtype=np.float32)),
                    check=check_noise, bytes_moved=8 * n,
                    targets=[Target(">=5x NumPy", lambda r: r["speedup"] >= 5)]))
    return out


def cases(full=False, with_torch=False):
    out = _dropout_cases(BIG, "16M", np.float32, with_torch)
    out += _fill_cases(BIG, "16M", np.float32, with_torch)
    if full:
        out += _fill_cases(BIG, "16M", np.float64, with_torch)
        out += _dropout_cases(BIG, "16M", np.float64, with_torch)
        out += _dropout_cases(1 << 20, "1M", np.float32, with_torch)
        out += _fill_cases(1 << 20, "1M", np.float32, with_torch)
    out += _other_cases(full, with_torch)
    return out
