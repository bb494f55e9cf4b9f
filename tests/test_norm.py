"""Normalization kernels against the NumPy references, finite differences,
thread counts, SIMD levels and bad inputs."""
import numpy as np
import pytest

import fastnn
from fastnn import functional as F
from fastnn import reference as R
from fastnn.preprocessing import Standardizer

from conftest import assert_close

BN_SHAPES = [(2, 1), (15, 3), (16, 17), (17, 33), (4, 3, 17), (3, 17, 33), (2, 3, 1, 1),
             (2, 3, 3, 3), (3, 33, 17, 1), (5, 1, 16, 16)]


def _bn_args(rng, shape, dtype, affine=True, channels_last=False):
    c = shape[-1] if channels_last else shape[1]
    x = (rng.standard_normal(shape) * 1.5 + 0.3).astype(dtype)
    g = (1 + 0.2 * rng.standard_normal(c)).astype(dtype) if affine else None
    b = (0.2 * rng.standard_normal(c)).astype(dtype) if affine else None
    rm = (0.1 * rng.standard_normal(c)).astype(dtype)
    rv = (1 + 0.1 * rng.random(c)).astype(dtype)
    return x, g, b, rm, rv


def _close(actual, expected, dtype, scale=1.0):
    if expected is None:
        assert actual is None
        return
    tol = dict(rtol=1e-5 * scale, atol=1e-6 * scale) if dtype == np.float32 else \
        dict(rtol=1e-12 * scale, atol=1e-12 * scale)
    assert_close(actual, expected, dtype, **tol)


# ------------------------------------------------------------ BatchNorm vs reference

@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("relu", [False, True])
def test_batch_norm_train_matches_reference(rng, dtype, simd_level, shape, relu):
    x, g, b, rm, rv = _bn_args(rng, shape, dtype)
    rm_e, rv_e = rm.copy(), rv.copy()
    o = F.batch_norm(x, g, b, rm, rv, relu=relu, momentum=0.3)
    y_e, m_e, r_e = R.batch_norm(x, g, b, rm_e, rv_e, relu=relu, momentum=0.3)
    _close(o.out, y_e, dtype)
    assert o.mean.dtype == np.float64 and o.rstd.dtype == np.float64
    assert_close(o.mean, m_e, np.float64, rtol=1e-12, atol=1e-12)
    assert_close(o.rstd, r_e, np.float64, rtol=1e-10, atol=1e-12)
    _close(rm, rm_e, dtype)
    _close(rv, rv_e, dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    grads = F.batch_norm_backward(dy, x, o.mean, o.rstd, g, b, relu=relu)
    expected = R.batch_norm_backward(dy, x, m_e, r_e, g, b, relu=relu)
    for a, e in zip(grads, expected):
        _close(a, e, dtype, scale=4)


# (N, C) input, forward and backward: rows are merged in blocks of 64 (FNN_NORM_ROW_BLOCK)
# and the threads take chunks of 256 channels, so the sizes straddle both (and the SIMD
# widths); 1, 2 and 3 threads bitwise.
@pytest.mark.parametrize("n", [2, 3, 31, 32, 33, 63, 64, 65, 97, 129])
@pytest.mark.parametrize("c", [1, 15, 16, 17, 63, 64, 65, 257, 600])
def test_batch_norm_2d_tiles_and_threads(rng, dtype, n, c):
    x, g, b, rm, rv = _bn_args(rng, (n, c), dtype)
    x += (np.arange(c) % 7).astype(dtype)  # a different mean per column
    rm_e, rv_e = rm.copy(), rv.copy()
    y_e, m_e, r_e = R.batch_norm(x, g, b, rm_e, rv_e, relu=True, momentum=0.2)
    dy = rng.standard_normal((n, c)).astype(dtype)
    grads_e = R.batch_norm_backward(dy, x, m_e, r_e, g, b, relu=True)
    outs = []
    for n_threads in (1, 2, 3):
        rm_a, rv_a = rm.copy(), rv.copy()
        o = F.batch_norm(x, g, b, rm_a, rv_a, relu=True, momentum=0.2, n_threads=n_threads)
        _close(o.out, y_e, dtype)
        assert_close(o.mean, m_e, np.float64, rtol=1e-12, atol=1e-12)
        assert_close(o.rstd, r_e, np.float64, rtol=1e-10, atol=1e-12)
        _close(rm_a, rm_e, dtype)
        _close(rv_a, rv_e, dtype)
        grads = F.batch_norm_backward(dy, x, o.mean, o.rstd, g, b, relu=True,
                                      n_threads=n_threads)
        for a, e in zip(grads, grads_e):
            _close(a, e, dtype, scale=4)
        outs.append([o.out, o.mean, o.rstd, rm_a, rv_a, *grads])
    for other in outs[1:]:
        for a, e in zip(outs[0], other):
            np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("relu", [False, True])
def test_batch_norm_inference_matches_reference(rng, dtype, simd_level, shape, relu):
    x, g, b, rm, rv = _bn_args(rng, shape, dtype)
    before = rm.copy(), rv.copy()
    o = F.batch_norm(x, g, b, rm, rv, training=False, relu=relu)
    y_e, m_e, r_e = R.batch_norm(x, g, b, rm, rv, training=False, relu=relu)
    _close(o.out, y_e, dtype, scale=2)
    np.testing.assert_array_equal(rm, before[0])
    np.testing.assert_array_equal(rv, before[1])
    dy = rng.standard_normal(shape).astype(dtype)
    grads = F.batch_norm_backward(dy, x, o.mean, o.rstd, g, b, training=False, relu=relu)
    for a, e in zip(grads, R.batch_norm_backward(dy, x, m_e, r_e, g, b, training=False,
                                                 relu=relu)):
        _close(a, e, dtype, scale=2)


@pytest.mark.parametrize("shape", [(6, 5, 4, 3), (33, 17), (2, 3, 7)])
def test_batch_norm_channels_last_and_no_affine(rng, dtype, shape):
    x, g, b, rm, rv = _bn_args(rng, shape, dtype, channels_last=True)
    rm_e, rv_e = rm.copy(), rv.copy()
    o = F.batch_norm(x, g, b, rm, rv, channels_last=True)
    e = R.batch_norm(x, g, b, rm_e, rv_e, channels_last=True)
    _close(o.out, e[0], dtype)
    _close(rv, rv_e, dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    for a, r in zip(F.batch_norm_backward(dy, x, o.mean, o.rstd, g, b, channels_last=True),
                    R.batch_norm_backward(dy, x, e[1], e[2], g, b, channels_last=True)):
        _close(a, r, dtype, scale=4)
    # no affine, not tracking running statistics: channels-last equals NCHW moved
    xc = np.moveaxis(x, -1, 1).copy()
    o1 = F.batch_norm(x, channels_last=True)
    o2 = F.batch_norm(xc)
    _close(np.moveaxis(o1.out, -1, 1), o2.out, dtype)
    dx, dg, db = F.batch_norm_backward(dy, x, o1.mean, o1.rstd, channels_last=True)
    assert dg is None and db is None


@pytest.mark.parametrize("count", [2, 15, 16, 17, 1000])
def test_batch_norm_sizes(rng, dtype, count):
    for shape in [(count, 3), (1, 3, count), (count, 2, 1, 1)]:
        x, g, b, rm, rv = _bn_args(rng, shape, dtype)
        rm_e, rv_e = rm.copy(), rv.copy()
        o = F.batch_norm(x, g, b, rm, rv)
        e = R.batch_norm(x, g, b, rm_e, rv_e)
        _close(o.out, e[0], dtype, scale=2)
        _close(rv, rv_e, dtype)


def test_batch_norm_single_value_inference_ok(rng, dtype):
    x, g, b, rm, rv = _bn_args(rng, (1, 4), dtype)
    o = F.batch_norm(x, g, b, rm, rv, training=False)
    _close(o.out, R.batch_norm(x, g, b, rm, rv, training=False)[0], dtype)


def test_batch_norm_cumulative_momentum(rng, dtype):
    c = 5
    rm, rv = np.zeros(c, dtype), np.ones(c, dtype)
    count = np.zeros((), np.int64)
    means, vars_ = [], []
    for k in range(4):
        x = (rng.standard_normal((7, c, 3)) + k).astype(dtype)
        F.batch_norm(x, None, None, rm, rv, momentum=None, num_batches_tracked=count)
        x64 = x.astype(np.float64)
        means.append(x64.mean(axis=(0, 2)))
        vars_.append(x64.var(axis=(0, 2), ddof=1))
    assert int(count) == 4
    _close(rm, np.mean(means, axis=0), dtype, scale=2)
    _close(rv, np.mean(vars_, axis=0), dtype, scale=2)
    # with a float momentum the counter still counts, as PyTorch's buffer does
    F.batch_norm(x, None, None, rm, rv, momentum=0.1, num_batches_tracked=count)
    assert int(count) == 5


def test_batch_norm_large_mean_float32(rng):
    """x = 1e4 + N(0, 1) in float32: statistics and outputs keep full accuracy."""
    x = (1e4 + rng.standard_normal((64, 8, 9, 9))).astype(np.float32)
    x2 = (1e4 + rng.standard_normal((4096, 8))).astype(np.float32)
    for arr in (x, x2):
        c = arr.shape[1]
        x64 = arr.astype(np.float64).reshape(arr.shape[0], c, -1)
        mean = x64.mean(axis=(0, 2))
        var = x64.var(axis=(0, 2))
        rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
        o = F.batch_norm(arr, None, None, rm, rv, momentum=1.0)
        np.testing.assert_allclose(o.mean, mean, rtol=1e-13)
        np.testing.assert_allclose(1 / o.rstd ** 2 - 1e-5, var, rtol=1e-9)
        count = x64.shape[0] * x64.shape[2]
        np.testing.assert_allclose(rv, var * count / (count - 1), rtol=1e-6)
        y = (x64 - mean[None, :, None]) / np.sqrt(var + 1e-5)[None, :, None]
        np.testing.assert_allclose(o.out.reshape(y.shape), y, rtol=1e-5, atol=2e-6)
        dy = rng.standard_normal(arr.shape).astype(np.float32)
        grads = F.batch_norm_backward(dy, arr, o.mean, o.rstd)
        e = R.batch_norm_backward(dy, arr, o.mean, o.rstd)
        _close(grads.dx, e[0], np.float32, scale=4)


# (N, C) statistics in one pass: each block of 64 rows is shifted by its first row. A
# mean large against the spread, and a first row far from the rest (the worst case of
# the shift, bounded by Samuelson's inequality), keep double accuracy in the float64
# statistics; sizes straddle the row block and the SIMD widths; 1 and 2 threads bitwise.
@pytest.mark.parametrize("n", [2, 3, 7, 63, 64, 65, 127, 129])
@pytest.mark.parametrize("c", [1, 7, 8, 9, 15, 16, 17, 255, 256, 257])
@pytest.mark.parametrize("kind", ["large_mean", "outlier_first_row"])
def test_batch_norm_2d_one_pass_statistics(rng, dtype, n, c, kind):
    if kind == "large_mean":
        x = (1000 + 1e-2 * rng.standard_normal((n, c))).astype(dtype)
    else:
        x = rng.standard_normal((n, c)).astype(dtype)
        x[0] = 1e4  # row 0 is every block-0 shift; 64, 128 start the later blocks
        x[64::64] = -1e4
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=0), x64.var(axis=0)
    g = (1 + 0.2 * rng.standard_normal(c)).astype(dtype)
    b = (0.2 * rng.standard_normal(c)).astype(dtype)
    outs = []
    for n_threads in (1, 2):
        rm, rv = np.zeros(c, dtype), np.ones(c, dtype)
        o = F.batch_norm(x, g, b, rm, rv, momentum=1.0, n_threads=n_threads)
        # the error of a sum is relative to the data's magnitude, not to its total
        np.testing.assert_allclose(o.mean, mean, rtol=1e-13, atol=1e-16 * n * np.abs(x64).max())
        np.testing.assert_allclose(1 / o.rstd ** 2 - 1e-5, var, rtol=1e-9, atol=1e-13)
        y_e = R.batch_norm(x, g, b, training=True)[0]
        if dtype == np.float64:
            # x − mean is conditioned by |mean|/σ: a few ulp of the mean, times rstd·|g|
            atol = 64 * np.finfo(dtype).eps * np.abs(x64).max() * (o.rstd * np.abs(g)).max()
            assert_close(o.out, y_e, dtype, rtol=1e-12, atol=max(atol, 1e-12))
        else:
            _close(o.out, y_e, dtype)
        _close(rv, (var * n / (n - 1)).astype(dtype), dtype)
        outs.append([o.out, o.mean, o.rstd, rm, rv])
    for a, e in zip(*outs):
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (1, 5)])
def test_batch_norm_2d_degenerate_sizes(dtype, shape):
    x = np.ones(shape, dtype)
    with pytest.raises(ValueError):
        F.batch_norm(x)


def test_batch_norm_nan_propagates(rng, dtype):
    x, g, b, rm, rv = _bn_args(rng, (6, 3, 4), dtype)
    x[2, 1, 3] = np.nan
    o = F.batch_norm(x, g, b, rm, rv)
    assert np.isnan(o.out[:, 1]).all()
    assert np.isfinite(o.out[:, [0, 2]]).all()
    assert np.isnan(rm[1]) and np.isnan(rv[1])
    assert np.isfinite(rm[[0, 2]]).all() and np.isfinite(rv[[0, 2]]).all()
    dx, dg, db = F.batch_norm_backward(np.ones_like(x), x, o.mean, o.rstd, g, b)
    assert np.isnan(dx[:, 1]).all() and np.isfinite(dx[:, [0, 2]]).all()
    assert np.isnan(dg[1]) and np.isfinite(dg[[0, 2]]).all()
    # inference: only the NaN element is NaN
    x2, g2, b2, rm2, rv2 = _bn_args(rng, (6, 3, 4), dtype)
    x2[0, 0, 0] = np.nan
    y = F.batch_norm(x2, g2, b2, rm2, rv2, training=False).out
    assert np.isnan(y).sum() == 1
    assert np.isnan(F.batch_norm(x2, g2, b2, rm2, rv2, training=False, relu=True).out).sum() == 1


# ------------------------------------------------------------ LayerNorm / GroupNorm

@pytest.mark.parametrize("shape,normalized", [((5, 1), 1), ((3, 15), 15), ((4, 16), 16),
                                              ((2, 3, 17), 17), ((7, 33), (33,)),
                                              ((3, 5, 8), (5, 8)), ((2, 1000), 1000)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_reference(rng, dtype, simd_level, shape, normalized, affine):
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    nshape = (normalized,) if isinstance(normalized, int) else normalized
    w = (1 + 0.2 * rng.standard_normal(nshape)).astype(dtype) if affine else None
    b = (0.2 * rng.standard_normal(nshape)).astype(dtype) if affine else None
    o = F.layer_norm(x, normalized, w, b)
    e = R.layer_norm(x, normalized, w, b)
    _close(o.out, e[0], dtype)
    assert o.mean.shape == e[1].shape
    assert_close(o.mean, e[1], np.float64)
    dy = rng.standard_normal(shape).astype(dtype)
    for a, r in zip(F.layer_norm_backward(dy, x, o.mean, o.rstd, normalized, w, b),
                    R.layer_norm_backward(dy, x, e[1], e[2], normalized, w, b)):
        _close(a, r, dtype, scale=4)


@pytest.mark.parametrize("shape,groups", [((2, 6, 5), 3), ((3, 4, 17, 1), 2), ((2, 3, 3, 3), 3),
                                          ((1, 33, 4), 11), ((4, 8), 1), ((2, 16, 16), 4),
                                          ((2, 5, 33), 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_reference(rng, dtype, simd_level, shape, groups, affine):
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    w = (1 + 0.2 * rng.standard_normal(c)).astype(dtype) if affine else None
    b = (0.2 * rng.standard_normal(c)).astype(dtype) if affine else None
    o = F.group_norm(x, groups, w, b)
    e = R.group_norm(x, groups, w, b)
    _close(o.out, e[0], dtype)
    assert o.mean.shape == (shape[0], groups)
    dy = rng.standard_normal(shape).astype(dtype)
    for a, r in zip(F.group_norm_backward(dy, x, o.mean, o.rstd, groups, w, b),
                    R.group_norm_backward(dy, x, e[1], e[2], groups, w, b)):
        _close(a, r, dtype, scale=4)


def test_instance_norm_is_group_norm_per_channel(rng, dtype):
    x = rng.standard_normal((3, 4, 5, 5)).astype(dtype)
    w = rng.standard_normal(4).astype(dtype)
    o = F.instance_norm(x, w, w)
    e = R.group_norm(x, 4, w, w)
    _close(o.out, e[0], dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    for a, r in zip(F.instance_norm_backward(dy, x, o.mean, o.rstd, w, w),
                    R.group_norm_backward(dy, x, e[1], e[2], 4, w, w)):
        _close(a, r, dtype, scale=4)


def test_instance_norm_of_a_buffer_or_tensor_normalizes_per_channel(rng, dtype):
    """instance_norm(x) of an (N, C, *) array that is not an ndarray (a
    memoryview, a torch tensor) used one group for all channels (LayerNorm
    over (C, *)) instead of one per channel, and its backward then rejected
    the forward's (N, C) statistics."""
    x = rng.standard_normal((3, 4, 5)).astype(dtype) * np.arange(1, 5, dtype=dtype)[:, None]
    w = rng.standard_normal(4).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    expected = F.instance_norm(x, w, w)
    grads = F.instance_norm_backward(dy, x, expected.mean, expected.rstd, w, w)
    inputs = [memoryview(x)]
    torch = None
    try:
        import torch
    except ImportError:
        pass
    if torch is not None:
        inputs.append(torch.from_numpy(x))
    for xv in inputs:
        got = F.instance_norm(xv, w, w)
        assert got.mean.shape == (3, 4)
        for a, e in zip(got, expected):
            np.testing.assert_array_equal(a, e)
        dyv = memoryview(dy) if isinstance(xv, memoryview) else torch.from_numpy(dy)
        for a, e in zip(F.instance_norm_backward(dyv, xv, got.mean, got.rstd, w, w), grads):
            np.testing.assert_array_equal(a, e)


def test_layer_and_group_norm_large_mean_float32(rng):
    x = (1e4 + rng.standard_normal((8, 4, 256))).astype(np.float32)
    x64 = x.astype(np.float64)
    o = F.layer_norm(x, 256)
    m = x64.mean(axis=-1, keepdims=True)
    y = (x64 - m) / np.sqrt(x64.var(axis=-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(o.out, y, rtol=1e-5, atol=2e-6)
    og = F.group_norm(x, 2)
    xg = x64.reshape(8, 2, -1)
    yg = (xg - xg.mean(-1, keepdims=True)) / np.sqrt(xg.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(og.out, yg.reshape(x.shape), rtol=1e-5, atol=2e-6)


# ------------------------------------------------------------ finite differences

def _numeric_grad(f, arr, eps=1e-6):
    g = np.zeros_like(arr)
    flat, gf = arr.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        hi = f()
        flat[i] = old - eps
        lo = f()
        flat[i] = old
        gf[i] = (hi - lo) / (2 * eps)
    return g


def _check_grads(loss, params, analytic):
    for p, a in zip(params, analytic):
        np.testing.assert_allclose(a, _numeric_grad(loss, p), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 5), (2, 3, 2, 3)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("relu", [False, True])
def test_batch_norm_gradients_finite_difference(rng, shape, training, relu):
    x, g, b, rm, rv = _bn_args(rng, shape, np.float64)
    w = rng.standard_normal(shape)

    def loss():
        return float((F.batch_norm(x, g, b, rm.copy(), rv.copy(), training=training,
                                   relu=relu).out * w).sum())

    o = F.batch_norm(x, g, b, rm.copy(), rv.copy(), training=training, relu=relu)
    grads = F.batch_norm_backward(w, x, o.mean, o.rstd, g, b, training=training, relu=relu)
    _check_grads(loss, (x, g, b), grads)


@pytest.mark.parametrize("normalized", [4, (3, 4)])
def test_layer_norm_gradients_finite_difference(rng, normalized):
    x = rng.standard_normal((2, 3, 4))
    nshape = (normalized,) if isinstance(normalized, int) else normalized
    wt, bs = rng.standard_normal(nshape), rng.standard_normal(nshape)
    w = rng.standard_normal(x.shape)

    def loss():
        return float((F.layer_norm(x, normalized, wt, bs).out * w).sum())

    o = F.layer_norm(x, normalized, wt, bs)
    _check_grads(loss, (x, wt, bs), F.layer_norm_backward(w, x, o.mean, o.rstd, normalized,
                                                          wt, bs))


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_group_norm_gradients_finite_difference(rng, groups):
    x = rng.standard_normal((2, 4, 3))
    wt, bs = rng.standard_normal(4), rng.standard_normal(4)
    w = rng.standard_normal(x.shape)

    def loss():
        return float((F.group_norm(x, groups, wt, bs).out * w).sum())

    o = F.group_norm(x, groups, wt, bs)
    _check_grads(loss, (x, wt, bs), F.group_norm_backward(w, x, o.mean, o.rstd, groups, wt, bs))


# ------------------------------------------------------------ threads and SIMD levels

def _run_all(rng_seed, dtype, n_threads):
    rng = np.random.default_rng(rng_seed)
    res = []
    for shape, cl in [((8, 64, 16, 16), False), ((512, 256), False), ((64, 8, 8, 96), True)]:
        x, g, b, rm, rv = _bn_args(rng, shape, dtype, channels_last=cl)
        dy = rng.standard_normal(shape).astype(dtype)
        for relu in (False, True):
            o = F.batch_norm(x, g, b, rm, rv, relu=relu, channels_last=cl, n_threads=n_threads)
            res += [o.out, o.mean, o.rstd, rm.copy(), rv.copy()]
            res += [a for a in F.batch_norm_backward(dy, x, o.mean, o.rstd, g, b, relu=relu,
                                                     channels_last=cl, n_threads=n_threads)]
            oi = F.batch_norm(x, g, b, rm, rv, training=False, relu=relu, channels_last=cl,
                              n_threads=n_threads)
            res += [oi.out] + list(F.batch_norm_backward(dy, x, oi.mean, oi.rstd, g, b,
                                                         training=False, relu=relu,
                                                         channels_last=cl,
                                                         n_threads=n_threads))
    x = rng.standard_normal((300, 257)).astype(dtype)
    w = rng.standard_normal(257).astype(dtype)
    o = F.layer_norm(x, 257, w, w, n_threads=n_threads)
    res += [o.out, o.mean] + list(F.layer_norm_backward(x, x, o.mean, o.rstd, 257, w, w,
                                                        n_threads=n_threads))
    x = rng.standard_normal((8, 32, 15, 17)).astype(dtype)
    w = rng.standard_normal(32).astype(dtype)
    o = F.group_norm(x, 8, w, w, n_threads=n_threads)
    res += [o.out, o.mean] + list(F.group_norm_backward(x, x, o.mean, o.rstd, 8, w, w,
                                                        n_threads=n_threads))
    s = Standardizer(n_threads=n_threads).fit(x.reshape(8, -1).T.copy())
    res += [s.mean_, s.var_, s.transform(x.reshape(8, -1).T.copy())]
    return res


def test_bitwise_identical_for_any_thread_count(dtype):
    one = _run_all(7, dtype, 1)
    for n in (2, 3):
        for a, b in zip(one, _run_all(7, dtype, n)):
            np.testing.assert_array_equal(a, b)


def test_bitwise_identical_across_simd_levels(dtype):
    previous = fastnn.get_simd_level()
    try:
        results = []
        for level in fastnn.available_simd_levels():
            fastnn.set_simd_level(level)
            results.append(_run_all(11, dtype, 2))
    finally:
        fastnn.set_simd_level(previous)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------ Standardizer

def test_standardizer_streamed_matches_full(rng, dtype):
    x = (50 + 3 * rng.standard_normal((1001, 17))).astype(dtype)
    s = Standardizer()
    for batch in np.array_split(x, 7):
        s.partial_fit(batch)
    mean, std = R.standardize_stats(x)
    assert s.n_samples_seen_ == 1001
    np.testing.assert_allclose(s.mean_, mean, rtol=1e-12)
    np.testing.assert_allclose(s.scale_, std, rtol=1e-10)
    y = s.transform(x)
    _close(y, (x.astype(np.float64) - mean) / std, dtype, scale=2)
    z = x.copy()
    assert s.transform(z, out=z) is z
    np.testing.assert_array_equal(z, y)
    _close(s.inverse_transform(y), x, dtype, scale=10)
    # per-channel statistics of images
    imgs = rng.standard_normal((5, 3, 4, 4)).astype(dtype)
    si = Standardizer().fit([imgs[:2], imgs[2:]])
    mi, sdi = R.standardize_stats(imgs)
    np.testing.assert_allclose(si.mean_, mi, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(si.scale_, sdi, rtol=1e-10)


def test_standardizer_large_mean_and_constant_feature(rng):
    x = (1e4 + rng.standard_normal((5000, 4))).astype(np.float32)
    x[:, 3] = 7.0
    s = Standardizer().fit(np.array_split(x, 9))
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(s.mean_, x64.mean(0), rtol=1e-14)
    np.testing.assert_allclose(s.var_[:3], x64.var(0)[:3], rtol=1e-9)
    y = s.transform(x)
    x3 = x64[:, :3]
    np.testing.assert_allclose(y[:, :3], (x3 - x3.mean(0)) / x3.std(0), rtol=1e-5,
                               atol=2e-6)
    assert (y[:, 3] == 0).all()


def test_standardizer_bad_input(rng):
    s = Standardizer()
    with pytest.raises(ValueError, match="not fitted"):
        s.transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="empty"):
        s.partial_fit(np.zeros((0, 3)))
    with pytest.raises(TypeError, match="dtype"):
        s.partial_fit(np.zeros((2, 3), np.int32))
    s.partial_fit(rng.standard_normal((4, 3)))
    with pytest.raises(ValueError, match="features"):
        s.partial_fit(np.zeros((2, 4)))
    x = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match="share memory"):
        s.transform(x[:, :3], out=x.view())
    ro = x.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        s.transform(ro, out=ro)
    with pytest.raises(ValueError):
        Standardizer(ddof=-1)


# ------------------------------------------------------------ bad input

def _bn_call(**over):
    rng = np.random.default_rng(0)
    x, g, b, rm, rv = _bn_args(rng, (4, 3, 5), np.float32)
    args = dict(x=x, gamma=g, beta=b, running_mean=rm, running_var=rv)
    args.update(over)
    return args


def _ro(a):
    a = a.copy()
    a.flags.writeable = False
    return a


BAD_BN = [
    (dict(x=[[1.0, 2.0]]), TypeError, "x must be"),
    (dict(x=np.zeros((4, 3, 5), np.int64)), TypeError, "x has dtype"),
    (dict(x=np.zeros((4,), np.float32)), ValueError, "at least 2"),
    (dict(x=np.zeros((0, 3, 5), np.float32)), ValueError, "empty"),
    (dict(x=np.zeros((1, 3, 1), np.float32)), ValueError, "more than 1 value"),
    (dict(x=np.zeros((1, 3), np.float32)), ValueError, "more than 1 value"),
    (dict(gamma=np.ones(4, np.float32)), ValueError, "gamma has shape"),
    (dict(gamma=np.ones(3, np.float64)), TypeError, "gamma has dtype"),
    (dict(beta=[0.0, 0.0, 0.0]), TypeError, "beta must be"),
    (dict(running_mean=_ro(np.zeros(3, np.float32))), ValueError, "running_mean is read-only"),
    (dict(running_var=np.ones(6, np.float32)[::2]), ValueError, "running_var must be C-contig"),
    (dict(running_var=np.ones(3, np.float64)), TypeError, "running_var has dtype"),
    (dict(running_var=np.ones(4, np.float32)), ValueError, "running_var has shape"),
    (dict(running_var=None), TypeError, "go together"),
    (dict(eps=0.0), ValueError, "eps"),
    (dict(eps=-1e-5), ValueError, "eps"),
    (dict(eps=float("nan")), ValueError, "eps"),
    (dict(momentum=1.5), ValueError, "momentum"),
    (dict(momentum=-0.1), ValueError, "momentum"),
    (dict(momentum="0.1"), TypeError, "momentum"),
    (dict(momentum=None), TypeError, "num_batches_tracked"),
    (dict(num_batches_tracked=np.zeros((), np.int32)), TypeError, "int64"),
    (dict(num_batches_tracked=np.zeros(2, np.int64)), ValueError, "one count"),
    (dict(num_batches_tracked=np.full((), -1, np.int64)), ValueError, ">= 0"),
    (dict(out=np.empty((4, 3, 5), np.float64)), TypeError, "out has dtype"),
    (dict(out=np.empty((4, 3, 6), np.float32)), ValueError, "out has shape"),
    (dict(out=_ro(np.empty((4, 3, 5), np.float32))), ValueError, "read-only"),
    (dict(relu=1), TypeError, "relu"),
    (dict(n_threads=0), ValueError, "n_threads"),
]


@pytest.mark.parametrize("over,exc,match", BAD_BN)
def test_batch_norm_bad_input_raises_and_changes_nothing(over, exc, match):
    args = _bn_call(**over)
    snapshot = {k: v.copy() for k, v in args.items() if isinstance(v, np.ndarray)}
    x = args.pop("x")
    with pytest.raises(exc, match=match):
        F.batch_norm(x, **args)
    args["x"] = x
    for k, v in snapshot.items():
        np.testing.assert_array_equal(args[k], v)


def test_batch_norm_aliasing_and_inference_errors():
    args = _bn_call()
    x = args["x"]
    rm_before = args["running_mean"].copy()
    with pytest.raises(ValueError, match="share memory"):
        F.batch_norm(x, args["gamma"], args["beta"], args["running_mean"], args["running_var"],
                     out=x)
    with pytest.raises(ValueError, match="share memory"):
        F.batch_norm(x, args["gamma"], args["beta"], args["running_mean"],
                     args["running_mean"])
    np.testing.assert_array_equal(args["running_mean"], rm_before)
    with pytest.raises(ValueError, match="required when training=False"):
        F.batch_norm(x, training=False)


def test_backward_bad_input():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    o = F.batch_norm(x)
    dy = np.ones_like(x)
    with pytest.raises(ValueError, match="dy has shape"):
        F.batch_norm_backward(dy[:2], x, o.mean, o.rstd)
    with pytest.raises(TypeError, match="dy has dtype"):
        F.batch_norm_backward(dy.astype(np.float64), x, o.mean, o.rstd)
    with pytest.raises(TypeError, match="mean has dtype"):
        F.batch_norm_backward(dy, x, o.mean.astype(np.float32), o.rstd)
    with pytest.raises(ValueError, match="rstd has shape"):
        F.batch_norm_backward(dy, x, o.mean, o.rstd[:2])
    with pytest.raises(TypeError, match="required"):
        F.batch_norm_backward(dy, x, None, o.rstd)
    out = np.empty_like(x)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        F.batch_norm_backward(dy, x, o.mean, o.rstd, out=out)
    with pytest.raises(ValueError, match="share memory"):
        F.batch_norm_backward(dy, x, o.mean, o.rstd, out=dy)
    xl = rng.standard_normal((4, 6)).astype(np.float32)
    ol = F.layer_norm(xl, 6)
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(xl, 5)
    with pytest.raises(TypeError, match="normalized_shape"):
        F.layer_norm(xl, 6.0)
    with pytest.raises(ValueError, match="weight has shape"):
        F.layer_norm(xl, 6, np.ones(5, np.float32))
    with pytest.raises(ValueError, match="eps"):
        F.layer_norm(xl, 6, eps=0)
    with pytest.raises(ValueError, match="empty"):
        F.layer_norm(np.zeros((0, 6), np.float32), 6)
    with pytest.raises(ValueError, match="mean has shape"):
        F.layer_norm_backward(xl, xl, ol.mean[:2], ol.rstd, 6)
    xg = rng.standard_normal((2, 6, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="divide"):
        F.group_norm(xg, 4)
    with pytest.raises(TypeError, match="num_groups"):
        F.group_norm(xg, 2.0)
    with pytest.raises(ValueError, match="empty"):
        F.group_norm(np.zeros((0, 6, 3), np.float32), 3)
    og = F.group_norm(xg, 3)
    with pytest.raises(ValueError, match="rstd has shape"):
        F.group_norm_backward(xg, xg, og.mean, og.rstd[:, :2], 3)


def test_non_contiguous_inputs_are_read_correctly(rng, dtype):
    x = rng.standard_normal((6, 4, 10)).astype(dtype)[:, :, ::2]
    o = F.batch_norm(x)
    _close(o.out, R.batch_norm(x)[0], dtype)
    xl = rng.standard_normal((5, 20)).astype(dtype)[:, ::2]
    _close(F.layer_norm(xl, 10).out, R.layer_norm(xl, 10)[0], dtype)


def _ln_gn_bad_calls():
    x = np.random.default_rng(1).standard_normal((4, 6, 3)).astype(np.float32)
    w6 = np.ones(6, np.float32)
    w3 = np.ones(3, np.float32)
    return [
        (lambda out: F.layer_norm(x, 3, w3, w3, out=out.astype(np.float64)), TypeError),
        (lambda out: F.layer_norm(x, 3, w3.astype(np.float64), w3, out=out), TypeError),
        (lambda out: F.layer_norm(x, 3, w3, np.ones(4, np.float32), out=out), ValueError),
        (lambda out: F.layer_norm(x, 3, eps=-1.0, out=out), ValueError),
        (lambda out: F.layer_norm(x, (6, 4), out=out), ValueError),
        (lambda out: F.layer_norm(x, 3, out=out[:, :, :2]), ValueError),
        (lambda out: F.group_norm(x, 4, out=out), ValueError),
        (lambda out: F.group_norm(x, 3, w6, np.ones(6, np.float64), out=out), TypeError),
        (lambda out: F.group_norm(x, 3, np.ones((6, 1), np.float32), out=out), ValueError),
        (lambda out: F.group_norm(x, 3, eps=0.0, out=out), ValueError),
        (lambda out: F.group_norm(x, 0, out=out), ValueError),
        (lambda out: F.group_norm(x.astype(np.int32), 3, out=out), TypeError),
        (lambda out: F.group_norm(x, 3, out=out.T), ValueError),
    ]


@pytest.mark.parametrize("index", range(13))
def test_layer_and_group_norm_bad_input_leave_out_untouched(index):
    call, exc = _ln_gn_bad_calls()[index]
    out = np.full((4, 6, 3), 7.0, np.float32)
    with pytest.raises(exc):
        call(out)
    assert (out == 7.0).all()


@pytest.mark.parametrize("momentum", [1e-5, 0.3, 0.5, 1 - 1e-5, 1.0])
def test_batch_norm_running_statistics_ema_weights_in_float32(momentum, simd_level):
    """The running averages use momentum and 1 − momentum computed in double
    and round once (no float32 round trip through 1 − x): they match the
    float64 reference to float32 rounding for weights near 0 and 1."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((64, 5)) * 3 + 7).astype(np.float32)
    rm = np.full(5, 1.0, np.float32)
    rv = np.full(5, 2.0, np.float32)
    F.batch_norm(x, running_mean=rm, running_var=rv, momentum=momentum)
    ref_m, ref_v = np.full(5, 1.0), np.full(5, 2.0)
    R.batch_norm(x.astype(np.float64), running_mean=ref_m, running_var=ref_v, momentum=momentum)
    assert_close(rm, ref_m.astype(np.float32), np.float32, rtol=1e-6, atol=0)
    assert_close(rv, ref_v.astype(np.float32), np.float32, rtol=1e-6, atol=0)
