"""Loss objects over the fused loss kernels, for :func:`fastnn.training.fit`.

A loss object's ``forward(output, target)`` returns the loss value (a float)
and keeps the gradient with respect to ``output``, computed in the same
fused pass; ``backward()`` returns that gradient. The gradient array is a
workspace reused across calls of one shape.
"""
from typing import Any

import numpy as np

from fastnn import functional as F
from fastnn.functional.losses import _check_reduction as _reduction_code

__all__ = ["Loss", "CrossEntropyLoss", "MSELoss", "BCEWithLogitsLoss", "get_loss"]


class Loss:
    """Base of the loss objects."""

    def __init__(self):
        self._grads = {}
        self._grad = None
        self._loss_shape = None

    def _out(self, like):
        key = (like.shape, like.dtype)
        g = self._grads.get(key)
        if g is None:
            if len(self._grads) >= 4:
                self._grads.clear()
            g = self._grads[key] = np.empty(like.shape, like.dtype)
        return g

    def __call__(self, output, target):
        return self.forward(output, target)

    def _value(self, loss):
        """What forward returns: a float, or with reduction="none" the
        per-sample losses (their shape kept for backward's grad_output)."""
        if getattr(self, "reduction", None) == "none":
            self._loss_shape = loss.shape
            return loss
        return float(loss)

    def backward(self, grad_output=None):
        """Gradient of the latest forward's loss with respect to its output.

        Parameters
        ----------
        grad_output : ndarray, optional
            Only with ``reduction="none"``: the upstream gradient of each
            returned loss (the shape of the per-sample losses), as in torch's
            ``losses.backward(grad_output)``. Default: ones (the gradient of
            the sum of the losses).
        """
        if self._grad is None:
            raise RuntimeError("backward called before forward")
        if grad_output is None:
            return self._grad
        if getattr(self, "reduction", None) != "none":
            raise ValueError("grad_output is only used with reduction='none' (a reduced "
                             "loss is a scalar: scale the result instead)")
        from fastnn._validation import check_array

        g = check_array("grad_output", grad_output, dtype=self._grad.dtype,
                        shape=self._loss_shape)
        # per-sample losses (N, d...) index the gradient along every axis but
        # the class axis 1 (cross-entropy), or elementwise
        if g.shape != self._grad.shape:
            g = np.expand_dims(g, 1)
        return self._grad * g

    def __repr__(self):
        return f"{type(self).__name__}()"


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy on logits (torch.nn.CrossEntropyLoss).

    Parameters
    ----------
    weight : ndarray (n_classes,), optional
    ignore_index : int, default -100
    label_smoothing : float, default 0
    reduction : {"mean", "sum", "none"}, default "mean"
        "none": ``forward`` returns the per-sample losses (an array of shape
        (N,), or (N, d1, ...) for (N, C, d1, ...) logits) and ``backward``
        takes their upstream gradient (default ones), as torch. ``fit``
        needs a scalar loss ("mean" or "sum").

    Logits may be (N, C) or (N, C, d1, ..., dk) with labels (N, d1, ..., dk)
    (per-pixel classification), as in torch.
    """

    def __init__(self, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
        super().__init__()
        _check_reduction(reduction)
        self.weight, self.ignore_index = weight, ignore_index
        self.label_smoothing, self.reduction = label_smoothing, reduction

    @staticmethod
    def check_target(target: Any, name: str = "target") -> None:
        """Reject targets cross-entropy cannot take, naming the mistake.

        Integer labels (n_samples,) or (n_samples, 1), one-hot or
        probability targets (n_samples, n_classes), and the targets of
        per-position logits (N, C, d1, ..., dk) (integer labels
        (N, d1, ..., dk), or probabilities of the logits' shape) pass; whether
        the shape matches the logits is checked when the loss is computed.
        Float labels (n_samples,) raise TypeError (cast them with
        ``.astype(np.int64)``), as do booleans; a 0-d target raises ValueError.

        Parameters
        ----------
        target : ndarray
            Checked when it is an ndarray (other inputs are left to the loss).
        name : str, default "target"
            The name the messages give the target.
        """
        if not isinstance(target, np.ndarray):
            return
        kind = target.dtype.kind
        if target.ndim == 1 and kind == "f":
            raise TypeError(f"{name} holds class labels of dtype {target.dtype}; cross-entropy "
                            f"takes integer class labels of shape (n_samples,) (cast with "
                            f"{name}.astype(np.int64)) or one-hot/probability targets of shape "
                            f"(n_samples, n_classes)")
        if kind not in "iuf":
            raise TypeError(f"{name} has dtype {target.dtype}; cross-entropy takes integer class "
                            f"labels or float one-hot/probability targets")
        if target.ndim < 1:
            raise ValueError(f"{name} must be labels (n_samples, ...) or one-hot/probability "
                             f"targets (n_samples, n_classes, ...), got shape {target.shape}")

    def forward(self, output, target):
        # Keras' conventions apply to (N, C) logits only: with (N, C, d1, ...)
        # logits a 2-D integer target is the labels (N, d1) of each position
        if getattr(output, "ndim", 2) <= 2:
            self.check_target(target)
            if isinstance(target, np.ndarray) and target.ndim == 2 and \
                    target.shape[1] == 1 and target.dtype.kind in "iu":
                target = target.reshape(-1)  # labels as a column (n, 1), as Keras accepts
            if isinstance(target, np.ndarray) and target.ndim == 2 and \
                    target.dtype != getattr(output, "dtype", target.dtype):
                # one-hot targets as Keras gives them (float32, or ints) for any model dtype
                target = target.astype(output.dtype)
        loss, self._grad = F.softmax_cross_entropy(
            output, target, weight=self.weight, ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing, reduction=self.reduction,
            out=self._out(output))
        return self._value(loss)


def _target_like(target, output):
    """``target`` as an array of the output's dtype and shape. A target whose
    shape differs from the output's by size-1 axes only (values (N,) for an
    output (N, 1), as Keras gives them) is reshaped; any other shape raises,
    rather than pairing each output with another sample's target."""
    t = np.asarray(target, dtype=output.dtype)
    if t.shape != output.shape:
        if tuple(d for d in t.shape if d != 1) != tuple(d for d in output.shape if d != 1):
            raise ValueError(f"target has shape {t.shape}, which does not match the output's "
                             f"shape {output.shape}")
        t = t.reshape(output.shape)
    return t


def _check_reduction(reduction):
    """``reduction`` as the functional losses check it, kept as given."""
    _reduction_code(reduction)
    return reduction


class MSELoss(Loss):
    """Mean squared error (torch.nn.MSELoss).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        "none": ``forward`` returns the per-element losses (the output's
        shape) and ``backward`` takes their upstream gradient (default
        ones), as torch. ``fit`` needs a scalar loss ("mean" or "sum").
    """

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = _check_reduction(reduction)

    def forward(self, output, target):
        target = _target_like(target, output)
        loss, self._grad = F.mse_loss(output, target, reduction=self.reduction,
                                      out=self._out(output))
        return self._value(loss)


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits (torch.nn.BCEWithLogitsLoss).

    Parameters
    ----------
    weight, pos_weight : ndarray, optional
        Broadcast to the output's shape (see
        :func:`fastnn.functional.binary_cross_entropy_with_logits`).
    reduction : {"mean", "sum", "none"}, default "mean"
        As :class:`MSELoss`.
    """

    def __init__(self, weight=None, pos_weight=None, reduction="mean"):
        super().__init__()
        self.reduction = _check_reduction(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, output, target):
        target = _target_like(target, output)
        loss, self._grad = F.binary_cross_entropy_with_logits(
            output, target, weight=self.weight, pos_weight=self.pos_weight,
            reduction=self.reduction, out=self._out(output))
        return self._value(loss)


_NAMES = {"cross_entropy": CrossEntropyLoss, "crossentropy": CrossEntropyLoss,
          "sparse_categorical_crossentropy": CrossEntropyLoss, "mse": MSELoss,
          "mse_loss": MSELoss, "mean_squared_error": MSELoss,
          "bce_with_logits": BCEWithLogitsLoss, "binary_crossentropy": BCEWithLogitsLoss}


def get_loss(loss):
    """A loss object from a name ("cross_entropy", "mse", "bce_with_logits")
    or a :class:`Loss` (returned as is)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        key = loss.lower()
        if key not in _NAMES:
            raise ValueError(f"unknown loss {loss!r}; valid names: {sorted(_NAMES)}")
        return _NAMES[key]()
    raise TypeError(f"loss must be a str or a Loss, got {type(loss).__name__}")
