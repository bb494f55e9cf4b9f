"""The shipped C headers as a C or C++ programmer includes them: fastnn.h and
each family header (fastnn/include/<family>/fastnn_<family>.h) on its own,
in C99, C11 and C++, and a C++ program linked against libfastnn through a
family header alone."""
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import fastnn

INCLUDE = Path(fastnn.get_include())
HEADERS = sorted(str(p.relative_to(INCLUDE)) for p in INCLUDE.glob("*/fastnn_*.h"))


def _tool(var, default):
    name = (os.environ.get(var) or sysconfig.get_config_var(var) or default).split()[0]
    return shutil.which(name)


CC = _tool("CC", "cc")
CXX = _tool("CXX", "c++") or shutil.which("g++") or shutil.which("clang++")


def _syntax_check(compiler, std, header, tmp_path, suffix):
    src = tmp_path / f"use{suffix}"
    src.write_text(f'#include "{header}"\nint fnn_test_unit(void);\n')
    out = subprocess.run([compiler, f"-std={std}", "-Wall", "-Wextra", "-pedantic", "-Werror",
                          "-fsyntax-only", f"-I{INCLUDE}", str(src)],
                         capture_output=True, text=True)
    assert out.returncode == 0, (header, std, out.stderr[-2000:])


def test_every_family_header_found():
    assert {"optim/fastnn_optim.h", "dense/fastnn_dense.h", "norm/fastnn_norm.h",
            "runtime/fastnn_runtime.h", "capi/fastnn_capi.h"} <= set(HEADERS)


@pytest.mark.skipif(CC is None, reason="no C compiler available")
@pytest.mark.parametrize("std", ["c99", "c11"])
@pytest.mark.parametrize("header", ["fastnn.h"] + HEADERS)
def test_header_compiles_alone_c(header, std, tmp_path):
    _syntax_check(CC, std, header, tmp_path, ".c")


@pytest.mark.skipif(CXX is None, reason="no C++ compiler available")
@pytest.mark.parametrize("header", ["fastnn.h"] + HEADERS)
def test_header_compiles_alone_cxx(header, tmp_path):
    _syntax_check(CXX, "c++11", header, tmp_path, ".cpp")


CXX_PROGRAM = r"""
#include <cstdio>
#include "optim/fastnn_optim.h"
#include "runtime/fastnn_runtime.h"

int main()
{
    double x[5] = {1, -2, 3, -4, 5};
    float p[3] = {1, 2, 3}, g[3] = {1, 1, 1};
    float *params[1] = {p};
    const float *grads[1] = {g};
    std::size_t sizes[1] = {3};
    fnn_optim_hparams hp = {};
    hp.lr = 0.5;
    hp.step = 1;
    fnn_optim_step(FNN_OPTIM_SGD, FNN_DTYPE_FLOAT32, 1, sizes, (void *const *)params,
                   (const void *const *)grads, NULL, NULL, NULL, &hp, 2, FNN_FLAG_FLUSH_DENORMALS);
    std::printf("%.17g %.9g %.9g %.9g %ld\n", fnn_sum_squares_f64(x, 5, 2, 0), p[0], p[1], p[2],
                fnn_runtime_spin_us() >= 0 ? 1L : 0L);
    return 0;
}
"""


@pytest.mark.skipif(CXX is None, reason="no C++ compiler available")
def test_cxx_program_links_through_family_headers(tmp_path):
    """Without extern "C" in the family header the names would be mangled
    and the link would fail."""
    src = tmp_path / "main.cpp"
    src.write_text(CXX_PROGRAM)
    libdir = os.path.dirname(fastnn.get_library())
    exe = tmp_path / "main"
    out = subprocess.run([CXX, "-std=c++11", f"-I{INCLUDE}", str(src), "-o", str(exe),
                          str(fastnn.get_library()), f"-Wl,-rpath,{libdir}"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    ss, p0, p1, p2, ok = subprocess.run([str(exe)], check=True, capture_output=True,
                                        text=True).stdout.split()
    assert float(ss) == 55.0 and ok == "1"
    np.testing.assert_array_equal([float(p0), float(p1), float(p2)], [0.5, 1.5, 2.5])


# ---------------------------------------------------------------- documented aliasing

def _in_place_calls():
    import ctypes

    vp, sz, i, d, u64 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_double, \
        ctypes.c_uint64
    rows, row_len = 5, 4099
    return rows, row_len, {
        # name: (argtypes after x, y; arguments after x, y)
        "color_jitter": ([sz, sz, d, d, u64, u64, i, i], (rows, row_len, 0.3, 0.4, 7, 1, 2, 0)),
        "snr_noise": ([sz, sz, d, u64, u64, i, i], (rows, row_len, 10.0, 7, 1, 2, 0)),
        "element_dropout": ([sz, sz, sz, d, u64, u64, i, i], (rows, row_len, 1, 0.3, 7, 1, 2, 0)),
        "channel_dropout": ([sz, sz, d, u64, u64, i, i], (rows, row_len, 0.5, 7, 1, 2, 0)),
        "gaussian_noise": ([sz, d, i, u64, u64, i, i], (rows * row_len, 0.1, 1, 7, 1, 2, 0)),
        "dropout": ([vp, sz, d, u64, u64, i, i], (None, rows * row_len, 0.3, 7, 1, 2, 0)),
        "dropout_backward": ([sz, d, u64, u64, i, i], (rows * row_len, 0.3, 7, 1, 2, 0)),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_documented_in_place_calls(dtype):
    """fastnn_augment.h and fastnn_dropout.h name the calls that may run with
    y == x: they give the same result in place."""
    import ctypes

    lib = ctypes.CDLL(fastnn.get_library())
    sfx = "f32" if dtype == np.float32 else "f64"
    rows, row_len, calls = _in_place_calls()
    x = np.random.default_rng(3).normal(size=rows * row_len).astype(dtype)
    for name, (argtypes, args) in calls.items():
        f = getattr(lib, f"fnn_{name}_{sfx}")
        f.argtypes, f.restype = [ctypes.c_void_p, ctypes.c_void_p] + argtypes, None
        y = np.full_like(x, np.nan)
        f(x.ctypes.data, y.ctypes.data, *args)
        z = x.copy()
        f(z.ctypes.data, z.ctypes.data, *args)
        np.testing.assert_array_equal(z, y, err_msg=name)
    augment = (INCLUDE / "augment" / "fastnn_augment.h").read_text()
    dropout = (INCLUDE / "dropout" / "fastnn_dropout.h").read_text()
    assert "may run in place" in dropout
    aliasing = augment[augment.index("Aliasing:"):]
    for name in ("color_jitter", "snr_noise", "element_dropout"):
        assert f"fnn_{name}" in aliasing.split("must not")[0]
    for name in ("flip_crop", "affine", "time_shift", "neighbor_swap"):
        assert f"fnn_{name}" in aliasing


# ---------------------------------------------------------------- documented contracts

class _Hparams:
    @staticmethod
    def struct():
        import ctypes

        fields = [(name, ctypes.c_double) for name in (
            "lr", "beta1", "beta2", "eps", "momentum", "dampening", "alpha", "lr_decay",
            "weight_decay", "l1", "mu", "mu_next", "mu_product")]
        return type("fnn_optim_hparams", (ctypes.Structure,),
                    {"_fields_": fields + [("step", ctypes.c_int64), ("options", ctypes.c_uint)]})


def _optim_step(lib, algorithm, param, grad, states, hp, n_threads):
    import ctypes

    vpp = ctypes.c_void_p * 1
    f = lib.fnn_optim_step
    f.restype = None
    roles = [vpp(s.ctypes.data) if s is not None else None for s in states]
    roles += [None] * (3 - len(roles))
    f(ctypes.c_int(algorithm), ctypes.c_int(1), ctypes.c_size_t(1),
      (ctypes.c_size_t * 1)(param.size), vpp(param.ctypes.data), vpp(grad.ctypes.data),
      *roles, ctypes.byref(hp), ctypes.c_int(n_threads), ctypes.c_int(0))


def test_optimizer_state_before_the_first_step():
    """fastnn_optim.h: states start at zero, except SGD's momentum buffer,
    which the first step sets to the gradient without reading it."""
    import ctypes

    from fastnn.reference import adam, sgd

    lib = ctypes.CDLL(fastnn.get_library())
    header = (INCLUDE / "optim" / "fastnn_optim.h").read_text()
    assert "State before the first step" in header
    rng = np.random.default_rng(5)
    p0, g = rng.normal(size=1001), rng.normal(size=1001)
    hp = _Hparams.struct()(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.9, step=1)
    p, buf = p0.copy(), np.full_like(p0, np.nan)  # never read on the first step
    _optim_step(lib, 0, p, g, [buf], hp, 2)
    rp, rbuf = p0.copy(), np.zeros_like(p0)
    sgd(rp, g, rbuf, lr=0.1, momentum=0.9, step=1)
    np.testing.assert_allclose(p, rp, rtol=1e-15)
    np.testing.assert_array_equal(buf, g)
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    _optim_step(lib, 3, p, g, [m, v], hp, 2)
    rp, rm, rv = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    adam(rp, g, rm, rv, step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    np.testing.assert_allclose(p, rp, rtol=1e-14)


@pytest.mark.parametrize("n_threads", [0, -1, -(2**31), 2, 2**31 - 1])
def test_n_threads_below_one_means_one(n_threads):
    """fastnn.h: n_threads below 1 mean 1; any count gives the same bits."""
    import ctypes

    lib = ctypes.CDLL(fastnn.get_library())
    x = np.random.default_rng(6).normal(size=200_003)
    f = lib.fnn_sum_squares_f64
    f.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int]
    f.restype = ctypes.c_double
    assert f(x.ctypes.data, x.size, n_threads, 0) == f(x.ctypes.data, x.size, 1, 0)
    g = lib.fnn_math_f64
    g.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                  ctypes.c_int]
    y1, y2 = np.empty_like(x), np.empty_like(x)
    g(0, x.ctypes.data, y1.ctypes.data, x.size, 1, 0)
    g(0, x.ctypes.data, y2.ctypes.data, x.size, n_threads, 0)
    np.testing.assert_array_equal(y1, y2)
    assert "values below 1 mean 1" in (INCLUDE / "fastnn.h").read_text()
