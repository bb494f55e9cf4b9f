"""Weight and activity regularizers: L1, L2 and elastic net (L1L2).

The penalty and its gradient come out of one fused pass over the array: the
penalty is returned and, when a gradient buffer is given, its gradient is
added into that buffer in place (the layer's existing gradient):

    penalty = scale·(l1·Σ|w| + l2·Σw²)
    grad   ← grad + scale·(l1·sign(w) + 2·l2·w)

These follow Keras's ``regularizers.L1``, ``L2`` and ``L1L2`` (the L2 penalty
is l2·Σw², without a ½). The classes are the objects a layer attaches as
``kernel_regularizer``, ``bias_regularizer`` or ``activity_regularizer``;
:class:`ActivityRegularization` applies one to a layer's output on the
forward pass and adds its gradient on the backward pass. The penalty sum is
accumulated in float64 over fixed blocks, so it is bitwise identical for any
thread count.
"""

from fastnn import _config
from fastnn._ext import regularizers as _k
from fastnn._ext.runtime import check_disjoint, check_real
from fastnn._validation import check_array, check_inout

__all__ = ["l1l2_penalty", "l1_penalty", "l2_penalty", "Regularizer", "L1", "L2", "L1L2",
           "ActivityRegularization", "get"]


def _check_weights(name, w):
    """Read-only weights: C-contiguous, native, shape kept (0-d included)."""
    return check_array(name, w)


def l1l2_penalty(w, l1=0.0, l2=0.0, *, grad=None, scale=1.0, n_threads=None):
    """Elastic-net penalty of ``w``, with its gradient added into ``grad``.

    Parameters
    ----------
    w : ndarray, float32 or float64
        The weights (read only; a non-contiguous array is copied).
    l1, l2 : float, >= 0
        Coefficients of Σ|w| and Σw².
    grad : ndarray, optional
        Same shape and dtype as ``w``, C-contiguous and writable, not sharing
        memory with ``w``: ``grad += scale·(l1·sign(w) + 2·l2·w)`` in place.
    scale : float, default 1.0
        Factor on penalty and gradient (e.g. 1/batch_size), finite.
    n_threads : int, optional

    Returns
    -------
    float
        ``scale·(l1·Σ|w| + l2·Σw²)``.
    """
    w = _check_weights("w", w)
    l1 = check_real("l1", l1, 0.0)
    l2 = check_real("l2", l2, 0.0)
    scale = check_real("scale", scale)
    if grad is not None:
        grad = check_inout("grad", grad, w)
        check_disjoint(("w", "grad"), (w, grad))
    return _k.l1l2_penalty(w, l1, l2, scale, grad, _config.resolve_threads(n_threads),
                           _config.kernel_flags())


def l1_penalty(w, l1=0.01, *, grad=None, scale=1.0, n_threads=None):
    """L1 penalty ``scale·l1·Σ|w|`` (gradient ``scale·l1·sign(w)`` added into grad).

    See :func:`l1l2_penalty` for the parameters.
    """
    return l1l2_penalty(w, l1, 0.0, grad=grad, scale=scale, n_threads=n_threads)


def l2_penalty(w, l2=0.01, *, grad=None, scale=1.0, n_threads=None):
    """L2 penalty ``scale·l2·Σw²`` (gradient ``2·scale·l2·w`` added into grad).

    See :func:`l1l2_penalty` for the parameters.
    """
    return l1l2_penalty(w, 0.0, l2, grad=grad, scale=scale, n_threads=n_threads)


class Regularizer:
    """Base of the weight regularizers: ``reg(w)`` is the penalty,
    ``reg.add_grad_(w, grad)`` also adds its gradient into ``grad``."""

    l1 = 0.0
    l2 = 0.0

    def __call__(self, w, *, scale=1.0, n_threads=None):
        return l1l2_penalty(w, self.l1, self.l2, scale=scale, n_threads=n_threads)

    def add_grad_(self, w, grad, *, scale=1.0, n_threads=None):
        """Return the penalty of ``w`` and add its gradient into ``grad`` in place."""
        if grad is None:
            raise TypeError("grad is required: the buffer the gradient is added into")
        return l1l2_penalty(w, self.l1, self.l2, grad=grad, scale=scale, n_threads=n_threads)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1!r}, l2={self.l2!r})"


class L1L2(Regularizer):
    """Elastic net: ``l1·Σ|w| + l2·Σw²`` (Keras ``L1L2``; defaults 0, 0).

    Parameters
    ----------
    l1, l2 : float, >= 0
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = check_real("l1", l1, 0.0)
        self.l2 = check_real("l2", l2, 0.0)


class L1(L1L2):
    """``l1·Σ|w|`` (Keras ``L1``; default 0.01)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1, l2=0.0)

    def get_config(self):
        return {"l1": self.l1}

    def __repr__(self):
        return f"L1(l1={self.l1!r})"


class L2(L1L2):
    """``l2·Σw²`` (Keras ``L2``; default 0.01)."""

    def __init__(self, l2=0.01):
        super().__init__(l1=0.0, l2=l2)

    def get_config(self):
        return {"l2": self.l2}

    def __repr__(self):
        return f"L2(l2={self.l2!r})"


_NAMES = {"l1": L1, "l2": L2, "l1l2": L1L2, "l1_l2": L1L2}


def get(identifier):
    """A regularizer from a Keras-style identifier.

    Parameters
    ----------
    identifier : None, str, dict or Regularizer
        ``"l1"``, ``"l2"``, ``"l1_l2"`` (defaults), a dict
        ``{"class_name": "L1L2", "config": {...}}``, an existing regularizer
        (returned as is), or None (returned as None).

    Returns
    -------
    Regularizer or None
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _NAMES:
            raise ValueError(f"unknown regularizer {identifier!r}; expected one of "
                             f"{sorted(_NAMES)}")
        return _NAMES[key]()
    if isinstance(identifier, dict):
        name = str(identifier.get("class_name", "")).lower()
        if name not in _NAMES:
            raise ValueError(f"unknown regularizer class {identifier.get('class_name')!r}")
        return _NAMES[name](**identifier.get("config", {}))
    raise TypeError(f"regularizer identifier must be None, a str, a dict or a Regularizer, "
                    f"got {type(identifier).__name__}")


class ActivityRegularization:
    """A regularizer applied to a layer's output (Keras's activity regularizer).

    ``forward(x)`` returns ``x`` unchanged and records the penalty of ``x`` in
    ``self.penalty`` (to add to the loss); ``backward(x, grad_output)`` adds
    the penalty's gradient with respect to ``x`` into ``grad_output`` in place
    and returns it. Keras 3 adds the penalty of the whole batch; pass
    ``divide_by_batch=True`` for the tf.keras 2 behaviour (divided by the
    batch size ``x.shape[0]``).

    Parameters
    ----------
    regularizer : Regularizer, str or dict, optional
        Default ``L1L2(l1, l2)``.
    l1, l2 : float, >= 0
        Used when ``regularizer`` is None.
    divide_by_batch : bool, default False
    """

    def __init__(self, regularizer=None, *, l1=0.0, l2=0.0, divide_by_batch=False):
        self.regularizer = get(regularizer) if regularizer is not None else L1L2(l1, l2)
        self.divide_by_batch = bool(divide_by_batch)
        self.penalty = 0.0

    def _scale(self, x):
        if self.divide_by_batch and getattr(x, "ndim", 0) >= 1 and x.shape[0] > 0:
            return 1.0 / x.shape[0]
        return 1.0

    def forward(self, x, *, n_threads=None):
        """Record ``self.penalty`` for the output ``x``; return ``x``."""
        self.penalty = self.regularizer(x, scale=self._scale(x), n_threads=n_threads)
        return x

    __call__ = forward

    def backward(self, x, grad_output, *, n_threads=None):
        """Add the penalty's gradient into ``grad_output`` (in place) and return it."""
        self.penalty = self.regularizer.add_grad_(x, grad_output, scale=self._scale(x),
                                                  n_threads=n_threads)
        return grad_output
