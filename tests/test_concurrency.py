"""Concurrency: kernels release the GIL, 8 Python threads on distinct arrays
give the serial results bit for bit, and a process forked after the OpenMP
pool has been used can still call kernels (it runs them on one thread)."""
import glob
import os
import re
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import fastnn
from fastnn import functional as F

from bad_input_table import SPECS
from test_bad_inputs import _arrays

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_THREADS = 8


def _outputs(spec, args, result):
    return _arrays(result, []) + [np.asarray(v) for k, v in args.items()
                                  if spec.roles.get(k) in ("inout", "out")]


def _run_in_threads(jobs):
    """Run every job on its own Python thread, all released at once."""
    results = [None] * len(jobs)
    errors = []
    barrier = threading.Barrier(len(jobs))

    def work(i):
        try:
            barrier.wait()
            results[i] = jobs[i]()
        except Exception as e:  # reported below, not swallowed
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_threads_equal_serial_every_function(spec):
    dtypes = [np.float32, np.float64] * (N_THREADS // 2)

    def job(dt):
        def run():
            out = []
            for _ in range(5):
                args = spec.make(dt)
                out.append(_outputs(spec, args, spec.call(args)))
            return out
        return run

    serial = [job(dt)() for dt in dtypes]
    threaded = _run_in_threads([job(dt) for dt in dtypes])
    for s, t in zip(serial, threaded):
        for a, b in zip(s, t):
            assert len(a) == len(b)
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)


def _big_jobs(dt, seed):
    """Main kernels on arrays large enough to run multi-threaded in C."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((256, 512)).astype(dt)
    w = rng.standard_normal((128, 512)).astype(dt)
    labels = rng.integers(0, 512, 256)

    def run():
        p, g = x.copy(), w[:, :256].copy().reshape(256, 128)
        m, v = np.zeros_like(p[:, :128]), np.zeros_like(p[:, :128])
        p = p[:, :128].copy()
        F.adam_(p, g, m, v, step=3, lr=1e-2, n_threads=2)
        y, mean, rstd = F.batch_norm(x, training=True, n_threads=2)
        dx = F.batch_norm_backward(y, x, mean, rstd, n_threads=2)
        h, saved = F.dense_forward(x, w, None, activation="gelu", n_threads=2)
        loss, grad = F.softmax_cross_entropy(x, labels, n_threads=2)
        d = F.dropout(x, 0.3, seed=seed, n_threads=2)
        e = F.exp(x, n_threads=2)
        n = F.clip_grad_norm_([g.copy()], 1.0, n_threads=2)
        return [p, m, v, y, mean, rstd, *dx, h, np.asarray(loss), grad, d, e, np.asarray(n)]
    return run


def test_threads_equal_serial_large_multithreaded():
    jobs = [_big_jobs([np.float32, np.float64][i % 2], i) for i in range(N_THREADS)]
    serial = [j() for j in jobs]
    threaded = _run_in_threads(jobs)
    for s, t in zip(serial, threaded):
        for x, y in zip(s, t):
            np.testing.assert_array_equal(x, y)


def test_kernel_calls_release_the_gil():
    """Every C kernel call of the wrappers sits inside ``with nogil:``."""
    # philox4x32_10 computes one 10-round block: cheaper than releasing the GIL
    allowed = {"fnn_philox4x32_10"}
    bad = []
    for path in sorted(glob.glob(os.path.join(ROOT, "fastnn", "_ext", "*.pyx"))):
        if path.endswith(("runtime.pyx", "capi.pyx")):  # trivial getters; a table of addresses
            continue
        nogil_indent = None
        for i, line in enumerate(open(path), 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            indent = len(line) - len(line.lstrip())
            if nogil_indent is not None and indent <= nogil_indent:
                nogil_indent = None
            if text.startswith("with nogil"):
                nogil_indent = indent
                continue
            for call in re.findall(r"\b(fnn_\w+)\(", line):
                if nogil_indent is None and "import" not in line and call not in allowed:
                    bad.append(f"{os.path.basename(path)}:{i}: {call}")
    assert not bad, bad


FORK_SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np
    import fastnn.functional as F
    x = np.random.default_rng(0).standard_normal((512, 1024))
    w = np.random.default_rng(1).standard_normal((64, 1024))
    def work():
        a = F.exp(x, n_threads=2)
        b = F.batch_norm(x, training=True, n_threads=2).out
        c = F.dense(x, w, None, activation="relu", n_threads=2)
        g = x.copy()
        F.clip_grad_norm_([g], 1.0, n_threads=2)
        return [a, b, c, g]
    parent = work()                       # the OpenMP pool is now running
    pid = os.fork()
    if pid == 0:
        child = work()
        ok = all(np.array_equal(p, c) for p, c in zip(parent, child))
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_openmp_use_does_not_hang():
    r = subprocess.run([sys.executable, "-c", FORK_SCRIPT], cwd=ROOT, timeout=60,
                       env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


MP_SCRIPT = textwrap.dedent("""
    import multiprocessing as mp, sys
    import numpy as np
    import fastnn.functional as F
    def work(seed):
        x = np.random.default_rng(seed).standard_normal(1 << 18)
        return float(F.exp(x, n_threads=2).sum())
    if __name__ == "__main__":
        expected = [work(s) for s in range(4)]
        with mp.get_context("fork").Pool(2) as pool:
            got = pool.map(work, range(4))
        sys.exit(0 if got == expected else 3)
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_multiprocessing_fork_pool_after_openmp_use():
    r = subprocess.run([sys.executable, "-c", MP_SCRIPT], cwd=ROOT, timeout=60,
                       env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

