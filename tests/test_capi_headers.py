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

