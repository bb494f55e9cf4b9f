"""The thread runtime (csrc/core/parallel.c) and the thread settings around it.

* results are bitwise identical for 1, 2 and 3 threads, with a straggling
  worker (each worker sleeps inside every chunk it claims) and with workers
  that never arrive;
* ``fastnn.threads(n)`` belongs to the calling Python thread;
* first dense calls from many threads at once, concurrent ``fit`` calls,
  and BLAS thread settings restored afterwards;
* a child forked after the pool was used only through the C library does
  not hang;
* the runtime's own stress test, under ThreadSanitizer when the compiler
  has it.
"""
import os
import shutil
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import fastnn
from fastnn import functional as F
from fastnn._ext import runtime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OFF, STRAGGLER, ABSENT = 0, 1, 2

pytestmark = pytest.mark.skipif(not runtime.pooled(), reason="built on OpenMP fork-join")


def _workload(dtype, seed=0):
    """Kernels of every family on inputs large enough to be split in chunks."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((300, 700)).astype(dtype)
    w = (rng.standard_normal((130, 700)) / 20).astype(dtype)
    labels = rng.integers(0, 700, 300)

    def run(n_threads):
        p, g = x.copy(), (x * 0.5).astype(dtype)
        m, v = np.zeros_like(p), np.zeros_like(p)
        F.adam_(p, g, m, v, step=3, lr=1e-2, n_threads=n_threads)
        bn = F.batch_norm(x.reshape(300, 70, 10), training=True, n_threads=n_threads)
        dbn = F.batch_norm_backward(x.reshape(300, 70, 10), x.reshape(300, 70, 10), bn.mean,
                                    bn.rstd, n_threads=n_threads)
        ln = F.layer_norm(x, (700,), n_threads=n_threads)
        h, saved = F.dense_forward(x, w, None, activation="gelu", n_threads=n_threads)
        dh = F.dense_backward(h, x, w, saved, activation="gelu", n_threads=n_threads)
        loss, grad = F.softmax_cross_entropy(x, labels, n_threads=n_threads)
        d = F.dropout(x, 0.3, seed=5, n_threads=n_threads)
        e = F.exp(x, n_threads=n_threads)
        norm = F.clip_grad_norm_([g], 1.0, n_threads=n_threads)
        u = np.empty(200_001, dtype)
        fastnn.random.uniform_(u, seed=3, n_threads=n_threads)
        return [p, m, v, *bn, *dbn, *ln, h, *dh, np.asarray(loss), grad, d, e,
                np.asarray(norm), u]
    return run


def _arrays(results):
    return [np.asarray(a) for a in results if a is not None]


@pytest.fixture
def test_mode():
    """Set a test mode of the pool for one test; always switched off after."""
    def set_mode(mode, value=0):
        runtime.set_test_mode(mode, value)
    yield set_mode
    runtime.set_test_mode(OFF, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bitwise_equal_for_1_2_3_threads(dtype):
    run = _workload(dtype)
    one = _arrays(run(1))
    for n in (2, 3):
        for a, b in zip(one, _arrays(run(n))):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode, value", [(STRAGGLER, 300), (ABSENT, 0)],
                         ids=["straggler", "absent-workers"])
def test_bitwise_equal_with_straggling_or_absent_workers(test_mode, mode, value):
    run = _workload(np.float32, seed=1)
    one = _arrays(run(1))
    before = runtime.pool_stats()
    test_mode(mode, value)
    for n in (2, 3):
        for a, b in zip(one, _arrays(run(n))):
            np.testing.assert_array_equal(a, b)
    after = runtime.pool_stats()
    assert after["jobs"] > before["jobs"], "the workload never reached the pool"
    if mode == ABSENT:
        assert after["worker_chunks"] == before["worker_chunks"]


def test_large_call_is_handed_to_the_pool():
    x = np.ones(1 << 20)
    before = runtime.pool_stats()
    F.exp(x, n_threads=2)
    after = runtime.pool_stats()
    assert after["jobs"] == before["jobs"] + 1
    assert after["workers"] >= 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_dense_layer_of_two_tiles_wakes_a_cold_pool(test_mode, dtype):
    """A layer cut into only two product tiles (here 128×512 @ 512×256, as
    in a small MLP) is worth a worker even when none is spinning: with a
    cold pool, a call of fewer than four grains would otherwise stay on the
    calling thread, and such layers would never use a second core."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 512)).astype(dtype)
    w = rng.standard_normal((256, 512)).astype(dtype)
    b = rng.standard_normal(256).astype(dtype)
    g = rng.standard_normal((128, 256)).astype(dtype)
    old = runtime.spin_us()
    try:
        runtime.set_spin_us(0)  # workers sleep as soon as a job ends: always cold
        y1, saved1 = F.dense_forward(x, w, b, "relu", n_threads=1)
        grads1 = F.dense_backward(g, x, w, saved1, "relu", n_threads=1)
        # test_mode(OFF) ends any solo period (a call that waited for a slow
        # worker sends the next calls solo: a busy machine, not this rule)
        test_mode(OFF)
        before = runtime.pool_stats()
        y2, saved2 = F.dense_forward(x, w, b, "relu", n_threads=2)
        middle = runtime.pool_stats()
        test_mode(OFF)
        grads2 = F.dense_backward(g, x, w, saved2, "relu", n_threads=2)
        after = runtime.pool_stats()
    finally:
        runtime.set_spin_us(old)
    assert middle["jobs"] == before["jobs"] + 1, "the forward stayed on the calling thread"
    assert after["jobs"] >= middle["jobs"] + 1, "the backward's products stayed on the calling thread"
    np.testing.assert_array_equal(y1, y2)
    for a, c in zip(_arrays(grads1), _arrays(grads2)):
        np.testing.assert_array_equal(a, c)


def test_one_thread_never_uses_the_pool():
    x = np.ones(1 << 20)
    before = runtime.pool_stats()
    F.exp(x, n_threads=1)
    after = runtime.pool_stats()
    assert after["jobs"] == before["jobs"]
    assert after["inline"] == before["inline"] + 1


def test_spin_setting_round_trips():
    old = runtime.spin_us()
    try:
        runtime.set_spin_us(0)
        assert runtime.spin_us() == 0
        x = np.arange(1 << 20, dtype=np.float64)
        np.testing.assert_array_equal(F.exp(x, n_threads=2), F.exp(x, n_threads=1))
    finally:
        runtime.set_spin_us(old)
    assert runtime.spin_us() == old


def test_hot_sections_nest_and_never_go_below_zero():
    assert runtime.hot_depth() == 0
    with fastnn.hot_threads():
        assert runtime.hot_depth() == 1
        with pytest.raises(KeyError):
            with fastnn.hot_threads():
                assert runtime.hot_depth() == 2
                raise KeyError("left by an exception")
        assert runtime.hot_depth() == 1
    assert runtime.hot_depth() == 0
    runtime.hot_end()  # an unmatched end is ignored
    assert runtime.hot_depth() == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bitwise_equal_inside_a_hot_section(dtype):
    run = _workload(dtype, seed=2)
    one = _arrays(run(1))
    with fastnn.hot_threads():
        for n in (2, 3):
            for a, b in zip(one, _arrays(run(n))):
                np.testing.assert_array_equal(a, b)


def test_fit_evaluate_and_predict_run_in_a_hot_section():
    from fastnn import nn
    from fastnn.callbacks import Callback
    seen = []

    class Record(Callback):
        def on_batch_end(self, batch, logs):
            seen.append(runtime.hot_depth())

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model = nn.Sequential(nn.Linear(8, 3))
    model.fit(x, y, epochs=1, batch_size=16, callbacks=[Record()], verbose=0)
    assert seen == [1] * 4
    assert runtime.hot_depth() == 0
    calls = []
    real = runtime.hot_begin

    def spy():
        calls.append(1)
        real()

    runtime.hot_begin = spy
    try:
        model.predict(x)
        model.evaluate(x, y)
    finally:
        runtime.hot_begin = real
    assert len(calls) == 2 and runtime.hot_depth() == 0


def test_fork_inside_a_hot_section_starts_the_child_without_one():
    _run_script("""
        import os, sys
        import numpy as np
        import fastnn
        from fastnn._ext import runtime
        from fastnn import functional as F
        x = np.linspace(-3, 3, 1 << 20)
        with fastnn.hot_threads():
            expected = F.tanh(x, n_threads=2)
            pid = os.fork()
            if pid == 0:
                ok = runtime.hot_depth() == 0 and np.array_equal(F.tanh(x, n_threads=2),
                                                                 expected)
                os._exit(0 if ok else 3)
            _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
    """, timeout=60)


def test_threads_context_is_per_python_thread():
    default = fastnn.get_num_threads()
    seen = {}
    a_inside, b_inside, b_done = threading.Event(), threading.Event(), threading.Event()

    def thread_a():
        with fastnn.threads(1):
            a_inside.set()
            b_inside.wait(10)
            seen["a_during_b"] = fastnn.get_num_threads()
            b_done.wait(10)
            seen["a_after_b"] = fastnn.get_num_threads()
        seen["a_end"] = fastnn.get_num_threads()

    def thread_b():
        a_inside.wait(10)
        with fastnn.threads(3):
            b_inside.set()
            seen["b_inside"] = fastnn.get_num_threads()
        b_done.set()
        seen["b_end"] = fastnn.get_num_threads()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"a_during_b": 1, "a_after_b": 1, "a_end": default, "b_inside": 3,
                    "b_end": default}
    assert fastnn.get_num_threads() == default


def test_threads_context_overrides_process_setting_and_restores():
    default = fastnn.get_num_threads()
    try:
        fastnn.set_num_threads(2)
        with fastnn.threads(1):
            assert fastnn.get_num_threads() == 1
            with fastnn.threads(4):
                assert fastnn.get_num_threads() == 4
            assert fastnn.get_num_threads() == 1
        assert fastnn.get_num_threads() == 2
    finally:
        fastnn.set_num_threads(None)
    assert fastnn.get_num_threads() == default


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                        (True, TypeError), ("2", TypeError)])
def test_threads_context_rejects_bad_counts(bad, error):
    with pytest.raises(error, match="n"):
        with fastnn.threads(bad):
            pass


def _run_script(script, timeout=120):
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT,
                       timeout=timeout, env=dict(os.environ, PYTHONPATH=ROOT),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_concurrent_first_dense_calls_in_a_fresh_process():
    _run_script("""
        import threading
        import numpy as np
        import fastnn.functional as F
        x = np.ones((64, 96), np.float32); w = np.ones((32, 96), np.float32)
        barrier = threading.Barrier(8)
        errors = []
        def work():
            try:
                barrier.wait()
                for _ in range(5):
                    y, _ = F.dense_forward(x, w, None, activation="relu", n_threads=2)
                    assert float(y[0, 0]) == 96.0
            except Exception as e:
                errors.append(repr(e))
        ts = [threading.Thread(target=work) for _ in range(8)]
        [t.start() for t in ts]; [t.join() for t in ts]
        assert not errors, errors
    """)


def test_concurrent_fit_leaves_blas_limits_unchanged():
    out = _run_script("""
        import threading
        import numpy as np
        import scipy.linalg  # loads scipy's BLAS, which the dense layer uses
        from threadpoolctl import threadpool_info
        from fastnn import nn
        def limits():
            return sorted((i["filepath"], i["num_threads"]) for i in threadpool_info()
                          if i["user_api"] == "blas")
        before = limits()
        rng = np.random.default_rng(0)
        x = rng.standard_normal((256, 16)).astype(np.float32)
        y = rng.integers(0, 3, 256)
        errors = []
        def work(seed):
            try:
                model = nn.Sequential(nn.Linear(16, 32, activation="relu"), nn.Linear(32, 3))
                model.fit(x, y, loss="cross_entropy", optimizer="adam", epochs=3,
                          batch_size=32, seed=seed, verbose=0)
            except Exception as e:
                errors.append(repr(e))
        ts = [threading.Thread(target=work, args=(s,)) for s in range(4)]
        [t.start() for t in ts]; [t.join() for t in ts]
        assert not errors, errors
        after = limits()
        assert after == before, (before, after)
        print("blas", before)
    """)
    assert "blas" in out


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_pool_use_through_ctypes_only():
    _run_script("""
        import ctypes, os, sys
        import numpy as np
        import fastnn
        lib = ctypes.CDLL(fastnn.get_library())
        f = lib.fnn_math_f64
        f.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                      ctypes.c_int, ctypes.c_int]
        x = np.linspace(-3, 3, 1 << 20); y = np.empty_like(x)
        f(2, x.ctypes.data, y.ctypes.data, x.size, 2, 0)   # the pool runs, in C only
        expected = y.copy()
        pid = os.fork()
        if pid == 0:
            z = np.empty_like(x)
            f(2, x.ctypes.data, z.ctypes.data, x.size, 2, 0)
            import fastnn.functional as F
            ok = np.array_equal(z, expected) and np.array_equal(F.tanh(x, n_threads=2),
                                                                 expected)
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
    """, timeout=60)


def _tsan_works(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    probe = tmp_path / "probe.c"
    probe.write_text("int main(void) { return 0; }\n")
    r = subprocess.run([cc, "-fsanitize=thread", str(probe), "-o", str(tmp_path / "probe")],
                       capture_output=True)
    if r.returncode != 0:
        return None
    r = subprocess.run([str(tmp_path / "probe")], capture_output=True)
    return cc if r.returncode == 0 else None


@pytest.mark.parametrize("sanitize", [False, True], ids=["plain", "tsan"])
def test_runtime_stress(tmp_path, sanitize):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    if not os.path.exists(os.path.join(ROOT, "tools", "runtime_stress.c")):
        pytest.skip("needs the source tree")
    flags = ["-O2"]
    rounds = "120"
    if sanitize:
        if _tsan_works(tmp_path) is None:
            pytest.skip("the C compiler has no ThreadSanitizer")
        flags = ["-O1", "-g", "-fsanitize=thread"]
        rounds = "25"
    exe = tmp_path / "runtime_stress"
    subprocess.run([cc, *flags, "-std=c11", "-Wall", "-Werror", "-Icsrc",
                    "tools/runtime_stress.c", "csrc/core/parallel.c", "-lpthread", "-o",
                    str(exe)], cwd=ROOT, check=True, capture_output=True)
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1 exitcode=66")
    env.pop("LD_PRELOAD", None)  # the ASan run preloads its runtime
    r = subprocess.run([str(exe), rounds], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok"), r.stdout
    assert "WARNING: ThreadSanitizer" not in r.stderr, r.stderr
