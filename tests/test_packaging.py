"""tools/check_wheel.py, the wheel inspection .ci/run applies to the built wheel:
it accepts a self-contained wheel and names what is wrong with broken ones.
The wheels here are assembled from the compiled files of this installation."""
import importlib.util
import zipfile
from pathlib import Path

import pytest

import fastnn
import fastnn._ext

CHECK = Path(__file__).resolve().parent.parent / "tools" / "check_wheel.py"
pytestmark = pytest.mark.skipif(not CHECK.exists(), reason="needs the source checkout's tools/")


@pytest.fixture(scope="module")
def check_wheel():
    spec = importlib.util.spec_from_file_location("check_wheel", CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def files():
    """The files of a complete wheel, by archive name."""
    package = Path(fastnn.__file__).parent
    out = {"fastnn/__init__.py": b"",
           "fastnn/lib/libfastnn.so": Path(fastnn.get_library()).read_bytes(),
           "fastnn/include/fastnn.h": (Path(fastnn.get_include()) / "fastnn.h").read_bytes()}
    for pxd in ("capi.pxd", "c_capi.pxd"):
        out[f"fastnn/_ext/{pxd}"] = (package / "_ext" / pxd).read_bytes()
    for so in Path(fastnn._ext.__path__[0]).glob("*.so"):
        out[f"fastnn/_ext/{so.name}"] = so.read_bytes()
    return out


def _wheel(tmp_path, files, tag="cp311-cp311-linux_x86_64", purelib="false"):
    path = tmp_path / "fastnn_kernels-0.1.0-test.whl"
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr("fastnn_kernels-0.1.0.dist-info/WHEEL",
                     f"Wheel-Version: 1.0\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n")
        for name, data in files.items():
            whl.writestr(name, data)
    return str(path)


def test_self_contained_wheel_passes(check_wheel, files, tmp_path, capsys):
    if b"libasan.so" in files["fastnn/lib/libfastnn.so"]:
        pytest.skip("a sanitizer build links libasan, which no wheel may need")
    assert check_wheel.main(["check_wheel", _wheel(tmp_path, files)]) == 0
    out = capsys.readouterr().out
    assert "libfastnn.so -> fastnn/lib/libfastnn.so (in the wheel)" in out
    assert out.rstrip().splitlines()[-1].startswith("OK:")


def test_pure_wheel_fails(check_wheel, tmp_path, capsys):
    """What `python -m build` made before: py3-none-any, no compiled code."""
    path = _wheel(tmp_path, {"fastnn/__init__.py": b""}, tag="py3-none-any", purelib="true")
    assert check_wheel.main(["check_wheel", path]) == 1
    out = capsys.readouterr().out
    assert "not a platform wheel" in out
    assert "missing fastnn/lib/libfastnn.so" in out
    assert "no compiled code" in out


def test_missing_library_fails(check_wheel, files, tmp_path, capsys):
    broken = {k: v for k, v in files.items() if k != "fastnn/lib/libfastnn.so"}
    assert check_wheel.main(["check_wheel", _wheel(tmp_path, broken)]) == 1
    out = capsys.readouterr().out
    assert "needs libfastnn.so, neither in the wheel nor a system library" in out


def test_absolute_run_path_fails(check_wheel, files, tmp_path, capsys):
    """An extension whose run path is a build directory, not $ORIGIN-relative."""
    name = next(k for k in files if k.startswith("fastnn/_ext/runtime.") and k.endswith(".so"))
    data = files[name]
    assert data.count(b"$ORIGIN/../lib\0") == 1
    broken = dict(files)
    broken[name] = data.replace(b"$ORIGIN/../lib\0", b"/build/fnn/lib\0")  # same length
    assert check_wheel.main(["check_wheel", _wheel(tmp_path, broken)]) == 1
    out = capsys.readouterr().out
    assert "RUNPATH /build/fnn/lib is not relative to $ORIGIN" in out
    assert "needs libfastnn.so, which is in the wheel" in out
