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
