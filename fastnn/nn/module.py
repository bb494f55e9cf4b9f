"""The layer base class and Sequential.

A :class:`Module` has ``forward(x)`` and ``backward(dy)``: backward returns
the gradient with respect to the input and accumulates the gradients of the
module's parameters into their ``.grad`` (as PyTorch does: call
``zero_grad()`` between steps). Modules keep their outputs and scratch arrays
in workspaces keyed by shape, so after the first batch a training step of a
given batch size allocates no new activation arrays: in training mode the
array ``forward`` returns is overwritten by the next call with the same
shape. ``model(x)`` (``__call__``) and ``predict`` hand out arrays that
belong to the caller: a copy when the result lives in a workspace, or the
caller's ``out=``.

Threads: inference (``eval()`` mode, :meth:`Module.predict`, or
:func:`inference_mode`) keeps no shared buffers and writes no shared state,
so several threads may run one model at once. Training one model from
several threads at once is not supported: a training-mode ``forward`` or
``backward`` that overlaps another one on the same module raises
RuntimeError, as does a ``backward`` on a thread other than the one that ran
the matching training ``forward``.
"""
from __future__ import annotations

import collections
import contextlib
import functools
import os
import threading
from typing import Any, Callable, Dict, Union

import numpy as np

from fastnn.callbacks import _OPT_PREFIX, checkpoint_path
from fastnn.parameter import Parameter

__all__ = ["Module", "Sequential", "manual_seed", "register_training", "inference_mode",
           "bind_grad_buffer", "unbind_grad_buffer"]

# fit/evaluate/predict of Module come from the training loop registered here
# (fastnn.training registers itself when imported), so this module never
# imports fastnn.training.
_training_api: Dict[str, Callable[..., Any]] = {}


def register_training(*, fit: Callable[..., Any], evaluate: Callable[..., Any],
                      predict: Callable[..., Any]) -> None:
    """Install the functions behind :meth:`Module.fit`, :meth:`Module.evaluate`
    and :meth:`Module.predict`, each called as ``fn(model, x, [y,] **kwargs)``.

    :mod:`fastnn.training` registers its :func:`~fastnn.training.fit`,
    :func:`~fastnn.training.evaluate` and :func:`~fastnn.training.predict`
    when it is imported (``import fastnn`` does); another training loop (a
    distributed one) may register its own.
    """
    for name, fn in (("fit", fit), ("evaluate", evaluate), ("predict", predict)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    _training_api.update(fit=fit, evaluate=evaluate, predict=predict)


def _training(name):
    fn = _training_api.get(name)
    if fn is None:
        raise RuntimeError(f"Module.{name} needs a training loop: import fastnn.training "
                           f"(or register one with fastnn.nn.module.register_training)")
    return fn


_local = threading.local()


@contextlib.contextmanager
def inference_mode(model=None):
    """Run every :class:`Module` in eval mode on this thread, whatever its
    ``training`` flag, without changing that flag (other threads are not
    affected). Nestable.

    Parameters
    ----------
    model : object, optional
        A model that is not a :class:`Module` but has ``eval()``/``train()``
        and a ``training`` flag is switched to eval mode for the block and
        back after it (not thread-safe: that model's own business).
    """
    toggled = model is not None and not isinstance(model, Module) and hasattr(model, "eval")
    was_training = getattr(model, "training", False) if toggled else False
    if toggled:
        model.eval()
    _local.inference = getattr(_local, "inference", 0) + 1
    try:
        yield
    finally:
        _local.inference -= 1
        if toggled:
            model.train(was_training)


def _in_inference():
    return getattr(_local, "inference", 0) > 0


def _train_lock(module):
    lock = module.__dict__.get("_train_lock_")
    if lock is None:
        lock = module.__dict__.setdefault("_train_lock_", threading.RLock())
    return lock


def _busy(module, what):
    return RuntimeError(f"{type(module).__name__}.{what} called while another thread is "
                        f"training the same module: training one model from several threads "
                        f"at once is not supported (inference is: use eval() or predict())")


def _guard_forward(fn):
    """A training-mode forward holds the module's lock (taken without waiting:
    a concurrent training call raises) and records the thread that ran it."""
    @functools.wraps(fn)
    def forward(self, x, *args, **kwargs):
        if not self.training:
            return fn(self, x, *args, **kwargs)
        lock = _train_lock(self)
        if not lock.acquire(blocking=False):
            raise _busy(self, "forward")
        try:
            self.__dict__["_train_thread_"] = threading.get_ident()
            return fn(self, x, *args, **kwargs)
        finally:
            lock.release()
    forward._fastnn_guarded = True
    return forward


def _guard_backward(fn):
    @functools.wraps(fn)
    def backward(self, dy, *args, **kwargs):
        lock = _train_lock(self)
        if not lock.acquire(blocking=False):
            raise _busy(self, "backward")
        try:
            owner = self.__dict__.get("_train_thread_")
            if owner is not None and owner != threading.get_ident():
                raise RuntimeError(f"{type(self).__name__}.backward called on another thread "
                                   f"than the training forward it belongs to: training one "
                                   f"model from several threads is not supported")
            return fn(self, dy, *args, **kwargs)
        finally:
            lock.release()
    backward._fastnn_guarded = True
    return backward


_MAX_WORKSPACES = 8

# Gradient buffers chosen from outside the model: id(param) -> (param, array).
# fastnn.distributed binds every gradient to a view of one flat buffer per
# dtype, so that backward writes the gradients where one in-place all-reduce
# finds them (no packing pass). The entry holds the parameter so its id stays
# unique while it is bound.
_bound_grads: Dict[int, Any] = {}


def bind_grad_buffer(param: Parameter, buf: np.ndarray) -> None:
    """Make backward write the gradient of ``param`` into ``buf`` (an array
    of the parameter's shape and dtype, typically a view of a flat buffer)
    when ``param.grad`` is None; ``param.grad`` is then ``buf``.

    Parameters
    ----------
    param : Parameter
    buf : ndarray
        C-contiguous, writable, ``param``'s shape and dtype.
    """
    if not isinstance(param, Parameter):
        raise TypeError(f"param must be a Parameter, got {type(param).__name__}")
    if not isinstance(buf, np.ndarray) or buf.shape != param.shape or \
            buf.dtype != param.dtype or not buf.flags.c_contiguous or not buf.flags.writeable:
        raise ValueError(f"buf must be a writable C-contiguous {param.dtype} array of shape "
                         f"{param.shape}")
    _bound_grads[id(param)] = (param, buf)


def unbind_grad_buffer(param: Parameter) -> None:
    """Undo :func:`bind_grad_buffer` (nothing happens if ``param`` is not bound)."""
    entry = _bound_grads.get(id(param))
    if entry is not None and entry[0] is param:
        del _bound_grads[id(param)]
_seed_state = {"rng": np.random.default_rng(0)}


def manual_seed(seed):
    """Seed the source of default layer seeds (weights, dropout streams).

    Layers built without an explicit ``seed`` draw one from this source in
    construction order, so the same ``manual_seed`` and the same model code
    give the same initial weights and dropout masks.

    Parameters
    ----------
    seed : int
    """
    _seed_state["rng"] = np.random.default_rng(seed)


def _next_seed(seed):
    """``seed`` if given, else the next default seed."""
    if seed is not None:
        return seed
    return int(_seed_state["rng"].integers(0, 2**63))


def _check_dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


class Module:
    """Base class of layers and models.

    Subclasses register parameters with :meth:`add_parameter`, buffers (state
    that is saved but not trained, e.g. running statistics) with
    :meth:`add_buffer` and sub-modules with :meth:`add_module`, and define
    ``forward(x)`` and ``backward(dy, *, input_grad=True)``.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, guard in (("forward", _guard_forward), ("backward", _guard_backward)):
            fn = cls.__dict__.get(name)
            if fn is not None and not getattr(fn, "_fastnn_guarded", False):
                setattr(cls, name, guard(fn))

    def __getstate__(self):
        # copies and pickles get their own lock and no owning thread
        state = dict(self.__dict__)
        state.pop("_train_lock_", None)
        state.pop("_train_thread_", None)
        state.pop("_fit_optimizer_", None)  # the optimizer fit built from a name
        state.pop("_fit_loss_", None)  # the latest fit's loss and metrics (lambdas)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __init__(self):
        self._parameters = collections.OrderedDict()
        self._buffers = collections.OrderedDict()
        self._modules = collections.OrderedDict()
        self._workspaces = {}
        self._grad_scratch = {}
        self.training = True

    # ------------------------------------------------------------ registry

    def add_parameter(self, name, data):
        p = data if isinstance(data, Parameter) else Parameter(data, name=name)
        self._parameters[name] = p
        object.__setattr__(self, name, p)
        return p

    def add_buffer(self, name, array):
        self._buffers[name] = array
        object.__setattr__(self, name, array)
        return array

    def add_module(self, name, module):
        if not isinstance(module, Module):
            raise TypeError(f"{name} must be a Module, got {type(module).__name__}")
        self._modules[str(name)] = module
        return module

    def children(self):
        return list(self._modules.values())

    def named_parameters(self, prefix=""):
        """(name, Parameter) pairs of this module and its sub-modules, in order."""
        for name, p in self._parameters.items():
            yield prefix + name, p
        for mname, m in self._modules.items():
            yield from m.named_parameters(f"{prefix}{mname}.")

    def named_buffers(self, prefix=""):
        for name in self._buffers:
            yield prefix + name, getattr(self, name)
        for mname, m in self._modules.items():
            yield from m.named_buffers(f"{prefix}{mname}.")

    def parameters(self):
        """The list of trainable :class:`fastnn.Parameter` objects."""
        return [p for _, p in self.named_parameters()]

    def n_parameters(self):
        """Number of trainable values."""
        return int(sum(p.size for p in self.parameters()))

    # ------------------------------------------------------------ modes

    @property
    def training(self):
        """Training mode, unless this thread is inside :func:`inference_mode`."""
        return self.__dict__.get("_training", True) and not _in_inference()

    @training.setter
    def training(self, mode):
        self.__dict__["_training"] = bool(mode)

    def train(self, mode=True):
        """Training mode (batch statistics, dropout on); returns self."""
        self.training = bool(mode)
        for m in self._modules.values():
            m.train(mode)
        return self

    def eval(self):
        """Inference mode (running statistics, dropout off); returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            p.zero_grad(set_to_none)

    # ------------------------------------------------------------ compute

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dy, *, input_grad=True):
        raise NotImplementedError

    def __call__(self, x, *, out=None):
        """``forward(x)`` as an array that belongs to the caller.

        In training mode the layers write into workspaces that the next call
        overwrites; the result is copied out of them (or into ``out``).

        Parameters
        ----------
        x : ndarray
        out : ndarray, optional
            Where to write the result (shape and dtype of the result,
            writable); it is returned.
        """
        y = self.forward(x)
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
            if out.shape != y.shape or out.dtype != y.dtype:
                raise ValueError(f"out has shape {out.shape} and dtype {out.dtype}, "
                                 f"expected {y.shape} and {y.dtype}")
            if not out.flags.writeable:
                raise ValueError("out is read-only but is written")
            np.copyto(out, y)
            return out
        if self._in_workspace(y):
            y = y.copy()
        return y

    def _in_workspace(self, a):
        """Whether ``a`` shares memory with a workspace of this module or a sub-module."""
        stack = [self]
        while stack:
            m = stack.pop()
            for w in m._workspaces.values():
                if np.may_share_memory(a, w):
                    return True
            stack.extend(m._modules.values())
        return False

    def output_shape(self, input_shape):
        """Shape of the output for an input of ``input_shape`` (batch axis included)."""
        return tuple(input_shape)

    def penalty(self):
        """Regularization penalty recorded by the latest forward/backward
        (kernel, bias and activity regularizers), summed over sub-modules."""
        return float(sum(m.penalty() for m in self._modules.values()))

    # ------------------------------------------------------------ workspaces

    def _ws(self, name, shape, dtype):
        """A reusable array of ``shape``/``dtype`` for slot ``name``; a new
        one in eval mode, so concurrent inference calls share no buffer."""
        if not self.training:
            return np.empty(shape, dtype)
        key = (name, tuple(shape), np.dtype(dtype))
        a = self._workspaces.get(key)
        if a is None:
            if len(self._workspaces) >= _MAX_WORKSPACES:
                self._workspaces.clear()
            a = np.empty(shape, dtype)
            self._workspaces[key] = a
        return a

    def _grad_target(self, p):
        """Where to write the gradient of ``p``: its own buffer when ``p.grad``
        is None (then ``p.grad`` is set to it), else a scratch to add from."""
        key = id(p)
        if p.grad is None:
            bound = _bound_grads.get(key)  # see bind_grad_buffer
            if bound is not None and bound[0] is p:
                return bound[1], False
            buf = self._grad_scratch.get((key, "grad"))
            if buf is None or buf.shape != p.shape or buf.dtype != p.dtype:
                buf = np.empty(p.shape, p.dtype)
                self._grad_scratch[(key, "grad")] = buf
            return buf, False
        buf = self._grad_scratch.get((key, "acc"))
        if buf is None or buf.shape != p.shape or buf.dtype != p.dtype:
            buf = np.empty(p.shape, p.dtype)
            self._grad_scratch[(key, "acc")] = buf
        return buf, True

    def _grad_commit(self, p, buf, accumulate):
        if accumulate:
            np.add(p.grad, buf, out=p.grad)
        else:
            p.grad = buf

    def _accumulate(self, p, g):
        """Accumulate an already computed gradient ``g`` into ``p.grad``."""
        buf, acc = self._grad_target(p)
        np.copyto(buf, g)
        self._grad_commit(p, buf, acc)

    # ------------------------------------------------------------ state

    def state_dict(self):
        """Copies of every parameter and buffer, by dotted name.

        Returns
        -------
        collections.OrderedDict
        """
        out = collections.OrderedDict()
        for name, p in self.named_parameters():
            out[name] = p.data.copy()
        for name, b in self.named_buffers():
            out[name] = np.array(b, copy=True)
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values into the parameters and buffers in place (the arrays an
        optimizer holds stay the same objects). Everything is checked first:
        nothing changes when a name, shape or dtype does not fit.

        Parameters
        ----------
        state_dict : mapping of str to ndarray
        strict : bool
            Missing or unexpected names raise KeyError.
        """
        targets = collections.OrderedDict()
        for name, p in self.named_parameters():
            targets[name] = p.data
        for name, b in self.named_buffers():
            targets[name] = b
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        if strict and (missing or unexpected):
            raise KeyError(f"state_dict does not match the model: missing {missing}, "
                           f"unexpected {unexpected}")
        for name, dst in targets.items():
            if name not in state_dict:
                continue
            src = np.asarray(state_dict[name])
            if src.shape != dst.shape:
                raise ValueError(f"{name} has shape {src.shape} in the state_dict, "
                                 f"{dst.shape} in the model")
            if src.dtype != dst.dtype:
                raise TypeError(f"{name} has dtype {src.dtype} in the state_dict, "
                                f"{dst.dtype} in the model")
        for name, dst in targets.items():
            if name in state_dict:
                np.copyto(dst, np.asarray(state_dict[name]))

    def save(self, path: Union[str, "os.PathLike[str]"]) -> str:
        """Save :meth:`state_dict` to an ``.npz`` file.

        Parameters
        ----------
        path : str or path-like
            ``.npz`` is appended when missing, as :func:`numpy.savez` does;
            :meth:`load` accepts the same ``path``.

        Returns
        -------
        str
            The path written.
        """
        path = checkpoint_path(path)
        np.savez(path, **self.state_dict())
        return path

    def load(self, path: Union[str, "os.PathLike[str]"], strict: bool = True) -> "Module":
        """Load an ``.npz`` written by :meth:`save` (or by
        :class:`fastnn.callbacks.ModelCheckpoint`, whose optimizer state, if
        any, is skipped); returns self.

        Parameters
        ----------
        path : str or path-like
            The path given to :meth:`save` (``.npz`` appended when missing).
        strict : bool, default True
            As in :meth:`load_state_dict`.
        """
        with np.load(checkpoint_path(path), allow_pickle=False) as data:
            self.load_state_dict({k: data[k] for k in data.files
                                  if not k.startswith(_OPT_PREFIX)}, strict=strict)
        return self

    # ------------------------------------------------------------ display

    def extra_repr(self):
        return ""

    def __repr__(self):
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, m in self._modules.items():
            lines.append("  (" + name + "): " + repr(m).replace("\n", "\n  "))
        lines.append(")")
        return "\n".join(lines)

    def summary(self, input_shape, *, print_fn=None):
        """A table of layers, output shapes and parameter counts.

        Parameters
        ----------
        input_shape : tuple of int
            Shape of one sample (without the batch axis).
        print_fn : callable, optional
            Called with the table (e.g. ``print``); it is returned as well.

        Returns
        -------
        str
        """
        rows = []
        shape = (None,) + tuple(input_shape)
        layers = list(self._modules.items()) if isinstance(self, Sequential) else [("0", self)]
        for name, m in layers:
            shape = m.output_shape(shape)
            rows.append((f"{name} {type(m).__name__}", str(shape), m.n_parameters()))
        w0 = max([len("Layer")] + [len(r[0]) for r in rows])
        w1 = max([len("Output shape")] + [len(r[1]) for r in rows])
        lines = [f"{'Layer':<{w0}}  {'Output shape':<{w1}}  {'Param #':>10}",
                 "-" * (w0 + w1 + 14)]
        lines += [f"{a:<{w0}}  {b:<{w1}}  {c:>10,}" for a, b, c in rows]
        lines.append("-" * (w0 + w1 + 14))
        lines.append(f"Total params: {self.n_parameters():,}")
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    # ------------------------------------------------------------ training

    def fit(self, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> Any:
        """Train on arrays: see :func:`fastnn.training.fit`."""
        return _training("fit")(self, x, y, **kwargs)

    def evaluate(self, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> Dict[str, float]:
        """See :func:`fastnn.training.evaluate`."""
        return _training("evaluate")(self, x, y, **kwargs)

    def predict(self, x: np.ndarray, **kwargs: Any) -> np.ndarray:
        """The outputs in eval mode, as a new array (see
        :func:`fastnn.training.predict`). Safe to call from several threads
        on one model: eval mode holds for this thread only
        (:func:`inference_mode`), the ``training`` flag is not touched."""
        return _training("predict")(self, x, **kwargs)


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse.

    Parameters
    ----------
    *layers : Module
    """

    def __init__(self, *layers):
        super().__init__()
        for layer in layers:
            self.add(layer)

    def add(self, layer):
        """Append a layer; returns self."""
        self.add_module(str(len(self._modules)), layer)
        return self

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, x):
        for m in self._modules.values():
            x = m.forward(x)
        return x

    # Called as hook(i) after layer i's backward (fastnn.distributed starts the
    # all-reduce of the gradients backward has finished); None: no hook.
    _backward_hook = None

    def backward(self, dy, *, input_grad=True):
        layers = list(self._modules.values())
        hook = self._backward_hook
        for i in range(len(layers) - 1, -1, -1):
            dy = layers[i].backward(dy, input_grad=input_grad or i > 0)
            if hook is not None:
                hook(i)
        return dy

    def output_shape(self, input_shape):
        for m in self._modules.values():
            input_shape = m.output_shape(input_shape)
        return input_shape
