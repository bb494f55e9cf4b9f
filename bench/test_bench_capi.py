"""pytest-benchmark suite for the C API (a kernel called through ctypes).

Run with ``pytest bench/ --benchmark-only`` (not part of the default test run).
Each benchmark checks the kernel against NumPy first.
"""
import pytest

from fastnn.bench.cases import capi as capi_cases

CASES = capi_cases.cases(full=False, with_torch=False)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kernel}-{c.size}-{c.dtype}" for c in CASES])
@pytest.mark.parametrize("impl", ["fastnn", "numpy"])
def test_capi(benchmark, case, impl):
    case.check()
    benchmark.group = f"{case.kernel} {case.size} {case.dtype}"
    benchmark(getattr(case, impl))
