"""Tests of fastnn.random (Philox streams, fills) and fastnn.functional.dropout."""
import numpy as np
import pytest
from conftest import assert_close

import fastnn
from fastnn import reference as R
from fastnn.random import normal_, philox4x32_10, philox_words, seed_key, uniform_

SIZES = [0, 1, 15, 16, 17, 63, 64, 65, 1001, 70_001]

# Random123's published Philox4x32-10 known-answer vectors (kat_vectors)
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


# ------------------------------------------------------------ generator

@pytest.mark.parametrize("counter,key,expected", KAT)
def test_philox_known_answers(counter, key, expected):
    assert tuple(int(v) for v in philox4x32_10(counter, key)) == expected
    assert tuple(int(v) for v in R.philox4x32_10_ref(np.array(counter), np.array(key))) == expected


def test_philox_bad_arguments():
    with pytest.raises(ValueError, match="counter"):
        philox4x32_10([0, 0, 0], [0, 0])
    with pytest.raises(ValueError, match="key"):
        philox4x32_10([0, 0, 0, 0], [0, 1 << 32])
    with pytest.raises(TypeError, match="counter"):
        philox4x32_10([0, 0, 0, 0.5], [0, 0])
    with pytest.raises(TypeError, match="key"):
        philox4x32_10([0, 0, 0, 0], 3)


@pytest.mark.parametrize("n", [1, 5, 64, 1001, 70_001])
def test_words_match_reference(simd_level, n):
    seed, offset = (1 << 40) + 12345, (1 << 33) + 7
    assert np.array_equal(philox_words(n, seed=seed, offset=offset),
                          R.philox_words_ref(n, seed, offset))


def test_seed_kinds():
    ss = np.random.SeedSequence(42)
    lo, hi = ss.generate_state(2, np.uint32)
    assert seed_key(ss) == int(lo) | (int(hi) << 32)
    assert seed_key(np.uint64(5)) == 5
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    k1 = seed_key(g1)
    assert k1 == seed_key(g2) and seed_key(g1) != k1  # reproducible, and advances
    a = uniform_(np.empty(100), seed=np.random.default_rng(9))
    b = uniform_(np.empty(100), seed=np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)
    for bad, err in [(-1, ValueError), (1 << 64, ValueError), (1.5, TypeError),
                     (True, TypeError), (None, TypeError), ("1", TypeError)]:
        with pytest.raises(err, match="seed"):
            seed_key(bad)


# ------------------------------------------------------------ fills

@pytest.mark.parametrize("n", SIZES)
def test_uniform_matches_reference(dtype, simd_level, n):
    out = np.empty(n, dtype)
    assert uniform_(out, -1.5, 2.0, seed=11, offset=3) is out
    np.testing.assert_array_equal(out, R.uniform_ref((n,), dtype, -1.5, 2.0, seed=11, offset=3))


@pytest.mark.parametrize("n", SIZES)
def test_normal_matches_reference(dtype, simd_level, n):
    out = np.empty(n, dtype)
    assert normal_(out, 0.5, 2.0, seed=11, offset=3) is out
    assert_close(out, R.normal_ref((n,), dtype, 0.5, 2.0, seed=11, offset=3), dtype)


def test_fills_shapes_and_offsets(dtype):
    a = uniform_(np.empty((3, 5, 7), dtype), seed=1)
    np.testing.assert_array_equal(a.ravel(), uniform_(np.empty(105, dtype), seed=1))
    b = uniform_(np.empty(105, dtype), seed=1, offset=1)
    assert not np.array_equal(a.ravel(), b)
    c = uniform_(np.empty(105, dtype), seed=2)
    assert not np.array_equal(a.ravel(), c)
    # element i depends on i alone: a prefix of a longer fill
    long = normal_(np.empty(5000, dtype), seed=4, offset=9)
    np.testing.assert_array_equal(normal_(np.empty(777, dtype), seed=4, offset=9), long[:777])


def test_fills_threads_bitwise(dtype):
    n = 1_000_003
    for fill in (uniform_, normal_):
        one = fill(np.empty(n, dtype), seed=99, offset=5, n_threads=1)
        two = fill(np.empty(n, dtype), seed=99, offset=5, n_threads=2)
        three = fill(np.empty(n, dtype), seed=99, offset=5, n_threads=3)
        np.testing.assert_array_equal(one, two)
        np.testing.assert_array_equal(one, three)


def test_fills_simd_levels_bitwise(dtype):
    results = {}
    previous = fastnn.get_simd_level()
    try:
        for level in fastnn.available_simd_levels():
            fastnn.set_simd_level(level)
            results[level] = (uniform_(np.empty(10_007, dtype), seed=5),
                              normal_(np.empty(10_007, dtype), seed=5))
    finally:
        fastnn.set_simd_level(previous)
    first = next(iter(results.values()))
    for u, z in results.values():
        np.testing.assert_array_equal(u, first[0])
        np.testing.assert_array_equal(z, first[1])


def test_uniform_chi_square(dtype):
    from scipy import stats

    u = uniform_(np.empty(1_000_000, dtype), seed=2024)
    assert u.min() >= 0 and u.max() < 1
    counts = np.bincount((u * 100).astype(np.int64), minlength=100)
    assert stats.chisquare(counts).pvalue > 1e-4
    u = uniform_(np.empty(100_000, dtype), 3.0, 5.0, seed=7)
    assert u.min() >= 3.0 and u.max() < 5.0


def test_normal_moments(dtype):
    from scipy import stats

    n = 1_000_000
    z = normal_(np.empty(n, dtype), seed=77).astype(np.float64)
    se = 1 / np.sqrt(n)
    assert abs(z.mean()) < 5 * se
    assert abs(z.var() - 1) < 5 * np.sqrt(2) * se
    assert abs(stats.skew(z)) < 5 * np.sqrt(6) * se
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24) * se
    assert stats.kstest(z[:100_000], "norm").pvalue > 1e-4
    z = normal_(np.empty(n, dtype), 3.0, 0.5, seed=78)
    assert abs(z.mean() - 3.0) < 5 * 0.5 * se


def test_normal_std_zero(dtype):
    out = normal_(np.empty(100, dtype), 2.5, 0.0, seed=1)
    np.testing.assert_array_equal(out, np.full(100, 2.5, dtype))


@pytest.mark.parametrize("fill", [uniform_, normal_])
def test_fills_bad_input(fill):
    good = np.zeros(10)
    with pytest.raises(TypeError, match="out"):
        fill([0.0] * 10, seed=1)
    with pytest.raises(TypeError, match="out"):
        fill(np.zeros(10, np.int32), seed=1)
    ro = np.zeros(10)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        fill(ro, seed=1)
    strided = np.zeros(20)[::2]
    with pytest.raises(ValueError, match="out"):
        fill(strided, seed=1)
    assert not strided.any()
    with pytest.raises(TypeError, match="seed"):
        fill(good, seed=1.0)
    with pytest.raises(ValueError, match="offset"):
        fill(good, seed=1, offset=-1)
    with pytest.raises(TypeError, match="offset"):
        fill(good, seed=1, offset=1.0)
    with pytest.raises(ValueError):
        fill(good, 0.0, float("nan"), seed=1)
    assert not good.any()
    with pytest.raises(TypeError):
        fill(good)  # seed is required


def test_fill_ranges():
    good = np.zeros(10)
    with pytest.raises(ValueError, match="low"):
        uniform_(good, 2.0, 1.0, seed=1)
    with pytest.raises(ValueError, match="std"):
        normal_(good, 0.0, -1.0, seed=1)
    with pytest.raises(ValueError, match="high"):
        uniform_(good, 0.0, float("inf"), seed=1)
    assert not good.any()


# ------------------------------------------------------------ dropout

import importlib  # noqa: E402

# the module (fastnn.functional.dropout is also the name of the function)
D = importlib.import_module("fastnn.functional.dropout")

DROP_SIZES = [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1001, 70_001]


@pytest.mark.parametrize("n", DROP_SIZES)
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_dropout_matches_reference(dtype, simd_level, n, p, rng):
    x = rng.standard_normal(n).astype(dtype)
    x0 = x.copy()
    mask = D.empty_mask(x)
    y = D.dropout(x, p, seed=21, offset=4, mask=mask)
    np.testing.assert_array_equal(y, R.dropout_ref(x, p, seed=21, offset=4))
    np.testing.assert_array_equal(mask, R.dropout_mask_ref(n, p, seed=21, offset=4))
    np.testing.assert_array_equal(x, x0)
    # both backward modes apply exactly the forward mask and scale
    g = rng.standard_normal(n).astype(dtype)
    expected = R.dropout_backward_ref(g, p, seed=21, offset=4)
    np.testing.assert_array_equal(D.dropout_backward(g, p, seed=21, offset=4), expected)
    np.testing.assert_array_equal(D.dropout_backward(g, p, mask=mask), expected)


def test_dropout_scaling_and_keep_rate(dtype, rng):
    from scipy import stats

    n = 200_003
    x = rng.uniform(0.5, 2.0, n).astype(dtype)
    for p in (0.1, 0.5, 0.8):
        y = D.dropout(x, p, seed=5, offset=1)
        kept = y != 0
        # survivors are exactly x / (1 - p) as the dtype rounds it
        np.testing.assert_array_equal(y[kept], x[kept] * dtype.type(1 / (1 - p)))
        # keep rate within binomial bounds (two-sided p-value)
        assert stats.binomtest(int(kept.sum()), n, 1 - p).pvalue > 1e-4


def test_dropout_edge_p(dtype, rng):
    x = rng.standard_normal((4, 33)).astype(dtype)
    x[0, 0] = np.inf
    np.testing.assert_array_equal(D.dropout(x, 0.0, seed=1), x)
    mask = D.empty_mask(x)
    zero = D.dropout(x, 1.0, seed=1, mask=mask)
    assert not zero.any() and not mask.any()
    g = np.ones_like(x)
    assert not D.dropout_backward(g, 1.0, seed=1).any()
    assert not D.dropout_backward(g, 1.0, mask=mask).any()
    np.testing.assert_array_equal(D.dropout(x, 0.5, False, seed=1), x)


def test_dropout_threads_and_offsets(dtype, rng):
    n = 1_000_003
    x = rng.standard_normal(n).astype(dtype)
    m1, m2 = D.empty_mask(x), D.empty_mask(x)
    one = D.dropout(x, 0.3, seed=77, offset=2, mask=m1, n_threads=1)
    two = D.dropout(x, 0.3, seed=77, offset=2, mask=m2, n_threads=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(m1, m2)
    for fn in (lambda t: D.dropout_backward(x, 0.3, seed=77, offset=2, n_threads=t),
               lambda t: D.dropout_backward(x, 0.3, mask=m1, n_threads=t)):
        np.testing.assert_array_equal(fn(1), fn(2))
        np.testing.assert_array_equal(fn(1), one)  # backward of x is the forward of x
    other = D.dropout(x, 0.3, seed=77, offset=3)
    assert not np.array_equal(one, other)
    # same seed given as a SeedSequence twice: same mask
    ss = np.random.SeedSequence(8)
    np.testing.assert_array_equal(D.dropout(x[:1000], 0.5, seed=ss),
                                  D.dropout(x[:1000], 0.5, seed=np.random.SeedSequence(8)))


def test_dropout_gradient_finite_differences(rng):
    x = rng.standard_normal(37)
    w = rng.standard_normal(37)

    def loss(v):
        return float(np.dot(w, D.dropout(v, 0.4, seed=3, offset=8)))

    grad = D.dropout_backward(w, 0.4, seed=3, offset=8)
    eps = 1e-6
    for i in range(0, 37, 3):
        e = np.zeros(37)
        e[i] = eps
        fd = (loss(x + e) - loss(x - e)) / (2 * eps)
        assert abs(fd - grad[i]) < 1e-7


def test_dropout_non_contiguous_input(dtype, rng):
    x = rng.standard_normal((20, 30)).astype(dtype)[:, ::3]
    np.testing.assert_array_equal(D.dropout(x, 0.5, seed=2),
                                  R.dropout_ref(np.ascontiguousarray(x), 0.5, seed=2))


def test_dropout_bad_input(rng):
    x = rng.standard_normal(100)
    out = np.zeros(100)
    mask = np.zeros(13, np.uint8)
    for p, err in [(-0.1, ValueError), (1.5, ValueError), (float("nan"), ValueError),
                   ("0.5", TypeError)]:
        with pytest.raises(err, match="p"):
            D.dropout(x, p, seed=1, out=out, mask=mask)
    with pytest.raises(TypeError, match="x"):
        D.dropout(list(x), seed=1)
    with pytest.raises(TypeError, match="x"):
        D.dropout(x.astype(np.int64), seed=1)
    with pytest.raises(TypeError, match="out"):
        D.dropout(x, seed=1, out=np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="out"):
        D.dropout(x, seed=1, out=np.zeros(101))
    ro = np.zeros(100)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        D.dropout(x, seed=1, out=ro)
    with pytest.raises(ValueError, match="share memory"):
        D.dropout(x, seed=1, out=x)
    with pytest.raises(TypeError, match="mask"):
        D.dropout(x, seed=1, out=out, mask=np.zeros(13, np.int8))
    with pytest.raises(ValueError, match="mask"):
        D.dropout(x, seed=1, out=out, mask=np.zeros(12, np.uint8))
    with pytest.raises(ValueError, match="mask"):
        D.dropout(x, 0.5, False, seed=1, out=out, mask=mask)
    with pytest.raises(TypeError, match="seed"):
        D.dropout(x, seed="a", out=out)
    with pytest.raises(ValueError, match="offset"):
        D.dropout(x, seed=1, offset=1 << 64, out=out)
    with pytest.raises(TypeError, match="training"):
        D.dropout(x, 0.5, "yes", seed=1, out=out)
    assert not out.any() and not mask.any()
    with pytest.raises(TypeError, match="exactly one"):
        D.dropout_backward(x, 0.5, out=out)
    with pytest.raises(TypeError, match="exactly one"):
        D.dropout_backward(x, 0.5, seed=1, mask=mask, out=out)
    with pytest.raises(ValueError, match="mask"):
        D.dropout_backward(x, 0.5, mask=np.zeros(14, np.uint8), out=out)
    with pytest.raises(TypeError, match="grad_out"):
        D.dropout_backward(x.astype(np.float16), 0.5, seed=1)
    assert not out.any()


# ------------------------------------------------------------ channel dropout

@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 1, 1), (4, 17, 33), (3, 5), (0, 3, 4),
                                   (2, 64, 1000)])
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_channel_dropout(dtype, simd_level, shape, p, rng):
    x = rng.standard_normal(shape).astype(dtype)
    y = D.channel_dropout(x, p, seed=9, offset=2)
    np.testing.assert_array_equal(y, R.channel_dropout_ref(x, p, seed=9, offset=2))
    g = rng.standard_normal(shape).astype(dtype)
    np.testing.assert_array_equal(D.channel_dropout_backward(g, p, seed=9, offset=2),
                                  R.channel_dropout_ref(g, p, seed=9, offset=2))
    if x.size and 0 < p < 1:
        rows = y.reshape(shape[0] * shape[1], -1)
        kept = (rows != 0).any(axis=1) | (x.reshape(rows.shape) == 0).all(axis=1)
        assert np.all((rows == 0).all(axis=1) | kept)  # whole channels dropped


def test_channel_dropout_threads_and_bad_input(dtype, rng):
    x = rng.standard_normal((3, 7, 40_001)).astype(dtype)
    np.testing.assert_array_equal(D.channel_dropout(x, 0.5, seed=4, n_threads=1),
                                  D.channel_dropout(x, 0.5, seed=4, n_threads=2))
    with pytest.raises(ValueError, match="shape"):
        D.channel_dropout(x.ravel(), 0.5, seed=4)
    with pytest.raises(ValueError, match="p"):
        D.channel_dropout(x, 2.0, seed=4)


def test_channel_dropout_gradient_finite_differences(rng):
    x = rng.standard_normal((2, 5, 3))
    w = rng.standard_normal((2, 5, 3))
    grad = D.channel_dropout_backward(w, 0.5, seed=6)
    eps = 1e-6
    for idx in [(0, 0, 0), (0, 3, 2), (1, 1, 1), (1, 4, 0)]:
        e = np.zeros_like(x)
        e[idx] = eps
        fd = (np.sum(w * D.channel_dropout(x + e, 0.5, seed=6))
              - np.sum(w * D.channel_dropout(x - e, 0.5, seed=6))) / (2 * eps)
        assert abs(fd - grad[idx]) < 1e-7


# ------------------------------------------------------------ DropConnect

def test_dropconnect(dtype, rng):
    w = rng.standard_normal((64, 33)).astype(dtype)
    x = rng.standard_normal((8, 33)).astype(dtype)
    wd = D.dropconnect(w, 0.25, seed=12, offset=5)
    np.testing.assert_array_equal(wd, R.dropout_ref(w, 0.25, seed=12, offset=5))
    y = x @ wd.T
    g_y = rng.standard_normal(y.shape).astype(dtype)
    g_w = D.dropconnect_backward(g_y.T @ x, 0.25, seed=12, offset=5)
    np.testing.assert_array_equal(g_w, R.dropout_ref(g_y.T @ x, 0.25, seed=12, offset=5))
    # a new offset gives a new mask
    assert not np.array_equal(wd, D.dropconnect(w, 0.25, seed=12, offset=6))


# ------------------------------------------------------------ Gaussian noise

@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 1001, 70_001])
@pytest.mark.parametrize("multiplicative", [False, True])
def test_gaussian_noise(dtype, simd_level, n, multiplicative, rng):
    x = rng.standard_normal(n).astype(dtype)
    y = D.gaussian_noise(x, 0.3, multiplicative=multiplicative, seed=8, offset=1)
    assert_close(y, R.gaussian_noise_ref(x, 0.3, multiplicative=multiplicative, seed=8,
                                         offset=1), dtype)
    g = rng.standard_normal(n).astype(dtype)
    gx = D.gaussian_noise_backward(g, 0.3, multiplicative=multiplicative, seed=8, offset=1)
    expected = (R.gaussian_noise_ref(g, 0.3, multiplicative=True, seed=8, offset=1)
                if multiplicative else g)
    assert_close(gx, expected, dtype)


def test_gaussian_noise_gradient_threads_and_bad_input(rng):
    x = rng.standard_normal(29)
    w = rng.standard_normal(29)
    for mult in (False, True):
        grad = D.gaussian_noise_backward(w, 0.5, multiplicative=mult, seed=2)
        eps = 1e-6
        for i in (0, 13, 28):
            e = np.zeros(29)
            e[i] = eps
            up = np.dot(w, D.gaussian_noise(x + e, 0.5, multiplicative=mult, seed=2))
            down = np.dot(w, D.gaussian_noise(x - e, 0.5, multiplicative=mult, seed=2))
            fd = (up - down) / (2 * eps)
            assert abs(fd - grad[i]) < 1e-7
    big = rng.standard_normal(300_001).astype(np.float32)
    np.testing.assert_array_equal(D.gaussian_noise(big, 0.1, seed=3, n_threads=1),
                                  D.gaussian_noise(big, 0.1, seed=3, n_threads=2))
    np.testing.assert_array_equal(D.gaussian_noise(big, 0.1, False, seed=3), big)
    out = np.zeros(29)
    with pytest.raises(ValueError, match="std"):
        D.gaussian_noise(x, -1.0, seed=1, out=out)
    with pytest.raises(TypeError, match="multiplicative"):
        D.gaussian_noise(x, 1.0, multiplicative=1, seed=1, out=out)
    assert not out.any()


# ------------------------------------------------------------ layer

@pytest.mark.parametrize("mode", ["stored", "regenerate"])
def test_dropout_layer(dtype, mode, rng):
    layer = D.Dropout(0.5, seed=np.random.SeedSequence(1), mask=mode)
    x = rng.standard_normal((16, 9)).astype(dtype)
    y1 = layer.forward(x)
    g = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(g != 0, y1 != 0)
    y2 = layer.forward(x)
    assert not np.array_equal(y1, y2)  # fresh mask per step
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    with pytest.raises(ValueError, match="mask"):
        D.Dropout(0.5, seed=1, mask="bits")
    with pytest.raises(RuntimeError):
        D.Dropout(0.5, seed=1).backward(x)


# ------------------------------------------------------------ streaming stores

# Outputs of FNN_STREAM_MIN_BYTES (16 MiB) and more are written with
# streaming stores from a stack tile. The sizes cross that threshold with an
# odd tail, and the destination starts one element past a cache line, so the
# unaligned head, the streamed body and the tail of every tile are all used.
STREAM_MIN_BYTES = 16 << 20


def _misaligned(n, dtype):
    buf = np.empty(n + 16, dtype)
    start = (-buf.ctypes.data % 64) // buf.itemsize + 1
    out = buf[start:start + n]
    assert out.ctypes.data % 64 != 0 and out.flags.c_contiguous
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_streaming_outputs_match_reference(dtype, simd_level, rng):
    n = STREAM_MIN_BYTES // np.dtype(dtype).itemsize + 1013
    out = uniform_(_misaligned(n, dtype), -1.0, 3.0, seed=6, offset=2)
    np.testing.assert_array_equal(out, R.uniform_ref((n,), dtype, -1.0, 3.0, seed=6, offset=2))
    out = normal_(_misaligned(n, dtype), 0.5, 2.0, seed=6, offset=2)
    assert_close(out, R.normal_ref((n,), dtype, 0.5, 2.0, seed=6, offset=2), dtype)
    x = rng.standard_normal(n).astype(dtype)
    noisy = D.gaussian_noise(x, 0.3, seed=6, offset=2, out=_misaligned(n, dtype))
    assert_close(noisy, R.gaussian_noise_ref(x, 0.3, seed=6, offset=2), dtype)
    mask = D.empty_mask(x)
    y = D.dropout(x, 0.3, seed=6, offset=2, mask=mask, out=_misaligned(n, dtype))
    np.testing.assert_array_equal(y, R.dropout_ref(x, 0.3, seed=6, offset=2))
    expected = R.dropout_backward_ref(x, 0.3, seed=6, offset=2)
    np.testing.assert_array_equal(
        D.dropout_backward(x, 0.3, mask=mask, out=_misaligned(n, dtype)), expected)
    np.testing.assert_array_equal(
        D.dropout_backward(x, 0.3, seed=6, offset=2, out=_misaligned(n, dtype)), expected)
    # bitwise equal across thread counts
    np.testing.assert_array_equal(D.dropout(x, 0.3, seed=6, offset=2, n_threads=1), y)
    np.testing.assert_array_equal(D.dropout(x, 0.3, seed=6, offset=2, n_threads=3), y)


# ------------------------------------------------------------ dropout: masks in the overlap check

def _mask_over(a, n_bytes, offset=0):
    """A uint8 mask viewing the memory of ``a`` (from byte ``offset``)."""
    return a.reshape(-1).view(np.uint8)[offset:offset + n_bytes]


@pytest.mark.parametrize("fn", ["dropout", "dropconnect"])
@pytest.mark.parametrize("over", ["x", "out"])
def test_dropout_mask_overlapping_x_or_out_is_rejected(fn, over):
    """A mask sharing memory with x (the input was overwritten) or out was
    accepted; it must raise naming both and write nothing."""
    F = fastnn.functional
    x = np.random.default_rng(0).standard_normal((8, 9)).astype(np.float32)
    out = np.zeros_like(x)
    n_bytes = (x.size + 7) // 8
    mask = _mask_over(x if over == "x" else out, n_bytes, offset=4)
    x_before, out_before = x.copy(), out.copy()
    with pytest.raises(ValueError, match="share memory") as info:
        getattr(F, fn)(x, 0.5, seed=1, out=out, mask=mask)
    assert "mask" in str(info.value) and over in str(info.value)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(out, out_before)


@pytest.mark.parametrize("fn", ["dropout_backward", "dropconnect_backward"])
def test_dropout_backward_mask_overlapping_out_is_rejected(fn):
    F = fastnn.functional
    x = np.random.default_rng(0).standard_normal((8, 9))
    mask = F.empty_mask(x)
    F.dropout(x, 0.5, seed=1, mask=mask)
    g = np.ones_like(x)
    out = np.zeros_like(x)
    out.reshape(-1).view(np.uint8)[:mask.size] = mask  # the mask stored inside out
    shared = _mask_over(out, mask.size)
    before = out.copy()
    with pytest.raises(ValueError, match="mask.*out|out.*mask"):
        getattr(F, fn)(g, 0.5, mask=shared, out=out)
    np.testing.assert_array_equal(out, before)
    # a mask overlapping the (only read) gradient is fine
    g.reshape(-1).view(np.uint8)[:mask.size] = mask
    expected = F.dropout_backward(g.copy(), 0.5, mask=mask)
    np.testing.assert_array_equal(getattr(F, fn)(g, 0.5, mask=_mask_over(g, mask.size)),
                                  expected)


def test_dropout_mask_checked_before_anything_is_written():
    F = fastnn.functional
    x = np.ones((4, 4), np.float32)
    out = np.zeros_like(x)
    mask = F.empty_mask(x)
    mask.flags.writeable = False
    with pytest.raises(ValueError, match="mask"):
        F.dropout(x, 0.5, seed=1, out=out, mask=mask)
    assert not out.any()


ZERO_D = [
    ("dropout", lambda F, x: F.dropout(x, 0.5, seed=1)),
    ("dropout-eval", lambda F, x: F.dropout(x, 0.5, False, seed=1)),
    ("dropout_backward", lambda F, x: F.dropout_backward(x, 0.5, seed=1)),
    ("dropconnect", lambda F, x: F.dropconnect(x, 0.5, seed=1)),
    ("gaussian_noise", lambda F, x: F.gaussian_noise(x, 0.1, seed=1)),
    ("gaussian_noise-mult", lambda F, x: F.gaussian_noise(x, 0.1, multiplicative=True, seed=1)),
    ("gaussian_noise_backward",
     lambda F, x: F.gaussian_noise_backward(x, 0.1, multiplicative=True, seed=1)),
]


@pytest.mark.parametrize("name,call", ZERO_D, ids=[z[0] for z in ZERO_D])
def test_zero_d_input_keeps_its_shape(name, call, dtype):
    """0-d inputs came back with shape (1,); NumPy keeps 0-d."""
    F = fastnn.functional
    x = np.array(1.5, dtype)
    y = call(F, x)
    assert y.shape == () and y.dtype == dtype
    np.testing.assert_array_equal(y, call(F, x.reshape(1)).reshape(()))
    out = np.empty((), dtype)
    if "backward" not in name and "eval" not in name:
        fn = getattr(F, name.split("-")[0])
        kwargs = dict(multiplicative=True) if name.endswith("mult") else {}
        arg = 0.1 if "gaussian" in name else 0.5
        assert fn(x, arg, seed=1, out=out, **kwargs) is out
        np.testing.assert_array_equal(out, y)
