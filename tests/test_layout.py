"""The architecture map of docs/design.md is current: its table of families matches the
files in csrc/ and setup.py's ISA_UNITS, its list of generated files matches what
tools/gen_capi.py writes and what says it is generated, and its table of who imports
which extension matches the imports."""
import ast
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "docs" / "design.md"

if not (DESIGN.exists() and (ROOT / "setup.py").exists() and (ROOT / "csrc").is_dir()):
    pytest.skip("fastnn is installed from a wheel: no source checkout to check",
                allow_module_level=True)


def _table(name):
    """Rows (lists of cells) of the table between <!-- map:NAME begin/end --> markers."""
    text = DESIGN.read_text()
    m = re.search(rf"<!-- map:{name} begin -->\n(.*?)<!-- map:{name} end -->", text, re.S)
    assert m, f"docs/design.md has no map:{name} table"
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in m.group(1).splitlines() if line.startswith("|")]
    return rows[2:]  # the header and the |---| line


def _names(cell):
    return re.findall(r"`([^`]+)`", cell)


def _setup_constants():
    """ISA_LEVELS and ISA_UNITS, read from setup.py without running it."""
    found = {}
    for node in ast.parse((ROOT / "setup.py").read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("ISA_LEVELS", "ISA_UNITS"):
                found[target.id] = ast.literal_eval(node.value)
    return found["ISA_LEVELS"], found["ISA_UNITS"]


def _tracked(*paths):
    """Files git tracks under paths (or every file there outside a git checkout)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--", *paths], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        files = [f for f in out.split("\0") if f and (ROOT / f).exists()]
        if files:
            return files
    except (OSError, subprocess.CalledProcessError):
        pass
    return [str(p.relative_to(ROOT)) for path in paths for p in (ROOT / path).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts]


def test_every_family_directory_has_the_files_of_the_map():
    rows = {row[0]: row for row in _table("families")}
    dirs = sorted(p.name for p in (ROOT / "csrc").iterdir() if p.is_dir())
    assert sorted(rows) == dirs
    for family, row in rows.items():
        listed = sorted(_names(row[1]))
        present = sorted(Path(f).name for f in _tracked(f"csrc/{family}")
                         if Path(f).parent.name == family)
        assert listed == present, f"csrc/{family}/"
        for pyx in _names(row[3]):
            assert (ROOT / "fastnn" / "_ext" / pyx).exists(), pyx
        for py in _names(row[4]):
            assert (ROOT / "fastnn" / "functional" / py).exists(), py
        for other in _names(row[5]):  # tests/ of the checkout, the others in fastnn/
            assert (ROOT / other).exists() or (ROOT / "fastnn" / other).exists(), other


def test_kernel_families_have_the_six_c_files_and_one_isa_row():
    levels, units = _setup_constants()
    rows = {row[0]: row for row in _table("families")}
    kernel_families = sorted(f for f, row in rows.items() if row[2])
    assert kernel_families == sorted(units)
    spans = sorted(p.parent.name for p in (ROOT / "csrc").glob("*/*_spans_t.h"))
    assert spans == kernel_families
    for family in kernel_families:
        assert rows[family][2].split()[:len(levels)] == list(levels), family
        fma = "FNN_FP_CONTRACT_FAST" in units[family]
        assert fma == ("FMA contraction" in rows[family][2]), family
        for suffix in (".c", "_driver_t.h", "_spans_t.h", "_internal.h", "_internal_t.h"):
            assert (ROOT / "csrc" / family / f"{family}{suffix}").exists()
        assert (ROOT / "csrc" / family / f"fastnn_{family}.h").exists()
        assert f'"{family}/fastnn_{family}.h"' in (ROOT / "csrc" / "fastnn.h").read_text()
    # the ISA units are compiled from one file; no per-family stubs come back
    assert not list((ROOT / "csrc").glob("*/*_isa_*.c"))
    assert (ROOT / "csrc" / "core" / "isa_unit.c").exists()


def test_generated_files_are_listed():
    rows = _table("generated")
    by_writer = {}
    for row in rows:
        for path in _names(row[0]):
            by_writer.setdefault(_names(row[1])[0], set()).add(path)
    spec = importlib.util.spec_from_file_location("gen_capi", ROOT / "tools" / "gen_capi.py")
    gen_capi = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_capi)
    written = {str(p.relative_to(ROOT)) for p in gen_capi.generated()}
    assert by_writer["tools/gen_capi.py"] == written
    # every checked-in file that says it is generated is in the list, with its writer
    checked_in = {path for paths in by_writer.values() for path in paths
                  if (ROOT / path).exists() and "<" not in path and "*" not in path}
    marked = set()
    for f in _tracked("fastnn", "docs", "csrc", "tests", "bench", "examples"):
        head = (ROOT / f).read_text(errors="replace")[:400]
        if re.search(r"generated by (`python )?tools/", head, re.I):
            marked.add(f)
    assert marked <= checked_in | {"docs/design.md"}, marked - checked_in
    assert {p for p in checked_in if not p.startswith("fastnn/lib/")} <= marked
    for writer in by_writer:
        assert (ROOT / writer).exists(), writer
    # setup.py's products: the library where setup.py puts it, and one ISA unit per
    # ISA_UNITS row and level
    setup_text = (ROOT / "setup.py").read_text()
    assert "fastnn/lib/libfastnn.so" in by_writer["setup.py"]
    assert 'LIBRARY_DIR = ("fastnn", "lib")' in setup_text
    assert any("isa_unit.o" in p and "<family>_<level>" in p for p in by_writer["setup.py"])
    assert 'os.path.join(kernels, "isa", f"{family}_{level}")' in setup_text


def test_extension_importers_are_listed():
    listed = {}
    for row in _table("extensions"):
        ext = _names(row[0])[0]
        listed[ext] = {n for n in _names(row[1]) if n.endswith(".py")}
    exts = sorted(p.stem for p in (ROOT / "fastnn" / "_ext").glob("*.pyx"))
    assert sorted(listed) == exts
    found = {ext: set() for ext in exts}
    for f in _tracked("fastnn"):
        if not f.endswith(".py"):
            continue
        text = (ROOT / f).read_text()
        rel = str(Path(f).relative_to("fastnn"))
        for ext in exts:
            if re.search(rf"from fastnn\._ext import ([\w, ]*\b)?{ext}\b|"
                         rf"from fastnn\._ext\.{ext} import|import fastnn\._ext\.{ext}\b", text):
                found[ext].add(rel)
    assert listed == found
