"""Threads, SIMD level and denormal handling: the run-time settings that
every kernel call reads."""
import contextlib
import os
import platform
import sys

import numpy as np

from fastnn._ext import runtime as _runtime

__all__ = [
    "get_num_threads", "set_num_threads", "threads",
    "get_simd_level", "set_simd_level", "available_simd_levels",
    "get_flush_denormals", "set_flush_denormals", "flush_denormals",
    "show_config",
]

SIMD_LEVELS = ("baseline", "avx2", "avx512")
FLAG_FLUSH_DENORMALS = 1

_num_threads = None  # set_num_threads() / threads(); None follows the environment
_flags = 0


def get_num_threads():
    """Number of threads fastnn kernels use when called without ``n_threads``.

    Unless fixed by :func:`set_num_threads` or :func:`threads`, it is read at
    each call: the OpenMP runtime's limit (``omp_get_max_threads()``, which
    reflects ``OMP_NUM_THREADS`` at start-up and limits set through
    threadpoolctl), lowered by ``OMP_NUM_THREADS`` if that is set now.

    Returns
    -------
    int
    """
    if _num_threads is not None:
        return _num_threads
    return _runtime.default_threads()


def set_num_threads(n):
    """Fix the default thread count of fastnn kernels.

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


# libgomp's thread pool does not survive fork(): a child that enters a
# parallel region after its parent used one waits forever for pool threads that
# were not copied. Such a child runs every kernel on its calling thread; use the
# "spawn" or "forkserver" start method for multi-threaded workers.
_pool_used = False
_forked_child = False


def _after_fork_in_child():
    global _forked_child
    _forked_child = _forked_child or _pool_used


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def resolve_threads(n_threads):
    """The thread count for one call: ``n_threads`` if given, else the default.

    1 in a process forked after fastnn ran multi-threaded (see above)."""
    global _pool_used
    if n_threads is None:
        n = _num_threads if _num_threads is not None else _runtime.default_threads()
    else:
        n = _check_thread_count(n_threads, "n_threads")
    if _forked_child:
        return 1
    if n > 1:
        _pool_used = True
    return n


@contextlib.contextmanager
def threads(n):
    """Context manager: fastnn kernels use ``n`` threads inside the block.

    Examples
    --------
    >>> import fastnn
    >>> with fastnn.threads(1):
    ...     pass  # single-threaded kernels here
    """
    global _num_threads
    previous = _num_threads
    set_num_threads(n)
    try:
        yield
    finally:
        _num_threads = previous


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
        "flush_denormals": get_flush_denormals(),
        "blas": _blas_info(),
        "dense_products": _dense_products_info(),
        "api_version": _runtime.API_VERSION,
    }


def show_config():
    """Print the version, compiler, OpenMP, SIMD level, threads and BLAS."""
    for key, value in config_dict().items():
        print(f"{key:>16}: {value}")
