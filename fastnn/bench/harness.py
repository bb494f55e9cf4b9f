"""The benchmark harness: timing, the bandwidth roofline, and the table.

A :class:`Case` times one kernel against its NumPy reference on the same
data. Before timing, ``check()`` compares fastnn's result with the
reference's; a case that fails its check is reported as such and not
timed. Times are medians over repeats; speedup = NumPy time / fastnn time.
"""
import argparse
import dataclasses
import importlib
import json
import math
import os
import pkgutil
import platform
import re
import sys
import time
from typing import Callable, List, Optional

import numpy as np

from fastnn.bench import scenarios as _scenarios

__all__ = ["Case", "Target", "measure", "run", "main"]


@dataclasses.dataclass
class Target:
    """A performance target, e.g. ``Target("speedup >= 5", lambda r: r["speedup"] >= 5)``.

    The predicate gets the result row (a dict with ``speedup``, ``pct_roofline``,
    ``vs_torch`` = torch time / fastnn time, ...) and returns True if met.
    """

    text: str
    met: Callable[[dict], bool]


@dataclasses.dataclass
class Case:
    """One benchmark: a kernel, a size and a dtype.

    Attributes
    ----------
    kernel, size, dtype : str
        Labels of the row.
    fastnn, numpy : callable
        Zero-argument callables running one call of each implementation.
    check : callable
        Raises AssertionError if fastnn's result differs from the reference
        beyond tolerance; run once before anything is timed.
    bytes_moved : int, optional
        Bytes the kernel must read plus write per call (for GB/s and the
        roofline); 0 when a bandwidth figure means nothing (compute-bound).
    torch : callable, optional
        PyTorch implementation, timed with ``--with-torch``.
    targets : list of Target
    setup : callable, optional
        Run before timing each implementation (e.g. to reset state).
    """

    kernel: str
    size: str
    dtype: str
    fastnn: Callable[[], object]
    numpy: Callable[[], object]
    check: Callable[[], None]
    bytes_moved: int = 0
    torch: Optional[Callable[[], object]] = None
    targets: List[Target] = dataclasses.field(default_factory=list)
    setup: Optional[Callable[[], None]] = None
    # seconds to wait before timing each implementation: lets the threads of
    # the one timed before (BLAS, OpenMP) stop spinning, so that they do not
    # take cores from the next one (OpenBLAS workers spin about 0.1 s)
    settle: float = 0.0


def measure(fn, min_time=0.1, repeats=5, max_loops=1_000_000):
    """Median seconds per call of ``fn``.

    The loop count grows until one repeat takes at least ``min_time``; the
    median over ``repeats`` repeats is returned.
    """
    fn()  # warm up: page faults, caches, lazy imports
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or loops >= max_loops:
            break
        loops = min(max_loops, max(loops * 2, int(loops * min_time / max(elapsed, 1e-9) * 1.2)))
    times = [elapsed / loops]
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter() - start) / loops)
    return float(np.median(times))


def triad_bandwidth(n_threads, n=1 << 24, min_time=0.2):
    """Memory bandwidth in GB/s of the STREAM triad a = b + s·c (24 bytes per
    element) over three arrays of n float64, with fastnn's thread splitter."""
    from fastnn._ext import runtime

    a = np.zeros(n)
    b = np.ones(n)
    c = np.full(n, 2.0)
    seconds = measure(lambda: runtime.stream_triad(a, b, c, 3.0, n_threads), min_time, 5)
    assert a[0] == 7.0 and a[-1] == 7.0
    return 24.0 * n / seconds / 1e9


def _torch_available():
    try:
        import torch  # noqa: F401

        return True
    except ImportError:
        return False


def collect(full=False, with_torch=False, only=None):
    import fastnn.bench.cases as pkg

    cases = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"fastnn.bench.cases.{info.name}")
        for case in module.cases(full=full, with_torch=with_torch):
            if only and not re.search(only, case.kernel):
                continue
            cases.append(case)
    return cases


def _fmt_time(seconds):
    if seconds is None or math.isnan(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def run(full=False, with_torch=False, only=None, n_threads=None, min_time=0.1, out=sys.stdout):
    """Run the benchmark and print the table; returns the result rows."""
    import fastnn

    if n_threads is not None:
        fastnn.set_num_threads(n_threads)
    threads = fastnn.get_num_threads()
    if with_torch and not _torch_available():
        print("torch is not installed: the torch column is left out", file=out)
        with_torch = False
    if with_torch:
        import torch

        torch.set_num_threads(threads)

    config = fastnn._config.config_dict()
    print("fastnn benchmark: speedup = NumPy reference time / fastnn time (medians, same run)",
          file=out)
    for key in ("fastnn", "numpy", "python", "platform", "compiler", "openmp", "simd_level",
                "threads", "blas", "dense_products"):
        print(f"  {key}: {config[key]}", file=out)
    if with_torch:
        import torch

        print(f"  torch: {torch.__version__} ({torch.get_num_threads()} threads)", file=out)
    bandwidth = triad_bandwidth(threads)
    print(f"  roofline: STREAM triad {bandwidth:.1f} GB/s ({threads} threads)", file=out)

    header = ["kernel", "size", "dtype", "numpy", "fastnn", "speedup", "GB/s", "%roofline"]
    if with_torch:
        header += ["torch", "vs torch"]
    header += ["targets"]
    rows = []
    table = []
    for case in collect(full, with_torch, only):
        row = {"kernel": case.kernel, "size": case.size, "dtype": case.dtype}
        try:
            case.check()
        except AssertionError as exc:
            row["error"] = f"check failed: {exc}"
            rows.append(row)
            table.append([case.kernel, case.size, case.dtype, "-", "-", "CHECK FAILED", "-", "-"]
                         + (["-", "-"] if with_torch else []) + [str(exc)[:60]])
            continue
        if case.setup:
            case.setup()
        time.sleep(case.settle)
        t_numpy = measure(case.numpy, min_time)
        if case.setup:
            case.setup()
        time.sleep(case.settle)
        t_fastnn = measure(case.fastnn, min_time)
        row.update(numpy_s=t_numpy, fastnn_s=t_fastnn, speedup=t_numpy / t_fastnn)
        if case.bytes_moved:
            row["gbps"] = case.bytes_moved / t_fastnn / 1e9
            row["pct_roofline"] = 100.0 * row["gbps"] / bandwidth
        if with_torch and case.torch is not None:
            if case.setup:
                case.setup()
            time.sleep(case.settle)
            row["torch_s"] = measure(case.torch, min_time)
            row["vs_torch"] = row["torch_s"] / t_fastnn
        verdicts = []
        for target in case.targets:
            try:
                ok = bool(target.met(row))
            except (KeyError, TypeError):
                ok = None  # e.g. a torch target without torch
            verdicts.append((target.text, ok))
        row["targets"] = [{"target": t, "met": ok} for t, ok in verdicts]
        rows.append(row)
        line = [case.kernel, case.size, case.dtype, _fmt_time(t_numpy), _fmt_time(t_fastnn),
                f"{row['speedup']:.2f}x",
                f"{row['gbps']:.1f}" if "gbps" in row else "-",
                f"{row['pct_roofline']:.0f}%" if "pct_roofline" in row else "-"]
        if with_torch:
            line += [_fmt_time(row.get("torch_s")),
                     f"{row['vs_torch']:.2f}x" if "vs_torch" in row else "-"]
        line.append("; ".join(f"{t}: {'met' if ok else ('n/a' if ok is None else 'MISSED')}"
                              for t, ok in verdicts))
        table.append(line)
        print("  " + " | ".join(line), file=out, flush=True)
    print(file=out)
    _print_table(header, table, out)
    return {"config": config, "roofline_gbps": bandwidth, "threads": threads, "results": rows}


def _print_table(header, table, out):
    widths = [max(len(str(r[i])) for r in [header] + table) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |", file=out)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=out)
    for r in table:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m fastnn.bench",
        description="Time fastnn's kernels against their NumPy references (and PyTorch).")
    parser.add_argument("--full", action="store_true", help="all sizes (slower)")
    parser.add_argument("--with-torch", action="store_true", help="add a PyTorch column")
    parser.add_argument("--only", metavar="REGEX", help="kernels whose name matches")
    parser.add_argument("--threads", type=int, help="thread count (default: fastnn's)")
    parser.add_argument("--min-time", type=float, default=0.1,
                        help="seconds per timing repeat (default 0.1)")
    parser.add_argument("--json", metavar="FILE", help="save the results as JSON")
    parser.add_argument("--scenario", choices=("all", "none") + _scenarios.SCENARIOS,
                        default=None,
                        help="field scenarios of the headline kernels: alone, after-numpy "
                             "(right after a NumPy matmul), busy (beside a process spinning "
                             "on one core), threads (2 Python threads calling at once), all, "
                             "or none. Given alone, only the scenario table runs; by default "
                             "the kernel table runs, then the scenario table (all scenarios)")
    args = parser.parse_args(argv)
    if args.only == "distributed":  # MPI benchmarks: launched under mpiexec by their module
        from fastnn.bench import distributed
        return distributed.main([], json_path=args.json)
    if args.threads is not None:
        import fastnn
        fastnn.set_num_threads(args.threads)
    results = {}
    if args.scenario is None or args.scenario == "none":
        results = run(full=args.full, with_torch=args.with_torch, only=args.only,
                      n_threads=args.threads, min_time=args.min_time)
    if args.scenario != "none":
        chosen = _scenarios.SCENARIOS if args.scenario in (None, "all") else (args.scenario,)
        with_torch = args.with_torch and _torch_available()
        print(file=sys.stdout)
        results["scenarios"] = _scenarios.run(chosen, with_torch=with_torch, only=args.only)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=str)
        print(f"results saved to {args.json}")
