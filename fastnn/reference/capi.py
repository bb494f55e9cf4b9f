"""Plain-NumPy references for the kernels the C API tests call directly.

The C API adds no arithmetic of its own: these restate, elementwise, what
``fnn_math_{f32,f64}`` computes, so a caller going through ctypes, C or
Cython can be checked against NumPy. Results are float64.
"""
import math

import numpy as np

__all__ = ["ref_math", "MATH_FUNCTIONS"]

MATH_FUNCTIONS = ("exp", "expm1", "tanh", "erf", "erfc", "sigmoid", "log1p")


def ref_math(name, x):
    """y = f(x) elementwise in float64, f one of ``MATH_FUNCTIONS``:

        exp(x), expm1(x) = eˣ − 1, tanh(x), erf(x) = 2/√π ∫₀ˣ e^(−t²) dt,
        erfc(x) = 1 − erf(x), sigmoid(x) = 1/(1 + e^(−x)), log1p(x) = ln(1 + x)

    (the order of ``MATH_FUNCTIONS`` is the ``fnn_math_function`` code).
    """
    x = np.asarray(x, dtype=np.float64)
    if name == "exp":
        return np.exp(x)
    if name == "expm1":
        return np.expm1(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "erf":
        return np.vectorize(math.erf, otypes=[np.float64])(x)
    if name == "erfc":
        return np.vectorize(math.erfc, otypes=[np.float64])(x)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "log1p":
        return np.log1p(x)
    raise ValueError(f"unknown function {name!r}; expected one of {MATH_FUNCTIONS}")
