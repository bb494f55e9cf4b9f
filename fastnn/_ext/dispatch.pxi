# Included by every kernel module: each compiled module carries its own copy
# of the SIMD dispatch level, chosen at import and switchable for tests.
from fastnn._ext.c_core cimport fnn_simd_init, fnn_simd_set_level, fnn_simd_level

fnn_simd_init()


def _set_simd_level(int level):
    """Use the kernels of SIMD ``level`` (clamped to what the CPU has)."""
    return fnn_simd_set_level(level)


def _simd_level():
    return fnn_simd_level()
