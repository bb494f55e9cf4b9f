import os
import tempfile

import numpy as np
import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

import fastnn

# Hypothesis: the default run is deterministic (examples derived from each
# test's name, no example database, so no .hypothesis directory in the tree).
# FASTNN_HYPOTHESIS_PROFILE=randomized (or pytest --hypothesis-profile=randomized,
# with --hypothesis-seed=N to reproduce) draws new examples on every run.
settings.register_profile("deterministic", derandomize=True, database=None,
                          print_blob=True)
settings.register_profile("randomized", derandomize=False, database=None, print_blob=True)
settings.load_profile(os.environ.get("FASTNN_HYPOTHESIS_PROFILE", "deterministic"))
# Hypothesis also caches the constants it finds in the source under its home
# directory (./.hypothesis by default): keep that out of the work tree too.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "fastnn-hypothesis"))

DTYPES = [np.dtype(np.float32), np.dtype(np.float64)]


@pytest.fixture(params=DTYPES, ids=[d.name for d in DTYPES])
def dtype(request):
    return request.param


def tolerances(dtype):
    """rtol/atol for comparing a kernel with its NumPy reference."""
    if np.dtype(dtype) == np.float32:
        return dict(rtol=1e-5, atol=1e-6)
    return dict(rtol=1e-12, atol=1e-12)


def assert_close(actual, expected, dtype=None, **kwargs):
    """assert_allclose with the dtype's tolerances (overridable)."""
    dtype = np.dtype(dtype if dtype is not None else np.asarray(actual).dtype)
    tol = tolerances(dtype)
    tol.update(kwargs)
    np.testing.assert_allclose(actual, expected, **tol)


@pytest.fixture(params=list(fastnn.available_simd_levels()))
def simd_level(request):
    """Run the test once per SIMD level the CPU supports."""
    previous = fastnn.get_simd_level()
    fastnn.set_simd_level(request.param)
    yield request.param
    fastnn.set_simd_level(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
