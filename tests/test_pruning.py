"""Tests of fastnn.pruning: criteria, masks through every optimizer, undo,
the prune-retrain schedule and the sparsity report."""
import numpy as np
import pytest

import fastnn
from fastnn import optim
from fastnn.pruning import (MaskedOptimizer, Pruner, exact_scores, first_order_scores,
                            iterative_prune, magnitude_scores, sparsity)


def _params(rng, dtype=np.float64, shapes=((8, 5), (5,), (17, 3))):
    return [fastnn.Parameter(rng.standard_normal(s).astype(dtype), name=f"w{i}")
            for i, s in enumerate(shapes)]


def _expected_global(datas, scores, k):
    flat = np.concatenate([s.reshape(-1) for s in scores])
    keep = np.ones(flat.size, bool)
    keep[np.argsort(flat, kind="stable")[:k]] = False
    out, start = [], 0
    for d in datas:
        out.append(keep[start:start + d.size].reshape(d.shape))
        start += d.size
    return out


@pytest.mark.parametrize("target", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_global_magnitude_prunes_smallest(target, dtype, rng):
    ps = _params(rng, dtype)
    before = [p.data.copy() for p in ps]
    pr = Pruner(ps)
    total = sum(p.size for p in ps)
    k = int(round(target * total))
    assert pr.prune(target) == k
    masks = _expected_global(before, [np.abs(b) for b in before], k)
    for p, b, m, em in zip(ps, before, pr.masks, masks):
        np.testing.assert_array_equal(m, em)
        np.testing.assert_array_equal(p.data, np.where(em, b, 0))
    assert sparsity(ps) == pytest.approx(k / total)


def test_layer_scope_prunes_each_array(rng):
    ps = _params(rng)
    pr = Pruner(ps, scope="layer")
    pr.prune(0.5)
    for p, row in zip(ps, pr.report()[:-1]):
        assert row["pruned"] == int(round(0.5 * p.size))
        thr = np.sort(np.abs(p.data[p.data != 0]))[0]
        assert np.all(np.abs(p.data[p.data != 0]) >= thr)


def test_pruning_is_cumulative_and_never_revives(rng):
    ps = _params(rng)
    pr = Pruner(ps)
    pr.prune(0.3)
    first = [m.copy() for m in pr.masks]
    for p in ps:  # training moves the weights; the old mask must survive
        p.data += 0.5
    pr.apply()
    assert pr.prune(0.6) == int(round(0.6 * 96)) - int(round(0.3 * 96))
    for a, b in zip(first, pr.masks):
        assert np.all(b <= a)
    assert pr.prune(0.2) == 0


def test_first_order_scores_and_pruning(rng):
    ps = _params(rng)
    for p in ps:
        p.grad = rng.standard_normal(p.shape)
    scores = first_order_scores(ps)
    for p, s in zip(ps, scores):
        np.testing.assert_array_equal(s, np.abs(p.data * p.grad))
    before = [p.data.copy() for p in ps]
    pr = Pruner(ps)
    pr.prune(0.4, "first_order")
    expected = _expected_global(before, scores, int(round(0.4 * 96)))
    for m, e in zip(pr.masks, expected):
        np.testing.assert_array_equal(m, e)


def test_exact_scores_on_a_quadratic(rng):
    w = fastnn.Parameter(rng.standard_normal(6))
    a = rng.random(6) + 0.5
    target = rng.standard_normal(6)

    def loss():
        return float(np.sum(a * (w.data - target) ** 2))

    before = w.data.copy()
    (s,) = exact_scores([w], loss)
    np.testing.assert_array_equal(w.data, before)  # restored bit for bit
    expected = a * (target**2 - (before - target) ** 2)
    np.testing.assert_allclose(s, expected, rtol=1e-12, atol=1e-12)
    pr = Pruner([w])
    pr.prune(0.5, "exact", loss_fn=loss)
    np.testing.assert_array_equal(pr.masks[0], ~np.isin(np.arange(6),
                                                        np.argsort(expected, kind="stable")[:3]))
    # the first-order estimate agrees with the exact one to first order
    w2 = fastnn.Parameter(before * 1e-3)
    grad = 2 * a * (w2.data - target)
    np.testing.assert_allclose(first_order_scores([w2], [grad])[0],
                               np.abs(exact_scores([w2], lambda: float(
                                   np.sum(a * (w2.data - target) ** 2)))[0]), rtol=1e-2)


OPTIMIZERS = [
    lambda ps: optim.SGD(ps, lr=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    lambda ps: optim.Adagrad(ps, lr=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5),
    lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1),
    lambda ps: optim.AdamW(ps, lr=0.01),
    lambda ps: optim.NAdam(ps, lr=0.01),
    lambda ps: optim.RAdam(ps, lr=0.01),
    lambda ps: optim.Lion(ps, lr=0.01, weight_decay=0.1),
]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_masks_respected_by_every_optimizer(make, dtype, rng):
    ps = _params(rng, dtype)
    bias = fastnn.Parameter(rng.standard_normal(4).astype(dtype))  # not pruned
    pr = Pruner(ps)
    opt = pr.wrap(make(ps + [bias]))
    assert isinstance(opt, MaskedOptimizer)
    for step in range(5):
        if step == 2:
            pr.prune(0.5)
        for p in ps + [bias]:
            p.grad = rng.standard_normal(p.shape).astype(dtype)
        grads_before = [p.grad.copy() for p in ps]
        before = [p.data.copy() for p in ps]
        opt.step()
        for p, g in zip(ps, grads_before):
            np.testing.assert_array_equal(p.grad, g)  # caller's gradients untouched
        for p, m, b in zip(ps, pr.masks, before):
            assert np.all(p.data[~m] == 0)
            assert np.all(p.data[m] != b[m])
    assert opt.param_groups is opt.optimizer.param_groups


def test_undo_restores_weights_masks_and_optimizer_bitwise(rng):
    ps = _params(rng, np.float32)
    bias = fastnn.Parameter(rng.standard_normal(3).astype(np.float32))  # trained, not pruned
    pr = Pruner(ps)
    opt = pr.wrap(optim.Adam(ps + [bias], lr=0.01))
    for p in ps + [bias]:
        p.grad = rng.standard_normal(p.shape).astype(np.float32)
    opt.step()
    saved = [p.data.copy() for p in ps + [bias]]
    saved_masks = [m.copy() for m in pr.masks]
    saved_state = opt.state_dict()
    pr.prune(0.7)
    for _ in range(3):
        opt.step()
    assert pr.undo()
    for p, s in zip(ps + [bias], saved):
        np.testing.assert_array_equal(p.data.view(np.uint32), s.view(np.uint32))
    for m, s in zip(pr.masks, saved_masks):
        np.testing.assert_array_equal(m, s)
    state = opt.state_dict()["state"]
    for key, value in saved_state["state"].items():
        for name, arr in value.items():
            np.testing.assert_array_equal(state[key][name], arr)
    # continuing after the undo equals continuing from the saved point
    opt.step()
    assert not pr.undo()


def test_iterative_prune_stops_and_undoes(rng):
    ps = _params(rng)
    pr = Pruner(ps)
    retrained = []

    def evaluate():  # quality falls with sparsity
        return 1.0 - sparsity(ps) ** 2

    history = iterative_prune(pr, [0.2, 0.4, 0.6, 0.8], lambda: retrained.append(1), evaluate,
                              max_drop=0.2)
    assert [h["undone"] for h in history] == [False, False, False, True]
    assert len(retrained) == 3
    assert pr.report()[-1]["sparsity"] == pytest.approx(round(0.4 * 96) / 96)
    assert sparsity(ps) == pytest.approx(round(0.4 * 96) / 96)


def test_report(rng):
    ps = _params(rng)
    pr = Pruner(ps, scope="layer")
    pr.prune(0.5)
    rows = pr.report()
    assert [r["name"] for r in rows] == ["w0", "w1", "w2", "total"]
    assert rows[-1]["pruned"] == sum(r["pruned"] for r in rows[:-1])
    assert rows[-1]["size"] == 96
    text = pr.format_report()
    assert "w2" in text and "total" in text


def test_bad_input(rng):
    ps = _params(rng)
    before = [p.data.copy() for p in ps]
    pr = Pruner(ps)
    with pytest.raises(ValueError, match="target"):
        pr.prune(1.5)
    with pytest.raises(TypeError, match="target"):
        pr.prune("0.5")
    with pytest.raises(ValueError, match="criterion"):
        pr.prune(0.5, "random")
    with pytest.raises(ValueError, match="gradient"):
        pr.prune(0.5, "first_order")
    with pytest.raises(ValueError, match="loss_fn"):
        pr.prune(0.5, "exact")
    with pytest.raises(ValueError, match="max_size"):
        exact_scores([np.zeros(10)], lambda: 0.0, max_size=5)
    with pytest.raises(TypeError, match="loss_fn"):
        exact_scores([np.zeros(3)], 3.0)
    for p, b in zip(ps, before):
        np.testing.assert_array_equal(p.data, b)
    assert not pr.undo()
    with pytest.raises(ValueError, match="scope"):
        Pruner(ps, scope="row")
    with pytest.raises(TypeError, match="params"):
        Pruner([np.zeros(3, np.int32)])
    with pytest.raises(ValueError, match="params"):
        Pruner([])
    with pytest.raises(ValueError, match="max_drop"):
        iterative_prune(pr, [0.5], lambda: None, lambda: 1.0, max_drop=-1)
    np.testing.assert_array_equal(magnitude_scores([np.array([-2.0, 1.0])])[0], [2.0, 1.0])


def test_pruning_callback_inside_fit(rng):
    from fastnn import nn
    from fastnn.pruning import PruningCallback

    model = nn.Sequential(nn.Linear(8, 16, activation="relu"), nn.Linear(16, 3))
    x = rng.standard_normal((96, 8)).astype(np.float32)
    y = rng.integers(0, 3, 96)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    pr = Pruner(weights)
    pr.prune(0.5)
    cb = PruningCallback(pr, schedule={1: 0.75})
    model.fit(x, y, epochs=3, batch_size=16, callbacks=[cb], seed=0)
    assert pr.report()[-1]["sparsity"] == pytest.approx(round(0.75 * 176) / 176)
    for w, m in zip(weights, pr.masks):
        assert np.all(w.data[~m] == 0)
        assert np.all(w.data[m] != 0)
    with pytest.raises(ValueError, match="criterion"):
        PruningCallback(pr, criterion="exact")


# every optimizer with the options that move a weight without a gradient:
# L2 and decoupled weight decay, L1, momentum, Nesterov, AMSGrad, centered, maximize
DECAY_OPTIMIZERS = [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.05, l1=0.01),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.05,
                         decoupled_weight_decay=True, ema_momentum=True),
    lambda ps: optim.Adagrad(ps, lr=0.1, weight_decay=0.05, initial_accumulator_value=0.1,
                             l1=0.01),
    lambda ps: optim.Adagrad(ps, lr=0.1, weight_decay=0.05, decoupled_weight_decay=True),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True, weight_decay=0.05),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, weight_decay=0.05,
                             decoupled_weight_decay=True, maximize=True),
    lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1, amsgrad=True, l1=0.01),
    lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1, amsgrad=True),
    lambda ps: optim.NAdam(ps, lr=0.01, weight_decay=0.1),
    lambda ps: optim.NAdam(ps, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    lambda ps: optim.RAdam(ps, lr=0.01, weight_decay=0.1),
    lambda ps: optim.RAdam(ps, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    lambda ps: optim.Lion(ps, lr=0.01, weight_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("explicit_grads", [False, True])
@pytest.mark.parametrize("make", DECAY_OPTIMIZERS)
def test_masks_respected_with_decay_and_momentum(make, explicit_grads, dtype, rng):
    """Pruned weights are exactly zero after every step, also when weight
    decay, L1 and momentum built up before the pruning would move them."""
    ps = _params(rng, dtype)
    bias = fastnn.Parameter(rng.standard_normal(4).astype(dtype))
    pr = Pruner(ps, scope="layer")
    opt = pr.wrap(make(ps + [bias]))
    for step in range(8):
        if step in (3, 6):
            pr.prune(0.4 if step == 3 else 0.7)
        grads = [rng.standard_normal(p.shape).astype(dtype) for p in ps + [bias]]
        if explicit_grads:
            opt.step(grads)
        else:
            for p, g in zip(ps + [bias], grads):
                p.grad = g
            opt.step()
        for p, m in zip(ps, pr.masks):
            assert np.all(p.data[~m] == 0)
            assert not np.any(np.signbit(p.data[~m]))  # +0, not −0
        assert np.all(np.isfinite(bias.data))
    assert pr.report()[-1]["pruned"] == sum(int(round(0.7 * p.size)) for p in ps)


@pytest.mark.parametrize("make", DECAY_OPTIMIZERS)
def test_masks_respected_after_every_batch_inside_fit(make, rng):
    from fastnn import nn
    from fastnn.pruning import PruningCallback
    from fastnn.training import Callback

    nn.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 12, activation="relu"), nn.BatchNorm1d(12),
                          nn.Linear(12, 3))
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    weights = [model[0].weight, model[2].weight]
    pr = Pruner(weights)
    pr.prune(0.5)
    checked = []

    class Check(Callback):
        def __init__(self, pruner):
            self.pruner = pruner

        def on_batch_end(self, batch, logs):
            for w, m in zip(weights, self.pruner.masks):
                assert np.all(w.data[~m] == 0)
            checked.append(batch)

    opt = make(model.parameters())
    model.fit(x, y, optimizer=opt, epochs=3, batch_size=16,
              callbacks=[PruningCallback(pr, schedule={1: 0.8}), Check(pr)])
    assert len(checked) == 12
    assert pr.report()[-1]["sparsity"] == pytest.approx(round(0.8 * 108) / 108)
    # a MaskedOptimizer can be given to fit directly
    pr2 = Pruner(weights, scope="layer")
    pr2.prune(0.9)
    model.fit(x, y, optimizer=pr2.wrap(make(model.parameters())), epochs=1, batch_size=16,
              callbacks=[Check(pr2)])
    assert len(checked) == 16


def test_undo_with_model_restores_buffers_and_outputs_bitwise(rng):
    from fastnn import nn

    nn.manual_seed(5)
    model = nn.Sequential(nn.Linear(6, 10, activation="relu"), nn.BatchNorm1d(10),
                          nn.Dropout(0.2), nn.Linear(10, 3))
    x = rng.standard_normal((80, 6)).astype(np.float32)
    y = rng.integers(0, 3, 80)
    weights = [model[0].weight, model[3].weight]
    pr = Pruner(weights, model=model)
    opt = pr.wrap(optim.Adam(model.parameters(), lr=1e-2))
    model.fit(x, y, optimizer=opt, epochs=2, batch_size=16)
    saved = model.state_dict()
    saved_opt = opt.state_dict()
    out = model.predict(x)
    pr.prune(0.6)
    model.fit(x, y, optimizer=opt, epochs=2, batch_size=16)
    assert not np.array_equal(model[1].running_mean, saved["1.running_mean"])
    assert pr.undo()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(np.atleast_1d(value).view(np.uint8),
                                      np.atleast_1d(saved[name]).view(np.uint8), err_msg=name)
    for key, value in saved_opt["state"].items():
        for k, arr in value.items():
            np.testing.assert_array_equal(opt.state_dict()["state"][key][k], arr)
    np.testing.assert_array_equal(model.predict(x), out)
    with pytest.raises(TypeError, match="model"):
        Pruner(weights, model=object())


def test_pruning_callback_undo_restores_the_training_optimizer(rng):
    from fastnn import nn
    from fastnn.pruning import PruningCallback

    nn.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8, activation="tanh"), nn.Linear(8, 2))
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.integers(0, 2, 32)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    pr = Pruner([model[0].weight, model[1].weight], model=model)
    model.fit(x, y, optimizer=opt, epochs=2, batch_size=8, callbacks=[PruningCallback(pr)])
    assert pr.optimizer is opt
    saved, saved_opt = model.state_dict(), opt.state_dict()
    pr.prune(0.5)
    model.fit(x, y, optimizer=opt, epochs=1, batch_size=8, callbacks=[PruningCallback(pr)])
    pr.undo()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, saved[name])
    for key, value in saved_opt["state"].items():
        assert opt.state[id(opt._all_params()[key])]["step"] == value["step"]
        for k, arr in value.items():
            if isinstance(arr, np.ndarray):
                np.testing.assert_array_equal(opt.state[id(opt._all_params()[key])][k], arr)


def test_exact_criterion_on_a_held_out_batch_of_a_network(rng):
    """exact_scores on a real network: each score is the held-out loss with
    that one weight zeroed minus the loss of the intact network, measured
    independently on a copy; the network is restored bit for bit."""
    import copy

    from fastnn import nn

    nn.manual_seed(2)
    model = nn.Sequential(nn.Linear(5, 6, activation="tanh", dtype=np.float64),
                          nn.Linear(6, 3, dtype=np.float64))
    x = rng.standard_normal((64, 5))
    y = rng.integers(0, 3, 64)
    model.fit(x[:48], y[:48], optimizer="adam", lr=1e-2, epochs=5, batch_size=16)
    x_val, y_val = x[48:], y[48:]
    weights = [model[0].weight, model[1].weight]
    before = [w.data.copy() for w in weights]

    def held_out_loss():
        return model.evaluate(x_val, y_val)["loss"]

    scores = exact_scores(weights, held_out_loss)
    for w, b in zip(weights, before):
        np.testing.assert_array_equal(w.data, b)
    base = held_out_loss()
    for li, (w, s) in enumerate(zip(weights, scores)):
        for idx in [(0, 0), (2, 3), (w.shape[0] - 1, w.shape[1] - 1)]:
            other = copy.deepcopy(model)
            other[li].weight.data[idx] = 0
            assert s[idx] == pytest.approx(other.evaluate(x_val, y_val)["loss"] - base,
                                           abs=1e-13)
    pr = Pruner(weights)
    pr.prune(0.25, "exact", loss_fn=held_out_loss)
    k = int(round(0.25 * 48))
    flat = np.concatenate([s.reshape(-1) for s in scores])
    chosen = np.argsort(flat, kind="stable")[:k]
    masks = np.concatenate([m.reshape(-1) for m in pr.masks])
    np.testing.assert_array_equal(np.flatnonzero(~masks), np.sort(chosen))
    # the exact criterion prunes the weights that cost the least on the held-out batch:
    # zeroing them one at a time never costs more than zeroing the smallest |w|
    mag = np.argsort(np.concatenate([np.abs(b).reshape(-1) for b in before]), kind="stable")
    assert flat[chosen].sum() <= flat[mag[:k]].sum()


def test_undo_restores_the_masks_the_caller_keeps(rng):
    ps = _params(rng)
    pr = Pruner(ps)
    kept = list(pr.masks)
    pr.prune(0.3)
    before = [m.copy() for m in kept]
    pr.prune(0.8)
    assert pr.undo()
    for k, m, b in zip(kept, pr.masks, before):
        assert k is m  # still the pruner's mask, showing the restored state
        np.testing.assert_array_equal(k, b)
    kept[0][...] = True  # an edit of a kept mask is the pruner's
    pr.apply()
    assert pr.report()[0]["pruned"] == 0


def test_masked_optimizer_step_takes_a_closure(rng):
    ps = _params(rng)
    ref = [fastnn.Parameter(p.data.copy()) for p in ps]
    pr, pr_ref = Pruner(ps), Pruner(ref)
    opt, opt_ref = pr.wrap(optim.SGD(ps, lr=0.1)), pr_ref.wrap(optim.SGD(ref, lr=0.1))
    pr.prune(0.5)
    pr_ref.prune(0.5)
    grads = [rng.standard_normal(p.shape) for p in ps]

    def closure():
        for p, g in zip(ps, grads):
            p.grad = g.copy()
        return 1.5

    assert opt.step(closure) == 1.5
    for p, g in zip(ref, grads):
        p.grad = g.copy()
    assert opt_ref.step() is None
    for p, q in zip(ps, ref):
        np.testing.assert_array_equal(p.data, q.data)
    with pytest.raises(TypeError, match="twice"):
        opt.step(grads, grads=grads)


def test_pruning_callback_follows_a_layer_grown_inside_fit(rng):
    from fastnn import nn
    from fastnn.growth import GrowOnPlateau
    from fastnn.pruning import PruningCallback

    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8, activation="relu"), nn.Linear(8, 2))
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    weights = [model[0].weight, model[1].weight]
    pr = Pruner(weights)
    pr.prune(0.5)
    old = [m.copy() for m in pr.masks]
    grow = GrowOnPlateau(0, 2, 10, monitor="loss", patience=1, min_delta=1e9)
    model.fit(x, y, epochs=3, callbacks=[PruningCallback(pr), grow], seed=0)
    assert model[0].out_features == 10 and len(grow.growths) == 1
    assert pr.masks[0].shape == (10, 6) and pr.masks[1].shape == (2, 10)
    np.testing.assert_array_equal(pr.masks[0][:8], old[0])
    np.testing.assert_array_equal(pr.masks[1][:, :8], old[1])
    assert pr.masks[0][8:].all() and pr.masks[1][:, 8:].all()
    for w, m in zip(weights, pr.masks):
        assert np.all(w.data[~m] == 0)
    weights[1].data = np.zeros((2, 9), np.float32)  # not a growth
    with pytest.raises(ValueError, match="mask has shape"):
        pr.apply()


def test_pruner_starts_from_the_callers_masks(rng):
    # resuming a pruned model needs its masks: they could not be given
    ps = _params(rng)
    masks = [np.abs(p.data) > 0.5 for p in ps]
    before = [p.data.copy() for p in ps]
    pr = Pruner(ps, masks=masks)
    assert all(a is b for a, b in zip(pr.masks, masks))
    for p, b in zip(ps, before):
        np.testing.assert_array_equal(p.data, b)  # the weights are changed by apply only
    pr.apply()
    for p, m, b in zip(ps, masks, before):
        np.testing.assert_array_equal(p.data, np.where(m, b, 0))
    already = sum(int((~m).sum()) for m in masks)
    total = sum(m.size for m in masks)
    target = (already + 5) / total
    assert pr.prune(target) == 5  # pruning goes on from them, in the caller's arrays
    assert sum(int((~m).sum()) for m in masks) == already + 5
    w = ps[0].data.shape
    bad = [
        (ValueError, "2 masks for 3", [masks[0], masks[1]]),
        (TypeError, "bool", [masks[0].astype(np.int8)] + masks[1:]),
        (ValueError, "shape", [np.ones((w[0] + 1, w[1]), bool)] + masks[1:]),
        (ValueError, "C-contiguous", [np.ones(w[::-1], bool).T] + masks[1:]),
        (ValueError, "share memory", [masks[0], masks[0].reshape(-1)[:5], masks[2]]),
    ]
    for error, match, m in bad:
        with pytest.raises(error, match=match):
            Pruner(ps, masks=m)


def test_pruning_callback_follows_the_optimizer_of_each_fit(rng):
    # the first fit's optimizer stayed the pruner's: an undo after a fit with
    # another optimizer loaded the first one's state and left the second's
    from fastnn import nn
    from fastnn.pruning import PruningCallback

    nn.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8, activation="tanh"), nn.Linear(8, 2))
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.integers(0, 2, 32)
    pr = Pruner([model[0].weight, model[1].weight], model=model)
    first = optim.Adam(model.parameters(), lr=1e-2)
    model.fit(x, y, optimizer=first, epochs=1, batch_size=8, callbacks=[PruningCallback(pr)])
    second = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.fit(x, y, optimizer=second, epochs=1, batch_size=8, callbacks=[PruningCallback(pr)])
    assert pr.optimizer is second
    saved = {k: v.copy() for k, v in second.state_dict()["state"][0].items()
             if isinstance(v, np.ndarray)}
    first_state = first.state_dict()
    pr.prune(0.5)
    model.fit(x, y, optimizer=second, epochs=1, batch_size=8, callbacks=[PruningCallback(pr)])
    assert pr.undo()
    for k, v in saved.items():
        np.testing.assert_array_equal(second.state[id(model[0].weight)][k], v)
    assert first.state_dict()["state"][0]["step"] == first_state["state"][0]["step"]
    # an optimizer chosen by wrap stays the pruner's
    third = optim.SGD(model.parameters(), lr=0.1)
    wrapped = pr.wrap(first)
    model.fit(x, y, optimizer=third, epochs=1, batch_size=8, callbacks=[PruningCallback(pr)])
    assert pr.optimizer is first and wrapped.optimizer is first
