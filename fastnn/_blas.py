"""The BLAS behind the fused dense layer, and how it is kept single-threaded.

The dense layer (:mod:`fastnn.functional.dense`) cuts its matrix products
into tiles and calls one BLAS ``?gemm`` per tile from inside fastnn's own
OpenMP threads, fusing the bias and activation into each tile while it is
in cache. The ``?gemm`` is ``scipy.linalg.cython_blas``'s (the Fortran
interface of the BLAS scipy links, reached through its Cython capsules, as
scikit-learn does), so fastnn links no BLAS of its own.

For those calls BLAS must run on one thread, or its threads and fastnn's
would multiply. :func:`single_threaded` does that:

* OpenBLAS with its own (pthreads) thread pool, which is what the NumPy and
  SciPy wheels ship: its ``openblas_set_num_threads`` is called directly
  (a few nanoseconds), with a counter so that concurrent fastnn calls from
  several Python threads save and restore the setting once;
* OpenBLAS built with OpenMP runs single-threaded inside a parallel region
  by itself: nothing to do;
* any other BLAS (MKL, BLIS, ...) is limited with threadpoolctl for the call.

While a fused dense call runs, another Python thread's BLAS calls through
the same OpenBLAS library also run on one thread.

Without scipy the layer falls back to ``numpy.matmul`` on the whole product
(with BLAS's own threads) followed by fastnn's fused pass
(see :func:`available`).
"""
import contextlib
import ctypes
import threading

from fastnn._ext import dense as _k

__all__ = ["available", "describe", "single_threaded", "limit_blas_threads"]

_loaded = None


def available():
    """Whether scipy's ?gemm is there for the tiled products (scipy is
    imported on the first call, not when fastnn is)."""
    global _loaded
    if _loaded is None:
        _loaded = bool(_k.load_scipy_gemm())
    return _loaded

_OPENBLAS_AFFIXES = [(p, s) for p in ("", "scipy_") for s in ("", "64_", "_64")]
_state = None


def _symbol(lib, name):
    for prefix, suffix in _OPENBLAS_AFFIXES:
        fn = getattr(lib, f"{prefix}{name}{suffix}", None)
        if fn is not None:
            return fn
    return None


def _scipy_dirs():
    """Where scipy's own BLAS lives (its package and the wheel's .libs folder)."""
    import os
    try:
        import scipy
    except ImportError:
        return ()
    package = os.path.dirname(scipy.__file__)
    return (package + os.sep, os.path.join(os.path.dirname(package), "scipy.libs") + os.sep)


def _discover():
    """Sort the loaded BLAS libraries into those fastnn controls directly
    (OpenBLAS with pthreads), those that need nothing (OpenBLAS with
    OpenMP, or single-threaded) and the rest (threadpoolctl)."""
    global _state
    if _state is not None:
        return _state
    with _discover_lock:  # the first calls of several threads at once
        if _state is None:
            _state = _discover_locked()
    return _state


_discover_lock = threading.Lock()


def _discover_locked():
    # scipy's BLAS, the one the tiles call, is loaded only when scipy is
    # imported: load it first, or a discovery that runs before the first
    # dense call (fit's BLAS limit does) would miss it, and the tiles' ?gemm
    # would start its own threads inside fastnn's for the rest of the process.
    available()
    try:
        from threadpoolctl import threadpool_info
        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    except Exception:  # pragma: no cover - threadpoolctl is a dependency
        infos = []
    controls, others, described = [], [], []
    scipy_dirs = _scipy_dirs()
    for info in infos:
        if any(str(info.get("filepath", "")).startswith(d) for d in scipy_dirs):
            described.append(f"{info.get('internal_api')} {info.get('version')}")
        if info.get("internal_api") != "openblas":
            others.append(info)
            continue
        if info.get("threading_layer") != "pthreads":
            continue
        try:
            lib = ctypes.CDLL(info["filepath"])  # already loaded: the same handle
        except OSError:
            others.append(info)
            continue
        get, set_ = _symbol(lib, "openblas_get_num_threads"), _symbol(lib, "openblas_set_num_threads")
        if get is None or set_ is None:
            others.append(info)
            continue
        controls.append((ctypes.cast(get, ctypes.c_void_p).value,
                         ctypes.cast(set_, ctypes.c_void_p).value))
    _k.set_blas_thread_controls(controls)
    return (bool(others), described)


class _SharedLimit:
    """A threadpoolctl limit shared by concurrent users: the first entrant
    sets it and saves the libraries' settings, the last one out restores
    them. (Separate ``threadpool_limits`` blocks in several Python threads
    interleave their saves and restores and can leave BLAS limited for
    the rest of the process.) While any user is inside, the first
    entrant's limit holds."""

    def __init__(self):
        self._lock = threading.Lock()
        self._depth = 0
        self._limiter = None

    @contextlib.contextmanager
    def __call__(self, n):
        from threadpoolctl import threadpool_limits
        with self._lock:
            if self._depth == 0:
                self._limiter = threadpool_limits(limits=n, user_api="blas")
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._limiter.restore_original_limits()
                    self._limiter = None


_shared_limit = _SharedLimit()


@contextlib.contextmanager
def _threadpoolctl_single():
    with _shared_limit(1):
        yield


@contextlib.contextmanager
def limit_blas_threads(n):
    """BLAS limited to ``n`` threads inside the block, safely for concurrent
    Python threads (``fastnn.fit(blas_threads=...)`` uses it).

    With ``n == 1`` the OpenBLAS libraries are switched through the same
    counted section as the dense layer's calls, so the two never undo each
    other's settings; other BLAS libraries, and other ``n``, go through a
    counted threadpoolctl limit. Every setting is restored when the last
    concurrent block exits.
    """
    needs_threadpoolctl, _ = _discover()
    if n == 1:
        _k.blas_single_enter()
        try:
            if needs_threadpoolctl:
                with _shared_limit(1):
                    yield
            else:
                yield
        finally:
            _k.blas_single_leave()
    else:
        with _shared_limit(n):
            yield


def single_threaded():
    """A context in which BLAS runs single-threaded: an OpenBLAS library is
    switched directly by the compiled wrappers (see ``_k.dense_forward``),
    any other BLAS through threadpoolctl. Returns a null context when
    nothing beyond the direct switch is needed."""
    needs_threadpoolctl, _ = _discover()
    return _threadpoolctl_single() if needs_threadpoolctl else contextlib.nullcontext()


def describe():
    """How the dense layer's products run, for :func:`fastnn.show_config`."""
    if not available():
        return "numpy.matmul (scipy not installed), then fastnn's fused pass"
    _, described = _discover()
    blas = f"scipy.linalg.cython_blas ({', '.join(described) or 'unknown BLAS'})"
    from fastnn._config import get_dense_engine

    engine = get_dense_engine()
    products = {"auto": f"fastnn's own product for float32 on FMA CPUs, {blas} otherwise",
                "own": "fastnn's own product", "blas": blas}[engine]
    return f"{products} (engine {engine}), single-threaded tiles in fastnn's threads"
