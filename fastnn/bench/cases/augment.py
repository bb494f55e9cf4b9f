"""Augmentation-family benchmarks against plain-NumPy code.

The NumPy baselines are written the way NumPy code does augmentation today:
a loop over samples with ``np.pad``, a random crop and a random flip drawn
from ``numpy.random.Generator`` plus ``rng.standard_normal`` noise
(:func:`fastnn.reference.flip_crop_numpy`); the affine, jitter and sequence
baselines are the references of :mod:`fastnn.reference.augment`.
"""
import numpy as np

from fastnn import functional as F
from fastnn import reference as R
from fastnn.bench.harness import Case, Target

PAD = 4
STD = 0.1


def _target(x):
    return [Target(f">={x}x NumPy", lambda r, x=x: r["speedup"] >= x)]


def _check_flip_crop_noise(dtype):
    x = np.random.default_rng(1).standard_normal((9, 3, 32, 32)).astype(dtype)
    y = F.random_flip_crop(x, PAD, seed=3, offset=1)
    np.testing.assert_array_equal(y, R.flip_crop_ref(x, PAD, seed=3, offset=1))
    z = F.gaussian_noise(y, STD, seed=3, offset=2)
    np.testing.assert_allclose(z, R.gaussian_noise_ref(y, STD, seed=3, offset=2),
                               rtol=1e-5, atol=1e-5)


def _check_affine(dtype):
    x = np.random.default_rng(1).standard_normal((5, 3, 32, 32)).astype(dtype)
    np.testing.assert_allclose(F.random_affine(x, 20.0, (0.9, 1.1), 0.1, seed=2),
                               R.affine_ref(x, 20.0, (0.9, 1.1), 0.1, seed=2),
                               rtol=1e-5, atol=1e-6)


def _check_jitter(dtype):
    x = np.random.default_rng(1).random((5, 3, 32, 32)).astype(dtype)
    np.testing.assert_allclose(F.random_color_jitter(x, 0.3, 0.3, seed=2),
                               R.color_jitter_ref(x, 0.3, 0.3, seed=2), rtol=1e-5, atol=1e-6)


def _check_sequences(dtype):
    x = np.random.default_rng(1).standard_normal((7, 301, 2)).astype(dtype)
    kw = dict(seed=5, offset=1)
    np.testing.assert_array_equal(F.random_time_shift(x, 20, **kw),
                                  R.time_shift_ref(x, 20, **kw))
    np.testing.assert_array_equal(F.random_element_dropout(x, 0.1, **kw),
                                  R.element_dropout_ref(x, 0.1, **kw))
    np.testing.assert_array_equal(F.random_neighbor_swap(x, 0.1, **kw),
                                  R.neighbor_swap_ref(x, 0.1, **kw))
    np.testing.assert_allclose(F.random_snr_noise(x, 10.0, **kw), R.snr_noise_ref(x, 10.0, **kw),
                               rtol=1e-5, atol=1e-5)


def _image_cases(n, dtype):
    rng = np.random.default_rng(0)
    shape = (n, 3, 32, 32)
    x = rng.standard_normal(shape).astype(dtype)
    buf = np.empty_like(x)
    out = np.empty_like(x)
    item = np.dtype(dtype).itemsize
    name = np.dtype(dtype).name
    size = "x".join(map(str, shape))

    def fast_pipeline():
        F.random_flip_crop(x, PAD, seed=7, offset=0, out=buf)
        return F.gaussian_noise(buf, STD, seed=7, offset=1, out=out)

    def numpy_pipeline():
        y = R.flip_crop_numpy(x, PAD, rng)
        return y + (STD * rng.standard_normal(shape)).astype(dtype)

    return [
        Case(kernel="flip + padded crop + noise", size=size, dtype=name, fastnn=fast_pipeline,
             numpy=numpy_pipeline, check=lambda: _check_flip_crop_noise(dtype),
             bytes_moved=4 * item * x.size, targets=_target(10)),
        Case(kernel="flip + padded crop", size=size, dtype=name,
             fastnn=lambda: F.random_flip_crop(x, PAD, seed=7, offset=0, out=buf),
             numpy=lambda: R.flip_crop_numpy(x, PAD, rng),
             check=lambda: _check_flip_crop_noise(dtype), bytes_moved=2 * item * x.size),
        Case(kernel="rotate + scale + shift (bilinear)", size=size, dtype=name,
             fastnn=lambda: F.random_affine(x, 15.0, (0.9, 1.1), 0.1, seed=7, out=buf),
             numpy=lambda: R.affine_ref(x, 15.0, (0.9, 1.1), 0.1, seed=7),
             check=lambda: _check_affine(dtype)),
        Case(kernel="brightness/contrast jitter", size=size, dtype=name,
             fastnn=lambda: F.random_color_jitter(x, 0.3, 0.3, seed=7, out=buf),
             numpy=lambda: R.color_jitter_ref(x, 0.3, 0.3, seed=7),
             check=lambda: _check_jitter(dtype), bytes_moved=3 * item * x.size),
    ]


def _sequence_cases(n, length, dtype):
    rng = np.random.default_rng(0)
    shape = (n, length)
    x = rng.standard_normal(shape).astype(dtype)
    buf = np.empty_like(x)
    item = np.dtype(dtype).itemsize
    name = np.dtype(dtype).name
    size = "x".join(map(str, shape))
    check = lambda: _check_sequences(dtype)  # noqa: E731
    return [
        Case(kernel="noise at SNR", size=size, dtype=name,
             fastnn=lambda: F.random_snr_noise(x, 10.0, seed=7, out=buf),
             numpy=lambda: R.snr_noise_ref(x, 10.0, seed=7), check=check),
        Case(kernel="time shift", size=size, dtype=name,
             fastnn=lambda: F.random_time_shift(x, 100, seed=7, out=buf),
             numpy=lambda: R.time_shift_ref(x, 100, wrap=True, seed=7), check=check,
             bytes_moved=2 * item * x.size),
        Case(kernel="element dropout", size=size, dtype=name,
             fastnn=lambda: F.random_element_dropout(x, 0.1, seed=7, out=buf),
             numpy=lambda: R.element_dropout_ref(x, 0.1, seed=7), check=check,
             bytes_moved=2 * item * x.size),
        Case(kernel="neighbour swap", size=size, dtype=name,
             fastnn=lambda: F.random_neighbor_swap(x, 0.1, seed=7, out=buf),
             numpy=lambda: R.neighbor_swap_ref(x, 0.1, seed=7), check=check,
             bytes_moved=2 * item * x.size),
    ]


def cases(full, with_torch):
    """The augmentation cases; torch has no batched per-sample equivalents
    (torchvision's transforms work one image at a time), so no torch column."""
    dtypes = (np.float32, np.float64) if full else (np.float32,)
    out = []
    for dtype in dtypes:
        out += _image_cases(256, dtype)
        if full:
            out += _image_cases(1024, dtype)
        out += _sequence_cases(32, 2000, dtype)
    return out
