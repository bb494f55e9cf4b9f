"""pytest-benchmark version of ``python -m fastnn.bench``: every case of every family.

Run with ``pytest bench/ --benchmark-only`` (not part of the default test
run; ``--benchmark-disable`` runs each callable once, as a smoke test).
The cases are those of ``fastnn/bench/cases/<family>.py`` on the default
sizes, so the two front ends time the same code. Each case is checked
against its reference once, before either of its implementations is
timed; a case's ``setup`` runs and its ``settle`` pause is waited before
each implementation, as the harness does. Implementations whose single call
takes longer than ``SLOW_CALL_S`` (a training epoch) are timed over
``SLOW_ROUNDS`` single calls instead of pytest-benchmark's calibration.
Benchmarks are grouped by case, so fastnn and NumPy appear side by side.
"""
import time

import pytest

pytest.importorskip("pytest_benchmark")

from fastnn.bench.harness import collect  # noqa: E402

SLOW_CALL_S = 0.5
SLOW_ROUNDS = 3

CASES = collect(full=False, with_torch=False)
IDS = [f"{c.family}-{c.kernel}-{c.size}-{c.dtype}".replace(" ", "_") for c in CASES]
_checked = set()  # ids of the cases whose check() passed


@pytest.mark.parametrize("impl", ["fastnn", "numpy"])
@pytest.mark.parametrize("case_id, case", list(zip(IDS, CASES)), ids=IDS)
def test_bench(benchmark, case_id, case, impl):
    if case_id not in _checked:  # once per case, whichever implementation runs first
        case.check()
        _checked.add(case_id)
    benchmark.group = f"{case.family}: {case.kernel} {case.size} {case.dtype}"
    fn = getattr(case, impl)
    if case.setup:
        case.setup()
    time.sleep(case.settle)
    try:
        start = time.perf_counter()
        fn()  # warm-up, and the time of one call
        one_call = time.perf_counter() - start
    except ImportError as exc:  # e.g. scikit-learn, the training case's "numpy" side
        pytest.skip(f"the {impl} side needs {exc.name or exc}")
    if case.setup:
        case.setup()
    if one_call > SLOW_CALL_S:
        benchmark.pedantic(fn, rounds=SLOW_ROUNDS, iterations=1)
    else:
        benchmark(fn)
