"""Learning-rate schedulers: torch.optim.lr_scheduler semantics."""
import math

import numpy as np
import pytest

from fastnn import optim
from fastnn.optim import lr_scheduler as S


def _opt(lr=1.0, cls=optim.SGD, **kw):
    return cls([np.zeros(3, np.float32)], lr=lr, **kw)


def _lrs(opt, sched, n, metric=None):
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        sched.step()
    return out


def test_step_multistep_exponential():
    o = _opt()
    np.testing.assert_allclose(_lrs(o, S.StepLR(o, 2, 0.1), 5), [1, 1, .1, .1, .01])
    o = _opt()
    np.testing.assert_allclose(_lrs(o, S.MultiStepLR(o, [4, 2], 0.5), 6),
                               [1, 1, .5, .5, .25, .25])
    o = _opt(0.5)
    np.testing.assert_allclose(_lrs(o, S.ExponentialLR(o, 0.9), 4), 0.5 * 0.9 ** np.arange(4))
    with pytest.raises(ValueError, match="step_size"):
        S.StepLR(_opt(), 0)


def test_cosine_annealing():
    o = _opt()
    lrs = _lrs(o, S.CosineAnnealingLR(o, T_max=4, eta_min=0.1), 5)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(5)]
    np.testing.assert_allclose(lrs, expected)


def test_cosine_warm_restarts():
    o = _opt(0.1)
    s = S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2)
    lrs = _lrs(o, s, 8)
    c = lambda t, T: 0.1 * (1 + math.cos(math.pi * t / T)) / 2  # noqa: E731
    np.testing.assert_allclose(lrs, [c(0, 2), c(1, 2), c(0, 4), c(1, 4), c(2, 4), c(3, 4),
                                     c(0, 8), c(1, 8)])
    s.step(3.5)  # fractional epochs: inside the second period (epochs 2..6)
    assert o.param_groups[0]["lr"] == pytest.approx(c(1.5, 4))
    with pytest.raises(ValueError, match="T_0"):
        S.CosineAnnealingWarmRestarts(_opt(), T_0=0)


@pytest.mark.parametrize("mode,expected", [
    ("triangular", [.1, .55, 1, .55, .1, .55, 1, .55, .1]),
    ("triangular2", [.1, .55, 1, .55, .1, .325, .55, .325, .1]),
])
def test_cyclic(mode, expected):
    o = _opt(5.0, momentum=0.9)
    s = S.CyclicLR(o, 0.1, 1.0, step_size_up=2, mode=mode)
    np.testing.assert_allclose(_lrs(o, s, 9), expected)


def test_cyclic_exp_range_and_momentum():
    o = _opt(momentum=0.9)
    s = S.CyclicLR(o, 0.1, 1.0, step_size_up=2, mode="exp_range", gamma=0.5)
    lrs = _lrs(o, s, 4)
    np.testing.assert_allclose(lrs, [.1, .1 + .9 * .5 * .5, .1 + .9 * .25, .1 + .9 * .5 * .125])
    o = _opt(momentum=0.9)
    s = S.CyclicLR(o, 0.1, 1.0, step_size_up=2)
    moms = []
    for _ in range(3):
        moms.append(o.param_groups[0]["momentum"])
        s.step()
    np.testing.assert_allclose(moms, [0.9, 0.85, 0.8])
    a = optim.Adam([np.zeros(2)], lr=1.0)
    S.CyclicLR(a, 0.1, 1.0, step_size_up=2)
    assert a.param_groups[0]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="mode"):
        S.CyclicLR(_opt(), 0.1, 1.0, mode="square")


def test_one_cycle():
    o = _opt(momentum=0.9)
    s = S.OneCycleLR(o, max_lr=1.0, total_steps=10)
    lrs = _lrs(o, s, 10)[:10]
    assert lrs[0] == pytest.approx(0.04) and lrs[2] == pytest.approx(1.0)
    assert lrs[1] == pytest.approx(0.52)
    assert lrs[9] == pytest.approx(0.04 / 1e4)
    pct = (5 - 2) / (9 - 2)
    low = 0.04 / 1e4
    assert lrs[5] == pytest.approx(low + (1 - low) / 2 * (math.cos(math.pi * pct) + 1))
    o = _opt(momentum=0.9)
    s = S.OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=5, three_phase=True,
                     anneal_strategy="linear")
    lrs = _lrs(o, s, 10)
    assert lrs[2] == pytest.approx(1.0) and lrs[4] == pytest.approx(0.04)
    with pytest.raises(ValueError, match="total"):
        s.step()
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(_opt(), 1.0)


def test_linear_and_sequential():
    o = _opt()
    np.testing.assert_allclose(_lrs(o, S.LinearLR(o, 0.5, total_iters=4), 6),
                               [.5, .625, .75, .875, 1, 1])
    o = _opt()
    warm = S.LinearLR(o, start_factor=0.1, total_iters=2)
    decay = S.ExponentialLR(o, 0.5)
    s = S.SequentialLR(o, [warm, decay], milestones=[2])
    np.testing.assert_allclose(_lrs(o, s, 5), [0.1, 0.55, 1.0, 0.5, 0.25])
    with pytest.raises(ValueError, match="milestones"):
        S.SequentialLR(o, [warm, decay], milestones=[])


def test_reduce_on_plateau():
    o = _opt()
    s = S.ReduceLROnPlateau(o, factor=0.5, patience=1)
    lrs = []
    for _ in range(5):
        s.step(1.0)
        lrs.append(o.param_groups[0]["lr"])
    assert lrs == [1, 1, .5, .5, .25]
    o = _opt()
    s = S.ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1, min_lr=0.3)
    lrs = []
    for _ in range(7):
        s.step(1.0)
        lrs.append(o.param_groups[0]["lr"])
    assert lrs == [1, 1, .5, .5, .5, .3, .3]
    o = _opt()
    s = S.ReduceLROnPlateau(o, mode="max", factor=0.1, patience=0, threshold=0.1,
                            threshold_mode="abs")
    for v in (1.0, 1.05):  # 1.05 is not better than 1.0 + 0.1
        s.step(v)
    assert o.param_groups[0]["lr"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="factor"):
        S.ReduceLROnPlateau(o, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        S.ReduceLROnPlateau(o, mode="up")


@pytest.mark.parametrize("make", [
    lambda o: S.StepLR(o, 2), lambda o: S.CosineAnnealingWarmRestarts(o, 3, 2),
    lambda o: S.CyclicLR(o, 0.1, 1.0, step_size_up=3),
    lambda o: S.OneCycleLR(o, 1.0, total_steps=20),
])
def test_state_dict_resumes(make):
    o1 = _opt(momentum=0.9)
    s1 = make(o1)
    _lrs(o1, s1, 4)
    state = s1.state_dict()
    o2 = _opt(momentum=0.9)
    s2 = make(o2)
    o2.load_state_dict(o1.state_dict())  # the rate itself lives in the optimizer, as in torch
    s2.load_state_dict(state)
    assert _lrs(o1, s1, 5) == _lrs(o2, s2, 5)
    assert s1.get_last_lr() == s2.get_last_lr()
