"""The C API: libfastnn through ctypes and from a C program, the Cython API
from a downstream extension built during the test run, zero-copy buffers,
and the API version check."""
import array
import ctypes
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn.functional import buffer_pointer
from fastnn.reference import MATH_FUNCTIONS, layer_norm, ref_math

from conftest import assert_close

ROOT = Path(fastnn.__file__).resolve().parent.parent
SIZES = [0, 1, 15, 16, 17, 1001, 100_003]
# the vector math is accurate to a few ulp, not to the last bit
MATH_TOL = {np.dtype(np.float32): dict(rtol=2e-6, atol=1e-7),
            np.dtype(np.float64): dict(rtol=1e-14, atol=1e-15)}
SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}
CTYPE = {np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double}


def _compiler():
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


needs_cc = pytest.mark.skipif(_compiler() is None, reason="no C compiler available")


def _math_input(name, n, dtype, rng):
    if name == "log1p":  # the kernel's domain: [0, 1]
        return rng.uniform(0.0, 1.0, n).astype(dtype)
    return rng.uniform(-6.0, 6.0, n).astype(dtype)


# ---------------------------------------------------------------- ctypes


@pytest.fixture(scope="module")
def lib():
    lib = ctypes.CDLL(fastnn.get_library())
    vp, sz, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    for sfx in ("f32", "f64"):
        f = getattr(lib, f"fnn_math_{sfx}")
        f.argtypes, f.restype = [i, vp, vp, sz, i, i], None
        f = getattr(lib, f"fnn_layer_norm_{sfx}")
        f.argtypes = [vp, sz, sz, vp, vp, ctypes.c_double, vp, vp, vp, i, i]
        f.restype = i
        f = getattr(lib, f"fnn_sum_squares_{sfx}")
        f.argtypes, f.restype = [vp, sz, i, i], ctypes.c_double
    lib.fnn_version.restype = ctypes.c_char_p
    lib.fnn_simd_set_level.argtypes = [i]
    return lib


@pytest.fixture
def lib_simd_level(lib):
    """Each SIMD level of the ctypes-loaded library in turn."""
    previous = lib.fnn_simd_level()
    levels = list(range(lib.fnn_simd_max_level() + 1))
    yield levels
    lib.fnn_simd_set_level(previous)


def test_library_identity(lib):
    header = (Path(fastnn.get_include()) / "fastnn.h").read_text()
    api = int(re.search(r"#define FASTNN_API_VERSION (\d+)", header).group(1))
    assert lib.fnn_api_version() == api == fastnn.functional.api_version()
    assert lib.fnn_version().decode() == fastnn.__version__
    assert lib.fnn_features() & 2  # SIMD variants compiled in
    assert 0 <= lib.fnn_simd_level() <= lib.fnn_simd_max_level()


def test_every_kernel_exported(lib):
    from fastnn._ext import capi

    assert len(capi.KERNELS) > 50
    missing = [name for name in capi.KERNELS if not hasattr(lib, name)]
    assert missing == []
    assert set(capi.KERNELS) <= set(capi.__pyx_capi__)
    for family in ("optim", "losses", "random", "norm", "dense"):
        assert (Path(fastnn.get_include()) / family / f"fastnn_{family}.h").exists()


def test_simd_level_chosen_at_load():
    """No Python module initialises libfastnn: its constructor does."""
    code = ("import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); "
            "print(lib.fnn_simd_level(), lib.fnn_simd_max_level())")
    out = subprocess.run([sys.executable, "-c", code, fastnn.get_library()], check=True,
                         capture_output=True, text=True, env={**os.environ, "FASTNN_SIMD": ""})
    level, max_level = map(int, out.stdout.split())
    assert level == max_level
    out = subprocess.run([sys.executable, "-c", code, fastnn.get_library()], check=True,
                         capture_output=True, text=True,
                         env={**os.environ, "FASTNN_SIMD": "baseline"})
    assert out.stdout.split()[0] == "0"


def _ctypes_math(lib, name, x, y, n_threads=1):
    px, py = buffer_pointer(x, name="x"), buffer_pointer(y, writable=True, name="y")
    getattr(lib, f"fnn_math_{SUFFIX[px.dtype]}")(
        MATH_FUNCTIONS.index(name), px.address, py.address, px.size, n_threads, 0)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "erf"])
def test_ctypes_math(lib, name, n, dtype, rng):
    x = _math_input(name, n, dtype, rng)
    y = np.full_like(x, np.nan)
    _ctypes_math(lib, name, x, y)
    np.testing.assert_allclose(y, ref_math(name, x), **MATH_TOL[dtype])


def test_ctypes_every_simd_level(lib, lib_simd_level, dtype, rng):
    """Level 0 is the baseline, 1 AVX2, 2 AVX-512: the activation math uses
    fused multiply-adds at the FMA levels, which agree bit for bit; the
    baseline agrees to a few ulp. Sums of squares: bitwise at every level."""
    x = rng.normal(size=4099).astype(dtype)
    results, sums = {}, {}
    f = getattr(lib, f"fnn_sum_squares_{SUFFIX[dtype]}")
    for level in lib_simd_level:
        assert lib.fnn_simd_set_level(level) == level
        y = np.empty_like(x)
        _ctypes_math(lib, "tanh", x, y)
        results[level] = y
        sums[level] = f(x.ctypes.data, x.size, 1, 0)
    fma = [lv for lv in results if lv >= 1]
    for level in fma[1:]:
        np.testing.assert_array_equal(results[level], results[fma[0]])
    eps = np.finfo(dtype).eps
    for level in results:
        np.testing.assert_allclose(results[level], results[0], rtol=16 * eps, atol=16 * eps)
        assert sums[level] == sums[0]


def test_ctypes_threads_bitwise(lib, dtype, rng):
    x = rng.normal(size=300_001).astype(dtype)
    y1, y2 = np.empty_like(x), np.empty_like(x)
    _ctypes_math(lib, "exp", x, y1, n_threads=1)
    _ctypes_math(lib, "exp", x, y2, n_threads=2)
    np.testing.assert_array_equal(y1, y2)
    f = getattr(lib, f"fnn_sum_squares_{SUFFIX[dtype]}")
    s1 = f(x.ctypes.data, x.size, 1, 0)
    s2 = f(x.ctypes.data, x.size, 2, 0)
    assert s1 == s2
    assert_close(s1, np.sum(x.astype(np.float64) ** 2), np.float64, rtol=1e-12)


@pytest.mark.parametrize("m,d", [(1, 1), (3, 15), (4, 16), (5, 17), (33, 257)])
def test_ctypes_layer_norm(lib, m, d, dtype, rng):
    x = rng.normal(2.0, 3.0, (m, d)).astype(dtype)
    w = rng.normal(size=d).astype(dtype)
    b = rng.normal(size=d).astype(dtype)
    y = np.empty_like(x)
    mean, rstd = np.empty(m), np.empty(m)
    rc = getattr(lib, f"fnn_layer_norm_{SUFFIX[dtype]}")(
        x.ctypes.data, m, d, w.ctypes.data, b.ctypes.data, 1e-5, y.ctypes.data,
        mean.ctypes.data, rstd.ctypes.data, 2, 0)
    assert rc == 0
    ey, emean, erstd = layer_norm(x, d, w, b, eps=1e-5)
    assert_close(y, ey, dtype, atol=1e-5 if dtype == np.float32 else 1e-12)
    assert_close(mean, emean, np.float64)
    assert_close(rstd, erstd, np.float64)


# ---------------------------------------------------------------- zero copy


class _InterfaceOnly:
    def __init__(self, arr):
        self._arr = arr
        self.__array_interface__ = arr.__array_interface__


class _DLPackOnly:
    def __init__(self, arr):
        self._arr = arr

    def __dlpack__(self, **kwargs):
        return self._arr.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._arr.__dlpack_device__()


def test_buffers_are_not_copied(lib):
    base = np.arange(37, dtype=np.float64) / 7.0
    addr = base.ctypes.data
    assert buffer_pointer(base).address == addr
    assert buffer_pointer(memoryview(base)).address == addr
    assert buffer_pointer(_InterfaceOnly(base)).address == addr
    assert buffer_pointer(_DLPackOnly(base)).address == addr
    a = array.array("d", base.tolist())
    assert buffer_pointer(a).address == a.buffer_info()[0]
    raw = bytearray(np.float32(np.arange(9)).tobytes())
    view = memoryview(raw).cast("f")
    p = buffer_pointer(view, np.float32, writable=True)
    assert p.address == ctypes.addressof(ctypes.c_char.from_buffer(raw))
    assert (p.size, p.dtype) == (9, np.float32)


def test_ctypes_on_non_numpy_buffers(lib):
    """array.array in, a bytearray-backed memoryview out, through ctypes."""
    src = [(-3.0 + 0.25 * i) for i in range(41)]
    x = array.array("f", src)
    raw = bytearray(4 * len(src))
    y = memoryview(raw).cast("f")
    _ctypes_math(lib, "sigmoid", x, y)
    np.testing.assert_allclose(np.frombuffer(raw, np.float32),
                               ref_math("sigmoid", np.float32(src)), **MATH_TOL[np.dtype("f4")])
    x64 = array.array("d", src)
    y64 = array.array("d", [0.0]) * len(src)
    _ctypes_math(lib, "exp", memoryview(x64), y64)
    np.testing.assert_allclose(np.array(y64), np.exp(src), **MATH_TOL[np.dtype("f8")])


@pytest.mark.parametrize("obj,kwargs,error,match", [
    (np.arange(4), {}, TypeError, "buffer has dtype int64"),
    ([1.0, 2.0], {}, TypeError, "buffer must support"),
    (np.zeros(4, np.float32), {"dtype": np.float64}, TypeError, "expected float64"),
    (np.zeros(4), {"dtype": np.int32}, TypeError, "dtype must be"),
    (np.zeros(4, ">f8"), {}, TypeError, "native"),
    (np.zeros((4, 4))[:, 1], {"name": "x"}, ValueError, "x must be C-contiguous"),
    (memoryview(bytes(16)).cast("d"), {"writable": True}, ValueError, "read-only"),
])
def test_buffer_pointer_bad_inputs(obj, kwargs, error, match):
    before = np.array(obj, copy=True) if not isinstance(obj, list) else list(obj)
    with pytest.raises(error, match=match):
        buffer_pointer(obj, **kwargs)
    np.testing.assert_array_equal(np.asarray(obj), before)


def test_get_library_and_include():
    assert os.path.isabs(fastnn.get_library())
    assert (Path(fastnn.get_include()) / "fastnn.h").exists()
    assert (Path(fastnn.get_include()) / "capi" / "fastnn_capi.h").exists()
    cython_include = Path(fastnn.get_cython_include())
    assert cython_include.is_absolute()
    for pxd in ("capi.pxd", "c_capi.pxd"):
        assert (cython_include / "fastnn" / "_ext" / pxd).exists()


def test_one_native_library():
    """Every extension links libfastnn (no kernels of its own) and finds it
    relative to itself, so one SIMD level and one thread pool serve them all."""
    import fastnn._ext as ext

    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("no readelf")
    libdir = os.path.dirname(fastnn.get_library())
    extensions = sorted(Path(ext.__path__[0]).glob("*.so"))
    assert len(extensions) >= 8
    for so in extensions:
        dynamic = subprocess.run([readelf, "-d", str(so)], check=True, capture_output=True,
                                 text=True).stdout
        assert "[libfastnn.so]" in dynamic, so
        assert "[$ORIGIN/../lib]" in dynamic, so
        assert os.path.samefile(so.parent / ".." / "lib", libdir)
        symbols = subprocess.run([readelf, "-Ws", "--dyn-syms", str(so)], check=True,
                                 capture_output=True, text=True).stdout
        defined = [line.split()[-1] for line in symbols.splitlines()
                   if " fnn_" in line and " UND " not in line]
        assert defined == [], (so, defined[:5])
    previous = fastnn.get_simd_level()
    fastnn.set_simd_level("baseline")
    try:
        lib = ctypes.CDLL(fastnn.get_library())  # the process's one copy
        assert lib.fnn_simd_level() == 0
    finally:
        fastnn.set_simd_level(previous)


# ---------------------------------------------------------------- generated code


@needs_cc
def test_generated_cython_api_up_to_date():
    if not (ROOT / "tools" / "gen_capi.py").exists():
        pytest.skip("fastnn is installed from a wheel: no source checkout to check")
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_capi.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# ---------------------------------------------------------------- plain C

C_PROGRAM = r"""
#include <stdio.h>
#include <math.h>
#include "fastnn.h"

int main(void)
{
    double x[17], y[17];
    float xf[17], yf[17];
    if (fnn_api_version() != FASTNN_API_VERSION) {
        fprintf(stderr, "fastnn API %d, compiled against %d\n", fnn_api_version(),
                FASTNN_API_VERSION);
        return 2;
    }
    for (int i = 0; i < 17; ++i) { x[i] = -2.0 + 0.25 * i; xf[i] = (float)x[i]; }
    fnn_math_f64(FNN_MATH_TANH, x, y, 17, 2, 0);
    fnn_math_f32(FNN_MATH_TANH, xf, yf, 17, 1, FNN_FLAG_FLUSH_DENORMALS);
    double ss = fnn_sum_squares_f64(x, 17, 2, 0);
    printf("%s %d %.17g\n", fnn_version(), fnn_simd_level(), ss);
    for (int i = 0; i < 17; ++i) printf("%.17g %.9g\n", y[i], (double)yf[i]);
    return 0;
}
"""


@needs_cc
def test_plain_c_program(tmp_path):
    src = tmp_path / "main.c"
    src.write_text(C_PROGRAM)
    libdir = os.path.dirname(fastnn.get_library())
    exe = tmp_path / "main"
    subprocess.run([_compiler(), "-std=c11", "-O1", f"-I{fastnn.get_include()}", str(src),
                    "-o", str(exe), str(fastnn.get_library()), f"-Wl,-rpath,{libdir}", "-lm"],
                   check=True, capture_output=True)
    lines = subprocess.run([str(exe)], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    version, level, ss = lines[0].split()
    assert version == fastnn.__version__ and int(level) >= 0
    x = -2.0 + 0.25 * np.arange(17)
    assert_close(float(ss), np.sum(x * x), np.float64)
    y = np.array([[float(v) for v in line.split()] for line in lines[1:]])
    np.testing.assert_allclose(y[:, 0], np.tanh(x), **MATH_TOL[np.dtype("f8")])
    np.testing.assert_allclose(y[:, 1], np.tanh(np.float32(x)), **MATH_TOL[np.dtype("f4")])


# ---------------------------------------------------------------- downstream Cython

DOWNSTREAM_PYX = '''
# cython: language_level=3, boundscheck=False, wraparound=False
"""A downstream module: cimports fastnn kernels, no link-time dependency."""
from cython cimport floating
from fastnn._ext.capi cimport (
    import_fastnn, fnn_math_f32, fnn_math_f64, fnn_layer_norm_f32, fnn_layer_norm_f64,
    FNN_MATH_TANH, FASTNN_API_VERSION,
)

import_fastnn()

COMPILED_API = FASTNN_API_VERSION


def tanh(const floating[::1] x, floating[::1] y, int n_threads=1):
    cdef size_t n = x.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            fnn_math_f32(FNN_MATH_TANH, &x[0], &y[0], n, n_threads, 0)
        else:
            fnn_math_f64(FNN_MATH_TANH, &x[0], &y[0], n, n_threads, 0)


def layer_norm(const floating[:, ::1] x, const floating[::1] w, const floating[::1] b,
               double eps, floating[:, ::1] y, double[::1] mean, double[::1] rstd,
               int n_threads=1):
    cdef int rc
    with nogil:
        if floating is float:
            rc = fnn_layer_norm_f32(&x[0, 0], x.shape[0], x.shape[1], &w[0], &b[0], eps,
                                    &y[0, 0], &mean[0], &rstd[0], n_threads, 0)
        else:
            rc = fnn_layer_norm_f64(&x[0, 0], x.shape[0], x.shape[1], &w[0], &b[0], eps,
                                    &y[0, 0], &mean[0], &rstd[0], n_threads, 0)
    return rc
'''

DOWNSTREAM_SETUP = '''
import sys
from setuptools import Extension, setup
from Cython.Build import cythonize

# fastnn.get_include(), a copy of it with another API version, and
# fastnn.get_cython_include() (where Cython finds fastnn/_ext/capi.pxd)
include, stale_include, cython_include = sys.argv.pop(1), sys.argv.pop(1), sys.argv.pop(1)
exts = [Extension("downstream", ["downstream.pyx"], include_dirs=[include],
                  extra_compile_args=["-O0"]),
        Extension("downstream_stale", ["downstream_stale.pyx"], include_dirs=[stale_include],
                  extra_compile_args=["-O0"])]
setup(ext_modules=cythonize(exts, include_path=[cython_include], quiet=True))
'''


@pytest.fixture(scope="module")
def downstream(tmp_path_factory):
    """Build a downstream extension against fastnn's include dir and .pxd files,
    plus a copy compiled against a header of another API version."""
    if _compiler() is None:
        pytest.skip("no C compiler available")
    pytest.importorskip("Cython")
    tmp = tmp_path_factory.mktemp("downstream")
    (tmp / "downstream.pyx").write_text(DOWNSTREAM_PYX)
    (tmp / "downstream_stale.pyx").write_text(DOWNSTREAM_PYX)
    (tmp / "setup.py").write_text(DOWNSTREAM_SETUP)
    stale = tmp / "stale_include"
    shutil.copytree(fastnn.get_include(), stale)
    header = stale / "fastnn.h"
    header.write_text(re.sub(r"#define FASTNN_API_VERSION \d+", "#define FASTNN_API_VERSION 999",
                             header.read_text()))
    # as the README says: no PYTHONPATH pointing into a checkout, so Cython finds
    # the .pxd files only through get_cython_include(), whatever the install
    # (an editable install's import hook is invisible to Cython)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "setup.py", fastnn.get_include(), str(stale),
                          fastnn.get_cython_include(), "build_ext", "--inplace", "-j", "2"],
                         cwd=tmp, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    sys.path.insert(0, str(tmp))
    try:
        import downstream as mod
    finally:
        sys.path.remove(str(tmp))
    return tmp, mod


def test_downstream_cython_tanh(downstream, simd_level, dtype, rng):
    _, mod = downstream
    assert mod.COMPILED_API == fastnn.functional.api_version()
    for n in SIZES:
        x = rng.uniform(-5, 5, n).astype(dtype)
        y = np.full_like(x, np.nan)
        mod.tanh(x, y)
        np.testing.assert_allclose(y, np.tanh(x.astype(np.float64)), **MATH_TOL[dtype])
        y2 = np.empty_like(x)
        mod.tanh(x, y2, 2)
        np.testing.assert_array_equal(y, y2)


def test_downstream_cython_layer_norm(downstream, dtype, rng):
    _, mod = downstream
    m, d = 7, 33
    x = rng.normal(1.0, 2.0, (m, d)).astype(dtype)
    w, b = rng.normal(size=d).astype(dtype), rng.normal(size=d).astype(dtype)
    y, mean, rstd = np.empty_like(x), np.empty(m), np.empty(m)
    assert mod.layer_norm(x, w, b, 1e-5, y, mean, rstd) == 0
    ey, emean, erstd = layer_norm(x, d, w, b, eps=1e-5)
    assert_close(y, ey, dtype, atol=1e-5 if dtype == np.float32 else 1e-12)
    assert_close(rstd, erstd, np.float64)


def test_downstream_cython_non_numpy_buffers(downstream):
    """Typed memoryviews take any buffer: array.array, bytearray views."""
    _, mod = downstream
    src = [0.1 * i - 1.0 for i in range(23)]
    x = array.array("d", src)
    y = array.array("d", [0.0]) * len(src)
    mod.tanh(x, y)
    np.testing.assert_allclose(np.array(y), np.tanh(src), **MATH_TOL[np.dtype("f8")])
    raw = bytearray(4 * len(src))
    mod.tanh(memoryview(array.array("f", src)), memoryview(raw).cast("f"))
    np.testing.assert_allclose(np.frombuffer(raw, np.float32), np.tanh(np.float32(src)),
                               **MATH_TOL[np.dtype("f4")])


def test_downstream_stale_api_version_fails_at_import(downstream):
    tmp, _ = downstream
    sys.path.insert(0, str(tmp))
    try:
        with pytest.raises(ImportError, match=r"compiled against fastnn C API version 999 .*"
                           r"provides C API version \d+: rebuild"):
            import downstream_stale  # noqa: F401
    finally:
        sys.path.remove(str(tmp))


class _BlasGemm(ctypes.Structure):
    """fnn_blas_gemm: the ?gemm pointers the dense layer calls."""
    _fields_ = [("sgemm", ctypes.c_void_p), ("dgemm", ctypes.c_void_p)]


class _ActParams(ctypes.Structure):
    _fields_ = [(name, ctypes.c_double)
                for name in ("negative_slope", "alpha", "beta", "threshold")]


def _scipy_gemm():
    """sgemm/dgemm of scipy.linalg.cython_blas, as a C caller would pass them."""
    cython_blas = pytest.importorskip("scipy.linalg.cython_blas")
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.argtypes, get_name.restype = [ctypes.py_object], ctypes.c_char_p
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.argtypes, get_pointer.restype = [ctypes.py_object, ctypes.c_char_p], \
        ctypes.c_void_p
    capi = cython_blas.__pyx_capi__
    return _BlasGemm(*(get_pointer(capi[k], get_name(capi[k])) for k in ("sgemm", "dgemm")))


def test_ctypes_dense_forward(lib, dtype, rng):
    """The fused dense layer from C with a BLAS the caller supplies (one
    thread: outside a parallel region the BLAS may use its own)."""
    from fastnn._ext import dense as K
    from fastnn.reference import ref_dense_forward

    gemm = _scipy_gemm()
    n, k, m = 37, 19, 23
    x = rng.standard_normal((n, k)).astype(dtype)
    w = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    y = np.full((n, m), np.nan, dtype)
    pre = np.full((n, m), np.nan, dtype)
    f = getattr(lib, f"fnn_dense_forward_{SUFFIX[np.dtype(dtype)]}")
    vp, sz, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    f.argtypes = [ctypes.POINTER(_BlasGemm), i, ctypes.POINTER(_ActParams), sz, sz, sz,
                  vp, vp, vp, vp, sz, vp, vp, i, i]
    f.restype = None
    params = _ActParams(0.01, 1.0, 1.0, 20.0)
    f(ctypes.byref(gemm), K.GELU, ctypes.byref(params), n, k, m, x.ctypes.data, w.ctypes.data,
      b.ctypes.data, None, 0, pre.ctypes.data, y.ctypes.data, 1, 0)
    ry, rz = ref_dense_forward(x.astype(np.float64), w.astype(np.float64),
                               b.astype(np.float64), "gelu")
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y, ry, **tol)
    np.testing.assert_allclose(pre, rz, **tol)


def test_act_params_null_means_torch_defaults(lib, dtype, rng):
    """fastnn_dense.h: `params` may be NULL (torch.nn's defaults), e.g. for a
    ReLU, which has no hyperparameter; it was dereferenced (a crash)."""
    sfx = SUFFIX[np.dtype(dtype)]
    vp, sz, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    fwd, bwd = getattr(lib, f"fnn_act_forward_{sfx}"), getattr(lib, f"fnn_act_backward_{sfx}")
    fwd.argtypes = [i, ctypes.POINTER(_ActParams), sz, sz, sz, vp, vp, vp, sz, vp, vp, i, i]
    fwd.restype = None
    bwd.argtypes = [i, ctypes.POINTER(_ActParams), sz, sz, sz, vp, vp, i, vp, sz, vp, vp, vp,
                    i, i]
    bwd.restype = i
    dense = getattr(lib, f"fnn_dense_forward_{sfx}")
    dense.argtypes = [vp, i, ctypes.POINTER(_ActParams), sz, sz, sz, vp, vp, vp, vp, sz, vp, vp,
                      i, i]
    dense.restype = None
    n, c, k = 13, 7, 5
    x = rng.normal(0, 3, (n, c)).astype(dtype)
    b = rng.normal(size=c).astype(dtype)
    slope = rng.uniform(0, 0.5, c).astype(dtype)
    dy = rng.normal(size=(n, c)).astype(dtype)
    xk = rng.normal(size=(n, k)).astype(dtype)
    w = rng.normal(size=(c, k)).astype(dtype)
    defaults = _ActParams(0.01, 1.0, 1.0, 20.0)
    for act in range(11):  # FNN_ACT_N
        s, ns = (slope.ctypes.data, c) if act == 3 else (None, 0)
        out = []
        for params in (None, ctypes.byref(defaults)):
            pre, y = np.full_like(x, np.nan), np.full_like(x, np.nan)
            fwd(act, params, n, c, 1, x.ctypes.data, b.ctypes.data, s, ns, pre.ctypes.data,
                y.ctypes.data, 2, 0)
            dx, db = np.full_like(x, np.nan), np.full(c, np.nan, dtype)
            assert bwd(act, params, n, c, 1, dy.ctypes.data, pre.ctypes.data, 0, s, ns,
                       dx.ctypes.data, db.ctypes.data, None, 2, 0) == 0
            yd = np.full((n, c), np.nan, dtype)
            dense(None, act, params, n, k, c, xk.ctypes.data, w.ctypes.data, b.ctypes.data, s,
                  ns, None, yd.ctypes.data, 2, 0)
            out.append((y, pre, dx, db, yd))
        for a, e in zip(*out):
            assert not np.isnan(e).any()
            np.testing.assert_array_equal(a, e, err_msg=str(act))


@pytest.mark.parametrize("n_slope", [1, 7])
def test_prelu_backward_bias_gradient_without_slope_gradient(lib, dtype, rng, n_slope):
    """fastnn_dense.h: dslope may be NULL while dbias is wanted (a frozen
    PReLU slope). The PReLU loop wrote its slope sums through a NULL block
    pointer: a crash."""
    sfx = SUFFIX[np.dtype(dtype)]
    vp, sz, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    bwd = getattr(lib, f"fnn_act_backward_{sfx}")
    bwd.argtypes = [i, ctypes.POINTER(_ActParams), sz, sz, sz, vp, vp, i, vp, sz, vp, vp, vp,
                    i, i]
    bwd.restype = i
    dense = getattr(lib, f"fnn_dense_backward_{sfx}")
    dense.argtypes = [vp, i, ctypes.POINTER(_ActParams), sz, sz, sz, vp, vp, vp, vp, i, vp, sz,
                      vp, vp, vp, vp, vp, i, i]
    dense.restype = i
    n, c, k, PRELU = 301, 7, 5, 3
    z = rng.normal(size=(n, c)).astype(dtype)
    dy = rng.normal(size=(n, c)).astype(dtype)
    slope = rng.uniform(0, 0.5, n_slope).astype(dtype)
    x = rng.normal(size=(n, k)).astype(dtype)
    w = rng.normal(size=(c, k)).astype(dtype)
    params = _ActParams(0.01, 1.0, 1.0, 20.0)
    results = []
    for with_dslope in (True, False):
        for n_threads in (1, 2):
            dx, db = np.full_like(z, np.nan), np.full(c, np.nan, dtype)
            ds = np.full(n_slope, np.nan, dtype) if with_dslope else None
            assert bwd(PRELU, ctypes.byref(params), n, c, 1, dy.ctypes.data, z.ctypes.data, 0,
                       slope.ctypes.data, n_slope, dx.ctypes.data, db.ctypes.data,
                       None if ds is None else ds.ctypes.data, n_threads, 0) == 0
            dz, dxl = np.full_like(z, np.nan), np.full_like(x, np.nan)
            dw, db2 = np.full_like(w, np.nan), np.full(c, np.nan, dtype)
            assert dense(None, PRELU, ctypes.byref(params), n, k, c, dy.ctypes.data,
                         x.ctypes.data, w.ctypes.data, z.ctypes.data, 0, slope.ctypes.data,
                         n_slope, dz.ctypes.data, dxl.ctypes.data, dw.ctypes.data,
                         db2.ctypes.data, None, n_threads, 0) == 0
            results.append((dx, db, dz, dxl, dw, db2))
    s = slope if n_slope == 1 else slope[None, :]
    np.testing.assert_allclose(results[0][0], np.where(z > 0, dy, dy * s), rtol=1e-6)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)
