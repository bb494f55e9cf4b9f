"""pytest-benchmark suite for the optimizer kernels.

Run with ``pytest bench/ --benchmark-only`` (not part of the default test run).
Each benchmark checks the kernel against its NumPy reference first.
"""
import pytest

from fastnn.bench.cases import optim as optim_cases

CASES = optim_cases.cases(full=False, with_torch=False)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kernel}-{c.size}-{c.dtype}" for c in CASES])
@pytest.mark.parametrize("impl", ["fastnn", "numpy"])
def test_optimizer(benchmark, case, impl):
    case.check()
    benchmark.group = f"{case.kernel} {case.size} {case.dtype}"
    benchmark(getattr(case, impl))
