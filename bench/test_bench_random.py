"""pytest-benchmark versions of the random-family benchmarks.

Run with ``python -m pytest bench/test_bench_random.py``; each case is the
same as in ``python -m fastnn.bench --only 'dropout|uniform_|normal_|noise'``
(fastnn side and NumPy side), checked against the reference first.
"""
import pytest

from fastnn.bench.cases import random as cases_random

CASES = cases_random.cases(full=False, with_torch=False)
IDS = [f"{c.kernel}-{c.size}-{c.dtype}".replace(" ", "_") for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fastnn(benchmark, case):
    case.check()
    benchmark(case.fastnn)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_numpy(benchmark, case):
    benchmark(case.numpy)
