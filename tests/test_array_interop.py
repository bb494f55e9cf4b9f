"""Arrays of other libraries in the functional API: zero-copy views, never a copy updated.

Everything enters through fastnn._validation.as_ndarray: objects exposing
``__dlpack__`` (torch CPU tensors) or the buffer protocol (memoryview,
array.array) are viewed without copying; arguments written in place must be
writable views of the caller's memory.
"""
import array

import numpy as np
import pytest

import fastnn
from fastnn import functional as F
from fastnn import reference as R
from fastnn._validation import as_ndarray


def _adam_arrays(n=37, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n), rng.standard_normal(n), np.zeros(n), np.zeros(n))


# ---------------------------------------------------------------- buffer protocol

def test_array_array_updated_in_place():
    p, g, m, v = _adam_arrays()
    ap, am, av = (array.array("d", a.tolist()) for a in (p, m, v))
    ag = array.array("d", g.tolist())
    F.adam_(ap, ag, am, av, step=1, lr=0.1)
    F.adam_(p, g, m, v, step=1, lr=0.1)
    np.testing.assert_array_equal(np.asarray(ap), p)  # the caller's array.array changed
    np.testing.assert_array_equal(np.asarray(am), m)
    np.testing.assert_array_equal(np.asarray(av), v)


def test_memoryview_of_ndarray_as_out_writes_the_ndarray():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    grad = np.zeros((4, 3))
    loss, g = F.mse_loss(memoryview(x), memoryview(y), out=memoryview(grad))
    ref_loss, ref_grad = R.mse_loss(x, y)
    assert np.shares_memory(g, grad)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)


def test_read_only_buffer_as_input_is_fine():
    x = np.linspace(-2, 2, 12)
    ro = memoryview(x.tobytes()).cast("d")  # bytes: read-only
    loss, grad = F.mse_loss(ro, np.zeros(12))
    np.testing.assert_allclose(grad, R.mse_loss(x, np.zeros(12))[1], rtol=1e-12)


@pytest.mark.parametrize("arg", ["param", "exp_avg"])
def test_read_only_buffer_in_place_raises_and_nothing_changes(arg):
    p, g, m, v = _adam_arrays()
    args = dict(param=p, exp_avg=m)
    args[arg] = memoryview(args[arg].tobytes()).cast("d")
    before = p.copy(), m.copy()
    with pytest.raises(ValueError, match=f"{arg}.*read-only"):
        F.adam_(args["param"], g, args["exp_avg"], v, step=1)
    np.testing.assert_array_equal(p, before[0])
    np.testing.assert_array_equal(m, before[1])


def test_strided_buffer_in_place_raises():
    x = np.zeros((4, 6))
    strided = memoryview(x[:, ::2])
    with pytest.raises(ValueError, match="out.*C-contiguous"):
        F.mse_loss(np.ones((4, 3)), np.zeros((4, 3)), out=strided)


def test_unsupported_objects_still_rejected():
    with pytest.raises(TypeError, match="logits"):
        F.softmax_cross_entropy([[1.0, 2.0]], np.array([0]))
    with pytest.raises(TypeError, match="dtype"):  # bytes: uint8 buffer
        F.mse_loss(b"abcd", np.zeros(4))
    assert as_ndarray("x", 1.5) == 1.5
    a = np.ones(3)
    assert as_ndarray("x", a) is a


def test_buffer_views_are_zero_copy():
    buf = array.array("f", [1.0, 2.0, 3.0])
    view = as_ndarray("x", buf, writable=True)
    view[0] = 7.0
    assert buf[0] == 7.0


# ---------------------------------------------------------------- torch tensors

def test_torch_tensors_in_the_functional_api():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, 4)).astype(np.float32)
    y = np.array([0, 3, 1, 2, 1])
    grad = torch.empty(5, 4)
    loss, g = F.softmax_cross_entropy(torch.from_numpy(z), torch.from_numpy(y), out=grad)
    ref_loss, ref_grad = R.softmax_cross_entropy(z, y)
    assert g.__array_interface__["data"][0] == grad.data_ptr()  # written into the tensor
    np.testing.assert_allclose(grad.numpy(), ref_grad, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)


def test_torch_param_updated_in_place():
    torch = pytest.importorskip("torch")
    p, g, m, v = _adam_arrays()
    tp, tg, tm, tv = (torch.from_numpy(a.copy()) for a in (p, g, m, v))
    ptr = tp.data_ptr()
    F.adam_([tp], [tg], [tm], [tv], step=1, lr=0.1)
    F.adam_(p, g, m, v, step=1, lr=0.1)
    assert tp.data_ptr() == ptr
    np.testing.assert_array_equal(tp.numpy(), p)
    np.testing.assert_array_equal(tm.numpy(), m)
    # single arrays too
    F.sgd_(tp, tg, lr=1.0)
    np.testing.assert_array_equal(tp.numpy(), p - g)


def test_torch_tensor_that_cannot_be_updated_raises():
    torch = pytest.importorskip("torch")
    g = torch.ones(3, 4, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"param.*requires grad.*detach"):
        F.sgd_(torch.zeros(3, 4, dtype=torch.float64, requires_grad=True), g, lr=0.1)
    strided = torch.zeros(4, 3, dtype=torch.float64).t()
    with pytest.raises(ValueError, match="param.*C-contiguous"):
        F.sgd_(strided, g, lr=0.1)
    with pytest.raises(TypeError, match="param.*non-CPU"):
        F.sgd_(torch.zeros(3, 4, dtype=torch.float64, device="meta"), g, lr=0.1)
    with pytest.raises(ValueError, match="out.*C-contiguous"):
        F.mse_loss(np.ones((3, 4)), np.zeros((3, 4)), out=strided)
    # a strided tensor that is only read is fine (viewed, then copied)
    loss, grad = F.mse_loss(strided, np.zeros((3, 4)))
    assert loss == 0


def test_torch_tensor_inputs_to_layers_of_functions():
    torch = pytest.importorskip("torch")
    x = torch.randn(6, 5, dtype=torch.float64)
    y, grad = F.binary_cross_entropy_with_logits(x, torch.rand(6, 5, dtype=torch.float64),
                                                 pos_weight=torch.ones(5, dtype=torch.float64))
    assert np.isfinite(y) and grad.shape == (6, 5)
    norm = F.grad_norm([torch.ones(4), torch.ones(5)])
    assert norm == pytest.approx(3.0)


# ---------------------------------------------------------------- Parameter (issue 16 item 5)

def test_parameter_never_copies_silently():
    base = np.zeros((4, 6))
    with pytest.raises(ValueError, match=r"not C-contiguous.*copy=True"):
        fastnn.Parameter(base[:, ::2])
    with pytest.raises(ValueError, match=r"read-only.*copy=True"):
        ro = np.zeros(3)
        ro.flags.writeable = False
        fastnn.Parameter(ro)
    with pytest.raises(TypeError, match=r"int64.*copy=True"):
        fastnn.Parameter(np.arange(3))
    with pytest.raises(TypeError, match=r"non-native.*copy=True"):
        fastnn.Parameter(np.zeros(3, dtype=">f8"))
    with pytest.raises(ValueError, match=r"read-only.*copy=True"):
        fastnn.Parameter(memoryview(np.zeros(3).tobytes()).cast("d"))


def test_parameter_copy_true_is_explicit():
    base = np.ones((4, 6))
    p = fastnn.Parameter(base[:, ::2], copy=True)
    assert p.data.flags.c_contiguous and not np.shares_memory(p.data, base)
    p.grad = np.ones((4, 3))
    fastnn.optim.SGD([p], lr=0.5).step()
    np.testing.assert_array_equal(p.data, 0.5)
    np.testing.assert_array_equal(base, 1.0)  # a copy was asked for: base unchanged
    assert fastnn.Parameter(np.arange(3), copy=True).dtype == np.float64
    assert fastnn.Parameter(np.arange(3, dtype=np.float32), copy=True).dtype == np.float32
    c = np.ones(3)
    assert fastnn.Parameter(c, copy=True).data is not c
    with pytest.raises(TypeError, match="copy"):
        fastnn.Parameter(c, copy="yes")


def test_parameter_views_the_callers_memory():
    a = np.zeros(3)
    p = fastnn.Parameter(a)
    assert p.data is a
    buf = array.array("d", [1.0, 2.0])
    q = fastnn.Parameter(buf)
    q.grad = np.ones(2)
    fastnn.optim.SGD([q], lr=1.0).step()
    assert list(buf) == [0.0, 1.0]
    # lists have no memory to share: converted
    assert fastnn.Parameter([1, 2]).data.dtype.kind == "f"
