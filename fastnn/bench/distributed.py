"""Benchmarks of fastnn.distributed: ``python -m fastnn.bench --only distributed``
(or ``python -m fastnn.bench.distributed``).

When mpi4py is installed the parent process launches workers of this module
under ``mpiexec -n 2`` (and ``-n 4`` for the memory rows) and prints:

1. **all-reduce**: fastnn's all-reduce of a model's gradients (the flat
   per-dtype buffers of DistributedDataParallel, in place) against a raw
   mpi4py ``Allreduce(IN_PLACE)`` of the same bytes in one buffer; overhead
   target <= 5 %. Also one training step with and without overlap
   (``Iallreduce`` per bucket during backward).
2. **epoch**: one epoch of the 784-256-256-10 MLP on 60,000 synthetic
   samples (float32, Adam, global batch 128 and 512) with 1 rank x 2 threads
   (``fastnn.training.fit``) against 2 ranks x 1 thread (``distributed=True``).
3. **ZeRO-1 memory**: optimizer-state bytes per rank (tracemalloc peak of the
   first step, which allocates the state, and the state arrays' nbytes) of
   Adam on a 25M-parameter model, plain data parallelism against
   ZeroRedundancyOptimizer, on 2 and 4 ranks.

Timings are the median of repeats, each started after a barrier; rank 0
reports the slowest rank's time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import numpy as np

__all__ = ["main"]


def _mlp(dtype=np.float32, sizes=(784, 256, 256, 10), seed=0):
    from fastnn import nn
    nn.manual_seed(seed)
    layers = [nn.Linear(a, b, activation="relu" if i < len(sizes) - 2 else "identity",
                        dtype=dtype)
              for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
    return nn.Sequential(*layers)


def _timed(comm, fn, repeats):
    times = []
    for _ in range(repeats):
        comm.Barrier()
        t0 = time.perf_counter()
        fn()
        t = time.perf_counter() - t0
        times.append(comm.allreduce(t, op=_mpi().MAX))
    return float(np.median(times))


def _timed_pair(comm, fa, fb, repeats):
    """Medians of fa and fb timed alternately (slowest rank each time)."""
    ta, tb = [], []
    for i in range(repeats):
        for fn, times in ((fa, ta), (fb, tb)) if i % 2 == 0 else ((fb, tb), (fa, ta)):
            comm.Barrier()
            t0 = time.perf_counter()
            fn()
            t = time.perf_counter() - t0
            times.append(comm.allreduce(t, op=_mpi().MAX))
    return (float(np.median(ta)), float(np.median(tb)), float(np.min(ta)), float(np.min(tb)))


def _mpi():
    from mpi4py import MPI
    return MPI


def _emit(comm, row):
    if comm is None or comm.Get_rank() == 0:
        print("ROW " + json.dumps(row), flush=True)


# ------------------------------------------------------------------ workers


def _worker_allreduce(args):
    from fastnn import nn
    from fastnn.distributed import DistributedDataParallel
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    for label, sizes in (("MLP 784-256-256-10", (784, 256, 256, 10)),
                         ("MLP 784-2048-2048-10 (16 MB)", (784, 2048, 2048, 10))):
        model = _mlp(sizes=sizes)
        ddp = DistributedDataParallel(model, comm)
        for p in model.parameters():
            p.grad = None
        nbytes = sum(b.nbytes for b in ddp.grads.buffers.values())
        raw = np.ones(nbytes // 4, np.float32)
        repeats = args.repeats
        # interleaved, so that both see the same machine (others share its cores)
        t_raw, t_fnn, b_raw, b_fnn = _timed_pair(
            comm, lambda: comm.Allreduce(MPI.IN_PLACE, raw, op=MPI.SUM),
            ddp.allreduce_gradients, repeats)
        # fastnn's own work per call besides the Allreduce (checking the views)
        k = 1000
        t0 = time.perf_counter()
        for _ in range(k):
            ddp.grads.settle()
        t_book = (time.perf_counter() - t0) / k
        _emit(comm, {"bench": "allreduce", "model": label, "ranks": comm.Get_size(),
                     "bytes": nbytes, "raw_ms": 1e3 * t_raw, "fastnn_ms": 1e3 * t_fnn,
                     "overhead_pct": 100.0 * (t_fnn / t_raw - 1.0),
                     "raw_best_ms": 1e3 * b_raw, "fastnn_best_ms": 1e3 * b_fnn,
                     "best_overhead_pct": 100.0 * (b_fnn / b_raw - 1.0),
                     "bookkeeping_us": 1e6 * t_book})
        ddp.close()
        # a training step (forward, backward, all-reduce) with and without overlap
        x = np.random.default_rng(0).standard_normal((64, sizes[0])).astype(np.float32)
        y = np.random.default_rng(1).integers(0, 10, 64)
        loss = nn.CrossEntropyLoss()
        row = {"bench": "overlap", "model": label, "ranks": comm.Get_size(),
               "batch_per_rank": 64}
        steps = []
        for overlap in (False, True):
            m = _mlp(sizes=sizes)
            d = DistributedDataParallel(m, comm, overlap=overlap, bucket_bytes=1 << 20)

            def step(m=m, d=d):
                m.zero_grad()
                loss.forward(m.forward(x), y)
                d.backward(loss.backward())
                d.allreduce_gradients()

            step()
            steps.append((step, d))
        med_b, med_o, best_b, best_o = _timed_pair(comm, steps[0][0], steps[1][0], repeats)
        row.update(blocking_ms=1e3 * med_b, overlap_ms=1e3 * med_o,
                   blocking_best_ms=1e3 * best_b, overlap_best_ms=1e3 * best_o)
        for _, d in steps:
            d.close()
        _emit(comm, row)


def _epoch_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60000)
    return x, y


def _worker_epoch(args):
    import fastnn
    distributed = args.distributed
    comm = _mpi().COMM_WORLD if distributed else None
    x, y = _epoch_data()
    for batch in (128, 512):
        model = _mlp()
        # warm-up: a few batches
        model.fit(x[:batch * 4], y[:batch * 4], epochs=1, batch_size=batch,
                  n_threads=args.threads, distributed=distributed)
        model = _mlp()
        if comm is not None:
            comm.Barrier()
        t0 = time.perf_counter()
        hist = model.fit(x, y, epochs=1, batch_size=batch, n_threads=args.threads,
                         distributed=distributed)
        t = time.perf_counter() - t0
        if comm is not None:
            t = comm.allreduce(t, op=_mpi().MAX)
        ranks = comm.Get_size() if comm is not None else 1
        _emit(comm, {"bench": "epoch", "batch": batch, "ranks": ranks, "threads": args.threads,
                     "seconds": t, "loss": hist["loss"][-1],
                     "fastnn_threads": fastnn.get_num_threads()})


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _worker_zero(args):
    import tracemalloc

    from fastnn import nn, optim
    from fastnn.distributed import ZeroRedundancyOptimizer, broadcast_parameters
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5000, 5000, activation="identity"))  # 25.0M parameters
    broadcast_parameters(model, comm)
    n_params = model.n_parameters()
    for kind in ("plain", "zero"):
        if kind == "plain":
            opt = optim.Adam(model.parameters())
            for p in model.parameters():
                p.grad = np.zeros_like(p.data)
        else:
            for p in model.parameters():
                p.grad = None
            opt = ZeroRedundancyOptimizer(optim.Adam, model.parameters(), comm)
        if kind == "zero":  # touch the gradient buffers first: state only below
            opt.grads.settle()
            for g in opt._grad_shards.values():
                g.fill(0)
        comm.Barrier()
        rss0 = _rss_bytes()
        tracemalloc.start()
        opt.step()  # the first step allocates the state
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss1 = _rss_bytes()
        if kind == "plain":
            state = sum(v.nbytes for s in opt.state.values() for v in s.values()
                        if isinstance(v, np.ndarray))
        else:
            state = opt.state_nbytes()
        worst = comm.allreduce(current, op=MPI.MAX)
        _emit(comm, {"bench": "zero_memory", "ranks": comm.Get_size(), "kind": kind,
                     "params": n_params, "state_mb": state / 2**20,
                     "traced_mb": worst / 2**20, "rss_delta_mb": (rss1 - rss0) / 2**20})
        if kind == "zero":
            opt.close()
        del opt
        for p in model.parameters():
            p.grad = None


# ------------------------------------------------------------------ parent


def _mpiexec():
    here = os.path.dirname(sys.executable)
    return shutil.which("mpiexec", path=here + os.pathsep + os.environ.get("PATH", ""))


def _launch(cmd, timeout=1800):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    return [json.loads(line[4:]) for line in r.stdout.splitlines() if line.startswith("ROW ")]


def _table(header, rows, out):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print("| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths)) + " |", file=out)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=out)
    for r in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |", file=out)


def main(argv=None, out=sys.stdout, json_path=None):
    ap = argparse.ArgumentParser(prog="python -m fastnn.bench.distributed")
    ap.add_argument("--worker", choices=("allreduce", "epoch", "zero"))
    ap.add_argument("--distributed", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--skip", default="", help="comma-separated: allreduce,epoch,zero")
    ap.add_argument("--json", default=json_path)
    args = ap.parse_args(argv)
    if args.worker:
        {"allreduce": _worker_allreduce, "epoch": _worker_epoch,
         "zero": _worker_zero}[args.worker](args)
        return None
    from fastnn.distributed import is_available
    mpiexec = _mpiexec()
    if not is_available() or mpiexec is None:
        print("distributed benchmarks skipped: mpi4py/mpiexec not installed "
              "(pip install -e '.[mpi]')", file=out)
        return {}
    import fastnn
    me = [sys.executable, "-m", "fastnn.bench.distributed"]
    skip = set(filter(None, args.skip.split(",")))
    from mpi4py import MPI  # version only; the parent never initializes MPI itself
    print(f"fastnn.distributed benchmarks: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NumPy {np.__version__}, "
          f"fastnn {getattr(fastnn, '__version__', '?')}, "
          f"mpi4py {__import__('mpi4py').__version__}, {MPI.Get_library_version().splitlines()[0]}",
          file=out)
    results = {}
    if "allreduce" not in skip:
        rows = _launch([mpiexec, "-n", "2", *me, "--worker", "allreduce",
                        "--repeats", str(args.repeats)])
        results["allreduce"] = rows
        print("\nGradient all-reduce, 2 ranks (median of repeats; target overhead <= 5 %)",
              file=out)
        _table(["model", "bytes", "raw mpi4py ms median/best", "fastnn ms median/best",
                "overhead median/best", "fastnn bookkeeping per call"],
               [(r["model"], f"{r['bytes']:,}", f"{r['raw_ms']:.3f} / {r['raw_best_ms']:.3f}",
                 f"{r['fastnn_ms']:.3f} / {r['fastnn_best_ms']:.3f}",
                 f"{r['overhead_pct']:+.1f} % / {r['best_overhead_pct']:+.1f} %",
                 f"{r['bookkeeping_us']:.1f} us")
                for r in rows if r["bench"] == "allreduce"], out)
        print("\nOne step (forward, backward, all-reduce), batch 64 per rank, 2 ranks",
              file=out)
        _table(["model", "blocking ms median/best", "overlap ms median/best",
                "overlap/blocking median/best"],
               [(r["model"], f"{r['blocking_ms']:.3f} / {r['blocking_best_ms']:.3f}",
                 f"{r['overlap_ms']:.3f} / {r['overlap_best_ms']:.3f}",
                 f"{r['overlap_ms'] / r['blocking_ms']:.3f} / "
                 f"{r['overlap_best_ms'] / r['blocking_best_ms']:.3f}")
                for r in rows if r["bench"] == "overlap"], out)
    if "epoch" not in skip:
        one = _launch(me + ["--worker", "epoch", "--threads", "2"])
        two = _launch([mpiexec, "-n", "2", *me, "--worker", "epoch", "--threads", "1",
                       "--distributed"])
        results["epoch"] = one + two
        print("\nOne epoch, MLP 784-256-256-10, 60,000 x 784 float32, Adam", file=out)
        rows = []
        for a in one:
            b = next(r for r in two if r["batch"] == a["batch"])
            rows.append((a["batch"], f"{a['seconds']:.2f}", f"{b['seconds']:.2f}",
                         f"{a['seconds'] / b['seconds']:.2f}x"))
        _table(["global batch", "1 rank x 2 threads s", "2 ranks x 1 thread s",
                "speed 2 ranks / 1 rank"], rows, out)
    if "zero" not in skip:
        rows = []
        for n in (2, 4):
            rows += _launch([mpiexec, "-n", str(n), *me, "--worker", "zero"])
        results["zero"] = rows
        print("\nAdam state per rank, 25M-parameter float32 model (Linear 5000x5000)", file=out)
        _table(["ranks", "optimizer", "state arrays MB", "tracemalloc first step MB",
                "RSS growth MB"],
               [(r["ranks"], "plain DP" if r["kind"] == "plain" else "ZeRO-1",
                 f"{r['state_mb']:.1f}", f"{r['traced_mb']:.1f}", f"{r['rss_delta_mb']:.1f}")
                for r in rows], out)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
