"""C API benchmarks: a kernel called through ctypes on libfastnn, with the
pointers prepared once, as a ctypes or numba user would call it.

What is measured is the native entry point itself (no Python validation
layer): per-call overhead on a small array, throughput on a large one.
"""
import ctypes

import numpy as np

from fastnn.bench.harness import Case, Target

TANH = 2  # FNN_MATH_TANH
_SFX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}
_TOL = {np.dtype(np.float32): 2e-6, np.dtype(np.float64): 1e-14}


def _library():
    import fastnn

    lib = ctypes.CDLL(fastnn.get_library())
    for sfx in _SFX.values():
        f = getattr(lib, f"fnn_math_{sfx}")
        f.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                      ctypes.c_int, ctypes.c_int]
        f.restype = None
    return lib


def _case(lib, n, label, dtype, targets, with_torch):
    from fastnn._config import kernel_flags, resolve_threads

    dtype = np.dtype(dtype)
    rng = np.random.default_rng(0)
    x = rng.uniform(-4, 4, n).astype(dtype)
    y = np.empty_like(x)
    y_ref = np.empty_like(x)
    fn = getattr(lib, f"fnn_math_{_SFX[dtype]}")
    px, py = x.ctypes.data, y.ctypes.data
    n_threads, flags = resolve_threads(None), kernel_flags()
    # ctypes gets bare addresses: the closure must own the arrays behind them
    buffers = (x, y)

    def run_fastnn(buffers=buffers):
        fn(TANH, px, py, n, n_threads, flags)

    def run_numpy():
        np.tanh(x, out=y_ref)

    def check():
        m = min(n, 100_003)
        xs = x[:m].copy()
        ys = np.full_like(xs, np.nan)
        fn(TANH, xs.ctypes.data, ys.ctypes.data, m, n_threads, flags)
        np.testing.assert_allclose(ys, np.tanh(xs.astype(np.float64)), rtol=_TOL[dtype],
                                   atol=_TOL[dtype])

    torch_fn = None
    if with_torch:
        import torch

        tx, ty = torch.from_numpy(x), torch.from_numpy(np.empty_like(x))

        def torch_fn():
            torch.tanh(tx, out=ty)

    return Case(kernel="capi ctypes tanh", size=label, dtype=dtype.name, fastnn=run_fastnn,
                numpy=run_numpy, check=check, bytes_moved=2 * n * dtype.itemsize,
                torch=torch_fn, targets=targets)


def cases(full=False, with_torch=False):
    try:
        lib = _library()
    except (OSError, FileNotFoundError):
        return []
    out = []
    for dtype in (np.float32, np.float64):
        out.append(_case(lib, 1000, "1000", dtype,
                         [Target("<=3 us/call", lambda r: r["fastnn_s"] <= 3e-6)], with_torch))
    sizes = [(1 << 20, "1M")] + ([(1 << 24, "16M")] if full else [])
    for n, label in sizes:
        for dtype in (np.float32, np.float64):
            # throughput is the kernel's own (see the dense benchmarks): no target here
            out.append(_case(lib, n, label, dtype, [], with_torch))
    return out
