"""The package surface: __all__, lazy subpackages (PEP 562), py.typed."""
import os
import subprocess
import sys

import pytest

import fastnn
import fastnn.functional as F


def test_all_names_resolve():
    for name in fastnn.__all__:
        assert getattr(fastnn, name) is not None, name
    assert len(set(F.__all__)) == len(F.__all__)
    for name in F.__all__:
        assert hasattr(F, name), name
    assert "adam_" in F.__all__ and "softmax_cross_entropy" in F.__all__
    assert set(dir(fastnn)) >= set(fastnn.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        fastnn.nope


def test_subpackages_are_imported_at_first_access():
    code = (
        "import sys, fastnn\n"
        "lazy = ['augment', 'growth', 'pruning', 'reference', 'bench', 'preprocessing']\n"
        "print(sorted(m for m in lazy if 'fastnn.' + m in sys.modules))\n"
        "print(fastnn.augment.Compose.__name__, fastnn.growth.GrowOnPlateau.__name__,\n"
        "      fastnn.Standardizer.__name__)\n"
        "print(sorted(m for m in lazy if 'fastnn.' + m in sys.modules))\n"
        "from fastnn.nn import Sequential, Linear\n"  # fit works whatever was imported
        "import numpy as np\n"
        "m = Sequential(Linear(2, 2, seed=0))\n"
        "h = m.fit(np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1]), epochs=1)\n"
        "print(len(h.epoch))\n"
        "ns = {}\n"
        "exec('from fastnn import *', ns)\n"
        "print(all(k in ns for k in fastnn.__all__))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["[]", "Compose GrowOnPlateau Standardizer",
                   "['augment', 'growth', 'preprocessing']", "1", "True"]


def test_py_typed_is_shipped_in_the_package_dir():
    assert os.path.isfile(os.path.join(os.path.dirname(fastnn.__file__), "py.typed"))
