"""Memory: repeated calls of every kernel do not grow the process.

The default run makes 5,000 calls of each main kernel and 1,000 of every
other function of the bad-input matrix (``FASTNN_MEMORY_CALLS=N`` sets both);
``pytest -m slow`` makes 100,000 calls of every function, like
``python tools/check_memory_growth.py``, whose ``measure`` both use: a
warm-up, then the growth of tracemalloc (Python and NumPy allocations) and
of the resident set size (C allocations included) over the later calls.
"""
import ctypes
import ctypes.util
import gc
import importlib.util
import mmap
import os

import numpy as np
import pytest

from fastnn import functional as F

from bad_input_table import SPECS

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    "check_memory_growth", os.path.join(_ROOT, "tools", "check_memory_growth.py"))
memtool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(memtool)

MAIN = {"adam_", "sgd_", "clip_grad_norm_", "batch_norm", "batch_norm_backward", "layer_norm",
        "dropout", "dense_forward", "dense_backward", "softmax_cross_entropy", "exp", "gelu",
        "relu_backward", "random.normal_", "init.kaiming_uniform_", "Standardizer.transform",
        "random_flip_crop", "random_affine", "random_snr_noise", "augment.Compose"}
N_MAIN = int(os.environ.get("FASTNN_MEMORY_CALLS", "5000"))
N_OTHER = int(os.environ.get("FASTNN_MEMORY_CALLS", "1000"))
needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
# tools/run_sanitized_tests.sh: ASan's quarantine keeps freed memory resident
ASAN = memtool.under_asan()


def _limits(n_calls):
    """(traced, RSS) limits: the tool's, with the traced one scaled down to
    about 2.5 bytes per measured call for short runs (the noise is ~100 B)."""
    return min(memtool.TRACED_LIMIT, max(4096, 2 * n_calls)), memtool.RSS_LIMIT


def _check(spec, dtype, n_calls):
    args = spec.make(np.dtype(dtype))
    _, rss, traced = memtool.measure(lambda: spec.call(args), n_calls)
    traced_limit, rss_limit = _limits(n_calls)
    assert traced <= traced_limit, f"tracemalloc grew by {traced} bytes over {n_calls} calls"
    assert ASAN or rss <= rss_limit, f"RSS grew by {rss} bytes over {n_calls} calls"


@needs_proc
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_no_growth(spec):
    _check(spec, np.float32, N_MAIN if spec.name in MAIN else N_OTHER)


@pytest.mark.slow
@needs_proc
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_no_growth_100k(spec):
    for dtype in (np.float32, np.float64) if spec.name in MAIN else (np.float32,):
        _check(spec, dtype, 100_000)


@needs_proc
def test_the_growth_check_can_fail():
    """A leak of a small array per call (traced) and of a 4 KiB page of C memory per call
    (RSS only) are both caught."""
    kept = []
    _, _, traced = memtool.measure(lambda: kept.append(np.empty(4)), 2000)
    assert traced > _limits(2000)[0]
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]

    def leak_a_page():
        # fresh pages from the kernel, touched so they are resident: malloc could
        # reuse memory that earlier tests freed but the process still holds
        page = libc.mmap(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE,
                         mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        libc.memset(page, 1, 4096)

    _, rss, traced = memtool.measure(leak_a_page, 8000)
    assert rss > _limits(8000)[1]  # (ASan or not: these pages are never unmapped)
    assert traced <= _limits(8000)[0]


@pytest.mark.skipif(ASAN, reason="ASan's quarantine keeps freed memory resident")
def test_large_arrays_are_returned_to_the_system():
    """Outputs allocated by the kernels are freed with their arrays."""
    x = np.random.default_rng(0).standard_normal((1024, 1024))
    F.exp(x)
    gc.collect()
    r0 = memtool.rss()
    for _ in range(50):
        F.batch_norm(x, training=True)
        F.exp(x)
    gc.collect()
    assert memtool.rss() - r0 < 32 << 20


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
