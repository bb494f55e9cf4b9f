"""fit / evaluate / predict, callbacks, reproducibility, the digits target and
smoke runs of the lecture experiments."""
import os
import sys

import numpy as np
import pytest

import fastnn
from fastnn import nn, optim
from fastnn.training import (EarlyStopping, ModelCheckpoint, ProgressBar, ReduceLROnPlateau,
                             evaluate, fit, predict)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _data(n=240, d=8, k=3, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d)) * 2
    y = rng.integers(0, k, n)
    x = (centers[y] + rng.standard_normal((n, d))).astype(dtype)
    return x, y


def _model(seed=0, dtype=np.float32, dropout=0.2):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 32, activation="relu", dtype=dtype),
                         nn.BatchNorm1d(32, dtype=dtype), nn.Dropout(dropout),
                         nn.Linear(32, 3, dtype=dtype))


def test_fit_history_and_loss_decreases(dtype):
    x, y = _data(dtype=dtype)
    m = _model(dtype=dtype)
    h = m.fit(x, y, epochs=5, batch_size=32, validation_split=0.25, seed=1, lr=0.01)
    assert h.epoch == list(range(5))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert len(h[key]) == 5
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_accuracy"][-1] > 0.8
    ev = m.evaluate(x, y)
    assert set(ev) == {"loss", "accuracy"} and ev["accuracy"] > 0.8
    out = m.predict(x, batch_size=50)
    assert out.shape == (240, 3) and out.dtype == dtype
    m.eval()
    np.testing.assert_allclose(out[:50], m.forward(x[:50]), rtol=1e-6)
    assert m.training is False  # predict/evaluate restore the mode they found


def test_mse_regression_and_partial_last_batch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((101, 8))
    w = rng.standard_normal((8, 1))
    y = x @ w
    nn.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 1, dtype=np.float64))
    h = fit(m, x, y, loss="mse", optimizer="sgd", lr=0.1, epochs=30, batch_size=16)
    assert "accuracy" not in h.history
    assert h["loss"][-1] < 1e-3
    assert evaluate(m, x, y, loss="mse")["loss"] < 1e-3


def test_same_seed_same_weights_any_thread_count():
    x, y = _data()
    states = []
    for n_threads in (1, 2, 2):
        m = _model(seed=7)
        m.fit(x, y, epochs=2, batch_size=32, seed=3, optimizer="adamw", n_threads=n_threads)
        states.append(m.state_dict())
    with fastnn.threads(2):
        m = _model(seed=7)
        m.fit(x, y, epochs=2, batch_size=32, seed=3, optimizer="adamw", n_threads=1,
              blas_threads=2)
        states.append(m.state_dict())
    for s in states[1:]:
        for k in states[0]:
            np.testing.assert_array_equal(states[0][k], s[k])
    m = _model(seed=7)
    m.fit(x, y, epochs=2, batch_size=32, seed=4, optimizer="adamw")
    assert not np.array_equal(m.state_dict()["0.weight"], states[0]["0.weight"])


def test_early_stopping_restores_best_weights():
    x, y = _data()
    m = _model()
    best = {}

    class Spy(EarlyStopping):
        def on_epoch_end(self, epoch, logs):
            super().on_epoch_end(epoch, logs)
            if self.best_epoch == epoch:
                best["w"] = m.state_dict()

    # an improvement threshold that cannot be met: stops after `patience` epochs
    es = Spy("val_loss", min_delta=10.0, patience=2, restore_best_weights=True)
    h = m.fit(x, y, epochs=20, validation_split=0.2, callbacks=[es])
    assert len(h.epoch) == 3 and es.stopped_epoch == 2 and es.best_epoch == 0
    for k, v in best["w"].items():
        np.testing.assert_array_equal(m.state_dict()[k], v)
    es2 = EarlyStopping("accuracy", patience=100)
    assert es2.mode == "max"
    h = _model().fit(x, y, epochs=3, callbacks=[es2])
    assert len(h.epoch) == 3
    m = _model()
    before = m.state_dict()
    with pytest.raises(ValueError, match="val_loss.*validation"):  # before training starts
        m.fit(x, y, epochs=1, callbacks=[EarlyStopping()])
    for k, v in before.items():
        np.testing.assert_array_equal(m.state_dict()[k], v)


def test_reduce_lr_on_plateau_callback_and_schedulers():
    x, y = _data()
    m = _model()
    # Keras: the first epoch always improves on inf; then min_delta=10 cannot be
    # met and patience=0 reduces at each epoch's end (after "lr" is logged)
    cb = ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=10.0)
    h = m.fit(x, y, epochs=4, optimizer="adam", lr=0.01, callbacks=[cb])
    assert h["lr"] == [0.01, 0.01, 0.005, 0.0025]
    m = _model()
    opt = optim.SGD(m.parameters(), lr=0.1)
    h = m.fit(x, y, epochs=3, optimizer=opt,
              scheduler=optim.lr_scheduler.StepLR(opt, 1, gamma=0.5))
    assert h["lr"] == [0.1, 0.05, 0.025]
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.OneCycleLR(opt, 0.1, epochs=2, steps_per_epoch=8)
    m.fit(x, y, epochs=2, batch_size=30, optimizer=opt, scheduler=sched)
    assert sched.last_epoch == 16
    opt = optim.SGD(m.parameters(), lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, threshold=10.0)
    h = m.fit(x, y, epochs=2, optimizer=opt, scheduler=plateau)
    assert h["lr"][1] == pytest.approx(0.01)


def test_model_checkpoint(tmp_path):
    x, y = _data()
    m = _model()
    ck = ModelCheckpoint(str(tmp_path / "m-{epoch:02d}.npz"), monitor="val_accuracy")
    m.fit(x, y, epochs=2, validation_split=0.2, callbacks=[ck])
    assert [os.path.basename(p) for p in ck.saved] == ["m-01.npz", "m-02.npz"]
    other = _model(seed=5).load(ck.saved[-1])
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k], v)
    best = ModelCheckpoint(str(tmp_path / "best.npz"), monitor="loss", save_best_only=True)
    m.fit(x, y, epochs=3, callbacks=[best])
    assert 1 <= len(best.saved) <= 3 and os.path.exists(tmp_path / "best.npz")


def test_progress_bar_and_missing_tqdm(monkeypatch, capsys):
    x, y = _data()
    pytest.importorskip("tqdm")
    _model().fit(x, y, epochs=1, verbose=1)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    bar = ProgressBar()
    assert not bar.available
    _model().fit(x, y, epochs=1, callbacks=[bar])


def test_fit_bad_arguments_raise_before_training():
    x, y = _data()
    m = _model()
    before = m.state_dict()
    with pytest.raises(TypeError, match="model"):
        fit(object(), x, y)
    with pytest.raises(TypeError, match="x"):
        m.fit(list(x), y)
    with pytest.raises(ValueError, match="samples"):
        m.fit(x, y[:-1])
    with pytest.raises(ValueError, match="batch_size"):
        m.fit(x, y, batch_size=0)
    with pytest.raises(ValueError, match="epochs"):
        m.fit(x, y, epochs=-1)
    with pytest.raises(ValueError, match="validation_split"):
        m.fit(x, y, validation_split=1.0)
    for bad in ("0.2", None, True):  # a str raised TypeError from a comparison inside fit
        with pytest.raises(ValueError, match="validation_split must be a number"):
            m.fit(x, y, validation_split=bad)
    with pytest.raises(ValueError, match="optimizer"):
        m.fit(x, y, optimizer="adamax")
    with pytest.raises(ValueError, match="loss"):
        m.fit(x, y, loss="hinge2")
    with pytest.raises(ValueError, match="blas_threads"):
        m.fit(x, y, blas_threads=0)
    with pytest.raises(ValueError, match="scheduler_interval"):
        m.fit(x, y, scheduler_interval="step")
    with pytest.raises(ValueError, match="batch_size"):
        predict(m, x, batch_size=-2)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_digits_target_97_percent():
    """MLP 64-256-256-10 with BatchNorm, Dropout and AdamW on held-out digits."""
    pytest.importorskip("sklearn")
    sys.path.insert(0, ROOT)
    from examples._common import digits

    x_tr, y_tr, x_te, y_te = digits(test_size=0.25, seed=0)
    nn.manual_seed(0)
    m = nn.Sequential(nn.Linear(64, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2),
                      nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2),
                      nn.Linear(256, 10))
    opt = optim.AdamW(m.parameters(), lr=1e-3)
    m.fit(x_tr, y_tr, optimizer=opt, epochs=15, batch_size=64, seed=0)
    acc = m.evaluate(x_te, y_te)["accuracy"]
    assert acc >= 0.97, acc


@pytest.fixture
def examples_path():
    pytest.importorskip("sklearn")
    sys.path.insert(0, ROOT)
    yield
    sys.path.remove(ROOT)


def test_example_initialization(examples_path):
    from examples import init_experiment as ex

    res = ex.run(depth=20, width=64, n_samples=128)
    assert all(s == 0 for s in res[("tanh", "zeros")])
    assert res[("tanh", "xavier")][-1] > 0.05  # tanh's signal kept
    assert res[("tanh", "small random")][-1] < 1e-6  # vanished
    he, xav = res[("relu", "he")], res[("relu", "xavier")]
    assert he[-1] > 0.2 * he[0] and xav[-1] < 0.05 * xav[0]  # He keeps ReLU's variance
    assert not ex.symmetry_broken("zeros", steps=1)
    assert ex.symmetry_broken("xavier_normal", steps=1)


def test_example_batchnorm(examples_path):
    from examples import batchnorm_experiment as ex

    results, rows = ex.run(epochs=3, target=0.9, depth=2, width=32, lrs=(0.01,))
    assert len(rows) == 2
    assert max(results[("BatchNorm", 0.01)]["val_accuracy"]) > \
        max(results[("plain", 0.01)]["val_accuracy"])


def test_example_regularization(examples_path):
    from examples import regularization_experiment as ex

    rows, curves = ex.run(epochs=3, n_train=100, width=32)
    assert [r[0] for r in rows] == ["none", "dropout 0.5", "L2 1e-2", "early stopping"]


def test_example_optimizers(examples_path):
    from examples import optimizers_experiment as ex

    curves, rows = ex.run(epochs=2, width=16)
    assert len(rows) == 10
    assert curves["Adam"][-1] < curves["Adam"][0]


def test_fit_applies_a_per_batch_transform():
    import numpy as np
    from fastnn import nn
    from fastnn.augment import Compose, GaussianNoise

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    y = np.arange(64) % 3
    seen = []

    def spy(xb, yb):
        seen.append(xb.shape)
        return xb, yb

    model = nn.Sequential(nn.Linear(8, 3, seed=0))
    model.fit(x, y, epochs=1, batch_size=16, transform=spy, verbose=0)
    assert seen == [(16, 8)] * 4
    model.fit(x, y, epochs=1, batch_size=16, transform=Compose([GaussianNoise(0.1)], seed=1),
              verbose=0)
    import pytest
    with pytest.raises(TypeError, match="transform"):
        model.fit(x, y, epochs=1, transform=3)


def test_fit_checks_validation_inputs_before_training():
    # validation inputs of the wrong dtype or sample shape raised after a
    # whole epoch of training, naming "x"
    x, y = _data()
    m = _model()
    before = m.state_dict()
    with pytest.raises(TypeError, match=r"validation_data\[0\] has dtype float64"):
        m.fit(x, y, validation_data=(x.astype(np.float64), y))
    with pytest.raises(ValueError, match=r"validation_data\[0\] has samples of shape"):
        m.fit(x, y, validation_data=(x[:, :-1], y))
    with pytest.raises(TypeError, match="x has dtype float64"):
        m.fit(x.astype(np.float64), y)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    # a per-batch transform may convert the training inputs
    h = m.fit(x.astype(np.float64), y, epochs=1, validation_data=(x, y),
              transform=lambda a, b: (a.astype(np.float32), b))
    assert len(h["val_loss"]) == 1


def test_fit_called_twice_continues_with_the_optimizer_it_built():
    # fit(optimizer="adam") built a new Adam at every call: a second call
    # restarted the moments and the step count instead of continuing
    x, y = _data()
    kw = dict(batch_size=32, shuffle=False, lr=0.01)
    once = _model(dropout=0.0)
    once.fit(x, y, epochs=2, **kw)
    twice = _model(dropout=0.0)
    twice.fit(x, y, epochs=1, **kw)
    twice.fit(x, y, epochs=2, initial_epoch=1, **kw)
    for k, v in once.state_dict().items():
        np.testing.assert_array_equal(twice.state_dict()[k], v)
    # another name or rate builds a new optimizer; copies do not share it
    import copy
    fresh = copy.deepcopy(_model(dropout=0.0))
    fresh.fit(x, y, epochs=1, **kw)
    other = _model(dropout=0.0)
    other.fit(x, y, epochs=1, **kw)
    other.fit(x, y, epochs=1, optimizer="sgd", **kw)
    assert "_fit_optimizer_" not in copy.deepcopy(other).__dict__


def test_evaluate_defaults_to_the_loss_and_metrics_of_the_latest_fit():
    # evaluate used cross-entropy whatever fit trained with: after
    # fit(loss="mse") on (n, k) float targets it silently reported a softmax
    # cross-entropy of regression outputs
    import pickle

    x, y = _data()
    t = np.eye(3, dtype=np.float32)[y] * 2.0 - 0.5
    m = _model(dropout=0.0)
    assert set(m.evaluate(x, y)) == {"loss", "accuracy"}  # never fitted: cross-entropy

    def mae(out, target):
        return float(np.abs(out - target).mean())

    m.fit(x, t, loss="mse", metrics=[mae], epochs=1)
    out = m.predict(x)
    ev = m.evaluate(x, t)
    assert set(ev) == {"loss", "mae"}
    assert ev["loss"] == pytest.approx(float(np.mean((out - t) ** 2)), rel=1e-5)
    assert ev["mae"] == pytest.approx(float(np.abs(out - t).mean()), rel=1e-5)
    assert set(m.evaluate(x, t, metrics=[])) == {"loss"}
    ce = m.evaluate(x, y, loss="cross_entropy")  # an explicit loss keeps its own defaults
    assert set(ce) == {"loss", "accuracy"}
    pickle.dumps(m)  # the recorded metric (a local function) is not pickled


def test_accuracy_of_one_output_per_sample_is_binary():
    # an argmax over one column is always 0: "accuracy" with a binary
    # cross-entropy reported 1.0 (targets (n, 1)) or the fraction of 0 labels
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 4)).astype(np.float32)
    t = (x[:, 0] > 0).astype(np.float32)
    nn.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 1))
    m.fit(x, t[:, None], loss="bce_with_logits", metrics=["accuracy"], epochs=5, lr=0.05)
    out = m.predict(x)[:, 0]
    expected = float(np.mean((out > 0) == (t > 0.5)))
    assert 0.6 < expected < 1.0
    for target in (t[:, None], t):
        ev = m.evaluate(x, target, loss="bce_with_logits", metrics=["accuracy"])
        assert ev["accuracy"] == pytest.approx(expected, rel=1e-12)
    # multi-label: every output counts
    m3 = nn.Sequential(nn.Linear(4, 3))
    t3 = (rng.random((200, 3)) > 0.5).astype(np.float32)
    out3 = m3.predict(x)
    ev = m3.evaluate(x, t3, loss="bce_with_logits", metrics=["accuracy"])
    assert ev["accuracy"] == pytest.approx(float(np.mean((out3 > 0) == (t3 > 0.5))))
    # another loss with one output: a probability, threshold 0.5
    ev = m.evaluate(x, t[:, None], loss="mse", metrics=["accuracy"])
    assert ev["accuracy"] == pytest.approx(float(np.mean((out > 0.5) == (t > 0.5))))


def test_fit_refuses_an_optimizer_over_another_models_parameters():
    # training ran and left the model unchanged, without a word
    x, y = _data()
    old = _model()
    opt = fastnn.optim.Adam(old.parameters())
    m = _model(seed=1)
    before = m.state_dict()
    with pytest.raises(ValueError, match="none of the model's parameters"):
        m.fit(x, y, optimizer=opt)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    # an optimizer over part of the model (frozen layers) trains that part
    part = fastnn.optim.SGD(m[3].parameters(), lr=0.1)
    m.fit(x, y, optimizer=part, epochs=1)
    np.testing.assert_array_equal(m[0].weight.data, before["0.weight"])
    assert not np.array_equal(m[3].weight.data, before["3.weight"])


def test_fit_leaves_the_input_dtype_to_a_custom_first_module():
    # only fastnn's own first layers fix the input dtype before training
    class ToFloat32(nn.Module):
        def forward(self, x):
            return (x / 4).astype(np.float32)

        def backward(self, dy, *, input_grad=True):
            return dy

    x, y = _data()
    m = nn.Sequential(ToFloat32(), _model())
    h = m.fit(x.astype(np.float64), y, epochs=1, validation_data=(x.astype(np.float64), y))
    assert len(h["val_loss"]) == 1
    with pytest.raises(TypeError, match="first layer is float32"):
        nn.Sequential(nn.Dropout(0.1), nn.Flatten(), _model()).fit(x.astype(np.float64), y)


class _PerPosition(nn.Module):
    """Logits (N, C, L) from sequences (N, L, F): one Linear at every position."""

    def __init__(self, n_features, n_classes):
        super().__init__()
        self.lin = self.add_module("lin", nn.Linear(n_features, n_classes, seed=0))

    def forward(self, x):
        n, length, f = x.shape
        self._shape = (n, length)
        z = self.lin.forward(x.reshape(n * length, f))
        return np.ascontiguousarray(z.reshape(n, length, -1).transpose(0, 2, 1))

    def backward(self, dy, *, input_grad=True):
        n, length = self._shape
        dz = np.ascontiguousarray(dy.transpose(0, 2, 1)).reshape(n * length, -1)
        return self.lin.backward(dz, input_grad=input_grad)


def test_fit_and_evaluate_per_position_labels():
    # (N, C, L) logits with (N, L) labels: check_target rejected 2-D integer
    # labels as one-hot only after the model ran, (N, H, W) labels before
    # training, and the accuracy broadcast (N, L) predictions against the labels
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 5, 4)).astype(np.float32)
    y = (x[..., 0] > 0).astype(np.int64) + (x[..., 1] > 0)  # 3 classes per position
    y[:, -1] = -100  # the last position is ignored, by the loss and the accuracy
    model = _PerPosition(4, 3)
    hist = model.fit(x, y, epochs=3, batch_size=16, lr=0.05, validation_data=(x, y))
    assert hist["loss"][-1] < hist["loss"][0]
    assert 0.0 <= hist["accuracy"][0] <= hist["accuracy"][-1] <= 1.0
    logits = model.predict(x)
    kept = y != -100
    expected = np.count_nonzero((logits.argmax(1) == y) & kept) / np.count_nonzero(kept)
    res = model.evaluate(x, y, batch_size=48)
    assert res["accuracy"] == pytest.approx(expected)
    assert hist["val_accuracy"][-1] == pytest.approx(expected)
    # probability targets of the logits' shape count their argmax
    probs = np.eye(3, dtype=np.float32)[np.where(kept, y, 0)].transpose(0, 2, 1)
    res = model.evaluate(x, np.ascontiguousarray(probs), batch_size=48)
    assert res["accuracy"] == pytest.approx(
        np.mean(logits.argmax(1) == np.where(kept, y, 0)))


def test_fit_per_pixel_labels_pass_the_target_check():
    # (N, H, W) integer labels were refused before training
    model = _PerPosition(4, 3)
    x = np.random.default_rng(1).standard_normal((8, 6, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=r"expected \(8, 6\)"):
        model.fit(x, np.zeros((8, 2, 3), np.int64), epochs=1)  # shapes checked by the loss
    nn.CrossEntropyLoss.check_target(np.zeros((8, 2, 3), np.int64))
    with pytest.raises(ValueError, match="got shape"):
        nn.CrossEntropyLoss.check_target(np.zeros((), np.int64))
    with pytest.raises(ValueError, match="does not match"):
        from fastnn.training import _accuracy
        _accuracy(np.zeros((8, 3, 6), np.float32), np.zeros((8, 5), np.int64))
