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
