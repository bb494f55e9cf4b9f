"""pytest-benchmark versions of the normalization benchmark cases.

Run with ``python -m pytest bench/test_bench_norm.py``; each case checks
fastnn against the NumPy reference before its fastnn and NumPy callables
are timed (group = the case, so the two appear side by side)."""
import pytest

pytest.importorskip("pytest_benchmark")

from fastnn.bench.cases import norm as _cases  # noqa: E402

CASES = _cases.cases(full=False, with_torch=False)
IDS = [f"{c.kernel}-{c.size}-{c.dtype}".replace(" ", "_") for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("impl", ["fastnn", "numpy"])
def test_norm(benchmark, case, impl):
    benchmark.group = f"{case.kernel} {case.size} {case.dtype}"
    case.check()
    if case.setup:
        case.setup()
    benchmark(getattr(case, impl))
