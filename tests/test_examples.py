"""The examples' plumbing: plots go to examples/out or --out, never the
current folder; a hint without matplotlib; the README lists every script."""
import os
import re
import sys
import types

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


@pytest.fixture
def common(monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.syspath_prepend(ROOT)
    from examples import _common
    return _common


@pytest.fixture
def fake_matplotlib(monkeypatch):
    """A stand-in for matplotlib whose savefig writes the path it is given."""
    saved = []

    class Fig:
        def tight_layout(self):
            pass

        def savefig(self, path, dpi=None):
            with open(path, "wb") as f:
                f.write(b"PNG")
            saved.append(path)

    class Ax:
        def __getattr__(self, name):
            return lambda *a, **k: None

    mpl = types.ModuleType("matplotlib")
    mpl.use = lambda backend: None
    plt = types.ModuleType("matplotlib.pyplot")
    plt.subplots = lambda **k: (Fig(), Ax())
    plt.close = lambda fig: None
    mpl.pyplot = plt
    monkeypatch.setitem(sys.modules, "matplotlib", mpl)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", plt)
    return saved


def test_default_out_folder_is_examples_out(common):
    assert common.DEFAULT_OUT == os.path.join(EXAMPLES, "out")


def test_plot_without_matplotlib_prints_a_hint(common, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    path = str(tmp_path / "out" / "a.png")
    assert common.plot(path, {"x": [1, 2]}, xlabel="", ylabel="", title="") is None
    assert "matplotlib is not installed: a.png not saved" in capsys.readouterr().out
    assert not os.path.exists(tmp_path / "out")


def test_plot_creates_the_folder(common, fake_matplotlib, tmp_path):
    path = str(tmp_path / "new" / "deeper" / "a.png")
    assert common.plot(path, {"x": [1, 2]}, xlabel="", ylabel="", title="", logy=True) == path
    assert fake_matplotlib == [path] and os.path.isfile(path)


def test_a_script_saves_into_out_not_the_current_folder(common, fake_matplotlib, monkeypatch,
                                                         tmp_path, capsys):
    from examples import optimizers_experiment as ex

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    ex.main(["--epochs", "1", "--out", str(tmp_path / "plots")])
    assert os.listdir(cwd) == []
    assert fake_matplotlib == [str(tmp_path / "plots" / "optimizers.png")]
    assert "saved " + str(tmp_path / "plots" / "optimizers.png") in capsys.readouterr().out


def test_readme_counts_and_lists_every_script():
    scripts = sorted(f for f in os.listdir(EXAMPLES)
                     if f.endswith(".py") and not f.startswith("_"))
    text = open(os.path.join(EXAMPLES, "README.md")).read()
    listed = sorted(set(re.findall(r"^\| `(\w+\.py)` \|", text, flags=re.M)))
    assert listed == scripts
    words = {4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight"}
    assert text.count(f"{words[len(scripts)]} scripts") == 1
