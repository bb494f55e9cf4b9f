"""Pruning: remove the least significant connections of a trained network.

A :class:`Pruner` keeps one boolean mask per weight array (True = kept).
:meth:`Pruner.prune` ranks the surviving weights by a criterion and zeroes
the lowest until a target sparsity is reached, globally (one ranking over
every array) or per layer (each array to the sparsity); pruned weights stay
pruned. Criteria:

- ``"magnitude"``: ``|w|``;
- ``"first_order"``: the first-order estimate of the loss increase when
  ``w`` is set to zero, ``|w·∂L/∂w|`` (gradients from ``Parameter.grad`` or
  given);
- ``"exact"``: the loss increase ``L(w with w_i = 0) − L(w)`` measured by a
  callable on a held-out batch, one evaluation per weight (small layers).

:meth:`Pruner.wrap` returns an optimizer whose ``step`` masks the gradients
and re-zeroes pruned weights after every update, so they stay exactly zero
whatever the optimizer. Every :meth:`Pruner.prune` first saves the weights,
masks and (for a wrapped optimizer) its other parameters and its state, and :meth:`Pruner.undo`
restores them bit for bit; :func:`iterative_prune` runs the prune-retrain
schedule and undoes the last step when validation quality drops too far.
"""
import numbers

import numpy as np

from fastnn._validation import Arrays, check_inout_shape
from fastnn.callbacks import Callback
from fastnn.optim.optimizer import step_arguments
from fastnn.parameter import Parameter

__all__ = ["Pruner", "MaskedOptimizer", "PruningCallback", "iterative_prune", "magnitude_scores",
           "first_order_scores", "exact_scores", "sparsity"]

_CRITERIA = ("magnitude", "first_order", "exact")


def _data(p):
    return p.data if isinstance(p, Parameter) else p


def _check_params(params):
    params = list(params) if not isinstance(params, (Parameter, np.ndarray)) else [params]
    if not params:
        raise ValueError("params is empty")
    for i, p in enumerate(params):
        d = _data(p)
        if not isinstance(d, np.ndarray) or d.dtype not in (np.float32, np.float64):
            raise TypeError(f"params[{i}] must be a Parameter or a float32/float64 ndarray, "
                            f"got {type(p).__name__}")
        if not d.flags.c_contiguous or not d.flags.writeable:
            raise ValueError(f"params[{i}] must be C-contiguous and writable")
    return params


def magnitude_scores(params):
    """``|w|`` of every array."""
    return [np.abs(_data(p)) for p in params]


def first_order_scores(params, grads=None):
    """``|w·g|``: the first-order estimate of the loss increase when each
    weight is zeroed (``L(w − w_i e_i) − L(w) ≈ −w_i·g_i``, taken in absolute
    value as in the lectures' saliency).

    Parameters
    ----------
    params : list of Parameter or ndarray
    grads : list of ndarray, optional
        Default: each Parameter's ``grad``.
    """
    if grads is None:
        grads = [getattr(p, "grad", None) for p in params]
    grads = list(grads)
    if len(grads) != len(params):
        raise ValueError(f"got {len(grads)} gradients for {len(params)} parameters")
    out = []
    for i, (p, g) in enumerate(zip(params, grads)):
        if g is None:
            raise ValueError(f"params[{i}] has no gradient: first_order needs ∂L/∂w")
        g = np.asarray(g)
        if g.shape != _data(p).shape:
            raise ValueError(f"grads[{i}] has shape {g.shape}, expected {_data(p).shape}")
        out.append(np.abs(_data(p) * g))
    return out


def exact_scores(params, loss_fn, max_size=100_000):
    """``L(w with w_i = 0) − L(w)`` for every weight, measured.

    Parameters
    ----------
    params : list of Parameter or ndarray
    loss_fn : callable
        ``loss_fn() -> float``: the loss of the network as its parameters
        are now, on a held-out batch.
    max_size : int, optional
        Refuse more weights than this (one evaluation each).

    Returns
    -------
    list of ndarray (float64)
        The weights are restored bit for bit after each evaluation.
    """
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable: loss_fn() -> float")
    total = sum(_data(p).size for p in params)
    if total > max_size:
        raise ValueError(f"exact scores need one loss evaluation per weight: {total} weights "
                         f"exceed max_size={max_size}; use first_order")
    base = float(loss_fn())
    out = []
    for p in params:
        flat = _data(p).reshape(-1)
        s = np.empty(flat.size)
        for i in range(flat.size):
            keep = flat[i].copy()
            flat[i] = 0
            s[i] = float(loss_fn()) - base
            flat[i] = keep
        out.append(s.reshape(_data(p).shape))
    return out


def sparsity(params):
    """Fraction of exact zeros over all arrays."""
    datas = [_data(p) for p in params]
    n = sum(d.size for d in datas)
    return sum(int(np.count_nonzero(d == 0)) for d in datas) / n if n else 0.0


class Pruner:
    """Masks over weight arrays, pruning steps and their undo.

    Parameters
    ----------
    params : list of Parameter or ndarray
        The weights to prune (usually the weight matrices, not the biases).
        Updated in place.
    scope : {"global", "layer"}, optional
        One ranking over all arrays, or each array to the target sparsity.
    names : list of str, optional
        Labels for the report (default: Parameter names or ``param{i}``).
    model : fastnn.nn.Module, optional
        When given, every :meth:`prune` also saves the model's whole
        ``state_dict`` (parameters and buffers: BatchNorm running statistics,
        dropout stream offsets) and :meth:`undo` restores it bit for bit, so
        the network computes exactly what it computed before the step.
    masks : list of ndarray of bool, optional
        The masks to start from (True = kept), one per array, e.g. those of
        a pruned model being resumed (``[w != 0 for w in weights]``). They
        are used as they are, not copied: :meth:`prune` and :meth:`undo`
        update them in place, so each must be a writable C-contiguous bool
        array of its parameter's shape. The weights are not changed here:
        call :meth:`apply` to zero the pruned ones. Default all True.
    """

    def __init__(self, params, *, scope="global", names=None, model=None, masks=None):
        if model is not None and not hasattr(model, "state_dict"):
            raise TypeError(f"model must be a fastnn.nn.Module, got {type(model).__name__}")
        self.model = model
        self.params = _check_params(params)
        masks = self._check_masks(masks)
        if scope not in ("global", "layer"):
            raise ValueError(f"scope must be 'global' or 'layer', got {scope!r}")
        self.scope = scope
        if names is None:
            names = [getattr(p, "name", None) or f"param{i}" for i, p in enumerate(self.params)]
        if len(names) != len(self.params):
            raise ValueError(f"got {len(names)} names for {len(self.params)} parameters")
        self.names = list(names)
        self.masks = masks if masks is not None else \
            [np.ones(_data(p).shape, dtype=bool) for p in self.params]
        self.optimizer = None
        self._optimizer_of_fit = False  # set by a PruningCallback: follows fit's optimizer
        self._history = []

    def _check_masks(self, masks):
        if masks is None:
            return None
        masks = list(masks)
        if len(masks) != len(self.params):
            raise ValueError(f"got {len(masks)} masks for {len(self.params)} parameters")
        # updated in place by prune and undo: exact shape, bool, writable,
        # C-contiguous, and no two of them overlapping
        arrays = Arrays()
        masks = [arrays.write(f"masks[{i}]", check_inout_shape(f"masks[{i}]", m,
                                                               _data(p).shape, np.bool_))
                 for i, (p, m) in enumerate(zip(self.params, masks))]
        arrays.check()
        return masks

    # ------------------------------------------------------------ pruning

    def _scores(self, criterion, grads, loss_fn):
        if criterion == "magnitude":
            return magnitude_scores(self.params)
        if criterion == "first_order":
            return first_order_scores(self.params, grads)
        if loss_fn is None:
            raise ValueError("criterion 'exact' needs loss_fn")
        return exact_scores(self.params, loss_fn)

    def prune(self, target, criterion="magnitude", *, grads=None, loss_fn=None):
        """Prune surviving weights with the lowest scores up to sparsity ``target``.

        Parameters
        ----------
        target : float
            Fraction of weights pruned after this step, in [0, 1]; a target
            below the current sparsity prunes nothing (pruning never revives).
        criterion : {"magnitude", "first_order", "exact"}, optional
        grads : list of ndarray, optional
            Gradients for ``first_order`` (default: ``Parameter.grad``).
        loss_fn : callable, optional
            Held-out loss for ``exact``.

        Returns
        -------
        int
            Number of weights pruned by this step.
        """
        if isinstance(target, bool) or not isinstance(target, numbers.Real):
            raise TypeError(f"target must be a real number, got {type(target).__name__}")
        target = float(target)
        if not 0.0 <= target <= 1.0:
            raise ValueError(f"target must be in [0, 1], got {target}")
        if criterion not in _CRITERIA:
            raise ValueError(f"criterion must be one of {_CRITERIA}, got {criterion!r}")
        self._follow_growth()
        scores = self._scores(criterion, grads, loss_fn)  # validates before any change
        self._save()
        groups = ([list(range(len(self.params)))] if self.scope == "global"
                  else [[i] for i in range(len(self.params))])
        pruned = 0
        for group in groups:
            sizes = [self.masks[i].size for i in group]
            total = sum(sizes)
            already = sum(int(self.masks[i].size - np.count_nonzero(self.masks[i]))
                          for i in group)
            k = int(round(target * total)) - already
            if k <= 0:
                continue
            s = np.concatenate([np.where(self.masks[i], scores[i], np.inf).reshape(-1)
                                for i in group])
            # stable order: equal scores are pruned in index order, so a
            # pruning step is a function of the scores alone
            chosen = np.argsort(s, kind="stable")[:k]
            flat = np.ones(total, dtype=bool)
            flat[chosen] = False
            start = 0
            for i, size in zip(group, sizes):
                self.masks[i] &= flat[start:start + size].reshape(self.masks[i].shape)
                start += size
            pruned += k
        self.apply()
        return pruned

    def apply(self):
        """Zero every pruned weight (after an optimizer step, a load, ...).

        A parameter that has grown since its mask was made (a layer widened
        by :mod:`fastnn.growth` without this pruner being told, e.g. by
        :class:`fastnn.growth.GrowOnPlateau` next to a
        :class:`PruningCallback`) gets its mask extended first, as
        :meth:`extend_mask` does; any other change of shape raises ValueError.
        """
        self._follow_growth()
        for p, m in zip(self.params, self.masks):
            np.copyto(_data(p), 0, where=~m)

    def _follow_growth(self):
        """Extend the masks of parameters whose arrays grew (checked first,
        nothing changes when one cannot be matched)."""
        grown = []
        for i, p in enumerate(self.params):
            old, new = self.masks[i].shape, _data(p).shape
            if old == new:
                continue
            if len(old) != len(new) or any(a > b for a, b in zip(old, new)):
                raise ValueError(f"{self.names[i]} has shape {new} but its mask has shape "
                                 f"{old}: only a grown parameter (its old values in the "
                                 f"leading block) can keep its mask")
            grown.append((p, old))
        for p, old in grown:
            self.extend_mask(p, old)

    def extend_mask(self, param, old_shape):
        """Fit the mask of ``param`` to its grown array (network growth).

        The old mask goes to the leading block ``[:old_shape[0], ...]`` and
        the new entries are True (kept: new weights are trainable). Nothing
        happens when ``param`` is not pruned by this pruner. The undo history
        is cleared: an undo cannot restore arrays of another shape.

        Parameters
        ----------
        param : Parameter
            Already grown (see :func:`fastnn.growth.grow_dense`).
        old_shape : tuple of int
        """
        for i, p in enumerate(self.params):
            if p is param:
                old = self.masks[i]
                if old.shape != tuple(old_shape):
                    raise ValueError(f"the mask of {self.names[i]} has shape {old.shape}, "
                                     f"not {tuple(old_shape)}")
                mask = np.ones(_data(p).shape, dtype=bool)
                mask[tuple(slice(0, s) for s in old_shape)] = old
                self.masks[i] = mask
                self._history.clear()

    # --------------------------------------------------------------- undo

    def _tracked(self):
        """The pruned arrays, then the wrapped optimizer's other parameters
        (biases, ...): an undo restores the whole network."""
        tracked = list(self.params)
        if self.optimizer is not None:
            ids = {id(p) for p in tracked}
            tracked += [p for p in self.optimizer._all_params() if id(p) not in ids]
        return tracked

    def _save(self):
        # the optimizer with its state: an undo restores that optimizer, even
        # if another one trains the network since (a later fit)
        opt = (self.optimizer, self.optimizer.state_dict()) if self.optimizer is not None \
            else None
        tracked = self._tracked()
        model = self.model.state_dict() if self.model is not None else None
        self._history.append((tracked, [_data(p).copy() for p in tracked],
                              [m.copy() for m in self.masks], opt, model))

    def undo(self):
        """Restore the weights, masks and optimizer state saved by the last
        :meth:`prune`, bit for bit (retraining since is discarded). With a
        wrapped optimizer every parameter it updates is restored, not only
        the pruned ones; with ``model`` every parameter and buffer of the
        model.

        Returns
        -------
        bool
            False when there was nothing to undo.
        """
        if not self._history:
            return False
        tracked, datas, masks, opt, model = self._history.pop()
        for p, d in zip(tracked, datas):
            np.copyto(_data(p), d)
        if model is not None:
            self.model.load_state_dict(model)
        # in place: a mask the caller keeps (``pruner.masks[i]``) stays the
        # pruner's mask (shapes cannot differ: a growth clears the history)
        for dst, src in zip(self.masks, masks):
            np.copyto(dst, src)
        if opt is not None:
            opt[0].load_state_dict(opt[1])
        return True

    # ------------------------------------------------------------- report

    def report(self):
        """Per-layer sparsity: a list of dicts (name, size, pruned, sparsity)
        followed by the total (name ``"total"``)."""
        self._follow_growth()
        rows = []
        for name, m in zip(self.names, self.masks):
            pruned = int(m.size - np.count_nonzero(m))
            rows.append(dict(name=name, size=m.size, pruned=pruned,
                             sparsity=pruned / m.size if m.size else 0.0))
        size = sum(r["size"] for r in rows)
        pruned = sum(r["pruned"] for r in rows)
        rows.append(dict(name="total", size=size, pruned=pruned,
                         sparsity=pruned / size if size else 0.0))
        return rows

    def format_report(self):
        """:meth:`report` as a text table."""
        lines = [f"{'layer':<16} {'weights':>9} {'pruned':>9} {'sparsity':>9}"]
        for r in self.report():
            lines.append(f"{r['name']:<16} {r['size']:>9} {r['pruned']:>9} "
                         f"{100 * r['sparsity']:>8.1f}%")
        return "\n".join(lines)

    # ---------------------------------------------------------- optimizer

    def wrap(self, optimizer):
        """A :class:`MaskedOptimizer` over ``optimizer`` that keeps pruned
        weights at zero; its state is saved and restored with the weights."""
        self.optimizer = optimizer
        self._optimizer_of_fit = False
        return MaskedOptimizer(optimizer, self)


class MaskedOptimizer:
    """An optimizer whose steps respect a :class:`Pruner`'s masks.

    ``step`` zeroes the gradients of pruned weights (in copies: the given
    gradients are not modified), runs the wrapped optimizer, then zeroes
    the pruned weights again, so they are exactly zero after every step for
    any update rule (weight decay, momentum, Adam's bias-corrected moments).
    Other attributes are those of the wrapped optimizer.
    """

    def __init__(self, optimizer, pruner):
        self.optimizer = optimizer
        self.pruner = pruner

    def step(self, closure=None, grads=None):
        """The wrapped optimizer's step on masked gradients, then the pruned
        weights set to zero again.

        Parameters
        ----------
        closure : callable, optional
            As in :meth:`fastnn.optim.Optimizer.step`: called once, before
            the update, to compute the gradients; its value is returned.
        grads : list of ndarray, optional
            Gradients in the order of the parameters (default each
            Parameter's ``.grad``); may also be the first positional argument.

        Returns
        -------
        object
            The closure's return value, or None.
        """
        closure, grads = step_arguments(closure, grads)
        value = closure() if closure is not None else None
        self.pruner._follow_growth()
        params = self.optimizer._all_params()
        if grads is None:
            grads = [getattr(p, "grad", None) for p in params]
        grads = list(grads)
        masks = {id(p): m for p, m in zip(self.pruner.params, self.pruner.masks)}
        masked = []
        for p, g in zip(params, grads):
            m = masks.get(id(p))
            masked.append(g if g is None or m is None else np.where(m, g, 0).astype(g.dtype))
        self.optimizer.step(masked if len(masked) == len(params) else grads)
        self.pruner.apply()
        return value

    def __getattr__(self, name):
        return getattr(self.optimizer, name)


class PruningCallback(Callback):
    """Keeps a :class:`Pruner`'s weights pruned inside :func:`fastnn.training.fit`.

    After every optimizer step (``on_batch_end``) the pruned weights are set
    back to zero, so they stay exactly zero whatever the optimizer. The
    training optimizer becomes the pruner's ``optimizer`` (unless
    :meth:`Pruner.wrap` chose one), so :meth:`Pruner.undo` restores its
    state too; each ``fit`` sets its own. With a
    ``schedule`` the pruner also prunes at the end of the given epochs
    (iterative pruning, the epochs in between retraining).

    Parameters
    ----------
    pruner : Pruner
    schedule : dict, optional
        ``{epoch: target_sparsity}`` (epochs counted from 0).
    criterion : str, optional
        The criterion of scheduled steps ("magnitude" or "first_order"; the
        gradients of the last batch are used for "first_order").
    """

    def __init__(self, pruner, schedule=None, criterion="magnitude"):
        if not isinstance(pruner, Pruner):
            raise TypeError("pruner must be a fastnn.pruning.Pruner")
        if criterion not in ("magnitude", "first_order"):
            raise ValueError(f"criterion must be 'magnitude' or 'first_order', got {criterion!r}")
        self.pruner = pruner
        self.schedule = dict(schedule or {})
        self.criterion = criterion

    def on_train_begin(self, logs):
        # the training optimizer's state is then saved by each prune and
        # restored by undo, as with Pruner.wrap
        # (a later fit with another optimizer: that one, unless wrap chose one)
        if self.pruner.optimizer is None or getattr(self.pruner, "_optimizer_of_fit", False):
            opt = self.trainer.optimizer
            self.pruner.optimizer = getattr(opt, "optimizer", opt)
            self.pruner._optimizer_of_fit = True
        self.pruner.apply()

    def on_batch_end(self, batch, logs):
        self.pruner.apply()

    def on_epoch_end(self, epoch, logs):
        if epoch in self.schedule:
            self.pruner.prune(self.schedule[epoch], self.criterion)
            logs["sparsity"] = self.pruner.report()[-1]["sparsity"]


def iterative_prune(pruner, targets, retrain, evaluate, *, max_drop, criterion="magnitude",
                    higher_is_better=True, **prune_kwargs):
    """The prune–retrain schedule with undo.

    For each sparsity in ``targets``: prune, call ``retrain()``, measure
    ``evaluate()``; when quality falls more than ``max_drop`` below the
    quality before pruning started, undo that step (weights restored bit for
    bit) and stop.

    Parameters
    ----------
    pruner : Pruner
    targets : sequence of float
        Increasing sparsities, e.g. ``[0.2, 0.4, 0.6, 0.8]``.
    retrain : callable
        ``retrain()`` trains for a while (through ``pruner.wrap(opt)``).
    evaluate : callable
        ``evaluate() -> float``: validation quality.
    max_drop : float
        Largest tolerated loss of quality (>= 0).
    criterion : str, optional
    higher_is_better : bool, optional
        False for a loss.

    Returns
    -------
    list of dict
        One row per step: target, sparsity, quality, undone.
    """
    if not isinstance(pruner, Pruner):
        raise TypeError("pruner must be a fastnn.pruning.Pruner")
    if not callable(retrain) or not callable(evaluate):
        raise TypeError("retrain and evaluate must be callables")
    if isinstance(max_drop, bool) or not isinstance(max_drop, numbers.Real) or not max_drop >= 0:
        raise ValueError(f"max_drop must be a real number >= 0, got {max_drop!r}")
    sign = 1.0 if higher_is_better else -1.0
    base = float(evaluate())
    history = [dict(target=0.0, sparsity=pruner.report()[-1]["sparsity"], quality=base,
                    undone=False)]
    for t in targets:
        pruner.prune(t, criterion, **prune_kwargs)
        retrain()
        q = float(evaluate())
        if sign * (base - q) > max_drop:
            pruner.undo()
            history.append(dict(target=t, sparsity=pruner.report()[-1]["sparsity"], quality=q,
                                undone=True))
            break
        history.append(dict(target=t, sparsity=pruner.report()[-1]["sparsity"], quality=q,
                            undone=False))
    return history
