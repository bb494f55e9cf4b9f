"""pytest-benchmark versions of the dense-layer and activation benchmarks.

Run with ``python -m pytest bench/test_bench_dense.py`` (pytest-benchmark
installed). Shapes are those of fastnn/bench/cases/dense.py.
"""
import numpy as np
import pytest

from fastnn import functional as F
from fastnn import reference as R

SHAPES = [(4096, 256, 256), (256, 1024, 1024)]


@pytest.fixture(scope="module")
def layers():
    rng = np.random.default_rng(0)
    out = {}
    for n, k, m in SHAPES:
        x = rng.standard_normal((n, k)).astype(np.float32)
        w = (rng.standard_normal((m, k)) / np.sqrt(k)).astype(np.float32)
        b = (0.1 * rng.standard_normal(m)).astype(np.float32)
        g = rng.standard_normal((n, m)).astype(np.float32)
        out[(n, k, m)] = (x, w, b, g)
    return out


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x{}x{}@W{}x{}".format(s[0], s[1], s[1], s[2]))
def test_bare_matmul(benchmark, layers, shape):
    x, w, _, _ = layers[shape]
    out = np.empty((shape[0], shape[2]), np.float32)
    benchmark(np.matmul, x, w.T, out=out)


@pytest.mark.parametrize("act", ["relu", "gelu", "silu", "elu"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x{}x{}@W{}x{}".format(s[0], s[1], s[1], s[2]))
def test_dense_forward(benchmark, layers, shape, act):
    x, w, b, _ = layers[shape]
    y = np.empty((shape[0], shape[2]), np.float32)
    pre = None if F.dense_saves_output(act) else np.empty_like(y)
    benchmark(F.dense_forward, x, w, b, act, out=y, preact_out=pre)


@pytest.mark.parametrize("act", ["relu", "gelu", "silu", "elu"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x{}x{}@W{}x{}".format(s[0], s[1], s[1], s[2]))
def test_dense_forward_numpy(benchmark, layers, shape, act):
    x, w, b, _ = layers[shape]
    benchmark(R.ref_dense_forward, x, w, b, act)


@pytest.mark.parametrize("act", ["relu", "gelu"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x{}x{}@W{}x{}".format(s[0], s[1], s[1], s[2]))
def test_dense_backward(benchmark, layers, shape, act):
    x, w, b, g = layers[shape]
    _, saved = F.dense_forward(x, w, b, act)
    gi, gw, gb, dz = np.empty_like(x), np.empty_like(w), np.empty_like(b), np.empty_like(g)
    benchmark(F.dense_backward, g, x, w, saved, act, grad_input=gi, grad_weight=gw,
              grad_bias=gb, grad_preact=dz)


ACT_N = 16 * 1024 * 1024  # the size of the targets


@pytest.fixture(scope="module")
def act_data():
    rng = np.random.default_rng(1)
    x = (4 * rng.standard_normal(ACT_N)).astype(np.float32)
    g = rng.standard_normal(ACT_N).astype(np.float32)
    return x, g


@pytest.mark.parametrize("act", ["gelu", "silu", "elu", "sigmoid", "tanh"])
def test_activation(benchmark, act_data, act):
    x, _ = act_data
    y = np.empty_like(x)
    benchmark(F.activation, x, act, out=y)


@pytest.mark.parametrize("act", ["gelu", "silu", "elu", "sigmoid", "tanh"])
def test_activation_numpy(benchmark, act_data, act):
    x, _ = act_data
    benchmark(R.ref_activation, x, act)


@pytest.mark.parametrize("act", ["gelu", "silu", "elu", "sigmoid", "tanh"])
def test_activation_backward(benchmark, act_data, act):
    x, g = act_data
    dx = np.empty_like(x)
    if act in ("elu", "sigmoid", "tanh"):
        benchmark(F.activation_backward, g, act, output=F.activation(x, act), out=dx)
    else:
        benchmark(F.activation_backward, g, act, input=x, out=dx)


@pytest.mark.parametrize("act", ["gelu", "silu", "elu", "sigmoid", "tanh"])
def test_activation_backward_numpy(benchmark, act_data, act):
    x, g = act_data
    benchmark(R.ref_activation_backward, g, x, act)
