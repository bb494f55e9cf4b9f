"""The optimizer step of a torch model: fastnn.torch.Adam against torch.optim.Adam.

Only with ``--with-torch``. Columns: "numpy" is ``torch.optim.Adam(foreach=True)``
(torch's default multi-tensor path on the CPU), "fastnn" is
``fastnn.torch.Adam`` (fastnn's fused kernel, one call per param group over
zero-copy views of the parameters), "torch" is ``torch.optim.Adam(fused=True)``.
So "speedup" = foreach time / fastnn time and "vs torch" = fused time /
fastnn time. All three step the same parameters and gradients (float32),
each with its own state; ``check()`` first compares fastnn.torch.Adam with
torch's fused Adam on copies, over a few steps.
"""
import numpy as np

from fastnn.bench.harness import Case, Target

# (label, layer sizes) of stacks of Linear layers
MODELS = [
    ("MLP 784-256-256-10", [784, 256, 256, 10]),
    # 6 layers of 2048 x 2048 (+ bias): 25,178,112 values
    ("25M params, 6x Linear(2048, 2048)", [2048] * 7),
]


def _model(torch, sizes, seed=0):
    g = torch.Generator().manual_seed(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = torch.randn(n_out, n_in, generator=g) * (1.0 / n_in) ** 0.5
        b = torch.zeros(n_out)
        params += [w.requires_grad_(), b.requires_grad_()]
    for p in params:
        p.grad = torch.randn(p.shape, generator=g) * 1e-2
    return params


def _check(torch, params):
    import fastnn.torch as FT

    subset = params if sum(p.numel() for p in params) <= 2_000_000 else params[:2]
    ours = [p.detach().clone().requires_grad_() for p in subset]
    theirs = [p.detach().clone().requires_grad_() for p in subset]
    for a, b, p in zip(ours, theirs, subset):
        a.grad, b.grad = p.grad.clone(), p.grad.clone()
    opt = FT.Adam(ours, lr=1e-3)
    ref = torch.optim.Adam(theirs, lr=1e-3, fused=True)
    for _ in range(3):
        opt.step()
        ref.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)


def cases(full=False, with_torch=False):
    if not with_torch:
        return []
    import torch

    import fastnn.torch as FT

    out = []
    for label, sizes in MODELS:
        params = _model(torch, sizes)
        n = sum(p.numel() for p in params)
        ours = FT.Adam(params, lr=1e-3)
        foreach = torch.optim.Adam(params, lr=1e-3, foreach=True)
        fused = torch.optim.Adam(params, lr=1e-3, fused=True)
        targets = [Target(">=1x torch fused", lambda r: r["vs_torch"] >= 1)]
        out.append(Case(kernel=f"torch model Adam step ({label}) [numpy col: torch foreach]",
                        size=f"{n:,}", dtype="float32", fastnn=ours.step,
                        numpy=foreach.step, torch=fused.step,
                        check=lambda params=params: _check(torch, params),
                        bytes_moved=28 * n, targets=targets, settle=0.3))
    return out
