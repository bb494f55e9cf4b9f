"""Threads, SIMD level and denormal handling: the run-time settings that
every kernel call reads."""
import contextlib
import contextvars
import os
import platform
import sys

import numpy as np

from fastnn._ext import runtime as _runtime

__all__ = [
    "get_num_threads", "set_num_threads", "threads", "hot_threads",
    "get_simd_level", "set_simd_level", "available_simd_levels",
    "get_flush_denormals", "set_flush_denormals", "flush_denormals",
    "get_dense_engine", "set_dense_engine", "show_config",
]

SIMD_LEVELS = ("baseline", "avx2", "avx512")
DENSE_ENGINES = ("auto", "blas", "own")  # indices are fnn_dense_engine's values
FLAG_FLUSH_DENORMALS = 1

_num_threads = None  # set_num_threads(); None follows the environment
# threads(n): per Python thread (and per asyncio task), never seen by others
_context_threads = contextvars.ContextVar("fastnn_threads", default=None)
_flags = 0


def get_num_threads():
    """Number of threads fastnn kernels use when called without ``n_threads``.

    In order: the innermost :func:`threads` block of the calling Python
    thread (each thread has its own), else the process-wide
    :func:`set_num_threads`, else, read at each call, the OpenMP runtime's
    limit (``omp_get_max_threads()``, which reflects ``OMP_NUM_THREADS`` at
    start-up and limits set through threadpoolctl), lowered by
    ``OMP_NUM_THREADS`` if that is set now.

    Returns
    -------
    int
    """
    n = _context_threads.get()
    if n is not None:
        return n
    if _num_threads is not None:
        return _num_threads
    return _runtime.default_threads()


def set_num_threads(n):
    """Fix the default thread count of fastnn kernels, for the whole process.

    A :func:`threads` block of a Python thread takes precedence inside it.

    Parameters
    ----------
    n : int or None
        Threads to use (>= 1), or None to follow the environment again.
    """
    global _num_threads
    if n is not None:
        n = _check_thread_count(n, "n")
    _num_threads = n


# the kernels take the thread count as a C int
MAX_THREADS = 2**31 - 1


def _check_thread_count(n, name):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{name} must be >= 1, got {n}")
    if n > MAX_THREADS:
        raise ValueError(f"{name} must be <= {MAX_THREADS}, got {n}")
    return int(n)


# fastnn's own thread pool (csrc/core/parallel.c) survives fork(): the child
# creates new workers at its first parallel call, whichever entry point (Python,
# ctypes, C) the parent used. Builds on OpenMP fork-join instead (no POSIX
# threads) cannot: libgomp's pool is not copied, and a child that entered a
# parallel region would wait forever. There, a child forked after the parent
# ran multi-threaded runs every kernel on its calling thread.
_pool_used = False
_forked_child = False


def _after_fork_in_child():
    global _forked_child
    _forked_child = _forked_child or (_pool_used and not _runtime.pooled())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def resolve_threads(n_threads):
    """The thread count for one call: ``n_threads`` if given, else the default
    (:func:`get_num_threads`)."""
    global _pool_used
    if n_threads is None:
        n = get_num_threads()
    else:
        n = _check_thread_count(n_threads, "n_threads")
    if _forked_child:
        return 1
    if n > 1:
        _pool_used = True
    return n


@contextlib.contextmanager
def threads(n):
    """Context manager: fastnn kernels called from this Python thread use
    ``n`` threads inside the block.

    The setting belongs to the calling Python thread (a context variable):
    other threads keep their own, and it is restored when the block exits,
    whatever other threads do meanwhile. :func:`set_num_threads` sets the
    process-wide default instead.

    Parameters
    ----------
    n : int
        Threads (>= 1).

    Examples
    --------
    >>> import fastnn
    >>> with fastnn.threads(1):
    ...     pass  # single-threaded kernels here
    """
    token = _context_threads.set(_check_thread_count(n, "n"))
    try:
        yield
    finally:
        _context_threads.reset(token)


@contextlib.contextmanager
def hot_threads():
    """Context manager: keep fastnn's worker threads spinning between kernel
    calls inside the block.

    After a call, workers spin briefly for the next one (``FASTNN_SPIN_US``,
    50 us by default) and then sleep, so a program that calls a kernel now
    and then gets its cores back at once. A training loop calls a dozen
    kernels per step with Python between them: there the workers fall
    asleep between calls, every call pays a wake-up, and small calls run on
    the calling thread alone. Inside this block the workers spin 2 ms for
    the next call instead, holding a core while they wait. :func:`fastnn.fit`,
    ``evaluate`` and ``predict`` use it; use it around a hand-written
    training loop. Blocks nest and may be open in several Python threads;
    the workers spin longer while any is open. With ``FASTNN_SPIN_US=0``
    workers never spin, in this block either.

    Examples
    --------
    >>> import fastnn
    >>> with fastnn.hot_threads():
    ...     pass  # the steps of a training loop here
    """
    _runtime.hot_begin()
    try:
        yield
    finally:
        _runtime.hot_end()


def get_flush_denormals():
    """Whether kernels flush denormal numbers to zero while they run."""
    return bool(_flags & FLAG_FLUSH_DENORMALS)


def set_flush_denormals(enabled):
    """Flush denormals to zero (FTZ/DAZ) inside fastnn kernels.

    Optimizer state that decays towards zero (e.g. ``exp_avg_sq`` of a
    parameter whose gradient vanished) can drift into the denormal range,
    where arithmetic is many times slower on most CPUs. With this on, such
    values become 0 inside kernels; the caller's floating-point mode is
    restored when each kernel returns.
    """
    global _flags
    if enabled:
        _flags |= FLAG_FLUSH_DENORMALS
    else:
        _flags &= ~FLAG_FLUSH_DENORMALS


@contextlib.contextmanager
def flush_denormals(enabled=True):
    """Context manager form of :func:`set_flush_denormals`."""
    previous = get_flush_denormals()
    set_flush_denormals(enabled)
    try:
        yield
    finally:
        set_flush_denormals(previous)


def kernel_flags():
    return _flags


def available_simd_levels():
    """SIMD levels this CPU and build support, lowest first."""
    return SIMD_LEVELS[: _runtime.simd_max_level() + 1]


def get_simd_level():
    """Name of the SIMD level the kernels use now (chosen at import)."""
    return SIMD_LEVELS[_runtime.simd_level()]


def set_simd_level(level):
    """Switch every kernel to the code compiled for ``level``.

    The default is the best level the CPU supports; the environment variable
    ``FASTNN_SIMD`` (baseline, avx2 or avx512) caps it at import. All levels
    give bitwise-identical results, except that the activations' AVX2 and
    AVX-512 code uses fused multiply-adds and the baseline level then agrees
    to a few ulp; this exists to test and compare them.

    Parameters
    ----------
    level : {"baseline", "avx2", "avx512"}
    """
    if level not in SIMD_LEVELS:
        raise ValueError(f"level must be one of {SIMD_LEVELS}, got {level!r}")
    if level not in available_simd_levels():
        raise ValueError(f"SIMD level {level!r} is not supported here; "
                         f"available: {available_simd_levels()}")
    _runtime.set_simd_level(SIMD_LEVELS.index(level))


def get_dense_engine():
    """Name of the product the dense layer's tiles run: "auto", "blas" or "own"."""
    from fastnn._ext import dense

    return DENSE_ENGINES[dense.get_engine()]


def set_dense_engine(engine):
    """Choose the matrix product inside the dense layer (for the whole process).

    ``"auto"`` (the default, or ``FASTNN_DENSE_ENGINE`` at import) runs
    fastnn's own packed product for float32 on CPUs with FMA (AVX2, AVX-512),
    where it measured faster than OpenBLAS, and SciPy's BLAS for float64 and
    older CPUs; ``"own"`` runs fastnn's product everywhere; ``"blas"`` runs
    the BLAS whenever SciPy's is available. Every engine gives bitwise the
    same results for any thread count, but the engines round differently, so
    results differ between them in the last bits.

    Parameters
    ----------
    engine : {"auto", "blas", "own"}
    """
    from fastnn._ext import dense

    if not isinstance(engine, str):
        raise TypeError(f"engine must be a str, got {type(engine).__name__}")
    if engine not in DENSE_ENGINES:
        raise ValueError(f"engine must be one of {DENSE_ENGINES}, got {engine!r}")
    dense.set_engine(DENSE_ENGINES.index(engine))


def _blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    found = [f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
             for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(found) if found else "none loaded"


def _dense_products_info():
    from fastnn import _blas
    return _blas.describe()


def config_dict():
    """The facts :func:`show_config` prints, as a dict."""
    from fastnn import __version__

    omp = _runtime.openmp_enabled()
    return {
        "fastnn": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "compiler": _runtime.compiler_version(),
        "openmp": (f"on (version {_runtime.openmp_version()})" if omp
                   else "off (built single-threaded)"),
        "simd_level": get_simd_level(),
        "simd_available": ", ".join(available_simd_levels()),
        "threads": get_num_threads(),
        "thread_runtime": (f"fastnn pool (workers spin {_runtime.spin_us()} us, then sleep)"
                           if _runtime.pooled() else "OpenMP fork-join"),
        "flush_denormals": get_flush_denormals(),
        "blas": _blas_info(),
        "dense_products": _dense_products_info(),
        "dense_engine": get_dense_engine(),
        "api_version": _runtime.API_VERSION,
    }


def show_config():
    """Print the version, compiler, OpenMP, SIMD level, threads and BLAS."""
    for key, value in config_dict().items():
        print(f"{key:>16}: {value}")
