"""Build script for fastnn's compiled kernels.

Every ``fastnn/_ext/<family>.pyx`` becomes the extension ``fastnn._ext.<family>``
built from that file, the C sources in ``csrc/<family>/`` and the shared
``csrc/core/``. A new kernel family therefore needs no change here.

Environment variables
---------------------
FASTNN_REQUIRE_OPENMP=1
    Fail instead of building single-threaded when OpenMP does not work.
FASTNN_NATIVE=1
    Build for this machine's CPU (``-march=native``). The default build runs
    on any CPU of its architecture and picks vector code at run time.
FASTNN_NO_SIMD_DISPATCH=1
    Compile only the baseline kernels (no per-ISA variants).
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings
from glob import glob
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent.resolve()
CSRC = "csrc"

OPENMP_PROBE = r"""
#include <omp.h>
#include <stdio.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    printf("%d %d\n", n, _OPENMP);
    return n >= 1 ? 0 : 1;
}
"""


def _flag_env(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def probe_openmp(compiler_cmd):
    """Compile and run a tiny OpenMP program; return (cflags, ldflags) or None."""
    candidates = [(["-fopenmp"], ["-fopenmp"])]
    if sys.platform == "darwin":
        candidates.append((["-Xpreprocessor", "-fopenmp"], ["-lomp"]))
    tmp = tempfile.mkdtemp(prefix="fastnn-omp-")
    try:
        src = os.path.join(tmp, "probe.c")
        exe = os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write(OPENMP_PROBE)
        for cflags, ldflags in candidates:
            try:
                subprocess.run(compiler_cmd + cflags + [src, "-o", exe] + ldflags,
                               check=True, capture_output=True)
                out = subprocess.run([exe], check=True, capture_output=True, text=True)
                if out.stdout.strip():
                    return cflags, ldflags
            except (OSError, subprocess.CalledProcessError):
                continue
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    """build_ext that probes OpenMP and sets portable optimisation flags."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:  # compile the extensions side by side
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        cc = self.compiler.compiler_so[:1] if hasattr(self.compiler, "compiler_so") else ["cc"]
        is_msvc = self.compiler.compiler_type == "msvc"
        if is_msvc:
            cflags, ldflags = ["/O2", "/openmp"], []
            openmp = True
        else:
            found = probe_openmp(cc)
            openmp = found is not None
            cflags = ["-O3", "-std=c11", "-fno-math-errno", "-fno-trapping-math",
                      # a*b+c rounds the same on every ISA, so every SIMD path
                      # gives bitwise-identical results
                      "-ffp-contract=off", "-Wall", "-Wno-unused-function"]
            ldflags = []
            if openmp:
                cflags += found[0]
                ldflags += found[1]
            else:
                cflags += ["-fopenmp-simd"]
            if _flag_env("FASTNN_NATIVE"):
                cflags += ["-march=native"]
            if _flag_env("FASTNN_NO_SIMD_DISPATCH"):
                cflags += ["-DFNN_NO_SIMD_DISPATCH"]
        if not openmp:
            msg = ("\n" + "!" * 72 + "\n"
                   "fastnn: the C compiler cannot build and run an OpenMP program.\n"
                   "fastnn will be built SINGLE-THREADED. Install an OpenMP runtime\n"
                   "(e.g. libgomp / libomp) and rebuild for multi-threaded kernels.\n"
                   "Set FASTNN_REQUIRE_OPENMP=1 to make this an error.\n" + "!" * 72)
            if _flag_env("FASTNN_REQUIRE_OPENMP"):
                raise RuntimeError(msg)
            warnings.warn(msg)
            print(msg, file=sys.stderr)
        for ext in self.extensions:
            ext.extra_compile_args = cflags + list(ext.extra_compile_args or [])
            ext.extra_link_args = ldflags + list(ext.extra_link_args or [])
        super().build_extensions()


def extensions():
    core_sources = sorted(glob(f"{CSRC}/core/*.c"))
    headers = sorted(glob(f"{CSRC}/**/*.h", recursive=True))
    exts = []
    for pyx in sorted(glob("fastnn/_ext/*.pyx")):
        family = Path(pyx).stem
        sources = [pyx] + sorted(set(glob(f"{CSRC}/{family}/*.c")) - set(core_sources)) \
            + core_sources
        exts.append(Extension(
            f"fastnn._ext.{family}",
            sources=sources,
            include_dirs=[CSRC, np.get_include()],
            depends=headers,
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
        ))
    return cythonize(
        exts,
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


def copy_headers():
    """Ship the C headers inside the package (fastnn.get_include())."""
    dest = HERE / "fastnn" / "include"
    for header in glob(f"{CSRC}/**/*.h", recursive=True):
        rel = Path(header).relative_to(CSRC)
        if rel.name.endswith("_t.h") or "internal" in rel.name:
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(header, target)


copy_headers()
setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
