"""Memory: repeated calls of every kernel do not grow the process.

The default run makes 20,000 calls of each main kernel and 2,000 of every
other public function of the bad-input matrix; ``FASTNN_MEMORY_CALLS=100000``
(or ``pytest -m slow``, which runs the ``slow`` test below) makes 100,000 of
each. Python allocations are followed with tracemalloc, the whole process
(C allocations included) with its resident set size.
"""
import gc
import os
import tracemalloc

import numpy as np
import pytest

from fastnn import functional as F

from bad_input_table import SPECS

MAIN = {"adam_", "sgd_", "clip_grad_norm_", "batch_norm", "batch_norm_backward", "layer_norm",
        "dropout", "dense_forward", "dense_backward", "softmax_cross_entropy", "exp", "gelu",
        "relu_backward", "random.normal_", "init.kaiming_uniform_", "Standardizer.transform"}
N_MAIN = int(os.environ.get("FASTNN_MEMORY_CALLS", "20000"))
N_OTHER = int(os.environ.get("FASTNN_MEMORY_CALLS", "2000"))
# allowed growth after warm-up: far below one leaked byte range per call
TRACED_LIMIT = 64 << 10
RSS_LIMIT = 2 << 20


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _growth(fn, n_calls):
    """(traced bytes, RSS bytes) grown between the end of a warm-up and the end."""
    warm = max(n_calls // 10, 100)
    for _ in range(warm):
        fn()
    gc.collect()
    tracemalloc.start()
    try:
        t0, _ = tracemalloc.get_traced_memory()
        r0 = _rss()
        for _ in range(n_calls):
            fn()
        gc.collect()
        t1, _ = tracemalloc.get_traced_memory()
        r1 = _rss()
    finally:
        tracemalloc.stop()
    return t1 - t0, r1 - r0


def _job(spec, dtype):
    args = spec.make(dtype)
    return lambda: spec.call(args)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_no_growth(spec):
    n = N_MAIN if spec.name in MAIN else N_OTHER
    traced, rss = _growth(_job(spec, np.float32), n)
    assert traced < TRACED_LIMIT, f"tracemalloc grew by {traced} bytes over {n} calls"
    assert rss < RSS_LIMIT, f"RSS grew by {rss} bytes over {n} calls"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
@pytest.mark.parametrize("name", sorted(MAIN))
def test_no_growth_100k(name):
    spec = next(s for s in SPECS if s.name == name)
    for dtype in (np.float32, np.float64):
        traced, rss = _growth(_job(spec, dtype), 100_000)
        assert traced < TRACED_LIMIT, f"tracemalloc grew by {traced} bytes"
        assert rss < RSS_LIMIT, f"RSS grew by {rss} bytes"


def test_large_arrays_are_returned_to_the_system():
    """Outputs allocated by the kernels are freed with their arrays."""
    x = np.random.default_rng(0).standard_normal((1024, 1024))
    F.exp(x)
    gc.collect()
    r0 = _rss()
    for _ in range(50):
        F.batch_norm(x, training=True)
        F.exp(x)
    gc.collect()
    assert _rss() - r0 < 32 << 20


@pytest.mark.slow
def test_c_api_driver_is_clean_under_valgrind():
    """tools/run_valgrind.sh: the C API on heap buffers, memcheck-clean."""
    import shutil
    import subprocess

    if shutil.which("valgrind") is None or shutil.which("gcc") is None:
        pytest.skip("needs valgrind and gcc")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run(["bash", os.path.join(root, "tools", "run_valgrind.sh")],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert "ERROR SUMMARY: 0 errors" in r.stderr
