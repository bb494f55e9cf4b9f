"""Optimizer benchmarks: each fused kernel against its NumPy reference."""
import numpy as np

from fastnn import functional as F
from fastnn import reference as R
from fastnn.bench.harness import Case, Target

# name, fastnn function, reference function, state arrays, options, bytes per element
# (float32: reads of param, grad and state, writes of param and state), torch class
OPTIMIZERS = [
    ("sgd", F.sgd_, R.sgd, ["momentum_buffer"], dict(lr=1e-3, momentum=0.9, step=5), 20, "SGD"),
    ("adagrad", F.adagrad_, R.adagrad, ["state_sum"], dict(lr=1e-2, step=5), 20, "Adagrad"),
    ("rmsprop", F.rmsprop_, R.rmsprop, ["square_avg"], dict(lr=1e-2), 20, "RMSprop"),
    ("adam", F.adam_, R.adam, ["exp_avg", "exp_avg_sq"], dict(lr=1e-3, step=5), 28, "Adam"),
    ("adamw", F.adamw_, R.adamw, ["exp_avg", "exp_avg_sq"], dict(lr=1e-3, step=5), 28, "AdamW"),
    ("nadam", F.nadam_, R.nadam, ["exp_avg", "exp_avg_sq"],
     dict(lr=2e-3, step=5, mu_product=0.5), 28, "NAdam"),
    ("radam", F.radam_, R.radam, ["exp_avg", "exp_avg_sq"], dict(lr=1e-3, step=10), 28, "RAdam"),
    ("lion", F.lion_, R.lion, ["exp_avg"], dict(lr=1e-4), 20, None),
]

MLP_SHAPES = [(784, 256), (256,), (256, 256), (256,), (256, 10), (10,)]  # 269,322 values


def _make(shapes, n_states, dtype, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
    states = [[np.abs(rng.standard_normal(s)).astype(dtype) * 0.1 for s in shapes]
              for _ in range(n_states)]
    return params, grads, states


def _check(fn, ref, n_states, kwargs, dtype, shapes):
    params, grads, states = _make(shapes, n_states, dtype, seed=1)
    ref_params = [p.copy() for p in params]
    ref_states = [[s.copy() for s in group] for group in states]
    multi = len(shapes) > 1
    if multi:
        fn(params, grads, *states, **kwargs)
    else:
        fn(params[0], grads[0], *[s[0] for s in states], **kwargs)
    for i in range(len(shapes)):
        ref(ref_params[i], grads[i], *[s[i] for s in ref_states], **kwargs)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for i in range(len(shapes)):
        np.testing.assert_allclose(params[i], ref_params[i], rtol=rtol, atol=rtol)
        for s, rs in zip(states, ref_states):
            np.testing.assert_allclose(s[i], rs[i], rtol=rtol, atol=rtol)


def _torch_step(cls_name, params, grads, kwargs):
    import torch

    cls = getattr(torch.optim, cls_name)
    tparams = []
    for p, g in zip(params, grads):
        t = torch.from_numpy(p.copy())
        t.grad = torch.from_numpy(g.copy())
        tparams.append(t)
    opts = {k: v for k, v in kwargs.items() if k not in ("step", "mu_product")}
    if "momentum" in opts and cls_name == "RMSprop":
        opts.pop("momentum")
    try:
        opt = cls(tparams, fused=True, **opts)
        opt.step()
        label = "fused"
    except (RuntimeError, TypeError, ValueError):
        opt = cls(tparams, **opts)
        opt.step()
        label = "default"
    return opt.step, label


def _case(name, fn, ref, state_names, kwargs, bpe, torch_cls, shapes, size_label, targets,
          with_torch, dtype=np.float32):
    n_states = len(state_names)
    params, grads, states = _make(shapes, n_states, dtype)
    ref_params = [p.copy() for p in params]
    ref_states = [[s.copy() for s in group] for group in states]
    n = sum(int(np.prod(s)) for s in shapes)
    multi = len(shapes) > 1

    if multi:
        def run_fastnn():
            fn(params, grads, *states, **kwargs)
    else:
        p0, g0, s0 = params[0], grads[0], [s[0] for s in states]

        def run_fastnn():
            fn(p0, g0, *s0, **kwargs)

    def run_numpy():
        for i in range(len(shapes)):
            ref(ref_params[i], grads[i], *[s[i] for s in ref_states], **kwargs)

    torch_fn = None
    kernel = f"{name}" + (" (MLP, 6 arrays)" if multi else "")
    if with_torch and torch_cls:
        torch_fn, label = _torch_step(torch_cls, params, grads, kwargs)
        kernel += f" [torch {label}]"
    return Case(kernel=kernel, size=size_label, dtype=np.dtype(dtype).name,
                fastnn=run_fastnn, numpy=run_numpy,
                check=lambda: _check(fn, ref, n_states, kwargs, dtype,
                                     shapes if multi else [(min(n, 100_003),)]),
                bytes_moved=bpe * n * np.dtype(dtype).itemsize // 4, torch=torch_fn,
                targets=targets)


def cases(full=False, with_torch=False):
    out = []
    big = 32 * 1024 * 1024
    for name, fn, ref, states, kwargs, bpe, torch_cls in OPTIMIZERS:
        sizes = [(1 << 20, "1M")]
        if name in ("adam", "adamw") or full:
            sizes.append((big, "32M"))
        for n, label in sizes:
            targets = [Target(">=4x NumPy", lambda r: r["speedup"] >= 4)]
            if name in ("adam", "adamw") and n == big:
                targets = [Target(">=85% roofline", lambda r: r["pct_roofline"] >= 85),
                           Target(">=5x NumPy", lambda r: r["speedup"] >= 5)]
                if with_torch:
                    targets.append(Target(">=1x torch fused", lambda r: r["vs_torch"] >= 1))
            out.append(_case(name, fn, ref, states, kwargs, bpe, torch_cls, [(n,)], label,
                             targets, with_torch))
    adam = OPTIMIZERS[3]
    targets = [Target(">=8x NumPy", lambda r: r["speedup"] >= 8)]
    if with_torch:
        targets.append(Target(">=2x torch fused", lambda r: r["vs_torch"] >= 2))
    out.append(_case(*adam, MLP_SHAPES, "269,322", targets, with_torch))
    # per-call overhead on a small array
    out.append(_case(*adam, [(1000,)], "1000", [Target("<=3 us/call",
                                                       lambda r: r["fastnn_s"] <= 3e-6)],
                     with_torch))
    return out
