"""The benchmark's command line and output (``python -m fastnn.bench``).

Most tests run the harness on tiny synthetic cases, with the STREAM triad
and the cache size replaced by constants, so that they take milliseconds;
``test_real_case_end_to_end`` runs one real case in a subprocess. No test
asserts anything about a timing.
"""
import importlib.util
import io
import json
import os
import pathlib
import subprocess
import sys
import time
import types

import numpy as np
import pytest

from fastnn.bench import harness
from fastnn.bench._table import StreamingTable
from fastnn.bench.harness import Case

LLC = 1 << 20  # the last-level cache size the tests pretend to have


def _case(kernel, family="alpha", bytes_moved=0, torch=None, check=None):
    x = np.ones(16)
    return Case(kernel=kernel, size="16", dtype="float64", fastnn=lambda: x * 2.0,
                numpy=lambda: x + x, check=check or (lambda: None), bytes_moved=bytes_moved,
                torch=torch, family=family)


def _synthetic_cases():
    return [_case("small kernel", "alpha", bytes_moved=1000),
            _case("large kernel", "alpha", bytes_moved=4 * LLC),
            _case("compute kernel", "beta")]


@pytest.fixture
def fake_bench(monkeypatch):
    """The harness with synthetic cases, a constant roofline and a 1 MiB cache."""
    def collect(full=False, with_torch=False, only=None):
        import re

        return [c for c in _synthetic_cases() if not only or re.search(only, c.kernel)]

    monkeypatch.setattr(harness, "collect", collect)
    monkeypatch.setattr(harness, "triad_bandwidth", lambda n_threads: 10.0)
    monkeypatch.setattr(harness, "llc_bytes", lambda: LLC)
    return collect


def _main(argv, capsys):
    """Run main; returns (exit code, stdout, stderr)."""
    try:
        code = harness.main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _table_lines(text):
    return [line for line in text.splitlines() if line.startswith("|")]


# ------------------------------------------------------------------ the table

def test_streaming_table_prints_header_once_then_each_row():
    buf = io.StringIO()
    table = StreamingTable(["kernel", "time"], buf, {"kernel": 10})
    table.add_row(["adam", "1 ms"])
    table.print_header()  # already printed: nothing more
    table.add_row(["sgd"])
    lines = buf.getvalue().splitlines()
    assert lines == ["| kernel     | time |",
                     "|------------|------|",
                     "| adam       | 1 ms |",
                     "| sgd        |      |"]
    assert table.n_rows == 2
    with pytest.raises(ValueError, match="3 cells in a table of 2 columns"):
        table.add_row(["a", "b", "c"])


def test_rows_printed_once_after_the_header(fake_bench, capsys):
    code, out, err = _main(["--scenario", "none", "--min-time", "0.001"], capsys)
    assert code == 0, err
    lines = _table_lines(out)
    assert lines[0].startswith("| kernel ")
    assert set(lines[1]) <= {"|", "-"}
    for name in ("small kernel", "large kernel", "compute kernel"):
        matching = [i for i, line in enumerate(out.splitlines()) if name in line]
        assert len(matching) == 1, out
    # exactly one header, and the rows form one markdown table of equal column counts
    assert sum(line.startswith("| kernel ") for line in out.splitlines()) == 1
    assert len(lines) == 2 + 3
    assert len({line.count("|") for line in lines}) == 1


def test_config_before_the_table(fake_bench, capsys):
    code, out, _ = _main(["--scenario", "none", "--min-time", "0.001"], capsys)
    assert code == 0
    text = out.splitlines()
    first_table_line = next(i for i, line in enumerate(text) if line.startswith("|"))
    assert any("speedup = NumPy reference time / fastnn time" in line
               for line in text[:first_table_line])
    assert any("last-level cache" in line for line in text[:first_table_line])


@pytest.fixture(autouse=True)
def no_row_settle(monkeypatch):
    """The benchmark's pause before each timed batch, off: these tests time
    stand-ins, not kernels."""
    monkeypatch.setattr(harness, "ROW_SETTLE", 0.0)


@pytest.fixture
def fake_torch(monkeypatch):
    """A stand-in torch module (threads only), reported installed."""
    module = types.ModuleType("torch")
    module.__version__ = "0.0-test"
    module.set_num_threads = lambda n: None
    module.get_num_threads = lambda: 1
    monkeypatch.setitem(sys.modules, "torch", module)
    monkeypatch.setattr(harness, "_torch_available", lambda: True)
    return module


def test_torch_column_says_which_way(fake_bench, fake_torch, capsys):
    x = np.ones(16)
    cases = [_case("with torch", torch=lambda: x * 3.0), _case("without torch")]
    result = harness.run(cases=cases, min_time=0.001, with_torch=True)
    out = capsys.readouterr().out
    header = _table_lines(out)[0]
    assert "| torch time / fastnn time |" in header
    assert "vs torch" not in header
    with_torch, without = result["results"]
    assert with_torch["vs_torch"] == pytest.approx(with_torch["torch_s"] / with_torch["fastnn_s"])
    assert "vs_torch" not in without


def test_measure_interleaved_alternates_and_keeps_each_median():
    log = []

    def make(name, seconds):
        def fn():
            log.append(name)
            if seconds:
                time.sleep(seconds)
        return fn

    setups = []
    medians = harness.measure_interleaved(
        [make("a", 0.0), make("b", 0.02), make("c", 0.0)], min_time=0.01, repeats=3,
        setup=lambda: setups.append(len(log)))
    # b takes one call per batch (each call is over min_time); a and c many:
    # after the calibration, the rounds run a b c, b c a, c a b, batch by batch
    batches = [name for i, name in enumerate(log) if i == 0 or log[i - 1] != name]
    assert batches[-9:] == list("abc" "bca" "cab")
    assert len(setups) == 3 + 9  # once before each calibration and each batch
    assert medians[1] >= 0.02 > max(medians[0], medians[2])


def test_run_times_torch_in_the_same_rounds(fake_bench, fake_torch, capsys):
    order = []
    case = _case("interleaved", torch=lambda: order.append("torch"))
    case.numpy = lambda: order.append("numpy")
    case.fastnn = lambda: order.append("fastnn")
    harness.run(cases=[case], min_time=0.0, with_torch=True)
    capsys.readouterr()
    # one call per batch at min_time 0: two calibration calls each, then 5 rounds
    assert order[6:] == (["numpy", "fastnn", "torch"] + ["fastnn", "torch", "numpy"]
                         + ["torch", "numpy", "fastnn"] + ["numpy", "fastnn", "torch"]
                         + ["fastnn", "torch", "numpy"])


# ------------------------------------------------------------------ --only

def test_only_no_match_exits_with_the_kernel_names(fake_bench, capsys):
    code, out, err = _main(["--only", "no_such_kernel", "--scenario", "none"], capsys)
    assert code == 2
    assert "--only 'no_such_kernel' matches no kernel" in err
    for name in ("small kernel", "large kernel", "compute kernel"):
        assert f"  {name}\n" in err
    assert _table_lines(out) == []


def test_only_no_match_lists_scenario_kernels_too(fake_bench, monkeypatch, capsys):
    from fastnn.bench import scenarios

    fake = [types.SimpleNamespace(kernel="headline kernel")]
    monkeypatch.setattr(scenarios, "_cases", lambda with_torch: fake)
    code, _, err = _main(["--only", "no_such_kernel"], capsys)
    assert code == 2
    assert "small kernel" in err and "headline kernel" in err


def test_only_matches_are_run(fake_bench, capsys):
    code, out, _ = _main(["--only", "^small", "--scenario", "none", "--min-time", "0.001"],
                         capsys)
    assert code == 0
    assert "small kernel" in out and "large kernel" not in out


@pytest.mark.parametrize("pattern", ["adam(", "[a-", "*x"])
def test_bad_regex_is_a_usage_error(pattern, capsys):
    code, out, err = _main(["--only", pattern, "--scenario", "none"], capsys)
    assert code == 2
    assert f"argument --only: invalid regular expression {pattern!r}" in err
    assert "Traceback" not in err and "usage:" in err
    assert out == ""


def test_run_raises_on_no_match(fake_bench):
    with pytest.raises(ValueError, match="(?s)matches no kernel.*small kernel"):
        harness.run(cases=[], only="zzz", min_time=0.001)


# ------------------------------------------------------------------ roofline

def test_roofline_left_empty_below_the_last_level_cache(fake_bench, capsys):
    result = harness.run(min_time=0.001)
    out = capsys.readouterr().out
    rows = {r["kernel"]: r for r in result["results"]}
    assert rows["small kernel"]["in_cache"] is True
    assert "pct_roofline" not in rows["small kernel"]
    assert "in_cache" not in rows["large kernel"]
    assert rows["large kernel"]["pct_roofline"] == pytest.approx(
        100.0 * rows["large kernel"]["gbps"] / 10.0)
    assert result["llc_bytes"] == LLC
    line = {name: next(x for x in _table_lines(out) if name in x)
            for name in ("small kernel", "large kernel", "compute kernel")}
    assert "| in cache " in line["small kernel"]
    assert "in cache" not in line["large kernel"] and "% " in line["large kernel"]
    assert "in cache" not in line["compute kernel"]


def test_roofline_target_is_na_in_cache(fake_bench, capsys):
    case = _case("cached", bytes_moved=100)
    case.targets = [harness.Target(">=85% roofline", lambda r: r["pct_roofline"] >= 85)]
    result = harness.run(cases=[case], min_time=0.001)
    assert result["results"][0]["targets"] == [{"target": ">=85% roofline", "met": None}]
    assert ">=85% roofline: n/a" in capsys.readouterr().out


def test_llc_bytes_from_sysfs(tmp_path):
    for index, (level, size) in enumerate([(1, "32K"), (2, "1024K"), (3, "36864K")]):
        d = tmp_path / f"index{index}"
        d.mkdir()
        (d / "level").write_text(f"{level}\n")
        (d / "size").write_text(f"{size}\n")
    assert harness.llc_bytes(str(tmp_path)) == 36864 * 1024


def test_llc_bytes_fallbacks(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sysconf", lambda name: 8 << 20)
    assert harness.llc_bytes(str(tmp_path / "missing")) == 8 << 20

    def no_sysconf(name):
        raise ValueError("unrecognized configuration name")
    monkeypatch.setattr(os, "sysconf", no_sysconf)
    assert harness.llc_bytes(str(tmp_path / "missing")) == 32 << 20
    monkeypatch.setattr(os, "sysconf", lambda name: 0)
    assert harness.llc_bytes(str(tmp_path / "missing")) == 32 << 20


def test_llc_bytes_of_this_machine_is_positive():
    assert harness.llc_bytes() > 0


# ------------------------------------------------------------------ --plot

def test_plot_writes_a_png(fake_bench, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "speedups.png"
    code, out, err = _main(["--scenario", "none", "--min-time", "0.001", "--plot", str(path)],
                           capsys)
    assert code == 0, err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"chart saved to {path}" in out


def test_plot_without_matplotlib_is_a_clear_error(fake_bench, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails

    def must_not_run(*args, **kwargs):
        raise AssertionError("the benchmark ran before the missing matplotlib was reported")
    monkeypatch.setattr(harness, "collect", must_not_run)
    path = tmp_path / "speedups.png"
    code, _, err = _main(["--scenario", "none", "--plot", str(path)], capsys)
    assert code == 2
    assert "--plot needs matplotlib" in err and "fastnn-kernels[plot]" in err
    assert not path.exists()
    with pytest.raises(ImportError, match="--plot needs matplotlib"):
        harness.plot({"results": [{"kernel": "k", "speedup": 2.0}]}, str(path))


def test_missing_output_folder_is_a_usage_error(tmp_path, capsys):
    code, _, err = _main(["--scenario", "none", "--json", str(tmp_path / "no" / "r.json")],
                         capsys)
    assert code == 2 and "does not exist" in err


def test_plot_needs_the_kernel_table(capsys):
    code, _, err = _main(["--scenario", "alone", "--plot", "x.png"], capsys)
    assert code == 2 and "--plot" in err


# ------------------------------------------------------------------ json, scenarios, CLI

def test_json_keeps_vs_torch_key_and_families(fake_bench, tmp_path, capsys):
    path = tmp_path / "r.json"
    code, _, _ = _main(["--scenario", "none", "--min-time", "0.001", "--json", str(path)],
                       capsys)
    assert code == 0
    data = json.loads(path.read_text())
    assert [r["family"] for r in data["results"]] == ["alpha", "alpha", "beta"]
    assert data["llc_bytes"] == LLC


def test_scenario_rows_printed_once_after_the_header(monkeypatch, capsys):
    from fastnn.bench import scenarios

    calls = []

    def make(n_threads):
        return lambda: calls.append(n_threads)
    fake = [scenarios.FieldCase("optim", "fake headline", "1", make, lambda: None)]
    monkeypatch.setattr(scenarios, "_cases", lambda with_torch: fake)
    monkeypatch.setattr(scenarios, "SETTLE_S", 0.0)
    rows = scenarios.run(("alone",), only="headline")
    out = capsys.readouterr().out
    lines = _table_lines(out)
    assert lines[0].startswith("| kernel ") and "alone 1T" in lines[0]
    assert len(lines) == 3 and "fake headline" in lines[2]
    assert out.count("fake headline") == 1
    assert rows[0]["kernel"] == "fake headline" and calls


def test_after_numpy_is_timed_on_one_thread_too(monkeypatch, capsys):
    """The after-numpy scenario runs the call with the default threads and
    with one thread, each right after the matmul, and prints both."""
    from fastnn.bench import scenarios

    events = []

    def make(n_threads):
        return lambda: events.append(("call", n_threads))
    fake = [scenarios.FieldCase("optim", "fake headline", "1", make, lambda: None, calls=2)]
    monkeypatch.setattr(scenarios, "_cases", lambda with_torch: fake)
    monkeypatch.setattr(scenarios, "SETTLE_S", 0.0)
    monkeypatch.setattr(scenarios, "_numpy_matmul", lambda: events.append(("matmul",)))
    rows = scenarios.run(("alone", "after-numpy"), only="headline")
    lines = _table_lines(capsys.readouterr().out)
    header = [h.strip() for h in lines[0].strip("|").split("|")]
    assert header[4:8] == ["after-numpy", "/1T", "after-numpy 1T", "/1T after-numpy"]
    assert rows[0]["after_numpy"] > 0 and rows[0]["after_numpy_1t"] > 0
    # each timed after-numpy call follows a matmul, on both thread counts
    timed = [events[i + 1] for i, e in enumerate(events) if e == ("matmul",)]
    assert timed == ([("call", None)] * 2 + [("call", 1)] * 2) * scenarios.ROUNDS

def test_real_case_through_the_harness(capsys):
    """One real, small case (the augment family builds its data in milliseconds)."""
    from fastnn.bench.cases import augment

    cases = [c for c in augment.cases(full=False, with_torch=False) if c.kernel == "time shift"]
    assert cases
    result = harness.run(cases=cases, min_time=0.001)
    lines = _table_lines(capsys.readouterr().out)
    assert lines[0].startswith("| kernel ")
    assert len(lines) == 2 + len(cases)
    assert all("time shift" in line for line in lines[2:])
    assert all("speedup" in r and r["numpy_s"] > 0 for r in result["results"])


@pytest.mark.slow
def test_command_line_end_to_end(tmp_path):
    """``python -m fastnn.bench`` in a subprocess (slow: it builds every case's data)."""
    path = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "fastnn.bench", "--only", "^lion$",
         "--scenario", "none", "--min-time", "0.001", "--json", str(path)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = _table_lines(proc.stdout)
    assert lines[0].startswith("| kernel ")
    rows = json.loads(path.read_text())["results"]
    assert rows and all(r["family"] == "optim" and "speedup" in r for r in rows)
    assert len(lines) == 2 + len(rows)


# ------------------------------------------------------------------ bench/test_bench.py

class _FakeBenchmark:
    """Stands for pytest-benchmark's fixture: calls the function a few times."""

    def __init__(self):
        self.group = None
        self.pedantic_rounds = None

    def __call__(self, fn):
        for _ in range(3):
            fn()

    def pedantic(self, fn, rounds, iterations):
        self.pedantic_rounds = rounds
        for _ in range(rounds * iterations):
            fn()


def test_pytest_benchmark_module_checks_once_and_runs_setup(monkeypatch):
    pytest.importorskip("pytest_benchmark")
    log = []
    case = Case(kernel="k", size="1", dtype="float32", fastnn=lambda: log.append("fastnn"),
                numpy=lambda: log.append("numpy"), check=lambda: log.append("check"),
                setup=lambda: log.append("setup"), family="fam")
    monkeypatch.setattr(harness, "collect", lambda full=False, with_torch=False: [case])
    path = pathlib.Path(__file__).resolve().parents[1] / "bench" / "test_bench.py"
    spec = importlib.util.spec_from_file_location("_bench_adapter", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.CASES == [case] and module.IDS == ["fam-k-1-float32"]

    bench = _FakeBenchmark()
    module.test_bench(bench, module.IDS[0], case, "fastnn")
    module.test_bench(bench, module.IDS[0], case, "numpy")
    assert log.count("check") == 1 and log[0] == "check"
    # setup before the warm-up call and again before the timed calls of each side
    assert log[1:3] == ["setup", "fastnn"] and log[3] == "setup"
    assert log.count("setup") == 4
    assert log.count("numpy") == 4 and log.count("fastnn") == 4
    assert bench.group == "fam: k 1 float32" and bench.pedantic_rounds is None

    monkeypatch.setattr(module, "SLOW_CALL_S", -1.0)  # every call counts as slow
    module.test_bench(bench, module.IDS[0], case, "numpy")
    assert bench.pedantic_rounds == module.SLOW_ROUNDS


def test_compare_builds_pairs_the_rows_of_two_checkouts(tmp_path):
    """tools/compare_builds.py, the same checkout on both sides: every
    selected row is timed in both workers and gets a positive paired ratio
    with ordered quartiles; the JSON file holds the same rows."""
    import fastnn

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        "compare_builds", os.path.join(root, "tools", "compare_builds.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tree = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    out = tmp_path / "rows.json"
    assert tool.main([tree, tree, "--rounds", "3", "--family", "capi", "--json",
                      str(out)]) == 0
    rows = json.loads(out.read_text())
    assert len(rows) >= 2 and all(r["kernel"].startswith("capi") for r in rows)
    for r in rows:
        assert r["old_s"] > 0 and r["new_s"] > 0
        assert 0 < r["q1"] <= r["ratio"] <= r["q3"]


def test_dense_bare_product_targets_measure_once_per_row(monkeypatch):
    """Both bare-product targets of a dense row come from one paired
    measurement of that row; a second run of the case measures again."""
    from fastnn.bench.cases import dense

    calls = []

    def fake_paired(fn, bares):
        calls.append(len(bares))
        return [1.05, 1.2, 1.2]  # vs NumPy, vs torch, vs the faster of the two
    monkeypatch.setattr(dense, "paired_ratios", fake_paired)
    targets = dense._ratio_targets(lambda: None, lambda: None, lambda: None, "bare matmul",
                                   1.15, 1.1)
    for run in (1, 2):
        row = {}
        assert [t.met(row) for t in targets] == [True, False]
        assert row["ratios"] == {"<=1.15x bare matmul": 1.05,
                                 "<=1.1x fastest bare matmul (NumPy, torch)": 1.2}
        assert calls == [2] * run
    assert [t.text for t in targets] == ["<=1.15x bare matmul (1.05x)",
                                         "<=1.1x fastest bare matmul (NumPy, torch) (1.20x)"]
