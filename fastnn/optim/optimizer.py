"""The optimizer base class: param groups, state, state_dict."""
import copy
import numbers
import threading

import numpy as np

from fastnn._ext.runtime import check_real
from fastnn.parameter import Parameter

__all__ = ["Optimizer"]


def step_arguments(closure, grads):
    """``step``'s (closure, grads), where the gradients may also come as the
    first positional argument (``step(grads)``)."""
    if closure is not None and not callable(closure):
        if grads is not None:
            raise TypeError("step() got grads twice")
        closure, grads = None, closure
    return closure, grads


class Optimizer:
    """Base class of fastnn's optimizers.

    Parameters
    ----------
    params : iterable
        Parameters (:class:`fastnn.Parameter` or plain float arrays, updated
        in place), ``(name, parameter)`` pairs (``model.named_parameters()``;
        the names are kept in the group's ``param_names``), or dicts
        ``{"params": [...], **options}`` defining param groups with their own
        options.
    defaults : dict
        Default options of every group.

    Notes
    -----
    Subclasses define ``_state_arrays(group)`` (names of the per-parameter
    state arrays), ``_init_state(group, param_data)`` and
    ``_update(group, datas, grads, states, scalars)``, and may define
    ``_check_group(group)`` (validate the options, raising ValueError or
    TypeError; called when a group is added and before every step).

    Everything is validated when it is given: the options and the
    parameters (one dtype per group) at construction, the state in
    :meth:`load_state_dict` before anything changes, the gradients in
    :meth:`step` before any parameter is updated. One optimizer must not
    step from two threads at once: a concurrent :meth:`step` raises
    RuntimeError.
    """

    #: per-parameter scalar state besides "step" (e.g. NAdam's mu_product)
    _scalar_state = ()
    #: array state a parameter may have beyond what its options need (e.g. a
    #: momentum buffer kept after momentum was switched off)
    _optional_state = ()

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self._step_lock = threading.Lock()
        self.param_groups = []
        self.state = {}  # id(param) -> dict
        if isinstance(params, (np.ndarray, Parameter, dict)):
            # list() would give an array's rows (or scalars) or a dict's keys
            raise TypeError(f"params must be an iterable of Parameters or arrays, or of "
                            f"param-group dicts; got one {type(params).__name__} (pass "
                            f"[params])")
        params = list(params)
        if not params:
            raise ValueError("the optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_step_lock", None)  # copies and pickles get their own
        # self.state is keyed by id(param), which a copy's parameters do not
        # have: copies and pickles key it by the parameter's index instead
        index = {id(p): i for i, p in enumerate(self._all_params())}
        state["state"] = {index[k]: s for k, s in self.state.items() if k in index}
        state["_state_by_index"] = True
        return state

    def __setstate__(self, state):
        state = dict(state)
        by_index = state.pop("_state_by_index", False)
        self.__dict__.update(state)
        self._step_lock = threading.Lock()
        if by_index:
            params = self._all_params()
            self.state = {id(params[i]): s for i, s in self.state.items()}

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
        if not plist:
            raise ValueError("a param group needs at least one parameter")
        named = [isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in plist]
        if any(named):
            # (name, parameter) pairs, e.g. model.named_parameters(), as torch
            if not all(named):
                raise ValueError("a param group's parameters must all be (name, parameter) "
                                 "pairs or none of them")
            group["param_names"] = [name for name, _ in plist]
            plist = [p for _, p in plist]
        for i, p in enumerate(plist):
            data = p.data if isinstance(p, Parameter) else p
            if not isinstance(data, np.ndarray) or data.dtype not in (np.float32, np.float64):
                raise TypeError(f"params[{i}] must be a Parameter or a float32/float64 "
                                f"ndarray (native byte order), got "
                                f"{getattr(data, 'dtype', type(p).__name__)}")
            if not data.flags.c_contiguous or not data.flags.writeable:
                raise ValueError(f"params[{i}] must be C-contiguous and writable: it is "
                                 f"updated in place")
            first = plist[0].data if isinstance(plist[0], Parameter) else plist[0]
            if data.dtype != first.dtype:
                raise TypeError(f"params[{i}] is {data.dtype} but params[0] is {first.dtype}: "
                                f"one dtype per param group (the group is updated in one "
                                f"kernel call); put them in separate groups")
        if len({id(p) for p in plist}) != len(plist):
            raise ValueError("a parameter appears twice in one param group")
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

    def _state_spec(self, group, data):
        """The state one parameter must have: ``{name: example}``, an array
        example for array state, a number for scalar state."""
        spec = {"step": 0}
        spec.update(self._init_state(group, data[:0] if data.ndim else data.reshape(1)[:0]))
        return spec

    # ---------------------------------------------------------- stepping

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of every :class:`Parameter`."""
        for group in self.param_groups:
            for p in group["params"]:
                if isinstance(p, Parameter):
                    p.zero_grad(set_to_none)

    def _all_params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def step(self, closure=None, grads=None):
        """Update every parameter that has a gradient, one kernel call per group.

        Parameters
        ----------
        closure : callable, optional
            As in torch: called once, before the update, to compute the
            gradients (zero them, forward, backward); its return value (the
            loss) is returned by ``step``.
        grads : list of ndarray, optional
            Gradients in the order of the parameters across groups (needed
            when the parameters are plain arrays; None entries are skipped).
            By default each Parameter's ``.grad`` is used. May also be given
            as the first positional argument.

        Returns
        -------
        object
            The closure's return value, or None.
        """
        closure, grads = step_arguments(closure, grads)
        if not self._step_lock.acquire(blocking=False):
            raise RuntimeError(f"{type(self).__name__}.step called while another thread is "
                               f"stepping the same optimizer: concurrent steps are not "
                               f"supported")
        try:
            loss = None
            if closure is not None:
                loss = closure()
            self._step(grads)
            return loss
        finally:
            self._step_lock.release()

    def _step(self, grads):
        params = self._all_params()
        if grads is not None:
            if isinstance(grads, np.ndarray):
                raise TypeError("grads must be a list of arrays (one per parameter)")
            grads = list(grads)
            if len(grads) != len(params):
                raise ValueError(f"step() got {len(grads)} gradients for {len(params)} "
                                 f"parameters")
        # Everything is checked before the first parameter changes.
        for group in self.param_groups:
            self._check_group(group)
        plan = []
        k = 0
        for group in self.param_groups:
            datas, gs, keys = [], [], []
            for p in group["params"]:
                g = grads[k] if grads is not None else getattr(p, "grad", None)
                k += 1
                if g is None:
                    continue
                data = p.data if isinstance(p, Parameter) else p
                datas.append(data)
                gs.append(_check_grad(k - 1, g, data))
                keys.append(id(p))
            if datas:
                plan.append((group, datas, gs, keys))
        for group, datas, gs, keys in plan:
            new = [(data, key) for data, key in zip(datas, keys) if key not in self.state]
            if new:
                self._create_states(group, new)
            # Parameters whose scalar state (step count, ...) agrees share one call.
            buckets = {}
            for data, g, key in zip(datas, gs, keys):
                state = self.state[key]
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

    # Zeroed state arrays of the parameters that get their state in one step
    # are views of one allocation (see _create_states); None outside it.
    _arena = None

    def _create_states(self, group, new):
        """The state of the parameters ``new`` ((data, key) pairs of one group)
        that have none yet.

        Their zeroed arrays (``_zeros``) are cut from one zeroed allocation
        (each view starting on a 64-byte boundary) instead of one allocation
        per array: fresh memory costs a page fault per 4 KiB page at its first
        write, and the first step of an optimizer over an MLP's six arrays
        (4 MiB of Adam state) spent over 2 ms in them; one allocation of
        4 MiB or more is backed by huge pages (NumPy asks for them), a few
        faults in all.
        """
        data0 = new[0][0]
        n_arrays = sum(isinstance(v, np.ndarray) for v in self._state_spec(group, data0).values())
        per = 64 // data0.itemsize
        total = n_arrays * sum(-(-d.size // per) * per for d, _ in new)
        self._arena = _Arena(data0.dtype, total, per) if len(new) > 1 and total else None
        try:
            for data, key in new:
                self.state[key] = self._new_state(group, data)
        finally:
            self._arena = None

    def _zeros(self, data):
        """A zeroed C-contiguous array like ``data``: a view of the step's
        allocation for new states while there is room in it, else its own."""
        arena = self._arena
        if arena is not None and data.dtype == arena.buf.dtype:
            view = arena.take(data.shape, data.size)
            if view is not None:
                return view
        return np.zeros_like(data, order="C")

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
        """Restore a :meth:`state_dict`.

        Everything is checked before anything changes: the number of groups
        and of parameters per group, the options (as at construction), and
        for every parameter with state, that it has exactly the state this
        optimizer keeps with those options (e.g. Adam's ``exp_avg`` and
        ``exp_avg_sq``, and ``step``), floating arrays of the parameter's shape
        (cast to its dtype, as torch), scalars of the right type. On any error (ValueError,
        TypeError or KeyError naming the entry) the optimizer is unchanged.
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise KeyError("a state dict is a dict with the keys 'state' and 'param_groups'")
        groups = state_dict["param_groups"]
        saved_state = state_dict["state"]
        if not isinstance(groups, (list, tuple)) or not isinstance(saved_state, dict):
            raise TypeError("state_dict['param_groups'] must be a list and "
                            "state_dict['state'] a dict")
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of param groups")
        new_groups = []
        owner = []  # group index of each parameter, in order
        for gi, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if not isinstance(saved, dict) or "params" not in saved:
                raise TypeError(f"param group {gi} of the state dict is not a dict with "
                                f"'params'")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"param group {gi} has {len(group['params'])} parameters, "
                                 f"the state dict {len(saved['params'])}")
            # options beyond the optimizer's own (a scheduler's initial_lr, ...)
            # are kept as they are; the optimizer's own are checked
            merged = dict(group)
            merged.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
            self._check_group(merged)
            new_groups.append(merged)
            owner += [gi] * len(group["params"])
        params = self._all_params()
        new_state = {}
        seen = set()
        for idx, s in saved_state.items():
            try:
                i = int(idx)
            except (TypeError, ValueError):
                raise KeyError(f"state dict key {idx!r} is not a parameter index") from None
            if not 0 <= i < len(params):
                raise ValueError(f"state dict refers to parameter {i}, which does not exist")
            if i in seen:
                raise ValueError(f"state dict has parameter {i} twice")
            seen.add(i)
            if not isinstance(s, dict):
                raise TypeError(f"state of parameter {i} must be a dict, got "
                                f"{type(s).__name__}")
            p = params[i]
            data = p.data if isinstance(p, Parameter) else p
            spec = self._state_spec(new_groups[owner[i]], data)
            for k in self._optional_state:
                if k in s and k not in spec:
                    spec[k] = data[:0] if data.ndim else data.reshape(1)[:0]
            missing = sorted(set(spec) - set(s))
            unexpected = sorted(set(s) - set(spec))
            if missing or unexpected:
                raise KeyError(f"state of parameter {i} does not fit {type(self).__name__} "
                               f"with these options: missing {missing}, unexpected "
                               f"{unexpected}")
            restored = {}
            for k, example in spec.items():
                restored[k] = _check_state_value(i, k, s[k], example, data)
            new_state[id(p)] = restored
        for gi, group in enumerate(self.param_groups):
            for k, v in new_groups[gi].items():
                if k != "params":
                    group[k] = v
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


class _Arena:
    """Consecutive zeroed views of one allocation, each starting on a
    multiple of ``per`` elements."""

    def __init__(self, dtype, total, per):
        self.buf = np.zeros(total, dtype)
        self.per = per
        self.offset = 0

    def take(self, shape, size):
        end = self.offset + size
        if end > self.buf.size:
            return None
        view = self.buf[self.offset:end].reshape(shape)
        self.offset += -(-size // self.per) * self.per
        return view


def _check_grad(i, g, data):
    """A gradient for ``data``: its shape and dtype (a byte-swapped or
    non-contiguous one is copied: gradients are only read)."""
    if not isinstance(g, np.ndarray):
        raise TypeError(f"the gradient of parameter {i} must be a numpy.ndarray, got "
                        f"{type(g).__name__}")
    if g.dtype.newbyteorder("=") != data.dtype:
        raise TypeError(f"the gradient of parameter {i} has dtype {g.dtype}, the parameter "
                        f"{data.dtype}")
    if g.shape != data.shape:
        raise ValueError(f"the gradient of parameter {i} has shape {g.shape}, the parameter "
                         f"{data.shape}")
    if not (g.dtype.isnative and g.flags.c_contiguous):
        g = np.array(g, dtype=data.dtype, order="C", copy=True)
    return g


def _check_state_value(i, name, value, example, data):
    where = f"state {name!r} of parameter {i}"
    if isinstance(example, np.ndarray):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{where} must be a numpy.ndarray, got {type(value).__name__}")
        # floating state of another precision is cast to the parameter's
        # dtype, as torch does (a float32 run's state loaded into a float64
        # model); any other dtype or another shape is not this parameter's
        if value.shape != data.shape or value.dtype.kind != "f":
            raise ValueError(f"{where} has shape {value.shape} and dtype {value.dtype}; the "
                             f"parameter has {data.shape} and {data.dtype}")
        return np.array(value, dtype=data.dtype, order="C", copy=True)
    if name == "step":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral,
                                                                         np.integer)):
            raise TypeError(f"{where} must be an int, got {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{where} must be >= 0, got {value}")
        return int(value)
    return check_real(where, value)
