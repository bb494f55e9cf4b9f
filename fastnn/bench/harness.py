"""The benchmark harness: timing, the bandwidth roofline, and the table.

A :class:`Case` times one kernel against its NumPy reference on the same
data. Before timing, ``check()`` compares fastnn's result with the
reference's; a case that fails its check is reported as such and not
timed. Times are medians over repeats, and the implementations of a row
(NumPy, fastnn, torch) are timed in alternation, batch by batch
(:func:`measure_interleaved`), so that their ratios compare the same
phases of a shared machine; each batch starts after a pause of
``ROW_SETTLE`` seconds, in which the threads the previous batch woke (a
BLAS's, torch's) stop spinning.

Columns of the table (keys of the JSON rows in parentheses):

speedup (``speedup``)
    NumPy reference time / fastnn time: above 1 fastnn is faster.
GB/s (``gbps``)
    The case's ``bytes_moved`` / fastnn time.
%roofline (``pct_roofline``)
    GB/s as a percentage of a STREAM triad measured in the same run. It
    means something only for data that does not fit in cache: a row whose
    ``bytes_moved`` is below the last-level cache size (:func:`llc_bytes`)
    shows "in cache" instead (JSON: ``in_cache: true``, no
    ``pct_roofline``).
torch time / fastnn time (``vs_torch``)
    With ``--with-torch``: above 1 fastnn is faster than torch.

Rows are printed once each, as they complete, in the format of the final
markdown table (header first). ``--plot FILE`` draws the speedups of every
family as a bar chart (needs matplotlib: the ``plot`` extra).
"""
import argparse
import dataclasses
import importlib
import json
import math
import os
import pkgutil
import re
import sys
import time
from typing import Callable, List, Optional

import numpy as np

from fastnn.bench import scenarios as _scenarios
from fastnn.bench._table import StreamingTable

__all__ = ["Case", "Target", "measure", "measure_interleaved", "run", "main", "collect",
           "llc_bytes", "plot"]

TORCH_RATIO = "torch time / fastnn time"  # column of row["vs_torch"]
ROW_SETTLE = 0.15  # seconds before each timed batch of a kernel row (see run)
IN_CACHE = "in cache"  # %roofline cell of a row whose bytes fit in the last-level cache
DEFAULT_LLC_BYTES = 32 << 20  # when the cache size cannot be read


@dataclasses.dataclass
class Target:
    """A performance target, e.g. ``Target("speedup >= 5", lambda r: r["speedup"] >= 5)``.

    The predicate gets the result row (a dict with ``speedup``, ``pct_roofline``,
    ``vs_torch`` = torch time / fastnn time, ...) and returns True if met. A
    predicate that raises KeyError (e.g. ``pct_roofline`` of a row left "in
    cache", or ``vs_torch`` without torch) is reported "n/a".
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
    settle : float
        Seconds to wait before timing each implementation.
    family : str
        The module of ``fastnn/bench/cases`` the case comes from; set by
        :func:`collect` when left empty.
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
    family: str = ""


def measure(fn, min_time=0.1, repeats=5, max_loops=1_000_000):
    """Median seconds per call of ``fn``.

    The loop count grows until one repeat takes at least ``min_time``; the
    median over ``repeats`` repeats is returned.
    """
    loops, elapsed = _calibrate(fn, min_time, max_loops)
    times = [elapsed / loops] + [_batch(fn, loops) / loops for _ in range(repeats - 1)]
    return float(np.median(times))


def _batch(fn, loops):
    """Seconds that ``loops`` calls of ``fn`` take."""
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return time.perf_counter() - start


def _calibrate(fn, min_time, max_loops):
    """Calls of ``fn`` per timed batch (enough for ``min_time`` seconds),
    and the seconds the last such batch took."""
    fn()  # warm up: page faults, caches, lazy imports
    loops = 1
    while True:
        elapsed = _batch(fn, loops)
        if elapsed >= min_time or loops >= max_loops:
            return loops, elapsed
        loops = min(max_loops, max(loops * 2, int(loops * min_time / max(elapsed, 1e-9) * 1.2)))


def measure_interleaved(fns, min_time=0.1, repeats=5, settle=0.0, setup=None,
                        max_loops=1_000_000):
    """Median seconds per call of each of ``fns``, timed in alternation.

    Each function first gets its own loop count (as in :func:`measure`).
    Then every round times one batch of each, in an order that rotates by
    one each round, so that a slow phase of a shared machine falls on all
    of them alike and their ratios stay meaningful; timing them one after
    the other would compare one phase of the machine with the next.

    Parameters
    ----------
    fns : sequence of callable
        Zero-argument callables.
    min_time : float
        Seconds per timed batch.
    repeats : int
        Rounds: each function's median is over this many batches.
    settle : float
        Seconds to wait before each batch (lets the threads of the previous
        one stop spinning).
    setup : callable, optional
        Run before each batch.
    max_loops : int
        Upper bound on the calls per batch.

    Returns
    -------
    list of float
        The median seconds per call of each function, in the order given.
    """
    loops = []
    for fn in fns:
        if setup is not None:
            setup()
        time.sleep(settle)
        loops.append(_calibrate(fn, min_time, max_loops)[0])
    times = [[] for _ in fns]
    for r in range(repeats):
        for j in range(len(fns)):
            i = (j + r) % len(fns)
            if setup is not None:
                setup()
            time.sleep(settle)
            times[i].append(_batch(fns[i], loops[i]) / loops[i])
    return [float(np.median(t)) for t in times]


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
    """Every benchmark case, in family order.

    Parameters
    ----------
    full : bool
        All sizes rather than the default sweep.
    with_torch : bool
        Give the cases their torch callables.
    only : str, optional
        A regular expression: keep the cases whose kernel name it matches
        (``re.search``).

    Returns
    -------
    list of Case
        Each with ``family`` set to its module's name.
    """
    import fastnn.bench.cases as pkg

    pattern = re.compile(only) if only else None
    cases = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"fastnn.bench.cases.{info.name}")
        for case in module.cases(full=full, with_torch=with_torch):
            if pattern is not None and not pattern.search(case.kernel):
                continue
            if not case.family:
                case.family = info.name
            cases.append(case)
    return cases


def _parse_size(text):
    """Bytes of a sysfs cache size such as ``"32768K"``, ``"8M"`` or ``"1024"``."""
    text = text.strip().upper()
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    digits = text[:-1] if text[-1:] in ("K", "M", "G") else text
    return int(digits) * scale


def llc_bytes(sysfs="/sys/devices/system/cpu/cpu0/cache"):
    """Size in bytes of the last-level (L3) cache.

    Read from ``<sysfs>/index*/size`` of the index whose ``level`` is 3;
    else ``os.sysconf("SC_LEVEL3_CACHE_SIZE")``; else 32 MiB. The table
    leaves %roofline empty ("in cache") for rows that move fewer bytes
    than this: such data can stay in cache between calls, so a DRAM
    bandwidth roofline says nothing about them.

    Parameters
    ----------
    sysfs : str
        The cache directory of one CPU.

    Returns
    -------
    int
    """
    import glob

    for index in sorted(glob.glob(os.path.join(sysfs, "index*"))):
        try:
            with open(os.path.join(index, "level")) as f:
                level = int(f.read())
            if level != 3:
                continue
            with open(os.path.join(index, "size")) as f:
                size = _parse_size(f.read())
        except (OSError, ValueError):
            continue
        if size > 0:
            return size
    try:
        size = os.sysconf("SC_LEVEL3_CACHE_SIZE")
    except (ValueError, OSError, AttributeError):
        size = 0
    return size if size > 0 else DEFAULT_LLC_BYTES


def _fmt_bytes(n):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} B"


def _regex(text):
    """argparse type of ``--only``: a valid regular expression."""
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"invalid regular expression {text!r}: {exc}")
    return text


def _names(names):
    """Distinct names in first-seen order, one per line, for an error message."""
    return "\n".join("  " + n for n in dict.fromkeys(names))


def _fmt_time(seconds):
    if seconds is None or math.isnan(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _cell_pct(row):
    if row.get("in_cache"):
        return IN_CACHE
    return f"{row['pct_roofline']:.0f}%" if "pct_roofline" in row else "-"


def run(full=False, with_torch=False, only=None, n_threads=None, min_time=0.1, out=None,
        cases=None):
    """Run the benchmark, printing each row once, as it completes.

    The machine's description comes first, then the header of a markdown
    table, then one row per case in the same format: the output is the
    final table, ready to paste.

    Parameters
    ----------
    full : bool
        All sizes rather than the default sweep.
    with_torch : bool
        Add torch's time and the "torch time / fastnn time" column (left
        out, with a message, when torch is not installed).
    only : str, optional
        Regular expression selecting kernels by name (``re.search``).
    n_threads : int, optional
        fastnn's (and torch's) thread count; default fastnn's.
    min_time : float
        Seconds per timing repeat.
    out : file-like, optional
        Where to print (default ``sys.stdout``).
    cases : list of Case, optional
        The cases to run instead of ``collect(full, with_torch, only)``.

    Returns
    -------
    dict
        ``config``, ``roofline_gbps``, ``llc_bytes``, ``threads`` and
        ``results``: one dict per row with ``family``, ``kernel``, ``size``,
        ``dtype``, ``numpy_s``, ``fastnn_s``, ``speedup`` (NumPy time /
        fastnn time), ``gbps``, ``pct_roofline`` or ``in_cache``,
        ``torch_s`` and ``vs_torch`` (torch time / fastnn time), ``targets``;
        or ``error`` for a case whose check failed.

    Raises
    ------
    ValueError
        If ``only`` matches no kernel (the message lists the kernels).
    """
    import fastnn

    if out is None:
        out = sys.stdout
    if n_threads is not None:
        fastnn.set_num_threads(n_threads)
    threads = fastnn.get_num_threads()
    if with_torch and not _torch_available():
        print("torch is not installed: the torch column is left out", file=out)
        with_torch = False
    if cases is None:
        cases = collect(full, with_torch, only)
    if not cases:
        names = [c.kernel for c in collect(full, with_torch)]
        raise ValueError(f"--only {only!r} matches no kernel; the kernels are:\n{_names(names)}")
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

        print(f"  torch: {torch.__version__} ({torch.get_num_threads()} threads); "
              f"{TORCH_RATIO} above 1 means fastnn is faster", file=out)
    bandwidth = triad_bandwidth(threads)
    llc = llc_bytes()
    print(f"  roofline: STREAM triad {bandwidth:.1f} GB/s ({threads} threads); "
          f"%roofline is left '{IN_CACHE}' for rows moving less than the "
          f"{_fmt_bytes(llc)} last-level cache", file=out)
    print(file=out)

    header = ["kernel", "size", "dtype", "numpy", "fastnn", "speedup", "GB/s", "%roofline"]
    if with_torch:
        header += ["torch", TORCH_RATIO]
    header += ["targets"]
    widths = {"kernel": max(len(c.kernel) for c in cases),
              "size": max(len(c.size) for c in cases),
              "dtype": max(len(c.dtype) for c in cases),
              "numpy": 7, "fastnn": 7, "torch": 7, "speedup": 7, "GB/s": 6,
              "%roofline": len(IN_CACHE)}
    table = StreamingTable(header, out, widths)
    table.print_header()
    rows = []
    for case in cases:
        row = {"family": case.family, "kernel": case.kernel, "size": case.size,
               "dtype": case.dtype}
        try:
            case.check()
        except AssertionError as exc:
            row["error"] = f"check failed: {exc}"
            rows.append(row)
            message = " ".join(str(exc).split())[:60]
            table.add_row([case.kernel, case.size, case.dtype, "-", "-", "CHECK FAILED", "-", "-"]
                          + (["-", "-"] if with_torch else []) + [message])
            continue
        timed = [case.numpy, case.fastnn]
        if with_torch and case.torch is not None:
            timed.append(case.torch)
        # each batch starts alone: NumPy's OpenBLAS workers spin for about
        # 0.1 s after a product and torch's for a while after its calls, and
        # would take a core from the batch after them
        medians = measure_interleaved(timed, min_time, settle=max(case.settle, ROW_SETTLE),
                                      setup=case.setup)
        t_numpy, t_fastnn = medians[0], medians[1]
        row.update(numpy_s=t_numpy, fastnn_s=t_fastnn, speedup=t_numpy / t_fastnn)
        if case.bytes_moved:
            row["gbps"] = case.bytes_moved / t_fastnn / 1e9
            if case.bytes_moved < llc:
                row["in_cache"] = True
            else:
                row["pct_roofline"] = 100.0 * row["gbps"] / bandwidth
        if with_torch and case.torch is not None:
            row["torch_s"] = medians[2]
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
                _cell_pct(row)]
        if with_torch:
            line += [_fmt_time(row.get("torch_s")),
                     f"{row['vs_torch']:.2f}x" if "vs_torch" in row else "-"]
        line.append("; ".join(f"{t}: {'met' if ok else ('n/a' if ok is None else 'MISSED')}"
                              for t, ok in verdicts))
        table.add_row(line)
    return {"config": config, "roofline_gbps": bandwidth, "llc_bytes": llc, "threads": threads,
            "results": rows}


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError("--plot needs matplotlib, which is not installed: "
                          "pip install 'fastnn-kernels[plot]' (or pip install matplotlib)"
                          ) from exc


def plot(results, path):
    """Save a bar chart of the speedups, one group of bars per family.

    Each bar is one row's speedup (NumPy time / fastnn time) on a log
    scale, with a line at 1 (below it NumPy was faster); rows with a torch
    time add a black mark at torch time / fastnn time. Rows whose check
    failed are left out.

    Parameters
    ----------
    results : dict
        What :func:`run` returned.
    path : str or path-like
        The image file; its extension chooses the format (png, svg, pdf).

    Raises
    ------
    ImportError
        If matplotlib is not installed (the ``plot`` extra).
    ValueError
        If no row has a speedup.
    """
    _require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = [r for r in results["results"] if "speedup" in r]
    if not rows:
        raise ValueError("no row has a speedup to plot")
    families = list(dict.fromkeys(r.get("family") or "?" for r in rows))
    colors = {f: f"C{i % 10}" for i, f in enumerate(families)}
    xs, heights, bar_colors, labels, torch_x, torch_y = [], [], [], [], [], []
    x = 0.0
    for family in families:
        for r in rows:
            if (r.get("family") or "?") != family:
                continue
            xs.append(x)
            heights.append(r["speedup"])
            bar_colors.append(colors[family])
            labels.append(f"{r['kernel']} {r['size']} {r['dtype']}")
            if "vs_torch" in r:
                torch_x.append(x)
                torch_y.append(r["vs_torch"])
            x += 1.0
        x += 1.0  # a gap between families
    fig = Figure(figsize=(max(6.0, 0.28 * len(xs) + 2.0), 6.0))
    ax = fig.add_subplot()
    ax.bar(xs, heights, color=bar_colors)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, rotation=90, fontsize=7)
    ax.set_ylabel("speedup = NumPy time / fastnn time (log scale)")
    threads = results.get("threads")
    ax.set_title("fastnn speedups by family" + (f" ({threads} threads)" if threads else ""))
    handles = [Patch(color=colors[f], label=f) for f in families]
    if torch_x:
        handles.append(ax.scatter(torch_x, torch_y, color="black", marker="D", s=24,
                                  zorder=3, label=TORCH_RATIO))
    ax.legend(handles=handles, fontsize=8)
    fig.savefig(path, dpi=120, bbox_inches="tight")


def main(argv=None):
    """The command line: ``python -m fastnn.bench --help``.

    Returns
    -------
    int
        0; a usage error (a bad ``--only`` pattern, or one that matches no
        kernel; ``--plot`` without matplotlib) exits with status 2.
    """
    parser = argparse.ArgumentParser(
        prog="python -m fastnn.bench",
        description="Time fastnn's kernels against their NumPy references (and PyTorch). "
                    "speedup = NumPy time / fastnn time; '" + TORCH_RATIO + "' (JSON key "
                    "vs_torch): above 1 fastnn is faster; %roofline is left 'in cache' "
                    "for rows moving less than the last-level cache.")
    parser.add_argument("--full", action="store_true", help="all sizes (slower)")
    parser.add_argument("--with-torch", action="store_true", help="add a PyTorch column")
    parser.add_argument("--only", metavar="REGEX", type=_regex,
                        help="kernels whose name matches (re.search)")
    parser.add_argument("--threads", type=int, help="thread count (default: fastnn's)")
    parser.add_argument("--min-time", type=float, default=0.1,
                        help="seconds per timing repeat (default 0.1)")
    parser.add_argument("--json", metavar="FILE", help="save the results as JSON")
    parser.add_argument("--plot", metavar="FILE",
                        help="save a bar chart of the speedups, one group per family, log "
                             "scale (png, svg or pdf by extension); needs matplotlib: "
                             "pip install 'fastnn-kernels[plot]'")
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
    run_kernels = args.scenario in (None, "none")
    run_scenarios = args.scenario != "none"
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        folder = os.path.dirname(path or "")
        if folder and not os.path.isdir(folder):
            parser.error(f"{option} {path}: the folder {folder} does not exist")
    if args.plot:
        if not run_kernels:
            parser.error("--plot draws the kernel table, which --scenario "
                         f"{args.scenario} leaves out")
        try:
            _require_matplotlib()
        except ImportError as exc:
            parser.error(str(exc))
    if args.threads is not None:
        import fastnn
        fastnn.set_num_threads(args.threads)
    with_torch = args.with_torch
    if with_torch and not _torch_available():
        print("torch is not installed: the torch columns are left out")
        with_torch = False

    cases = []
    if run_kernels:
        cases = collect(args.full, with_torch)
        all_names = [c.kernel for c in cases]
        if args.only:
            cases = [c for c in cases if re.search(args.only, c.kernel)]
    scenario_names = []
    if run_scenarios and args.only:
        scenario_names = [c.kernel for c in _scenarios._cases(False)]
        scenario_match = [n for n in scenario_names if re.search(args.only, n)]
        if not cases and not scenario_match:
            message = f"--only {args.only!r} matches no kernel."
            if run_kernels:
                message += f"\nKernels of the benchmark table:\n{_names(all_names)}"
            message += ("\nHeadline kernels of the field scenarios (--scenario):\n"
                        + _names(scenario_names))
            parser.error(message)
        run_scenarios = bool(scenario_match)
    elif run_kernels and not cases:
        parser.error(f"--only {args.only!r} matches no kernel. Kernels:\n{_names(all_names)}")

    results = {}
    if run_kernels:
        if cases:
            results = run(full=args.full, with_torch=with_torch, only=args.only,
                          n_threads=args.threads, min_time=args.min_time, cases=cases)
        else:
            print(f"--only {args.only!r} matches no kernel of the benchmark table: "
                  "field scenarios only")
    del cases
    if args.scenario is None and args.only and not run_scenarios:
        print(f"\nfield scenarios: --only {args.only!r} matches none of their headline "
              "kernels: " + ", ".join(scenario_names))
    if run_scenarios:
        chosen = _scenarios.SCENARIOS if args.scenario in (None, "all") else (args.scenario,)
        print(file=sys.stdout)
        results["scenarios"] = _scenarios.run(chosen, with_torch=with_torch, only=args.only)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=str)
        print(f"results saved to {args.json}")
    if args.plot:
        if results.get("results"):
            plot(results, args.plot)
            print(f"chart saved to {args.plot}")
        else:
            print(f"no kernel row to plot: {args.plot} not written")
    return 0
