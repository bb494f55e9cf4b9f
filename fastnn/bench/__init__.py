"""Benchmarks of fastnn's kernels against their NumPy references.

Run ``python -m fastnn.bench`` (``--help`` for options). Each kernel family
contributes cases in ``fastnn/bench/cases/<family>.py``: a function
``cases(full, with_torch)`` returning a list of :class:`Case`.
"""
from fastnn.bench.harness import Case, Target, measure, run

__all__ = ["Case", "Target", "measure", "run"]
