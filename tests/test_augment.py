"""Tests of the augmentation kernels (fastnn.functional.augment) and the
transform pipeline (fastnn.augment)."""
import numpy as np
import pytest
from conftest import assert_close

import fastnn
from fastnn import augment as AUG
from fastnn import functional as F
from fastnn import reference as R

# (N, C, H, W, pad, size)
IMAGE_CASES = [
    (0, 3, 8, 8, 2, None),
    (1, 1, 1, 1, 0, None),
    (3, 2, 15, 15, 3, None),
    (2, 3, 16, 16, 4, (12, 16)),
    (5, 1, 17, 17, 4, (20, 19)),
    (7, 3, 9, 13, 5, None),
    (33, 3, 32, 32, 4, None),
]
SEQ_LENGTHS = [1, 2, 15, 16, 17, 1001]


def _images(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


# ------------------------------------------------------------ flip + crop

@pytest.mark.parametrize("case", IMAGE_CASES)
@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_flip_crop_matches_reference(case, mode, dtype, simd_level, rng):
    N, C, H, W, pad, size = case
    if mode == "reflect":
        pad = min(pad, H - 1, W - 1)
        if size is not None:
            size = (min(size[0], H + 2 * pad), min(size[1], W + 2 * pad))
    x = _images(rng, (N, C, H, W), dtype)
    kw = dict(size=size, padding_mode=mode, p_hflip=0.5, p_vflip=0.3, seed=11, offset=5)
    y = F.random_flip_crop(x, pad, **kw)
    np.testing.assert_array_equal(y, R.flip_crop_ref(x, pad, **kw))
    assert y.dtype == x.dtype


def test_flip_crop_extremes(dtype, rng):
    x = _images(rng, (6, 2, 5, 7), dtype)
    np.testing.assert_array_equal(F.random_flip_crop(x, 0, p_hflip=0.0, seed=1), x)
    np.testing.assert_array_equal(F.random_flip_crop(x, 0, p_hflip=1.0, seed=1), x[..., ::-1])
    np.testing.assert_array_equal(F.random_flip_crop(x, 0, p_hflip=0.0, p_vflip=1.0, seed=1),
                                  x[:, :, ::-1])
    # a zero-padded crop is a shift: every sample keeps a shifted copy of itself
    y = F.random_flip_crop(x, 3, p_hflip=0.0, seed=2)
    u = R.sample_uniforms_ref(6, seed=2)
    for n in range(6):
        dy = int(np.floor(u[n, 2] * 7)) - 3
        dx = int(np.floor(u[n, 3] * 7)) - 3
        shifted = np.zeros_like(x[n])
        src = x[n][:, max(dy, 0):5 + min(dy, 0), max(dx, 0):7 + min(dx, 0)]
        top, left = max(-dy, 0), max(-dx, 0)
        shifted[:, top:top + src.shape[1], left:left + src.shape[2]] = src
        np.testing.assert_array_equal(y[n], shifted)


def test_flip_crop_strided_input_and_out(dtype, rng):
    big = _images(rng, (4, 3, 10, 20), dtype)
    x = big[:, :, :, ::2]
    out = np.empty((4, 3, 10, 10), dtype)
    r = F.random_flip_crop(x, 2, seed=3, offset=1, out=out)
    assert r is out
    np.testing.assert_array_equal(out, R.flip_crop_ref(np.ascontiguousarray(x), 2, seed=3,
                                                       offset=1))


def test_flip_crop_seeds_and_offsets_differ(rng):
    x = _images(rng, (64, 1, 8, 8), np.float32)
    a = F.random_flip_crop(x, 2, seed=1, offset=0)
    assert not np.array_equal(a, F.random_flip_crop(x, 2, seed=1, offset=1))
    assert not np.array_equal(a, F.random_flip_crop(x, 2, seed=2, offset=0))
    np.testing.assert_array_equal(a, F.random_flip_crop(x, 2, seed=1, offset=0))


# ----------------------------------------------------------------- affine

@pytest.mark.parametrize("shape", [(0, 1, 4, 4), (1, 1, 1, 1), (2, 3, 15, 17), (3, 2, 16, 16),
                                   (9, 3, 32, 32)])
def test_affine_matches_reference(shape, dtype, simd_level, rng):
    x = _images(rng, shape, dtype)
    kw = dict(seed=4, offset=9)
    y = F.random_affine(x, 25.0, (0.8, 1.25), 0.1, **kw)
    assert_close(y, R.affine_ref(x, 25.0, (0.8, 1.25), 0.1, **kw), dtype)


def test_affine_identity_is_exact(dtype, rng):
    x = _images(rng, (3, 2, 11, 16), dtype)
    np.testing.assert_array_equal(F.random_affine(x, 0.0, (1.0, 1.0), 0.0, seed=1), x)


def test_affine_scale_two_is_a_zoom_with_zero_border(rng):
    # scale 2 about the centre of an odd image: output (y, x) reads input
    # (c + (y − c)/2, c + (x − c)/2); the centre pixel is unchanged
    x = _images(rng, (2, 1, 9, 9), np.float64)
    y = F.random_affine(x, 0.0, (2.0, 2.0), 0.0, seed=1)
    np.testing.assert_array_equal(y[:, :, 4, 4], x[:, :, 4, 4])
    assert_close(y[:, :, 4, 6], x[:, :, 4, 5])
    # shrinking leaves a zero border
    z = F.random_affine(x, 0.0, (0.5, 0.5), 0.0, seed=1)
    assert np.all(z[:, :, 0, :] == 0) and np.all(z[:, :, :, -1] == 0)


# ----------------------------------------------------------- color jitter

@pytest.mark.parametrize("shape", [(0, 5), (1, 1), (4, 15), (4, 16), (4, 17), (3, 3, 9, 11),
                                   (64, 3, 32, 32)])
def test_color_jitter_matches_reference(shape, dtype, simd_level, rng):
    x = rng.random(shape).astype(dtype)
    y = F.random_color_jitter(x, 0.4, 0.5, seed=8, offset=2)
    assert_close(y, R.color_jitter_ref(x, 0.4, 0.5, seed=8, offset=2), dtype)


def test_color_jitter_zero_strength_is_identity(dtype, rng):
    x = rng.random((5, 2, 3, 3)).astype(dtype)
    np.testing.assert_array_equal(F.random_color_jitter(x, 0.0, 0.0, seed=1), x)


# -------------------------------------------------------------- SNR noise

@pytest.mark.parametrize("shape", [(0, 4), (1, 1), (3, 15), (3, 16), (3, 17), (2, 101, 3),
                                   (8, 5000)])
def test_snr_noise_matches_reference(shape, dtype, simd_level, rng):
    x = rng.standard_normal(shape).astype(dtype)
    y = F.random_snr_noise(x, 12.0, seed=5, offset=7)
    assert_close(y, R.snr_noise_ref(x, 12.0, seed=5, offset=7), dtype)


def test_snr_noise_reaches_the_ratio(rng):
    t = np.linspace(0, 40 * np.pi, 200_000)
    x = np.stack([np.sin(t), 3 * np.cos(2 * t)])
    y = F.random_snr_noise(x, 6.0, seed=1)
    snr = 10 * np.log10((x**2).mean(axis=1) / ((y - x)**2).mean(axis=1))
    np.testing.assert_allclose(snr, 6.0, atol=0.05)


# -------------------------------------------------------------- sequences

@pytest.mark.parametrize("L", SEQ_LENGTHS)
@pytest.mark.parametrize("feat", [None, 3])
def test_sequence_kernels_match_reference(L, feat, dtype, simd_level, rng):
    shape = (5, L) if feat is None else (5, L, feat)
    x = rng.standard_normal(shape).astype(dtype)
    kw = dict(seed=21, offset=3)
    for wrap in (False, True):
        for m in (0, 4, 2 * L + 3):
            np.testing.assert_array_equal(F.random_time_shift(x, m, wrap=wrap, **kw),
                                          R.time_shift_ref(x, m, wrap=wrap, **kw))
    for p in (0.0, 0.3, 1.0):
        np.testing.assert_array_equal(F.random_element_dropout(x, p, **kw),
                                      R.element_dropout_ref(x, p, **kw))
        np.testing.assert_array_equal(F.random_neighbor_swap(x, p, **kw),
                                      R.neighbor_swap_ref(x, p, **kw))


def test_sequence_kernel_semantics(rng):
    x = np.arange(2 * 6, dtype=np.float64).reshape(2, 6)
    np.testing.assert_array_equal(F.random_neighbor_swap(x, 1.0, seed=1),
                                  x[:, [1, 0, 3, 2, 5, 4]])
    np.testing.assert_array_equal(F.random_neighbor_swap(x, 0.0, seed=1), x)
    np.testing.assert_array_equal(F.random_element_dropout(x, 1.0, seed=1), 0 * x)
    np.testing.assert_array_equal(F.random_time_shift(x, 0, seed=1), x)
    y = F.random_time_shift(x, 3, wrap=True, seed=4)
    for n in range(2):  # a cyclic shift keeps every element
        np.testing.assert_array_equal(np.sort(y[n]), x[n])


# ----------------------------------------------------- threads, SIMD levels

def _all_kernels(x_img, x_seq):
    kw = dict(seed=99, offset=1)
    return [
        F.random_flip_crop(x_img, 4, p_vflip=0.5, **kw),
        F.random_flip_crop(x_img, 4, padding_mode="reflect", size=(30, 34), **kw),
        F.random_affine(x_img, 30.0, (0.7, 1.3), 0.2, **kw),
        F.random_color_jitter(x_img, 0.5, 0.5, **kw),
        F.random_snr_noise(x_seq, 3.0, **kw),
        F.random_time_shift(x_seq, 50, **kw),
        F.random_time_shift(x_seq, 50, wrap=True, **kw),
        F.random_element_dropout(x_seq, 0.2, **kw),
        F.random_neighbor_swap(x_seq, 0.2, **kw),
    ]


def test_one_and_two_threads_bitwise(dtype, rng):
    x_img = _images(rng, (67, 3, 32, 32), dtype)
    x_seq = rng.standard_normal((37, 3001, 2)).astype(dtype)
    with fastnn.threads(1):
        one = _all_kernels(x_img, x_seq)
    with fastnn.threads(2):
        two = _all_kernels(x_img, x_seq)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_simd_levels_bitwise(dtype, rng):
    x_img = _images(rng, (5, 3, 27, 31), dtype)
    x_seq = rng.standard_normal((4, 301)).astype(dtype)
    previous = fastnn.get_simd_level()
    results = []
    try:
        for level in fastnn.available_simd_levels():
            fastnn.set_simd_level(level)
            results.append(_all_kernels(x_img, x_seq))
    finally:
        fastnn.set_simd_level(previous)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


# -------------------------------------------------------------- bad input

def _img(dtype=np.float32):
    return np.ones((2, 3, 8, 8), dtype)


BAD = [
    (TypeError, "x", lambda x, o: F.random_flip_crop([[1.0]], 1, seed=1)),
    (TypeError, "dtype", lambda x, o: F.random_flip_crop(x.astype(np.int32), 1, seed=1)),
    (ValueError, "dimensions", lambda x, o: F.random_flip_crop(x[0], 1, seed=1, out=o)),
    (TypeError, "pad", lambda x, o: F.random_flip_crop(x, 1.5, seed=1, out=o)),
    (ValueError, "pad", lambda x, o: F.random_flip_crop(x, -1, seed=1, out=o)),
    (ValueError, "size", lambda x, o: F.random_flip_crop(x, 1, size=(11, 8), seed=1, out=o)),
    (TypeError, "size", lambda x, o: F.random_flip_crop(x, 1, size=8, seed=1, out=o)),
    (ValueError, "padding_mode", lambda x, o: F.random_flip_crop(x, 1, padding_mode="wrap",
                                                                 seed=1, out=o)),
    (ValueError, "reflect", lambda x, o: F.random_flip_crop(x, 8, padding_mode="reflect",
                                                            seed=1, out=o)),
    (ValueError, "p_hflip", lambda x, o: F.random_flip_crop(x, 1, p_hflip=1.5, seed=1, out=o)),
    (ValueError, "p_vflip", lambda x, o: F.random_flip_crop(x, 1, p_vflip=np.nan, seed=1,
                                                            out=o)),
    (TypeError, "seed", lambda x, o: F.random_flip_crop(x, 1, seed=None, out=o)),
    (ValueError, "offset", lambda x, o: F.random_flip_crop(x, 1, seed=1, offset=-1, out=o)),
    (TypeError, "out", lambda x, o: F.random_flip_crop(x, 1, seed=1, out=o.astype(np.float64))),
    (ValueError, "out", lambda x, o: F.random_flip_crop(x, 1, seed=1, out=o[:1])),
    (ValueError, "out", lambda x, o: F.random_flip_crop(x, 1, seed=1, out=x)),
    (ValueError, "read-only", lambda x, o: F.random_flip_crop(x, 1, seed=1,
                                                              out=_readonly(o))),
    (ValueError, "degrees", lambda x, o: F.random_affine(x, -1.0, seed=1, out=o)),
    (ValueError, "scale", lambda x, o: F.random_affine(x, 1.0, (0.0, 1.0), seed=1, out=o)),
    (ValueError, "scale", lambda x, o: F.random_affine(x, 1.0, (1.2, 1.0), seed=1, out=o)),
    (TypeError, "scale", lambda x, o: F.random_affine(x, 1.0, 1.0, seed=1, out=o)),
    (ValueError, "translate", lambda x, o: F.random_affine(x, 1.0, translate=2.0, seed=1,
                                                           out=o)),
    (ValueError, "brightness", lambda x, o: F.random_color_jitter(x, 1.5, seed=1, out=o)),
    (ValueError, "contrast", lambda x, o: F.random_color_jitter(x, 0.1, -0.1, seed=1, out=o)),
    (ValueError, "snr_db", lambda x, o: F.random_snr_noise(x, np.inf, seed=1, out=o)),
    (TypeError, "snr_db", lambda x, o: F.random_snr_noise(x, "10", seed=1, out=o)),
    (ValueError, "dimensions", lambda x, o: F.random_time_shift(x, 1, seed=1, out=o)),
    (TypeError, "max_shift", lambda x, o: F.random_time_shift(x[0, 0], 1.0, seed=1,
                                                              out=o[0, 0])),
    (TypeError, "wrap", lambda x, o: F.random_time_shift(x[0, 0], 1, wrap=1, seed=1,
                                                         out=o[0, 0])),
    (ValueError, "p", lambda x, o: F.random_element_dropout(x[0, 0], 2.0, seed=1,
                                                            out=o[0, 0])),
    (ValueError, "p", lambda x, o: F.random_neighbor_swap(x[0, 0], -0.1, seed=1, out=o[0, 0])),
    (ValueError, "out", lambda x, o: F.random_neighbor_swap(x[0, 0], 0.1, seed=1,
                                                            out=o[0, 0, :4])),
]


def _readonly(a):
    a = a.view()
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("error,match,call", BAD)
def test_bad_input_raises_and_leaves_arrays_untouched(error, match, call):
    x = _img()
    out = np.full_like(x, 7.0)
    with pytest.raises(error, match=match):
        call(x, out)
    np.testing.assert_array_equal(x, 1.0)
    np.testing.assert_array_equal(out, 7.0)


# --------------------------------------------------------------- pipeline

def test_pipeline_matches_the_functions_in_order(dtype, rng):
    x = _images(rng, (6, 3, 12, 12), dtype)
    aug = AUG.Compose([AUG.RandomFlipCrop(pad=2), AUG.RandomAffine(10.0, (0.9, 1.1)),
                       AUG.ColorJitter(0.2, 0.3), AUG.GaussianNoise(0.1)], seed=17, step=4)
    y = aug(x)
    assert aug.step == 5
    key, base = 17, 4 * 256
    e = F.random_flip_crop(x, 2, seed=key, offset=base)
    e = F.random_affine(e, 10.0, (0.9, 1.1), seed=key, offset=base + 1)
    e = F.random_color_jitter(e, 0.2, 0.3, seed=key, offset=base + 2)
    e = F.gaussian_noise(e, 0.1, seed=key, offset=base + 3)
    np.testing.assert_array_equal(y, e)
    np.testing.assert_array_equal(aug(x, step=4), y)
    assert aug.step == 5
    assert not np.array_equal(aug(x), y)


def test_pipeline_sequences_and_targets(rng):
    x = rng.standard_normal((8, 50, 2))
    t = np.arange(8)
    aug = AUG.Compose([AUG.TimeShift(5), AUG.ElementDropout(0.1), AUG.NeighborSwap(0.1),
                       AUG.SNRNoise(20.0)], seed=3)
    xa, ta = aug(x, t)
    assert ta is t and xa.shape == x.shape and not np.shares_memory(xa, x)
    with fastnn.threads(1):
        one = aug(x, step=9)
    with fastnn.threads(2):
        two = aug(x, step=9)
    np.testing.assert_array_equal(one, two)


def test_pipeline_empty_copies_and_rejects_bad_transforms(rng):
    x = rng.standard_normal((2, 3))
    y = AUG.Compose([], seed=1)(x)
    np.testing.assert_array_equal(y, x)
    assert y is not x
    with pytest.raises(TypeError, match="transforms"):
        AUG.Compose([lambda a: a], seed=1)
    with pytest.raises(ValueError, match="step"):
        AUG.Compose([], seed=1, step=-1)


# Every option of every transform, bad: each raised only at the first batch
# (inside fit), now where the transform is built, with the function's message.
BAD_OPTIONS = [
    (ValueError, "pad", lambda: AUG.RandomFlipCrop(pad=-1)),
    (TypeError, "pad", lambda: AUG.RandomFlipCrop(pad=1.5)),
    (TypeError, "size", lambda: AUG.RandomFlipCrop(size=8)),
    (ValueError, r"size\[1\]", lambda: AUG.RandomFlipCrop(size=(8, 0))),
    (ValueError, "padding_mode", lambda: AUG.RandomFlipCrop(padding_mode="wrap")),
    (ValueError, "p_hflip", lambda: AUG.RandomFlipCrop(p_hflip=1.5)),
    (ValueError, "p_vflip", lambda: AUG.RandomFlipCrop(p_vflip=-0.5)),
    (ValueError, "degrees", lambda: AUG.RandomAffine(degrees=200.0)),
    (TypeError, "scale", lambda: AUG.RandomAffine(scale=1.0)),
    (ValueError, "scale", lambda: AUG.RandomAffine(scale=(1.2, 1.0))),
    (ValueError, "translate", lambda: AUG.RandomAffine(translate=-0.1)),
    (ValueError, "brightness", lambda: AUG.ColorJitter(brightness=2.0)),
    (ValueError, "contrast", lambda: AUG.ColorJitter(contrast=-1.0)),
    (ValueError, "std", lambda: AUG.GaussianNoise(-0.1)),
    (TypeError, "std", lambda: AUG.GaussianNoise("0.1")),
    (ValueError, "snr_db", lambda: AUG.SNRNoise(np.nan)),
    (ValueError, "max_shift", lambda: AUG.TimeShift(-2)),
    (TypeError, "wrap", lambda: AUG.TimeShift(2, wrap="yes")),
    (ValueError, "p", lambda: AUG.ElementDropout(1.5)),
    (ValueError, "p", lambda: AUG.NeighborSwap(-0.1)),
]


@pytest.mark.parametrize("error,match,build", BAD_OPTIONS)
def test_transform_options_checked_at_construction(error, match, build):
    with pytest.raises(error, match=match):
        build()


def test_transform_options_need_the_batch_for_shape_checks(rng):
    # checks that need the images still raise at the call
    aug = AUG.RandomFlipCrop(pad=4, padding_mode="reflect")
    with pytest.raises(ValueError, match="reflect"):
        aug(rng.standard_normal((1, 1, 3, 3)), seed=0)


def test_transform_called_alone(rng):
    x = rng.standard_normal((3, 10))
    np.testing.assert_array_equal(AUG.NeighborSwap(0.5)(x, seed=2, offset=1),
                                  R.neighbor_swap_ref(x, 0.5, seed=2, offset=1))
