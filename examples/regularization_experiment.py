"""Lecture experiment 3: regularization closes the train/validation gap.

An over-sized MLP trains on a small part of the digits training set
(300 images), so it can memorize it. We compare the final train and
held-out accuracies (and losses) without regularization, with dropout, with
L2 weight penalties and with early stopping on the validation loss.
Expected: the plain network reaches ~100% train accuracy with the largest
gap; dropout and L2 shrink the gap; early stopping stops near the best
validation loss and restores those weights.

Run: ``python examples/regularization_experiment.py [--epochs 40]``.
"""
import argparse
import os

from fastnn.functional.regularizers import L2
from fastnn.callbacks import EarlyStopping

try:
    from examples._common import add_out_argument, digits, mlp, plot, table
except ImportError:
    from _common import add_out_argument, digits, mlp, plot, table


def run(epochs=40, n_train=300, width=256, batch_size=32):
    x_tr, y_tr, x_te, y_te = digits(n_train=n_train)
    sizes = [64, width, width, 10]
    setups = {
        "none": (dict(), []),
        "dropout 0.5": (dict(dropout=0.5), []),
        "L2 1e-2": (dict(kernel_regularizer=L2(1e-2)), []),
        "early stopping": (dict(), [EarlyStopping("val_loss", patience=5,
                                                  restore_best_weights=True)]),
    }
    rows, curves = [], {}
    for name, (kw, callbacks) in setups.items():
        model = mlp(sizes, "relu", seed=2, **kw)
        h = model.fit(x_tr, y_tr, optimizer="adam", lr=1e-3, epochs=epochs,
                      batch_size=batch_size, validation_data=(x_te, y_te), seed=0,
                      callbacks=callbacks)
        tr = model.evaluate(x_tr, y_tr)
        te = model.evaluate(x_te, y_te)
        rows.append([name, len(h.epoch), tr["accuracy"], te["accuracy"],
                     tr["accuracy"] - te["accuracy"], tr["loss"], te["loss"]])
        curves[name] = h["val_loss"]
    return rows, curves


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=40)
    add_out_argument(p)
    args = p.parse_args(argv)
    rows, curves = run(args.epochs)
    print("Digits, 300 training images, MLP 64-256-256-10 (ReLU), Adam")
    print(table(["regularization", "epochs", "train acc", "val acc", "gap", "train loss",
                 "val loss"], rows))
    path = plot(os.path.join(args.out, "regularization.png"), curves, xlabel="epoch",
                ylabel="validation loss",
                title="Regularization on a small digits training set")
    if path:
        print("saved", path)


if __name__ == "__main__":
    main()
