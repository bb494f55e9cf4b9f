"""Check that repeated calls of every public kernel do not grow the process.

Every function of the bad-input matrix (``tests/bad_input_table.py``: every
public kernel, initializer, transform and optimizer step) is called
``--calls`` times (default 100,000) on its small clean arguments. The first
10% of the calls are a warm-up (caches, free lists, lazily created objects);
then tracemalloc starts, and after one more window of 10% the baseline is
taken. At the end the growth since the baseline is compared with the limits:

* tracemalloc (Python and NumPy allocations): at most ``--traced-limit``
  bytes (default 64 KiB, below one byte per call over 80,000 calls);
* resident set size (everything, C allocations included): at most
  ``--rss-limit`` bytes (default 1 MiB, about 13 bytes per call: RSS moves
  in pages and with the allocator's arenas, so a smaller limit would flag
  noise).

Prints one row per function and exits 1 if any grew beyond a limit.

    python tools/check_memory_growth.py                   # every function, 100,000 calls
    python tools/check_memory_growth.py --calls 20000 --only 'adam|random_'
    python tools/check_memory_growth.py --dtype both --jobs 2
"""
import argparse
import gc
import os
import re
import sys
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

TRACED_LIMIT = 64 << 10
RSS_LIMIT = 1 << 20


def rss():
    """Resident set size of this process in bytes (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def under_asan():
    """True when AddressSanitizer's runtime is loaded: its quarantine holds
    freed memory back, so RSS grows by design and only tracemalloc counts."""
    try:
        with open("/proc/self/maps") as f:
            return "libasan" in f.read()
    except OSError:
        return False


def measure(fn, n_calls):
    """Call ``fn`` ``n_calls`` times; return (seconds, RSS growth, traced growth)
    between the baseline (after 20% of the calls) and the end."""
    window = max(n_calls // 10, 1)
    t0 = time.perf_counter()
    for _ in range(window):  # warm-up, untraced
        fn()
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(window):  # allocations that stay for good show up here
            fn()
        gc.collect()
        traced0, _ = tracemalloc.get_traced_memory()
        rss0 = rss()
        for _ in range(n_calls - 2 * window):
            fn()
        gc.collect()
        traced1, _ = tracemalloc.get_traced_memory()
        rss1 = rss()
    finally:
        tracemalloc.stop()
    return time.perf_counter() - t0, rss1 - rss0, traced1 - traced0


def _specs(only):
    from bad_input_table import SPECS

    pattern = re.compile(only) if only else None
    return [s for s in SPECS if pattern is None or pattern.search(s.name)]


def _run_one(job):
    import numpy as np

    name, dtype, n_calls = job
    spec = next(s for s in _specs(None) if s.name == name)
    args = spec.make(np.dtype(dtype))
    seconds, grown_rss, grown_traced = measure(lambda: spec.call(args), n_calls)
    return name, dtype, n_calls, seconds, grown_rss, grown_traced


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--only", help="regular expression on the function names")
    ap.add_argument("--dtype", choices=("float32", "float64", "both"), default="float32")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (spawned)")
    ap.add_argument("--traced-limit", type=int, default=TRACED_LIMIT)
    ap.add_argument("--rss-limit", type=int, default=RSS_LIMIT)
    a = ap.parse_args(argv)
    if a.calls < 10:
        ap.error("--calls must be at least 10")
    dtypes = ("float32", "float64") if a.dtype == "both" else (a.dtype,)
    jobs = [(s.name, dt, a.calls) for s in _specs(a.only) for dt in dtypes]
    if not jobs:
        ap.error(f"no function matches {a.only!r}")

    import fastnn

    if under_asan():
        print("AddressSanitizer is loaded: RSS growth is reported but not checked")
        a.rss_limit = float("inf")
    print(f"fastnn {fastnn.__version__}, {len(jobs)} runs of {a.calls} calls, "
          f"growth measured over the last {a.calls - 2 * max(a.calls // 10, 1)} calls; "
          f"limits: RSS {a.rss_limit} B, tracemalloc {a.traced_limit} B")
    head = (f"{'function':<46} {'dtype':<8} {'calls':>7} {'s':>6} {'RSS growth':>11} "
            f"{'traced growth':>14}  ")
    print(head + "result")
    print("-" * (len(head) + 6))
    if a.jobs > 1:
        import multiprocessing

        # spawn: each worker starts clean (no inherited OpenMP pool, no fork pitfalls)
        with multiprocessing.get_context("spawn").Pool(a.jobs, maxtasksperchild=8) as pool:
            results = pool.imap(_run_one, jobs)
            failed = _report(results, a)
    else:
        failed = _report(map(_run_one, jobs), a)
    print(f"{len(jobs)} runs, {failed} over a limit")
    return 1 if failed else 0


def _report(results, a):
    failed = 0
    for name, dtype, n_calls, seconds, grown_rss, grown_traced in results:
        bad = grown_rss > a.rss_limit or grown_traced > a.traced_limit
        failed += bad
        print(f"{name:<46} {dtype:<8} {n_calls:>7} {seconds:>6.1f} {grown_rss:>9} B "
              f"{grown_traced:>12} B  {'GROWS' if bad else 'ok'}", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
