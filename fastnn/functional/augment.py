"""Data augmentation: random per-sample transforms of batches.

Images are batches ``(N, C, H, W)``; signals and sequences are ``(N, L)`` or
``(N, L, F)`` (``F`` features per element). Each sample draws its own
parameters from the Philox stream ``(seed, offset)`` of :mod:`fastnn.random`:
sample ``n`` reads counter block ``n`` and element ``(n, l)`` of a sequence
reads word ``n·L + l``, so a seed gives the same batch for any thread count
and SIMD level. Pass a new ``offset`` (e.g. the step number) for each batch.
:mod:`fastnn.reference.augment` writes every mapping out in NumPy.

Inputs may be non-contiguous (they are copied); ``out`` must be a
C-contiguous, writable array of the input's dtype and of the output shape,
sharing no memory with the input. Every argument is checked before any
array is written: TypeError for types and dtypes, ValueError for shapes,
layouts, read-only arrays and values out of range.
"""

from typing import Any, Optional, Tuple

import numpy as np

from fastnn._ext import augment as _k
from fastnn._ext.runtime import check_disjoint, check_real
from fastnn._validation import (REALS, as_native, as_ndarray, check_bool, check_inout,
                                check_int, run_args)
from fastnn.random import check_offset, seed_key

# Largest pad and max_shift: the kernels draw a position among at most
# 2·limit + 1 from one 32-bit word and do the offset arithmetic in
# ptrdiff_t; far beyond any image or sequence, far from overflowing.
_MAX_OFFSET = 1 << 30
# Smallest scale of random_affine: the sampling step is 1/scale pixels, and
# below this the coordinates of a large image would overflow to inf (NaN
# pixels).
_MIN_SCALE = 1e-200

__all__ = ["random_flip_crop", "random_affine", "random_color_jitter", "random_snr_noise",
           "random_time_shift", "random_element_dropout", "random_neighbor_swap"]


# ------------------------------------------------------------ validation

def _input(name, x, ndims):
    x = as_ndarray(name, x)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of float32 or float64, "
                        f"got {type(x).__name__}")
    if x.dtype.newbyteorder("=") not in REALS:
        raise TypeError(f"{name} has dtype {x.dtype}; fastnn kernels take float32 or float64")
    if x.ndim not in ndims:
        want = (f"at least {ndims.start}" if isinstance(ndims, range)
                else " or ".join(str(d) for d in ndims))
        raise ValueError(f"{name} must have {want} dimensions, got shape {x.shape}")
    return x


def _int(name, value, low=0, high=None):
    return check_int(name, value, low, high)


_bool = check_bool


def _prob(name, p):
    return check_real(name, p, 0.0, True, 1.0, True)


def _out(out, x, shape):
    """The output array: ``out`` checked against (dtype of x, shape), or a new one."""
    if out is None:
        return None
    like = np.broadcast_to(np.zeros((), dtype=x.dtype), shape)
    out = check_inout("out", out, like)
    if x.flags.c_contiguous:
        check_disjoint(("x", "out"), (x, out))
    else:
        # check_disjoint compares [data, data + nbytes), which is not the
        # extent of a strided array: ask numpy (an undecidable case counts as
        # shared)
        try:
            shared = np.shares_memory(x, out, max_work=1 << 16)
        except np.exceptions.TooHardError:
            shared = True
        if shared:
            raise ValueError("x and out share memory; pass distinct arrays")
    return out


def _finish(x, out, shape):
    """Contiguous native x (copying a strided or byte-swapped input) and the
    output (allocated if None)."""
    x = as_native(x)
    return x, (np.empty(shape, dtype=x.dtype) if out is None else out)


def _stream(seed, offset):
    offset = check_offset(offset)
    return seed_key(seed), offset


_run_args = run_args


# ------------------------------------------------- options (no array needed)
# One checker per function, called by the function and by the transform of
# fastnn.augment that wraps it (at construction), so a bad option raises
# where it is given and the checks exist once.

def flip_crop_options(pad: Any = 0, size: Any = None, padding_mode: Any = "constant",
                      p_hflip: Any = 0.5, p_vflip: Any = 0.0
                      ) -> Tuple[int, Optional[Tuple[int, int]], bool, float, float]:
    """Check the options of :func:`random_flip_crop` that need no image.

    Parameters
    ----------
    pad, size, padding_mode, p_hflip, p_vflip
        As in :func:`random_flip_crop`.

    Returns
    -------
    (pad, size, reflect, p_hflip, p_vflip)
        ``size`` as ``(h, w)`` or None; ``reflect`` whether
        ``padding_mode`` is "reflect".

    Raises
    ------
    TypeError, ValueError
        As :func:`random_flip_crop` for these options.
    """
    pad = _int("pad", pad, 0, _MAX_OFFSET)
    if size is not None:
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise TypeError(f"size must be a tuple (h, w), got {size!r}")
        size = (_int("size[0]", size[0], 1), _int("size[1]", size[1], 1))
    if not isinstance(padding_mode, str) or padding_mode not in ("constant", "reflect"):
        raise ValueError(f"padding_mode must be 'constant' or 'reflect', got {padding_mode!r}")
    return (pad, size, padding_mode == "reflect", _prob("p_hflip", p_hflip),
            _prob("p_vflip", p_vflip))


def affine_options(degrees: Any = 0.0, scale: Any = (1.0, 1.0), translate: Any = 0.0
                   ) -> Tuple[float, float, float, float]:
    """Check the options of :func:`random_affine`.

    Parameters
    ----------
    degrees, scale, translate
        As in :func:`random_affine`.

    Returns
    -------
    (degrees, scale_low, scale_high, translate)

    Raises
    ------
    TypeError, ValueError
        As :func:`random_affine` for these options.
    """
    degrees = check_real("degrees", degrees, 0.0, True, 180.0, True)
    if not isinstance(scale, (tuple, list)) or len(scale) != 2:
        raise TypeError(f"scale must be a tuple (low, high), got {scale!r}")
    lo = check_real("scale[0]", scale[0], _MIN_SCALE)
    hi = check_real("scale[1]", scale[1], lo, True)
    translate = check_real("translate", translate, 0.0, True, 1.0, True)
    return degrees, lo, hi, translate


def color_jitter_options(brightness: Any = 0.0, contrast: Any = 0.0) -> Tuple[float, float]:
    """Check the options of :func:`random_color_jitter`.

    Parameters
    ----------
    brightness, contrast
        As in :func:`random_color_jitter`.

    Returns
    -------
    (brightness, contrast)

    Raises
    ------
    TypeError, ValueError
        Outside [0, 1] or not a real number.
    """
    return (check_real("brightness", brightness, 0.0, True, 1.0, True),
            check_real("contrast", contrast, 0.0, True, 1.0, True))


def snr_noise_options(snr_db: Any) -> float:
    """Check ``snr_db`` of :func:`random_snr_noise` (a finite real number).

    Parameters
    ----------
    snr_db
        As in :func:`random_snr_noise`.

    Returns
    -------
    float
    """
    return check_real("snr_db", snr_db)


def time_shift_options(max_shift: Any, wrap: Any = False) -> Tuple[int, bool]:
    """Check the options of :func:`random_time_shift`.

    Parameters
    ----------
    max_shift, wrap
        As in :func:`random_time_shift`.

    Returns
    -------
    (max_shift, wrap)
    """
    return _int("max_shift", max_shift, 0, _MAX_OFFSET), _bool("wrap", wrap)


def element_probability(p: Any) -> float:
    """Check ``p`` of :func:`random_element_dropout` and
    :func:`random_neighbor_swap` (a probability in [0, 1]).

    Parameters
    ----------
    p
        The probability.

    Returns
    -------
    float
    """
    return _prob("p", p)


# ---------------------------------------------------------------- images

def random_flip_crop(x, pad=0, *, size=None, padding_mode="constant", p_hflip=0.5, p_vflip=0.0,
                     seed, offset=0, out=None, n_threads=None):
    """Random crop with padding, then random horizontal / vertical flips.

    Per sample (PyTorch's ``RandomCrop(size, padding=pad)`` followed by
    ``RandomHorizontalFlip(p_hflip)`` and ``RandomVerticalFlip(p_vflip)``,
    fused into one pass): the image is padded by ``pad`` on every side,
    a window of ``size`` is cut at a uniformly random position, and the
    window is flipped with the given probabilities. ``pad > 0`` with the
    input size is a random translation by up to ``pad`` pixels.

    Parameters
    ----------
    x : numpy.ndarray
        Images ``(N, C, H, W)``, float32 or float64.
    pad : int, optional
        Padding on each side, in [0, 2**30].
    size : tuple of int, optional
        Output ``(h, w)``, at most ``(H + 2·pad, W + 2·pad)``; default ``(H, W)``.
    padding_mode : {"constant", "reflect"}, optional
        Zeros, or reflection without repeating the edge (needs
        ``pad < H`` and ``pad < W``).
    p_hflip, p_vflip : float, optional
        Flip probabilities in [0, 1].
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        The stream's key (see :func:`fastnn.random.seed_key`).
    offset : int, optional
        The stream's offset: use a new one for every batch.
    out : numpy.ndarray, optional
        ``(N, C, h, w)``.
    n_threads : int, optional

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    x = _input("x", x, (4,))
    pad, size, reflect, p_hflip, p_vflip = flip_crop_options(pad, size, padding_mode, p_hflip,
                                                             p_vflip)
    N, C, H, W = x.shape
    h, w = (H, W) if size is None else size
    if h > H + 2 * pad or w > W + 2 * pad:
        raise ValueError(f"size {(h, w)} is larger than the padded image "
                         f"{(H + 2 * pad, W + 2 * pad)}")
    if reflect and N * C and (pad >= H or pad >= W):
        raise ValueError(f"reflect padding needs pad < H and pad < W, got pad={pad} for "
                         f"{H}x{W} images")
    key, offset = _stream(seed, offset)
    shape = (N, C, h, w)
    out = _out(out, x, shape)
    x, out = _finish(x, out, shape)
    _k.flip_crop(x, out, N, C, H, W, h, w, pad, reflect, p_hflip, p_vflip, key, offset,
                 *_run_args(n_threads))
    return out


def random_affine(x, degrees=0.0, scale=(1.0, 1.0), translate=0.0, *, seed, offset=0, out=None,
                  n_threads=None):
    """Random rotation, scaling and translation, bilinear, zeros outside.

    Per sample, about the image centre: an angle uniform in
    ``[-degrees, degrees]`` (positive turns the picture counter-clockwise as
    displayed with rows going down), a scale uniform in ``scale`` and a shift
    uniform in ``±translate·(W, H)`` pixels (PyTorch's ``RandomAffine``
    with ``translate=(t, t)``, bilinear, ``fill=0``), applied in one pass.

    Parameters
    ----------
    x : numpy.ndarray
        Images ``(N, C, H, W)``, float32 or float64.
    degrees : float, optional
        Largest rotation in degrees, in [0, 180].
    scale : tuple of float, optional
        ``(low, high)`` with ``1e-200 <= low <= high`` (finite; a smaller
        scale would send the sampling coordinates to infinity).
    translate : float, optional
        Largest shift as a fraction of the image size, in [0, 1].
    seed, offset
        The stream (see :func:`random_flip_crop`).
    out : numpy.ndarray, optional
        ``(N, C, H, W)``.
    n_threads : int, optional

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    x = _input("x", x, (4,))
    degrees, lo, hi, translate = affine_options(degrees, scale, translate)
    key, offset = _stream(seed, offset)
    out = _out(out, x, x.shape)
    x, out = _finish(x, out, x.shape)
    _k.affine(x, out, *x.shape, degrees, lo, hi, translate, key, offset, *_run_args(n_threads))
    return out


def random_color_jitter(x, brightness=0.0, contrast=0.0, *, seed, offset=0, out=None,
                        n_threads=None):
    """Random brightness and contrast of each sample.

    With ``b`` uniform in ``[1 − brightness, 1 + brightness]``, ``k`` uniform
    in ``[1 − contrast, 1 + contrast]`` and ``m`` the mean of the sample
    (all channels): ``y = b·(k·x + (1 − k)·m)`` (PyTorch's ``ColorJitter``
    brightness then contrast, with the sample mean in place of the mean of
    its grayscale version, and no clamping).

    Parameters
    ----------
    x : numpy.ndarray
        A batch ``(N, ...)``, float32 or float64, at least 1-D.
    brightness, contrast : float, optional
        Jitter strengths in [0, 1].
    seed, offset
        The stream (see :func:`random_flip_crop`).
    out : numpy.ndarray, optional
        Same shape as ``x``.
    n_threads : int, optional

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    x = _input("x", x, range(1, 33))
    brightness, contrast = color_jitter_options(brightness, contrast)
    key, offset = _stream(seed, offset)
    out = _out(out, x, x.shape)
    x, out = _finish(x, out, x.shape)
    n = x.shape[0]
    _k.color_jitter(x, out, n, x.size // n if n else 0, brightness, contrast, key, offset,
                    *_run_args(n_threads))
    return out


# ---------------------------------------------------- signals, sequences

def random_snr_noise(x, snr_db, *, seed, offset=0, out=None, n_threads=None):
    """Additive Gaussian noise at a signal-to-noise ratio, per sample.

    ``y_n = x_n + σ_n·z`` with ``σ_n = √(mean(x_n²)·10^(−snr_db/10))`` and
    ``z`` the standard normals of :func:`fastnn.random.normal_`'s stream for
    the flattened array (computed in double precision).

    Parameters
    ----------
    x : numpy.ndarray
        A batch ``(N, ...)`` of signals, float32 or float64.
    snr_db : float
        Signal-to-noise ratio in decibels (any finite value).
    seed, offset
        The stream (see :func:`random_flip_crop`).
    out : numpy.ndarray, optional
    n_threads : int, optional

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    x = _input("x", x, range(1, 33))
    snr_db = snr_noise_options(snr_db)
    key, offset = _stream(seed, offset)
    out = _out(out, x, x.shape)
    x, out = _finish(x, out, x.shape)
    n = x.shape[0]
    _k.snr_noise(x, out, n, x.size // n if n else 0, snr_db, key, offset, *_run_args(n_threads))
    return out


def _seq_dims(x):
    N, L = x.shape[:2]
    return N, L, (x.shape[2] if x.ndim == 3 else 1)


def random_time_shift(x, max_shift, *, wrap=False, seed, offset=0, out=None, n_threads=None):
    """Shift each sequence by a random whole number of steps.

    ``s`` uniform in ``[-max_shift, max_shift]`` per sample and
    ``y[n, l] = x[n, l − s]``: zeros shift in, or the sequence turns
    cyclically (``numpy.roll``) when ``wrap``.

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, L)`` or ``(N, L, F)``, float32 or float64.
    max_shift : int
        Largest shift in steps, in [0, 2**30].
    wrap : bool, optional
    seed, offset
        The stream (see :func:`random_flip_crop`).
    out : numpy.ndarray, optional
    n_threads : int, optional

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    x = _input("x", x, (2, 3))
    max_shift, wrap = time_shift_options(max_shift, wrap)
    key, offset = _stream(seed, offset)
    out = _out(out, x, x.shape)
    x, out = _finish(x, out, x.shape)
    _k.time_shift(x, out, *_seq_dims(x), max_shift, wrap, key, offset, *_run_args(n_threads))
    return out


def random_element_dropout(x, p, *, seed, offset=0, out=None, n_threads=None):
    """Skip random elements of each sequence: ``y[n, l] = 0`` with probability
    ``p`` (all ``F`` features together), else ``x[n, l]``; no rescaling.

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, L)`` or ``(N, L, F)``, float32 or float64.
    p : float
        Probability in [0, 1].
    seed, offset
        The stream (see :func:`random_flip_crop`).
    out : numpy.ndarray, optional
    n_threads : int, optional

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    x = _input("x", x, (2, 3))
    p = element_probability(p)
    key, offset = _stream(seed, offset)
    out = _out(out, x, x.shape)
    x, out = _finish(x, out, x.shape)
    _k.element_dropout(x, out, *_seq_dims(x), p, key, offset, *_run_args(n_threads))
    return out


def random_neighbor_swap(x, p, *, seed, offset=0, out=None, n_threads=None):
    """Swap random neighbouring elements of each sequence.

    Scanning ``l = 0, 1, ..., L − 2``, elements ``l`` and ``l + 1`` change
    places with probability ``p``; a swapped pair is not swapped again
    (the scan resumes at ``l + 2``).

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, L)`` or ``(N, L, F)``, float32 or float64.
    p : float
        Probability in [0, 1].
    seed, offset
        The stream (see :func:`random_flip_crop`).
    out : numpy.ndarray, optional
    n_threads : int, optional

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    x = _input("x", x, (2, 3))
    p = element_probability(p)
    key, offset = _stream(seed, offset)
    out = _out(out, x, x.shape)
    x, out = _finish(x, out, x.shape)
    _k.neighbor_swap(x, out, *_seq_dims(x), p, key, offset, *_run_args(n_threads))
    return out
