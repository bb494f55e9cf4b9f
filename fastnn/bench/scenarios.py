"""Field scenarios: each family's headline kernel timed the way programs use it.

A kernel that is fast alone and slow in a real program is slow. Each
headline kernel is timed in these scenarios, one call at a time. The
scenarios take turns in ``ROUNDS`` rounds of ``CALLS`` calls each, so that a
slow phase of a shared machine falls on all of them alike; the median over
every call is reported (and for ``busy`` also the worst round's median):

alone
    After a 0.15 s pause (the only scenario with a settle pause), with
    fastnn's default thread count, and again with one thread (``alone 1T``),
    the yardstick of the other scenarios.
after-numpy
    Each call right after a NumPy matmul of 256×1024 @ 1024×1024 float32,
    whose OpenBLAS worker threads keep spinning when it returns. Also timed
    on one thread (``after-numpy 1T``): the matmul leaves the kernel's data
    out of cache and the cores idle for a while, which slows one thread too,
    so ``/1T after-numpy`` shows what the second thread gains or costs in
    this scenario, and ``/1T`` what the scenario costs in all.
busy
    While a second process spins on one core: a fresh spinning process each
    round, because the effect depends on where the OS places the threads;
    the median over all calls and the worst round's median are reported.
threads
    Two Python threads call the kernel at once on their own data; the
    figure is wall time per call (two calls complete per period).

Every kernel's result is checked against its NumPy reference before it is
timed. ``python -m fastnn.bench --scenario NAME`` runs one scenario
(``all`` runs every one); torch runs the same scenarios with
``--with-torch``.
"""
import dataclasses
import math
import statistics
import subprocess
import sys
import threading
import time
from typing import Callable, List, Optional

import numpy as np

SCENARIOS = ("alone", "after-numpy", "busy", "threads")
ROUNDS = 5          # rounds in which the scenarios take turns
CALLS = 11          # timed calls per scenario, kernel and round
SETTLE_S = 0.15     # pause before the `alone` figures only
EPOCH_SAMPLES = 15360  # the training row: 120 batches of 128


@dataclasses.dataclass
class FieldCase:
    """A headline kernel: ``make(n_threads)`` returns a zero-argument call
    (fresh state per call where the kernel updates in place), ``check()``
    compares with the reference, ``torch`` is torch's version or None."""

    family: str
    kernel: str
    size: str
    make: Callable[[Optional[int]], Callable[[], object]]
    check: Callable[[], None]
    torch: Optional[Callable[[], Callable[[], object]]] = None
    calls: int = CALLS  # timed calls per scenario and round


def _assert_close(actual, expected, rtol=1e-4, atol=1e-5):
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64),
                               rtol=rtol, atol=atol)


def _mlp_arrays(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(256, 784), (256,), (256, 256), (256,), (10, 256), (10,)]
    return [rng.standard_normal(s).astype(np.float32) * 0.05 for s in shapes]


def _cases(with_torch):
    from fastnn import functional as F
    from fastnn import reference as R
    from fastnn import random as fr

    torch = None
    if with_torch:
        import torch

    cases = []

    # optimizers: one Adam step over a 784-256-256-10 MLP's six arrays
    params = _mlp_arrays(0)
    grads = _mlp_arrays(1)

    def adam_make(n_threads):
        p = [a.copy() for a in params]
        m = [np.zeros_like(a) for a in params]
        v = [np.zeros_like(a) for a in params]
        step = [0]

        def call():
            step[0] += 1
            F.adam_(p, grads, m, v, step=step[0], lr=1e-3, n_threads=n_threads)
        return call

    def adam_check():
        p = [a.copy() for a in params]
        m = [np.zeros_like(a) for a in params]
        v = [np.zeros_like(a) for a in params]
        F.adam_(p, grads, m, v, step=1, lr=1e-3)
        for got, a, g in zip(p, params, grads):
            expected = a.copy()
            R.adam(expected, g, np.zeros_like(a), np.zeros_like(a), step=1, lr=1e-3)
            _assert_close(got, expected)

    def adam_torch():
        tp = [torch.from_numpy(a.copy()) for a in params]
        for t, g in zip(tp, grads):
            t.grad = torch.from_numpy(g)
        opt = torch.optim.Adam(tp, lr=1e-3, fused=True)
        return opt.step

    cases.append(FieldCase("optim", "adam_ (MLP, 6 arrays)", "269k", adam_make, adam_check,
                           adam_torch if torch else None))

    # normalization
    rng = np.random.default_rng(2)
    xb = rng.standard_normal((64, 64, 32, 32), dtype=np.float32)
    yb = np.empty_like(xb)

    def bn_make(n_threads):
        return lambda: F.batch_norm(xb, training=True, out=yb, n_threads=n_threads)

    def bn_check():
        o = F.batch_norm(xb[:4], training=True)
        _assert_close(o.out, R.batch_norm(xb[:4], training=True)[0])

    def bn_torch():
        tx = torch.from_numpy(xb)
        return lambda: torch.nn.functional.batch_norm(tx, None, None, training=True)

    cases.append(FieldCase("norm", "batch_norm fwd", "64x64x32x32", bn_make, bn_check,
                           bn_torch if torch else None))

    xl = rng.standard_normal((4096, 768), dtype=np.float32)
    yl = np.empty_like(xl)

    def ln_make(n_threads):
        return lambda: F.layer_norm(xl, (768,), out=yl, n_threads=n_threads)

    def ln_check():
        _assert_close(F.layer_norm(xl[:64], (768,)).out, R.layer_norm(xl[:64], (768,))[0])

    def ln_torch():
        tx = torch.from_numpy(xl)
        return lambda: torch.nn.functional.layer_norm(tx, (768,))

    cases.append(FieldCase("norm", "layer_norm fwd", "4096x768", ln_make, ln_check,
                           ln_torch if torch else None))

    # dropout (random family)
    xd = rng.standard_normal(1 << 22, dtype=np.float32)
    yd = np.empty_like(xd)

    def do_make(n_threads):
        return lambda: F.dropout(xd, 0.1, seed=0, out=yd, n_threads=n_threads)

    def do_check():
        a = F.dropout(xd[:4096], 0.1, seed=0)
        _assert_close(a, R.dropout_ref(xd[:4096], 0.1, seed=0))

    def do_torch():
        tx = torch.from_numpy(xd)
        return lambda: torch.nn.functional.dropout(tx, 0.1, training=True)

    cases.append(FieldCase("random", "dropout fwd", "4M", do_make, do_check,
                           do_torch if torch else None))

    # dense layer
    xx = rng.standard_normal((256, 1024), dtype=np.float32)
    ww = (rng.standard_normal((1024, 1024)) / 32).astype(np.float32)
    bb = rng.standard_normal(1024).astype(np.float32)
    yy = np.empty((256, 1024), np.float32)

    def dense_make(n_threads):
        return lambda: F.dense_forward(xx, ww, bb, activation="gelu", out=yy,
                                       n_threads=n_threads)

    def dense_check():
        got = F.dense_forward(xx[:32], ww, bb, activation="gelu")[0]
        _assert_close(got, R.ref_dense_forward(xx[:32], ww, bb, activation="gelu")[0], 1e-4, 1e-4)

    def dense_torch():
        tx, tw, tb = (torch.from_numpy(a) for a in (xx, ww, bb))
        return lambda: torch.nn.functional.gelu(torch.nn.functional.linear(tx, tw, tb))

    cases.append(FieldCase("dense", "dense_forward gelu", "256x1024x1024", dense_make,
                           dense_check, dense_torch if torch else None))

    # losses
    logits = rng.standard_normal((4096, 1000), dtype=np.float32)
    labels = rng.integers(0, 1000, 4096)
    grad = np.empty_like(logits)

    def ce_make(n_threads):
        return lambda: F.softmax_cross_entropy(logits, labels, out=grad, n_threads=n_threads)

    def ce_check():
        a = F.softmax_cross_entropy(logits[:64], labels[:64])
        e = R.softmax_cross_entropy(logits[:64], labels[:64])
        _assert_close(a[0], e[0])
        _assert_close(a[1], e[1])

    def ce_torch():
        tz = torch.from_numpy(logits).requires_grad_(True)
        ty = torch.from_numpy(labels)

        def call():
            tz.grad = None
            torch.nn.functional.cross_entropy(tz, ty).backward()
        return call

    cases.append(FieldCase("losses", "softmax_cross_entropy + grad", "4096x1000", ce_make,
                           ce_check, ce_torch if torch else None))

    # random fills (initializers)
    wu = np.empty(1 << 22, np.float32)

    def uni_make(n_threads):
        return lambda: fr.uniform_(wu, -1.0, 1.0, seed=0, n_threads=n_threads)

    def uni_check():
        a = np.empty(4096, np.float32)
        fr.uniform_(a, -1.0, 1.0, seed=0)
        _assert_close(a, R.uniform_ref(4096, np.float32, -1.0, 1.0, seed=0))

    def uni_torch():
        t = torch.from_numpy(wu)
        return lambda: t.uniform_(-1.0, 1.0)

    cases.append(FieldCase("random", "uniform_ fill", "4M", uni_make, uni_check,
                           uni_torch if torch else None))

    # augmentation
    imgs = rng.standard_normal((256, 3, 32, 32), dtype=np.float32)
    aug_out = np.empty_like(imgs)

    def aug_make(n_threads):
        return lambda: F.random_flip_crop(imgs, 4, seed=0, out=aug_out, n_threads=n_threads)

    def aug_check():
        a = F.random_flip_crop(imgs[:8], 4, seed=0)
        e = R.flip_crop_ref(imgs[:8], 4, seed=0)
        _assert_close(a, e)

    cases.append(FieldCase("augment", "random_flip_crop pad 4", "256x3x32x32", aug_make,
                           aug_check, None))

    # training: one epoch of the 784-512-256-10 MLP on 15,360 samples (fit, Adam, batch 128)
    from fastnn.bench.cases import training as tr

    xt, yt = tr._data(EPOCH_SAMPLES)

    def epoch_make(n_threads):
        model = tr._fastnn_model()
        return lambda: model.fit(xt, yt, optimizer="adam", lr=1e-3, epochs=1,
                                 batch_size=tr.BATCH, seed=0, n_threads=n_threads)

    def epoch_check():
        model = tr._fastnn_model(seed=1)
        history = model.fit(xt[:2560], yt[:2560], optimizer="adam", lr=1e-3, epochs=2,
                            batch_size=tr.BATCH, seed=0)
        losses = history.history["loss"]
        assert losses[-1] < losses[0], f"epoch loss did not decrease: {losses}"

    cases.append(FieldCase("training", "fit epoch MLP 784-512-256-10",
                           f"{EPOCH_SAMPLES // 1000}k x 784", epoch_make, epoch_check, None,
                           calls=1))
    return cases


# ------------------------------------------------------------------ timing

_A = _B = None


def _numpy_matmul():
    global _A, _B
    if _A is None:
        rng = np.random.default_rng(9)
        _A = rng.standard_normal((256, 1024), dtype=np.float32)
        _B = rng.standard_normal((1024, 1024), dtype=np.float32)
    return _A @ _B


def _time_calls(call, before=None, calls=CALLS):
    """Seconds of each of ``calls`` calls (after one untimed call)."""
    call()  # warm up
    times = []
    for _ in range(calls):
        if before is not None:
            before()
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return times


def _spinner():
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)  # let it start spinning
    return proc


def _time_busy(make_call, calls=CALLS):
    proc = _spinner()
    try:
        return _time_calls(make_call(), calls=calls)
    finally:
        proc.kill()
        proc.wait()


def _time_two_threads(make_call, calls=CALLS):
    """Wall time per call with two Python threads calling at once."""
    a, b = make_call(), make_call()
    a(), b()
    barrier = threading.Barrier(2)
    errors = []

    def work(call):
        try:
            barrier.wait()
            for _ in range(calls):
                call()
        except Exception as e:  # reported below
            errors.append(e)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work, args=(c,)) for c in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return wall / (2 * calls)


def measure_case(case, scenarios, with_torch, rounds=ROUNDS):
    """One result row: seconds per call (medians) for each scenario asked for."""
    row = {"family": case.family, "kernel": case.kernel, "size": case.size}
    make = case.make
    torch_make = case.torch if with_torch else None
    samples = {}
    busy_rounds = {"busy": [], "torch_busy": []}

    def add(key, times):
        samples.setdefault(key, []).extend(times)

    def timed(call, before=None):
        return _time_calls(call, before=before, calls=case.calls)

    for _ in range(rounds):
        time.sleep(SETTLE_S)
        add("alone_1t", timed(make(1)))
        time.sleep(SETTLE_S)
        add("alone", timed(make(None)))
        if torch_make is not None:
            time.sleep(SETTLE_S)
            add("torch_alone", timed(torch_make()))
        if "after-numpy" in scenarios:
            add("after_numpy", timed(make(None), before=_numpy_matmul))
            add("after_numpy_1t", timed(make(1), before=_numpy_matmul))
            if torch_make is not None:
                add("torch_after_numpy", timed(torch_make(), before=_numpy_matmul))
        if "busy" in scenarios:
            times = _time_busy(lambda: make(None), case.calls)
            add("busy", times)
            busy_rounds["busy"].append(statistics.median(times))
            if torch_make is not None:
                times = _time_busy(torch_make, case.calls)
                add("torch_busy", times)
                busy_rounds["torch_busy"].append(statistics.median(times))
    for key, times in samples.items():
        row[key] = statistics.median(times)
    for key, medians in busy_rounds.items():
        if medians:
            row[key + "_worst"] = max(medians)
    if "threads" in scenarios:
        row["threads"] = _time_two_threads(lambda: make(None), calls=case.calls)
    return row


def _fmt(seconds):
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"


def targets(row):
    """The issue's targets for one row, as (text, met) pairs."""
    out = []
    base = row.get("alone_1t")
    if "after_numpy" in row:
        out.append(("after-numpy <= 1.15x 1T alone", row["after_numpy"] <= 1.15 * base))
        if "torch_after_numpy" in row:
            out.append(("after-numpy >= 1.5x faster than torch",
                        row["torch_after_numpy"] >= 1.5 * row["after_numpy"]))
    if "busy_worst" in row:
        if row.get("family") == "training":
            out.append(("busy <= 1T alone", row["busy"] <= base))
        else:
            out.append(("busy worst <= 1.25x 1T alone", row["busy_worst"] <= 1.25 * base))
    return out


def run(scenarios=SCENARIOS, with_torch=False, only=None, out=None):
    """Time every headline kernel in the given scenarios; print a table.

    Each row is printed once, as soon as its kernel is measured, in the
    format of the final markdown table (header first).
    """
    import re

    from fastnn.bench._table import StreamingTable

    if out is None:
        out = sys.stdout

    scenarios = tuple(scenarios)
    rows = []
    header = ["kernel", "size", "alone", "alone 1T"]
    if "after-numpy" in scenarios:
        header += ["after-numpy", "/1T", "after-numpy 1T", "/1T after-numpy"]
    if "busy" in scenarios:
        header += ["busy med", "busy worst", "worst/1T"]
    if "threads" in scenarios:
        header += ["2 callers, per call"]
    if with_torch:
        header += ["torch alone"]
        if "after-numpy" in scenarios:
            header += ["torch after-numpy"]
        if "busy" in scenarios:
            header += ["torch busy worst"]
    header += ["targets"]
    print(f"field scenarios: {', '.join(scenarios)}; medians of {ROUNDS} rounds x {CALLS} "
          f"calls, scenarios interleaved (busy worst: the slowest round's median); "
          f"1T = one thread", file=out)
    cases = [c for c in _cases(with_torch) if not only or re.search(only, c.kernel)]
    widths = {h: 7 for h in header}  # times such as "1.23 ms"
    widths.update(kernel=max((len(c.kernel) for c in cases), default=0),
                  size=max((len(c.size) for c in cases), default=0), targets=0)
    table = StreamingTable(header, out, widths)
    table.print_header()
    for case in cases:
        try:
            case.check()
        except AssertionError as exc:
            table.add_row([case.kernel, case.size, "CHECK FAILED",
                           " ".join(str(exc).split())[:60]])
            rows.append({"kernel": case.kernel, "error": str(exc)})
            continue
        row = measure_case(case, scenarios, with_torch)
        row["targets"] = [{"target": t, "met": bool(m)} for t, m in targets(row)]
        rows.append(row)
        line = [case.kernel, case.size, _fmt(row["alone"]), _fmt(row["alone_1t"])]
        if "after-numpy" in scenarios:
            line += [_fmt(row["after_numpy"]), _ratio(row["after_numpy"], row["alone_1t"]),
                     _fmt(row["after_numpy_1t"]),
                     _ratio(row["after_numpy"], row["after_numpy_1t"])]
        if "busy" in scenarios:
            line += [_fmt(row["busy"]), _fmt(row["busy_worst"]),
                     _ratio(row["busy_worst"], row["alone_1t"])]
        if "threads" in scenarios:
            line += [_fmt(row["threads"])]
        if with_torch:
            line += [_fmt(row.get("torch_alone"))]
            if "after-numpy" in scenarios:
                line += [_fmt(row.get("torch_after_numpy"))]
            if "busy" in scenarios:
                line += [_fmt(row.get("torch_busy_worst"))]
        line.append("; ".join(f"{t}: {'met' if m else 'MISSED'}" for t, m in targets(row)))
        table.add_row(line)
    return rows
