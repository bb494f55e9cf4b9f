"""Layers and models of fastnn.nn: forward against the references, backward
against finite differences, workspaces, state, validation."""
import numpy as np
import pytest

import fastnn
from fastnn import nn
from fastnn import reference as R
from fastnn.functional.regularizers import L2
from conftest import assert_close


def _noise_layers(model):
    mods = [model] + [m for m in _walk(model)]
    return [m for m in mods if hasattr(m, "offset") and isinstance(m.offset, np.ndarray)]


def _walk(m):
    for c in m.children():
        yield c
        yield from _walk(c)


def _loss_and_grads(model, x, r):
    """sum(model(x)·r) and its gradients by backward, with fixed noise streams."""
    for m in _noise_layers(model):
        m.offset[...] = 0
    model.zero_grad()
    y = model.forward(x)
    value = float(np.sum(y * r))
    dx = model.backward(r.copy())
    return value, None if dx is None else dx.copy(), [p.grad.copy() for p in model.parameters()]


def _value(model, x, r):
    for m in _noise_layers(model):
        m.offset[...] = 0
    return float(np.sum(model.forward(x) * r))


def _check_grads(model, x, n_checks=6, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    rng = np.random.default_rng(seed)
    y = model.forward(x)
    r = rng.standard_normal(y.shape)
    _, dx, grads = _loss_and_grads(model, x, r)
    arrays = [(x, dx)] + [(p.data, g) for p, g in zip(model.parameters(), grads)]
    for a, g in arrays:
        if g is None:
            continue
        flat = a.reshape(-1)
        for i in rng.choice(flat.size, min(n_checks, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + eps
            up = _value(model, x, r)
            flat[i] = old - eps
            down = _value(model, x, r)
            flat[i] = old
            np.testing.assert_allclose(g.reshape(-1)[i], (up - down) / (2 * eps),
                                       rtol=rtol, atol=atol)


# ------------------------------------------------------------------ Linear

@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 33])
@pytest.mark.parametrize("act", ["identity", "relu", "tanh", "gelu", "leaky_relu"])
def test_linear_forward_backward_matches_reference(dtype, n, act, rng):
    layer = nn.Linear(7, 5, activation=act, dtype=dtype, seed=1)
    x = rng.standard_normal((n, 7)).astype(dtype)
    y = layer.forward(x)
    z = x.astype(np.float64) @ layer.weight.data.T.astype(np.float64) + layer.bias.data
    assert_close(y, R.ref_activation(z, act).astype(dtype), dtype, atol=1e-5)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = layer.backward(dy)
    ref = R.ref_dense_backward(dy, x, layer.weight.data, z.astype(dtype), act)
    assert_close(dx, ref[0], dtype, atol=1e-4)
    assert_close(layer.weight.grad, ref[1], dtype, atol=1e-4)
    assert_close(layer.bias.grad, ref[2], dtype, atol=1e-4)


def test_linear_simd_levels_agree(simd_level, rng):
    layer = nn.Linear(19, 17, activation="gelu", dtype=np.float64, seed=3)
    x = rng.standard_normal((17, 19))
    _check_grads(layer, x)


@pytest.mark.parametrize("act", ["identity", "relu", "sigmoid", "elu", "silu", "softplus",
                                 "prelu"])
def test_linear_gradients_finite_differences(act, rng):
    layer = nn.Linear(6, 4, activation=act, dtype=np.float64, seed=2)
    _check_grads(layer, rng.standard_normal((5, 6)))


def test_linear_no_bias_and_initializers(rng):
    for init in ["xavier_uniform", "xavier_normal", "he_normal", "kaiming_uniform",
                 "glorot_uniform", "orthogonal", "zeros"]:
        layer = nn.Linear(30, 20, bias=False, kernel_initializer=init, seed=5)
        assert layer.bias is None and len(layer.parameters()) == 1
        if init == "zeros":
            assert not layer.weight.data.any()
        else:
            assert layer.weight.data.std() > 0
    a = nn.Linear(30, 20, seed=9).weight.data
    b = nn.Linear(30, 20, seed=9).weight.data
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() <= 1 / np.sqrt(30)
    he = nn.Linear(400, 300, kernel_initializer="he_normal", seed=1).weight.data
    assert abs(he.std() - np.sqrt(2 / 400)) < 0.01


def test_linear_regularizers_add_gradient_and_penalty(rng):
    layer = nn.Linear(4, 3, dtype=np.float64, kernel_regularizer=L2(0.1), bias_regularizer="l1",
                      seed=0)
    x = rng.standard_normal((5, 4))
    y = layer.forward(x)
    dy = np.ones_like(y)
    layer.backward(dy)
    plain = nn.Linear(4, 3, dtype=np.float64, seed=0)
    plain.forward(x)
    plain.backward(dy)
    assert_close(layer.weight.grad, plain.weight.grad + 2 * 0.1 * layer.weight.data)
    assert_close(layer.bias.grad, plain.bias.grad + 0.01 * np.sign(layer.bias.data))
    expected = 0.1 * np.sum(layer.weight.data ** 2) + 0.01 * np.sum(np.abs(layer.bias.data))
    assert layer.penalty() == pytest.approx(expected)


def test_linear_activity_regularizer(rng):
    layer = nn.Linear(4, 3, dtype=np.float64, activity_regularizer=L2(0.5), seed=0)
    x = rng.standard_normal((5, 4))
    y = layer.forward(x).copy()
    assert layer.penalty() == pytest.approx(0.5 * np.sum(y ** 2))
    dy = np.zeros_like(y)
    layer.backward(dy)
    assert not dy.any()  # the caller's gradient is not written
    np.testing.assert_allclose(layer.bias.grad, (2 * 0.5 * y).sum(axis=0), rtol=1e-12)


def test_linear_bad_inputs_raise_and_leave_arrays_untouched(rng):
    layer = nn.Linear(4, 3, seed=0)
    w = layer.weight.data.copy()
    with pytest.raises(TypeError, match="dtype"):
        layer.forward(np.zeros((2, 4)))
    with pytest.raises(TypeError, match="x"):
        layer.forward([[0.0] * 4])
    with pytest.raises(ValueError, match="x.shape"):
        layer.forward(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 3)
    with pytest.raises(TypeError, match="out_features"):
        nn.Linear(3, 2.5)
    with pytest.raises(ValueError, match="activation"):
        nn.Linear(3, 2, activation="nope")
    with pytest.raises(TypeError, match="dtype"):
        nn.Linear(3, 2, dtype=np.int32)
    with pytest.raises(RuntimeError):
        nn.Linear(3, 2).backward(np.zeros((1, 2), np.float32))
    layer.forward(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="dy"):
        layer.backward(np.zeros((3, 3), np.float32))
    np.testing.assert_array_equal(layer.weight.data, w)
    assert layer.weight.grad is None


def test_gradients_accumulate(rng):
    layer = nn.Linear(4, 3, dtype=np.float64, seed=0)
    x = rng.standard_normal((5, 4))
    y = layer.forward(x)
    layer.backward(np.ones_like(y))
    g1 = layer.weight.grad.copy()
    layer.forward(x)
    layer.backward(np.ones_like(y))
    assert_close(layer.weight.grad, 2 * g1)
    layer.zero_grad()
    assert layer.weight.grad is None


# ------------------------------------------------------------------ activations

@pytest.mark.parametrize("cls,name,kw", [(nn.ReLU, "relu", {}), (nn.Tanh, "tanh", {}),
                                         (nn.Sigmoid, "sigmoid", {}),
                                         (nn.LeakyReLU, "leaky_relu", {"negative_slope": 0.2}),
                                         (nn.ELU, "elu", {"alpha": 0.7}),
                                         (nn.GELU, "gelu", {"approximate": "tanh"}),
                                         (nn.SiLU, "silu", {}), (nn.Softplus, "softplus", {}),
                                         (nn.Identity, "identity", {})])
def test_activation_layers(cls, name, kw, dtype, rng):
    layer = cls(**kw)
    x = rng.standard_normal((17, 5)).astype(dtype)
    assert_close(layer.forward(x), R.ref_activation(x, name, **kw).astype(dtype), dtype,
                 atol=1e-5)
    if dtype == np.float64:
        _check_grads(layer, x)


def test_prelu_layer(rng):
    layer = nn.PReLU(3, dtype=np.float64)
    assert np.all(layer.weight.data == 0.25)
    x = rng.standard_normal((6, 3, 4))
    _check_grads(layer, x)
    with pytest.raises(TypeError, match="dtype"):
        layer.forward(x.astype(np.float32))


# ------------------------------------------------------------------ normalization

@pytest.mark.parametrize("shape", [(16, 5), (7, 3, 9)])
def test_batchnorm1d(shape, dtype, rng):
    bn = nn.BatchNorm1d(shape[1], dtype=dtype)
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    y = bn.forward(x)
    rm, rv = np.zeros(shape[1], dtype), np.ones(shape[1], dtype)
    ref = R.batch_norm(x, np.ones(shape[1], dtype), np.zeros(shape[1], dtype), rm, rv)
    assert_close(y, ref[0], dtype, atol=1e-5)
    assert_close(bn.running_mean, rm, dtype, atol=1e-6)
    assert int(bn.num_batches_tracked) == 1
    bn.eval()
    ref_eval = R.batch_norm(x, np.ones(shape[1], dtype), np.zeros(shape[1], dtype), rm, rv,
                            training=False)
    assert_close(bn.forward(x), ref_eval[0], dtype, atol=1e-5)
    assert int(bn.num_batches_tracked) == 1


def test_batchnorm_gradients(rng):
    bn = nn.BatchNorm1d(4, dtype=np.float64)
    bn.weight.data[:] = rng.standard_normal(4)
    bn.bias.data[:] = rng.standard_normal(4)
    _check_grads(bn, rng.standard_normal((9, 4)))
    bn2 = nn.BatchNorm2d(3, dtype=np.float64)
    _check_grads(bn2, rng.standard_normal((4, 3, 2, 3)))
    with pytest.raises(ValueError, match="4 dimensions"):
        bn2.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="channels"):
        bn.forward(np.zeros((4, 5)))


def test_layernorm_groupnorm(dtype, rng):
    ln = nn.LayerNorm(6, dtype=dtype)
    x = rng.standard_normal((5, 6)).astype(dtype)
    assert_close(ln.forward(x), R.layer_norm(x, (6,))[0], dtype, atol=1e-5)
    gn = nn.GroupNorm(2, 4, dtype=dtype)
    x4 = rng.standard_normal((3, 4, 5)).astype(dtype)
    assert_close(gn.forward(x4), R.group_norm(x4, 2)[0], dtype, atol=1e-5)
    if dtype == np.float64:
        _check_grads(ln, x)
        _check_grads(gn, x4)
    with pytest.raises(ValueError, match="divide"):
        nn.GroupNorm(3, 4)


# ------------------------------------------------------------------ noise, flatten

def test_dropout_layers(dtype, rng):
    d = nn.Dropout(0.5, seed=3)
    x = rng.standard_normal((64, 32)).astype(dtype) + 3
    y = d.forward(x).copy()
    kept = y != 0
    assert 0.3 < kept.mean() < 0.7
    assert_close(y[kept], 2 * x[kept], dtype)
    dx = d.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx != 0, kept)
    y2 = d.forward(x)
    assert not np.array_equal(y2 != 0, kept)  # a fresh mask each step
    d.eval()
    assert d.forward(x) is x
    d2 = nn.Dropout2d(0.5, seed=1)
    x4 = rng.standard_normal((8, 6, 3, 3)).astype(dtype) + 5
    y4 = d2.forward(x4)
    zero_channels = (y4 == 0).all(axis=(2, 3))
    assert zero_channels.any() and not zero_channels.all()
    g = nn.GaussianNoise(0.1, seed=0)
    yg = g.forward(x)
    assert 0.05 < np.std(yg - x) < 0.15
    assert g.backward(x) is x
    with pytest.raises(ValueError, match="p"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="stddev"):
        nn.GaussianNoise(-1)


def test_dropout_gradients(rng):
    model = nn.Sequential(nn.Linear(5, 8, dtype=np.float64, seed=0), nn.Dropout(0.3, seed=2),
                          nn.Linear(8, 2, dtype=np.float64, seed=1))
    _check_grads(model, rng.standard_normal((4, 5)))


def test_flatten(rng):
    f = nn.Flatten()
    x = rng.standard_normal((2, 3, 4))
    y = f.forward(x)
    assert y.shape == (2, 12) and np.shares_memory(x, y)
    assert f.backward(y).shape == (2, 3, 4)
    assert f.output_shape((None, 3, 4)) == (None, 12)


# ------------------------------------------------------------------ Sequential

def _mlp(dtype=np.float32, seed=0):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Linear(10, 16, dtype=dtype), nn.BatchNorm1d(16, dtype=dtype),
                         nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 16, activation="tanh",
                                                               dtype=dtype),
                         nn.LayerNorm(16, dtype=dtype), nn.Linear(16, 3, dtype=dtype))


def test_sequential_gradients(rng):
    _check_grads(_mlp(np.float64), rng.standard_normal((8, 10)), n_checks=4)


def test_sequential_state_dict_roundtrip(tmp_path, rng):
    a, b = _mlp(seed=0), _mlp(seed=1)
    x = rng.standard_normal((8, 10)).astype(np.float32)
    a.forward(x)  # updates running statistics
    keys = list(a.state_dict())
    assert "0.weight" in keys and "1.running_mean" in keys and "3.offset" in keys
    w_obj = b[0].weight.data
    b.load_state_dict(a.state_dict())
    assert b[0].weight.data is w_obj  # loaded in place
    a.eval(), b.eval()
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    path = tmp_path / "model.npz"
    a.save(path)
    c = _mlp(seed=2).load(path)
    c.eval()
    np.testing.assert_array_equal(a.forward(x), c.forward(x))
    before = c.state_dict()
    bad = a.state_dict()
    bad["0.weight"] = bad["0.weight"][:, :3]
    with pytest.raises(ValueError, match="0.weight"):
        c.load_state_dict(bad)
    bad = a.state_dict()
    del bad["1.running_var"]
    with pytest.raises(KeyError, match="running_var"):
        c.load_state_dict(bad)
    bad = a.state_dict()
    bad["6.bias"] = bad["6.bias"].astype(np.float64)
    with pytest.raises(TypeError, match="6.bias"):
        c.load_state_dict(bad)
    for k, v in c.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_train_eval_parameters_summary():
    m = _mlp()
    assert len(m.parameters()) == 3 * 2 + 2 + 2
    assert m.n_parameters() == 10 * 16 + 16 + 32 + 16 * 16 + 16 + 32 + 16 * 3 + 3
    m.eval()
    assert not any(layer.training for layer in m)
    m.train()
    assert all(layer.training for layer in m)
    text = m.summary((10,))
    assert "(None, 3)" in text and f"{m.n_parameters():,}" in text
    assert "Linear" in repr(m)


def test_workspaces_reused_across_steps(rng):
    m = _mlp()
    x = rng.standard_normal((32, 10)).astype(np.float32)
    loss = nn.CrossEntropyLoss()
    labels = rng.integers(0, 3, 32)
    opt = fastnn.optim.Adam(m.parameters())

    def step():
        m.zero_grad()
        out = m.forward(x)
        loss.forward(out, labels)
        m.backward(loss.backward(), input_grad=False)
        opt.step()
        return out, [p.grad for p in m.parameters()]

    out1, g1 = step()
    out2, g2 = step()
    assert out1 is out2
    assert all(a is b for a, b in zip(g1, g2))
    import tracemalloc
    tracemalloc.start()
    step()
    snap1 = tracemalloc.take_snapshot()
    for _ in range(3):
        step()
    snap2 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in snap2.compare_to(snap1, "filename"))
    assert grown < 4096  # no activation-sized array is kept per step


def test_threads_bitwise_identical(rng):
    x = rng.standard_normal((33, 10)).astype(np.float32)
    results = []
    for n in (1, 2):
        with fastnn.threads(n):
            m = _mlp(seed=4)
            out = m.forward(x).copy()
            dx = m.backward(np.ones_like(out)).copy()
            results.append((out, dx, [p.grad.copy() for p in m.parameters()]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    for a, b in zip(results[0][2], results[1][2]):
        np.testing.assert_array_equal(a, b)


def test_losses(rng):
    logits = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    ce = nn.get_loss("cross_entropy")
    value = ce(logits, labels)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert value == pytest.approx(-np.mean(np.log(p[np.arange(6), labels])))
    assert_close(ce.backward(), (p - np.eye(4)[labels]) / 6)
    mse = nn.get_loss("mse")
    t = rng.standard_normal((6, 4))
    assert mse(logits, t) == pytest.approx(np.mean((logits - t) ** 2))
    bce = nn.BCEWithLogitsLoss()
    tb = (t > 0).astype(np.float64)
    ref = np.mean(np.logaddexp(0, logits) - tb * logits)
    assert bce(logits, tb) == pytest.approx(ref)
    with pytest.raises(ValueError, match="loss"):
        nn.get_loss("hinge2")
    with pytest.raises(TypeError, match="loss"):
        nn.get_loss(3)
    with pytest.raises(RuntimeError):
        nn.MSELoss().backward()


@pytest.mark.parametrize("loss", [nn.MSELoss, nn.BCEWithLogitsLoss])
def test_regression_losses_refuse_targets_of_another_shape(loss, rng):
    # the target was reshaped to the output's shape: a transposed target was
    # silently paired with the wrong outputs
    out = rng.standard_normal((4, 3))
    t = (rng.standard_normal((4, 3)) > 0).astype(np.float64)
    ref = loss()(out, t)
    with pytest.raises(ValueError, match=r"target has shape \(3, 4\), which does not match the "
                                         r"output's shape \(4, 3\)"):
        loss()(out, np.ascontiguousarray(t.T))
    with pytest.raises(ValueError, match="target has shape"):
        loss()(out, t.reshape(-1))
    assert loss()(out, t.astype(np.float32)) == ref
    # a missing or extra trailing axis of size 1 is the same target (Keras)
    col = out[:, :1].copy()
    assert loss()(col, t[:, 0]) == loss()(col, t[:, :1])
    assert loss()(col[:, 0], t[:, :1]) == loss()(col[:, 0], t[:, 0])
    x = rng.standard_normal((8, 5)).astype(np.float32)
    m = nn.Sequential(nn.Linear(5, 2))
    with pytest.raises(ValueError, match="target has shape"):
        m.fit(x, np.zeros(8, np.float32), loss=loss())


# ------------------------------------------------------------------ ownership, threads

def _small_model(dtype=np.float32):
    nn.manual_seed(3)
    return nn.Sequential(nn.Linear(6, 8, dtype=dtype), nn.BatchNorm1d(8, dtype=dtype),
                         nn.ReLU(), nn.Dropout(0.25), nn.Linear(8, 3, dtype=dtype))


@pytest.mark.parametrize("training", [True, False])
def test_call_returns_arrays_the_caller_owns(training, rng):
    """model(x) on successive batches of one shape gave one array overwritten
    by every call: the results must be independent arrays."""
    m = _small_model().train(training)
    x = rng.standard_normal((256, 6)).astype(np.float32)
    preds = [m(x[i:i + 64]) for i in range(0, 256, 64)]
    for i in range(len(preds)):
        for j in range(i + 1, len(preds)):
            assert not np.shares_memory(preds[i], preds[j])
            assert not np.array_equal(preds[i], preds[j])
    if not training:  # eval mode is deterministic: each equals a fresh call
        for i, p in zip(range(0, 256, 64), preds):
            np.testing.assert_array_equal(p, m(x[i:i + 64]))
    # forward() in training mode keeps reusing its workspace (fit's fast path)
    m.train()
    assert m.forward(x[:64]) is m.forward(x[64:128])
    # out= receives the result
    out = np.empty((64, 3), np.float32)
    assert m(x[:64], out=out) is out
    with pytest.raises(ValueError, match="out"):
        m(x[:64], out=np.empty((63, 3), np.float32))


def test_predict_from_threads_on_one_model(rng):
    """4 threads calling predict on one model (in training mode, with
    BatchNorm and Dropout) each get the eval-mode result, and the model's
    mode is unchanged afterwards."""
    import threading

    m = _small_model()
    m.train()
    x = rng.standard_normal((4, 300, 6)).astype(np.float32)
    m.forward(x[0])  # move the running statistics away from their start
    m.eval()
    expected = [np.concatenate([m.forward(xi[s:s + 64]) for s in range(0, 300, 64)])
                for xi in x]
    m.train()
    barrier = threading.Barrier(4)
    results = [None] * 4
    errors = []

    def work(i):
        try:
            barrier.wait()
            results[i] = [m.predict(x[i], batch_size=64) for _ in range(20)]
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i in range(4):
        assert len(results[i]) == 20
        for r in results[i]:
            np.testing.assert_array_equal(r, expected[i])
    assert m.training and all(layer.training for layer in m)


def test_eval_mode_forward_from_threads(rng):
    """model(x) in eval mode from several threads: no shared buffer."""
    import threading

    m = _small_model().eval()
    x = rng.standard_normal((4, 128, 6)).astype(np.float32)
    expected = [m(xi) for xi in x]
    barrier = threading.Barrier(4)
    bad = []

    def work(i):
        barrier.wait()
        for _ in range(50):
            if not np.array_equal(m(x[i]), expected[i]):
                bad.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def test_inference_mode_is_per_thread(rng):
    import threading

    m = _small_model()
    seen = {}
    with nn.inference_mode():
        assert not m.training and not m[1].training
        t = threading.Thread(target=lambda: seen.setdefault("other", m.training))
        t.start()
        t.join()
    assert m.training and seen["other"]


def test_training_from_two_threads_raises(rng):
    """Concurrent training calls on one model raise RuntimeError instead of
    corrupting each other's saved activations."""
    import threading

    m = _small_model()
    x = rng.standard_normal((32, 6)).astype(np.float32)
    inside = threading.Event()
    release = threading.Event()
    layer = m[0]
    original = type(layer).__dict__["forward"]

    class Slow(nn.Linear):
        def forward(self, x):
            inside.set()
            release.wait(5)
            return original(self, x)

    layer.__class__ = Slow
    t = threading.Thread(target=lambda: m.forward(x))
    t.start()
    assert inside.wait(5)
    try:
        with pytest.raises(RuntimeError, match="another thread"):
            m.forward(x)
    finally:
        release.set()
        t.join()
    layer.__class__ = nn.Linear
    # a backward on another thread than its training forward
    m.forward(x)
    errors = []

    def back():
        try:
            m.backward(np.ones((32, 3), np.float32))
        except RuntimeError as e:
            errors.append(e)

    t = threading.Thread(target=back)
    t.start()
    t.join()
    assert errors and "another thread" in str(errors[0])
    m.backward(np.ones((32, 3), np.float32))  # the owning thread may


def test_optimizer_step_from_two_threads_raises():
    import threading

    p = fastnn.Parameter(np.ones(3))
    opt = fastnn.optim.SGD([p], lr=0.1)
    inside, release = threading.Event(), threading.Event()

    def slow_closure():
        inside.set()
        release.wait(5)
        p.grad = np.ones(3)
        return 1.0

    t = threading.Thread(target=lambda: opt.step(slow_closure))
    t.start()
    assert inside.wait(5)
    try:
        p.grad = np.ones(3)
        with pytest.raises(RuntimeError, match="another thread"):
            opt.step()
    finally:
        release.set()
        t.join()
    assert_close(p.data, np.full(3, 0.9))


def test_models_and_optimizers_copy_and_pickle_after_training(rng):
    import copy
    import pickle

    m = _small_model()
    x = rng.standard_normal((16, 6)).astype(np.float32)
    opt = fastnn.optim.Adam(m.parameters())
    m.zero_grad()
    m.forward(x)
    m.backward(np.ones((16, 3), np.float32))
    opt.step()
    m2 = copy.deepcopy(m)
    m3 = pickle.loads(pickle.dumps(m))
    opt2 = copy.deepcopy(opt)
    m.eval(), m2.eval(), m3.eval()
    np.testing.assert_array_equal(m2(x), m(x))
    np.testing.assert_array_equal(m3(x), m(x))
    m2.train()
    m2.forward(x)  # its own lock, usable at once
    m2.backward(np.ones((16, 3), np.float32))
    opt2.step()
