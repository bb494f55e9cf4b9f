"""fastnn.distributed on N ranks: every test holds for any N (run with 2 and 4).

Run under ``mpiexec -n N python -m pytest tests/distributed`` (see
tools/run_distributed_tests.sh): every rank runs the same tests in the same
order and they talk over MPI_COMM_WORLD. Outside mpiexec, or without mpi4py,
they are skipped: tests/test_distributed.py launches mpiexec itself.
(No conftest.py here: it would shadow tests/conftest.py, which other test
modules import as ``conftest``.)
"""
import os
import tempfile

import numpy as np
import pytest

_LAUNCHED = any(k in os.environ for k in ("PMI_RANK", "PMI_SIZE", "PMIX_RANK",
                                          "OMPI_COMM_WORLD_SIZE", "FASTNN_MPI_TESTS"))
if not _LAUNCHED:
    pytest.skip("MPI tests: run under mpiexec (tools/run_distributed_tests.sh)",
                allow_module_level=True)
pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install -e '.[mpi]')")

import fastnn
from fastnn import nn, optim
from fastnn.callbacks import EarlyStopping, ModelCheckpoint


def _mlp(dtype=np.float64, sizes=(20, 16, 12, 5), seed=0, dropout=0.0, batchnorm=None):
    nn.manual_seed(seed)
    layers = []
    for i in range(len(sizes) - 1):
        last = i == len(sizes) - 2
        layers.append(nn.Linear(sizes[i], sizes[i + 1], activation="identity" if last else "relu",
                                dtype=dtype))
        if not last and batchnorm is not None:
            layers.append(batchnorm(sizes[i + 1], dtype=dtype))
        if not last and dropout:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def _data(n=203, d=20, k=5, dtype=np.float64, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, k, n)
    return x, y


def _same_on_all_ranks(comm, value):
    values = comm.allgather(value)
    for v in values[1:]:
        np.testing.assert_array_equal(np.asarray(v), np.asarray(values[0]))


def _weights(model):
    return [p.data.copy() for p in model.parameters()]


def _assert_weights_close(a, b, rtol=1e-10):
    for wa, wb in zip(a, b):
        scale = max(np.abs(wb).max(), 1e-300)
        np.testing.assert_allclose(wa, wb, rtol=rtol, atol=rtol * scale)


@pytest.fixture
def comm():
    from mpi4py import MPI
    return MPI.COMM_WORLD


# ------------------------------------------------------------------ set-up


def test_structure_mismatch_raises_on_every_rank(comm):
    from fastnn.distributed import check_structure
    sizes = (20, 16, 5) if comm.Get_rank() != comm.Get_size() - 1 else (20, 17, 5)
    model = _mlp(sizes=sizes)
    if comm.Get_size() == 1:
        check_structure(model, comm)
        return
    with pytest.raises(ValueError, match="differs between ranks"):
        check_structure(model, comm)


def test_structure_dtype_mismatch_named(comm):
    from fastnn.distributed import check_structure
    if comm.Get_size() == 1:
        pytest.skip("needs 2 ranks")
    dtype = np.float32 if comm.Get_rank() == 1 else np.float64
    with pytest.raises(ValueError, match="float32|float64"):
        check_structure(_mlp(dtype=dtype), comm)


def test_broadcast_parameters(comm):
    from fastnn.distributed import broadcast_parameters
    model = _mlp(seed=100 + comm.Get_rank())
    broadcast_parameters(model, comm)
    for w in _weights(model):
        _same_on_all_ranks(comm, w)
    np.testing.assert_array_equal(_weights(model)[0], _weights(_mlp(seed=100))[0])


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("overlap", [False, True])
def test_allreduce_gives_global_batch_gradient(comm, overlap):
    from fastnn.distributed import DistributedDataParallel, shard_range
    x, y = _data(64)
    ref = _mlp()
    loss = nn.CrossEntropyLoss()
    ref.zero_grad()
    loss.forward(ref.forward(x), y)
    ref.backward(loss.backward(), input_grad=False)
    expected = [p.grad.copy() for p in ref.parameters()]

    model = _mlp()
    ddp = DistributedDataParallel(model, comm, overlap=overlap, bucket_bytes=256)
    try:
        lo, hi = shard_range(len(x), comm.Get_rank(), comm.Get_size())
        model.zero_grad()
        loss.forward(model.forward(x[lo:hi]), y[lo:hi])
        ddp.backward(loss.backward())
        ddp.allreduce_gradients()
        for p, g in zip(model.parameters(), expected):
            np.testing.assert_allclose(p.grad, g, rtol=1e-12, atol=1e-14)
            # the gradient is a view of the flat buffer that was all-reduced in place
            assert any(np.shares_memory(p.grad, b) for b in ddp.grads.buffers.values())
    finally:
        ddp.close()


def test_parameter_without_gradient_is_zeroed(comm):
    from fastnn.distributed import DistributedDataParallel
    model = _mlp()
    ddp = DistributedDataParallel(model, comm)
    try:
        for b in ddp.grads.buffers.values():
            b[...] = 7.0  # stale values
        model.zero_grad()
        ddp.allreduce_gradients()
        for p in model.parameters():
            np.testing.assert_array_equal(p.grad, 0.0)
    finally:
        ddp.close()


# ------------------------------------------------------------------ ZeRO-1


def _global_grads_step(model, loss, x, y, comm):
    from fastnn.distributed import shard_range
    lo, hi = shard_range(len(x), comm.Get_rank(), comm.Get_size())
    model.zero_grad()
    loss.forward(model.forward(x[lo:hi]), y[lo:hi])
    model.backward(loss.backward() * ((hi - lo) / len(x)), input_grad=False)


@pytest.mark.parametrize("opt_cls,kw", [(optim.Adam, {"lr": 1e-2}),
                                        (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
                                        (optim.NAdam, {})])
def test_zero_matches_plain_optimizer(comm, opt_cls, kw):
    from fastnn.distributed import ZeroRedundancyOptimizer
    x, y = _data(48)
    loss = nn.CrossEntropyLoss()
    ref = _mlp()
    ref_opt = opt_cls(ref.parameters(), **kw)
    model = _mlp()
    zopt = ZeroRedundancyOptimizer(opt_cls, model.parameters(), comm, **kw)
    try:
        for step in range(5):
            ref.zero_grad()
            loss.forward(ref.forward(x), y)
            ref.backward(loss.backward(), input_grad=False)
            ref_opt.step()
            _global_grads_step(model, loss, x, y, comm)
            zopt.step()
        _assert_weights_close(_weights(model), _weights(ref), 1e-11)
        for w in _weights(model):
            _same_on_all_ranks(comm, w)
    finally:
        zopt.close()


def test_zero_state_is_sharded(comm):
    from fastnn.distributed import ZeroRedundancyOptimizer
    model = _mlp(sizes=(200, 100, 10))
    n = model.n_parameters()
    zopt = ZeroRedundancyOptimizer(optim.Adam, model.parameters(), comm)
    try:
        x, y = _data(16, d=200, k=10)
        _global_grads_step(model, nn.CrossEntropyLoss(), x, y, comm)
        zopt.step()
        size = comm.Get_size()
        shard = -(-n // size)
        assert zopt.state_nbytes() == 2 * shard * 8  # exp_avg, exp_avg_sq of the shard
    finally:
        zopt.close()


def test_zero_state_dict_loads_into_one_rank_and_continues(comm):
    from fastnn.distributed import ZeroRedundancyOptimizer
    x, y = _data(48)
    loss = nn.CrossEntropyLoss()
    model = _mlp()
    zopt = ZeroRedundancyOptimizer(optim.Adam, model.parameters(), comm, lr=1e-2)
    try:
        for _ in range(3):
            _global_grads_step(model, loss, x, y, comm)
            zopt.step()
        sd = zopt.state_dict()
        # a single process restores the checkpoint into a plain Adam
        solo = _mlp()
        solo.load_state_dict(model.state_dict())
        solo_opt = optim.Adam(solo.parameters(), lr=1e-2)
        solo_opt.load_state_dict(sd)
        for _ in range(3):
            _global_grads_step(model, loss, x, y, comm)
            zopt.step()
            solo.zero_grad()
            loss.forward(solo.forward(x), y)
            solo.backward(loss.backward(), input_grad=False)
            solo_opt.step()
        _assert_weights_close(_weights(model), _weights(solo), 1e-11)
        # and the plain optimizer's state loads back into the sharded one
        zopt.load_state_dict(solo_opt.state_dict())
        sd2 = zopt.state_dict()
        for i, s in solo_opt.state_dict()["state"].items():
            np.testing.assert_array_equal(sd2["state"][i]["exp_avg"], s["exp_avg"])
            assert sd2["state"][i]["step"] == s["step"]
    finally:
        zopt.close()


# ------------------------------------------------------------------ fit


def _single_fit(build, x, y, **kw):
    model = build()
    hist = fastnn.training.fit(model, x, y, **kw)
    return model, hist


@pytest.mark.parametrize("zero", [False, True])
def test_fit_matches_single_process(comm, zero):
    x, y = _data(203)
    kw = dict(epochs=3, batch_size=32, lr=1e-2, seed=3, validation_split=0.2)
    ref, ref_hist = _single_fit(_mlp, x, y, **kw)
    model = _mlp()
    hist = model.fit(x, y, distributed={"zero": zero, "comm": comm}, **kw)
    _assert_weights_close(_weights(model), _weights(ref), 1e-10)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(hist[key], ref_hist[key], rtol=1e-10)
        _same_on_all_ranks(comm, hist[key])


def test_fit_dropout_masks_keyed_by_global_row(comm):
    x, y = _data(150)
    build = lambda: _mlp(dropout=0.3)  # noqa: E731
    kw = dict(epochs=2, batch_size=30, lr=1e-2, seed=5)
    ref, _ = _single_fit(build, x, y, **kw)
    model = build()
    model.fit(x, y, distributed=True, **kw)
    _assert_weights_close(_weights(model), _weights(ref), 1e-10)


@pytest.mark.parametrize("layer", ["Dropout2d", "GaussianNoise"])
def test_fit_noise_layers_keyed_by_global_row(comm, layer):
    x, y = _data(150)

    def build():
        nn.manual_seed(0)
        noise = nn.Dropout2d(0.3) if layer == "Dropout2d" else nn.GaussianNoise(0.5)
        return nn.Sequential(nn.Linear(20, 16, activation="relu", dtype=np.float64), noise,
                             nn.Linear(16, 5, dtype=np.float64))

    kw = dict(epochs=2, batch_size=30, lr=1e-2, seed=5)
    ref, _ = _single_fit(build, x, y, **kw)
    model = build()
    model.fit(x, y, distributed=True, **kw)
    _assert_weights_close(_weights(model), _weights(ref), 1e-10)


def test_fit_transform_keyed_by_global_row(comm):
    from fastnn import augment
    x, y = _data(120)
    kw = dict(epochs=2, batch_size=24, lr=1e-2, seed=5)

    def pipeline():
        return augment.Compose([augment.GaussianNoise(0.1)], seed=11)

    ref, _ = _single_fit(_mlp, x, y, transform=pipeline(), **kw)
    model = _mlp()
    model.fit(x, y, distributed=True, transform=pipeline(), **kw)
    _assert_weights_close(_weights(model), _weights(ref), 1e-10)


def test_sync_batchnorm_matches_single_process_batchnorm(comm):
    from fastnn.distributed import SyncBatchNorm1d
    x, y = _data(160)
    kw = dict(epochs=2, batch_size=40, lr=1e-2, seed=2, optimizer="sgd")
    ref, _ = _single_fit(lambda: _mlp(batchnorm=nn.BatchNorm1d), x, y, **kw)
    model = _mlp(batchnorm=SyncBatchNorm1d)
    model.fit(x, y, distributed=True, **kw)
    _assert_weights_close(_weights(model), _weights(ref), 1e-9)
    np.testing.assert_allclose(model[1].running_mean, ref[1].running_mean, rtol=1e-9)


def test_fit_early_stopping_same_epoch_and_checkpoint_on_rank0(comm):
    x, y = _data(100)
    path = tempfile.mkdtemp() if comm.Get_rank() == 0 else None
    path = comm.bcast(path)
    ckpt = os.path.join(path, f"rank{comm.Get_rank()}_ckpt_{{epoch}}.npz")
    stop = EarlyStopping(monitor="loss", patience=0, min_delta=10.0)  # stops after epoch 1
    hist = _mlp().fit(x, y, distributed=True, epochs=10, batch_size=16, seed=0,
                      callbacks=[stop, ModelCheckpoint(ckpt)])
    _same_on_all_ranks(comm, hist.epoch)
    assert len(hist.epoch) < 10
    comm.Barrier()
    files = sorted(os.listdir(path))
    assert files and all(f.startswith("rank0_") for f in files), files


def test_fit_more_ranks_than_last_batch_rows(comm):
    x, y = _data(33)  # last global batch has 1 row
    kw = dict(epochs=1, batch_size=16, lr=1e-2, seed=0)
    ref, _ = _single_fit(_mlp, x, y, **kw)
    model = _mlp()
    model.fit(x, y, distributed=True, **kw)
    _assert_weights_close(_weights(model), _weights(ref), 1e-10)


# ------------------------------------------------------------------ bad inputs


def test_bad_arguments_raise_before_any_collective(comm):
    from fastnn.distributed import DistributedDataParallel, ZeroRedundancyOptimizer
    model = _mlp()
    with pytest.raises(TypeError, match="Optimizer subclass"):
        ZeroRedundancyOptimizer(dict, model.parameters(), comm)
    with pytest.raises(TypeError, match="param groups are not supported"):
        ZeroRedundancyOptimizer(optim.Adam, [{"params": model.parameters()}], comm)
    with pytest.raises(ValueError, match="empty parameter list"):
        ZeroRedundancyOptimizer(optim.Adam, [], comm)
    with pytest.raises(TypeError, match="Sequential"):
        DistributedDataParallel(nn.Linear(3, 2), comm, overlap=True, broadcast=False)
    with pytest.raises(TypeError, match="zero=True needs an optimizer name"):
        model.fit(*_data(10), distributed={"zero": True, "comm": comm},
                  optimizer=optim.Adam(model.parameters()))


def test_deterministic_mode_checks_its_arguments(comm):
    x, y = _data(64)
    model = _mlp()
    with pytest.raises(ValueError, match="power of two"):
        model.fit(x, y, batch_size=48, distributed={"deterministic": True, "comm": comm})
    with pytest.raises(ValueError, match="not ZeRO"):
        model.fit(x, y, batch_size=64, distributed={"deterministic": True, "zero": True,
                                                    "comm": comm})
    if comm.Get_size() > 1:
        with pytest.raises(ValueError, match="ranks"):
            model.fit(x, y, batch_size=16, distributed={"deterministic": True, "comm": comm})


def test_deterministic_mode_matches_single_process_to_rounding(comm):
    x, y = _data(200)
    kw = dict(epochs=2, batch_size=64, lr=1e-2, seed=3, validation_split=0.1)
    ref, ref_hist = _single_fit(_mlp, x, y, **kw)
    model = _mlp()
    hist = model.fit(x, y, distributed={"deterministic": True, "block_rows": 16}, **kw)
    _assert_weights_close(_weights(model), _weights(ref), 1e-10)
    np.testing.assert_allclose(hist["val_loss"], ref_hist["val_loss"], rtol=1e-10)
    _same_on_all_ranks(comm, hist["loss"])
