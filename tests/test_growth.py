"""Tests of fastnn.growth: adding neurons to a Dense layer keeps the network's
function, the optimizer's state and the pruning masks; the strategies for
the new weights; the GrowOnPlateau callback; bad inputs."""
import copy

import numpy as np
import pytest

import fastnn
from fastnn import nn, optim
from fastnn.growth import INITS, GrowOnPlateau, grow_dense, resize_optimizer_state
from fastnn.pruning import Pruner
from fastnn.training import _Trainer

from conftest import assert_close

ACTS = ["identity", "relu", "leaky_relu", "prelu", "elu", "gelu", "silu", "sigmoid", "tanh",
        "softplus"]


def _between(kind, width, dtype):
    """Layers between the grown Linear and the next one."""
    return {
        "none": [],
        "bn": [nn.BatchNorm1d(width, dtype=dtype)],
        "bn_act": [nn.BatchNorm1d(width, dtype=dtype), nn.Activation("tanh")],
        "act_bn": [nn.ReLU(), nn.BatchNorm1d(width, dtype=dtype)],
        "prelu_channels": [nn.PReLU(width, init=0.1, dtype=dtype)],
        "prelu_shared": [nn.PReLU(1, dtype=dtype)],
        "bn_prelu_dropout": [nn.BatchNorm1d(width, dtype=dtype),
                             nn.PReLU(width, dtype=dtype), nn.Dropout(0.3, seed=1)],
        "noise": [nn.GaussianNoise(0.1, seed=2), nn.Dropout2d(0.2, seed=3)],
    }[kind]


def _model(act, kind, dtype, width=6, n_in=5, n_out=4, seed=0):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, width, activation=act, dtype=dtype),
                         *_between(kind, width, dtype),
                         nn.Linear(width, n_out, activation="tanh", dtype=dtype),
                         nn.Linear(n_out, 3, dtype=dtype))


def _data(rng, dtype, n=40, n_in=5, n_classes=3):
    return (rng.standard_normal((n, n_in)).astype(dtype), rng.integers(0, n_classes, n))


def _train(model, x, y, opt, epochs=2):
    model.fit(x, y, optimizer=opt, epochs=epochs, batch_size=8, shuffle=False)


def _snapshot(model):
    return [(name, p.data.copy()) for name, p in model.named_parameters()] + \
        [(name, np.array(b, copy=True)) for name, b in model.named_buffers()]


def _outputs(model, x, training):
    model.train(training)
    out = np.array(model.forward(x), copy=True)
    model.train()
    return out


# ------------------------------------------------------------------ function


@pytest.mark.parametrize("kind", ["none", "bn", "bn_act", "act_bn", "prelu_channels",
                                  "prelu_shared", "bn_prelu_dropout", "noise"])
@pytest.mark.parametrize("act", ACTS)
def test_growth_keeps_every_old_value_and_adds_zero_outgoing_weights(act, kind, dtype, rng):
    model = _model(act, kind, dtype)
    x, y = _data(rng, dtype)
    _train(model, x, y, optim.Adam(model.parameters(), lr=1e-2))
    before = dict(_snapshot(model))
    info = grow_dense(model, 0, 3, init="random", seed=5)
    assert (info.old_size, info.new_size) == (6, 9)
    after = dict(_snapshot(model))
    assert after.keys() == before.keys()
    for name, old in before.items():
        new = after[name]
        block = new[tuple(slice(0, s) for s in old.shape)]
        assert block.dtype == old.dtype
        np.testing.assert_array_equal(np.atleast_1d(block).view(np.uint8),
                                      np.atleast_1d(old).view(np.uint8), err_msg=name)
    nxt = info.next_layer
    assert nxt.weight.shape == (4, 9)
    assert np.all(nxt.weight.data[:, 6:] == 0)
    assert model[0].weight.shape == (9, 5) and model[0].bias.shape == (9,)
    for m in model:
        if isinstance(m, nn.BatchNorm1d):
            assert m.num_features == 9
            np.testing.assert_array_equal(m.weight.data[6:], 1)
            np.testing.assert_array_equal(m.bias.data[6:], 0)
            np.testing.assert_array_equal(m.running_mean[6:], 0)
            np.testing.assert_array_equal(m.running_var[6:], 1)
        if isinstance(m, nn.PReLU) and m.num_parameters > 1:
            assert m.num_parameters == 9
            np.testing.assert_array_equal(m.weight.data[6:], dtype.type(m.init))


@pytest.mark.parametrize("kind", ["none", "bn", "bn_act", "act_bn", "prelu_channels",
                                  "prelu_shared", "bn_prelu_dropout", "noise"])
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("init", INITS)
def test_growth_keeps_the_function(act, kind, init, dtype, rng):
    """Outputs before and after growth agree, in eval mode and in training
    mode (batch statistics). The arithmetic is exact (every added term is an
    exact zero): the only differences BLAS may introduce come from summing the
    old terms in another order for the new matrix shapes, so the tolerance is
    the usual kernel tolerance."""
    model = _model(act, kind, dtype)
    x, y = _data(rng, dtype)
    _train(model, x, y, optim.Adam(model.parameters(), lr=1e-2))
    noisy = kind in ("bn_prelu_dropout", "noise")
    grown = copy.deepcopy(model)  # a training forward moves the running statistics
    before_eval = _outputs(model, x, False)
    before_train = None if noisy else _outputs(model, x, True)
    grow_dense(grown, 0, 3, init=init, x=x, y=y, seed=7)
    assert_close(_outputs(grown, x, False), before_eval, dtype)
    if not noisy:
        assert_close(_outputs(grown, x, True), before_train, dtype)
    assert np.all(np.isfinite(grown[0].weight.data))


@pytest.mark.parametrize("act", ["identity", "relu", "leaky_relu", "prelu"])
@pytest.mark.parametrize("between", ["none", "prelu_channels", "dropout"])
@pytest.mark.parametrize("n_new", [1, 7, 16])
def test_growth_keeps_outputs_bitwise_in_exact_arithmetic(act, between, n_new, dtype, rng):
    """With dyadic weights and inputs every product and sum is exact, so
    the outputs are bitwise equal whatever order BLAS sums in: the grown
    network computes the same function, bit for bit."""
    def dyadic(shape, bits=4, scale=2):
        return (rng.integers(-scale << bits, scale << bits, shape) / (1 << bits)).astype(dtype)

    layers = [nn.Linear(9, 16, activation=act, dtype=dtype,
                        activation_kwargs={"negative_slope": 0.25} if act == "leaky_relu"
                        else None)]
    if between == "prelu_channels":
        layers.append(nn.PReLU(16, init=0.5, dtype=dtype))
    elif between == "dropout":
        layers.append(nn.Dropout(0.5, seed=3))
    layers += [nn.Linear(16, 33, activation="relu", dtype=dtype), nn.Linear(33, 4, dtype=dtype)]
    model = nn.Sequential(*layers)
    for p in model.parameters():
        if p.size > 1:
            p.data[...] = dyadic(p.shape)
    x = dyadic((37, 9))
    for training in (False, True) if between != "dropout" else (False,):
        before = _outputs(model, x, training)
        assert np.count_nonzero(before) > before.size // 2
        grown = copy.deepcopy(model)
        grow_dense(grown, 0, n_new, init="random", seed=1)
        after = _outputs(grown, x, training)
        np.testing.assert_array_equal(after, before)
        # the hidden layer grown second, by a data-driven rule
        grow_dense(grown, -2, n_new, init="subsample", x=x, seed=2)
        np.testing.assert_array_equal(_outputs(grown, x, training), before)


def test_growth_inside_nested_sequentials_and_by_layer_object(rng):
    inner = nn.Sequential(nn.Linear(5, 4, activation="relu"), nn.BatchNorm1d(4))
    model = nn.Sequential(inner, nn.Sequential(nn.Linear(4, 3)))
    target = inner[0]
    info = grow_dense(model, target, 2)
    assert info.layer is target and info.next_layer is model[1][0]
    assert inner[1].num_features == 6 and model[1][0].in_features == 6
    x = rng.standard_normal((8, 5)).astype(np.float32)
    assert model.forward(x).shape == (8, 3)


def test_grown_model_state_dict_and_summary(rng, tmp_path):
    model = _model("relu", "bn", np.float32)
    grow_dense(model, 0, 2)
    sd = model.state_dict()
    assert sd["0.weight"].shape == (8, 5) and sd["1.running_var"].shape == (8,)
    model.save(tmp_path / "m.npz")
    clone = _model("relu", "bn", np.float32, seed=3)
    grow_dense(clone, 0, 2)
    clone.load(tmp_path / "m.npz")
    for (n1, a), (n2, b) in zip(_snapshot(model), _snapshot(clone)):
        np.testing.assert_array_equal(a, b)
    assert "Total params" in model.summary((5,))


# ------------------------------------------------------------------ layer methods


def test_layer_grow_methods(dtype):
    lin = nn.Linear(3, 2, dtype=dtype, seed=4)
    w0, b0 = lin.weight.data.copy(), lin.bias.data.copy()
    p_w, p_b = lin.weight, lin.bias
    lin.weight.grad = np.ones_like(w0)
    lin.grow(2, weight=np.arange(6).reshape(2, 3), bias=[1.0, 2.0])
    assert lin.weight is p_w and lin.bias is p_b and lin.weight.grad is None
    assert lin.out_features == 4 and lin.weight.data.flags.c_contiguous
    np.testing.assert_array_equal(lin.weight.data[:2], w0)
    np.testing.assert_array_equal(lin.weight.data[2:], np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(lin.bias.data, np.r_[b0, 1.0, 2.0].astype(dtype))
    lin.grow_inputs(3)
    assert lin.in_features == 6 and np.all(lin.weight.data[:, 3:] == 0)
    # default rows: the layer's initializer at the grown shape, last rows
    a = nn.Linear(3, 2, dtype=dtype, seed=9, kernel_initializer="he_normal")
    a.grow(3, seed=11, offset=5)
    ref = np.empty((5, 3), dtype)
    fastnn.init.kaiming_normal_(ref, nonlinearity="relu", seed=11, offset=5)
    np.testing.assert_array_equal(a.weight.data[2:], ref[2:])
    np.testing.assert_array_equal(a.bias.data[2:], 0)
    nob = nn.Linear(3, 2, bias=False)
    nob.grow(1)
    assert nob.bias is None and nob.weight.shape == (3, 3)
    with pytest.raises(ValueError, match="no bias"):
        nob.grow(1, bias=[0.0])
    with pytest.raises(ValueError, match="weight has shape"):
        lin.grow(1, weight=np.zeros((2, 6)))
    with pytest.raises(ValueError, match="finite"):
        lin.grow(1, weight=np.full((1, 6), np.nan))
    with pytest.raises(ValueError, match="n_new"):
        lin.grow_inputs(0)
    bn = nn.BatchNorm1d(2, affine=False, dtype=dtype)
    bn.grow(1)
    assert bn.weight is None and bn.running_mean.shape == (3,)
    assert dict(bn.named_buffers())["running_var"] is bn.running_var
    with pytest.raises(ValueError, match="shared slope"):
        nn.PReLU(1).grow(2)


# ------------------------------------------------------------------ optimizer state

OPTIMIZERS = {
    "sgd_momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
    "sgd_nesterov_wd": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True,
                                            weight_decay=1e-2),
    "adam": lambda ps: optim.Adam(ps, lr=1e-2),
    "adam_amsgrad_wd": lambda ps: optim.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=1e-2),
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-2),
    "rmsprop_centered": lambda ps: optim.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True),
    "adagrad": lambda ps: optim.Adagrad(ps, lr=0.05, initial_accumulator_value=0.1),
    "nadam": lambda ps: optim.NAdam(ps, lr=1e-2),
    "radam": lambda ps: optim.RAdam(ps, lr=1e-2),
    "lion": lambda ps: optim.Lion(ps, lr=1e-3, weight_decay=0.1),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_kept_bit_for_bit(name, dtype, rng):
    model = _model("relu", "bn", dtype)
    x, y = _data(rng, dtype)
    opt = OPTIMIZERS[name](model.parameters())
    _train(model, x, y, opt, epochs=1)
    params = model.parameters()
    old = {id(p): copy.deepcopy(opt.state[id(p)]) for p in params}
    old_shapes = {id(p): p.shape for p in params}
    fresh = {id(p): opt._init_state(opt.param_groups[0], p.data) for p in params}
    grow_dense(model, 0, 3, optimizer=opt, init="subsample", x=x, seed=3)
    grown = [p for p in params if p.shape != old_shapes[id(p)]]
    assert len(grown) == 5  # W0, b0, gamma, beta, W1
    for p in params:
        state, prev = opt.state[id(p)], old[id(p)]
        assert state.keys() == prev.keys()
        block = tuple(slice(0, s) for s in old_shapes[id(p)])
        for k, v in prev.items():
            if not isinstance(v, np.ndarray):
                assert state[k] == v, k  # step, mu_product
                continue
            assert state[k].shape == p.shape and state[k].dtype == p.dtype
            assert state[k].flags.c_contiguous
            np.testing.assert_array_equal(state[k][block].view(np.uint8), v.view(np.uint8))
            rest = np.ones(p.shape, bool)
            rest[block] = False
            init = fresh[id(p)].get(k)
            expect = 0 if init is None or not init.size else init.reshape(-1)[0]
            assert np.all(state[k][rest] == expect), k
    # the optimizer state_dict round-trips with the new shapes
    opt.load_state_dict(opt.state_dict())


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_after_growth_updates_old_entries_as_before(name, dtype, rng):
    """The next step moves the existing weights exactly as the same optimizer
    (same state) moves them without the growth, given their gradients."""
    model = _model("tanh", "none", dtype)
    x, y = _data(rng, dtype)
    opt = OPTIMIZERS[name](model.parameters())
    _train(model, x, y, opt, epochs=1)
    params = model.parameters()
    shadow = [fastnn.Parameter(p.data.copy()) for p in params]
    shadow_opt = OPTIMIZERS[name](shadow)
    shadow_opt.load_state_dict(opt.state_dict())
    grow_dense(model, 0, 4, optimizer=opt, seed=1)
    for p, s in zip(params, shadow):
        p.grad = rng.standard_normal(p.shape).astype(dtype)
        s.grad = p.grad[tuple(slice(0, n) for n in s.shape)].copy()
    opt.step()
    shadow_opt.step()
    for p, s in zip(params, shadow):
        np.testing.assert_array_equal(p.data[tuple(slice(0, n) for n in s.shape)], s.data)


def test_resize_optimizer_state_without_state_is_a_noop():
    p = fastnn.Parameter(np.zeros(3))
    opt = optim.Adam([p])
    p.data = np.zeros(5)
    resize_optimizer_state(opt, p, (3,))
    assert opt.state == {}


@pytest.mark.parametrize("name", ["adam", "sgd_momentum", "lion"])
def test_training_continues_after_growth_and_the_loss_goes_down(name, rng):
    x, y = _data(rng, np.float32, n=200)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.5)
    model = _model("relu", "bn", np.float32, width=2)
    opt = OPTIMIZERS[name](model.parameters())
    _train(model, x, y, opt, epochs=5)
    at_growth = model.evaluate(x, y)["loss"]
    grow_dense(model, 0, 16, optimizer=opt, init="worst_fit", x=x, y=y, seed=0)
    assert model.evaluate(x, y)["loss"] == pytest.approx(at_growth, rel=1e-5)
    hist = model.fit(x, y, optimizer=opt, epochs=15, batch_size=8, seed=1)
    assert hist["loss"][-1] < at_growth
    assert model.evaluate(x, y)["loss"] < at_growth
    # the new neurons learned: their outgoing weights moved away from zero
    assert np.count_nonzero(model[2].weight.data[:, 2:]) > 0


# ------------------------------------------------------------------ strategies


def _reference_rows(model, x, chosen_pool, chosen, old_w):
    a = x[chosen_pool].astype(np.float64)
    mu = a.mean(axis=0)
    r = np.mean(np.linalg.norm(old_w.astype(np.float64), axis=1))
    d = a[chosen] - mu
    rows = r * d / np.linalg.norm(d, axis=1, keepdims=True)
    return rows, -(rows @ mu)


@pytest.mark.parametrize("max_samples", [None, 10])
def test_subsample_rows_follow_the_documented_formula(max_samples, dtype, rng):
    x, y = _data(rng, dtype, n=30)
    model = _model("relu", "none", dtype)
    old_w = model[0].weight.data.copy()
    info = grow_dense(model, 0, 4, init="subsample", x=x, seed=123, offset=6,
                      max_samples=max_samples)
    words = fastnn.random.philox_words(30, seed=123, offset=7)
    pool = np.argsort(words, kind="stable")[:max_samples]
    np.testing.assert_array_equal(info.samples, pool[:4])
    rows, bias = _reference_rows(model, x, pool, np.arange(4), old_w)
    assert_close(model[0].weight.data[6:], rows.astype(dtype), dtype)
    assert_close(model[0].bias.data[6:], bias.astype(dtype), dtype)
    # new rows have the mean norm of the old ones
    assert_close(np.linalg.norm(model[0].weight.data[6:].astype(np.float64), axis=1),
                 np.full(4, np.mean(np.linalg.norm(old_w.astype(np.float64), axis=1))), dtype)


def test_worst_fit_uses_the_samples_with_the_largest_loss(rng):
    x, y = _data(rng, np.float64, n=50)
    model = _model("tanh", "bn", np.float64)
    _train(model, x, y, optim.Adam(model.parameters(), lr=1e-2))
    out = model.predict(x)
    z = out - out.max(axis=1, keepdims=True)
    per_sample = np.log(np.exp(z).sum(axis=1)) - z[np.arange(50), y]
    worst = np.argsort(-per_sample, kind="stable")[:3]
    info = grow_dense(model, 0, 3, init="worst_fit", x=x, y=y, max_samples=None)
    np.testing.assert_array_equal(np.sort(info.samples), np.sort(worst))
    # the directions are those samples' inputs of layer 0 (x itself), centered
    rows, _ = _reference_rows(model, x, np.arange(50), info.samples, model[0].weight.data[:6])
    assert_close(model[0].weight.data[6:], rows, np.float64)


def test_layer_inputs_are_the_previous_layers_outputs(rng):
    """Growing a deeper layer takes its directions from the outputs of the
    layers before it (in eval mode), not from x."""
    x, y = _data(rng, np.float64, n=20)
    nn.manual_seed(1)
    model = nn.Sequential(nn.Linear(5, 7, activation="tanh", dtype=np.float64),
                          nn.Linear(7, 6, activation="relu", dtype=np.float64),
                          nn.Linear(6, 3, dtype=np.float64))
    old_w = model[1].weight.data.copy()
    info = grow_dense(model, 1, 2, init="subsample", x=x, seed=4, max_samples=None)
    h = np.tanh(x @ model[0].weight.data.T + model[0].bias.data)
    pool = np.argsort(fastnn.random.philox_words(20, seed=4, offset=1), kind="stable")
    a = h[pool]
    rows, bias = _reference_rows(None, a, np.arange(20), np.arange(2), old_w)
    assert_close(model[1].weight.data[6:], rows, np.float64)
    assert_close(model[1].bias.data[6:], bias, np.float64)
    np.testing.assert_array_equal(info.samples, pool[:2])


@pytest.mark.parametrize("init", INITS)
def test_growth_is_deterministic_for_any_thread_count(init, rng):
    x, y = _data(rng, np.float32, n=64)
    grown = []
    for n_threads in (1, 2, 1):
        model = _model("relu", "bn", np.float32, seed=2)
        with fastnn.threads(n_threads):
            grow_dense(model, 0, 5, init=init, x=x, y=y, seed=99, offset=4)
        grown.append(model[0].weight.data.copy())
    np.testing.assert_array_equal(grown[0].view(np.uint32), grown[1].view(np.uint32))
    np.testing.assert_array_equal(grown[0], grown[2])
    if init != "worst_fit":  # worst_fit takes the worst samples of the whole pool
        other = _model("relu", "bn", np.float32, seed=2)
        grow_dense(other, 0, 5, init=init, x=x, y=y, seed=99, offset=6)
        assert not np.array_equal(other[0].weight.data[6:], grown[0][6:])


def test_degenerate_sample_falls_back_to_random_row():
    x = np.ones((4, 5), np.float32)  # every sample equals the mean
    model = _model("relu", "none", np.float32)
    ref = copy.deepcopy(model)
    grow_dense(model, 0, 2, init="subsample", x=x, seed=8)
    grow_dense(ref, 0, 2, init="random", seed=8)
    np.testing.assert_array_equal(model[0].weight.data, ref[0].weight.data)
    np.testing.assert_array_equal(model[0].bias.data[6:], 0)


# ------------------------------------------------------------------ pruning


def test_growth_extends_pruning_masks(rng):
    x, y = _data(rng, np.float32, n=64)
    model = _model("relu", "none", np.float32)
    weights = [model[0].weight, model[1].weight]
    pruner = Pruner(weights)
    opt = pruner.wrap(optim.Adam(model.parameters(), lr=1e-2))
    pruner.prune(0.5)
    _train(model, x, y, opt)
    old_masks = [m.copy() for m in pruner.masks]
    grow_dense(model, 0, 3, optimizer=opt, init="subsample", x=x)
    assert pruner.masks[0].shape == (9, 5) and pruner.masks[1].shape == (4, 9)
    np.testing.assert_array_equal(pruner.masks[0][:6], old_masks[0])
    np.testing.assert_array_equal(pruner.masks[1][:, :6], old_masks[1])
    assert pruner.masks[0][6:].all() and pruner.masks[1][:, 6:].all()
    assert not pruner.undo()  # an undo cannot cross a change of shapes
    _train(model, x, y, opt)
    for w, m in zip(weights, pruner.masks):
        assert np.all(w.data[~m] == 0)
    assert np.all(model[1].weight.data[:, 6:] != 0)  # the new weights are trained
    assert pruner.report()[-1]["size"] == 9 * 5 + 4 * 9


def test_growth_refuses_holders_of_raw_arrays(rng):
    model = _model("relu", "none", np.float64)
    before = _snapshot(model)
    opt = optim.SGD([p.data for p in model.parameters()], lr=0.1)
    with pytest.raises(ValueError, match="optimizer holds a weight array"):
        grow_dense(model, 0, 2, optimizer=opt)
    with pytest.raises(ValueError, match="pruner holds a weight array"):
        grow_dense(model, 0, 2, pruner=Pruner([model[1].weight.data]))
    for (_, a), (_, b) in zip(before, _snapshot(model)):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ bad inputs


def test_bad_inputs_change_nothing(rng):
    x, y = _data(rng, np.float32)
    model = _model("relu", "bn", np.float32)
    before = _snapshot(model)
    cases = [
        (dict(n_new=0), ValueError, "n_new"),
        (dict(n_new=-2), ValueError, "n_new"),
        (dict(n_new=1.5), TypeError, "n_new"),
        (dict(n_new=True), TypeError, "n_new"),
        (dict(init="orthogonal"), ValueError, "unknown init"),
        (dict(layer=1), TypeError, "BatchNorm1d.*only Linear"),
        (dict(layer=3), ValueError, "last Linear"),
        (dict(layer=10), IndexError, "out of range"),
        (dict(layer="0"), TypeError, "layer must be"),
        (dict(layer=nn.Linear(5, 6)), ValueError, "not a layer of the model"),
        (dict(init="subsample"), ValueError, "needs the training inputs"),
        (dict(init="worst_fit", x=x), ValueError, "needs the targets"),
        (dict(init="subsample", x=x.astype(np.float64)), TypeError, "dtype"),
        (dict(init="subsample", x=x[:2]), ValueError, "at least n_new"),
        (dict(init="subsample", x=x[:, :3]), ValueError, "features|shape|columns"),
        (dict(max_samples=0), ValueError, "max_samples"),
        (dict(optimizer="adam"), TypeError, "Optimizer"),
        (dict(pruner=object()), TypeError, "Pruner"),
        (dict(seed=-1), ValueError, "seed"),
    ]
    for kwargs, exc, match in cases:
        args = dict(layer=0, n_new=3)
        args.update(kwargs)
        with pytest.raises(exc, match=match):
            grow_dense(model, args.pop("layer"), args.pop("n_new"), **args)
    with pytest.raises(TypeError, match="Sequential"):
        grow_dense(model[0], 0, 1)
    through_ln = nn.Sequential(nn.Linear(4, 5), nn.LayerNorm(5), nn.Linear(5, 2))
    with pytest.raises(ValueError, match="through layer 1 .LayerNorm"):
        grow_dense(through_ln, 0, 1)
    wrong_bn = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm2d(5), nn.Linear(5, 2))
    with pytest.raises(ValueError, match="does not normalize"):
        grow_dense(wrong_bn, 0, 1)
    for (n1, a), (n2, b) in zip(before, _snapshot(model)):
        assert n1 == n2
        np.testing.assert_array_equal(a, b)
    assert model[0].out_features == 6 and model[1].num_features == 6


def test_callback_bad_arguments():
    for kwargs, match in [(dict(n_new=0), "n_new"), (dict(max_size=0), "max_size"),
                          (dict(patience=0), "patience"), (dict(cooldown=-1), "cooldown"),
                          (dict(init="zeros"), "unknown init"), (dict(mode="up"), "mode")]:
        args = dict(layer=0, n_new=2, max_size=10)
        args.update(kwargs)
        with pytest.raises((ValueError, TypeError), match=match):
            GrowOnPlateau(args.pop("layer"), args.pop("n_new"), args.pop("max_size"), **args)
    model = _model("relu", "none", np.float32)
    x, y = _data(np.random.default_rng(0), np.float32)
    with pytest.raises(ValueError, match="last Linear"):
        model.fit(x, y, epochs=1, callbacks=[GrowOnPlateau(2, 2, 10)])


# ------------------------------------------------------------------ callback


def _attach(cb, model, x, y, opt):
    cb.model = model
    cb.trainer = _Trainer(opt, 1, x, y, nn.CrossEntropyLoss())
    cb.on_train_begin({})


def test_callback_grows_at_the_right_epochs_on_a_synthetic_plateau(rng):
    x, y = _data(rng, np.float32)
    model = _model("relu", "bn", np.float32, width=4)
    opt = optim.Adam(model.parameters())
    cb = GrowOnPlateau(0, n_new=3, max_size=12, patience=2, min_delta=0.01, init="subsample")
    _attach(cb, model, x, y, opt)
    #          0    1    2      3      4    5      6      7     8      9     10     11
    losses = [1.0, 0.8, 0.795, 0.799, 0.7, 0.695, 0.69, 0.69, 0.5, 0.499, 0.499, 0.499]
    widths = []
    for epoch, v in enumerate(losses):
        logs = {"val_loss": v}
        cb.on_epoch_end(epoch, logs)
        widths.append(logs["width"])
    # no improvement by more than 0.01 at epochs 2, 3 -> grow at 3; 4 improves;
    # 5, 6 (0.69 is not below 0.7 - 0.01) -> grow at 6; 7 waits; 8 improves;
    # 9, 10 -> grow at 10, capped at max_size 12; 11 waits at the maximum
    assert [g[0] for g in cb.growths] == [3, 6, 10]
    assert [g[1:] for g in cb.growths] == [(4, 7), (7, 10), (10, 12)]
    assert widths == [4, 4, 4, 7, 7, 7, 10, 10, 10, 10, 12, 12]
    assert model[0].out_features == 12 and model[1].num_features == 12
    assert opt is cb.trainer.optimizer


def test_callback_cooldown_and_max_mode(rng):
    x, y = _data(rng, np.float32)
    model = _model("relu", "none", np.float32, width=4)
    cb = GrowOnPlateau(model[0], n_new=1, max_size=100, monitor="val_accuracy", patience=1,
                       cooldown=2)
    _attach(cb, model, x, y, optim.SGD(model.parameters()))
    for epoch, v in enumerate([0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7]):
        cb.on_epoch_end(epoch, {"val_accuracy": v})
    # grow at 2; cooldown 3, 4; grow at 5; 6 improves; cooldown 7; grow at 8
    assert [g[0] for g in cb.growths] == [2, 5, 8]


def test_callback_inside_fit_on_a_real_plateau(rng):
    """With lr = 0 the loss never moves: a plateau every `patience` epochs."""
    x, y = _data(rng, np.float32, n=48)
    model = _model("relu", "bn", np.float32, width=3)
    cb = GrowOnPlateau(0, n_new=2, max_size=8, monitor="loss", patience=2, init="worst_fit",
                       seed=5)
    hist = model.fit(x, y, optimizer=optim.SGD(model.parameters(), lr=0.0), epochs=8,
                     batch_size=16, callbacks=[cb], shuffle=False)
    assert [g[0] for g in cb.growths] == [2, 4, 6]
    assert hist["width"] == [3, 3, 5, 5, 7, 7, 8, 8]
    assert model[0].out_features == 8
    # the loss stayed (almost) the same across the growths: the function is kept
    np.testing.assert_allclose(hist["loss"], hist["loss"][0], rtol=1e-5)


def test_callback_is_reproducible_and_helps(rng):
    x, y = _data(rng, np.float32, n=256)
    y = ((x[:, 0] ** 2 + x[:, 1] ** 2) > 1.4).astype(np.int64) + (x[:, 2] > 0.8)
    results = []
    for _ in range(2):
        model = _model("relu", "none", np.float32, width=1, seed=4)
        cb = GrowOnPlateau(0, n_new=4, max_size=17, monitor="loss", patience=2,
                           min_delta=1e-3, init="subsample", seed=1)
        hist = model.fit(x, y, optimizer="adam", lr=1e-2, epochs=30, batch_size=32,
                         callbacks=[cb], seed=3)
        results.append((hist["loss"], model[0].weight.data.copy(), list(cb.growths)))
    assert results[0][2] == results[1][2] and results[0][2]
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][0][-1] < results[0][0][results[0][2][0][0]]


def _grow_and_stop(order, epochs):
    """A model that grows 4 -> 10 neurons after epoch 1 while an EarlyStopping
    whose best epoch is epoch 0 restores the best weights."""
    from fastnn.callbacks import EarlyStopping

    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4, activation="relu"), nn.Linear(4, 2))
    # improvements of 10 are never met: the best epoch of both is epoch 0
    grow = GrowOnPlateau(0, n_new=6, max_size=10, monitor="loss", patience=1, min_delta=10.0)
    snaps = {}

    class Spy(EarlyStopping):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            snaps[epoch] = model.state_dict()

    es = Spy("loss", min_delta=10.0, patience=100, restore_best_weights=True)
    cbs = [grow, es] if order == "grow_first" else [es, grow]
    model.fit(x, y, epochs=epochs, batch_size=8, lr=0.01, callbacks=cbs)
    assert grow.growths and grow.growths[0][1:] == (4, 10) and es.best_epoch == 0
    return model, es, snaps


def test_early_stopping_restore_after_growth_restores_the_grown_architecture():
    # the snapshot of epoch 0 (4 neurons) made load_state_dict raise at the
    # end; the best epoch since the growth (epoch 1) is restored, with a warning
    with pytest.warns(RuntimeWarning, match=r"best epoch \(0\).*changed shape.*\(1\)"):
        model, es, snaps = _grow_and_stop("grow_first", 3)
    assert es.restored_epoch == 1 and model[0].weight.shape == (10, 6)
    for k, v in snaps[1].items():
        np.testing.assert_array_equal(model.state_dict()[k], v)


def test_early_stopping_restore_skipped_after_growth_at_the_last_epoch():
    # growing after EarlyStopping's snapshot of the last epoch: nothing fits
    with pytest.warns(RuntimeWarning, match="not restored.*changed shape"):
        model, es, snaps = _grow_and_stop("es_first", 2)
    assert es.restored_epoch is None and model[0].weight.shape == (10, 6)
    # a later epoch is snapshot with the grown architecture, and restored
    with pytest.warns(RuntimeWarning, match=r"best epoch \(0\).*\(2\)"):
        model, es, snaps = _grow_and_stop("es_first", 4)
    assert es.restored_epoch == 2
    for k, v in snaps[2].items():
        np.testing.assert_array_equal(model.state_dict()[k], v)
