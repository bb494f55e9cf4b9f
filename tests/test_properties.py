"""Property-based tests (hypothesis) over shapes, dtypes, values and
hyperparameters.

* Every public function of the bad-input matrix, fed arrays full of NaN,
  ±inf, denormals, huge and tiny values and arbitrary hyperparameters,
  either returns or raises TypeError/ValueError, and an error leaves every
  array untouched.
* The main kernels equal their NumPy references within the tolerances of
  ``tests/conftest.py`` over random shapes (sizes 0 to ~40 per axis).
* Special values propagate as the references say (NaN in, NaN out, same
  places).
* float32 on adversarial inputs (means of 1e4 over a spread of 1, logits of
  ±1e4, cancellation in sums) stays within the documented bounds below.
* Every backward matches central finite differences in float64.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastnn
from fastnn import functional as F
from fastnn import reference as R
from fastnn.reference import augment as RA

from bad_input_table import SPECS
from conftest import assert_close, tolerances
from test_bad_inputs import _arrays

SETTINGS = dict(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DTYPES = st.sampled_from([np.float32, np.float64])


def special_values(dtype):
    info = np.finfo(dtype)
    return [np.nan, np.inf, -np.inf, 0.0, -0.0, info.tiny / 4, -info.tiny / 8, info.tiny,
            info.max, -info.max, info.max / 3, 1e-30 if dtype == np.float32 else 1e-300,
            1.0, -1.0, 0.5, 88.0, -104.0, 710.0, -746.0]


HYPER_VALUES = [0.0, -0.0, 1e-12, 0.5, 1.0, 0.999999, 2.0, -1.0, 1e30, -1e30, np.nan, np.inf,
                -np.inf, 1e-300, 3]


# ------------------------------------------------------------ no crash, clean errors

@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), dtype=DTYPES)
def test_any_values_and_hyperparameters_return_or_raise_cleanly(spec, data, dtype):
    args = spec.make(dtype)
    pool = special_values(dtype)
    for name, role in spec.roles.items():
        a = args.get(name)
        if role in ("in", "inout") and isinstance(a, np.ndarray) and a.size \
                and a.dtype.kind == "f":  # special float values (not into masks, counters)
            picks = data.draw(st.lists(st.sampled_from(pool), min_size=a.size,
                                       max_size=a.size), label=name)
            a[...] = np.asarray(picks, dtype=a.dtype).reshape(a.shape)
    for name in spec.hyper:
        if data.draw(st.booleans(), label=f"change {name}"):
            v = data.draw(st.sampled_from(HYPER_VALUES), label=name)
            args[name] = int(v) if isinstance(args.get(name), int) and np.isfinite(v) else v
    snap = [(a, a.copy()) for a in _arrays(list(args.values()), []) if a.dtype != object]
    with np.errstate(all="ignore"):
        try:
            spec.call(args)
        except (TypeError, ValueError, FloatingPointError) as e:
            assert str(e), "an error must say what is wrong"
            if isinstance(e, FloatingPointError):
                # documented: clip_grad_norm_(error_if_nonfinite=True) only
                return
            for a, before in snap:
                np.testing.assert_array_equal(a, before)


# ------------------------------------------------------------ equal to the references

def arrays(dtype, shape, lo=-10, hi=10):
    return hnp.arrays(dtype, shape, elements=st.floats(lo, hi, width=32, allow_subnormal=False))


shapes_2d = hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=40)
shapes_any = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=20)
ACTS = ["relu", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "softplus"]


@settings(**SETTINGS)
@given(data=st.data(), dtype=DTYPES, name=st.sampled_from(ACTS), shape=shapes_any)
def test_activations_match_reference(data, dtype, name, shape):
    x = data.draw(arrays(dtype, shape, -30, 30))
    g = data.draw(arrays(dtype, shape))
    y = getattr(F, name)(x)
    assert_close(y, R.ref_activation(x.astype(np.float64), name).astype(dtype), dtype,
                 **(dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else {}))
    dx = getattr(F, name + "_backward")(g, input=x)
    ref = R.ref_activation_backward(g.astype(np.float64), x.astype(np.float64), name)
    assert_close(dx, ref.astype(dtype), dtype,
                 **(dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else {}))


@settings(**SETTINGS)
@given(dtype=DTYPES, name=st.sampled_from(ACTS + ["exp", "expm1", "erf", "erfc"]),
       value=st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-310]))
def test_special_values_follow_the_reference(dtype, name, value):
    x = np.full(33, value, dtype)
    with np.errstate(all="ignore"):
        y = getattr(F, name)(x)
        if name in ("exp", "expm1"):
            ref = getattr(np, name)(x.astype(np.float64))
        elif name in ("erf", "erfc"):
            import scipy.special
            ref = getattr(scipy.special, name)(x.astype(np.float64))
        else:
            ref = R.ref_activation(x.astype(np.float64), name)
    ref = ref.astype(dtype)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(y[~finite & ~np.isnan(ref)], ref[~finite & ~np.isnan(ref)])
    tol = tolerances(dtype)
    np.testing.assert_allclose(y[finite], ref[finite], rtol=tol["rtol"] * 4,
                               atol=np.finfo(dtype).tiny * 4)


@settings(**SETTINGS)
@given(data=st.data(), dtype=DTYPES, shape=shapes_any, step=st.integers(1, 1000),
       lr=st.floats(0, 1), beta1=st.floats(0, 0.999), beta2=st.floats(0, 0.9999),
       wd=st.floats(0, 0.1), amsgrad=st.booleans(), maximize=st.booleans())
def test_adam_matches_reference(data, dtype, shape, step, lr, beta1, beta2, wd, amsgrad, maximize):
    p = data.draw(arrays(dtype, shape))
    g = data.draw(arrays(dtype, shape))
    m = data.draw(arrays(dtype, shape))
    v = np.abs(data.draw(arrays(dtype, shape)))
    mx = v.copy() if amsgrad else None
    kw = dict(step=step, lr=lr, beta1=beta1, beta2=beta2, weight_decay=wd, maximize=maximize)
    got = [a.copy() for a in (p, m, v)] + ([mx.copy()] if amsgrad else [None])
    F.adam_(got[0], g, got[1], got[2], got[3], amsgrad=amsgrad, **kw)
    ref = [a.copy() for a in (p, m, v)] + ([mx.copy()] if amsgrad else [None])
    R.adam(ref[0], g, ref[1], ref[2], ref[3], amsgrad=amsgrad, **kw)
    for a, b in zip(got[:3], ref[:3]):
        assert_close(a, b, dtype, **(dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else {}))


@settings(**SETTINGS)
@given(data=st.data(), dtype=DTYPES, shape=shapes_2d, momentum=st.floats(0, 0.99),
       nesterov=st.booleans(), lr=st.floats(1e-4, 1))
def test_sgd_matches_reference(data, dtype, shape, momentum, nesterov, lr):
    assume(not nesterov or momentum > 0)
    p = data.draw(arrays(dtype, shape))
    g = data.draw(arrays(dtype, shape))
    b = data.draw(arrays(dtype, shape))
    got = [p.copy(), b.copy()]
    F.sgd_(got[0], g, got[1], lr=lr, momentum=momentum, nesterov=nesterov, step=2)
    ref = [p.copy(), b.copy()]
    R.sgd(ref[0], g, ref[1], lr=lr, momentum=momentum, nesterov=nesterov, step=2)
    for a, r in zip(got, ref):
        assert_close(a, r, dtype)


@settings(**SETTINGS)
@given(data=st.data(), dtype=DTYPES, shape=shapes_any, max_norm=st.floats(1e-3, 100),
       norm_type=st.sampled_from([1.0, 2.0, 3.0, np.inf]))
def test_clip_grad_norm_matches_reference(data, dtype, shape, max_norm, norm_type):
    g = data.draw(arrays(dtype, shape))
    got = g.copy()
    n = F.clip_grad_norm_([got], max_norm, norm_type)
    ref = g.copy()
    rn = R.clip_grad_norm([ref], max_norm, norm_type)
    assert_close(n, rn, dtype, **(dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else {}))
    assert_close(got, ref, dtype, **(dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else {}))


@settings(**SETTINGS)
@given(data=st.data(), dtype=DTYPES,
       shape=hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=12),
       offset=st.sampled_from([0.0, 100.0, -1e3]), eps=st.floats(1e-6, 1e-1))
def test_batch_norm_matches_reference(data, dtype, shape, offset, eps):
    x = data.draw(arrays(dtype, shape)) + dtype(offset)
    assume(np.prod(shape) // shape[1] > 1)
    got = F.batch_norm(x, training=True, eps=eps)
    ref = R.batch_norm(x, training=True, eps=eps)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    assert_close(got.out, ref[0], dtype, **tol)
    dy = data.draw(arrays(dtype, shape))
    d = F.batch_norm_backward(dy, x, got.mean, got.rstd)
    rd = R.batch_norm_backward(dy, x, got.mean, got.rstd)
    assert_close(d[0], rd[0], dtype, **tol)


@settings(**SETTINGS)
@given(data=st.data(), dtype=DTYPES, rows=st.integers(0, 30), cols=st.integers(1, 40),
       offset=st.sampled_from([0.0, 1e3]))
def test_layer_norm_matches_reference(data, dtype, rows, cols, offset):
    x = data.draw(arrays(dtype, (max(rows, 1), cols))) + dtype(offset)
    w = data.draw(arrays(dtype, (cols,)))
    b = data.draw(arrays(dtype, (cols,)))
    got = F.layer_norm(x, (cols,), w, b)
    ref = R.layer_norm(x, (cols,), w, b)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    assert_close(got.out, ref[0], dtype, **tol)


@settings(**SETTINGS)
@given(data=st.data(), dtype=DTYPES, shape=shapes_2d, smoothing=st.floats(0, 0.9),
       scale=st.sampled_from([1.0, 100.0, 1e4]), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_softmax_cross_entropy_matches_reference(data, dtype, shape, smoothing, scale, reduction):
    assume(shape[1] >= 1 and shape[0] >= 1)
    z = data.draw(arrays(dtype, shape, -1, 1)) * dtype(scale)
    y = data.draw(hnp.arrays(np.int64, (shape[0],), elements=st.integers(0, shape[1] - 1)))
    loss, grad = F.softmax_cross_entropy(z, y, label_smoothing=smoothing, reduction=reduction)
    rl, rg = R.softmax_cross_entropy(z, y, label_smoothing=smoothing, reduction=reduction)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    tol = dict(rtol=1e-4, atol=1e-4 * scale) if dtype == np.float32 else {}
    assert_close(loss, rl, dtype, **tol)
    assert_close(grad, rg, dtype, **(dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else {}))


@settings(**SETTINGS)
@given(data=st.data(), dtype=DTYPES, shape=shapes_any, reduction=st.sampled_from(["mean", "sum"]))
def test_mse_and_bce_match_reference(data, dtype, shape, reduction):
    x = data.draw(arrays(dtype, shape))
    t = data.draw(arrays(dtype, shape, 0, 1))
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else {}
    with np.errstate(all="ignore"):
        for fn in ("mse_loss", "binary_cross_entropy_with_logits"):
            loss, grad = getattr(F, fn)(x, t, reduction=reduction)
            rl, rg = getattr(R, fn)(x, t, reduction=reduction)
            if x.size == 0 and reduction == "mean":
                continue  # mean of nothing: NaN on both sides
            assert_close(loss, rl, dtype, **tol)
            assert_close(grad, rg, dtype, **tol)


@settings(**SETTINGS)
@given(data=st.data(), dtype=DTYPES, n=st.integers(0, 20), k=st.integers(1, 20),
       m=st.integers(1, 20), act=st.sampled_from(["identity", "relu", "gelu", "tanh"]),
       bias=st.booleans())
def test_dense_matches_reference(data, dtype, n, k, m, act, bias):
    x = data.draw(arrays(dtype, (n, k), -2, 2))
    w = data.draw(arrays(dtype, (m, k), -2, 2))
    b = data.draw(arrays(dtype, (m,), -2, 2)) if bias else None
    y = F.dense(x, w, b, activation=act)
    ref = R.ref_dense_forward(x.astype(np.float64), w.astype(np.float64),
                              None if b is None else b.astype(np.float64), act)
    ref = ref[0] if isinstance(ref, tuple) else ref
    assert_close(y, ref.astype(dtype), dtype,
                 **(dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else {}))


# ------------------------------------------------------------ augmentation
# Data movement (crops, flips, shifts, drops, swaps) must copy every value bit
# for bit, NaN, ±inf, -0.0 and denormals included; the arithmetic transforms
# (affine, jitter, noise) match their references within the dtype's tolerances
# on finite values. Shapes include zero-size axes; 1 and 2 threads agree.

MOVES = ("flip_crop", "time_shift", "element_dropout", "neighbor_swap")
AUG_KINDS = MOVES + ("affine", "color_jitter", "snr_noise")
probabilities = st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0.0, 1.0)


def _aug_case(data, kind):
    """(fastnn function, keyword arguments, reference, input shape)."""
    d = data.draw
    if kind in ("flip_crop", "affine"):
        shape = tuple(d(st.integers(0, n), label=a) for n, a in ((3, "N"), (3, "C"), (9, "H"),
                                                                  (9, "W")))
    elif kind in ("color_jitter", "snr_noise"):
        shape = d(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6), label="shape")
    else:
        shape = (d(st.integers(0, 4), label="N"), d(st.integers(0, 20), label="L"))
        if d(st.booleans(), label="features"):
            shape += (d(st.integers(0, 3), label="F"),)
    if kind == "flip_crop":
        N, C, H, W = shape
        pad = d(st.integers(0, 4), label="pad")
        mode = "constant"
        if pad < H and pad < W and d(st.booleans(), label="reflect"):
            mode = "reflect"
        size, hp, wp = None, H + 2 * pad, W + 2 * pad
        if hp and wp and d(st.booleans(), label="crop size"):
            size = (d(st.integers(1, hp), label="h"), d(st.integers(1, wp), label="w"))
        kw = dict(pad=pad, size=size, padding_mode=mode, p_hflip=d(probabilities, label="ph"),
                  p_vflip=d(probabilities, label="pv"))
        return F.random_flip_crop, kw, RA.flip_crop_ref, shape
    if kind == "affine":
        lo = d(st.floats(0.25, 2.0), label="scale low")
        kw = dict(degrees=d(st.floats(0.0, 180.0), label="degrees"),
                  scale=(lo, d(st.floats(lo, 2.5), label="scale high")),
                  translate=d(st.floats(0.0, 1.0), label="translate"))
        return F.random_affine, kw, RA.affine_ref, shape
    if kind == "color_jitter":
        kw = dict(brightness=d(st.floats(0.0, 1.0), label="b"),
                  contrast=d(st.floats(0.0, 1.0), label="c"))
        return F.random_color_jitter, kw, RA.color_jitter_ref, shape
    if kind == "snr_noise":
        kw = dict(snr_db=d(st.floats(-20.0, 60.0), label="snr_db"))
        return F.random_snr_noise, kw, RA.snr_noise_ref, shape
    if kind == "time_shift":
        kw = dict(max_shift=d(st.integers(0, 25), label="max_shift"),
                  wrap=d(st.booleans(), label="wrap"))
        return F.random_time_shift, kw, RA.time_shift_ref, shape
    fn, ref = {"element_dropout": (F.random_element_dropout, RA.element_dropout_ref),
               "neighbor_swap": (F.random_neighbor_swap, RA.neighbor_swap_ref)}[kind]
    return fn, dict(p=d(probabilities, label="p")), ref, shape


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the references' mean of nothing
@settings(**SETTINGS)
@given(data=st.data(), dtype=DTYPES, kind=st.sampled_from(AUG_KINDS),
       seed=st.integers(0, 2**64 - 1), offset=st.integers(0, 2**64 - 1))
def test_augment_matches_reference(data, dtype, kind, seed, offset):
    fn, kw, ref, shape = _aug_case(data, kind)
    if kind in MOVES:
        values = st.sampled_from(special_values(dtype)) | st.floats(width=32)
    else:
        values = st.floats(-10, 10, width=32)
    x = data.draw(hnp.arrays(dtype, shape, elements=values), label="x")
    x0 = x.copy()
    with np.errstate(all="ignore"):
        expected = ref(x, **kw, seed=seed, offset=offset)
    one = fn(x, **kw, seed=seed, offset=offset, n_threads=1)
    two = fn(x, **kw, seed=seed, offset=offset, n_threads=2)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(one, two)
    assert one.shape == expected.shape and one.dtype == x.dtype
    if kind in MOVES:
        # bit for bit: views as integers tell -0.0 from 0.0 and compare NaN payloads
        ints = np.int32 if dtype == np.float32 else np.int64
        np.testing.assert_array_equal(one.view(ints), expected.view(ints))
    else:
        assert_close(one, expected, dtype)


# ------------------------------------------------------------ float32 error bounds

FLOAT32_BOUNDS = {
    # max |f32 − f64 reference| on adversarial inputs; see the test below
    "layer_norm, mean 1e4, spread 1": 2e-3,
    "batch_norm, mean 1e4, spread 1": 2e-3,
    "Standardizer, mean 1e4, spread 1": 2e-3,
    "cross_entropy, logits ±1e4": 1e-2,
    "grad_norm, 1e6 values of mixed sign": 1e-5,
}


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_float32_adversarial_bounds(seed):
    rng = np.random.default_rng(seed)
    x64 = 1e4 + rng.standard_normal((64, 257))
    x32 = x64.astype(np.float32)
    xr = x32.astype(np.float64)  # the float32 inputs, exactly, in float64
    err = np.max(np.abs(F.layer_norm(x32, (257,)).out - R.layer_norm(xr, (257,))[0]))
    assert err < FLOAT32_BOUNDS["layer_norm, mean 1e4, spread 1"], err
    err = np.max(np.abs(F.batch_norm(x32, training=True).out
                        - R.batch_norm(xr, training=True)[0]))
    assert err < FLOAT32_BOUNDS["batch_norm, mean 1e4, spread 1"], err
    s32 = fastnn.Standardizer().partial_fit(x32)
    s64 = fastnn.Standardizer().partial_fit(xr)
    err = np.max(np.abs(s32.transform(x32) - s64.transform(xr)))
    assert err < FLOAT32_BOUNDS["Standardizer, mean 1e4, spread 1"], err
    z = (rng.standard_normal((32, 10)) * 1e4).astype(np.float32)
    y = rng.integers(0, 10, 32)
    loss, grad = F.softmax_cross_entropy(z, y, reduction="none")
    rl, rg = R.softmax_cross_entropy(z.astype(np.float64), y, reduction="none")
    assert np.max(np.abs(loss - rl) / np.maximum(1, np.abs(rl))) < FLOAT32_BOUNDS[
        "cross_entropy, logits ±1e4"]
    g = rng.standard_normal(1 << 20).astype(np.float32) * 1e3
    n32 = F.grad_norm([g])
    n64 = np.sqrt(np.sum(g.astype(np.float64) ** 2))
    assert abs(n32 - n64) / n64 < FLOAT32_BOUNDS["grad_norm, 1e6 values of mixed sign"]


# ------------------------------------------------------------ gradients, float64

def _fd(f, x, h=1e-6):
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f()
        flat[i] = old - h
        fm = f()
        flat[i] = old
        gf[i] = (fp - fm) / (2 * h)
    return g


@settings(max_examples=20, deadline=None)
@given(data=st.data(), n=st.integers(2, 5), c=st.integers(1, 6),
       kind=st.sampled_from(["batch", "layer", "instance", "group"]))
def test_norm_backward_finite_differences(data, n, c, kind):
    # normal draws: statistics well away from a zero variance
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    x = rng.standard_normal((n, 2 * c, 3)) * 2 + 1
    dy = rng.standard_normal((n, 2 * c, 3))
    fwd = {"batch": lambda: F.batch_norm(x, training=True),
           "layer": lambda: F.layer_norm(x, x.shape[1:]),
           "instance": lambda: F.instance_norm(x),
           "group": lambda: F.group_norm(x, 2)}[kind]
    o = fwd()
    bwd = {"batch": lambda: F.batch_norm_backward(dy, x, o.mean, o.rstd),
           "layer": lambda: F.layer_norm_backward(dy, x, o.mean, o.rstd, x.shape[1:]),
           "instance": lambda: F.instance_norm_backward(dy, x, o.mean, o.rstd),
           "group": lambda: F.group_norm_backward(dy, x, o.mean, o.rstd, 2)}[kind]()
    dx = bwd[0] if isinstance(bwd, tuple) else bwd
    num = _fd(lambda: float(np.sum(fwd().out * dy)), x)
    np.testing.assert_allclose(dx, num, rtol=1e-5, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), name=st.sampled_from(ACTS), n=st.integers(1, 12))
def test_activation_backward_finite_differences(data, name, n):
    x = data.draw(arrays(np.float64, (n,), -5, 5))
    if name in ("relu", "leaky_relu", "elu"):
        assume(np.all(np.abs(x) > 1e-3))  # kinks
    dy = data.draw(arrays(np.float64, (n,)))
    dx = getattr(F, name + "_backward")(dy, input=x)
    num = _fd(lambda: float(np.sum(getattr(F, name)(x) * dy)), x)
    np.testing.assert_allclose(dx, num, rtol=1e-5, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), n=st.integers(1, 5), k=st.integers(1, 5), m=st.integers(1, 5),
       act=st.sampled_from(["identity", "gelu", "tanh", "sigmoid"]))
def test_dense_backward_finite_differences(data, n, k, m, act):
    x = data.draw(arrays(np.float64, (n, k), -2, 2))
    w = data.draw(arrays(np.float64, (m, k), -2, 2))
    b = data.draw(arrays(np.float64, (m,), -2, 2))
    dy = data.draw(arrays(np.float64, (n, m)))
    _, saved = F.dense_forward(x, w, b, act)
    grads = F.dense_backward(dy, x, w, saved, act)

    def loss():
        return float(np.sum(F.dense(x, w, b, act) * dy))
    np.testing.assert_allclose(grads.grad_input, _fd(loss, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads.grad_weight, _fd(loss, w), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads.grad_bias, _fd(loss, b), rtol=1e-5, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), n=st.integers(1, 5), k=st.integers(2, 6), smoothing=st.floats(0, 0.5),
       fn=st.sampled_from(["softmax_cross_entropy", "multi_margin_loss", "entropy_penalty",
                           "mse_loss", "binary_cross_entropy_with_logits"]))
def test_loss_gradients_finite_differences(data, n, k, smoothing, fn):
    z = data.draw(arrays(np.float64, (n, k), -3, 3))
    y = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    t = data.draw(arrays(np.float64, (n, k), 0, 1))
    call = {"softmax_cross_entropy": lambda: F.softmax_cross_entropy(
                z, y, label_smoothing=smoothing),
            "multi_margin_loss": lambda: F.multi_margin_loss(z, y, margin=0.37),
            "entropy_penalty": lambda: F.entropy_penalty(z),
            "mse_loss": lambda: F.mse_loss(z, t),
            "binary_cross_entropy_with_logits": lambda: F.binary_cross_entropy_with_logits(z, t),
            }[fn]
    if fn == "multi_margin_loss":
        # hinge kinks: keep every margin term away from 0
        zy = z[np.arange(n), y][:, None]
        assume(np.all(np.abs(0.37 - zy + z) > 1e-3))
    _, grad = call()
    num = _fd(lambda: float(call()[0]), z)
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-6)
