"""pytest-benchmark versions of the loss, regularizer and initializer cases.

Run with ``python -m pytest bench/test_bench_losses.py``; each case checks
fastnn against the reference once, then times fastnn and the NumPy
reference (group = kernel) on the default (non-full) sizes.
"""
import pytest

pytest.importorskip("pytest_benchmark")

from fastnn.bench.cases import losses as cases_module  # noqa: E402

CASES = cases_module.cases(full=False, with_torch=False)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kernel}-{c.size}-{c.dtype}" for c in CASES])
@pytest.mark.parametrize("impl", ["fastnn", "numpy"])
def test_bench(benchmark, case, impl):
    if impl == "fastnn":
        case.check()
    benchmark.group = f"{case.kernel} {case.size} {case.dtype}"
    if case.setup:
        case.setup()
    benchmark(getattr(case, impl))
