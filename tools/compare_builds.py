#!/usr/bin/env python3
"""Paired comparison of the benchmark's kernel rows between two built checkouts.

Usage::

    python tools/compare_builds.py OLD_CHECKOUT NEW_CHECKOUT [--rounds 11] [--only RE]
                                   [--json FILE]

Each checkout must be built in place (``python setup.py build_ext --inplace``).
One worker process per checkout imports that checkout's fastnn and builds
every case of its benchmark (``fastnn.bench.harness.collect``: the data of all
the rows, as ``python -m fastnn.bench`` holds it). Then, row by row, the two
workers time batches of about 40 ms of calls in strict alternation, the
order swapped every round, so that both builds see the same state of the
machine. A row's figure is the median over the rounds of the paired ratio
NEW/OLD; its spread is the interquartile range of those ratios.

Why paired: on a shared virtual machine the speed of a core changes by
10-50% within minutes. Two separate benchmark runs then compare two
machines; batches timed back to back compare two builds. Even so, run the
comparison both ways round and once with the same checkout on both sides
(``A A``): that calibration says how far apart two identical builds come
out, and a difference smaller than that is not a result.

``--only RE`` keeps the rows whose kernel name matches, after all the cases
are built: the process holds the whole benchmark's data, as the benchmark
does. A row can time differently in a process that holds only its own data
(LayerNorm's fwd+bwd row did, by 10-20%); ``--selected-data-only`` builds
only the selected rows, which is faster;
``--family NAME`` builds only the cases of one module of
``fastnn/bench/cases``.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

# the worker: runs inside one checkout, answers one JSON command per line
_WORKER = r'''
import json, re, sys, time
tree, only, selected_only, family = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
sys.path.insert(0, tree)
import fastnn
if not fastnn.__file__.startswith(tree):
    raise SystemExit(f"imported {fastnn.__file__}, not the checkout {tree}")
if family:
    import importlib
    cases = importlib.import_module(f"fastnn.bench.cases.{family}").cases(full=False,
                                                                           with_torch=False)
else:
    from fastnn.bench.harness import collect
    cases = collect(full=False, with_torch=False, only=(only or None) if selected_only else None)
if only:
    cases = [c for c in cases if re.search(only, c.kernel)]
cases = {(c.kernel, c.size, c.dtype): c for c in cases}
print(json.dumps(list(cases)), flush=True)
case = None
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd[0] == "prepare":
        case = cases[tuple(cmd[1])]
        try:
            if case.setup:
                case.setup()
            case.check()
            case.fastnn()
            start = time.perf_counter()
            case.fastnn()
            print(json.dumps(time.perf_counter() - start), flush=True)
        except Exception as exc:  # reported as a failed row, the others go on
            print(json.dumps(repr(exc)), flush=True)
    else:
        n = cmd[1]
        if case.setup:
            case.setup()
        start = time.perf_counter()
        for _ in range(n):
            case.fastnn()
        print(json.dumps((time.perf_counter() - start) / n), flush=True)
'''

BATCH_SECONDS = 0.04


class _Worker:
    def __init__(self, tree, only, selected_only, family):
        self.tree = os.path.abspath(tree)
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER, self.tree, only or "",
                                      "1" if selected_only else "0", family or ""],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd="/" if os.name == "posix" else None)
        self.rows = [tuple(k) for k in self._read()]

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the worker of {self.tree} ended (see its error above)")
        return json.loads(line)

    def ask(self, *cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def compare(old, new, rounds=11, only=None, selected_only=False, family=None, out=sys.stdout):
    """Time every row both checkouts have; return a list of result dicts."""
    workers = [_Worker(old, only, selected_only, family),
               _Worker(new, only, selected_only, family)]
    rows = [k for k in workers[1].rows if k in set(workers[0].rows)]
    results = []
    print("| kernel | size | dtype | old | new | new/old (paired median) | quartiles |", file=out)
    print("|---|---|---|---|---|---|---|", file=out)
    try:
        for row in rows:
            first = [w.ask("prepare", list(row)) for w in workers]
            failed = [f for f in first if isinstance(f, str)]
            if failed:
                print(f"| {row[0]} | {row[1]} | {row[2]} | failed: {failed[0]} | | | |", file=out)
                continue
            n = max(1, int(BATCH_SECONDS / max(max(first), 1e-7)))
            times = ([], [])
            for r in range(rounds):
                order = (0, 1) if r % 2 == 0 else (1, 0)
                got = {i: workers[i].ask("time", n) for i in order}
                times[0].append(got[0])
                times[1].append(got[1])
            ratios = sorted(b / a for a, b in zip(*times))
            q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            res = {"kernel": row[0], "size": row[1], "dtype": row[2],
                   "old_s": statistics.median(times[0]), "new_s": statistics.median(times[1]),
                   "ratio": statistics.median(ratios), "q1": q[0], "q3": q[-1]}
            results.append(res)
            print(f"| {row[0]} | {row[1]} | {row[2]} | {res['old_s'] * 1e6:.1f} us | "
                  f"{res['new_s'] * 1e6:.1f} us | {res['ratio']:.3f} | "
                  f"{res['q1']:.2f}-{res['q3']:.2f} |", file=out, flush=True)
    finally:
        for w in workers:
            w.close()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--only", help="regular expression on the kernel name")
    parser.add_argument("--json", help="write the rows to this file")
    parser.add_argument("--selected-data-only", action="store_true",
                        help="build only the selected rows' cases (faster, but a smaller "
                             "process than the benchmark's)")
    parser.add_argument("--family", help="only the cases of this module of fastnn/bench/cases "
                                         "(e.g. optim, norm)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    results = compare(args.old, args.new, args.rounds, args.only, args.selected_data_only,
                      args.family)
    slower = [r for r in results if r["ratio"] > 1.05]
    print(f"rows compared: {len(results)}; new slower by more than 5% (paired median): "
          f"{len(slower)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
