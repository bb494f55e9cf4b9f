"""torch.optim optimizers that update torch CPU parameters with fastnn's fused kernels.

``fastnn.torch.Adam(model.parameters(), lr=1e-3)`` is a drop-in
:class:`torch.optim.Optimizer`: same constructor arguments and defaults,
same param groups, closures, ``zero_grad``, and ``state_dict`` in torch's
format (``step`` as a scalar tensor, ``exp_avg``, ``exp_avg_sq``, ... as
tensors of the parameter's shape), so a ``torch.optim.Adam`` loads a
``fastnn.torch.Adam`` state dict and the other way round. Available:
SGD, Adagrad, RMSprop, Adam, AdamW, NAdam, RAdam and Lion (Lion, not in
torch.optim, keeps ``exp_avg`` as the common PyTorch implementations do).

How it updates
--------------
Each step calls one fastnn kernel per param group (per dtype and step
count within a group) over NumPy views of the parameters and of their
state, made with ``np.from_dlpack`` on ``p.detach()`` (zero-copy: the view
is checked to start at ``p.data_ptr()``). The views are cached per
parameter and rebuilt when a parameter's storage changes (``p.data = ...``)
or a state dict is loaded. The update happens under ``torch.no_grad``,
as in torch.optim, and bumps the parameters' autograd version counters as
torch.optim's in-place updates do.

Parameters must be dense, C-contiguous float32/float64 tensors on the CPU:
anything else raises (TypeError or ValueError naming the parameter) when
the group is added and again before a step, because fastnn never updates a
copy. Sparse gradients raise; a parameter whose ``grad`` is None is skipped.
``foreach`` is accepted and ignored; ``fused``, ``capturable`` and
``differentiable`` set to True raise.

torch is imported at the first attribute access of this module
(``fastnn.torch.Adam``), never by ``import fastnn``.
"""

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam", "Lion"]

_classes = {}


def __getattr__(name):
    if name in __all__:
        if not _classes:
            _build()
        return _classes[name]
    raise AttributeError(f"module 'fastnn.torch' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)


def _build():
    import torch

    from fastnn.functional import optim as F
    from fastnn._ext.runtime import check_real
    from fastnn._validation import as_ndarray

    def scalar_dtype():
        # torch.optim keeps "step" (and NAdam's mu_product) in this dtype
        return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32

    def check_param(i, p):
        where = f"params[{i}]"
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"{where} must be a torch.Tensor, got {type(p).__name__}")
        if p.is_sparse or p.layout != torch.strided:
            raise TypeError(f"{where} is a sparse tensor ({p.layout}); fastnn.torch updates "
                            f"dense CPU tensors")
        if p.device.type != "cpu":
            raise TypeError(f"{where} is on {p.device}; fastnn.torch updates CPU tensors "
                            f"(use torch.optim for other devices)")
        if p.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{where} has dtype {p.dtype}; fastnn kernels take float32 or "
                            f"float64")
        if not p.is_contiguous():
            raise ValueError(f"{where} is not contiguous: it is updated in place and fastnn "
                             f"never updates a copy (make the parameter contiguous, e.g. "
                             f"p.data = p.data.contiguous(), before creating the optimizer)")

    def option_value(v):
        """A hyperparameter as a Python number (torch allows 1-element tensors)."""
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            return v.item()
        return v

    def check_grad(i, p, g):
        where = f"the gradient of params[{i}]"
        if g.is_sparse or g.layout != torch.strided:
            raise RuntimeError(f"{where} is sparse; fastnn.torch does not support sparse "
                               f"gradients")
        if g.device.type != "cpu":
            raise TypeError(f"{where} is on {g.device}; fastnn.torch works on CPU tensors")
        if g.dtype != p.dtype or g.shape != p.shape:
            raise ValueError(f"{where} has dtype {g.dtype} and shape {tuple(g.shape)}; the "
                             f"parameter has {p.dtype} and {tuple(p.shape)}")

    def view(name, t):
        """A zero-copy writable NumPy view of a contiguous CPU tensor."""
        a = as_ndarray(name, t.detach(), writable=True)
        if t.numel() and a.__array_interface__["data"][0] != t.data_ptr():
            raise ValueError(f"{name}: the NumPy view is not the tensor's memory")
        return a

    try:
        from torch.autograd.graph import increment_version
    except ImportError:  # pragma: no cover  (older torch)
        increment_version = None

    def bump_versions(params):
        """Tell autograd the parameters changed in place (torch.optim's in-place
        ops do; writes through a NumPy view do not), so that a graph that
        saved a parameter before the step raises at backward instead of
        giving a wrong gradient."""
        if increment_version is not None and params:
            increment_version(params)

    def grad_view(g):
        """A NumPy view of a (checked: dense, CPU, the parameter's dtype and
        shape) gradient. Gradients are only read, so a strided one is fine
        (the kernel's check makes it contiguous); ``Tensor.numpy()`` is the
        fastest zero-copy view (about 1 us, against 10 for DLPack), which
        matters because backward makes new gradient tensors every step."""
        return (g.detach() if g.requires_grad else g).numpy()

    class _FastnnOptimizer(torch.optim.Optimizer):
        #: names of the per-parameter state tensors, given a group
        _has_step = True
        _scalar_state = ()

        def __init__(self, params, defaults):
            for key in ("fused", "capturable", "differentiable"):
                if defaults.get(key):
                    raise ValueError(f"fastnn.torch.{type(self).__name__} does not support "
                                     f"{key}=True")
            self._views = {}
            super().__init__(params, defaults)

        def add_param_group(self, param_group):
            super().add_param_group(param_group)
            group = self.param_groups[-1]
            start = sum(len(g["params"]) for g in self.param_groups[:-1])
            try:
                for i, p in enumerate(group["params"]):
                    check_param(start + i, p)
                self._check_group(group)
            except BaseException:
                # a rejected group is not kept: every later step would raise
                self.param_groups.pop()
                raise

        #: (name, low, low_inclusive, high, high_inclusive) of the real options
        #: the kernels take, checked (finite, in range) whenever a group is
        #: added and for every group before a step changes anything
        _real_options = (("lr", 0.0), ("weight_decay", 0.0), ("eps", 0.0))

        def _check_group(self, group):
            lr = float(group["lr"])
            if not lr >= 0.0:
                raise ValueError(f"Invalid learning rate: {lr}")
            if "eps" in group and not float(group["eps"]) >= 0.0:
                raise ValueError(f"Invalid epsilon value: {group['eps']}")
            if not float(group.get("weight_decay", 0.0)) >= 0.0:
                raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")
            if "betas" in group:
                for k, b in enumerate(group["betas"]):
                    if not 0.0 <= float(b) < 1.0:
                        raise ValueError(f"Invalid beta parameter at index {k}: {b}")
                    check_real(f"betas[{k}]", option_value(b))
            # everything else the kernel would refuse (inf, NaN, out of range),
            # so that no group is updated before a later one raises
            for name, *bounds in self._real_options:
                if name in group:
                    check_real(name, option_value(group[name]), *bounds)

        def load_state_dict(self, state_dict):
            super().load_state_dict(state_dict)
            self._views.clear()

        def __setstate__(self, state):
            super().__setstate__(state)
            self.__dict__.setdefault("_views", {})
            for group in self.param_groups:
                for key, value in self._group_defaults().items():
                    group.setdefault(key, value)

        def _group_defaults(self):
            return {"foreach": None, "maximize": False, "capturable": False,
                    "differentiable": False, "fused": None}

        # ---------------------------------------------------------- state

        def _state_names(self, group):
            raise NotImplementedError

        def _new_state(self, group, p):
            state = {}
            if self._has_step:
                state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
            for name in self._scalar_state:
                state[name] = torch.tensor(1.0, dtype=scalar_dtype())
            for name in self._state_names(group):
                state[name] = torch.zeros_like(p, memory_format=torch.contiguous_format)
            return state

        def _views_of(self, p, state, names):
            """Cached NumPy views of ``p`` and of its state tensors ``names``."""
            tensors = [state[n] for n in names]
            key = (p.data_ptr(), tuple(p.shape), p.dtype,
                   tuple(id(t) for t in tensors), tuple(t.data_ptr() for t in tensors))
            cached = self._views.get(p)
            if cached is not None and cached[0] == key:
                return cached[1]
            for n, t in zip(names, tensors):
                if t.shape != p.shape or t.dtype != p.dtype or t.device != p.device:
                    raise ValueError(f"state {n!r} has shape {tuple(t.shape)} and dtype "
                                     f"{t.dtype}; the parameter has {tuple(p.shape)} and "
                                     f"{p.dtype}")
            arrays = (view("param", p),) + tuple(view(n, t) for n, t in zip(names, tensors))
            self._views[p] = (key, arrays)
            return arrays

        # ---------------------------------------------------------- step

        @torch.no_grad()
        def step(self, closure=None):
            """One update of every parameter that has a gradient.

            Parameters
            ----------
            closure : callable, optional
                Re-evaluates the model and returns the loss (run with grad
                enabled, before the update, as in torch).

            Returns
            -------
            The closure's loss, or None.
            """
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            # Check every group, parameter and gradient before anything changes.
            plans = []
            index = 0
            for group in self.param_groups:
                self._check_group(group)
                names = self._state_names(group)
                buckets = {}
                for p in group["params"]:
                    i = index
                    index += 1
                    if p.grad is None:
                        continue
                    check_param(i, p)
                    check_grad(i, p, p.grad)
                    plans.append((group, names, p, self.state[p], i, buckets))
                plans.append((group, names, None, None, None, buckets))
            # Build the state and the views, then run one kernel per bucket.
            runs = []
            for group, names, p, state, i, buckets in plans:
                if p is None:
                    runs.append((group, buckets))
                    continue
                if not state or any(n not in state for n in names) or \
                        (self._has_step and "step" not in state):
                    # first step (or amsgrad/momentum switched on since): torch's layout
                    for k, v in self._new_state(group, p).items():
                        state.setdefault(k, v)
                for n in names:
                    if not state[n].is_contiguous():
                        # the optimizer's own tensor (e.g. loaded strided): it owns it,
                        # so replacing it by a contiguous one updates no one's copy
                        state[n] = state[n].contiguous()
                key = (p.dtype, self._bucket_key(state))
                arrays = self._views_of(p, state, names)
                ga = grad_view(p.grad)
                bucket = buckets.setdefault(key, ([], [], [[] for _ in names], []))
                bucket[0].append(arrays[0])
                bucket[1].append(ga)
                for lst, a in zip(bucket[2], arrays[1:]):
                    lst.append(a)
                bucket[3].append(state)
            for group, buckets in runs:
                for (_, key), (params, grads, states, state_dicts) in buckets.items():
                    self._update(group, params, grads, states, key, state_dicts)
            bump_versions([plan[2] for plan in plans if plan[2] is not None])
            return loss

        def _bucket_key(self, state):
            key = (int(state["step"].item()),) if self._has_step else ()
            return key + tuple(float(state[n].item()) for n in self._scalar_state)

        def _bump(self, state_dicts, **scalars):
            if self._has_step:
                steps = [s["step"] for s in state_dicts]
                if hasattr(torch, "_foreach_add_"):
                    torch._foreach_add_(steps, 1)  # one call for the bucket, as torch.optim
                else:  # pragma: no cover
                    for t in steps:
                        t += 1
            for s in state_dicts:
                for n, v in scalars.items():
                    s[n] = torch.tensor(v, dtype=s[n].dtype)

    def _betas(group):
        b1, b2 = group["betas"]
        return float(b1), float(b2)

    class SGD(_FastnnOptimizer):
        """torch.optim.SGD with fastnn's fused kernel (state: ``momentum_buffer``)."""

        _has_step = False

        def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                     nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                     fused=None):
            if nesterov and (momentum <= 0 or dampening != 0):
                raise ValueError("Nesterov momentum requires a momentum and zero dampening")
            if momentum < 0.0:
                raise ValueError(f"Invalid momentum value: {momentum}")
            super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                          weight_decay=weight_decay, nesterov=nesterov,
                                          maximize=maximize, foreach=foreach,
                                          differentiable=differentiable, fused=fused))

        _real_options = _FastnnOptimizer._real_options + (("momentum", 0.0), ("dampening",))

        def _check_group(self, group):
            super()._check_group(group)
            if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
                raise ValueError("Nesterov momentum requires a momentum and zero dampening")

        def _group_defaults(self):
            return {"nesterov": False, "maximize": False, "foreach": None,
                    "differentiable": False, "fused": None}

        def _state_names(self, group):
            return ("momentum_buffer",) if group["momentum"] != 0 else ()

        def _new_state(self, group, p):
            return {}

        def _bucket_key(self, state):
            return ()

        @torch.no_grad()
        def step(self, closure=None):
            # torch sets the buffer to the gradient at its first step: those
            # parameters are updated with step=1, the others with step=2
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            index = 0
            plans = []
            for group in self.param_groups:
                self._check_group(group)
                has_buffer = group["momentum"] != 0
                buckets = {}
                for p in group["params"]:
                    i = index
                    index += 1
                    if p.grad is None:
                        continue
                    check_param(i, p)
                    check_grad(i, p, p.grad)
                    plans.append((group, has_buffer, p, i, buckets))
                plans.append((group, has_buffer, None, None, buckets))
            runs = []
            for group, has_buffer, p, i, buckets in plans:
                if p is None:
                    runs.append((group, has_buffer, buckets))
                    continue
                state = self.state[p]
                first = 1
                if has_buffer:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        state["momentum_buffer"] = torch.zeros_like(
                            p, memory_format=torch.contiguous_format)
                    else:
                        first = 2
                        if not buf.is_contiguous():
                            state["momentum_buffer"] = buf.contiguous()
                names = ("momentum_buffer",) if has_buffer else ()
                arrays = self._views_of(p, state, names)
                ga = grad_view(p.grad)
                b = buckets.setdefault((p.dtype, first), ([], [], []))
                b[0].append(arrays[0])
                b[1].append(ga)
                if has_buffer:
                    b[2].append(arrays[1])
            for group, has_buffer, buckets in runs:
                for (_, first), (params, grads, bufs) in buckets.items():
                    F.sgd_(params, grads, bufs if has_buffer else None, lr=float(group["lr"]),
                           momentum=float(group["momentum"]),
                           dampening=float(group["dampening"]),
                           weight_decay=float(group["weight_decay"]),
                           nesterov=bool(group["nesterov"]), maximize=bool(group["maximize"]),
                           step=first)
            bump_versions([plan[2] for plan in plans if plan[2] is not None])
            return loss

    class Adagrad(_FastnnOptimizer):
        """torch.optim.Adagrad with fastnn's fused kernel (state: ``step``, ``sum``,
        created at construction as torch does)."""

        def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                     initial_accumulator_value=0.0, eps=1e-10, foreach=None, *,
                     maximize=False, differentiable=False, fused=None):
            if lr_decay < 0.0:
                raise ValueError(f"Invalid lr_decay value: {lr_decay}")
            if initial_accumulator_value < 0.0:
                raise ValueError(f"Invalid initial_accumulator_value value: "
                                 f"{initial_accumulator_value}")
            super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                          weight_decay=weight_decay,
                                          initial_accumulator_value=initial_accumulator_value,
                                          foreach=foreach, maximize=maximize,
                                          differentiable=differentiable, fused=fused))
            for group in self.param_groups:
                for p in group["params"]:
                    self.state[p] = self._new_state(group, p)

        _real_options = _FastnnOptimizer._real_options + (("lr_decay", 0.0),
                                                          ("initial_accumulator_value", 0.0))

        def _state_names(self, group):
            return ("sum",)

        def _new_state(self, group, p):
            return {"step": torch.tensor(0.0, dtype=scalar_dtype()),
                    "sum": torch.full_like(p, float(group["initial_accumulator_value"]),
                                           memory_format=torch.contiguous_format)}

        def _update(self, group, params, grads, states, key, state_dicts):
            F.adagrad_(params, grads, states[0], step=key[0] + 1, lr=float(group["lr"]),
                       lr_decay=float(group["lr_decay"]),
                       weight_decay=float(group["weight_decay"]), eps=float(group["eps"]),
                       maximize=bool(group["maximize"]))
            self._bump(state_dicts)

    class RMSprop(_FastnnOptimizer):
        """torch.optim.RMSprop with fastnn's fused kernel (state: ``step``,
        ``square_avg``, ``momentum_buffer`` if momentum > 0, ``grad_avg`` if centered)."""

        def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                     momentum=0.0, centered=False, capturable=False, foreach=None,
                     maximize=False, differentiable=False):
            if momentum < 0.0:
                raise ValueError(f"Invalid momentum value: {momentum}")
            if not 0.0 <= alpha:
                raise ValueError(f"Invalid alpha value: {alpha}")
            super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                          centered=centered, weight_decay=weight_decay,
                                          capturable=capturable, foreach=foreach,
                                          maximize=maximize, differentiable=differentiable))

        _real_options = _FastnnOptimizer._real_options + (("alpha", 0.0, True, 1.0, True),
                                                          ("momentum", 0.0))

        def _group_defaults(self):
            return {"momentum": 0, "centered": False, "foreach": None, "maximize": False,
                    "differentiable": False, "capturable": False}

        def _state_names(self, group):
            names = ("square_avg",)
            if group["momentum"] > 0:
                names += ("momentum_buffer",)
            if group["centered"]:
                names += ("grad_avg",)
            return names

        def _update(self, group, params, grads, states, key, state_dicts):
            names = self._state_names(group)
            by = dict(zip(names, states))
            F.rmsprop_(params, grads, by["square_avg"], by.get("grad_avg"),
                       by.get("momentum_buffer"), lr=float(group["lr"]),
                       alpha=float(group["alpha"]), eps=float(group["eps"]),
                       weight_decay=float(group["weight_decay"]),
                       momentum=float(group["momentum"]), centered=bool(group["centered"]),
                       maximize=bool(group["maximize"]))
            self._bump(state_dicts)

    class Adam(_FastnnOptimizer):
        """torch.optim.Adam with fastnn's fused kernel (state: ``step``, ``exp_avg``,
        ``exp_avg_sq``, ``max_exp_avg_sq`` with amsgrad)."""

        _decoupled = False

        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                     amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                     differentiable=False, fused=None, decoupled_weight_decay=None):
            if decoupled_weight_decay is None:
                decoupled_weight_decay = self._decoupled
            super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                          weight_decay=weight_decay, amsgrad=amsgrad,
                                          maximize=maximize, foreach=foreach,
                                          capturable=capturable,
                                          differentiable=differentiable, fused=fused,
                                          decoupled_weight_decay=decoupled_weight_decay))

        def _group_defaults(self):
            d = super()._group_defaults()
            d.update(amsgrad=False, decoupled_weight_decay=self._decoupled)
            return d

        def _state_names(self, group):
            return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"]
                                                else ())

        def _update(self, group, params, grads, states, key, state_dicts):
            b1, b2 = _betas(group)
            F.adam_(params, grads, states[0], states[1],
                    states[2] if group["amsgrad"] else None, step=key[0] + 1,
                    lr=float(group["lr"]), beta1=b1, beta2=b2, eps=float(group["eps"]),
                    weight_decay=float(group["weight_decay"]), amsgrad=bool(group["amsgrad"]),
                    maximize=bool(group["maximize"]),
                    decoupled_weight_decay=bool(group["decoupled_weight_decay"]))
            self._bump(state_dicts)

    class AdamW(Adam):
        """torch.optim.AdamW (Adam with decoupled weight decay, default 1e-2)."""

        _decoupled = True

        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                     amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                     differentiable=False, fused=None):
            super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                             maximize=maximize, capturable=capturable,
                             differentiable=differentiable, fused=fused,
                             decoupled_weight_decay=True)

    class _TwoMoments(_FastnnOptimizer):
        """NAdam and RAdam: ``exp_avg`` and ``exp_avg_sq``, and an optional
        decoupled weight decay (off by default, as in torch)."""

        def _group_defaults(self):
            d = super()._group_defaults()
            d.update(decoupled_weight_decay=False)
            return d

        def _state_names(self, group):
            return ("exp_avg", "exp_avg_sq")

    class NAdam(_TwoMoments):
        """torch.optim.NAdam with fastnn's fused kernel (state: ``step``,
        ``mu_product``, ``exp_avg``, ``exp_avg_sq``)."""

        _scalar_state = ("mu_product",)
        _real_options = _FastnnOptimizer._real_options + (("momentum_decay", 0.0),)

        def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                     momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                     maximize=False, capturable=False, differentiable=False):
            if momentum_decay < 0.0:
                raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
            super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                          weight_decay=weight_decay,
                                          momentum_decay=momentum_decay,
                                          decoupled_weight_decay=decoupled_weight_decay,
                                          maximize=maximize, foreach=foreach,
                                          capturable=capturable,
                                          differentiable=differentiable))

        def _update(self, group, params, grads, states, key, state_dicts):
            b1, b2 = _betas(group)
            mu_product = F.nadam_(params, grads, states[0], states[1], step=key[0] + 1,
                                  mu_product=key[1], lr=float(group["lr"]), beta1=b1,
                                  beta2=b2, eps=float(group["eps"]),
                                  weight_decay=float(group["weight_decay"]),
                                  momentum_decay=float(group["momentum_decay"]),
                                  decoupled_weight_decay=bool(group["decoupled_weight_decay"]),
                                  maximize=bool(group["maximize"]))
            self._bump(state_dicts, mu_product=mu_product)

    class RAdam(_TwoMoments):
        """torch.optim.RAdam with fastnn's fused kernel (state: ``step``, ``exp_avg``,
        ``exp_avg_sq``)."""

        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                     decoupled_weight_decay=False, *, foreach=None, maximize=False,
                     capturable=False, differentiable=False):
            super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                          weight_decay=weight_decay,
                                          decoupled_weight_decay=decoupled_weight_decay,
                                          maximize=maximize, foreach=foreach,
                                          capturable=capturable,
                                          differentiable=differentiable))

        def _update(self, group, params, grads, states, key, state_dicts):
            b1, b2 = _betas(group)
            F.radam_(params, grads, states[0], states[1], step=key[0] + 1,
                     lr=float(group["lr"]), beta1=b1, beta2=b2, eps=float(group["eps"]),
                     weight_decay=float(group["weight_decay"]),
                     decoupled_weight_decay=bool(group["decoupled_weight_decay"]),
                     maximize=bool(group["maximize"]))
            self._bump(state_dicts)

    class Lion(_FastnnOptimizer):
        """Lion (Chen et al. 2023), lr=1e-4, betas=(0.9, 0.99), weight_decay=0
        (decoupled); state: ``exp_avg``. Not in torch.optim."""

        _has_step = False

        def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *,
                     maximize=False, foreach=None):
            super().__init__(params, dict(lr=lr, betas=tuple(betas),
                                          weight_decay=weight_decay, maximize=maximize,
                                          foreach=foreach))

        def _group_defaults(self):
            return {"maximize": False, "foreach": None}

        def _state_names(self, group):
            return ("exp_avg",)

        def _update(self, group, params, grads, states, key, state_dicts):
            b1, b2 = _betas(group)
            F.lion_(params, grads, states[0], lr=float(group["lr"]), beta1=b1, beta2=b2,
                    weight_decay=float(group["weight_decay"]),
                    maximize=bool(group["maximize"]))

    for cls in (SGD, Adagrad, RMSprop, Adam, AdamW, NAdam, RAdam, Lion):
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
        _classes[cls.__name__] = cls
