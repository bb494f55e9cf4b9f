"""Composable data augmentation: per-batch transforms and pipelines.

A transform is a callable on a batch, ``transform(x) -> augmented copy``,
usable as the per-batch transform of a training loop. Its options are
checked when it is built (by the checks of the function it wraps), so a bad
one raises there rather than at the first batch. Each one draws from
the Philox stream ``(seed, offset)`` of :mod:`fastnn.random`; a
:class:`Compose` pipeline owns the seed and a step counter, and gives
transform ``k`` of step ``t`` the offset ``t·2**8 + k``, so every batch and
every transform gets independent numbers, and the same seed and step give
the same batch for any thread count.

Example
-------
>>> aug = Compose([RandomFlipCrop(pad=4), GaussianNoise(0.05)], seed=0)
>>> xb = aug(xb)                    # a new batch every call (step += 1)
>>> xb = aug(xb, step=12)           # or an explicit step: reproducible
"""
import numbers
from typing import Optional, Tuple

import numpy as np

from fastnn.functional import augment as _A
from fastnn.functional.dropout import gaussian_noise as _gaussian_noise
from fastnn.functional.dropout import noise_std as _noise_std
from fastnn.random import check_offset, seed_key

__all__ = ["Transform", "Compose", "RandomFlipCrop", "RandomAffine", "ColorJitter",
           "GaussianNoise", "SNRNoise", "TimeShift", "ElementDropout", "NeighborSwap"]

_SLOTS = 1 << 8  # transforms per pipeline step


class Transform:
    """Base class: ``apply(x, seed, offset, n_threads)`` returns a new array.

    Called directly (``t(x, seed=..., offset=...)``) a transform needs its
    stream; inside :class:`Compose` the pipeline supplies it.
    """

    def apply(self, x, seed, offset, n_threads=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x, *, seed, offset=0, n_threads=None):
        return self.apply(x, seed_key(seed), check_offset(offset), n_threads)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class RandomFlipCrop(Transform):
    """Padded random crop and random flips of images (N, C, H, W); see
    :func:`fastnn.functional.random_flip_crop`."""

    def __init__(self, pad: int = 0, size: Optional[Tuple[int, int]] = None,
                 padding_mode: str = "constant", p_hflip: float = 0.5,
                 p_vflip: float = 0.0) -> None:
        _A.flip_crop_options(pad, size, padding_mode, p_hflip, p_vflip)
        self.pad, self.size, self.padding_mode = pad, size, padding_mode
        self.p_hflip, self.p_vflip = p_hflip, p_vflip

    def apply(self, x, seed, offset, n_threads=None):
        return _A.random_flip_crop(x, self.pad, size=self.size, padding_mode=self.padding_mode,
                                   p_hflip=self.p_hflip, p_vflip=self.p_vflip, seed=seed,
                                   offset=offset, n_threads=n_threads)


class RandomAffine(Transform):
    """Random rotation, scaling and shift of images (bilinear); see
    :func:`fastnn.functional.random_affine`."""

    def __init__(self, degrees: float = 0.0, scale: Tuple[float, float] = (1.0, 1.0),
                 translate: float = 0.0) -> None:
        _A.affine_options(degrees, scale, translate)
        self.degrees, self.scale, self.translate = degrees, scale, translate

    def apply(self, x, seed, offset, n_threads=None):
        return _A.random_affine(x, self.degrees, self.scale, self.translate, seed=seed,
                                offset=offset, n_threads=n_threads)


class ColorJitter(Transform):
    """Random brightness and contrast per sample; see
    :func:`fastnn.functional.random_color_jitter`."""

    def __init__(self, brightness: float = 0.0, contrast: float = 0.0) -> None:
        _A.color_jitter_options(brightness, contrast)
        self.brightness, self.contrast = brightness, contrast

    def apply(self, x, seed, offset, n_threads=None):
        return _A.random_color_jitter(x, self.brightness, self.contrast, seed=seed,
                                      offset=offset, n_threads=n_threads)


class GaussianNoise(Transform):
    """Additive Gaussian noise of standard deviation ``std``; see
    :func:`fastnn.functional.gaussian_noise`."""

    def __init__(self, std: float) -> None:
        _noise_std(std)
        self.std = std

    def apply(self, x, seed, offset, n_threads=None):
        return _gaussian_noise(x, self.std, seed=seed, offset=offset, n_threads=n_threads)


class SNRNoise(Transform):
    """Additive Gaussian noise at ``snr_db`` decibels per sample; see
    :func:`fastnn.functional.random_snr_noise`."""

    def __init__(self, snr_db: float) -> None:
        _A.snr_noise_options(snr_db)
        self.snr_db = snr_db

    def apply(self, x, seed, offset, n_threads=None):
        return _A.random_snr_noise(x, self.snr_db, seed=seed, offset=offset,
                                   n_threads=n_threads)


class TimeShift(Transform):
    """Random shift of sequences (N, L[, F]); see
    :func:`fastnn.functional.random_time_shift`."""

    def __init__(self, max_shift: int, wrap: bool = False) -> None:
        _A.time_shift_options(max_shift, wrap)
        self.max_shift, self.wrap = max_shift, wrap

    def apply(self, x, seed, offset, n_threads=None):
        return _A.random_time_shift(x, self.max_shift, wrap=self.wrap, seed=seed, offset=offset,
                                    n_threads=n_threads)


class ElementDropout(Transform):
    """Random elements of sequences set to zero; see
    :func:`fastnn.functional.random_element_dropout`."""

    def __init__(self, p: float) -> None:
        _A.element_probability(p)
        self.p = p

    def apply(self, x, seed, offset, n_threads=None):
        return _A.random_element_dropout(x, self.p, seed=seed, offset=offset,
                                         n_threads=n_threads)


class NeighborSwap(Transform):
    """Random swaps of neighbouring sequence elements; see
    :func:`fastnn.functional.random_neighbor_swap`."""

    def __init__(self, p: float) -> None:
        _A.element_probability(p)
        self.p = p

    def apply(self, x, seed, offset, n_threads=None):
        return _A.random_neighbor_swap(x, self.p, seed=seed, offset=offset,
                                       n_threads=n_threads)


class Compose(Transform):
    """A pipeline of transforms applied in order, with its own stream.

    Parameters
    ----------
    transforms : sequence of Transform
        At most 256 (each uses one offset slot per step).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        The key of every transform's stream (a Generator is drawn once).
    step : int, optional
        The first step; each call without ``step=`` uses the current step
        and advances it.

    Notes
    -----
    Transform ``k`` of step ``t`` uses offset ``t·256 + k``. Called on a
    pair ``(x, y)`` (as a training loop's per-batch transform) it returns
    ``(augmented x, y)``. :func:`fastnn.training.fit` passes the step of
    each batch, ``step + epoch·n_batches + batch``, and leaves ``step`` as
    given, so a run resumed at ``initial_epoch`` with a pipeline built as
    before augments as the uninterrupted run did.
    """

    def __init__(self, transforms, *, seed, step=0):
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not isinstance(t, Transform):
                raise TypeError(f"transforms[{i}] must be a fastnn.augment.Transform, "
                                f"got {type(t).__name__}")
        if len(transforms) > _SLOTS:
            raise ValueError(f"a pipeline holds at most {_SLOTS} transforms")
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"step must be an int >= 0, got {step!r}")
        self.transforms = transforms
        self.seed = seed_key(seed)
        self.step = int(step)

    def apply(self, x, seed, offset, n_threads=None):
        for k, t in enumerate(self.transforms):
            x = t.apply(x, seed, check_offset((offset * _SLOTS + k) % (1 << 64)), n_threads)
        return x

    def __call__(self, x, y=None, *, step=None, n_threads=None):
        """Augment a batch (and pass its targets ``y`` through when given)."""
        if step is None:
            step = self.step
            self.step += 1
        elif isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"step must be an int >= 0, got {step!r}")
        out = x if not self.transforms else self.apply(x, self.seed, int(step), n_threads)
        if out is x and isinstance(x, np.ndarray):
            out = x.copy()
        return out if y is None else (out, y)

    def __len__(self):
        return len(self.transforms)

    def __repr__(self):
        inner = ",\n    ".join(repr(t) for t in self.transforms)
        return f"Compose([\n    {inner}\n], seed={self.seed}, step={self.step})"
