"""Activations, their vector math, and the fused dense layer against the NumPy
references (fastnn.reference.dense), SciPy and finite differences."""
import subprocess
import sys
import textwrap
import numpy as np
import pytest
from scipy import special

import fastnn
from fastnn import functional as F
from fastnn import reference as R
from fastnn._ext import dense as K
import fastnn._blas  # noqa: E402
import importlib
F_dense = importlib.import_module("fastnn.functional.dense")
from conftest import assert_close

SIZES = [0, 1, 15, 16, 17, 1001, 100_003]
NAMES = ["identity", "relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "silu", "sigmoid",
         "tanh", "softplus"]
MAIN = ["relu", "gelu", "gelu_tanh", "silu", "elu", "sigmoid", "tanh", "softplus"]
FROM_OUTPUT = ["identity", "relu", "elu", "sigmoid", "tanh"]
PARAMS = {"leaky_relu": dict(negative_slope=0.07), "elu": dict(alpha=1.3),
          "softplus": dict(beta=1.5, threshold=15.0)}


def split(name):
    """(activation name, keyword arguments) of a test name."""
    if name == "gelu_tanh":
        return "gelu", dict(approximate="tanh")
    return name, dict(PARAMS.get(name, {}))


def sample(rng, shape, dtype, scale=4.0):
    x = rng.standard_normal(shape) * scale
    return x.astype(dtype)


def ref64(x, name, **kw):
    """The reference computed in float64, rounded to x's dtype."""
    return R.ref_activation(x.astype(np.float64), name, **kw).astype(x.dtype)


def refgrad64(g, x, name, **kw):
    out = R.ref_activation_backward(g.astype(np.float64), x.astype(np.float64), name, **kw)
    if isinstance(out, tuple):
        return tuple(o.astype(x.dtype) for o in out)
    return out.astype(x.dtype)


# ---------------------------------------------------------------- vector math


def ulp_error(actual, exact, dtype):
    """|actual − exact| in units of the last place of exact in dtype."""
    exact = np.asarray(exact, dtype=np.float64)
    with np.errstate(over="ignore"):
        rounded = np.abs(exact).astype(dtype)
    spacing = np.spacing(rounded).astype(np.float64)
    spacing = np.maximum(spacing, np.finfo(dtype).smallest_subnormal)
    return np.abs(actual.astype(np.float64) - exact) / spacing


SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e-300, 5e-324, 1e-45]


def math_inputs(rng, fn, dtype):
    f32 = dtype == np.float32
    big = 89.5 if f32 else 710.5
    low = -104.5 if f32 else -746.0
    parts = [rng.uniform(-1, 1, 20000), rng.uniform(-10, 10, 20000),
             np.geomspace(1e-30, 1e-3, 2000), -np.geomspace(1e-30, 1e-3, 2000)]
    if fn == "exp":
        parts += [rng.uniform(low, big, 20000), np.linspace(low - 10, low + 20, 2001)]
    elif fn == "expm1":
        parts += [rng.uniform(-60, 85 if f32 else 700, 20000)]
    elif fn == "tanh":
        parts += [rng.uniform(-25, 25, 20000)]
    elif fn in ("erf", "erfc"):
        parts += [rng.uniform(-6, 6, 20000), rng.uniform(0.4, 1.1, 20000),
                  rng.uniform(0, 10 if f32 else 26, 20000)]
    elif fn == "sigmoid":
        parts += [rng.uniform(-120, 120, 20000)]
    x = np.concatenate(parts + [np.array(SPECIAL)]).astype(dtype)
    return x


# (function, reference, float32 bound, float64 bound) in ulp
MATH = [
    ("exp", K.MATH_EXP, np.exp, 1.0, 2.0),
    ("expm1", K.MATH_EXPM1, np.expm1, 2.5, 3.0),
    ("tanh", K.MATH_TANH, np.tanh, 3.0, 4.0),
    ("erf", K.MATH_ERF, special.erf, 3.5, 4.0),
    ("erfc", K.MATH_ERFC, special.erfc, 11.0, 9.0),
    ("sigmoid", K.MATH_SIGMOID, special.expit, 3.0, 4.0),
]


@pytest.mark.parametrize("name,fn,ref,bound32,bound64", MATH, ids=[m[0] for m in MATH])
def test_math_accuracy(name, fn, ref, bound32, bound64, dtype, simd_level, rng):
    x = math_inputs(rng, name, dtype)
    y = np.empty_like(x)
    K.math(fn, x, y, 2, 0)
    with np.errstate(all="ignore"):
        exact = ref(x.astype(np.float64))
    if name == "erfc":
        # SciPy's erfc rounds x² inside exp(−x²): hundreds of ulp off for large x
        mp = pytest.importorskip("mpmath")
        big = np.isfinite(x) & (x > 0.5)
        exact[big] = [float(mp.erfc(mp.mpf(float(v)))) for v in x[big]]
    # non-finite results and NaN propagation exactly as the reference
    with np.errstate(over="ignore"):
        exact_t = exact.astype(dtype)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(exact_t))
    inf = np.isinf(exact_t)
    np.testing.assert_array_equal(y[inf], exact_t[inf])
    # SciPy's erfc flushes to 0 from 26.55 on; the true value is subnormal there
    finite = np.isfinite(exact_t) & ~((name == "erfc") & (exact == 0))
    err = ulp_error(y[finite], exact[finite], dtype)
    bound = bound32 if dtype == np.float32 else bound64
    worst = int(np.argmax(err))
    assert err[worst] <= bound, (
        f"{name} {dtype.name}: {err[worst]:.2f} ulp at x={x[finite][worst]!r}")
    # signs of zeros kept where the function is odd
    if name in ("tanh", "erf", "expm1"):
        zeros = (x == 0)
        np.testing.assert_array_equal(np.signbit(y[zeros]), np.signbit(x[zeros]))


def test_gelu_accuracy(dtype, simd_level, rng):
    """GELU = x·Φ(x) within a few ulp, the lower tail included (Φ from one erfc,
    never 1 + erf); float32 flushes below x = −13 where |GELU| < 1e-37."""
    f32 = dtype == np.float32
    lim = 13.0 if f32 else 38.0
    x = np.concatenate([rng.uniform(-lim, lim, 20000), rng.uniform(-6, 6, 20000),
                        np.geomspace(1e-30, 1, 500), -np.geomspace(1e-30, 1, 500),
                        [0.0, -0.0, lim, -lim]]).astype(dtype)
    y = F.gelu(x)
    d = F.gelu_backward(np.ones_like(x), input=x)
    if f32:
        xd = x.astype(np.float64)
        exact = xd * special.ndtr(xd)
        exact_d = special.ndtr(xd) + xd * np.exp(-0.5 * xd * xd) / np.sqrt(2 * np.pi)
    else:
        mp = pytest.importorskip("mpmath")
        x, y, d = x[::20], y[::20], d[::20]
        exact = np.array([float(mp.mpf(float(v)) * mp.ncdf(mp.mpf(float(v)))) for v in x])
        exact_d = np.array([float(mp.ncdf(mp.mpf(float(v))) + mp.mpf(float(v)) * mp.npdf(mp.mpf(float(v))))
                            for v in x])
    keep = np.abs(exact) >= np.finfo(dtype).tiny
    err = ulp_error(y[keep], exact[keep], dtype)
    worst = int(np.argmax(err))
    assert err[worst] <= (12.0 if f32 else 8.0), f"{err[worst]:.2f} ulp at x={x[keep][worst]!r}"
    # the derivative crosses zero near x = −0.75: there, relative to its scale
    scale = np.maximum(np.abs(exact_d), 0.1)
    np.testing.assert_array_less(np.abs(d - exact_d) / scale, (60 if f32 else 60) * np.finfo(dtype).eps)
    if f32:
        far = np.array([-13.01, -14.0, -20.0, -1e30, 13.5, 1e30], dtype)
        yf = F.gelu(far)
        assert np.all(np.abs(yf[:4]) <= 1e-37) and np.all(yf[:4] <= 0)
        np.testing.assert_array_equal(yf[4:], far[4:])
        np.testing.assert_array_equal(F.gelu_backward(np.ones_like(far), input=far),
                                      [0, 0, 0, 0, 1, 1])


def test_log1p_accuracy(dtype, rng):
    x = np.concatenate([rng.uniform(0, 1, 50000), np.geomspace(1e-30, 1, 1000), [0.0, 1.0]])
    x = x.astype(dtype)
    y = np.empty_like(x)
    K.math(K.MATH_LOG1P, x, y, 1, 0)
    err = ulp_error(y, np.log1p(x.astype(np.float64)), dtype)
    assert err.max() <= 4.0


# SIMD levels with fused multiply-add: the dense family's vector code is
# compiled with a·b + c contracted to one FMA there, so these levels agree
# bit for bit, and the baseline level (separate multiply and add, two
# roundings) agrees with them to a few ulp.
FMA_LEVELS = ("avx2", "avx512")


def assert_levels_agree(results, dtype):
    """``results`` maps a SIMD level to a list of arrays computed at it."""
    fma = [lv for lv in results if lv in FMA_LEVELS]
    for level in fma[1:]:
        for a, b in zip(results[fma[0]], results[level]):
            np.testing.assert_array_equal(a, b, err_msg=f"{fma[0]} vs {level}")
    if "baseline" in results and fma:
        eps = np.finfo(dtype).eps
        for a, b in zip(results["baseline"], results[fma[0]]):
            np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
            finite = np.isfinite(b)
            np.testing.assert_array_equal(a[~finite], b[~finite])
            scale = np.abs(b[finite]).max(initial=0.0)
            np.testing.assert_allclose(a[finite], b[finite], rtol=16 * eps,
                                       atol=16 * eps * scale, err_msg="baseline vs FMA level")


def test_math_levels_agree(dtype, rng):
    """The FMA levels give the same bits; the baseline level agrees to a few ulp."""
    levels = fastnn.available_simd_levels()
    previous = fastnn.get_simd_level()
    results = {}
    try:
        for level in levels:
            fastnn.set_simd_level(level)
            x = math_inputs(np.random.default_rng(3), "erf", dtype)
            results[level] = [F.exp(x), F.expm1(x), F.erf(x), F.erfc(x), F.tanh(x),
                              F.gelu(x), F.silu(x), F.softplus(x)]
    finally:
        fastnn.set_simd_level(previous)
    assert_levels_agree(results, dtype)


def test_fma_levels_differ_from_baseline_only_in_rounding(dtype):
    """The contraction is in effect: somewhere the FMA and baseline results differ
    (else the FMA levels would be paying for nothing), but only in rounding."""
    levels = fastnn.available_simd_levels()
    fma = [lv for lv in levels if lv in FMA_LEVELS]
    if not fma or "baseline" not in levels:
        pytest.skip("needs the baseline level and an FMA level")
    x = math_inputs(np.random.default_rng(4), "erf", dtype)
    previous = fastnn.get_simd_level()
    try:
        fastnn.set_simd_level("baseline")
        base = F.gelu(x)
        fastnn.set_simd_level(fma[0])
        fused = F.gelu(x)
    finally:
        fastnn.set_simd_level(previous)
    assert not np.array_equal(base, fused)
    assert_levels_agree({"baseline": [base], fma[0]: [fused]}, dtype)


def test_math_public_functions(dtype, rng):
    x = sample(rng, (5, 7), dtype)
    assert_close(F.exp(x), np.exp(x.astype(np.float64)).astype(dtype), dtype)
    assert_close(F.expm1(x), np.expm1(x.astype(np.float64)).astype(dtype), dtype)
    assert_close(F.erf(x), special.erf(x.astype(np.float64)).astype(dtype), dtype)
    assert_close(F.erfc(x), special.erfc(x.astype(np.float64)).astype(dtype), dtype)
    out = np.empty_like(x)
    assert F.exp(x, out=out) is out


# ---------------------------------------------------------------- activations


@pytest.mark.parametrize("name", MAIN)
@pytest.mark.parametrize("n", SIZES)
def test_activation_forward(name, n, dtype, simd_level, rng):
    act, kw = split(name)
    x = sample(rng, (n,), dtype)
    y = F.activation(x, act, **kw)
    assert y.dtype == dtype and y.shape == x.shape
    assert_close(y, ref64(x, act, **kw), dtype)


@pytest.mark.parametrize("name", NAMES)
def test_activation_all_shapes(name, dtype, rng):
    act, kw = split(name)
    for shape in [(0,), (1,), (3, 5), (2, 3, 17), (4, 0, 2)]:
        x = sample(rng, shape, dtype)
        assert_close(F.activation(x, act, **kw), ref64(x, act, **kw), dtype)


@pytest.mark.parametrize("name", MAIN)
@pytest.mark.parametrize("n", [0, 1, 17, 1001, 100_003])
def test_activation_backward_from_input(name, n, dtype, simd_level, rng):
    act, kw = split(name)
    x = sample(rng, (n,), dtype)
    g = sample(rng, (n,), dtype, 1.0)
    dx = F.activation_backward(g, act, input=x, **kw)
    assert_close(dx, refgrad64(g, x, act, **kw), dtype)


@pytest.mark.parametrize("name", FROM_OUTPUT)
def test_activation_backward_from_output(name, dtype, rng):
    act, kw = split(name)
    x = sample(rng, (3001,), dtype)
    g = sample(rng, (3001,), dtype, 1.0)
    y = F.activation(x, act, **kw)
    dx = F.activation_backward(g, act, output=y, **kw)
    # from the output: the derivative's formula in y (1 − y², y(1 − y), y + α)
    # rounds differently, so float32 gets a wider atol
    tol = dict(atol=2e-6) if dtype == np.float32 else {}
    assert_close(dx, refgrad64(g, x, act, **kw), dtype, **tol)


def test_backward_needs_input(dtype, rng):
    x = sample(rng, (10,), dtype)
    y = F.gelu(x)
    with pytest.raises(ValueError, match="input="):
        F.activation_backward(x, "gelu", output=y)
    with pytest.raises(TypeError, match="input= or output="):
        F.activation_backward(x, "relu")


@pytest.mark.parametrize("name", NAMES)
def test_activation_finite_differences(name, rng):
    """act' against central differences of the kernel's own forward (float64)."""
    act, kw = split(name)
    x = rng.uniform(-6, 6, 4000)
    x = x[np.abs(x) > 1e-3]  # away from the kinks of relu, leaky_relu, elu
    h = 1e-6
    fd = (F.activation(x + h, act, **kw) - F.activation(x - h, act, **kw)) / (2 * h)
    d = F.activation_backward(np.ones_like(x), act, input=x, **kw)
    np.testing.assert_allclose(d, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_activation_inplace(name, dtype, rng):
    act, kw = split(name)
    x = sample(rng, (257,), dtype)
    expected = F.activation(x, act, **kw)
    z = x.copy()
    assert F.activation_(z, act, **kw) is z
    np.testing.assert_array_equal(z, expected)
    g = sample(rng, (257,), dtype, 1.0)
    expected_dx = F.activation_backward(g, act, input=x, **kw)
    g2 = g.copy()
    assert F.activation_backward(g2, act, input=x, out=g2, **kw) is g2
    np.testing.assert_array_equal(g2, expected_dx)


def test_named_functions(dtype, rng):
    x = sample(rng, (4, 9), dtype)
    g = sample(rng, (4, 9), dtype, 1.0)
    for fn, fn_, bwd, name, kw in [
        (F.relu, F.relu_, F.relu_backward, "relu", {}),
        (F.leaky_relu, F.leaky_relu_, F.leaky_relu_backward, "leaky_relu",
         dict(negative_slope=0.2)),
        (F.elu, F.elu_, F.elu_backward, "elu", dict(alpha=0.5)),
        (F.gelu, F.gelu_, F.gelu_backward, "gelu", dict(approximate="tanh")),
        (F.silu, F.silu_, F.silu_backward, "silu", {}),
        (F.sigmoid, F.sigmoid_, F.sigmoid_backward, "sigmoid", {}),
        (F.tanh, F.tanh_, F.tanh_backward, "tanh", {}),
        (F.softplus, F.softplus_, F.softplus_backward, "softplus", dict(beta=2.0)),
    ]:
        y = fn(x, **kw)
        np.testing.assert_array_equal(y, F.activation(x, name, **kw))
        z = x.copy()
        fn_(z, **kw)
        np.testing.assert_array_equal(z, y)
        np.testing.assert_array_equal(bwd(g, input=x, **kw),
                                      F.activation_backward(g, name, input=x, **kw))
    np.testing.assert_array_equal(F.identity(x), x)
    np.testing.assert_array_equal(F.activation(x, "swish"), F.silu(x))


def test_defaults_follow_torch(rng):
    x = np.array([-2.0, -0.5, 0.0, 0.5, 30.0])
    np.testing.assert_allclose(F.leaky_relu(x), np.where(x > 0, x, 0.01 * x))
    np.testing.assert_allclose(F.elu(x), np.where(x > 0, x, np.expm1(x)))
    np.testing.assert_allclose(F.softplus(x)[-1], 30.0)  # threshold 20: identity
    np.testing.assert_allclose(F.softplus(x)[:4], np.log1p(np.exp(x[:4])))
    np.testing.assert_allclose(F.gelu(x), x * special.ndtr(x))


def test_non_finite_inputs(dtype):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-38, -1e-38], dtype=dtype)
    for name in NAMES:
        act, kw = split(name)
        with np.errstate(invalid="ignore"):
            expected = ref64(x, act, **kw)
        np.testing.assert_array_equal(np.isnan(F.activation(x, act, **kw)), np.isnan(expected),
                                      err_msg=name)
        finite_out = ~np.isnan(expected)
        assert_close(F.activation(x, act, **kw)[finite_out], expected[finite_out], dtype)


# ---------------------------------------------------------------- PReLU


@pytest.mark.parametrize("shape,n_weights", [((7,), 1), ((5, 6), 1), ((5, 6), 6),
                                              ((3, 4, 17), 4), ((3, 4, 17), 1),
                                              ((2, 3, 4, 5), 3), ((0, 3), 3)])
def test_prelu(shape, n_weights, dtype, rng):
    x = sample(rng, shape, dtype)
    w = rng.uniform(-0.5, 0.5, n_weights).astype(dtype)
    g = sample(rng, shape, dtype, 1.0)
    assert_close(F.prelu(x, w), ref64(x, "prelu", weight=w), dtype)
    dx, dw = F.prelu_backward(g, w, input=x)
    rdx, rdw = refgrad64(g, x, "prelu", weight=w)
    assert_close(dx, rdx, dtype)
    assert_close(dw, rdw, dtype, atol=1e-5 if dtype == np.float32 else 1e-12)
    assert dw.shape == w.shape


def test_prelu_weight_finite_differences(rng):
    x = rng.standard_normal((6, 3, 5))
    w = np.array([0.1, -0.2, 0.3])
    g = rng.standard_normal(x.shape)
    _, dw = F.prelu_backward(g, w, input=x)
    h = 1e-6
    for c in range(3):
        wp, wm = w.copy(), w.copy()
        wp[c] += h
        wm[c] -= h
        fd = (np.sum(g * F.prelu(x, wp)) - np.sum(g * F.prelu(x, wm))) / (2 * h)
        np.testing.assert_allclose(dw[c], fd, rtol=1e-6, atol=1e-9)


def test_prelu_threads_bitwise(dtype, rng):
    x = sample(rng, (64, 8, 300), dtype)
    w = rng.uniform(0, 0.5, 8).astype(dtype)
    g = sample(rng, x.shape, dtype, 1.0)
    a = F.prelu_backward(g, w, input=x, n_threads=1)
    b = F.prelu_backward(g, w, input=x, n_threads=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    w1 = w[:1].copy()
    a = F.prelu_backward(g, w1, input=x, n_threads=1)
    b = F.prelu_backward(g, w1, input=x, n_threads=2)
    np.testing.assert_array_equal(a[1], b[1])


# ---------------------------------------------------------------- threads


@pytest.mark.parametrize("name", MAIN)
def test_activation_threads_bitwise(name, dtype, rng):
    act, kw = split(name)
    x = sample(rng, (200_003,), dtype)
    g = sample(rng, (200_003,), dtype, 1.0)
    np.testing.assert_array_equal(F.activation(x, act, n_threads=1, **kw),
                                  F.activation(x, act, n_threads=2, **kw))
    np.testing.assert_array_equal(F.activation_backward(g, act, input=x, n_threads=1, **kw),
                                  F.activation_backward(g, act, input=x, n_threads=3, **kw))


@pytest.mark.parametrize("name", ["tanh", "gelu", "relu", "sigmoid"])
def test_streamed_outputs(name, dtype, rng):
    """Outputs of 16 MiB and more are streamed (computed in L1 chunks, copied with
    non-temporal stores): same bits as small calls, any thread count, any
    alignment of out, in place; the SIMD levels agree (assert_levels_agree)."""
    n = (16 << 20) // np.dtype(dtype).itemsize + 4099
    x = sample(rng, (n,), dtype)
    g = sample(rng, (n,), dtype, 1.0)
    y1 = F.activation(x, name, n_threads=1)
    np.testing.assert_array_equal(y1, F.activation(x, name, n_threads=2))
    for part in (slice(0, 4099), slice(n - 3000, n)):
        np.testing.assert_array_equal(y1[part], F.activation(x[part], name))
    for off in (1, 3):
        out = np.empty(n + off, dtype)[off:]
        np.testing.assert_array_equal(F.activation(x, name, out=out), y1)
    z = x.copy()
    F.activation_(z, name, n_threads=2)
    np.testing.assert_array_equal(z, y1)
    d1 = F.activation_backward(g, name, input=x, n_threads=1)
    np.testing.assert_array_equal(d1, F.activation_backward(g, name, input=x, n_threads=2))
    np.testing.assert_array_equal(d1[:4099], F.activation_backward(g[:4099], name, input=x[:4099]))
    g2 = g.copy()
    F.activation_backward(g2, name, input=x, out=g2)
    np.testing.assert_array_equal(g2, d1)
    previous = fastnn.get_simd_level()
    results = {}
    try:
        for level in fastnn.available_simd_levels():
            fastnn.set_simd_level(level)
            results[level] = [F.activation(x, name)]
    finally:
        fastnn.set_simd_level(previous)
    results[previous] = results[previous] + [y1]
    assert_levels_agree({lv: r[:1] for lv, r in results.items()}, dtype)
    np.testing.assert_array_equal(results[previous][0], y1)


# ---------------------------------------------------------------- dense layer


def layer(rng, n, k, m, dtype, bias=True):
    x = sample(rng, (n, k), dtype, 1.0)
    w = (rng.standard_normal((m, k)) / np.sqrt(max(k, 1))).astype(dtype)
    b = sample(rng, (m,), dtype, 0.5) if bias else None
    return x, w, b


def dense_tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def prelu_kw(name, m, rng, dtype):
    act, kw = split(name)
    if act == "prelu":
        kw["prelu_weight"] = rng.uniform(0, 0.4, m).astype(dtype)
    return act, kw


def ref_kw(kw):
    out = {k: v for k, v in kw.items() if k != "prelu_weight"}
    if "prelu_weight" in kw:
        out["prelu_weight"] = kw["prelu_weight"].astype(np.float64)
    return out


SHAPES = [(1, 1, 1), (0, 5, 3), (17, 15, 16), (33, 7, 9), (257, 64, 48), (1, 13, 1), (4, 0, 3)]


ENGINES = {"blas": K.ENGINE_BLAS, "own": K.ENGINE_OWN}


@pytest.fixture
def engine_set():
    """set(name): the dense layer's product engine for the test, restored after."""
    previous = K.get_engine()
    yield lambda name: K.set_engine(ENGINES[name])
    K.set_engine(previous)


@pytest.fixture(params=["tiles", "own", "matmul"])
def product_path(request, monkeypatch, engine_set):
    """Every way the dense layer runs its products: tiles of single-threaded
    BLAS calls in fastnn's threads, tiles of fastnn's own product, or one
    numpy.matmul (without scipy)."""
    if request.param != "matmul" and not fastnn._blas.available():
        pytest.skip("scipy is not installed: no tiled products")
    monkeypatch.setattr(F_dense, "USE_TILES", request.param != "matmul")
    engine_set("own" if request.param == "own" else "blas")
    return request.param


@pytest.mark.parametrize("name", NAMES + ["prelu"])
@pytest.mark.parametrize("bias", [True, False])
def test_dense_forward(name, bias, dtype, rng, product_path):
    for n, k, m in SHAPES:
        x, w, b = layer(rng, n, k, m, dtype, bias)
        act, kw = prelu_kw(name, m, rng, dtype)
        y, saved = F.dense_forward(x, w, b, act, **kw)
        ry, rz = R.ref_dense_forward(x.astype(np.float64), w.astype(np.float64),
                                     None if b is None else b.astype(np.float64), act,
                                     **ref_kw(kw))
        assert y.shape == (n, m) and y.dtype == dtype
        np.testing.assert_allclose(y, ry, **dense_tol(dtype))
        if F.dense_saves_output(act, alpha=kw.get("alpha", 1.0)):
            assert saved is y
        else:
            np.testing.assert_allclose(saved, rz, **dense_tol(dtype))
        np.testing.assert_array_equal(F.dense(x, w, b, act, **kw), y)


@pytest.mark.parametrize("name", NAMES + ["prelu"])
@pytest.mark.parametrize("bias", [True, False])
def test_dense_backward(name, bias, dtype, rng, product_path):
    for n, k, m in SHAPES:
        x, w, b = layer(rng, n, k, m, dtype, bias)
        act, kw = prelu_kw(name, m, rng, dtype)
        y, saved = F.dense_forward(x, w, b, act, **kw)
        g = sample(rng, (n, m), dtype, 1.0)
        grads = F.dense_backward(g, x, w, saved, act, has_bias=bias, **kw)
        _, rz = R.ref_dense_forward(x.astype(np.float64), w.astype(np.float64),
                                    None if b is None else b.astype(np.float64), act,
                                    **ref_kw(kw))
        rdx, rdw, rdb, rds = R.ref_dense_backward(g.astype(np.float64), x.astype(np.float64),
                                                  w.astype(np.float64), rz, act, bias,
                                                  **ref_kw(kw))
        tol = dense_tol(dtype)
        np.testing.assert_allclose(grads.grad_input, rdx, **tol)
        np.testing.assert_allclose(grads.grad_weight, rdw, **tol)
        if bias:
            np.testing.assert_allclose(grads.grad_bias, rdb, **tol)
        else:
            assert grads.grad_bias is None
        if act == "prelu":
            np.testing.assert_allclose(grads.grad_prelu_weight, rds, **tol)
        else:
            assert grads.grad_prelu_weight is None


@pytest.mark.parametrize("name", NAMES + ["prelu"])
def test_dense_finite_differences(name, rng, product_path):
    """Loss L = Σ g ⊙ y; every gradient against central differences (float64)."""
    n, k, m = 5, 4, 3
    x, w, b = layer(rng, n, k, m, np.float64)
    act, kw = prelu_kw(name, m, rng, np.float64)
    g = rng.standard_normal((n, m))
    y, saved = F.dense_forward(x, w, b, act, **kw)
    grads = F.dense_backward(g, x, w, saved, act, **kw)
    h = 1e-6

    def loss(x_, w_, b_, pw_=None):
        extra = dict(kw)
        if pw_ is not None:
            extra["prelu_weight"] = pw_
        return np.sum(g * F.dense(x_, w_, b_, act, **extra))

    for arr, grad in [(x, grads.grad_input), (w, grads.grad_weight), (b, grads.grad_bias)]:
        fd = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + h
            lp = loss(x, w, b)
            arr[idx] = old - h
            lm = loss(x, w, b)
            arr[idx] = old
            fd[idx] = (lp - lm) / (2 * h)
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)
    if act == "prelu":
        pw = kw["prelu_weight"]
        fd = np.zeros_like(pw)
        for c in range(m):
            p, q = pw.copy(), pw.copy()
            p[c] += h
            q[c] -= h
            fd[c] = (loss(x, w, b, p) - loss(x, w, b, q)) / (2 * h)
        np.testing.assert_allclose(grads.grad_prelu_weight, fd, rtol=1e-5, atol=1e-7)


def test_dense_nd_and_1d_inputs(dtype, rng):
    x = sample(rng, (2, 3, 6), dtype, 1.0)
    w = sample(rng, (4, 6), dtype, 0.5)
    b = sample(rng, (4,), dtype, 0.5)
    y = F.dense(x, w, b, "gelu")
    assert y.shape == (2, 3, 4)
    np.testing.assert_array_equal(y.reshape(6, 4), F.dense(x.reshape(6, 6), w, b, "gelu"))
    y1 = F.dense(x[0, 0], w, b, "gelu")
    assert y1.shape == (4,)
    np.testing.assert_allclose(y1, y[0, 0], **dense_tol(dtype))
    yy, saved = F.dense_forward(x, w, b, "silu")
    g = sample(rng, yy.shape, dtype, 1.0)
    grads = F.dense_backward(g, x, w, saved, "silu")
    assert grads.grad_input.shape == x.shape
    flat = F.dense_backward(g.reshape(6, 4), x.reshape(6, 6), w, saved.reshape(6, 4), "silu")
    np.testing.assert_array_equal(grads.grad_input.reshape(6, 6), flat.grad_input)
    np.testing.assert_array_equal(grads.grad_weight, flat.grad_weight)


def test_dense_zero_batch(dtype, rng, product_path):
    x, w, b = layer(rng, 0, 5, 3, dtype)
    y, saved = F.dense_forward(x, w, b, "gelu")
    assert y.shape == (0, 3)
    grads = F.dense_backward(np.zeros((0, 3), dtype), x, w, saved, "gelu")
    np.testing.assert_array_equal(grads.grad_weight, np.zeros_like(w))
    np.testing.assert_array_equal(grads.grad_bias, np.zeros(3, dtype))
    assert grads.grad_input.shape == (0, 5)


def test_dense_outputs_and_workspaces(dtype, rng):
    x, w, b = layer(rng, 40, 8, 6, dtype)
    out = np.empty((40, 6), dtype)
    pre = np.empty((40, 6), dtype)
    y, saved = F.dense_forward(x, w, b, "gelu", out=out, preact_out=pre)
    assert y is out and saved is pre
    g = sample(rng, (40, 6), dtype, 1.0)
    expected = F.dense_backward(g, x, w, saved, "gelu")
    gi, gw, gb = np.empty_like(x), np.empty_like(w), np.empty_like(b)
    g2 = g.copy()
    got = F.dense_backward(g2, x, w, saved, "gelu", grad_input=gi, grad_weight=gw, grad_bias=gb,
                           grad_preact=g2)
    assert got.grad_input is gi and got.grad_weight is gw and got.grad_bias is gb
    for a, e in zip(got[:3], expected[:3]):
        np.testing.assert_array_equal(a, e)
    none = F.dense_backward(g, x, w, saved, "gelu", needs_input_grad=False)
    assert none.grad_input is None


@pytest.mark.parametrize("name", ["relu", "gelu", "prelu"])
def test_dense_threads_bitwise(name, dtype, rng):
    x, w, b = layer(rng, 1500, 32, 48, dtype)
    act, kw = prelu_kw(name, 48, rng, dtype)
    g = sample(rng, (1500, 48), dtype, 1.0)
    res = []
    for t in (1, 2):
        y, saved = F.dense_forward(x, w, b, act, n_threads=t, **kw)
        grads = F.dense_backward(g, x, w, saved, act, n_threads=t, **kw)
        res.append([y, grads.grad_input, grads.grad_weight, grads.grad_bias,
                    grads.grad_prelu_weight])
    for a, c in zip(*res):
        if a is not None:
            np.testing.assert_array_equal(a, c)


# Products of several tiles (more than 2**23 multiply-adds), dW computed in
# chunks of the batch (long batch, small layer), odd sizes.
TILED_SHAPES = [(2048, 64, 96), (600, 300, 260), (4096, 64, 64), (3001, 130, 70),
                (129, 1031, 257)]


@pytest.mark.parametrize("engine", ["blas", "own"])
@pytest.mark.parametrize("n,k,m", TILED_SHAPES)
@pytest.mark.parametrize("name", ["relu", "gelu", "prelu"])
def test_dense_tiles(n, k, m, name, engine, dtype, rng, engine_set):
    """Tiled products against the float64 reference and against the
    numpy.matmul path; bitwise identical for 1, 2, 3 and 5 threads."""
    if not fastnn._blas.available():
        pytest.skip("scipy is not installed: no tiled products")
    engine_set(engine)
    x, w, b = layer(rng, n, k, m, dtype)
    act, kw = prelu_kw(name, m, rng, dtype)
    g = sample(rng, (n, m), dtype, 1.0)
    runs = []
    for t in (1, 2, 3, 5):
        y, saved = F.dense_forward(x, w, b, act, n_threads=t, **kw)
        grads = F.dense_backward(g, x, w, saved, act, n_threads=t, **kw)
        runs.append([y, saved, *grads])
    for run in runs[1:]:
        for a, c in zip(runs[0], run):
            if a is not None:
                np.testing.assert_array_equal(a, c)
    y, saved, dx, dw, db, ds = runs[0]
    x64, w64, b64 = (a.astype(np.float64) for a in (x, w, b))
    ry, rz = R.ref_dense_forward(x64, w64, b64, act, **ref_kw(kw))
    tol = dense_tol(dtype)
    np.testing.assert_allclose(y, ry, **tol)
    rdx, rdw, rdb, rds = R.ref_dense_backward(g.astype(np.float64), x64, w64, rz, act, True,
                                              **ref_kw(kw))
    scale = dict(tol, atol=tol["atol"] * max(1.0, float(np.abs(rdw).max())))
    np.testing.assert_allclose(dx, rdx, **tol)
    np.testing.assert_allclose(dw, rdw, **scale)
    np.testing.assert_allclose(db, rdb, **scale)
    if act == "prelu":
        np.testing.assert_allclose(ds, rds, **scale)
    try:
        F_dense.USE_TILES = False
        y2, _ = F.dense_forward(x, w, b, act, **kw)
    finally:
        F_dense.USE_TILES = True
    np.testing.assert_allclose(y, y2, **tol)


# fastnn's own product (csrc/dense/gemm_t.h) at the edges of its
# blocking: MR = 6 rows, NR = 8 to 32 columns (two vectors), KC = 256,
# MC = 144 (float32) / 72 (float64), NC = 1024 / 512.
OWN_SIZES = [0, 1, 5, 6, 7, 15, 16, 17, 33, 71, 73, 143, 145, 255, 256, 257, 513, 1025]
OWN_SHAPES = [(n, k, m) for n, k, m in
              [(1, 1, 1), (0, 3, 4), (4, 0, 3), (5, 7, 0), (6, 256, 16), (7, 255, 17),
               (5, 257, 15), (145, 33, 31), (143, 513, 8), (73, 1, 1025), (71, 6, 513),
               (300, 600, 9), (2, 1025, 33)]] + [(s, s, s) for s in OWN_SIZES[4::3]]


def own_tol(dtype, k):
    """Each output is a sum of k products of values of magnitude about 1 and
    1/√k: rounding grows at most with k."""
    eps = np.finfo(dtype).eps
    return dict(rtol=1e-5 if dtype == np.float32 else 1e-12, atol=4 * eps * max(k, 1))


@pytest.mark.parametrize("n,k,m", OWN_SHAPES)
def test_own_product(n, k, m, dtype, simd_level, rng, engine_set):
    """fastnn's own product at every SIMD level against the float64 reference:
    forward (x·Wᵀ, the identity without bias gives the bare product), dx = dz·W
    and dW = dzᵀ·x, at sizes around its block edges."""
    engine_set("own")
    x, w, _ = layer(rng, n, k, m, dtype, bias=False)
    g = sample(rng, (n, m), dtype, 1.0)
    x64, w64, g64 = (a.astype(np.float64) for a in (x, w, g))
    y, saved = F.dense_forward(x, w, None, "identity")
    np.testing.assert_allclose(y, x64 @ w64.T, **own_tol(dtype, k))
    grads = F.dense_backward(g, x, w, saved, "identity", has_bias=False)
    np.testing.assert_allclose(grads.grad_input, g64 @ w64, **own_tol(dtype, m))
    np.testing.assert_allclose(grads.grad_weight, g64.T @ x64, **own_tol(dtype, n))


@pytest.mark.parametrize("n,k,m", [(13, 7, 17), (50, 263, 37), (7, 1031, 100), (64, 8, 16),
                                   (19, 300, 1030)])
def test_own_product_transposed_packing_bitwise(n, k, m, dtype, simd_level, rng, engine_set):
    """The forward packs B = Wᵀ by a transpose in registers (8×8 or 4×4
    blocks, then the last K mod 8 one by one); dx = dz·W packs B rows as they
    are. Both sum the same products in K order, so x·Wᵀ from the forward
    equals, bit for bit, dx with dz = x and the weight Wᵀ, at sizes where K
    and N are not multiples of the blocks."""
    engine_set("own")
    x, w, _ = layer(rng, n, k, m, dtype, bias=False)
    y, _ = F.dense_forward(x, w, None, "identity")
    wt = np.ascontiguousarray(w.T)  # a layer of m inputs and k outputs
    x2 = sample(rng, (n, m), dtype, 1.0)
    _, saved = F.dense_forward(x2, wt, None, "identity")
    grads = F.dense_backward(x, x2, wt, saved, "identity", has_bias=False)
    np.testing.assert_array_equal(grads.grad_input, y)


def test_auto_narrow_forward_runs_the_blas(dtype, rng, engine_set):
    """AUTO gives the forward of a layer with fewer than 16 outputs to the
    BLAS (its own-product panel would be mostly empty): the same bits as the
    BLAS engine, for any thread count."""
    if not fastnn._blas.available():
        pytest.skip("scipy is not installed: no BLAS engine")
    x, w, b = layer(rng, 128, 256, 10, dtype)
    engine_set("blas")
    want = F.dense(x, w, b, "relu")
    K.set_engine(K.ENGINE_AUTO)
    for t in (1, 2):
        np.testing.assert_array_equal(F.dense(x, w, b, "relu", n_threads=t), want)


def test_own_product_rows_do_not_depend_on_the_tiles(dtype, rng, engine_set):
    """The own product sums each output in K order whatever the tile and block
    it falls in: any block of rows or columns of a product is, bit for bit,
    the product of those rows or columns alone (a BLAS promises no such
    thing)."""
    engine_set("own")
    n, k, m = 1100, 300, 140
    x, w, b = layer(rng, n, k, m, dtype)
    y = F.dense(x, w, b, "gelu", n_threads=2)
    for lo, hi in [(0, 1), (5, 11), (143, 290), (1000, 1100)]:
        np.testing.assert_array_equal(F.dense(x[lo:hi], w, b, "gelu", n_threads=1), y[lo:hi])
    np.testing.assert_array_equal(F.dense(x, w[7:50], b[7:50], "gelu"), y[:, 7:50])


@pytest.mark.parametrize("n,k,m", [(2048, 64, 96), (129, 1031, 257), (7, 300, 1030)])
def test_own_product_threads_bitwise(n, k, m, dtype, rng, engine_set):
    engine_set("own")
    x, w, b = layer(rng, n, k, m, dtype)
    g = sample(rng, (n, m), dtype, 1.0)
    res = []
    for t in (1, 2, 3):
        y, saved = F.dense_forward(x, w, b, "silu", n_threads=t)
        res.append([y, *F.dense_backward(g, x, w, saved, "silu", n_threads=t)[:3]])
    for other in res[1:]:
        for a, c in zip(res[0], other):
            np.testing.assert_array_equal(a, c)


def test_engine_setting():
    previous = K.get_engine()
    try:
        for e in (K.ENGINE_BLAS, K.ENGINE_OWN, K.ENGINE_AUTO):
            assert K.set_engine(e) == e and K.get_engine() == e
        assert K.set_engine(7) == -1 and K.get_engine() == K.ENGINE_AUTO
    finally:
        K.set_engine(previous)


def _blas_threads():
    from threadpoolctl import threadpool_info
    return [(i["filepath"], i["num_threads"]) for i in threadpool_info()
            if i.get("user_api") == "blas"]


def test_dense_restores_blas_threads(rng):
    """BLAS runs single-threaded inside the call and gets its setting back."""
    from threadpoolctl import threadpool_limits
    x, w, b = layer(rng, 2048, 64, 96, np.float32)
    before = _blas_threads()
    F.dense_forward(x, w, b, "gelu")
    assert _blas_threads() == before
    with threadpool_limits(limits=1, user_api="blas"):
        F.dense(x, w, b, "relu")
        assert all(t == 1 for _, t in _blas_threads())
    assert _blas_threads() == before


def test_dense_blas_single_threaded_inside():
    """Every OpenBLAS with its own thread pool is found and held to one
    thread inside a dense call."""
    from threadpoolctl import threadpool_info
    fastnn._blas._discover()
    pthreads = [i for i in threadpool_info()
                if i.get("internal_api") == "openblas" and i.get("threading_layer") == "pthreads"]
    if not pthreads:
        pytest.skip("no OpenBLAS with a pthreads pool loaded")
    seen = K.probe_single_threaded()
    assert len(seen) == len(pthreads)
    assert all(t == 1 for t in seen)


def test_blas_found_when_a_limit_comes_before_the_first_dense_call():
    """fit enters its BLAS limit before any dense call has loaded scipy's
    BLAS: the discovery must still find that library, or the tiles' ?gemm
    runs its own threads inside fastnn's (a fresh process, as a user's
    script starts)."""
    code = textwrap.dedent("""
        import numpy as np
        import fastnn
        from fastnn import _blas, functional as F
        from fastnn._ext import dense as K
        with _blas.limit_blas_threads(1):  # the discovery runs here, as in fit
            pass
        x = np.ones((4, 3), np.float32)
        w = np.ones((2, 3), np.float32)
        F.dense_forward(x, w, None, "relu")  # scipy's BLAS is loaded by now
        from threadpoolctl import threadpool_info
        pools = [i for i in threadpool_info() if i.get("internal_api") == "openblas"
                 and i.get("threading_layer") == "pthreads"]
        seen = K.probe_single_threaded()
        print(len(seen), len(pools), all(t == 1 for t in seen))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    n_seen, n_pools, all_single = out.stdout.split()
    if int(n_pools) == 0:
        pytest.skip("no OpenBLAS with a pthreads pool loaded")
    assert (int(n_seen), all_single) == (int(n_pools), "True")


def test_dense_concurrent_calls(rng):
    """Calls from several Python threads at once: right results, and the BLAS
    setting restored once the last one leaves."""
    import threading
    x, w, b = layer(rng, 2048, 64, 96, np.float32)
    g = sample(rng, (2048, 96), np.float32, 1.0)
    y0, saved0 = F.dense_forward(x, w, b, "silu")
    grads0 = F.dense_backward(g, x, w, saved0, "silu")
    before = _blas_threads()
    errors = []

    def work():
        try:
            for _ in range(20):
                y, saved = F.dense_forward(x, w, b, "silu")
                grads = F.dense_backward(g, x, w, saved, "silu")
                np.testing.assert_array_equal(y, y0)
                np.testing.assert_array_equal(grads.grad_weight, grads0.grad_weight)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert _blas_threads() == before


def test_dense_levels_agree(dtype, rng):
    x, w, b = layer(rng, 300, 16, 24, dtype)
    g = sample(rng, (300, 24), dtype, 1.0)
    previous = fastnn.get_simd_level()
    outs = {}
    try:
        for level in fastnn.available_simd_levels():
            fastnn.set_simd_level(level)
            y, saved = F.dense_forward(x, w, b, "gelu")
            grads = F.dense_backward(g, x, w, saved, "gelu")
            outs[level] = [y, grads.grad_bias]
    finally:
        fastnn.set_simd_level(previous)
    assert_levels_agree(outs, dtype)


# ---------------------------------------------------------------- bad input


def unchanged(*arrays):
    copies = [a.copy() for a in arrays]

    def check():
        for a, c in zip(arrays, copies):
            np.testing.assert_array_equal(a, c)
    return check


def test_unknown_activation_lists_valid_names():
    x = np.zeros(3)
    with pytest.raises(ValueError, match="valid names: identity, relu, leaky_relu"):
        F.activation(x, "mish")
    with pytest.raises(ValueError, match="valid names"):
        F.dense(np.zeros((2, 3)), np.zeros((4, 3)), None, "swiglu")
    with pytest.raises(TypeError, match="activation must be a str"):
        F.activation(x, 3)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")


def test_activation_bad_arguments(dtype, rng):
    x = sample(rng, (4, 5), dtype)
    check = unchanged(x)
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        F.relu([1.0, 2.0])
    with pytest.raises(TypeError, match="x has dtype int64"):
        F.relu(np.arange(3))
    with pytest.raises(TypeError, match="out has dtype"):
        F.relu(x, out=np.empty((4, 5), np.float16))
    with pytest.raises(ValueError, match="out has shape"):
        F.relu(x, out=np.empty((5, 4), dtype))
    ro = np.empty((4, 5), dtype)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        F.relu(x, out=ro)
    with pytest.raises(ValueError, match="x must be C-contiguous"):
        F.relu_(np.asfortranarray(np.ones((4, 5), dtype)))
    with pytest.raises(ValueError, match="x and out share memory"):
        F.relu(x, out=x)
    with pytest.raises(ValueError, match="beta"):
        F.softplus(x, beta=0.0)
    with pytest.raises(ValueError, match="alpha"):
        F.elu(x, alpha=float("nan"))
    with pytest.raises(TypeError, match="unexpected keyword"):
        F.relu(x, alpha=1.0)
    with pytest.raises(TypeError, match="grad_output has dtype"):
        F.relu_backward(x.astype(np.float16), input=x)
    with pytest.raises(TypeError, match="input has dtype"):
        F.relu_backward(x, input=x.astype(np.float32 if dtype == np.float64 else np.float64))
    with pytest.raises(ValueError, match="input has shape"):
        F.relu_backward(x, input=x.T)
    with pytest.raises(ValueError, match="weight has shape"):
        F.prelu(x, np.ones(3, dtype))
    with pytest.raises(TypeError, match="weight has dtype"):
        F.prelu(x, np.ones(5, np.float16))
    with pytest.raises(TypeError, match="prelu needs weight"):
        F.activation(x, "prelu")
    check()
    # non-contiguous read-only inputs are fine
    xt = sample(rng, (5, 4), dtype).T
    assert_close(F.gelu(xt), ref64(np.ascontiguousarray(xt), "gelu"), dtype)


def test_dense_bad_arguments(dtype, rng):
    x, w, b = layer(rng, 6, 5, 4, dtype)
    out = np.zeros((6, 4), dtype)
    check = unchanged(x, w, b, out)
    with pytest.raises(ValueError, match=r"x has shape \(6, 5\) and weight has shape \(4, 6\)"):
        F.dense(x, np.zeros((4, 6), dtype), b, out=out)
    with pytest.raises(ValueError, match="weight must be 2-D"):
        F.dense(x, np.zeros(5, dtype), b, out=out)
    with pytest.raises(ValueError, match="bias has shape"):
        F.dense(x, w, np.zeros(5, dtype), out=out)
    with pytest.raises(TypeError, match="weight has dtype"):
        F.dense(x, w.astype(np.float16), b, out=out)
    with pytest.raises(TypeError, match="bias must be a numpy.ndarray"):
        F.dense(x, w, [0.0] * 4, out=out)
    with pytest.raises(ValueError, match="out has shape"):
        F.dense(x, w, b, out=np.zeros((6, 5), dtype))
    with pytest.raises(ValueError, match="x must have at least 1 dimension"):
        F.dense(np.ones((), dtype), w, b)
    with pytest.raises(ValueError, match="preact_out is not used"):
        F.dense_forward(x, w, b, "relu", preact_out=np.zeros((6, 4), dtype))
    with pytest.raises(TypeError, match="prelu_weight"):
        F.dense(x, w, b, "prelu", out=out)
    with pytest.raises(ValueError, match="prelu_weight has shape"):
        F.dense(x, w, b, "prelu", prelu_weight=np.ones(3, dtype), out=out)
    with pytest.raises(ValueError, match="only used with activation='prelu'"):
        F.dense(x, w, b, "relu", prelu_weight=np.ones(4, dtype), out=out)
    a = np.zeros((4, 4), dtype)
    with pytest.raises(ValueError, match="x and out share memory"):
        F.dense(a, np.eye(4, dtype=dtype), None, out=a)
    y, saved = F.dense_forward(x, w, b, "gelu")
    g = np.ones((6, 4), dtype)
    check2 = unchanged(y, saved, g)
    with pytest.raises(ValueError, match="grad_output has shape"):
        F.dense_backward(np.ones((6, 3), dtype), x, w, saved, "gelu")
    with pytest.raises(ValueError, match="saved has shape"):
        F.dense_backward(g, x, w, saved[:3], "gelu")
    with pytest.raises(ValueError, match="grad_weight has shape"):
        F.dense_backward(g, x, w, saved, "gelu", grad_weight=np.zeros((5, 4), dtype))
    with pytest.raises(ValueError, match="grad_bias given but has_bias is False"):
        F.dense_backward(g, x, w, saved, "gelu", has_bias=False, grad_bias=np.zeros(4, dtype))
    # a grad_input that would not be written was silently left as it was
    gi = np.full(x.shape, 7.0, dtype)
    with pytest.raises(ValueError, match="grad_input given but needs_input_grad is False"):
        F.dense_backward(g, x, w, saved, "gelu", needs_input_grad=False, grad_input=gi)
    assert np.all(gi == 7.0)
    with pytest.raises(ValueError, match="shapes do not chain"):
        F.dense_backward(g, x, w.T.copy(), saved, "gelu")
    with pytest.raises(ValueError, match="grad_input and x share memory"):
        F.dense_backward(g, x, w, saved, "gelu", grad_input=x)
    check()
    check2()
