"""Run-time settings: threads, SIMD levels, show_config, argument helpers."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn._ext import runtime


def test_show_config_prints_the_essentials(capsys):
    fastnn.show_config()
    out = capsys.readouterr().out
    for key in ("fastnn", "compiler", "openmp", "simd_level", "threads", "blas"):
        assert key in out
    assert fastnn.get_simd_level() in out


def test_set_num_threads_and_context_manager():
    default = fastnn.get_num_threads()
    assert default >= 1
    with fastnn.threads(1):
        assert fastnn.get_num_threads() == 1
        with fastnn.threads(3):
            assert fastnn.get_num_threads() == 3
        assert fastnn.get_num_threads() == 1
    assert fastnn.get_num_threads() == default
    fastnn.set_num_threads(2)
    try:
        assert fastnn.get_num_threads() == 2
    finally:
        fastnn.set_num_threads(None)
    assert fastnn.get_num_threads() == default


@pytest.mark.parametrize("bad,error", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                       (True, TypeError), ("2", TypeError)])
def test_bad_thread_counts(bad, error):
    with pytest.raises(error):
        fastnn.set_num_threads(bad)
    with pytest.raises(error):
        with fastnn.threads(bad):
            pass


def test_omp_num_threads_is_read_at_call_time(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert fastnn.get_num_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "garbage")
    assert fastnn.get_num_threads() == runtime.openmp_max_threads()
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert fastnn.get_num_threads() == runtime.openmp_max_threads()


def test_threadpoolctl_limits_are_followed():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not runtime.openmp_enabled():
        pytest.skip("built without OpenMP")
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fastnn.get_num_threads() == 1


def test_omp_num_threads_at_start_up():
    code = "import fastnn; print(fastnn.get_num_threads())"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "1"


def test_simd_levels():
    levels = fastnn.available_simd_levels()
    assert levels[0] == "baseline"
    best = fastnn.get_simd_level()
    assert best == levels[-1]
    try:
        for level in levels:
            fastnn.set_simd_level(level)
            assert fastnn.get_simd_level() == level
    finally:
        fastnn.set_simd_level(best)
    with pytest.raises(ValueError, match="one of"):
        fastnn.set_simd_level("sse9")


def test_dense_engine_setting():
    """set_dense_engine switches the dense layer's product: each engine gives
    the reference within float32 tolerance and the same bits on 1 and 2
    threads; bad names and types raise and leave the setting alone."""
    from fastnn import functional as F
    from fastnn._config import config_dict
    from fastnn.reference.dense import ref_dense_forward

    start = fastnn.get_dense_engine()
    assert start in ("auto", "blas", "own")
    assert config_dict()["dense_engine"] == start
    rng = np.random.default_rng(5)
    x = rng.standard_normal((67, 300), dtype=np.float32)
    w = rng.standard_normal((45, 300), dtype=np.float32) * 0.05
    b = rng.standard_normal(45, dtype=np.float32)
    expected = ref_dense_forward(x.astype(np.float64), w.astype(np.float64),
                               b.astype(np.float64), "gelu")[0]
    try:
        for engine in ("own", "blas", "auto"):
            fastnn.set_dense_engine(engine)
            assert fastnn.get_dense_engine() == engine
            assert f"(engine {engine})" in config_dict()["dense_products"]
            one = F.dense_forward(x, w, b, "gelu", n_threads=1)[0]
            two = F.dense_forward(x, w, b, "gelu", n_threads=2)[0]
            np.testing.assert_array_equal(one, two)
            np.testing.assert_allclose(one, expected, rtol=1e-4, atol=1e-5)
        with pytest.raises(ValueError, match="one of"):
            fastnn.set_dense_engine("mkl")
        with pytest.raises(TypeError, match="str"):
            fastnn.set_dense_engine(2)
        assert fastnn.get_dense_engine() == "auto"
    finally:
        fastnn.set_dense_engine(start)


def test_fastnn_simd_environment_variable_caps_the_level():
    code = "import fastnn; print(fastnn.get_simd_level())"
    env = dict(os.environ, FASTNN_SIMD="baseline")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "baseline"


def test_get_include_has_the_header():
    include = fastnn.get_include()
    assert os.path.isfile(os.path.join(include, "fastnn.h"))


def test_check_real():
    assert runtime.check_real("x", 1) == 1.0
    assert runtime.check_real("x", np.float32(0.5), 0.0, True, 1.0, True) == 0.5
    for bad, error in [(float("nan"), ValueError), (float("inf"), ValueError),
                       (None, TypeError), (True, TypeError), ([1.0], TypeError)]:
        with pytest.raises(error, match="x"):
            runtime.check_real("x", bad)
    with pytest.raises(ValueError, match=">= 0"):
        runtime.check_real("x", -1.0, 0.0)
    with pytest.raises(ValueError, match="> 0"):
        runtime.check_real("x", 0.0, 0.0, False)
    with pytest.raises(ValueError, match="< 1"):
        runtime.check_real("x", 1.0, None, True, 1.0, False)


def test_stream_triad():
    a = np.zeros(100_003)
    b = np.arange(100_003, dtype=np.float64)
    c = np.ones(100_003)
    runtime.stream_triad(a, b, c, 2.0, 2)
    np.testing.assert_array_equal(a, b + 2.0)


def test_parameter():
    p = fastnn.Parameter([[1, 2], [3, 4]], name="w")
    assert p.dtype == np.float32 or p.dtype == np.float64
    assert p.shape == (2, 2) and p.size == 4
    data = np.ones(3)
    q = fastnn.Parameter(data)
    assert q.data is data
    q.grad = np.ones(3)
    q.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(q.grad, np.zeros(3))
    q.zero_grad()
    assert q.grad is None
    assert "w" in repr(p)
