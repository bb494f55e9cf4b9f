"""Scalar argument checks in pure Python, importing nothing of fastnn, for the
modules that must stay leaves (``fastnn.callbacks``) and the schedulers.
:mod:`fastnn._validation` re-exports them with the array checks."""
import math
import numbers

__all__ = ["check_finite_real"]


def check_finite_real(name, value, low=None, high=None, low_open=False, high_open=False):
    """A finite real number (not a bool) in the given range, as a float, else
    ValueError naming ``name`` (the Keras-style callbacks and the schedulers)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    value = float(value)
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return value
