"""The optimizer base class: param groups, state, state_dict."""
import copy

import numpy as np

from fastnn.parameter import Parameter

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of fastnn's optimizers.

    Parameters
    ----------
    params : iterable
        Parameters (:class:`fastnn.Parameter` or plain float arrays, updated
        in place), or dicts ``{"params": [...], **options}`` defining param
        groups with their own options.
    defaults : dict
        Default options of every group.

    Notes
    -----
    Subclasses define ``_state_arrays(group)`` (names of the per-parameter
    state arrays), ``_init_state(group, param_data)`` and
    ``_update(group, datas, grads, states, scalars)``.
    """

    #: per-parameter scalar state besides "step" (e.g. NAdam's mu_product)
    _scalar_state = ()

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # id(param) -> dict
        params = list(params)
        if not params:
            raise ValueError("the optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    # ---------------------------------------------------------- groups

    def add_param_group(self, group):
        """Add a group of parameters with its own options."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError("a param group is a dict with a 'params' entry")
        group = dict(group)
        plist = group["params"]
        if isinstance(plist, (np.ndarray, Parameter)):
            plist = [plist]
        plist = list(plist)
        for i, p in enumerate(plist):
            data = p.data if isinstance(p, Parameter) else p
            if not isinstance(data, np.ndarray) or data.dtype not in (np.float32, np.float64):
                raise TypeError(f"params[{i}] must be a Parameter or a float32/float64 "
                                f"ndarray, got {type(p).__name__}")
            if not data.flags.c_contiguous or not data.flags.writeable:
                raise ValueError(f"params[{i}] must be C-contiguous and writable: it is "
                                 f"updated in place")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in plist):
            raise ValueError("some parameters appear in more than one param group")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)
        group["params"] = plist
        self.param_groups.append(group)

    def _check_group(self, group):
        """Validate a group's options (subclasses raise ValueError)."""

    # ---------------------------------------------------------- stepping

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of every :class:`Parameter`."""
        for group in self.param_groups:
            for p in group["params"]:
                if isinstance(p, Parameter):
                    p.zero_grad(set_to_none)

    def _all_params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def step(self, grads=None):
        """Update every parameter that has a gradient, one kernel call per group.

        Parameters
        ----------
        grads : list of ndarray, optional
            Gradients in the order of the parameters across groups (needed
            when the parameters are plain arrays; None entries are skipped).
            By default each Parameter's ``.grad`` is used.
        """
        if grads is not None:
            grads = list(grads)
            n = len(self._all_params())
            if len(grads) != n:
                raise ValueError(f"step() got {len(grads)} gradients for {n} parameters")
        k = 0
        for group in self.param_groups:
            datas, gs, keys = [], [], []
            for p in group["params"]:
                g = grads[k] if grads is not None else getattr(p, "grad", None)
                k += 1
                if g is None:
                    continue
                datas.append(p.data if isinstance(p, Parameter) else p)
                gs.append(g)
                keys.append(id(p))
            if not datas:
                continue
            # Parameters whose scalar state (step count, ...) agrees share one call.
            buckets = {}
            for data, g, key in zip(datas, gs, keys):
                state = self.state.get(key)
                if state is None:
                    state = self._new_state(group, data)
                    self.state[key] = state
                scalars = (state["step"],) + tuple(state[s] for s in self._scalar_state)
                bucket = buckets.setdefault(scalars, ([], [], [], []))
                bucket[0].append(data)
                bucket[1].append(g)
                bucket[2].append(state)
                bucket[3].append(key)
            for scalars, (bd, bg, bs, _) in buckets.items():
                new_scalars = self._update(group, bd, bg, bs, scalars)
                for state in bs:
                    state["step"] = scalars[0] + 1
                    for name, value in zip(self._scalar_state, new_scalars or ()):
                        state[name] = value

    def _new_state(self, group, data):
        state = {"step": 0}
        state.update(self._init_state(group, data))
        return state

    # ---------------------------------------------------------- state

    def state_dict(self):
        """A copy of the optimizer's state, to resume training bit-identically.

        Returns
        -------
        dict
            ``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``
            with parameters numbered in group order, as in torch.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            g = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            g["params"] = []
            for p in group["params"]:
                index[id(p)] = len(index)
                g["params"].append(index[id(p)])
            groups.append(g)
        state = {}
        for key, s in self.state.items():
            if key in index:
                state[index[key]] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                     for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a :meth:`state_dict`; the parameters must match in number,
        shape and dtype. Nothing changes if it does not fit."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of param groups")
        params = self._all_params()
        new_state = {}
        for gi, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"param group {gi} has {len(group['params'])} parameters, "
                                 f"the state dict {len(saved['params'])}")
        for idx, s in state_dict["state"].items():
            idx = int(idx)
            if not 0 <= idx < len(params):
                raise ValueError(f"state dict refers to parameter {idx}, which does not exist")
            p = params[idx]
            data = p.data if isinstance(p, Parameter) else p
            restored = {}
            for k, v in s.items():
                if isinstance(v, np.ndarray):
                    if v.shape != data.shape or v.dtype != data.dtype:
                        raise ValueError(f"state {k!r} of parameter {idx} has shape {v.shape} "
                                         f"and dtype {v.dtype}; the parameter has "
                                         f"{data.shape} and {data.dtype}")
                    v = np.array(v, order="C", copy=True)
                restored[k] = v
            new_state[id(p)] = restored
        for saved, group in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = copy.deepcopy(v)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)
