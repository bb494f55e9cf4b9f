"""Counter-based random numbers: Philox4x32-10 streams and fills.

Every random kernel in fastnn draws from a Philox4x32-10 stream (Salmon et
al. 2011, "Parallel random numbers: as easy as 1, 2, 3"; the generator of
Random123 and cuRAND) named by ``(seed, offset)``:

- ``seed`` is the 64-bit Philox key. It may be an int in [0, 2**64), a
  ``numpy.random.SeedSequence`` (its first 64 bits of state) or a
  ``numpy.random.Generator`` (which draws a fresh 64-bit key, so each call
  advances the generator and gets new numbers).
- ``offset`` (int in [0, 2**64)) is the high half of the counter: each offset
  is an independent stream of 2**64 blocks. Use a new offset for each call
  that needs fresh numbers with the same seed (a training step counter).

The value of element ``i`` depends only on ``(seed, offset, i)``: never on
the thread count, the SIMD level or how the work is split. Mappings:

- float32 uniform: one 32-bit word ``w`` per element, ``u = (w >> 8)·2**-24``
  (the 24 bits a float32 holds exactly; u ∈ [0, 1), never 1).
- float64 uniform: two words ``a, b`` per element,
  ``u = ((a >> 5)·2**26 + (b >> 6))·2**-53`` (53 bits, u ∈ [0, 1)).
- normal: Box-Muller on consecutive pairs, ``z₀ = r·cos 2πu₂``,
  ``z₁ = r·sin 2πu₂``, ``r = √(−2 ln u₁)`` with ``u₁`` shifted into (0, 1].

:mod:`fastnn.reference.random` writes each mapping out in NumPy.
"""
import numbers

import numpy as np

from fastnn import _config
from fastnn._ext import random as _k
from fastnn._ext.runtime import check_param, check_real

__all__ = ["philox4x32_10", "philox_words", "uniform_", "normal_", "seed_key", "check_offset"]

_U64 = 1 << 64


def _int_in(name, value, bound):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if not 0 <= value < bound:
        raise ValueError(f"{name} must be in [0, {bound:#x}), got {value}")
    return value


def seed_key(seed):
    """The 64-bit Philox key of ``seed``.

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        An int in [0, 2**64) is the key itself; a SeedSequence gives the
        first two uint32 words of its state (low word first); a Generator
        draws a fresh uint64 (advancing it).

    Returns
    -------
    int
    """
    if isinstance(seed, np.random.SeedSequence):
        lo, hi = (int(v) for v in seed.generate_state(2, np.uint32))
        return lo | (hi << 32)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, _U64, dtype=np.uint64))
    if seed is None:
        raise TypeError("seed is required: an int, a numpy.random.SeedSequence or a "
                        "numpy.random.Generator")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, a numpy.random.SeedSequence or a "
                        f"numpy.random.Generator, got {type(seed).__name__}")
    return _int_in("seed", seed, _U64)


def check_offset(offset):
    """``offset`` as an int in [0, 2**64) (TypeError / ValueError otherwise)."""
    return _int_in("offset", offset, _U64)


def philox4x32_10(counter, key):
    """One Philox4x32-10 block.

    Parameters
    ----------
    counter : sequence of 4 ints in [0, 2**32)
    key : sequence of 2 ints in [0, 2**32)

    Returns
    -------
    numpy.ndarray
        The four uint32 output words.

    Examples
    --------
    >>> [hex(v) for v in philox4x32_10([0, 0, 0, 0], [0, 0])]
    ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    c = _words("counter", counter, 4)
    k = _words("key", key, 2)
    out = np.empty(4, dtype=np.uint32)
    _k.philox4x32_10(c, k, out)
    return out


def _words(name, value, n):
    if isinstance(value, np.ndarray):
        value = value.tolist()
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of {n} ints, got "
                        f"{type(value).__name__}") from None
    if len(items) != n:
        raise ValueError(f"{name} must have {n} words, got {len(items)}")
    return np.array([_int_in(f"{name}[{i}]", v, 1 << 32) for i, v in enumerate(items)],
                    dtype=np.uint32)


def philox_words(n, *, seed, offset=0, n_threads=None):
    """The first ``n`` 32-bit words of stream (seed, offset).

    Word ``j`` is word ``j % 4`` of the block with counter
    ``(j // 4 mod 2**32, j // 4 >> 32, offset mod 2**32, offset >> 32)`` and
    key ``(seed mod 2**32, seed >> 32)``.

    Returns
    -------
    numpy.ndarray of uint32, shape (n,)
    """
    n = _int_in("n", n, 1 << 62)
    key = seed_key(seed)
    offset = check_offset(offset)
    out = np.empty(n, dtype=np.uint32)
    _k.philox_words(out, key, offset, _config.resolve_threads(n_threads),
                    _config.kernel_flags())
    return out


def uniform_(out, low=0.0, high=1.0, *, seed, offset=0, n_threads=None):
    """Fill ``out`` in place with uniform values in [low, high).

    ``out = low + (high − low)·u`` computed in ``out``'s dtype, with u ∈ [0, 1)
    from the 24-bit (float32) or 53-bit (float64) mapping of the module
    docstring. As with ``torch.Tensor.uniform_``, rounding of the last
    operation can give ``high`` itself in float32 when |low| ≫ high − low.

    Parameters
    ----------
    out : numpy.ndarray
        float32 or float64, C-contiguous, writable; any shape.
    low, high : float
        Finite bounds, ``low <= high``.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        The stream's key (see :func:`seed_key`). Keyword-only, required.
    offset : int, optional
        The stream's offset in [0, 2**64).
    n_threads : int, optional
        Threads to use; default from fastnn's thread settings.

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    out = check_param("out", out)
    low = check_real("low", low)
    high = check_real("high", high)
    if low > high:
        raise ValueError(f"low must be <= high, got low={low}, high={high}")
    key = seed_key(seed)
    offset = check_offset(offset)
    _k.uniform(out, low, high, key, offset, _config.resolve_threads(n_threads),
               _config.kernel_flags())
    return out


def normal_(out, mean=0.0, std=1.0, *, seed, offset=0, n_threads=None):
    """Fill ``out`` in place with normal values ``mean + std·z``.

    ``z`` comes from Box-Muller on the stream (see the module docstring),
    computed in ``out``'s dtype with vectorized polynomial log, sin and cos
    accurate to a few ulps.

    Parameters
    ----------
    out : numpy.ndarray
        float32 or float64, C-contiguous, writable; any shape.
    mean : float
        Finite.
    std : float
        Finite, ``>= 0``.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        The stream's key (see :func:`seed_key`). Keyword-only, required.
    offset : int, optional
        The stream's offset in [0, 2**64).
    n_threads : int, optional
        Threads to use; default from fastnn's thread settings.

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    out = check_param("out", out)
    mean = check_real("mean", mean)
    std = check_real("std", std, 0.0)
    key = seed_key(seed)
    offset = check_offset(offset)
    _k.normal(out, mean, std, key, offset, _config.resolve_threads(n_threads),
              _config.kernel_flags())
    return out
