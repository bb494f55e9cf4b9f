"""pytest-benchmark versions of the augmentation benchmarks.

Run with ``python -m pytest bench/test_bench_augment.py``; each case is the
same as in ``python -m fastnn.bench --only 'crop|affine|jitter|SNR|shift|element|swap'``
(fastnn side and NumPy side), checked against the reference first.
"""
import pytest

from fastnn.bench.cases import augment as cases_augment

CASES = cases_augment.cases(full=False, with_torch=False)
IDS = [f"{c.kernel}-{c.size}-{c.dtype}".replace(" ", "_") for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fastnn(benchmark, case):
    case.check()
    benchmark(case.fastnn)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_numpy(benchmark, case):
    benchmark(case.numpy)
