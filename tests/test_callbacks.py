"""fastnn.callbacks: the module layout (no import cycle), the hooks a training
loop calls, Keras conventions of fit (progress, metrics, one-hot targets,
ReduceLROnPlateau) and checkpoints that resume a run exactly."""
import ast
import math
import os
import sys

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, nn, optim, training
from fastnn.callbacks import (Callback, EarlyStopping, ModelCheckpoint, ProgressBar,
                              ReduceLROnPlateau, TrainerState, get_monitor, improves,
                              load_checkpoint, monitor_mode, save_checkpoint)

PKG = os.path.dirname(os.path.abspath(fastnn.__file__))


def _data(n=100, d=8, k=3, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d)) * 2
    y = rng.integers(0, k, n)
    x = (centers[y] + rng.standard_normal((n, d))).astype(dtype)
    return x, y


def _model(seed=0, dtype=np.float32, dropout=0.2):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16, activation="relu", dtype=dtype),
                         nn.BatchNorm1d(16, dtype=dtype), nn.Dropout(dropout),
                         nn.Linear(16, 3, dtype=dtype))


def _assert_same_state(a, b):
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


# ------------------------------------------------------------------ layout


def _imports(path):
    tree = ast.parse(open(path).read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_module_of_nn_growth_pruning_or_callbacks_imports_training():
    files = [os.path.join(PKG, "nn", f) for f in os.listdir(os.path.join(PKG, "nn"))
             if f.endswith(".py")]
    files += [os.path.join(PKG, f) for f in ("growth.py", "pruning.py", "callbacks.py")]
    for path in files:
        # "from fastnn import training" shows up as "fastnn.training" too
        bad = {n for n in _imports(path)
               if n == "fastnn.training" or n.startswith("fastnn.training.")}
        assert not bad, (path, bad)
    # callbacks.py is a leaf: it imports nothing of fastnn but the pure-Python
    # scalar checks, a leaf themselves
    assert not {n for n in _imports(os.path.join(PKG, "callbacks.py"))
                if n.startswith("fastnn") and not n.startswith("fastnn._checks")}
    assert not {n for n in _imports(os.path.join(PKG, "_checks.py")) if n.startswith("fastnn")}


def test_training_reexports_the_callbacks():
    for name in ("Callback", "EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint",
                 "ProgressBar", "CallbackList", "TrainerState"):
        assert getattr(training, name) is getattr(callbacks, name)
    assert training._Trainer is TrainerState


def test_monitor_helpers():
    assert monitor_mode("val_accuracy") == "max" and monitor_mode("val_loss") == "min"
    assert monitor_mode("val_auc") == "max" and monitor_mode("loss", "max") == "max"
    with pytest.raises(ValueError, match="mode"):
        monitor_mode("loss", "up")
    assert improves(0.5, 1.0, "min", 0.4) and not improves(0.7, 1.0, "min", 0.4)
    assert improves(1.5, 1.0, "max", 0.4) and not improves(1.3, 1.0, "max", 0.4)
    assert get_monitor({"loss": np.float32(2)}, "loss") == 2.0
    with pytest.raises(KeyError, match="available.*loss"):
        get_monitor({"loss": 1.0}, "val_loss")


# ------------------------------------------------------------------ hooks


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None):
        assert self.model is not None and self.trainer.n_batches == 4
        self.calls.append(("train_begin", dict(logs)))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_begin(self, batch, logs=None):
        self.calls.append(("batch_begin", batch, logs["size"]))

    def on_batch_end(self, batch, logs=None):
        assert math.isfinite(logs["loss"])
        self.calls.append(("batch_end", batch, logs["size"]))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))
        logs["extra"] = epoch  # a key added by a callback reaches the History

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


def test_hooks_are_called_in_order_with_logs():
    x, y = _data()
    rec = Recorder()
    h = _model().fit(x, y, epochs=2, batch_size=32, callbacks=[rec])
    batches = [("batch_begin", b, s) for b, s in enumerate([32, 32, 32, 4])]
    batches = [c for b in batches for c in (b, ("batch_end",) + b[1:])]
    keys = ["accuracy", "loss", "lr"]
    assert rec.calls == ([("train_begin", {})]
                         + [("epoch_begin", 0)] + batches + [("epoch_end", 0, keys)]
                         + [("epoch_begin", 1)] + batches + [("epoch_end", 1, keys)]
                         + [("train_end",)])
    assert h["extra"] == [0, 1]
    assert rec.trainer.metrics_names == ["loss", "accuracy", "lr"]
    assert rec.trainer.epochs == 2 and rec.trainer.initial_epoch == 0


def test_callbacks_must_be_callbacks():
    x, y = _data()
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        _model().fit(x, y, callbacks=[lambda: None])


# ------------------------------------------------------------------ progress


def test_verbose_2_prints_one_plain_line_per_epoch(capsys):
    x, y = _data()
    _model().fit(x, y, epochs=3, verbose=2, validation_split=0.2)
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 3 and err == ""
    for i, line in enumerate(lines):
        assert line.startswith(f"Epoch {i + 1}/3 - loss: ")
        assert "accuracy: " in line and "val_loss: " in line and "val_accuracy: " in line


def test_verbose_1_keeps_one_bar_line_per_epoch_with_the_logs(capsys):
    pytest.importorskip("tqdm")
    x, y = _data()
    _model().fit(x, y, epochs=2, batch_size=32, verbose=1)
    out, err = capsys.readouterr()
    assert out == ""
    # tqdm redraws a line with "\r"; leave=True ends each epoch's bar with "\n"
    finals = [line.split("\r")[-1] for line in err.strip("\n").split("\n")]
    assert len(finals) == 2
    for i, line in enumerate(finals):
        assert f"Epoch {i + 1}/2" in line and "4/4" in line
        assert "loss: " in line and "accuracy: " in line and "lr: " in line


def test_an_interrupted_fit_closes_its_progress_bar(capsys):
    # the epoch's bar stayed open after Ctrl-C (on_train_end is not reached)
    pytest.importorskip("tqdm")

    class Interrupt(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 1:
                raise KeyboardInterrupt

    x, y = _data()
    bar = ProgressBar(1)
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, epochs=2, batch_size=32, callbacks=[bar, Interrupt()])
    assert bar.bar is None
    _, err = capsys.readouterr()
    assert err.endswith("\n") and "Epoch 1/2" in err and "2/4" in err


def test_verbose_1_without_tqdm_prints_plain_lines(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert not ProgressBar().available
    x, y = _data()
    _model().fit(x, y, epochs=2, verbose=1)
    out, _ = capsys.readouterr()
    lines = out.strip().splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2"]
    assert all("accuracy: " in line for line in lines)


def test_verbose_0_is_silent_and_bad_verbose_raises(capsys):
    x, y = _data()
    _model().fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr() == ("", "")
    for bad in (3, -1, True, "1"):
        with pytest.raises(ValueError, match="verbose"):
            _model().fit(x, y, verbose=bad)
    with pytest.raises(ValueError, match="verbose"):
        ProgressBar(verbose=0)


# ------------------------------------------------------------------ metrics


def test_custom_metric_returns_the_batch_mean_and_fit_weights_by_batch_size():
    x, y = _data(n=100)  # batches of 32, 32, 32, 4

    def acc_mean(out, t):
        return (out.argmax(1) == t).mean()

    seen = []

    def batch_size_seen(out, t):
        seen.append(len(t))
        return float(len(t))  # the epoch value: Σ size·size / Σ size

    m = _model(dropout=0.0)
    h = m.fit(x, y, epochs=2, batch_size=32, metrics=["accuracy", acc_mean, batch_size_seen])
    np.testing.assert_allclose(h["acc_mean"], h["accuracy"], rtol=1e-12)
    assert 0.3 < h["accuracy"][-1] <= 1.0
    assert h["batch_size_seen"] == [pytest.approx((3 * 32 * 32 + 4 * 4) / 100)] * 2
    assert seen == [32, 32, 32, 4] * 2
    # evaluate: the same weighting, and the built-in accuracy is the plain fraction
    ev = m.evaluate(x, y, batch_size=32, metrics=["accuracy", acc_mean])
    expected = np.mean(m.predict(x).argmax(1) == y)
    assert ev["accuracy"] == pytest.approx(expected, rel=1e-12)
    assert ev["acc_mean"] == pytest.approx(expected, rel=1e-12)


def test_metric_returning_a_non_number_raises():
    x, y = _data()
    with pytest.raises(TypeError, match="metric 'bad'"):
        def bad(out, t):
            return "x"
        _model().fit(x, y, metrics=[bad])
    with pytest.raises(TypeError, match="metrics must be a list"):
        _model().fit(x, y, metrics="accuracy")


# ------------------------------------------------------------------ targets


@pytest.mark.parametrize("model_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("target_dtype", [np.float32, np.float64, np.int64])
def test_one_hot_targets_train_and_accuracy_uses_their_argmax(model_dtype, target_dtype):
    x, y = _data(dtype=model_dtype)
    onehot = np.eye(3, dtype=target_dtype)[y]
    m = _model(dtype=model_dtype)
    h = m.fit(x, onehot, epochs=8, lr=0.01, validation_split=0.2)
    assert h["accuracy"][-1] > 0.8 and h["val_accuracy"][-1] > 0.8
    a = m.evaluate(x, onehot)
    b = m.evaluate(x, y)
    assert a["accuracy"] == b["accuracy"]
    tol = 1e-5 if model_dtype == np.float32 else 1e-12
    assert a["loss"] == pytest.approx(b["loss"], rel=tol)


def test_integer_labels_as_a_column_are_accepted():
    x, y = _data()
    m = _model(dropout=0.0)
    m.fit(x, y, epochs=2)
    a, b = m.evaluate(x, y[:, None]), m.evaluate(x, y)
    assert a == b and a["accuracy"] > 0.5
    h1 = _model(dropout=0.0).fit(x, y[:, None], epochs=2)
    h2 = _model(dropout=0.0).fit(x, y, epochs=2)
    assert h1.history == h2.history


def test_float_class_labels_raise_naming_the_dtype_before_training():
    x, y = _data()
    m = _model()
    before = m.state_dict()
    with pytest.raises(TypeError, match=r"y holds class labels of dtype float64.*astype"):
        m.fit(x, y.astype(np.float64))
    with pytest.raises(TypeError, match=r"validation_data\[1\].*float32"):
        m.fit(x, y, validation_data=(x, y.astype(np.float32)))
    with pytest.raises(TypeError, match="dtype bool"):
        m.fit(x, y == 1)
    with pytest.raises(TypeError, match="float64"):
        m.evaluate(x, y.astype(np.float64))
    _assert_same_state(m.state_dict(), before)


# ------------------------------------------------------------------ ReduceLROnPlateau


class _Opt:
    def __init__(self, lrs):
        self.param_groups = [{"lr": lr} for lr in lrs]


def _feed(cb, values, lrs=(1.0,)):
    opt = _Opt(lrs)
    cb.trainer = TrainerState(opt, 1)
    cb.on_train_begin({})
    out = []
    for epoch, v in enumerate(values):
        cb.on_epoch_end(epoch, {"val_loss": v})
        out.append([g["lr"] for g in opt.param_groups])
    return out


def test_reduce_lr_on_plateau_keras_semantics():
    # min_delta is absolute: 999.95 improves on 1000 by more than 1e-4 (a relative
    # threshold of 1e-4, torch's default, would need < 999.9)
    assert _feed(ReduceLROnPlateau(patience=0, factor=0.5), [1000.0, 999.95]) == [[1.0], [1.0]]
    # patience=2: reduce after 2 epochs in a row without improvement (wait >= patience)
    lrs = _feed(ReduceLROnPlateau(patience=2, factor=0.5, min_delta=0.0),
                [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5])
    assert [r[0] for r in lrs] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    # cooldown=2 (Keras' counting): the epoch after a reduction is skipped, the
    # next counts again; min_lr floors every group
    lrs = _feed(ReduceLROnPlateau(patience=1, factor=0.1, cooldown=2, min_lr=0.05),
                [1.0] * 7, lrs=(1.0, 0.2))
    assert lrs == [[1.0, 0.2], [0.1, 0.05], [0.1, 0.05], [0.05, 0.05], [0.05, 0.05],
                   [0.05, 0.05], [0.05, 0.05]]
    cb = ReduceLROnPlateau("val_accuracy")
    assert cb.mode == "max"


@pytest.mark.parametrize("kwargs", [dict(factor=1.0), dict(factor=0.0), dict(factor=math.nan),
                                    dict(patience=-1), dict(min_delta=-1e-3),
                                    dict(min_delta=math.inf), dict(cooldown=1.5),
                                    dict(min_lr=-1.0), dict(mode="up")])
def test_reduce_lr_on_plateau_validates(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ReduceLROnPlateau(**kwargs)


def test_reduce_lr_on_plateau_without_validation_raises_before_training():
    x, y = _data()
    with pytest.raises(ValueError, match="val_loss.*no validation data"):
        _model().fit(x, y, callbacks=[ReduceLROnPlateau()])


def test_early_stopping_validates():
    for kwargs in (dict(patience=-1), dict(min_delta=math.nan), dict(baseline=math.inf),
                   dict(mode="best")):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            EarlyStopping(**kwargs)


# ------------------------------------------------------------------ checkpoints


def test_save_and_load_are_symmetric(tmp_path):
    m = _model()
    path = m.save(tmp_path / "ckpt")
    assert path == str(tmp_path / "ckpt.npz") and os.path.exists(path)
    for name in ("ckpt", "ckpt.npz"):
        other = _model(seed=5).load(tmp_path / name)
        _assert_same_state(other.state_dict(), m.state_dict())
    assert m.save(str(tmp_path / "w.npz")) == str(tmp_path / "w.npz")
    with pytest.raises(FileNotFoundError):
        m.load(tmp_path / "missing")


def test_model_checkpoint_saved_lists_existing_files(tmp_path):
    x, y = _data()
    m = _model()
    ck = ModelCheckpoint(tmp_path / "m-{epoch:02d}-{loss:.2f}")
    m.fit(x, y, epochs=2, callbacks=[ck])
    assert len(ck.saved) == 2 and all(os.path.exists(p) and p.endswith(".npz")
                                      for p in ck.saved)
    assert os.path.basename(ck.saved[0]).startswith("m-01-")
    _assert_same_state(_model(seed=3).load(ck.saved[-1]).state_dict(), m.state_dict())
    same = ModelCheckpoint(tmp_path / "last")
    m.fit(x, y, epochs=3, callbacks=[same])
    assert same.saved == [str(tmp_path / "last.npz")]


def test_model_checkpoint_val_placeholder_without_validation_raises_before_training(tmp_path):
    x, y = _data()
    m = _model()
    before = m.state_dict()
    ck = ModelCheckpoint(tmp_path / "m-{epoch}-{val_loss:.3f}.npz")
    with pytest.raises(ValueError, match=r"\{val_loss\}.*no validation data"):
        m.fit(x, y, epochs=2, callbacks=[ck])
    _assert_same_state(m.state_dict(), before)
    assert ck.saved == [] and os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="val_accuracy"):
        m.fit(x, y, callbacks=[ModelCheckpoint(tmp_path / "b", monitor="val_accuracy",
                                               save_best_only=True)])
    with pytest.raises(ValueError, match="format string"):
        ModelCheckpoint(tmp_path / "m-{epoch")
    # with validation data the placeholder is filled in
    ck = ModelCheckpoint(tmp_path / "m-{epoch}-{val_loss:.3f}.npz")
    m.fit(x, y, epochs=1, validation_split=0.2, callbacks=[ck])
    assert len(ck.saved) == 1 and os.path.exists(ck.saved[0])


@pytest.mark.parametrize("opt_name", ["adam", "sgd"])
def test_checkpoint_with_optimizer_resumes_bitwise(tmp_path, opt_name):
    x, y = _data(n=120)

    def make():
        m = _model(seed=11)
        if opt_name == "adam":
            return m, optim.Adam(m.parameters(), lr=0.01)
        return m, optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True)

    kw = dict(batch_size=16, seed=4, validation_split=0.25)
    straight, opt = make()
    h4 = straight.fit(x, y, epochs=4, optimizer=opt, **kw)

    first, opt = make()
    ck = ModelCheckpoint(tmp_path / "ckpt-{epoch}", save_optimizer=True)
    first.fit(x, y, epochs=2, optimizer=opt, callbacks=[ck], **kw)
    assert [os.path.basename(p) for p in ck.saved] == ["ckpt-1.npz", "ckpt-2.npz"]

    resumed, opt2 = make()
    load_checkpoint(tmp_path / "ckpt-2", resumed, opt2)
    h = resumed.fit(x, y, epochs=4, initial_epoch=2, optimizer=opt2, **kw)
    assert h.epoch == [2, 3]
    assert h["loss"] == h4["loss"][2:] and h["val_loss"] == h4["val_loss"][2:]
    _assert_same_state(resumed.state_dict(), straight.state_dict())
    # the checkpoint also loads as plain weights
    _assert_same_state(_model(seed=1).load(ck.saved[-1]).state_dict(), first.state_dict())


def test_checkpoint_resume_with_augmentation_is_bitwise(tmp_path):
    # a freshly built Compose restarted its stream at step 0 on resume, so
    # the resumed run augmented with the draws of epoch 0 again
    from fastnn.augment import Compose, ElementDropout, GaussianNoise

    x, y = _data(n=96)

    def make():
        m = _model(seed=5)
        aug = Compose([GaussianNoise(0.3), ElementDropout(0.1)], seed=7, step=3)
        return m, optim.Adam(m.parameters(), lr=0.01), aug

    kw = dict(batch_size=16, seed=2)
    straight, opt, aug = make()
    h4 = straight.fit(x, y, epochs=4, optimizer=opt, transform=aug, **kw)
    assert aug.step == 3  # fit leaves the pipeline's first step as given

    first, opt, aug = make()
    first.fit(x, y, epochs=2, optimizer=opt, transform=aug, **kw)
    save_checkpoint(tmp_path / "ck", first, opt)
    resumed, opt2, aug2 = make()
    load_checkpoint(tmp_path / "ck", resumed, opt2)
    h = resumed.fit(x, y, epochs=4, initial_epoch=2, optimizer=opt2, transform=aug2, **kw)
    assert h["loss"] == h4["loss"][2:]
    _assert_same_state(resumed.state_dict(), straight.state_dict())
    # the same pipeline object continues as well (fit in two calls)
    first.fit(x, y, epochs=4, initial_epoch=2, optimizer=opt, transform=aug, **kw)
    _assert_same_state(first.state_dict(), straight.state_dict())


def test_load_checkpoint_errors(tmp_path):
    m = _model()
    path = save_checkpoint(tmp_path / "w", m)
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(path, m, optim.Adam(m.parameters()))
    save_checkpoint(tmp_path / "w2", m, optim.SGD(m.parameters(), lr=0.1))
    with pytest.raises(TypeError, match="SGD"):
        load_checkpoint(tmp_path / "w2", m, optim.Adam(m.parameters()))


def test_initial_epoch_validated():
    x, y = _data()
    for bad in (-1, 3, 1.0):
        with pytest.raises(ValueError, match="initial_epoch"):
            _model().fit(x, y, epochs=2, initial_epoch=bad)


def test_module_fit_needs_a_registered_training_loop(monkeypatch):
    from fastnn.nn import module

    monkeypatch.setattr(module, "_training_api", {})
    x, y = _data()
    with pytest.raises(RuntimeError, match="fastnn.training"):
        _model().fit(x, y)
    calls = []
    module.register_training(fit=lambda m, x, y, **kw: calls.append(kw) or "h",
                             evaluate=training.evaluate, predict=training.predict)
    assert _model().fit(x, y, epochs=3) == "h" and calls == [{"epochs": 3}]
    with pytest.raises(TypeError, match="fit must be callable"):
        module.register_training(fit=None, evaluate=training.evaluate,
                                 predict=training.predict)


def test_model_checkpoint_best_only_keeps_its_best_across_fit_calls(tmp_path):
    # continuing training with the same callback must not overwrite the best
    # file with a worse model (Keras keeps ModelCheckpoint.best across fits)
    x, y = _data()
    m = _model()
    ck = ModelCheckpoint(tmp_path / "best", monitor="loss", save_best_only=True)
    opt = optim.SGD(m.parameters(), lr=0.05)
    h = m.fit(x, y, epochs=3, optimizer=opt, callbacks=[ck])
    best, saved = ck.best, m.state_dict()
    assert best == min(h["loss"])
    opt.param_groups[0]["lr"] = 1e4  # the next epoch is far worse
    h2 = m.fit(x, y, epochs=1, optimizer=opt, callbacks=[ck])
    assert h2["loss"][0] > best and ck.best == best
    if h["loss"].index(best) == 2:
        _assert_same_state(_model(seed=3).load(tmp_path / "best").state_dict(), saved)
