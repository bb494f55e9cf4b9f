"""Dropout and noise injection from counter-based random streams.

Every function draws from the Philox4x32-10 stream ``(seed, offset)`` of
:mod:`fastnn.random`: element ``i``'s decision depends only on
``(seed, offset, i)``, so results are identical for any thread count, and a
backward pass can regenerate the forward mask instead of storing it. Pass
a new ``offset`` (e.g. the step number) for each forward pass that needs a
fresh mask.

Dropout is inverted dropout (PyTorch semantics): with ``p`` the probability
of dropping, survivors are scaled by ``1/(1 − p)`` in training and
evaluation mode is the identity. ``p = 0`` returns the input values,
``p = 1`` gives zeros (and zero gradients) without dividing by zero.
Element ``i`` is dropped when its 16-bit draw (half of a 32-bit Philox word)
is below ``round(p·2**16)``: p is resolved to 2**-16, far below the binomial
noise of any layer, and half-words halve the generator's work, the
dominant cost of dropout.

Masks are bit-packed: element ``i`` of the flattened array is bit ``i % 8``
of byte ``i // 8`` (``numpy.packbits(keep, bitorder="little")``), so a mask
for ``n`` elements has ``(n + 7) // 8`` bytes (:func:`empty_mask`).

Inputs may be non-contiguous (they are copied); ``out`` and ``mask`` must be
C-contiguous and writable, of the right dtype and shape, and share no
memory with the input. Every argument is checked before any array is
written: TypeError for types and dtypes, ValueError for shapes, layouts,
read-only arrays and values out of range.
"""
from typing import Any

import numpy as np

from fastnn._ext import dropout as _k
from fastnn._validation import (Arrays, check_array, check_bool, check_mask, check_out,
                                check_real, run_args)
from fastnn.random import check_offset, seed_key

__all__ = ["dropout", "dropout_backward", "channel_dropout", "channel_dropout_backward",
           "dropconnect", "dropconnect_backward", "gaussian_noise", "gaussian_noise_backward",
           "empty_mask", "Dropout"]


# ------------------------------------------------------------ validation

def _input(name, x):
    return check_array(name, x)


def _p(p):
    return check_real("p", p, 0.0, True, 1.0, True)


def _out(arrays, out, x):
    """``out`` like ``x``, written: recorded in ``arrays`` for the overlap check."""
    if out is None:
        return None
    return arrays.write("out", check_out("out", out, x.shape, x.dtype))


def _mask(arrays, mask, x, *, writable, input_name="x"):
    mask = check_mask("mask", mask, (x.size + 7) // 8, writable=writable, what=input_name)
    return arrays.add("mask", mask, writable)


def _stream(seed, offset):
    offset = check_offset(offset)
    return seed_key(seed), offset


def empty_mask(x):
    """An uninitialized bit-packed mask for ``x``: uint8, ``((x.size + 7) // 8,)``."""
    size = x.size if isinstance(x, np.ndarray) else int(np.prod(x))
    return np.empty((size + 7) // 8, dtype=np.uint8)


# ------------------------------------------------------------ dropout

def dropout(x, p=0.5, training=True, *, seed, offset=0, out=None, mask=None, n_threads=None):
    """Inverted dropout: ``y = x·keep/(1 − p)``, ``keep ~ Bernoulli(1 − p)``.

    Parameters
    ----------
    x : numpy.ndarray
        float32 or float64, any shape.
    p : float, optional
        Probability of dropping an element, in [0, 1] (default 0.5, as
        ``torch.nn.functional.dropout``).
    training : bool, optional
        False makes this the identity (``out`` gets a copy of ``x``).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Key of the stream (see :func:`fastnn.random.seed_key`).
    offset : int, optional
        Stream offset in [0, 2**64); use a new one for each fresh mask.
    out : numpy.ndarray, optional
        Output like ``x``; allocated when None.
    mask : numpy.ndarray, optional
        uint8 array of ``(x.size + 7) // 8`` bytes that receives the
        bit-packed keep mask (training only), for
        ``dropout_backward(..., mask=mask)``. Not needed to regenerate the
        mask from ``(seed, offset)``.
    n_threads : int, optional

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    arrays = Arrays()
    x = arrays.read("x", _input("x", x))
    p = _p(p)
    training = check_bool("training", training)
    key, offset = _stream(seed, offset)
    out = _out(arrays, out, x)
    mask = _mask(arrays, mask, x, writable=True)
    arrays.check()
    if mask is not None and not training:
        raise ValueError("mask is only written in training mode")
    if out is None:
        out = np.empty_like(x)
    if not training:
        np.copyto(out, x)
        return out
    _k.dropout(x, out, mask, p, key, offset, *run_args(n_threads))
    return out


def dropout_backward(grad_out, p=0.5, *, seed=None, offset=0, mask=None, out=None,
                     n_threads=None):
    """Gradient of :func:`dropout`: ``grad_x = grad_out·keep/(1 − p)``.

    The keep mask is either regenerated from the forward call's
    ``(seed, offset)`` (no storage) or read from the bit-packed ``mask`` the
    forward call filled: give exactly one of the two. Both give exactly the
    forward mask.

    Parameters
    ----------
    grad_out : numpy.ndarray
        float32 or float64, the shape of the forward input.
    p : float, optional
        The forward call's p.
    seed : int, numpy.random.SeedSequence, optional
        The forward call's seed (an int or SeedSequence: a Generator would
        draw a new key).
    offset : int, optional
        The forward call's offset.
    mask : numpy.ndarray, optional
        The forward call's mask.
    out : numpy.ndarray, optional
        Output like ``grad_out``; allocated when None.
    n_threads : int, optional

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    arrays = Arrays()
    g = arrays.read("grad_out", _input("grad_out", grad_out))
    p = _p(p)
    if (seed is None) == (mask is None):
        raise TypeError("give exactly one of seed (regenerate the mask) and mask (stored)")
    if seed is not None:
        key, offset = _stream(seed, offset)
    mask = _mask(arrays, mask, g, writable=False, input_name="grad_out")
    out = _out(arrays, out, g)
    arrays.check()
    if out is None:
        out = np.empty_like(g)
    if mask is not None:
        _k.dropout_backward_mask(g, mask, out, p, *run_args(n_threads))
    else:
        _k.dropout_backward(g, out, p, key, offset, *run_args(n_threads))
    return out


# ------------------------------------------------------------ channel dropout

def _channels(x):
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, C, ...), got {x.shape}")
    rows = x.shape[0] * x.shape[1]
    return rows, (x.size // rows if rows else 0)


def channel_dropout(x, p=0.5, training=True, *, seed, offset=0, out=None, n_threads=None):
    """Channel dropout (``torch.nn.Dropout2d``/``Dropout3d``): whole channels
    of an (N, C, ...) input are dropped, ``y[n, c] = x[n, c]·keep[n, c]/(1 − p)``.

    Channel ``(n, c)`` uses word ``n·C + c`` of the stream ``(seed, offset)``,
    kept when it is ``>= round(p·2**32)``. A 2-D input (N, C) drops single
    elements.

    Parameters
    ----------
    x : numpy.ndarray
        float32 or float64 of shape (N, C, ...).
    p : float, optional
        Probability of dropping a channel, in [0, 1].
    training : bool, optional
        False makes this the identity.
    seed, offset
        The stream (see :func:`dropout`).
    out : numpy.ndarray, optional
    n_threads : int, optional

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    arrays = Arrays()
    x = arrays.read("x", _input("x", x))
    rows, row_len = _channels(x)
    p = _p(p)
    training = check_bool("training", training)
    key, offset = _stream(seed, offset)
    out = _out(arrays, out, x)
    arrays.check()
    if out is None:
        out = np.empty_like(x)
    if not training:
        np.copyto(out, x)
        return out
    _k.channel_dropout(x, out, rows, row_len, p, key, offset, *run_args(n_threads))
    return out


def channel_dropout_backward(grad_out, p=0.5, *, seed, offset=0, out=None, n_threads=None):
    """Gradient of :func:`channel_dropout`, the channel mask regenerated from
    ``(seed, offset)``: ``grad_x[n, c] = grad_out[n, c]·keep[n, c]/(1 − p)``.

    Parameters are those of the forward call; returns ``out``.
    """
    arrays = Arrays()
    g = arrays.read("grad_out", _input("grad_out", grad_out))
    rows, row_len = _channels(g)
    p = _p(p)
    key, offset = _stream(seed, offset)
    out = _out(arrays, out, g)
    arrays.check()
    if out is None:
        out = np.empty_like(g)
    _k.channel_dropout(g, out, rows, row_len, p, key, offset, *run_args(n_threads))
    return out


# ------------------------------------------------------------ DropConnect

def dropconnect(weight, p=0.5, training=True, *, seed, offset=0, out=None, mask=None,
                n_threads=None):
    """DropConnect (Wan et al. 2013): the weight matrix used for one forward
    pass, ``W' = W·keep/(1 − p)`` with a fresh mask per ``offset``.

    Use ``W'`` in the layer's forward pass; the layer's gradient with
    respect to ``W'`` goes through :func:`dropconnect_backward` to give the
    gradient of ``W``. Parameters as :func:`dropout` (``weight`` for ``x``).
    """
    _input("weight", weight)  # errors name this function's argument
    return dropout(weight, p, training, seed=seed, offset=offset, out=out, mask=mask,
                   n_threads=n_threads)


def dropconnect_backward(grad_dropped_weight, p=0.5, *, seed=None, offset=0, mask=None,
                         out=None, n_threads=None):
    """Gradient of :func:`dropconnect`: ``grad_W = grad_W'·keep/(1 − p)``, the
    mask regenerated from ``(seed, offset)`` or read from ``mask``."""
    _input("grad_dropped_weight", grad_dropped_weight)
    return dropout_backward(grad_dropped_weight, p, seed=seed, offset=offset, mask=mask,
                            out=out, n_threads=n_threads)


# ------------------------------------------------------------ Gaussian noise

def noise_std(std: Any) -> float:
    """Check the ``std`` of :func:`gaussian_noise` (a real number >= 0);
    also called by :class:`fastnn.augment.GaussianNoise` at construction.

    Parameters
    ----------
    std
        The noise's standard deviation.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        Not a real number, or negative.
    """
    return check_real("std", std, 0.0)


def gaussian_noise(x, std, training=True, *, multiplicative=False, seed, offset=0, out=None,
                   n_threads=None):
    """Gaussian noise injection on inputs or weights.

    Additive: ``y = x + std·z``; multiplicative (Gaussian dropout):
    ``y = x·(1 + std·z)``, with ``z`` the standard normals of
    :func:`fastnn.random.normal_`'s stream ``(seed, offset)``. For
    multiplicative noise matching dropout's variance use
    ``std = sqrt(p/(1 − p))``.

    Parameters
    ----------
    x : numpy.ndarray
        float32 or float64, any shape (activations or a weight array).
    std : float
        Noise standard deviation, finite and ``>= 0``.
    training : bool, optional
        False makes this the identity.
    multiplicative : bool, optional
    seed, offset
        The stream (see :func:`dropout`).
    out : numpy.ndarray, optional
    n_threads : int, optional

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    arrays = Arrays()
    x = arrays.read("x", _input("x", x))
    std = noise_std(std)
    training = check_bool("training", training)
    multiplicative = check_bool("multiplicative", multiplicative)
    key, offset = _stream(seed, offset)
    out = _out(arrays, out, x)
    arrays.check()
    if out is None:
        out = np.empty_like(x)
    if not training:
        np.copyto(out, x)
        return out
    _k.gaussian_noise(x, out, std, multiplicative, key, offset, *run_args(n_threads))
    return out


def gaussian_noise_backward(grad_out, std, *, multiplicative=False, seed, offset=0, out=None,
                            n_threads=None):
    """Gradient of :func:`gaussian_noise`: ``grad_x = grad_out`` (additive) or
    ``grad_out·(1 + std·z)`` (multiplicative, ``z`` regenerated from
    ``(seed, offset)``). Parameters are those of the forward call."""
    arrays = Arrays()
    g = arrays.read("grad_out", _input("grad_out", grad_out))
    std = noise_std(std)
    multiplicative = check_bool("multiplicative", multiplicative)
    key, offset = _stream(seed, offset)
    out = _out(arrays, out, g)
    arrays.check()
    if out is None:
        out = np.empty_like(g)
    if not multiplicative:
        np.copyto(out, g)
        return out
    _k.gaussian_noise(g, out, std, True, key, offset, *run_args(n_threads))
    return out


# ------------------------------------------------------------ layer

class Dropout:
    """Inverted dropout layer with a fresh mask per forward pass.

    Each training forward pass uses stream ``(seed, offset)`` and then
    increments ``offset``; :meth:`backward` applies the mask of the latest
    forward pass.

    Parameters
    ----------
    p : float, optional
        Probability of dropping, in [0, 1].
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Resolved once to a 64-bit key.
    mask : {"stored", "regenerate"}, optional
        "stored" (the default) keeps the forward mask bit-packed (1 bit per
        element, 1/32 of a float32 activation) and the backward pass only
        streams memory; "regenerate" stores nothing and recomputes the
        Philox words in backward. Stored is the default because the
        backward pass is then purely memory-bound: on few cores (where
        Philox costs about as much as the memory traffic) it is clearly
        faster, and its 1-bit-per-element cost is negligible next to the
        activation the layer keeps anyway. Regenerate suits memory-starved
        cases (very large activations, recomputation schemes).
    offset : int, optional
        First offset.
    """

    def __init__(self, p=0.5, *, seed, mask="stored", offset=0):
        self.p = _p(p)
        if mask not in ("stored", "regenerate"):
            raise ValueError(f"mask must be 'stored' or 'regenerate', got {mask!r}")
        self.mask_mode = mask
        self.seed = seed_key(seed)
        self.offset = check_offset(offset)
        self._last = None

    def forward(self, x, training=True, *, n_threads=None):
        """``dropout(x, p, training)`` with the layer's stream; returns y."""
        if not training:
            return dropout(x, self.p, False, seed=self.seed, n_threads=n_threads)
        offset = self.offset
        mask = empty_mask(x) if self.mask_mode == "stored" and isinstance(x, np.ndarray) else None
        y = dropout(x, self.p, True, seed=self.seed, offset=offset, mask=mask,
                    n_threads=n_threads)
        self.offset = (offset + 1) % (1 << 64)
        self._last = (offset, mask, y.shape)
        return y

    def backward(self, grad_out, *, n_threads=None):
        """Gradient of the latest training forward pass."""
        if self._last is None:
            raise RuntimeError("backward called before a training forward pass")
        offset, mask, shape = self._last
        if not isinstance(grad_out, np.ndarray) or grad_out.shape != shape:
            got = grad_out.shape if isinstance(grad_out, np.ndarray) else type(grad_out).__name__
            raise ValueError(f"grad_out has shape {got}, expected {shape}")
        if mask is not None:
            return dropout_backward(grad_out, self.p, mask=mask, n_threads=n_threads)
        return dropout_backward(grad_out, self.p, seed=self.seed, offset=offset,
                                n_threads=n_threads)
