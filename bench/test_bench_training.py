"""pytest-benchmark suite for the training loop (one epoch of an MLP).

Run with ``pytest bench/ --benchmark-only`` (not part of the default test run).
Each benchmark first checks that fastnn's loss decreases.
"""
import pytest

pytest.importorskip("sklearn")

from fastnn.bench.cases import training as training_cases  # noqa: E402

CASES = training_cases.cases(full=False, with_torch=False)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kernel}-{c.size}-{c.dtype}" for c in CASES])
@pytest.mark.parametrize("impl", ["fastnn", "numpy"])
def test_training_epoch(benchmark, case, impl):
    case.check()
    benchmark.group = f"{case.kernel} {case.size} {case.dtype}"
    benchmark.pedantic(getattr(case, impl), rounds=3, iterations=1)
