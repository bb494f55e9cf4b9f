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


def test_reduce_on_plateau_reduces_a_param_group_added_later():
    # as torch: a group added after the scheduler is reduced too, down to the
    # scalar min_lr; with one min_lr per group the mismatch raises
    o = _opt()
    s = S.ReduceLROnPlateau(o, factor=0.5, patience=0, min_lr=0.1)
    o.add_param_group({"params": [np.zeros(2, np.float32)], "lr": 0.3})
    for _ in range(3):
        s.step(1.0)
    assert [g["lr"] for g in o.param_groups] == [0.25, 0.1]
    assert s.get_last_lr() == [0.25, 0.1]
    s2 = S.ReduceLROnPlateau(o, factor=0.5, patience=0, min_lr=[0.0, 0.0])
    s2.load_state_dict(s2.state_dict())
    o.add_param_group({"params": [np.zeros(2, np.float32)], "lr": 0.3})
    s2.step(1.0)
    with pytest.raises(RuntimeError, match="param groups"):
        s2.step(1.0)
    assert [g["lr"] for g in o.param_groups] == [0.25, 0.1, 0.3]


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


# ---------------------------------------------------------------- chaining, new schedulers


def test_exponential_and_multistep_compose_on_one_optimizer():
    o = _opt(0.1)
    a, b = S.ExponentialLR(o, 0.9), S.MultiStepLR(o, [10, 20], 0.1)
    lrs = []
    for _ in range(25):
        a.step()
        b.step()
        lrs.append(o.param_groups[0]["lr"])
    assert lrs[0] == pytest.approx(0.09, rel=1e-15)
    assert lrs[10] == pytest.approx(0.003138105960900002, rel=1e-15)  # torch's value
    expected = [0.1 * 0.9 ** k * 0.1 ** ((k >= 10) + (k >= 20)) for k in range(1, 26)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-13)
    # ChainedScheduler steps both, in order
    o2 = _opt(0.1)
    c = S.ChainedScheduler([S.ExponentialLR(o2, 0.9), S.MultiStepLR(o2, [10, 20], 0.1)])
    got = []
    for _ in range(25):
        c.step()
        got.append(c.get_last_lr()[0])
    assert got == lrs


def test_a_rate_set_by_hand_is_the_base_of_the_next_step():
    o = _opt(1.0)
    s = S.ExponentialLR(o, 0.5)
    s.step()
    assert o.param_groups[0]["lr"] == 0.5
    o.param_groups[0]["lr"] = 3.0
    s.step()
    assert o.param_groups[0]["lr"] == 1.5
    o = _opt(1.0)
    s = S.StepLR(o, 2, 0.1)
    o.param_groups[0]["lr"] = 0.3
    s.step()
    assert o.param_groups[0]["lr"] == 0.3  # not a milestone: unchanged
    s.step()
    assert o.param_groups[0]["lr"] == pytest.approx(0.03, rel=1e-15)


def test_new_schedulers_formulas():
    o = _opt(2.0)
    assert _lrs(o, S.LambdaLR(o, lambda e: 1.0 / (e + 1)), 4) == [2.0, 1.0, 2.0 / 3, 0.5]
    o = _opt(2.0)
    assert _lrs(o, S.MultiplicativeLR(o, lambda e: 0.5), 4) == [2.0, 1.0, 0.5, 0.25]
    o = _opt(1.0)
    np.testing.assert_allclose(_lrs(o, S.ConstantLR(o, factor=0.25, total_iters=3), 5),
                               [0.25, 0.25, 0.25, 1.0, 1.0], rtol=1e-15)
    o = _opt(1.0)
    np.testing.assert_allclose(_lrs(o, S.PolynomialLR(o, total_iters=4, power=2.0), 6),
                               [(1 - min(k, 4) / 4) ** 2 for k in range(6)], atol=1e-16)
    # per-group lambdas
    o = optim.SGD([{"params": [np.zeros(2)], "lr": 1.0}, {"params": [np.zeros(2)], "lr": 0.1}])
    s = S.LambdaLR(o, [lambda e: 0.5 ** e, lambda e: e + 1.0])
    s.step()
    assert s.get_last_lr() == [0.5, 0.2]
    with pytest.raises(ValueError, match="2 lr_lambdas"):
        S.LambdaLR(o, [lambda e: 1.0])


class _Factor:
    """A picklable lr_lambda with state (its __dict__ goes in the state_dict)."""

    def __init__(self, base):
        self.base = base

    def __call__(self, epoch):
        return self.base ** epoch


def test_lambda_state_dict_skips_functions_keeps_callable_objects():
    import pickle

    o = optim.SGD([{"params": [np.zeros(2)], "lr": 1.0}, {"params": [np.zeros(2)], "lr": 0.1}])
    s = S.LambdaLR(o, [lambda e: 0.5, _Factor(0.9)])
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [None, {"base": 0.9}]
    pickle.dumps(sd)  # the state_dict is picklable even though the scheduler is not
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(s)  # a lambda: documented as not picklable
    o2 = optim.SGD([{"params": [np.zeros(2)], "lr": 1.0}, {"params": [np.zeros(2)], "lr": 0.1}])
    f = _Factor(0.5)
    s2 = S.LambdaLR(o2, [lambda e: 0.5, f])
    s2.load_state_dict(sd)
    assert f.base == 0.9 and s2.last_epoch == s.last_epoch


BAD_ARGS = [
    (lambda o: S.ExponentialLR(o, gamma=math.nan), "gamma"),
    (lambda o: S.ExponentialLR(o, gamma=0.0), "gamma"),
    (lambda o: S.ExponentialLR(o, gamma=math.inf), "gamma"),
    (lambda o: S.StepLR(o, 2, gamma=math.nan), "gamma"),
    (lambda o: S.StepLR(o, 2.5), "step_size"),
    (lambda o: S.MultiStepLR(o, [2, -1]), r"milestones\[1\]"),
    (lambda o: S.MultiStepLR(o, 3), "milestones"),
    (lambda o: S.MultiStepLR(o, [2], gamma=-0.1), "gamma"),
    (lambda o: S.ConstantLR(o, factor=0.0), "factor"),
    (lambda o: S.ConstantLR(o, factor=1.5), "factor"),
    (lambda o: S.ConstantLR(o, total_iters=0), "total_iters"),
    (lambda o: S.LinearLR(o, start_factor=0.0), "start_factor"),
    (lambda o: S.LinearLR(o, end_factor=math.nan), "end_factor"),
    (lambda o: S.LinearLR(o, total_iters=-2), "total_iters"),
    (lambda o: S.PolynomialLR(o, total_iters=0), "total_iters"),
    (lambda o: S.PolynomialLR(o, power=-1.0), "power"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), "T_max"),
    (lambda o: S.CosineAnnealingLR(o, 5, eta_min=math.nan), "eta_min"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, 0), "T_0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, 2, T_mult=0), "T_mult"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, 2, eta_min=-1.0), "eta_min"),
    (lambda o: S.CyclicLR(o, 0.1, math.nan), "max_lr"),
    (lambda o: S.CyclicLR(o, 0.1, 1.0, gamma=math.nan, cycle_momentum=False), "gamma"),
    (lambda o: S.CyclicLR(o, 0.1, 1.0, step_size_up=0, cycle_momentum=False), "step_size_up"),
    (lambda o: S.CyclicLR(o, 0.1, 1.0, scale_mode="x", cycle_momentum=False), "scale_mode"),
    (lambda o: S.OneCycleLR(o, 1.0, total_steps=10, pct_start=math.nan), "pct_start"),
    (lambda o: S.OneCycleLR(o, 1.0, total_steps=10, div_factor=0.0), "div_factor"),
    (lambda o: S.OneCycleLR(o, 1.0, total_steps=0), "total_steps"),
    (lambda o: S.LambdaLR(o, 0.5), "lr_lambda must be callable"),
    (lambda o: S.MultiplicativeLR(o, [None]), "lr_lambda must be callable"),
    (lambda o: S.ExponentialLR(o, 0.9, last_epoch=-2), "last_epoch"),
    (lambda o: S.ReduceLROnPlateau(o, factor=math.nan), "factor"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), "factor"),
    (lambda o: S.ReduceLROnPlateau(o, patience=-1), "patience"),
    (lambda o: S.ReduceLROnPlateau(o, threshold=math.nan), "threshold"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=-1.0), "min_lr"),
    (lambda o: S.ReduceLROnPlateau(o, cooldown=0.5), "cooldown"),
    (lambda o: S.ReduceLROnPlateau(o, eps=math.nan), "eps"),
    (lambda o: S.ChainedScheduler([]), "at least one"),
    (lambda o: S.ChainedScheduler([S.ExponentialLR(o, 0.9), S.ReduceLROnPlateau(o)]),
     "ReduceLROnPlateau"),
    (lambda o: S.ChainedScheduler([S.ExponentialLR(o, 0.9), S.ExponentialLR(_opt(), 0.9)]),
     "different optimizer"),
    (lambda o: S.SequentialLR(o, [S.ExponentialLR(o, 0.9), S.StepLR(o, 2)], [3, 4]),
     "milestones"),
    (lambda o: S.SequentialLR(o, [S.ExponentialLR(o, 0.9)] * 3, [4, 2]), "increasing"),
]


@pytest.mark.parametrize("make,match", BAD_ARGS)
def test_bad_scheduler_arguments_raise_at_construction(make, match):
    o = _opt(0.5, momentum=0.9)
    with pytest.raises((ValueError, TypeError), match=match):
        make(o)


# ---------------------------------------------------------------- against torch

TORCH_CASES = {
    "LambdaLR": lambda L, o: L.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1.0 / (1 + e)]),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.97 if e % 3 else 0.9),
    "StepLR": lambda L, o: L.StepLR(o, 7, 0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, [5, 12, 12, 30], 0.3),
    "ConstantLR": lambda L, o: L.ConstantLR(o, 0.5, total_iters=8),
    "LinearLR": lambda L, o: L.LinearLR(o, 0.2, 0.9, total_iters=10),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, 0.93),
    "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=30, power=2.0),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=12, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, 7, 2, 0.001),
    "CyclicLR": lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=5, step_size_down=3,
                                        mode="triangular2"),
    "OneCycleLR": lambda L, o: L.OneCycleLR(o, [0.1, 0.2], total_steps=60, three_phase=True),
    "SequentialLR": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, 0.1, total_iters=5), L.ExponentialLR(o, 0.9)], milestones=[5]),
    "SequentialLR3": lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, 0.5, 3), L.CosineAnnealingLR(o, 10), L.StepLR(o, 5, 0.5)],
        milestones=[3, 15]),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler(
        [L.ExponentialLR(o, 0.9), L.MultiStepLR(o, [10, 20], 0.1), L.LinearLR(o, 0.5)]),
    "Exponential+Cosine": lambda L, o: [L.ExponentialLR(o, 0.95), L.CosineAnnealingLR(o, 9)],
    "ReduceLROnPlateau": lambda L, o: L.ReduceLROnPlateau(o, patience=2, factor=0.5,
                                                          threshold=0.01, cooldown=1),
}
_METRIC = [1.0 / (1 + (k % 17)) if k < 25 else 0.1 for k in range(80)]


def _torch_opt(torch):
    return torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": 0.1},
                            {"params": [torch.zeros(2, requires_grad=True)], "lr": 0.05}],
                           lr=0.1, momentum=0.9)


def _fastnn_opt():
    return optim.SGD([{"params": [np.zeros(2)], "lr": 0.1},
                      {"params": [np.zeros(2)], "lr": 0.05}], lr=0.1, momentum=0.9)


def _as_list(s):
    return s if isinstance(s, list) else [s]


def _step(scheds, k):
    for s in scheds:
        if type(s).__name__ == "ReduceLROnPlateau":
            s.step(_METRIC[k])
        else:
            s.step()


def _run(make_opt, L, make, n=50, resume_at=None, hand_lr_at=None):
    """Rates of both groups after construction and after each of n steps;
    optionally the scheduler (and optimizer) rebuilt from state_dicts at
    step resume_at, and a rate set by hand at step hand_lr_at."""
    import copy

    opt = make_opt()
    scheds = _as_list(make(L, opt))
    lrs = [[g["lr"] for g in opt.param_groups]]
    for k in range(n):
        if k == hand_lr_at:
            opt.param_groups[0]["lr"] = 0.07
        if k == resume_at:
            opt_sd = copy.deepcopy(opt.state_dict())
            sds = [copy.deepcopy(s.state_dict()) for s in scheds]
            opt = make_opt()
            scheds = _as_list(make(L, opt))
            opt.load_state_dict(opt_sd)
            for s, sd in zip(scheds, sds):
                s.load_state_dict(sd)
        _step(scheds, k)
        lrs.append([float(g["lr"]) for g in opt.param_groups])
    return np.array(lrs)


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_matches_torch_over_50_steps_with_resumption_and_a_hand_set_rate(name):
    torch = pytest.importorskip("torch")
    import warnings

    make = TORCH_CASES[name]
    for kw in ({}, {"resume_at": 23}, {"hand_lr_at": 17}, {"resume_at": 31, "hand_lr_at": 9}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: scheduler.step() before optimizer.step()
            expected = _run(lambda: _torch_opt(torch), torch.optim.lr_scheduler, make, **kw)
        got = _run(_fastnn_opt, S, make, **kw)
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0, err_msg=f"{name} {kw}")
