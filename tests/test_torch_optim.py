"""fastnn.torch: torch.optim optimizers over fastnn's fused kernels, against torch.optim."""
import copy
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import reference as R

torch = pytest.importorskip("torch")
import fastnn.torch as FT  # noqa: E402

SHAPES = [(7, 5), (5,), (3, 4, 2), (1,)]

# (class name, options): every torch option the kernels implement
CONFIGS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)),
    ("Adagrad", dict(lr=0.05, lr_decay=1e-2, weight_decay=1e-2, initial_accumulator_value=0.1)),
    ("RMSprop", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, momentum=0.9, centered=True, weight_decay=1e-2)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, weight_decay=1e-2, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1)),
    ("AdamW", dict(lr=1e-2, amsgrad=True)),
    ("NAdam", dict(lr=1e-2, weight_decay=1e-2)),
    ("NAdam", dict(lr=1e-2, weight_decay=1e-2, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=1e-2, weight_decay=1e-2)),
    ("RAdam", dict(lr=1e-2, weight_decay=1e-2, decoupled_weight_decay=True)),
]
N_STEPS = 25


def _tol(dtype):
    return dict(rtol=2e-5, atol=2e-6) if dtype == torch.float32 else dict(rtol=1e-10,
                                                                           atol=1e-12)


def _params(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in SHAPES]


def _grads(step, dtype):
    g = torch.Generator().manual_seed(1000 + step)
    return [torch.randn(s, generator=g, dtype=dtype) for s in SHAPES]


def _run(opt, params, dtype, steps, start=0):
    for t in range(start, start + steps):
        for p, g in zip(params, _grads(t, dtype)):
            p.grad = g.clone()
        opt.step()


@pytest.fixture(params=[torch.float32, torch.float64], ids=["float32", "float64"])
def tdtype(request):
    # torch keeps scalar state (step, NAdam's mu_product) in the default dtype:
    # float64 runs compare with float64 scalar state on both sides
    old = torch.get_default_dtype()
    torch.set_default_dtype(request.param)
    yield request.param
    torch.set_default_dtype(old)


@pytest.mark.parametrize("name,options", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                       enumerate(CONFIGS)])
def test_matches_torch_optim(name, options, tdtype):
    ours = _params(tdtype)
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    opt = getattr(FT, name)(ours, **options)
    ref = getattr(torch.optim, name)(theirs, foreach=False, **options)
    assert isinstance(opt, torch.optim.Optimizer)
    ptrs = [p.data_ptr() for p in ours]
    _run(opt, ours, tdtype, N_STEPS)
    _run(ref, theirs, tdtype, N_STEPS)
    assert [p.data_ptr() for p in ours] == ptrs  # updated in place
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.detach(), b.detach(), **_tol(tdtype))
    for a, b in zip(ours, theirs):
        sa, sb = opt.state[a], ref.state[b]
        assert set(sa) == set(sb)
        for key in sb:
            va, vb = sa[key], sb[key]
            assert isinstance(va, torch.Tensor) and va.dtype == vb.dtype and va.shape == vb.shape
            torch.testing.assert_close(va, vb, **_tol(tdtype))


def test_lion_matches_reference(tdtype):
    params = _params(tdtype)
    arrays = [p.detach().numpy().copy() for p in params]
    m = [np.zeros_like(a) for a in arrays]
    opt = FT.Lion(params, lr=1e-2, weight_decay=0.1)
    for t in range(N_STEPS):
        grads = _grads(t, tdtype)
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
        for a, g, s in zip(arrays, grads, m):
            R.lion(a, g.numpy(), s, lr=1e-2, weight_decay=0.1)
    tol = _tol(tdtype)
    for p, a, s in zip(params, arrays, m):
        np.testing.assert_allclose(p.detach().numpy(), a, rtol=tol["rtol"], atol=tol["atol"])
        np.testing.assert_allclose(opt.state[p]["exp_avg"].numpy(), s, rtol=tol["rtol"],
                                   atol=tol["atol"])


def test_one_kernel_call_per_group_zero_copy(monkeypatch):
    from fastnn.functional import optim as F

    calls = []
    real = F.adam_

    def spy(param, *args, **kwargs):
        calls.append(param)
        return real(param, *args, **kwargs)

    monkeypatch.setattr(F, "adam_", spy)
    params = _params(torch.float32)
    opt = FT.Adam(params, lr=1e-2)
    _run(opt, params, torch.float32, 2)
    assert len(calls) == 2 and len(calls[0]) == len(params)
    for view, p in zip(calls[-1], params):
        assert isinstance(view, np.ndarray)
        assert view.__array_interface__["data"][0] == p.data_ptr()
        assert np.shares_memory(view, p.detach().numpy())
    state_view = opt._views[params[0]][1][1]
    assert np.shares_memory(state_view, opt.state[params[0]]["exp_avg"].numpy())


@pytest.mark.parametrize("name,options", [("Adam", dict(lr=1e-2, amsgrad=True)),
                                          ("NAdam", dict(lr=1e-2)),
                                          ("SGD", dict(lr=1e-2, momentum=0.9)),
                                          ("Adagrad", dict(lr=1e-2)),
                                          ("RMSprop", dict(lr=1e-2, centered=True))])
@pytest.mark.parametrize("direction", ["fastnn_to_torch", "torch_to_fastnn"])
def test_state_dict_interchange(name, options, direction):
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # float64 scalar state too (NAdam's mu_product)
    try:
        _state_dict_interchange(name, options, direction)
    finally:
        torch.set_default_dtype(old)


def _state_dict_interchange(name, options, direction):
    dt = torch.float64
    p1, p2 = _params(dt), _params(dt)
    first = (getattr(FT, name) if direction == "fastnn_to_torch" else
             getattr(torch.optim, name))(p1, **options)
    _run(first, p1, dt, 5)
    sd = copy.deepcopy(first.state_dict())
    with torch.no_grad():
        for a, b in zip(p2, p1):
            a.copy_(b)
    second = (getattr(torch.optim, name) if direction == "fastnn_to_torch" else
              getattr(FT, name))(p2, **options)
    second.load_state_dict(sd)
    _run(first, p1, dt, 5, start=5)
    _run(second, p2, dt, 5, start=5)
    for a, b in zip(p1, p2):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-10, atol=1e-12)


def test_state_dict_format_is_torchs():
    params = _params(torch.float32)
    opt = FT.Adam(params, lr=1e-2)
    _run(opt, params, torch.float32, 3)
    sd = opt.state_dict()
    ref = torch.optim.Adam(_params(torch.float32), lr=1e-2)
    _run(ref, ref.param_groups[0]["params"], torch.float32, 3)
    rsd = ref.state_dict()
    assert set(sd["param_groups"][0]) >= set(rsd["param_groups"][0]) - {"param_names"}
    s, r = sd["state"][0], rsd["state"][0]
    assert set(s) == set(r) == {"step", "exp_avg", "exp_avg_sq"}
    assert s["step"].dtype == r["step"].dtype and s["step"].ndim == 0 and s["step"].item() == 3


def test_closure_param_groups_and_none_grads():
    dt = torch.float64
    a, b, c = _params(dt)[:3]
    before_c = c.detach().clone()
    opt = FT.SGD([{"params": [a]}, {"params": [b, c], "lr": 0.5}], lr=0.1)
    ref_a, ref_b = a.detach().clone(), b.detach().clone()
    calls = []

    def closure():
        calls.append(torch.is_grad_enabled())
        opt.zero_grad()
        loss = (a ** 2).sum() + (b ** 2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert calls == [True] and isinstance(loss, torch.Tensor)
    torch.testing.assert_close(a.detach(), ref_a - 0.1 * 2 * ref_a)
    torch.testing.assert_close(b.detach(), ref_b - 0.5 * 2 * ref_b)
    assert torch.equal(c.detach(), before_c) and c not in opt.state


def test_mixed_dtypes_in_one_group():
    a = torch.randn(4, dtype=torch.float32, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    a2, b2 = a.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
    opt, ref = FT.Adam([a, b], lr=0.1), torch.optim.Adam([a2, b2], lr=0.1)
    for o, ps in ((opt, (a, b)), (ref, (a2, b2))):
        for p in ps:
            p.grad = torch.ones_like(p)
        o.step()
    torch.testing.assert_close(a.detach(), a2.detach())
    torch.testing.assert_close(b.detach(), b2.detach())


def test_rejects_what_it_cannot_update_in_place():
    base = torch.randn(4, 5)
    strided = base.t().requires_grad_()
    with pytest.raises(ValueError, match=r"params\[0\] is not contiguous"):
        FT.Adam([strided])
    with pytest.raises(TypeError, match=r"params\[0\].*meta"):
        FT.Adam([torch.empty(3, device="meta", requires_grad=True)])
    with pytest.raises(TypeError, match="float32 or float64"):
        FT.Adam([torch.zeros(3, dtype=torch.float16, requires_grad=True)])
    with pytest.raises(ValueError, match="fused"):
        FT.Adam([torch.zeros(3, requires_grad=True)], fused=True)
    # a sparse gradient: nothing changes
    p = torch.zeros(3, requires_grad=True)
    q = torch.ones(2, requires_grad=True)
    opt = FT.SGD([q, p], lr=0.1)
    q.grad = torch.ones(2)
    p.grad = torch.sparse_coo_tensor(torch.tensor([[0]]), torch.tensor([1.0]), (3,))
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()
    assert torch.equal(q.detach(), torch.ones(2))
    # a parameter made strided after construction is caught before the step
    r = torch.zeros(4, 4, requires_grad=True)
    opt = FT.Adam([r])
    r.data = torch.zeros(4, 4).t()
    r.grad = torch.ones(4, 4)
    with pytest.raises(ValueError, match="not contiguous"):
        opt.step()


def test_parameter_storage_replaced():
    p = torch.zeros(3, requires_grad=True)
    opt = FT.SGD([p], lr=1.0)
    p.grad = torch.ones(3)
    opt.step()
    p.data = torch.full((3,), 5.0)
    p.grad = torch.ones(3)
    opt.step()
    torch.testing.assert_close(p.detach(), torch.full((3,), 4.0))


def test_torch_training_loop_matches():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    net2 = copy.deepcopy(net)
    opt, ref = FT.AdamW(net.parameters(), lr=1e-2), torch.optim.AdamW(net2.parameters(), lr=1e-2)
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    for _ in range(20):
        for model, o in ((net, opt), (net2, ref)):
            o.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            o.step()
    for a, b in zip(net.parameters(), net2.parameters()):
        torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-6)


def test_pickle_and_deepcopy():
    import pickle

    params = _params(torch.float32)
    opt = FT.Adam(params, lr=1e-2)
    _run(opt, params, torch.float32, 2)
    assert type(pickle.loads(pickle.dumps(opt.state_dict()))) is dict
    assert type(copy.deepcopy(opt)).__name__ == "Adam"


def test_import_fastnn_does_not_import_torch():
    code = ("import sys, fastnn, fastnn.torch, fastnn.functional; "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "fastnn.torch.Adam; assert 'torch' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert fastnn.functional is not None


def test_step_bumps_autograd_versions():
    # as with torch.optim: a graph that saved the parameter before the step must
    # not backpropagate silently through the changed values
    w = torch.ones(3, requires_grad=True)
    opt = FT.SGD([w], lr=0.1)
    saved = (w * w).sum()  # saves w for backward
    w.grad = torch.ones(3)
    version = w._version
    opt.step()
    assert w._version > version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        saved.backward()


# an option set by hand to a value the kernels refuse, in the last group
BAD_GROUP_OPTIONS = [
    ("SGD", dict(momentum=0.9), dict(momentum=-1.0), "momentum"),
    ("SGD", dict(momentum=0.9), dict(dampening=float("nan")), "dampening"),
    ("SGD", dict(momentum=0.9), dict(lr=float("inf")), "lr"),
    ("SGD", dict(momentum=0.9, nesterov=True), dict(dampening=0.5), "Nesterov"),
    ("Adagrad", dict(), dict(lr_decay=-1.0), "lr_decay"),
    ("RMSprop", dict(), dict(alpha=float("nan")), "alpha"),
    ("RMSprop", dict(momentum=0.5), dict(momentum=float("inf")), "momentum"),
    ("Adam", dict(), dict(eps=float("inf")), "eps"),
    ("AdamW", dict(), dict(weight_decay=float("inf")), "weight_decay"),
    ("NAdam", dict(), dict(momentum_decay=-1.0), "momentum_decay"),
    ("RAdam", dict(), dict(betas=(0.9, float("inf"))), "beta"),
    ("Lion", dict(), dict(lr="0.1"), "lr"),
]


@pytest.mark.parametrize("name,options,bad,match", BAD_GROUP_OPTIONS,
                         ids=[f"{n}-{list(b)[0]}" for n, _, b, _ in BAD_GROUP_OPTIONS])
def test_bad_option_in_a_later_group_raises_before_any_update(name, options, bad, match):
    a = torch.ones(3, dtype=torch.float64, requires_grad=True)
    b = torch.ones(2, dtype=torch.float64, requires_grad=True)
    opt = getattr(FT, name)([{"params": [a]}, {"params": [b]}], lr=0.1, **options)
    a.grad, b.grad = torch.ones(3, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    opt.step()
    before = copy.deepcopy(opt.state_dict())
    values = a.detach().clone(), b.detach().clone()
    opt.param_groups[1].update(bad)
    with pytest.raises((ValueError, TypeError), match=match):
        opt.step()
    assert torch.equal(a.detach(), values[0]) and torch.equal(b.detach(), values[1])
    after = opt.state_dict()
    for i in before["state"]:
        for key, value in before["state"][i].items():
            assert torch.equal(after["state"][i][key], value), key


@pytest.mark.parametrize("bad", [
    dict(lr=-1.0), dict(lr_decay=-1.0), dict(params_t=True), dict(dtype=torch.float16)],
    ids=["lr", "lr_decay", "strided", "float16"])
def test_rejected_param_group_is_not_kept(bad):
    # add_param_group raising must leave the optimizer as it was: a kept bad
    # group made every later step raise
    a = torch.ones(3, requires_grad=True)
    opt = FT.Adagrad([a], lr=0.1)
    bad = dict(bad)
    q = torch.ones(4, 3, dtype=bad.pop("dtype", torch.float32))
    if bad.pop("params_t", False):
        q = q.t()
    with pytest.raises((ValueError, TypeError)):
        opt.add_param_group(dict({"params": [q.requires_grad_()]}, **bad))
    assert len(opt.param_groups) == 1
    a.grad = torch.ones(3)
    opt.step()
    assert torch.all(a.detach() < 1.0)
