"""Losses and regularizers against the NumPy references, finite differences,
determinism and argument checking."""
import math
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import reference as R
from fastnn.functional import losses as L
from fastnn.functional import regularizers as REG

from conftest import assert_close

ROW_SIZES = [(0, 5), (1, 1), (1, 15), (3, 16), (5, 17), (7, 33), (64, 1000)]
FLAT_SIZES = [0, 1, 15, 16, 17, 1001, 70000]


def _logits(rng, shape, dtype, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _labels(rng, n, k, ignore=False):
    y = rng.integers(0, max(k, 1), n)
    if ignore and n > 2:
        y[1] = -100
    return y


def _check_pair(actual, expected, dtype, **tol):
    (la, ga), (le, ge) = actual, expected
    if isinstance(le, np.ndarray):
        assert la.dtype == dtype and la.shape == le.shape
    else:
        assert type(la) is dtype.type
    assert ga.dtype == dtype
    assert_close(la, le, dtype, **tol)
    assert_close(ga, ge, dtype, **tol)


def _numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    flat = x.reshape(-1)
    gf = g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = float(f(x))
        flat[i] = old - h
        fm = float(f(x))
        flat[i] = old
        gf[i] = (fp - fm) / (2 * h)
    return g


# ------------------------------------------------------------ softmax cross-entropy

def _option_id(opts):
    return "-".join(f"{k}={v}" for k, v in opts.items()) or "default"


CE_OPTIONS = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(label_smoothing=0.1),
    dict(label_smoothing=0.2, smoothing="others"),
    dict(weight=True, label_smoothing=0.05, reduction="mean"),
]


@pytest.mark.parametrize("shape", ROW_SIZES, ids=str)
@pytest.mark.parametrize("opts", CE_OPTIONS, ids=_option_id)
def test_cross_entropy_labels(dtype, simd_level, rng, shape, opts):
    n, k = shape
    opts = dict(opts)
    if opts.pop("weight", False):
        opts["weight"] = (rng.random(k) + 0.5).astype(dtype)
    z = _logits(rng, shape, dtype)
    y = _labels(rng, n, k, ignore=True)
    if opts.get("smoothing") == "others" and k < 2:
        with pytest.raises(ValueError, match="at least 2 classes"):
            L.softmax_cross_entropy(z, y, **opts)
        return
    z0 = z.copy()
    got = L.softmax_cross_entropy(z, y, **opts)
    np.testing.assert_array_equal(z, z0)
    if n == 0 and opts.get("reduction", "mean") == "mean":
        assert np.isnan(got[0]) and got[1].shape == (0, k)
        return
    _check_pair(got, R.softmax_cross_entropy(z, y, **opts), dtype)


@pytest.mark.parametrize("shape", ROW_SIZES, ids=str)
@pytest.mark.parametrize("opts", CE_OPTIONS, ids=_option_id)
def test_cross_entropy_probabilities(dtype, rng, shape, opts):
    n, k = shape
    opts = dict(opts)
    if opts.pop("weight", False):
        opts["weight"] = (rng.random(k) + 0.5).astype(dtype)
    z = _logits(rng, shape, dtype)
    q = rng.random(shape).astype(dtype)
    q /= np.maximum(q.sum(axis=1, keepdims=True), 1e-3)
    if opts.get("smoothing") == "others" and k < 2:
        with pytest.raises(ValueError, match="at least 2 classes"):
            L.softmax_cross_entropy(z, q, check_target=True, **opts)
        return
    got = L.softmax_cross_entropy(z, q, check_target=True, **opts)
    if n == 0 and opts.get("reduction", "mean") == "mean":
        assert np.isnan(got[0])
        return
    _check_pair(got, R.softmax_cross_entropy(z, q, **opts), dtype)


def test_cross_entropy_one_hot_probabilities_match_labels(dtype, rng):
    z = _logits(rng, (9, 6), dtype)
    y = _labels(rng, 9, 6)
    q = np.eye(6, dtype=dtype)[y]
    for smoothing in ("uniform", "others"):
        a = L.softmax_cross_entropy(z, y, label_smoothing=0.3, smoothing=smoothing)
        b = L.softmax_cross_entropy(z, q, label_smoothing=0.3, smoothing=smoothing)
        assert_close(a[0], b[0], dtype)
        assert_close(a[1], b[1], dtype)


def test_cross_entropy_others_smoothing_formula(rng):
    z = _logits(rng, (4, 5), np.float64)
    y = np.array([0, 1, 2, 4])
    eps = 0.25
    q = np.full((4, 5), eps / 4)
    q[np.arange(4), y] = 1 - eps
    expected = -(q * R.log_softmax(z)).sum(axis=1)
    loss, _ = L.softmax_cross_entropy(z, y, label_smoothing=eps, smoothing="others",
                                      reduction="none")
    assert_close(loss, expected, np.float64)


def test_cross_entropy_extreme_logits_float32(rng):
    z = _logits(rng, (8, 40), np.float32)
    z[0, 3] = 1e4
    z[1, :] = -1e4
    z[2, ::2] = 1e4
    z[3, 5] = -1e4
    z[4, :] = 1e4
    y = np.array([3, 0, 1, 5, 7, 2, 9, 11])
    for opts in (dict(), dict(label_smoothing=0.1), dict(reduction="none")):
        loss, grad = L.softmax_cross_entropy(z, y, **opts)
        assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
        ref_loss, ref_grad = R.softmax_cross_entropy(z.astype(np.float64), y, **opts)
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-5, atol=1e-6)


def test_cross_entropy_ignored_rows(rng):
    z = _logits(rng, (5, 4), np.float64)
    y = np.array([1, -100, 2, -100, 0])
    loss, grad = L.softmax_cross_entropy(z, y, reduction="none")
    assert loss[1] == 0 and loss[3] == 0
    assert not grad[1].any() and not grad[3].any()
    all_ignored = np.full(5, 7)
    value, grad = L.softmax_cross_entropy(z, all_ignored, ignore_index=7)
    assert np.isnan(value) and not grad.any()


@pytest.mark.parametrize("opts", [dict(), dict(label_smoothing=0.2),
                                  dict(label_smoothing=0.3, smoothing="others"),
                                  dict(weight=True, label_smoothing=0.1),
                                  dict(weight=True, reduction="sum", ignore=True)],
                         ids=["plain", "smooth", "others", "weighted", "sum-ignore"])
def test_cross_entropy_gradient_finite_differences(rng, opts):
    opts = dict(opts)
    z = _logits(rng, (4, 7), np.float64)
    y = _labels(rng, 4, 7, ignore=opts.pop("ignore", False))
    if opts.pop("weight", False):
        opts["weight"] = rng.random(7) + 0.5
    _, grad = L.softmax_cross_entropy(z, y, **opts)
    numeric = _numeric_grad(lambda x: L.softmax_cross_entropy(x, y, **opts)[0], z.copy())
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    q = rng.random((4, 7))
    _, grad = L.softmax_cross_entropy(z, q, **opts)
    numeric = _numeric_grad(lambda x: L.softmax_cross_entropy(x, q, **opts)[0], z.copy())
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_cross_entropy_threads_bitwise(dtype, rng):
    z = _logits(rng, (517, 1000), dtype)
    y = _labels(rng, 517, 1000, ignore=True)
    for opts in (dict(), dict(label_smoothing=0.1, reduction="none")):
        a = L.softmax_cross_entropy(z, y, n_threads=1, **opts)
        b = L.softmax_cross_entropy(z, y, n_threads=2, **opts)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_cross_entropy_simd_levels_bitwise(dtype, rng):
    z = _logits(rng, (33, 101), dtype)
    y = _labels(rng, 33, 101)
    previous = fastnn.get_simd_level()
    results = []
    try:
        for level in fastnn.available_simd_levels():
            fastnn.set_simd_level(level)
            results.append(L.softmax_cross_entropy(z, y, label_smoothing=0.1))
    finally:
        fastnn.set_simd_level(previous)
    for loss, grad in results[1:]:
        np.testing.assert_array_equal(loss, results[0][0])
        np.testing.assert_array_equal(grad, results[0][1])


def test_cross_entropy_out_buffers(dtype, rng):
    z = _logits(rng, (6, 5), dtype)
    y = _labels(rng, 6, 5)
    out = np.empty_like(z)
    loss_out = np.empty(6, dtype=dtype)
    loss, grad = L.softmax_cross_entropy(z, y, reduction="none", out=out, loss_out=loss_out)
    assert grad is out and loss is loss_out
    assert L.cross_entropy is L.softmax_cross_entropy


# ------------------------------------------------------------ other row losses

@pytest.mark.parametrize("shape", ROW_SIZES, ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(dtype, simd_level, rng, shape, reduction):
    n, k = shape
    x = R.log_softmax(_logits(rng, shape, dtype)) if k else np.zeros(shape, dtype)
    y = _labels(rng, n, k, ignore=True)
    w = (rng.random(k) + 0.5).astype(dtype)
    got = L.nll_loss(x, y, weight=w, reduction=reduction)
    if n == 0 and reduction == "mean":
        assert np.isnan(got[0])
        return
    _check_pair(got, R.nll_loss(x, y, weight=w, reduction=reduction), dtype)


@pytest.mark.parametrize("shape", ROW_SIZES, ids=str)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin_loss(dtype, simd_level, rng, shape, p, weighted):
    n, k = shape
    x = _logits(rng, shape, dtype, scale=0.7)
    y = _labels(rng, n, k)
    w = (rng.random(k) + 0.5).astype(dtype) if weighted else None
    for reduction in ("mean", "sum", "none"):
        got = L.multi_margin_loss(x, y, p=p, margin=0.8, weight=w, reduction=reduction)
        if n == 0 and reduction == "mean":
            assert np.isnan(got[0])
            continue
        _check_pair(got, R.multi_margin_loss(x, y, p=p, margin=0.8, weight=w,
                                             reduction=reduction), dtype)


@pytest.mark.parametrize("shape", ROW_SIZES[1:], ids=str)
def test_svm_loss(dtype, simd_level, rng, shape):
    n, k = shape
    s = _logits(rng, shape, dtype, scale=0.7)
    y = _labels(rng, n, k)
    _check_pair(L.svm_loss(s, y, reduction="none"), R.svm_loss(s, y, reduction="none"), dtype)
    expected = np.array([sum(max(0.0, float(s[i, j]) - float(s[i, y[i]]) + 1)
                             for j in range(k) if j != y[i]) for i in range(n)])
    assert_close(L.svm_loss(s, y, reduction="none")[0], expected, dtype, atol=1e-5)


@pytest.mark.parametrize("shape", ROW_SIZES, ids=str)
def test_entropy_penalty(dtype, simd_level, rng, shape):
    z = _logits(rng, shape, dtype)
    for reduction in ("mean", "sum", "none"):
        got = L.entropy_penalty(z, reduction=reduction)
        if shape[0] == 0 and reduction == "mean":
            assert np.isnan(got[0])
            continue
        _check_pair(got, R.entropy_penalty(z, reduction=reduction), dtype)


def test_entropy_penalty_values():
    uniform = np.zeros((2, 8))
    value, grad = L.entropy_penalty(uniform, reduction="none")
    np.testing.assert_allclose(value, -np.log(8))
    np.testing.assert_allclose(grad, 0, atol=1e-15)
    confident = np.array([[1e4, 0.0, 0.0]], dtype=np.float32)
    value, grad = L.entropy_penalty(confident)
    assert value == 0 and np.all(np.isfinite(grad))


def test_entropy_penalty_masked_classes(dtype, simd_level, rng):
    """A −∞ logit (a masked class, as for invalid actions) has probability 0
    and adds 0·log 0 = 0 to the entropy; the penalty and the whole row's
    gradient were NaN (0·(−∞)). The result equals that of the row without
    the masked classes, and a NaN logit still gives NaN."""
    z = _logits(rng, (5, 37), dtype)
    masked = rng.random(z.shape) < 0.3
    masked[:, 0] = False
    zm = np.where(masked, -np.inf, z).astype(dtype)
    value, grad = L.entropy_penalty(zm, reduction="none")
    assert np.all(grad[masked] == 0)
    for i in range(5):
        keep = ~masked[i]
        v, g = L.entropy_penalty(z[i:i + 1, keep], reduction="none")
        assert_close(value[i], v[0], dtype)
        assert_close(grad[i, keep], g[0], dtype)
    _check_pair(L.entropy_penalty(zm), R.entropy_penalty(zm), dtype)
    zn = zm.copy()
    zn[2, 0] = np.nan
    value, grad = L.entropy_penalty(zn, reduction="none")
    assert np.isnan(value[2]) and np.isnan(grad[2]).all()
    assert np.isfinite(value[[0, 1, 3, 4]]).all()


def test_row_losses_gradient_finite_differences(rng):
    x = _logits(rng, (5, 6), np.float64, scale=0.6)
    y = _labels(rng, 5, 6)
    w = rng.random(6) + 0.5
    cases = [
        lambda a: L.nll_loss(a, y, weight=w),
        lambda a: L.multi_margin_loss(a, y, p=1, weight=w),
        lambda a: L.multi_margin_loss(a, y, p=2, margin=0.7, reduction="sum"),
        lambda a: L.svm_loss(a, y),
        lambda a: L.entropy_penalty(a, reduction="sum"),
    ]
    for f in cases:
        _, grad = f(x)
        numeric = _numeric_grad(lambda a: f(a)[0], x.copy())
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_row_losses_threads_bitwise(dtype, rng):
    x = _logits(rng, (300, 257), dtype)
    y = _labels(rng, 300, 257)
    calls = [
        lambda t: L.nll_loss(x, y, n_threads=t),
        lambda t: L.multi_margin_loss(x, y, p=2, n_threads=t),
        lambda t: L.entropy_penalty(x, reduction="none", n_threads=t),
    ]
    for f in calls:
        a, b = f(1), f(2)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


# ------------------------------------------------------------ elementwise losses

@pytest.mark.parametrize("n", FLAT_SIZES)
@pytest.mark.parametrize("weights", ["none", "weight", "pos_weight", "both"])
def test_bce_with_logits(dtype, simd_level, rng, n, weights):
    shape = (n // 7, 7) if n % 7 == 0 and n else (n,)
    x = _logits(rng, shape, dtype)
    t = rng.random(shape).astype(dtype)
    c = shape[-1]
    kw = {}
    if weights in ("weight", "both"):
        kw["weight"] = (rng.random(c) + 0.5).astype(dtype)
    if weights in ("pos_weight", "both"):
        kw["pos_weight"] = (rng.random(c) * 3).astype(dtype)
    for reduction in ("mean", "sum", "none"):
        got = L.binary_cross_entropy_with_logits(x, t, reduction=reduction, **kw)
        if n == 0 and reduction == "mean":
            assert np.isnan(got[0])
            continue
        _check_pair(got, R.binary_cross_entropy_with_logits(x, t, reduction=reduction, **kw),
                    dtype)


def test_bce_extreme_logits(dtype):
    x = np.array([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4], dtype=dtype)
    t = np.array([1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.0], dtype=dtype)
    loss, grad = L.binary_cross_entropy_with_logits(x, t, reduction="none")
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    ref = R.binary_cross_entropy_with_logits(x.astype(np.float64), t.astype(np.float64),
                                             reduction="none")
    # below the smallest normal number the kernel gives 0 (e.g. log1p(e^-100) in float32)
    np.testing.assert_allclose(loss, ref[0], rtol=1e-6, atol=1e-37)
    np.testing.assert_allclose(grad, ref[1], rtol=1e-6, atol=1e-37)


def test_bce_scalar_weight_broadcast(rng):
    x = _logits(rng, (4, 3), np.float64)
    t = rng.random((4, 3))
    a = L.binary_cross_entropy_with_logits(x, t, weight=np.array([2.0]))
    b = L.binary_cross_entropy_with_logits(x, t, weight=np.full(3, 2.0))
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0] == b[0]


@pytest.mark.parametrize("n", FLAT_SIZES)
def test_mse_loss(dtype, simd_level, rng, n):
    x = _logits(rng, (n,), dtype)
    t = _logits(rng, (n,), dtype)
    for reduction in ("mean", "sum", "none"):
        got = L.mse_loss(x, t, reduction=reduction)
        if n == 0 and reduction == "mean":
            assert np.isnan(got[0])
            continue
        _check_pair(got, R.mse_loss(x, t, reduction=reduction), dtype)


def test_elementwise_gradient_finite_differences(rng):
    x = _logits(rng, (3, 5), np.float64)
    t = rng.random((3, 5))
    w = rng.random(5) + 0.5
    pw = rng.random(5) * 3
    cases = [
        lambda a: L.binary_cross_entropy_with_logits(a, t),
        lambda a: L.binary_cross_entropy_with_logits(a, t, weight=w, pos_weight=pw,
                                                     reduction="sum"),
        lambda a: L.mse_loss(a, t),
    ]
    for f in cases:
        _, grad = f(x)
        numeric = _numeric_grad(lambda a: f(a)[0], x.copy())
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_elementwise_threads_bitwise(dtype, rng):
    x = _logits(rng, (250_001,), dtype)
    t = rng.random(250_001).astype(dtype)
    for f in (lambda n: L.binary_cross_entropy_with_logits(x, t, n_threads=n),
              lambda n: L.mse_loss(x, t, reduction="sum", n_threads=n)):
        a, b = f(1), f(2)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


# ------------------------------------------------------------ regularizers

@pytest.mark.parametrize("n", FLAT_SIZES)
@pytest.mark.parametrize("coefs", [(0.01, 0.0), (0.0, 0.02), (0.01, 0.02), (0.0, 0.0)])
def test_l1l2_penalty(dtype, simd_level, rng, n, coefs):
    l1, l2 = coefs
    w = _logits(rng, (n,), dtype, scale=1.0)
    w[::5] = 0
    g = _logits(rng, (n,), dtype)
    g_ref = g.copy()
    value = REG.l1l2_penalty(w, l1, l2, grad=g, scale=0.5)
    expected = R.l1l2_penalty(w, l1, l2, grad=g_ref, scale=0.5)
    assert isinstance(value, float)
    assert_close(value, expected, dtype)
    assert_close(g, g_ref, dtype)
    assert_close(REG.l1l2_penalty(w, l1, l2), R.l1l2_penalty(w, l1, l2), dtype)


def test_l1l2_gradient_finite_differences(rng):
    w = rng.standard_normal(20) + np.where(rng.random(20) > 0.5, 1.0, -1.0)
    g = np.zeros(20)
    REG.l1l2_penalty(w, 0.3, 0.7, grad=g, scale=2.0)
    numeric = _numeric_grad(lambda a: REG.l1l2_penalty(a, 0.3, 0.7, scale=2.0), w.copy())
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


def test_l1l2_threads_bitwise(dtype, rng):
    w = _logits(rng, (300_000,), dtype)
    g1, g2 = np.ones_like(w), np.ones_like(w)
    a = REG.l1l2_penalty(w, 0.1, 0.2, grad=g1, n_threads=1)
    b = REG.l1l2_penalty(w, 0.1, 0.2, grad=g2, n_threads=2)
    assert a == b
    np.testing.assert_array_equal(g1, g2)


def test_regularizer_classes(rng):
    w = rng.standard_normal((4, 3))
    assert REG.L1()(w) == pytest.approx(0.01 * np.abs(w).sum())
    assert REG.L2(0.5)(w) == pytest.approx(0.5 * (w ** 2).sum())
    assert REG.L1L2(0.1, 0.2)(w) == pytest.approx(0.1 * np.abs(w).sum() + 0.2 * (w ** 2).sum())
    g = np.zeros_like(w)
    REG.L2(0.5).add_grad_(w, g)
    np.testing.assert_allclose(g, w)
    assert REG.l1_penalty(w, 0.2) == pytest.approx(0.2 * np.abs(w).sum())
    assert REG.l2_penalty(w, 0.2) == pytest.approx(0.2 * (w ** 2).sum())
    assert isinstance(REG.get("l1"), REG.L1) and isinstance(REG.get("l1_l2"), REG.L1L2)
    r = REG.get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.3}})
    assert (r.l1, r.l2) == (0.1, 0.3) and r.get_config() == {"l1": 0.1, "l2": 0.3}
    assert REG.get(None) is None and REG.get(r) is r
    with pytest.raises(ValueError, match="unknown regularizer"):
        REG.get("l3")
    with pytest.raises(TypeError):
        REG.get(3)
    with pytest.raises(ValueError, match="l1"):
        REG.L1(-1.0)


def test_activity_regularization(rng):
    x = rng.standard_normal((8, 5))
    act = REG.ActivityRegularization(l1=0.1, l2=0.2)
    assert act.forward(x) is x
    assert act.penalty == pytest.approx(0.1 * np.abs(x).sum() + 0.2 * (x ** 2).sum())
    g = np.ones_like(x)
    assert act.backward(x, g) is g
    np.testing.assert_allclose(g, 1 + 0.1 * np.sign(x) + 0.4 * x)
    per_sample = REG.ActivityRegularization("l2", divide_by_batch=True)
    per_sample(x)
    assert per_sample.penalty == pytest.approx(0.01 * (x ** 2).sum() / 8)


# ------------------------------------------------------------ bad input

def _bad_calls(dtype):
    rng = np.random.default_rng(7)
    z = _logits(rng, (4, 5), dtype)
    y = np.array([0, 1, 2, 3])
    ro = np.zeros((4, 5), dtype)
    ro.flags.writeable = False
    other = np.float64 if dtype == np.float32 else np.float32
    f = L.softmax_cross_entropy
    return [
        (TypeError, "logits", lambda o: f(z.tolist(), y, out=o)),
        (TypeError, "logits", lambda o: f(z.astype(np.int32), y, out=o)),
        (ValueError, "logits", lambda o: f(z[0], y, out=o)),
        (ValueError, r"target\[2\] = 5", lambda o: f(z, np.array([0, 1, 5, 9]), out=o)),
        (ValueError, r"target\[1\] = -1", lambda o: f(z, np.array([0, -1, 5, 9]), out=o)),
        (ValueError, "target", lambda o: f(z, y[:3], out=o)),
        (TypeError, "target", lambda o: f(z, z.astype(other), out=o)),
        (TypeError, "target", lambda o: f(z, [0, 1, 2, 3], out=o)),
        (ValueError, "target", lambda o: f(z, z[:, :4].copy(), out=o)),
        (ValueError, "target row 0", lambda o: f(z, np.full_like(z, 0.5), check_target=True,
                                                 out=o)),
        (ValueError, "target row 0 has negative", lambda o: f(z, -np.ones_like(z),
                                                              check_target=True, out=o)),
        (ValueError, "label_smoothing", lambda o: f(z, y, label_smoothing=1.0, out=o)),
        (ValueError, "label_smoothing", lambda o: f(z, y, label_smoothing=-0.1, out=o)),
        (TypeError, "label_smoothing", lambda o: f(z, y, label_smoothing="0.1", out=o)),
        (ValueError, "smoothing", lambda o: f(z, y, smoothing="lecture", out=o)),
        (ValueError, "reduction", lambda o: f(z, y, reduction="avg", out=o)),
        (TypeError, "reduction", lambda o: f(z, y, reduction=None, out=o)),
        (TypeError, "weight", lambda o: f(z, y, weight=np.ones(5, other), out=o)),
        (ValueError, "weight", lambda o: f(z, y, weight=np.ones(4, dtype), out=o)),
        (TypeError, "ignore_index", lambda o: f(z, y, ignore_index=1.5, out=o)),
        (ValueError, "out", lambda o: f(z, y, out=ro)),
        (ValueError, "out", lambda o: f(z, y, out=np.zeros((5, 4), dtype))),
        (TypeError, "out", lambda o: f(z, y, out=np.zeros((4, 5), other))),
        (ValueError, "out", lambda o: f(z, y, out=np.zeros((5, 4), dtype).T)),
        (ValueError, "loss_out", lambda o: f(z, y, out=o, loss_out=np.zeros(4, dtype))),
        (ValueError, "loss_out", lambda o: f(z, y, reduction="none", out=o,
                                             loss_out=np.zeros(3, dtype))),
        (ValueError, "share memory", lambda o: f(o, y, out=o)),
        (ValueError, r"labels\[0\] = 7", lambda o: L.nll_loss(z, np.array([7, 0, 0, 9]), out=o)),
        (TypeError, "labels", lambda o: L.nll_loss(z, y.astype(np.float64), out=o)),
        (ValueError, "p must be 1 or 2", lambda o: L.multi_margin_loss(z, y, p=3, out=o)),
        (ValueError, r"labels\[3\] = -100", lambda o: L.multi_margin_loss(
            z, np.array([0, 1, 2, -100]), out=o)),
        (ValueError, "margin", lambda o: L.svm_loss(z, y, margin=np.nan, out=o)),
        (ValueError, "scores", lambda o: L.svm_loss(z[0], y, out=o)),
        (TypeError, "target", lambda o: L.mse_loss(z, z.astype(other), out=o)),
        (ValueError, "target", lambda o: L.mse_loss(z, z[:2], out=o)),
        (ValueError, "pos_weight", lambda o: L.binary_cross_entropy_with_logits(
            z, z, pos_weight=np.ones(4, dtype), out=o)),
        (ValueError, "logits has 0 classes", lambda o: L.entropy_penalty(
            np.zeros((3, 0), dtype))),
        (ValueError, "smoothing='others'", lambda o: f(z[:, :1].copy(), np.zeros(4, int),
                                                       label_smoothing=0.1,
                                                       smoothing="others")),
    ]


def test_bad_input_raises_and_leaves_arrays_untouched(dtype):
    for error, match, call in _bad_calls(dtype):
        out = np.full((4, 5), 7.0, dtype)
        with pytest.raises(error, match=match):
            call(out)
        assert np.all(out == 7.0), match


def test_regularizer_bad_input(dtype):
    w = np.ones(6, dtype)
    g = np.full(6, 3.0, dtype)
    other = np.float64 if dtype == np.float32 else np.float32
    cases = [
        (TypeError, "w", lambda: REG.l1l2_penalty(list(w), 0.1, grad=g)),
        (TypeError, "w", lambda: REG.l1l2_penalty(w.astype(int), 0.1, grad=g)),
        (ValueError, "l1", lambda: REG.l1l2_penalty(w, -0.1, grad=g)),
        (ValueError, "l2", lambda: REG.l1l2_penalty(w, 0.1, np.inf, grad=g)),
        (TypeError, "grad", lambda: REG.l1l2_penalty(w, 0.1, grad=g.astype(other))),
        (ValueError, "grad", lambda: REG.l1l2_penalty(w, 0.1, grad=np.ones(5, dtype))),
        (ValueError, "share memory", lambda: REG.l1l2_penalty(g, 0.1, grad=g)),
        (TypeError, "grad is required", lambda: REG.L1().add_grad_(w, None)),
    ]
    for error, match, call in cases:
        with pytest.raises(error, match=match):
            call()
        assert np.all(g == 3.0)


# ------------------------------------------------------------ initializers

from fastnn import init  # noqa: E402

INIT_SHAPE = (400, 500)  # 200,000 values: fan_in 500, fan_out 400 (torch layout)


def _phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _Phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _trunc_moments(mean, std, a, b):
    al, be = (a - mean) / std, (b - mean) / std
    z = _Phi(be) - _Phi(al)
    m = mean + std * (_phi(al) - _phi(be)) / z
    v = std ** 2 * (1 + (al * _phi(al) - be * _phi(be)) / z - ((_phi(al) - _phi(be)) / z) ** 2)
    return m, v


def _assert_stats(x, mean, var, lo=None, hi=None):
    """Sample mean and variance within 6 standard errors of the formulas
    (standard errors from the sample size and the sample's fourth moment)."""
    x = x.astype(np.float64).ravel()
    n = x.size
    d = x - x.mean()
    m2, m4 = (d ** 2).mean(), (d ** 4).mean()
    assert abs(x.mean() - mean) <= 6 * math.sqrt(var / n) + 1e-12, (x.mean(), mean)
    assert abs(m2 - var) <= 6 * math.sqrt(max(m4 - m2 * m2, 0) / n) + 1e-12, (m2, var)
    if lo is not None:
        assert x.min() >= lo
    if hi is not None:
        assert x.max() <= hi


def _gain(nonlinearity, a=0.0):
    return {"relu": math.sqrt(2), "leaky_relu": math.sqrt(2 / (1 + a * a)), "tanh": 5 / 3,
            "linear": 1.0, "selu": 0.75}[nonlinearity]


def test_init_uniform_normal(dtype):
    w = np.empty(INIT_SHAPE, dtype)
    init.uniform_(w, -0.3, 0.5, seed=1)
    _assert_stats(w, 0.1, 0.8 ** 2 / 12, -0.3, 0.5)
    init.normal_(w, 0.2, 0.7, seed=2)
    _assert_stats(w, 0.2, 0.49)


@pytest.mark.parametrize("bounds", [(-2.0, 2.0), (-0.5, 1.5), (0.0, 3.0), (2.5, 3.0),
                                    (-9.0, -5.0)])
def test_init_trunc_normal(dtype, bounds):
    a, b = bounds
    w = np.empty(INIT_SHAPE, dtype)
    init.trunc_normal_(w, 0.3, 1.2, a, b, seed=3, offset=5)
    m, v = _trunc_moments(0.3, 1.2, a, b)
    _assert_stats(w, m, v, a, b)


@pytest.mark.parametrize("layout", ["torch", "keras"])
def test_init_xavier(dtype, layout):
    w = np.empty(INIT_SHAPE, dtype)
    fan_in, fan_out = (500, 400) if layout == "torch" else (400, 500)
    assert init.calculate_fan_in_and_fan_out(w, layout) == (fan_in, fan_out)
    limit = 1.5 * math.sqrt(6 / (fan_in + fan_out))
    init.xavier_uniform_(w, 1.5, seed=4, layout=layout)
    _assert_stats(w, 0.0, limit ** 2 / 3, -limit, limit)
    init.xavier_normal_(w, 1.5, seed=5, layout=layout)
    _assert_stats(w, 0.0, 1.5 ** 2 * 2 / (fan_in + fan_out))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0.0), ("leaky_relu", 0.0),
                                            ("leaky_relu", 0.2), ("tanh", 0.0)])
def test_init_kaiming(dtype, mode, nonlinearity, a):
    w = np.empty((40, 50, 3, 3), dtype)  # fan_in 450, fan_out 360
    fan = 450 if mode == "fan_in" else 360
    std = _gain(nonlinearity, a) / math.sqrt(fan)
    init.kaiming_uniform_(w, a, mode, nonlinearity, seed=6)
    _assert_stats(w, 0.0, std ** 2, -math.sqrt(3) * std, math.sqrt(3) * std)
    init.kaiming_normal_(w, a, mode, nonlinearity, seed=7)
    _assert_stats(w, 0.0, std ** 2)


def test_init_lecun_and_variance_scaling(dtype):
    w = np.empty(INIT_SHAPE, dtype)
    init.lecun_uniform_(w, seed=8)
    _assert_stats(w, 0.0, 1 / 500, -math.sqrt(3 / 500), math.sqrt(3 / 500))
    init.lecun_normal_(w, seed=9)
    std = math.sqrt(1 / 500) / 0.87962566103423978
    _assert_stats(w, 0.0, 1 / 500, -2 * std, 2 * std)
    init.variance_scaling_(w, 3.0, "fan_avg", "untruncated_normal", seed=10)
    _assert_stats(w, 0.0, 3.0 / 450)


@pytest.mark.parametrize("name,var,limit", [
    ("glorot_uniform", 2 / 900, math.sqrt(6 / 900)),
    ("glorot_normal", 2 / 900, 2 * math.sqrt(2 / 900) / 0.87962566103423978),
    ("he_uniform", 2 / 400, math.sqrt(6 / 400)),
    ("he_normal", 2 / 400, 2 * math.sqrt(2 / 400) / 0.87962566103423978),
    ("lecun_uniform", 1 / 400, math.sqrt(3 / 400)),
    ("lecun_normal", 1 / 400, 2 * math.sqrt(1 / 400) / 0.87962566103423978),
    ("random_uniform", 0.1 ** 2 / 12, 0.05),
    ("random_normal", 0.05 ** 2, None),
    ("TruncatedNormal", _trunc_moments(0, 0.05, -0.1, 0.1)[1], 0.1),
])
def test_init_keras_names(dtype, name, var, limit):
    w = np.empty(INIT_SHAPE, dtype)  # Keras layout: fan_in 400, fan_out 500
    initializer = init.get(name, seed=11)
    assert initializer(w) is w
    _assert_stats(w, 0.0, var, -limit if limit else None, limit)


def test_init_reproducible_and_thread_independent(dtype):
    a = np.empty((300, 700), dtype)
    b = np.empty((300, 700), dtype)
    for fn in (init.xavier_uniform_, init.kaiming_normal_, init.trunc_normal_,
               init.lecun_normal_):
        fn(a, seed=12, offset=3, n_threads=1)
        fn(b, seed=12, offset=3, n_threads=2)
        np.testing.assert_array_equal(a, b)
        fn(b, seed=12, offset=4)
        assert not np.array_equal(a, b)
        fn(b, seed=13, offset=3)
        assert not np.array_equal(a, b)
    ss = np.random.SeedSequence(5)
    init.get("he_normal")(a, seed=ss)
    init.get("he_normal", seed=ss)(b)
    np.testing.assert_array_equal(a, b)


def test_init_constant_fills(dtype):
    w = np.full((3, 4), 5.0, dtype)
    assert init.zeros_(w) is w and not w.any()
    assert np.all(init.ones_(w) == 1)
    assert np.all(init.constant_(w, 0.25) == dtype.type(0.25))
    assert np.all(init.get("constant", value=2.0)(w) == 2)
    assert not init.get("zeros")(w).any()


@pytest.mark.parametrize("shape", [(5, 5), (4, 9), (9, 4), (6, 2, 3), (1, 1)])
def test_init_orthogonal(dtype, shape):
    w = np.empty(shape, dtype)
    init.orthogonal_(w, 2.0, seed=14)
    m = w.reshape(shape[0], -1).astype(np.float64) / 2.0
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=tol)
    w2 = np.empty(shape, dtype)
    init.orthogonal_(w2, 2.0, seed=14, n_threads=1)
    np.testing.assert_array_equal(w, w2)
    assert init.get("orthogonal", gain=2.0, seed=14)(np.empty(shape, dtype)).shape == shape


def test_init_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "x")


def test_init_bad_input(dtype):
    w = np.full((4, 6), 9.0, dtype)
    ro = np.full((4, 6), 9.0, dtype)
    ro.flags.writeable = False
    vec = np.full(6, 9.0, dtype)
    cases = [
        (TypeError, "tensor", lambda: init.xavier_uniform_(w.tolist(), seed=1)),
        (TypeError, "tensor", lambda: init.normal_(w.astype(np.int64), seed=1)),
        (ValueError, "C-contiguous", lambda: init.kaiming_normal_(w.T, seed=1)),
        (ValueError, "read-only", lambda: init.uniform_(ro, seed=1)),
        (ValueError, "fewer than 2 dimensions", lambda: init.xavier_uniform_(vec, seed=1)),
        (ValueError, "fewer than 2 dimensions", lambda: init.kaiming_uniform_(vec, seed=1)),
        (ValueError, "fewer than 2 dimensions", lambda: init.get("he_normal")(vec, seed=1)),
        (ValueError, "fewer than 2 dimensions", lambda: init.calculate_fan_in_and_fan_out(vec)),
        (ValueError, "at least 2 dimensions", lambda: init.orthogonal_(vec, seed=1)),
        (ValueError, "mode", lambda: init.kaiming_normal_(w, mode="fan_avg", seed=1)),
        (ValueError, "Unsupported", lambda: init.kaiming_normal_(w, nonlinearity="x", seed=1)),
        (ValueError, "a must be <= b", lambda: init.uniform_(w, 1.0, 0.0, seed=1)),
        (ValueError, "a must be < b", lambda: init.trunc_normal_(w, a=1.0, b=1.0, seed=1)),
        (ValueError, "too little", lambda: init.trunc_normal_(w, a=40.0, b=50.0, seed=1)),
        (ValueError, "std", lambda: init.normal_(w, 0.0, -1.0, seed=1)),
        (TypeError, "seed", lambda: init.normal_(w, seed=None)),
        (TypeError, "seed", lambda: init.get("glorot_uniform")(w)),
        (ValueError, "offset", lambda: init.normal_(w, seed=1, offset=-1)),
        (ValueError, "layout", lambda: init.xavier_normal_(w, seed=1, layout="tf")),
        (ValueError, "unknown initializer", lambda: init.get("glorot_uniformly")),
        (TypeError, "unexpected arguments", lambda: init.get("he_normal", stddev=1.0)),
        (TypeError, "identifier", lambda: init.get(3)),
        (ValueError, "distribution", lambda: init.variance_scaling_(w, distribution="x",
                                                                    seed=1)),
    ]
    for error, match, call in cases:
        with pytest.raises(error, match=match):
            call()
        assert np.all(w == 9.0) and np.all(vec == 9.0), match


@pytest.mark.parametrize("shape", [(5, 0), (0, 5), (0, 0), (3, 0, 2, 2)])
def test_fan_initializers_leave_zero_size_arrays_unchanged(shape, dtype):
    # kaiming_* raised "has fan_in = 0" where torch.nn.init returns the
    # zero-element tensor as it is
    calls = [lambda w: init.kaiming_uniform_(w, seed=1),
             lambda w: init.kaiming_normal_(w, mode="fan_out", seed=1),
             lambda w: init.xavier_uniform_(w, seed=1),
             lambda w: init.variance_scaling_(w, 2.0, "fan_avg", seed=1),
             lambda w: init.lecun_normal_(w, seed=1),
             lambda w: init.get("he_uniform")(w, seed=1),
             lambda w: init.orthogonal_(w, seed=1)]
    for call in calls:
        w = np.empty(shape, dtype)
        assert call(w) is w
    w = np.empty(shape, dtype)
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(w, mode="fan_avg", seed=1)
    with pytest.raises(ValueError, match="Unsupported"):
        init.kaiming_normal_(w, nonlinearity="x", seed=1)
    with pytest.raises(ValueError, match="distribution"):
        init.variance_scaling_(w, distribution="x", seed=1)
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.nn.init.kaiming_uniform_(torch.empty(shape)).shape == shape


def test_normal_inversion_accuracy(dtype, simd_level):
    special = pytest.importorskip("scipy.special")
    from fastnn._ext import random as ext

    u = np.concatenate([np.linspace(0, 1, 20001)[1:-1], [1e-12, 0.02424, 0.02426, 0.5]])
    x = u.astype(dtype)
    expected = special.ndtri(x.astype(np.float64))
    for threads in (1, 2):
        y = x.copy()
        ext.normal_icdf_(y, 0.0, 1.0, 0.0, 1.0, -50.0, 50.0, threads, 0)
        rtol = 2e-7 if dtype == np.float32 else 2e-9
        np.testing.assert_allclose(y, expected, rtol=rtol, atol=1e-9)


def test_trunc_normal_simd_levels_bitwise(dtype):
    previous = fastnn.get_simd_level()
    results = []
    try:
        for level in fastnn.available_simd_levels():
            fastnn.set_simd_level(level)
            results.append(init.trunc_normal_(np.empty((50, 70), dtype), 0.1, 0.5, -0.7, 0.9,
                                              seed=21))
    finally:
        fastnn.set_simd_level(previous)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


# ------------------------------------------------------------------ labels: overlap, values

LABEL_LOSSES = [
    ("softmax_cross_entropy", lambda x, y, **k: L.softmax_cross_entropy(x, y, **k), "target"),
    ("nll_loss", lambda x, y, **k: L.nll_loss(x, y, **k), "labels"),
    ("multi_margin_loss", lambda x, y, **k: L.multi_margin_loss(x, y, **k), "labels"),
    ("svm_loss", lambda x, y, **k: L.svm_loss(x, y, **k), "labels"),
]


@pytest.mark.parametrize("name,fn,label_name", LABEL_LOSSES, ids=[c[0] for c in LABEL_LOSSES])
@pytest.mark.parametrize("written", ["out", "loss_out"])
def test_int64_labels_overlapping_an_output_are_rejected(name, fn, label_name, written):
    """Labels viewing the memory of out (or loss_out) were read while the
    gradient overwrote them: out-of-range class indices, a crash."""
    x = np.random.default_rng(0).standard_normal((6, 4))
    buf = np.zeros(24)
    labels = buf.view(np.int64)[:6]
    labels[:] = [0, 1, 2, 3, 0, 1]
    kwargs = {}
    if written == "out":
        kwargs["out"] = buf.reshape(6, 4)
    else:
        kwargs["loss_out"] = buf[:6]
        kwargs["reduction"] = "none"
    before = buf.copy()
    with pytest.raises(ValueError, match=f"{label_name}.*{written}|{written}.*{label_name}"):
        fn(x, labels, **kwargs)
    np.testing.assert_array_equal(buf, before)


@pytest.mark.parametrize("name,fn,label_name", LABEL_LOSSES, ids=[c[0] for c in LABEL_LOSSES])
def test_label_values_and_dtypes_are_validated(name, fn, label_name):
    x = np.random.default_rng(0).standard_normal((4, 3))
    good = np.array([0, 1, 2, 1])
    ref = fn(x, good)
    for bad, err in [(np.array([0, 1, 3, 1]), ValueError), (np.array([0, -1, 2, 1]), ValueError),
                     (np.array([0, 1, 2, 2**40]), ValueError),
                     (np.array([0, 1, 2, 2**64 - 1], np.uint64), ValueError),
                     (np.array([True, False, True, False]), TypeError),
                     (np.array([0, 1, 2, 1], object), TypeError),
                     (good.astype(np.float32).astype(object), TypeError),
                     (good.reshape(2, 2), ValueError), (good[:3], ValueError)]:
        with pytest.raises(err, match=label_name):
            fn(x, bad)
    # any integer dtype and byte order, strided or read-only: the same result
    for variant in (good.astype(np.uint8), good.astype(">i8"), good.astype("<i2"),
                    np.repeat(good, 2)[::2]):
        got = fn(x, variant)
        np.testing.assert_array_equal(got[1], ref[1])
    with pytest.raises(ValueError, match="ignore_index"):
        L.nll_loss(x, good, ignore_index=2**63)


def test_zero_d_losses_keep_the_input_shape():
    """The gradient of an elementwise loss of a 0-d input is 0-d."""
    x, y = np.array(0.3), np.array(1.0)
    for fn in (L.mse_loss, L.binary_cross_entropy_with_logits):
        for reduction in ("mean", "sum", "none"):
            value, grad = fn(x, y, reduction=reduction)
            assert grad.shape == ()
            assert np.shape(value) == ()
            ref_value, ref_grad = fn(x.reshape(1), y.reshape(1), reduction=reduction)
            np.testing.assert_array_equal(grad, ref_grad.reshape(()))
            np.testing.assert_array_equal(value, np.reshape(ref_value, ()))


# ------------------------------------------------------------ issue 16: (N, C, d...) cross-entropy,
# reduction="none" in nn.CrossEntropyLoss, BCE weights broadcast

ND_SHAPES = [(2, 3, 4), (3, 5, 2, 3), (2, 4, 1, 2, 3), (0, 3, 2), (2, 3, 0)]


@pytest.mark.parametrize("shape", ND_SHAPES)
@pytest.mark.parametrize("opts", [{}, {"weight": True}, {"ignore": True, "weight": True},
                                  {"label_smoothing": 0.2, "ignore": True}])
def test_cross_entropy_spatial_labels(dtype, rng, shape, opts):
    z = _logits(rng, shape, dtype)
    n, k, spatial = shape[0], shape[1], shape[2:]
    y = rng.integers(0, k, (n,) + spatial)
    if opts.get("ignore") and y.size > 2:
        y.reshape(-1)[[0, 2]] = -100
    kw = {}
    if opts.get("weight"):
        kw["weight"] = (rng.random(k) + 0.5).astype(dtype)
    if "label_smoothing" in opts:
        kw["label_smoothing"] = opts["label_smoothing"]
    for reduction in ("mean", "sum", "none"):
        got = L.softmax_cross_entropy(z, y, reduction=reduction, **kw)
        expected = R.cross_entropy_nd(z, y, reduction=reduction, **kw)
        if reduction == "mean" and not np.isfinite(expected[0]):
            assert np.isnan(got[0])
            continue
        _check_pair(got, expected, dtype)
        # the same as rows of C classes (the 2-D reference)
        rows = np.moveaxis(z, 1, -1).reshape(-1, k)
        l2, g2 = R.softmax_cross_entropy(rows, y.reshape(-1), reduction=reduction, **kw)
        assert_close(got[1], np.moveaxis(g2.reshape((n,) + spatial + (k,)), -1, 1), dtype)
        if reduction == "none":
            assert got[0].shape == (n,) + spatial
            assert_close(got[0], l2.reshape((n,) + spatial), dtype)


@pytest.mark.parametrize("shape", ND_SHAPES)
def test_nll_loss_spatial_labels(dtype, rng, shape):
    """nll_loss took only (n_rows, n_classes) log-probabilities; torch's (and
    fastnn's cross-entropy) (N, C, d1, ...) with labels (N, d1, ...) raised."""
    x = _logits(rng, shape, dtype)
    n, k, spatial = shape[0], shape[1], shape[2:]
    y = rng.integers(0, k, (n,) + spatial)
    if y.size > 2:
        y.reshape(-1)[[0, 2]] = -100
    w = (rng.random(k) + 0.5).astype(dtype)
    rows = np.moveaxis(x, 1, -1).reshape(-1, k)
    for reduction in ("mean", "sum", "none"):
        loss, grad = L.nll_loss(x, y, weight=w, reduction=reduction)
        l2, g2 = R.nll_loss(rows, y.reshape(-1), weight=w, reduction=reduction)
        assert grad.shape == shape
        assert_close(grad, np.moveaxis(g2.reshape((n,) + spatial + (k,)), -1, 1), dtype)
        if reduction == "none":
            assert loss.shape == (n,) + spatial
            assert_close(loss, l2.reshape((n,) + spatial), dtype)
        elif np.isnan(l2):
            assert np.isnan(loss)
        else:
            assert_close(loss, l2, dtype)
    with pytest.raises(ValueError, match=r"labels has shape \(%d,\)" % n):
        L.nll_loss(x, np.zeros(n, np.int64))
    bad = y.copy()
    if bad.size:
        bad.reshape(-1)[-1] = k
        with pytest.raises(ValueError, match="out of range"):
            L.nll_loss(x, bad)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 2, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_spatial_against_torch(rng, shape, reduction):
    torch = pytest.importorskip("torch")
    x = _logits(rng, shape, np.float64)
    y = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    y.reshape(-1)[1] = -100
    w = rng.random(shape[1]) + 0.5
    loss, grad = L.nll_loss(x, y, weight=w, reduction=reduction)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    tl = torch.nn.functional.nll_loss(tx, torch.from_numpy(y), weight=torch.from_numpy(w),
                                      reduction=reduction)
    tl.sum().backward()
    np.testing.assert_allclose(loss, tl.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_spatial_probabilities_and_buffers(dtype, rng):
    z = _logits(rng, (3, 4, 5, 2), dtype)
    p = rng.random(z.shape).astype(dtype)
    p /= p.sum(axis=1, keepdims=True)
    out = np.empty(z.shape, dtype)
    loss_out = np.empty((3, 5, 2), dtype)
    got = L.softmax_cross_entropy(z, p, reduction="none", out=out, loss_out=loss_out,
                                  check_target=True)
    assert got[0] is loss_out and got[1] is out
    _check_pair(got, R.cross_entropy_nd(z, p, reduction="none"), dtype)
    _check_pair(L.softmax_cross_entropy(z, p), R.cross_entropy_nd(z, p), dtype)
    with pytest.raises(ValueError, match=r"target has shape \(3, 5\)"):
        L.softmax_cross_entropy(z, np.zeros((3, 5), np.int64))
    with pytest.raises(ValueError, match="loss_out"):
        L.softmax_cross_entropy(z, p, reduction="none", loss_out=np.empty(30, dtype))
    with pytest.raises(ValueError, match="share memory"):
        L.softmax_cross_entropy(z, p, out=z)


def test_cross_entropy_spatial_gradient_finite_differences(rng):
    z = _logits(rng, (2, 3, 2, 2), np.float64, scale=1.0)
    y = rng.integers(0, 3, (2, 2, 2))
    y[0, 1, 1] = -100
    w = rng.random(3) + 0.5
    _, grad = L.softmax_cross_entropy(z, y, weight=w, label_smoothing=0.1)
    h = 1e-6
    num = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        num[idx] = (L.softmax_cross_entropy(zp, y, weight=w, label_smoothing=0.1)[0]
                    - L.softmax_cross_entropy(zm, y, weight=w, label_smoothing=0.1)[0]) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_against_torch(dtype, rng, shape, reduction):
    torch = pytest.importorskip("torch")
    z = _logits(rng, shape, dtype)
    y = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    y.reshape(-1)[1] = -100
    w = (rng.random(shape[1]) + 0.5).astype(dtype)
    loss, grad = L.softmax_cross_entropy(z, y, weight=w, reduction=reduction,
                                         label_smoothing=0.1)
    tz = torch.from_numpy(z.copy()).requires_grad_()
    tl = torch.nn.functional.cross_entropy(tz, torch.from_numpy(y), weight=torch.from_numpy(w),
                                           reduction=reduction, label_smoothing=0.1)
    tl.sum().backward()
    assert_close(loss, tl.detach().numpy(), dtype)
    assert_close(grad, tz.grad.numpy(), dtype)


def test_nn_cross_entropy_reduction_none(dtype, rng):
    z = _logits(rng, (6, 4), dtype)
    y = rng.integers(0, 4, 6)
    fn = fastnn.nn.CrossEntropyLoss(reduction="none")
    losses = fn(z, y)
    ref_l, ref_g = R.softmax_cross_entropy(z, y, reduction="none")
    assert losses.shape == (6,)
    assert_close(losses, ref_l, dtype)
    assert_close(fn.backward(), ref_g, dtype)
    up = rng.random(6).astype(dtype)
    assert_close(fn.backward(up), ref_g * up[:, None], dtype)
    with pytest.raises(ValueError, match="grad_output has shape"):
        fn.backward(np.ones(5, dtype))
    # spatial, with an upstream gradient per position
    z4 = _logits(rng, (2, 3, 4, 5), dtype)
    y4 = rng.integers(0, 3, (2, 4, 5))
    losses = fn(z4, y4)
    ref_l, ref_g = R.cross_entropy_nd(z4, y4, reduction="none")
    assert losses.shape == (2, 4, 5)
    up = rng.random((2, 4, 5)).astype(dtype)
    assert_close(fn.backward(up), ref_g * up[:, None], dtype)
    mean = fastnn.nn.CrossEntropyLoss()
    mean(z, y)
    with pytest.raises(ValueError, match="grad_output is only used with reduction='none'"):
        mean.backward(np.ones(6, dtype))


@pytest.mark.parametrize("shape", [(4, 3, 5), (4, 3, 1), (2, 3, 4, 5)])
def test_nn_cross_entropy_sequence_labels(dtype, rng, shape):
    """CrossEntropyLoss with (N, C, L) logits and (N, L) integer labels took
    the labels for one-hot targets (Keras' (n, n_classes) convention) and
    raised; with L = 1 the labels (N, 1) were flattened to (N,) and
    rejected."""
    z = _logits(rng, shape, dtype)
    y = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    for reduction in ("mean", "sum", "none"):
        fn = fastnn.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1)
        value = fn(z, y)
        ref_l, ref_g = R.cross_entropy_nd(z, y, reduction=reduction, label_smoothing=0.1)
        assert_close(value, ref_l, dtype)
        assert_close(fn.backward(), ref_g, dtype)
    # (N, C) logits keep Keras' forms: labels as a column, integer one-hot rows
    z2 = _logits(rng, (6, 4), dtype)
    y2 = rng.integers(0, 4, 6)
    fn = fastnn.nn.CrossEntropyLoss()
    expected = R.softmax_cross_entropy(z2, y2)[0]
    assert_close(fn(z2, y2[:, None]), expected, dtype)
    assert_close(fn(z2, np.eye(4, dtype=np.int64)[y2]), expected, dtype)


def test_nn_cross_entropy_reduction_none_against_torch(rng):
    torch = pytest.importorskip("torch")
    z = _logits(rng, (3, 4, 2, 2), np.float64)
    y = rng.integers(0, 4, (3, 2, 2))
    up = rng.random((3, 2, 2))
    fn = fastnn.nn.CrossEntropyLoss(reduction="none", label_smoothing=0.05)
    losses = fn(z, y)
    tz = torch.from_numpy(z.copy()).requires_grad_()
    tl = torch.nn.CrossEntropyLoss(reduction="none", label_smoothing=0.05)(
        tz, torch.from_numpy(y))
    tl.backward(torch.from_numpy(up))
    np.testing.assert_allclose(losses, tl.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(fn.backward(up), tz.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cls", ["MSELoss", "BCEWithLogitsLoss"])
def test_nn_elementwise_loss_target_shape(rng, cls):
    """MSELoss and BCEWithLogitsLoss reshaped any target of the output's
    size to the output's shape: a transposed target (2, N) for an output
    (N, 2) paired outputs with other samples' targets, silently."""
    fn = getattr(fastnn.nn, cls)()
    ref = L.mse_loss if cls == "MSELoss" else L.binary_cross_entropy_with_logits
    out = rng.standard_normal((5, 2))
    t = rng.random((5, 2))
    with pytest.raises(ValueError, match=r"target has shape \(2, 5\)"):
        fn(out, np.ascontiguousarray(t.T))
    with pytest.raises(ValueError, match=r"target has shape \(10,\)"):
        fn(out, t.reshape(-1))
    assert fn(out, t) == pytest.approx(float(ref(out, t)[0]), rel=1e-12)
    # size-1 axes may differ: values (N,) for an output (N, 1), and back
    col = rng.standard_normal((5, 1))
    v = rng.random(5)
    expected = float(ref(col, v[:, None])[0])
    assert fn(col, v) == pytest.approx(expected, rel=1e-12)
    assert fn(col[:, 0], v[:, None]) == pytest.approx(expected, rel=1e-12)
    assert fn(col, v.astype(np.float32).tolist()) == pytest.approx(
        float(ref(col, v.astype(np.float32).astype(np.float64)[:, None])[0]), rel=1e-12)


@pytest.mark.parametrize("cls", ["MSELoss", "BCEWithLogitsLoss"])
def test_nn_elementwise_loss_reduction_none(dtype, rng, cls):
    """MSELoss and BCEWithLogitsLoss refused reduction="none" (torch takes
    it, and CrossEntropyLoss does): forward now returns the per-element
    losses and backward takes their upstream gradient."""
    out = _logits(rng, (4, 3), dtype)
    t = rng.random((4, 3)).astype(dtype)
    kw = {} if cls == "MSELoss" else {"pos_weight": (rng.random(3) + 0.5).astype(dtype)}
    ref = L.mse_loss if cls == "MSELoss" else L.binary_cross_entropy_with_logits
    fn = getattr(fastnn.nn, cls)(reduction="none", **kw)
    losses = fn(out, t)
    ref_l, ref_g = ref(out, t, reduction="none", **kw)
    assert losses.shape == (4, 3)
    assert_close(losses, ref_l, dtype)
    assert_close(fn.backward(), ref_g, dtype)
    up = rng.random((4, 3)).astype(dtype)
    assert_close(fn.backward(up), ref_g * up, dtype)
    with pytest.raises(ValueError, match="grad_output has shape"):
        fn.backward(np.ones(4, dtype))
    with pytest.raises(ValueError, match="reduction must be"):
        getattr(fastnn.nn, cls)(reduction="avg")


def test_nn_elementwise_loss_reduction_none_against_torch(rng):
    torch = pytest.importorskip("torch")
    out = rng.standard_normal((5, 2))
    t = rng.random((5, 2))
    up = rng.random((5, 2))
    pw = rng.random(2) + 0.5
    for ours, theirs in ((fastnn.nn.MSELoss(reduction="none"), torch.nn.MSELoss(reduction="none")),
                         (fastnn.nn.BCEWithLogitsLoss(pos_weight=pw, reduction="none"),
                          torch.nn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(pw),
                                                     reduction="none"))):
        losses = ours(out, t)
        tx = torch.from_numpy(out.copy()).requires_grad_()
        tl = theirs(tx, torch.from_numpy(t))
        tl.backward(torch.from_numpy(up))
        np.testing.assert_allclose(losses, tl.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.backward(up), tx.grad.numpy(), rtol=1e-12, atol=1e-15)


BCE_WEIGHT_SHAPES = [
    ((4, 3, 5), (3, 1), None),         # per channel of (N, C, L)
    ((4, 3, 5), None, (1, 3, 5)),      # leading size-1 axis
    ((4, 3, 5), (4, 1, 1), (5,)),      # per sample, with a last-axis pos_weight
    ((2, 3, 4, 5), (3, 1, 1), (3, 1, 1)),
    ((6, 7), (6, 1), (7,)),
    ((6, 7), (6, 7), None),
    ((300, 2), (300, 1), None),        # long period (no tiling)
    ((5,), (), (1,)),                  # scalar weights
]


@pytest.mark.parametrize("shape,wshape,pshape", BCE_WEIGHT_SHAPES)
def test_bce_weights_broadcast(dtype, rng, shape, wshape, pshape):
    x = _logits(rng, shape, dtype)
    t = rng.random(shape).astype(dtype)
    kw = {}
    if wshape is not None:
        kw["weight"] = np.asarray(rng.random(wshape) + 0.5, dtype=dtype)
    if pshape is not None:
        kw["pos_weight"] = np.asarray(rng.random(pshape) * 3, dtype=dtype)
    for reduction in ("mean", "sum", "none"):
        _check_pair(L.binary_cross_entropy_with_logits(x, t, reduction=reduction, **kw),
                    R.binary_cross_entropy_with_logits(x, t, reduction=reduction, **kw), dtype)


def test_bce_weights_that_do_not_broadcast():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"weight has shape \(4,\).*\(4, 3\)"):
        L.binary_cross_entropy_with_logits(x, x, weight=np.ones(4))
    with pytest.raises(ValueError, match=r"pos_weight has shape \(2, 4, 3\)"):
        L.binary_cross_entropy_with_logits(x, x, pos_weight=np.ones((2, 4, 3)))


@pytest.mark.parametrize("wshape,pshape", [((3, 1, 1), (3, 1, 1)), ((2, 1, 1, 1), (4,)),
                                           ((1, 3, 2, 4), None)])
def test_bce_weights_broadcast_against_torch(rng, wshape, pshape):
    torch = pytest.importorskip("torch")
    shape = (2, 3, 2, 4)
    x, t = _logits(rng, shape, np.float64), rng.random(shape)
    w = rng.random(wshape) + 0.5
    pw = None if pshape is None else rng.random(pshape) * 3
    loss, grad = L.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    tl = torch.nn.functional.binary_cross_entropy_with_logits(
        tx, torch.from_numpy(t), weight=torch.from_numpy(w),
        pos_weight=None if pw is None else torch.from_numpy(pw))
    tl.backward()
    np.testing.assert_allclose(loss, tl.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-10, atol=1e-15)
