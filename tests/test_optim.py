"""Optimizer kernels against their NumPy references, and their contracts."""
import math

import numpy as np
import pytest

import fastnn
from fastnn import functional as F
from fastnn import reference as R
from fastnn.optim import SGD, Adagrad, Adam, AdamW, Lion, NAdam, RAdam, RMSprop
from conftest import assert_close

# (name, fastnn function, reference, state names, option sets)
SPECS = {
    "sgd": (F.sgd_, R.sgd, ["momentum_buffer"], [
        dict(lr=0.01),
        dict(lr=0.01, momentum=0.9),
        dict(lr=0.01, momentum=0.9, dampening=0.1, weight_decay=0.01),
        dict(lr=0.01, momentum=0.9, nesterov=True, maximize=True),
        dict(lr=0.01, momentum=0.9, ema_momentum=True, l1=1e-3),
        dict(lr=0.01, momentum=0.5, weight_decay=0.1, decoupled_weight_decay=True),
    ]),
    "adagrad": (F.adagrad_, R.adagrad, ["state_sum"], [
        dict(),
        dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, eps=1e-6),
        dict(maximize=True, l1=1e-3),
        dict(weight_decay=0.1, decoupled_weight_decay=True),
    ]),
    "rmsprop": (F.rmsprop_, R.rmsprop, ["square_avg", "grad_avg", "momentum_buffer"], [
        dict(),
        dict(centered=True),
        dict(momentum=0.9, weight_decay=0.01),
        dict(centered=True, momentum=0.5, eps_inside_sqrt=True, maximize=True),
        dict(alpha=0.3, centered=True, l1=1e-3),
        dict(weight_decay=0.1, decoupled_weight_decay=True),
    ]),
    "adam": (F.adam_, R.adam, ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], [
        dict(),
        dict(lr=0.01, weight_decay=0.01),
        dict(amsgrad=True),
        dict(maximize=True, l1=1e-3, beta1=0.3),
        dict(decoupled_weight_decay=True, weight_decay=0.1, amsgrad=True),
    ]),
    "adamw": (F.adamw_, R.adamw, ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], [
        dict(),
        dict(weight_decay=0.1, amsgrad=True),
    ]),
    "nadam": (F.nadam_, R.nadam, ["exp_avg", "exp_avg_sq"], [
        dict(),
        dict(weight_decay=0.01, momentum_decay=0.01),
        dict(weight_decay=0.1, decoupled_weight_decay=True, maximize=True),
        dict(l1=1e-3, beta1=0.2),
    ]),
    "radam": (F.radam_, R.radam, ["exp_avg", "exp_avg_sq"], [
        dict(),
        dict(weight_decay=0.01),
        dict(weight_decay=0.1, decoupled_weight_decay=True, maximize=True, l1=1e-3),
    ]),
    "lion": (F.lion_, R.lion, ["exp_avg"], [
        dict(),
        dict(lr=1e-3, weight_decay=0.1),
        dict(maximize=True, l1=1e-3, beta1=0.5, beta2=0.9),
    ]),
}

CASES = [(name, i) for name, spec in SPECS.items() for i in range(len(spec[3]))]
STEPS = 50


def make_arrays(n, n_states, dtype, seed=0):
    rng = np.random.default_rng(seed)
    param = rng.standard_normal(n).astype(dtype)
    states = [np.zeros(n, dtype) for _ in range(n_states)]
    return param, states, rng


def run_steps(name, options, param, states, rng, n_steps, use_ref, dtype, n_threads=None):
    """Run n_steps of an optimizer with fresh random gradients each step."""
    fn, ref, _, _ = SPECS[name]
    mu_product = 1.0
    for step in range(1, n_steps + 1):
        grad = rng.standard_normal(param.shape).astype(dtype)
        kwargs = dict(options)
        if name not in ("rmsprop", "lion"):
            kwargs["step"] = step
        if name == "nadam":
            kwargs["mu_product"] = mu_product
        if use_ref:
            result = ref(param, grad, *states, **kwargs)
        else:
            result = fn(param, grad, *states, **kwargs, n_threads=n_threads)
        if name == "nadam":
            mu_product = result


@pytest.mark.parametrize("name,option_index", CASES)
@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 1031])
def test_matches_reference(name, option_index, n, dtype):
    options = SPECS[name][3][option_index]
    n_states = len(SPECS[name][2])
    param, states, rng = make_arrays(n, n_states, dtype)
    ref_param, ref_states, ref_rng = make_arrays(n, n_states, dtype)
    run_steps(name, options, param, states, rng, STEPS, False, dtype)
    run_steps(name, options, ref_param, ref_states, ref_rng, STEPS, True, dtype)
    # 50 steps compound rounding differences: allow a few ulps more in float32
    extra = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else {}
    assert_close(param, ref_param, dtype, **extra)
    for s, rs in zip(states, ref_states):
        assert_close(s, rs, dtype, **extra)


@pytest.mark.parametrize("name", list(SPECS))
def test_large_array_matches_reference(name, dtype):
    """1,000,003 elements: several threads, vector body and scalar tail."""
    options = SPECS[name][3][-1]
    n_states = len(SPECS[name][2])
    param, states, rng = make_arrays(1_000_003, n_states, dtype)
    ref_param, ref_states, ref_rng = make_arrays(1_000_003, n_states, dtype)
    run_steps(name, options, param, states, rng, 5, False, dtype)
    run_steps(name, options, ref_param, ref_states, ref_rng, 5, True, dtype)
    extra = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else {}
    assert_close(param, ref_param, dtype, **extra)


@pytest.mark.parametrize("name", list(SPECS))
def test_thread_count_does_not_change_results(name, dtype):
    options = SPECS[name][3][-1]
    n_states = len(SPECS[name][2])
    results = []
    for n_threads in (1, 2, 3):
        param, states, rng = make_arrays(300_007, n_states, dtype)
        run_steps(name, options, param, states, rng, 3, False, dtype, n_threads=n_threads)
        results.append((param, states))
    for param, states in results[1:]:
        np.testing.assert_array_equal(param, results[0][0])
        for s, s0 in zip(states, results[0][1]):
            np.testing.assert_array_equal(s, s0)


@pytest.mark.parametrize("name", list(SPECS))
def test_simd_levels_agree_bitwise(name, dtype, simd_level):
    """Every compiled SIMD path gives the baseline's bits (no FMA contraction)."""
    options = SPECS[name][3][-1]
    n_states = len(SPECS[name][2])
    param, states, rng = make_arrays(1037, n_states, dtype)
    run_steps(name, options, param, states, rng, 4, False, dtype)
    fastnn.set_simd_level("baseline")
    base_param, base_states, base_rng = make_arrays(1037, n_states, dtype)
    run_steps(name, options, base_param, base_states, base_rng, 4, False, dtype)
    np.testing.assert_array_equal(param, base_param)
    for s, s0 in zip(states, base_states):
        np.testing.assert_array_equal(s, s0)


@pytest.mark.parametrize("name", list(SPECS))
def test_many_arrays_in_one_call_equal_separate_calls(name, dtype):
    fn, _, state_names, option_sets = SPECS[name]
    options = dict(option_sets[-1])
    if name not in ("rmsprop", "lion"):
        options["step"] = 3
    rng = np.random.default_rng(3)
    shapes = [(7, 5), (5,), (300, 130), (1,), (0,), (33,)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
    states = [[np.abs(rng.standard_normal(s)).astype(dtype) for s in shapes]
              for _ in state_names]
    single_params = [p.copy() for p in params]
    single_states = [[a.copy() for a in group] for group in states]
    fn(params, grads, *states, **options)
    for i in range(len(shapes)):
        fn(single_params[i], grads[i], *[group[i] for group in single_states], **options)
    for p, sp in zip(params, single_params):
        np.testing.assert_array_equal(p, sp)
    for group, single_group in zip(states, single_states):
        for a, sa in zip(group, single_group):
            np.testing.assert_array_equal(a, sa)


def test_adam_docstring_example():
    w = np.ones(4, np.float32)
    g = np.full(4, 0.5, np.float32)
    m, v = np.zeros_like(w), np.zeros_like(w)
    F.adam_(w, g, m, v, step=1, lr=0.1)
    assert_close(w, np.full(4, 0.9, np.float32))


def test_nadam_returns_mu_product():
    w = np.ones(3)
    m, v = np.zeros(3), np.zeros(3)
    prod = F.nadam_(w, np.ones(3), m, v, step=1)
    assert prod == pytest.approx(R.nadam_mu(1, 0.9, 4e-3))
    prod2 = F.nadam_(w, np.ones(3), m, v, step=2, mu_product=prod)
    assert prod2 == pytest.approx(prod * R.nadam_mu(2, 0.9, 4e-3))


def test_radam_unrectified_and_rectified_steps():
    """RAdam takes plain momentum steps until rho_t > 5 (step 6 for beta2=0.999)."""
    for step in (1, 5, 6, 50):
        p = np.linspace(-1, 1, 9)
        m, v = np.full(9, 0.1), np.full(9, 0.2)
        rp, rm, rv = p.copy(), m.copy(), v.copy()
        g = np.linspace(1, -2, 9)
        F.radam_(p, g, m, v, step=step)
        R.radam(rp, g, rm, rv, step=step)
        assert_close(p, rp)


def test_sgd_first_step_ignores_buffer_content():
    p = np.ones(5)
    buf = np.full(5, np.nan)
    F.sgd_(p, np.ones(5), buf, lr=0.1, momentum=0.9, step=1)
    assert_close(p, np.full(5, 0.9))
    assert_close(buf, np.ones(5))


def test_lion_nan_gradient_propagates():
    p = np.ones(3, np.float32)
    m = np.zeros(3, np.float32)
    F.lion_(p, np.array([np.nan, 1, -1], np.float32), m)
    assert np.isnan(p[0]) and np.isfinite(p[1:]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lion_zero_update_leaves_param_unchanged(dtype, simd_level):
    """sign(0) = 0: a zero gradient with zero momentum moves nothing (also
    with decoupled weight decay off), and a NaN gradient gives NaN."""
    p = np.array([1.0, 2.0], dtype)
    m = np.zeros(2, dtype)
    F.lion_(p, np.zeros(2, dtype), m, lr=0.1)
    np.testing.assert_array_equal(p, np.array([1.0, 2.0], dtype))
    np.testing.assert_array_equal(m, np.zeros(2, dtype))
    ref_p, ref_m = np.array([1.0, 2.0], dtype), np.zeros(2, dtype)
    R.lion(ref_p, np.zeros(2, dtype), ref_m, lr=0.1)
    np.testing.assert_array_equal(p, ref_p)
    F.lion_(p, np.array([np.nan, 0.0], dtype), m, lr=0.1)
    assert np.isnan(p[0]) and np.isnan(m[0])
    assert p[1] == 2.0 and m[1] == 0.0


# The EMA weight 1 − β must not be recomputed from a rounded β (or 1 − β) in
# float32: lerp's high branch used (T)1 − (T)(1 − β₁), which for β₁ = 1e-5
# is 1.00136e-5, not 1e-5.
EMA_CASES = [
    ("adam", lambda p, g, m, v: F.adam_(p, g, m, v, step=1, lr=1.0, beta1=1e-5, beta2=0.0),
     lambda p, g, m, v: R.adam(p, g, m, v, step=1, lr=1.0, beta1=1e-5, beta2=0.0)),
    ("nadam", lambda p, g, m, v: F.nadam_(p, g, m, v, step=1, lr=1.0, beta1=1e-5, beta2=0.0),
     lambda p, g, m, v: R.nadam(p, g, m, v, step=1, mu_product=1.0, lr=1.0, beta1=1e-5,
                                beta2=0.0)),
    ("radam", lambda p, g, m, v: F.radam_(p, g, m, v, step=1, lr=1.0, beta1=1e-5, beta2=0.0),
     lambda p, g, m, v: R.radam(p, g, m, v, step=1, lr=1.0, beta1=1e-5, beta2=0.0)),
    # (its step v − ḡ² cancels catastrophically for a tiny alpha: compare the
    # averages, where the lerp is)
    ("rmsprop-centered",
     lambda p, g, m, v: F.rmsprop_(p, g, v, m, lr=1.0, alpha=1e-5, centered=True),
     lambda p, g, m, v: R.rmsprop(p, g, v, m, None, lr=1.0, alpha=1e-5, centered=True)),
    ("lion", lambda p, g, m, v: F.lion_(p, g, m, lr=1.0, beta1=1e-5, beta2=1e-5),
     lambda p, g, m, v: R.lion(p, g, m, lr=1.0, beta1=1e-5, beta2=1e-5)),
]


@pytest.mark.parametrize("name,fn,ref", EMA_CASES, ids=[c[0] for c in EMA_CASES])
def test_ema_weight_near_one_in_float32(name, fn, ref, simd_level):
    arrays = [np.zeros(17, np.float32), np.zeros(17, np.float32), np.ones(17, np.float32),
              np.full(17, 4.0, np.float32)]
    arrays[1][::2] = 0.5
    got = [a.copy() for a in arrays]
    want = [a.astype(np.float64) for a in arrays]
    fn(*got)
    ref(*want)
    compared = got[2:] if name.startswith("rmsprop") else got
    for g, w in zip(compared, want[len(got) - len(compared):]):
        assert_close(g, w, np.float32, rtol=2e-6, atol=0)


def test_adam_beta1_near_zero_issue_example():
    p, g = np.zeros(1, np.float32), np.zeros(1, np.float32)
    m, v = np.ones(1, np.float32), np.zeros(1, np.float32)
    F.adam_(p, g, m, v, step=1, lr=1.0, beta1=1e-5, beta2=0.0)
    assert m[0] == np.float32(1e-5)
    assert_close(p, np.array([-1000.01], np.float32), np.float32)


# ------------------------------------------------------------------ bad input

def _adam_arrays(dtype=np.float32, n=8):
    rng = np.random.default_rng(0)
    return (rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype),
            np.zeros(n, dtype), np.zeros(n, dtype))


def _snapshot(arrays):
    return [np.array(a, copy=True) for a in arrays if isinstance(a, np.ndarray)]


BAD_INPUTS = [
    ("param as list of floats", lambda p, g, m, v: ([1.0, 2.0], g, m, v), TypeError, "param"),
    ("integer param", lambda p, g, m, v: (np.arange(8), g, m, v), TypeError, "param"),
    ("float16 param", lambda p, g, m, v: (p.astype(np.float16), g, m, v), TypeError, "param"),
    ("grad dtype mix", lambda p, g, m, v: (p, g.astype(np.float64), m, v), TypeError, "grad"),
    ("state dtype mix", lambda p, g, m, v: (p, g, m.astype(np.float64), v), TypeError, "exp_avg"),
    ("grad shape", lambda p, g, m, v: (p, g[:7], m, v), ValueError, "grad"),
    ("state shape", lambda p, g, m, v: (p, g, m, v.reshape(2, 4)), ValueError, "exp_avg_sq"),
    ("param not contiguous", lambda p, g, m, v: (np.repeat(p, 2)[::2], g, m, v), ValueError,
     "param"),
    ("state not contiguous", lambda p, g, m, v: (p, g, np.zeros(16, p.dtype)[::2], v),
     ValueError, "exp_avg"),
    ("grad aliases param", lambda p, g, m, v: (p, p, m, v), ValueError, "share memory"),
    ("states alias", lambda p, g, m, v: (p, g, m, m), ValueError, "share memory"),
    ("overlapping views", lambda p, g, m, v: (p, g, m, None), None, None),
]


@pytest.mark.parametrize("label,mutate,error,match", [b for b in BAD_INPUTS if b[2]],
                         ids=[b[0] for b in BAD_INPUTS if b[2]])
def test_bad_arrays_raise_and_touch_nothing(label, mutate, error, match):
    arrays = mutate(*_adam_arrays())
    before = _snapshot(arrays)
    with pytest.raises(error, match=match):
        F.adam_(*arrays, step=1)
    for a, b in zip(_snapshot(arrays), before):
        np.testing.assert_array_equal(a, b)


def test_read_only_state_raises_and_touches_nothing():
    p, g, m, v = _adam_arrays()
    v.flags.writeable = False
    before = _snapshot([p, g, m, v])
    with pytest.raises(ValueError, match="exp_avg_sq is read-only"):
        F.adam_(p, g, m, v, step=1)
    for a, b in zip([p, g, m, v], before):
        np.testing.assert_array_equal(a, b)


def test_overlapping_state_views_raise():
    p, g, _, _ = _adam_arrays(n=8)
    buf = np.zeros(12, np.float32)
    with pytest.raises(ValueError, match="share memory"):
        F.adam_(p, g, buf[:8], buf[4:], step=1)


def test_non_contiguous_grad_is_read_through_a_copy():
    p, _, m, v = _adam_arrays()
    g_full = np.random.default_rng(1).standard_normal(16).astype(np.float32)
    rp, rm, rv = p.copy(), m.copy(), v.copy()
    F.adam_(p, g_full[::2], m, v, step=1)
    R.adam(rp, g_full[::2].copy(), rm, rv, step=1)
    assert_close(p, rp)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(lr=math.nan), ValueError, "lr"),
    (dict(lr=math.inf), ValueError, "lr"),
    (dict(lr="0.1"), TypeError, "lr"),
    (dict(lr=True), TypeError, "lr"),
    (dict(beta1=1.0), ValueError, "beta1"),
    (dict(beta2=-0.1), ValueError, "beta2"),
    (dict(eps=-1e-8), ValueError, "eps"),
    (dict(weight_decay=-0.1), ValueError, "weight_decay"),
    (dict(l1=math.nan), ValueError, "l1"),
    (dict(step=0), ValueError, "step"),
    (dict(step=1.5), TypeError, "step"),
    (dict(step=True), TypeError, "step"),
    (dict(amsgrad=True), TypeError, "max_exp_avg_sq"),
    (dict(n_threads=0), ValueError, "n_threads"),
    (dict(n_threads=1.5), TypeError, "n_threads"),
])
def test_bad_hyperparameters_raise_and_touch_nothing(kwargs, error, match):
    arrays = _adam_arrays()
    before = _snapshot(arrays)
    kwargs = {"step": 1, **kwargs}
    with pytest.raises(error, match=match):
        F.adam_(*arrays, **kwargs)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call,error,match", [
    (lambda p, g, s: F.sgd_(p, g, lr=0.1, momentum=0.9), TypeError, "momentum_buffer"),
    (lambda p, g, s: F.sgd_(p, g, s, lr=0.1, nesterov=True), ValueError, "nesterov"),
    (lambda p, g, s: F.rmsprop_(p, g, s, centered=True), TypeError, "grad_avg"),
    (lambda p, g, s: F.rmsprop_(p, g, s, alpha=1.5), ValueError, "alpha"),
    (lambda p, g, s: F.adagrad_(p, g, s, step=1, lr_decay=-1), ValueError, "lr_decay"),
    (lambda p, g, s: F.nadam_(p, g, s, s.copy(), step=1, momentum_decay=-1), ValueError,
     "momentum_decay"),
    (lambda p, g, s: F.lion_(p, g, s, beta2=1.0), ValueError, "beta2"),
])
def test_optimizer_specific_errors(call, error, match):
    p, g, s, _ = _adam_arrays()
    before = _snapshot([p, g, s])
    with pytest.raises(error, match=match):
        call(p, g, s)
    for a, b in zip([p, g, s], before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call,flag", [
    (lambda p, g, s: F.sgd_(p, g, s[0], lr=0.1, momentum=0.9, nesterov="False"), "nesterov"),
    (lambda p, g, s: F.sgd_(p, g, None, lr=0.1, maximize="False"), "maximize"),
    (lambda p, g, s: F.sgd_(p, g, s[0], lr=0.1, momentum=0.9, ema_momentum=1), "ema_momentum"),
    (lambda p, g, s: F.adagrad_(p, g, s[0], step=1, decoupled_weight_decay="no"),
     "decoupled_weight_decay"),
    (lambda p, g, s: F.rmsprop_(p, g, s[0], s[1], centered="False"), "centered"),
    (lambda p, g, s: F.rmsprop_(p, g, s[0], eps_inside_sqrt=None), "eps_inside_sqrt"),
    (lambda p, g, s: F.adam_(p, g, s[0], s[1], s[2], step=1, amsgrad="False"), "amsgrad"),
    (lambda p, g, s: F.adamw_(p, g, s[0], s[1], step=1, maximize="False"), "maximize"),
    (lambda p, g, s: F.nadam_(p, g, s[0], s[1], step=1, maximize=[]), "maximize"),
    (lambda p, g, s: F.radam_(p, g, s[0], s[1], step=1, decoupled_weight_decay="True"),
     "decoupled_weight_decay"),
    (lambda p, g, s: F.lion_(p, g, s[0], maximize="False"), "maximize"),
    (lambda p, g, s: F.clip_grad_norm_([p], 1.0, error_if_nonfinite="no"), "error_if_nonfinite"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bool_options_must_be_bools(call, flag):
    # "False" is a true str: taken as a flag it would switch the option on
    p, g = np.ones(3), np.full(3, 0.5)
    s = [np.zeros(3) for _ in range(3)]
    with pytest.raises(TypeError, match=f"{flag} must be a bool"):
        call(p, g, s)
    np.testing.assert_array_equal(p, np.ones(3))
    call_ok = F.adam_(p, g, s[0], s[1], s[2], step=1, amsgrad=np.bool_(True))
    assert call_ok is None and p[0] < 1.0


def test_list_call_errors_touch_nothing():
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(4).astype(np.float32), rng.standard_normal(3).astype(np.float32)]
    grads = [np.ones(4, np.float32), np.ones(3, np.float32)]
    m = [np.zeros(4, np.float32), np.zeros(3, np.float32)]
    v_bad = [np.zeros(4, np.float32), np.zeros(3, np.float64)]
    before = _snapshot(params + m)
    with pytest.raises(TypeError, match=r"exp_avg_sq\[1\]"):
        F.adam_(params, grads, m, v_bad, step=1)
    with pytest.raises(ValueError, match="grad has 1 arrays"):
        F.adam_(params, grads[:1], m, m, step=1)
    with pytest.raises(TypeError, match=r"param\[1\]"):
        F.adam_([params[0], params[1].astype(np.float64)], grads, m, m, step=1)
    for a, b in zip(params + m, before):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ clipping

@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_matches_reference(norm_type, dtype):
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(s).astype(dtype) for s in [(100, 3), (7,), (50_001,), (0,)]]
    ref = [g.copy() for g in grads]
    total = F.clip_grad_norm_(grads, 1.5, norm_type=norm_type)
    ref_total = R.clip_grad_norm(ref, 1.5, norm_type=norm_type)
    assert total == pytest.approx(ref_total, rel=1e-10)
    for g, r in zip(grads, ref):
        assert_close(g, r, dtype)


def test_clip_grad_norm_does_not_scale_up_and_returns_norm():
    g = np.array([3.0, 4.0])
    assert F.clip_grad_norm_([g], 10.0) == pytest.approx(5.0)
    assert_close(g, [3.0, 4.0], rtol=1e-6)
    assert F.clip_grad_norm_(g, 1.0) == pytest.approx(5.0)
    assert_close(g, [0.6, 0.8], rtol=1e-6)


def test_clip_grad_norm_is_deterministic_across_threads():
    rng = np.random.default_rng(9)
    data = rng.standard_normal(2_000_003).astype(np.float32)
    norms = []
    for n_threads in (1, 2, 3):
        norms.append(F.grad_norm([data], n_threads=n_threads))
    assert norms[0] == norms[1] == norms[2]
    assert norms[0] == pytest.approx(np.linalg.norm(data.astype(np.float64)), rel=1e-12)


def test_clip_grad_norm_nonfinite():
    g = np.array([1.0, np.nan, 2.0], np.float32)
    before = g.copy()
    with pytest.raises(RuntimeError, match="non-finite"):
        F.clip_grad_norm_([g], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(g, before)
    assert math.isnan(F.grad_norm([g], norm_type=math.inf))
    assert math.isinf(F.grad_norm([np.array([np.inf, 1.0])]))


def test_clip_grad_norm_accepts_parameters_and_skips_missing_grads():
    a, b = fastnn.Parameter(np.zeros(2)), fastnn.Parameter(np.zeros(3))
    a.grad = np.array([3.0, 4.0])
    assert F.clip_grad_norm_([a, b], 1.0) == pytest.approx(5.0)
    assert_close(a.grad, [0.6, 0.8], rtol=1e-6)


def test_clip_accepts_any_iterable_of_grads_or_parameters():
    # torch takes an iterable (model.parameters() is a generator there):
    # a generator, a set or a dict view are lists of gradients too
    def params():
        out = [fastnn.Parameter(np.zeros(2)), fastnn.Parameter(np.zeros(3))]
        out[0].grad, out[1].grad = np.array([3.0, 4.0]), None
        return out

    ps = params()
    assert F.clip_grad_norm_((p for p in ps), 1.0) == pytest.approx(5.0)
    assert_close(ps[0].grad, [0.6, 0.8], rtol=1e-6)
    g = {"a": np.array([3.0, -4.0])}
    assert F.grad_norm(g.values(), norm_type=1.0) == 7.0
    F.clip_grad_value_(iter(g.values()), 1.0)
    np.testing.assert_array_equal(g["a"], [1.0, -1.0])
    # an array (a 2-D one is not a list of rows) and a Parameter are one gradient
    m = np.full((2, 2), 2.0)
    assert F.clip_grad_norm_(m, 1.0) == pytest.approx(4.0)
    assert_close(m, np.full((2, 2), 0.5), rtol=1e-6)
    with pytest.raises(TypeError, match=r"grads\[0\]"):
        F.grad_norm(iter([[1.0, 2.0]]))


def test_clip_grad_norm_nan_norm_makes_every_gradient_nan_as_torch():
    grads = [np.array([1.0, np.nan]), np.array([3.0, 4.0])]
    assert math.isnan(F.clip_grad_norm_(grads, 1.0))
    assert np.isnan(grads[0]).all() and np.isnan(grads[1]).all()
    ref = [np.array([1.0, np.nan]), np.array([3.0, 4.0])]
    assert math.isnan(R.clip_grad_norm(ref, 1.0))
    assert np.isnan(ref[1]).all()


def test_clip_grad_norm_with_infinite_max_norm_only_measures():
    # torch's idiom for the norm without clipping: max_norm=inf
    g = np.array([3.0, 4.0])
    assert F.clip_grad_norm_([g], math.inf) == pytest.approx(5.0)
    np.testing.assert_array_equal(g, [3.0, 4.0])
    with pytest.raises(ValueError, match="max_norm"):
        F.clip_grad_norm_([g], -math.inf)


def test_clip_grad_norm_accepts_the_string_inf_as_torch():
    g = np.array([3.0, -4.0])
    assert F.grad_norm([g], norm_type="inf") == 4.0
    assert F.clip_grad_norm_([g], 2.0, norm_type="inf") == 4.0
    assert_close(g, [1.5, -2.0], rtol=1e-6)
    with pytest.raises(TypeError, match="norm_type"):
        F.grad_norm([g], norm_type="2")


def test_clip_grad_value(dtype):
    g = np.array([-3.0, -0.5, 0.0, 0.5, 3.0, np.nan], dtype)
    F.clip_grad_value_([g], 1.0)
    np.testing.assert_array_equal(g[:5], np.array([-1.0, -0.5, 0.0, 0.5, 1.0], dtype))
    assert np.isnan(g[5])
    with pytest.raises(ValueError, match="clip_value"):
        F.clip_grad_value_([g], -1.0)
    for bad in (-math.inf, math.nan):
        with pytest.raises(ValueError, match="clip_value"):
            F.clip_grad_value_([g], bad)
    # an infinite clip value clamps nothing, as torch
    h = np.array([-1e30, -3.0, 0.0, 3.0, 1e30, np.inf, -np.inf], dtype)
    kept = h.copy()
    F.clip_grad_value_(h, math.inf)
    np.testing.assert_array_equal(h, kept)
    with pytest.raises(ValueError, match="read-only"):
        ro = np.ones(3)
        ro.flags.writeable = False
        F.clip_grad_value_(ro, 1.0)


def test_clip_bad_norm_type():
    with pytest.raises(ValueError, match="norm_type"):
        F.grad_norm([np.ones(3)], norm_type=0.0)
    with pytest.raises(ValueError, match="max_norm"):
        F.clip_grad_norm_([np.ones(3)], -1.0)


# ------------------------------------------------------------------ denormals

def test_flush_denormals_option():
    tiny = np.array([1e-40], np.float32)  # a float32 denormal
    assert tiny[0] != 0
    p = tiny.copy()
    F.sgd_(p, np.zeros(1, np.float32), lr=0.1)
    assert p[0] == tiny[0]
    with fastnn.flush_denormals():
        assert fastnn.get_flush_denormals()
        p = tiny.copy()
        F.sgd_(p, np.zeros(1, np.float32), lr=0.1)
        assert p[0] == 0.0
    assert not fastnn.get_flush_denormals()
    # the caller's floating-point mode is restored after the kernel
    assert np.float32(1e-40) * np.float32(1.0) != 0


# ------------------------------------------------------------------ classes

CLASS_SPECS = [
    (SGD, dict(lr=0.01, momentum=0.9, nesterov=True), "sgd"),
    (Adagrad, dict(lr=0.05), "adagrad"),
    (RMSprop, dict(lr=0.01, centered=True, momentum=0.5), "rmsprop"),
    (Adam, dict(lr=0.01, amsgrad=True), "adam"),
    (AdamW, dict(lr=0.01), "adamw"),
    (NAdam, dict(lr=0.01), "nadam"),
    (RAdam, dict(lr=0.01), "radam"),
    (Lion, dict(lr=0.001, weight_decay=0.1), "lion"),
]


def _model(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [fastnn.Parameter(rng.standard_normal(s).astype(dtype), name=str(s))
            for s in [(4, 3), (3,), (17,)]]


def _train(opt, params, n_steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n_steps):
        for p in params:
            p.grad = rng.standard_normal(p.shape).astype(p.dtype)
        opt.step()


@pytest.mark.parametrize("cls,kwargs,name", CLASS_SPECS, ids=[c[2] for c in CLASS_SPECS])
def test_class_state_dict_resumes_bitwise(cls, kwargs, name):
    params = _model()
    opt = cls(params, **kwargs)
    _train(opt, params, 5, seed=1)
    saved_params = [p.data.copy() for p in params]
    state = opt.state_dict()
    _train(opt, params, 5, seed=2)

    params2 = _model()
    for p, s in zip(params2, saved_params):
        p.data[...] = s
    opt2 = cls(params2, **kwargs)
    opt2.load_state_dict(state)
    _train(opt2, params2, 5, seed=2)
    for p, p2 in zip(params, params2):
        np.testing.assert_array_equal(p.data, p2.data)


@pytest.mark.parametrize("cls,kwargs,name", CLASS_SPECS, ids=[c[2] for c in CLASS_SPECS])
def test_class_matches_reference(cls, kwargs, name):
    params = _model()
    opt = cls(params, **kwargs)
    ref_params = [p.data.copy() for p in params]
    fn, ref, state_names, _ = SPECS[name]
    opts = dict(kwargs)
    if "betas" in opts:
        opts["beta1"], opts["beta2"] = opts.pop("betas")
    opts.pop("lr_decay", None)
    ref_states = [[np.zeros_like(p) for p in ref_params] for _ in state_names]
    rng = np.random.default_rng(4)
    mu = 1.0
    for step in range(1, 6):
        grads = [rng.standard_normal(p.shape) for p in params]
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
        for i, (rp, g) in enumerate(zip(ref_params, grads)):
            kw = dict(opts)
            if name not in ("rmsprop", "lion"):
                kw["step"] = step
            if name == "nadam":
                kw["mu_product"] = mu
            out = ref(rp, g, *[s[i] for s in ref_states], **kw)
        if name == "nadam":
            mu = out
    for p, rp in zip(params, ref_params):
        assert_close(p.data, rp)


@pytest.mark.parametrize("how", ["deepcopy", "pickle", "deepcopy-with-model"])
@pytest.mark.parametrize("cls,kwargs,name", CLASS_SPECS[:4] + CLASS_SPECS[5:6],
                         ids=[c[2] for c in CLASS_SPECS[:4] + CLASS_SPECS[5:6]])
def test_copied_or_pickled_optimizer_keeps_its_state(cls, kwargs, name, how):
    # the state is kept per parameter object: a copy's parameters are new
    # objects, and the copy must continue exactly as the original does
    import copy
    import pickle

    params = _model()
    opt = cls(params, **kwargs)
    _train(opt, params, 3, seed=1)
    if how == "deepcopy":
        opt2 = copy.deepcopy(opt)
    elif how == "pickle":
        opt2 = pickle.loads(pickle.dumps(opt))
    else:
        _, opt2 = copy.deepcopy((params, opt))
    params2 = [p for g in opt2.param_groups for p in g["params"]]
    assert all(p2 is not p for p, p2 in zip(params, params2))
    _train(opt, params, 3, seed=2)
    _train(opt2, params2, 3, seed=2)
    for p, p2 in zip(params, params2):
        np.testing.assert_array_equal(p.data, p2.data)
    assert len(opt2.state) == len(params2)
    assert opt2.state_dict()["state"].keys() == opt.state_dict()["state"].keys()


def test_plain_arrays_with_grads_passed_to_step():
    w = np.ones(5)
    b = np.zeros(2)
    opt = SGD([w, b], lr=0.5)
    opt.step([np.ones(5), None])
    assert_close(w, np.full(5, 0.5))
    assert_close(b, np.zeros(2))
    with pytest.raises(ValueError, match="2 parameters"):
        opt.step([np.ones(5)])


def test_param_groups_have_their_own_options():
    a, b = fastnn.Parameter(np.ones(3)), fastnn.Parameter(np.ones(3))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad = np.ones(3)
    b.grad = np.ones(3)
    opt.step()
    assert_close(a.data, np.full(3, 0.9))
    assert_close(b.data, np.zeros(3))
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    with pytest.raises(ValueError, match="more than one param group"):
        opt.add_param_group({"params": [a]})


def test_optimizer_rejects_bad_params():
    with pytest.raises(ValueError, match="empty"):
        Adam([])
    with pytest.raises(TypeError, match="params"):
        Adam([np.arange(3)])
    with pytest.raises(ValueError, match="C-contiguous"):
        Adam([np.ones((4, 4))[:, 1]])
    with pytest.raises(ValueError, match="learning rate"):
        Adam([np.ones(3)], lr=-1)


@pytest.mark.parametrize("params", [np.ones(5), np.ones((3, 4)),
                                    fastnn.Parameter(np.ones(3)),
                                    {"params": [np.ones(3)]}],
                         ids=["1d-array", "2d-array", "Parameter", "group-dict"])
def test_optimizer_rejects_one_array_or_group_instead_of_an_iterable(params):
    # as torch: iterating over one array would make a parameter of every row
    # (or fail on its scalars), iterating over a dict gives its keys
    with pytest.raises(TypeError, match="iterable of Parameters"):
        Adam(params)


def test_optimizer_takes_named_parameters_as_torch():
    from fastnn import nn

    model = nn.Linear(3, 2)
    opt = Adam(model.named_parameters(), lr=0.1)
    assert all(a is b for a, b in zip(opt.param_groups[0]["params"], model.parameters()))
    assert opt.param_groups[0]["param_names"] == [n for n, _ in model.named_parameters()]
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    before = [p.data.copy() for p in model.parameters()]
    opt.step()
    for p, b in zip(model.parameters(), before):
        assert_close(p.data, b - 0.1)
    state = opt.state_dict()
    assert state["param_groups"][0]["param_names"] == opt.param_groups[0]["param_names"]
    opt2 = Adam(model.named_parameters(), lr=0.1)
    opt2.load_state_dict(state)
    with pytest.raises(ValueError, match="pairs"):
        Adam([("w", np.ones(3)), np.ones(2)])


# torch.optim's implementation switches each class takes (torch 2.x signatures)
TORCH_SWITCHES = {
    SGD: ("foreach", "differentiable", "fused"),
    Adagrad: ("foreach", "differentiable", "fused"),
    RMSprop: ("capturable", "foreach", "differentiable"),
    Adam: ("foreach", "capturable", "differentiable", "fused"),
    AdamW: ("foreach", "capturable", "differentiable", "fused"),
    NAdam: ("foreach", "capturable", "differentiable"),
    RAdam: ("foreach", "capturable", "differentiable"),
}


@pytest.mark.parametrize("cls", list(TORCH_SWITCHES), ids=lambda c: c.__name__)
def test_torch_implementation_switches_are_accepted(cls):
    # torch code passes them (foreach=False, fused=True, ...): ignored, as the
    # step is always one fused call; capturable/differentiable=True raise
    names = TORCH_SWITCHES[cls]
    on = {n: True for n in names if n in ("foreach", "fused")}
    off = {n: False for n in names}
    results = []
    for kwargs in ({}, on, off):
        w = np.ones(3)
        opt = cls([w], lr=0.1, **kwargs)
        opt.step([np.full(3, 0.5)])
        results.append(w.copy())
        assert not set(names) & set(opt.param_groups[0])
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])
    for n in ("capturable", "differentiable"):
        if n in names:
            with pytest.raises(ValueError, match=n):
                cls([np.ones(3)], **{n: True})
    with pytest.raises(TypeError, match="foreach"):
        cls([np.ones(3)], foreach="yes")


def test_load_state_dict_rejects_mismatch():
    params = _model()
    opt = Adam(params)
    _train(opt, params, 1, seed=0)
    state = opt.state_dict()
    other = Adam(_model()[:2])
    with pytest.raises(ValueError, match="parameters"):
        other.load_state_dict(state)


# ------------------------------------------------------------------ torch cross-check

TORCH_MAP = [
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.1, weight_decay=0.01), SGD),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True), SGD),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.01), Adagrad),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.01), RMSprop),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01), Adam),
    ("AdamW", dict(lr=0.01, weight_decay=0.1), AdamW),
    ("NAdam", dict(lr=0.01, weight_decay=0.01, decoupled_weight_decay=True), NAdam),
    ("RAdam", dict(lr=0.01, weight_decay=0.01), RAdam),
]


@pytest.mark.parametrize("torch_name,kwargs,cls", TORCH_MAP, ids=[t[0] for t in TORCH_MAP])
def test_matches_torch(torch_name, kwargs, cls):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    data = rng.standard_normal(1000)
    p = fastnn.Parameter(data.copy())
    t = torch.tensor(data.copy(), requires_grad=False)
    opt = cls([p], **kwargs)
    # torch keeps scalar state (NAdam's mu_product, step counts) in the default
    # dtype: float64 here, as fastnn computes them, so the float64 runs agree
    # to rounding
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        topt = getattr(torch.optim, torch_name)([t], **kwargs)
        for _ in range(20):
            g = rng.standard_normal(1000)
            p.grad = g
            t.grad = torch.tensor(g)
            opt.step()
            topt.step()
    finally:
        torch.set_default_dtype(previous)
    assert_close(p.data, t.numpy(), rtol=1e-10, atol=1e-12)


def test_many_arrays_aliasing_is_detected():
    """More than 16 arrays take the sorted overlap check."""
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(5) for _ in range(8)]
    grads = [np.ones(5) for _ in range(8)]
    m = [np.zeros(5) for _ in range(8)]
    v = [np.zeros(5) for _ in range(8)]
    F.adam_(params, grads, m, v, step=1)  # 32 distinct arrays: fine
    shared = np.zeros(12)
    v[3] = shared[:5]
    m[6] = shared[4:9]
    before = _snapshot(params)
    with pytest.raises(ValueError, match=r"exp_avg\[6\] and exp_avg_sq\[3\] share memory|"
                                         r"exp_avg_sq\[3\] and exp_avg\[6\] share memory"):
        F.adam_(params, grads, m, v, step=2)
    for a, b in zip(params, before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_grad_norm_is_identical_on_every_simd_level(norm_type, dtype, simd_level):
    data = np.random.default_rng(2).standard_normal(100_019).astype(dtype)
    value = F.grad_norm([data], norm_type=norm_type)
    fastnn.set_simd_level("baseline")
    assert F.grad_norm([data], norm_type=norm_type) == value


# ------------------------------------------------------------------ Optimizer classes: validation

def test_step_with_closure_like_torch():
    p = fastnn.Parameter(np.array([1.0, 2.0]))
    opt = SGD([p], lr=0.5)
    calls = []

    def closure():
        calls.append(1)
        p.grad = 2 * p.data  # d/dp of sum(p**2)
        return float(np.sum(p.data ** 2))

    loss = opt.step(closure)
    assert loss == 5.0 and len(calls) == 1
    assert_close(p.data, np.array([0.0, 0.0]))
    assert opt.step() is None


@pytest.mark.parametrize("cls", [SGD, Adagrad, RMSprop, Adam, AdamW, NAdam, RAdam, Lion])
def test_mixed_dtypes_in_one_group_raise_at_construction(cls):
    a, b = np.ones(3, np.float32), np.ones(3, np.float64)
    with pytest.raises(TypeError, match="one dtype per param group"):
        cls([a, b], lr=0.1)
    opt = cls([{"params": [a]}, {"params": [b]}], lr=0.1)  # separate groups are fine
    assert len(opt.param_groups) == 2


BAD_OPTIONS = [
    (Adam, dict(betas=(1.5, 0.9)), ValueError, r"betas\[0\]"),
    (Adam, dict(betas=(0.9, 1.0)), ValueError, r"betas\[1\]"),
    (Adam, dict(betas=(-0.1, 0.9)), ValueError, r"betas\[0\]"),
    (Adam, dict(betas=(0.9,)), ValueError, "betas"),
    (Adam, dict(eps=-1e-8), ValueError, "eps"),
    (Adam, dict(weight_decay=-1), ValueError, "weight_decay"),
    (Adam, dict(amsgrad="yes"), TypeError, "amsgrad"),
    (AdamW, dict(betas=(0.9, 2.0)), ValueError, r"betas\[1\]"),
    (NAdam, dict(betas=(1.0, 0.9)), ValueError, r"betas\[0\]"),
    (NAdam, dict(momentum_decay=-1), ValueError, "momentum_decay"),
    (RAdam, dict(betas=(0.9, float("nan"))), ValueError, r"betas\[1\]"),
    (Lion, dict(betas=(0.9, 1.5)), ValueError, r"betas\[1\]"),
    (SGD, dict(momentum=-0.5), ValueError, "momentum"),
    (SGD, dict(lr=float("inf")), ValueError, "learning rate"),
    (SGD, dict(nesterov=True), ValueError, "Nesterov"),
    (SGD, dict(l1=-1), ValueError, "l1"),
    (Adagrad, dict(lr_decay=-1), ValueError, "lr_decay"),
    (Adagrad, dict(eps=float("nan")), ValueError, "eps"),
    (Adagrad, dict(initial_accumulator_value=-1), ValueError, "initial_accumulator_value"),
    (RMSprop, dict(alpha=1.5), ValueError, "alpha"),
    (RMSprop, dict(momentum=-1), ValueError, "momentum"),
    (RMSprop, dict(eps="1e-8"), TypeError, "eps"),
]


@pytest.mark.parametrize("cls,kwargs,err,match", BAD_OPTIONS,
                         ids=[f"{c.__name__}-{list(k)[0]}" for c, k, _, _ in BAD_OPTIONS])
def test_bad_options_raise_at_construction(cls, kwargs, err, match):
    with pytest.raises(err, match=match):
        cls([np.ones(3)], **kwargs)
    opt = cls([np.ones(3)])
    with pytest.raises(err, match=match):
        opt.add_param_group(dict({"params": [np.ones(2)]}, **kwargs))
    assert len(opt.param_groups) == 1


def test_option_changed_to_a_bad_value_raises_before_any_update():
    a, b = np.ones(3), np.ones(3)
    opt = Adam([{"params": [a]}, {"params": [b]}], lr=0.1)
    opt.param_groups[1]["betas"] = (1.5, 0.9)
    with pytest.raises(ValueError, match="betas"):
        opt.step([np.ones(3), np.ones(3)])
    np.testing.assert_array_equal(a, np.ones(3))  # group 0 was not stepped either
    assert opt.state == {}


def test_bad_gradient_raises_before_any_update():
    a, b = np.ones(3), np.ones(4)
    opt = Adam([a, b], lr=0.1)
    with pytest.raises(ValueError, match="parameter 1"):
        opt.step([np.ones(3), np.ones(3)])
    with pytest.raises(TypeError, match="parameter 1"):
        opt.step([np.ones(3), np.ones(4, np.float32)])
    np.testing.assert_array_equal(a, np.ones(3))
    opt.step([np.ones(3), np.ones(4, ">f8")])  # a byte-swapped gradient is only read
    assert_close(a, np.full(3, 1 - 0.1 / (1 + 1e-8)))
    assert_close(b, np.full(4, 1 - 0.1 / (1 + 1e-8)))


def _trained(cls, **kwargs):
    params = _model()
    opt = cls(params, **kwargs)
    _train(opt, params, 2, seed=0)
    return params, opt


def _same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].keys() == b[k].keys()
        for name in a[k]:
            np.testing.assert_array_equal(a[k][name], b[k][name])


BAD_STATES = [
    ("missing exp_avg_sq", lambda st: st["state"][0].pop("exp_avg_sq"), KeyError, "exp_avg_sq"),
    ("empty per-parameter dict", lambda st: st["state"].__setitem__(1, {}), KeyError, "step"),
    ("missing step", lambda st: st["state"][2].pop("step"), KeyError, "step"),
    ("unexpected key", lambda st: st["state"][0].__setitem__("foo", np.zeros((4, 3))),
     KeyError, "foo"),
    ("wrong shape", lambda st: st["state"][0].__setitem__("exp_avg", np.zeros(3)), ValueError,
     "exp_avg"),
    ("integer dtype", lambda st: st["state"][0].__setitem__("exp_avg",
                                                           np.zeros((4, 3), np.int64)),
     ValueError, "exp_avg"),
    ("list instead of array", lambda st: st["state"][0].__setitem__("exp_avg", [0.0]),
     TypeError, "exp_avg"),
    ("float step", lambda st: st["state"][0].__setitem__("step", 2.0), TypeError, "step"),
    ("negative step", lambda st: st["state"][0].__setitem__("step", -1), ValueError, "step"),
    ("parameter out of range", lambda st: st["state"].__setitem__(7, {}), ValueError, "7"),
    ("bad key", lambda st: st["state"].__setitem__("x", {}), KeyError, "x"),
    ("amsgrad switched on without its state",
     lambda st: st["param_groups"][0].__setitem__("amsgrad", True), KeyError, "max_exp_avg_sq"),
    ("bad option", lambda st: st["param_groups"][0].__setitem__("betas", (1.5, 0.9)),
     ValueError, "betas"),
    ("no state", lambda st: st.pop("state"), KeyError, "state"),
    ("group without params", lambda st: st["param_groups"][0].pop("params"), TypeError,
     "params"),
]


def test_load_state_dict_casts_floating_state_to_the_parameters_dtype():
    """State saved in another float precision is cast, as torch does."""
    params, opt = _trained(Adam, lr=0.01)
    state = opt.state_dict()
    for s in state["state"].values():
        for k in ("exp_avg", "exp_avg_sq"):
            s[k] = s[k].astype(np.float32)
    expected = {k: {n: (v.astype(np.float32).astype(params[0].dtype)
                        if isinstance(v, np.ndarray) else v) for n, v in s.items()}
                for k, s in opt.state_dict()["state"].items()}
    opt.load_state_dict(state)
    after = opt.state_dict()["state"]
    for k in expected:
        for name, v in expected[k].items():
            if isinstance(v, np.ndarray):
                assert after[k][name].dtype == params[0].dtype
            np.testing.assert_array_equal(after[k][name], v)
    _train(opt, params, 1, seed=5)


@pytest.mark.parametrize("what,corrupt,err,match", BAD_STATES, ids=[b[0] for b in BAD_STATES])
def test_load_state_dict_validates_everything_first(what, corrupt, err, match):
    params, opt = _trained(Adam, lr=0.01)
    before = opt.state_dict()
    state = opt.state_dict()
    corrupt(state)
    with pytest.raises(err, match=match):
        opt.load_state_dict(state)
    # unchanged, and still steps
    after = opt.state_dict()
    _same_state(after["state"], before["state"])
    assert after["param_groups"] == before["param_groups"]
    _train(opt, params, 1, seed=5)


@pytest.mark.parametrize("cls,kwargs,name", CLASS_SPECS, ids=[c[2] for c in CLASS_SPECS])
def test_load_state_dict_requires_each_optimizers_state(cls, kwargs, name):
    """Dropping any one state entry of any optimizer is refused."""
    params, opt = _trained(cls, **kwargs)
    state = opt.state_dict()
    for key in list(state["state"][0]):
        bad = opt.state_dict()
        del bad["state"][0][key]
        with pytest.raises(KeyError, match=key):
            opt.load_state_dict(bad)
    opt.load_state_dict(state)
    _train(opt, params, 1, seed=3)


def test_load_state_dict_keeps_options_of_others():
    """A scheduler's initial_lr in the groups loads like in torch."""
    params, opt = _trained(Adam, lr=0.01)
    fastnn.optim.lr_scheduler.StepLR(opt, step_size=1)
    state = opt.state_dict()
    assert "initial_lr" in state["param_groups"][0]
    params2 = _model()
    opt2 = Adam(params2, lr=0.01)
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]["initial_lr"] == 0.01


def test_load_state_dict_keeps_optional_state_and_converts_byte_order():
    params, opt = _trained(SGD, lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["param_groups"][0]["momentum"] = 0.0  # a buffer kept after momentum went off
    state["state"][0]["momentum_buffer"] = state["state"][0]["momentum_buffer"].astype(">f8")
    opt.load_state_dict(state)
    assert opt.state[id(params[0])]["momentum_buffer"].dtype == np.float64
    assert opt.state[id(params[0])]["momentum_buffer"].dtype.isnative
    _train(opt, params, 1, seed=3)


@pytest.mark.parametrize("dampening", [0.0, 0.5])
def test_sgd_momentum_switched_on_starts_its_buffer_at_the_gradient(dampening):
    # torch.optim.SGD sets a parameter's momentum buffer to its gradient at the
    # first step that has momentum, whatever the step count: with dampening the
    # buffer is g, not (1 − dampening)·g
    rng = np.random.default_rng(3)
    w = rng.standard_normal(5)
    p, ref = fastnn.Parameter(w.copy()), w.copy()
    opt = SGD([p], lr=0.1)
    buf = np.zeros(5)
    for step in range(1, 7):
        g = rng.standard_normal(5)
        if step == 3:
            opt.param_groups[0].update(momentum=0.9, dampening=dampening)
        p.grad = g.copy()
        opt.step()
        if step < 3:
            R.sgd(ref, g, None, lr=0.1)
        else:
            R.sgd(ref, g, buf, lr=0.1, momentum=0.9, dampening=dampening, step=step - 2)
    assert_close(p.data, ref)
