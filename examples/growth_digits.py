"""Growing a network that starts too small, on the digits data (8x8 images).

A 64-2-10 ReLU network cannot separate ten classes. The GrowOnPlateau
callback adds 4 hidden neurons each time the validation loss (on a fifth of
the training samples) has not improved by 0.01 for 2 epochs, up to 32,
keeping what was learned (the new
neurons' outgoing weights start at zero, Adam's moments of the old weights
are kept). The three strategies for the new neurons' incoming weights are
compared ("random", "subsample": directions of random training inputs,
"worst_fit": directions of the worst-fitted inputs), with networks built at
the first and the final width as references. Accuracy is measured on
held-out samples used neither for training nor for the growth decisions.

Run: python examples/growth_digits.py   (needs scikit-learn for the data)
"""
import time

import numpy as np

from fastnn import nn, optim
from fastnn.growth import GrowOnPlateau, grow_dense

try:
    from examples._common import digits, table
except ImportError:  # run as a script from examples/
    from _common import digits, table

EPOCHS = 80


def build(width, seed=0):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, width, activation="relu"), nn.Linear(width, 10))


def run(init, x_tr, y_tr, x_te, y_te, width=2):
    model = build(width)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    callbacks = []
    if init is not None:
        callbacks.append(GrowOnPlateau(0, n_new=4, max_size=32, patience=2, min_delta=0.01,
                                       init=init, seed=1))
    t0 = time.perf_counter()
    hist = model.fit(x_tr, y_tr, optimizer=opt, epochs=EPOCHS, batch_size=64,
                     validation_split=0.2, callbacks=callbacks, seed=0)
    seconds = time.perf_counter() - t0
    growths = callbacks[0].growths if callbacks else []
    return dict(hist=hist, growths=growths, width=model[0].out_features,
                acc=model.evaluate(x_te, y_te)["accuracy"], seconds=seconds)


if __name__ == "__main__":
    x_tr, y_tr, x_te, y_te = digits()
    results = {init: run(init, x_tr, y_tr, x_te, y_te) for init in ("random", "subsample",
                                                                   "worst_fit")}
    results["fixed 2"] = run(None, x_tr, y_tr, x_te, y_te, width=2)
    results["fixed 32"] = run(None, x_tr, y_tr, x_te, y_te, width=32)

    n_val = int(0.2 * len(x_tr))
    print(f"digits: {len(x_tr) - n_val} training, {n_val} validation, {len(x_te)} test "
          f"samples; 64-2-10 ReLU grown by 4 neurons on a 2-epoch plateau of val_loss, up "
          f"to 32; Adam lr 1e-2, {EPOCHS} epochs")
    rows = []
    for name, r in results.items():
        h = r["hist"]
        rows.append((name, r["width"], len(r["growths"]), float(min(h["val_loss"])),
                     float(h["val_loss"][-1]), 100 * r["acc"], r["seconds"]))
    print(table(["start", "final width", "growths", "best val loss", "final val loss",
                 "test acc %", "seconds"], rows))
    print()
    for name in ("random", "subsample", "worst_fit"):
        r = results[name]
        h = r["hist"]
        print(f"{name}: grown after epochs {[e + 1 for e, _, _ in r['growths']]}")
        for e, a, b in r["growths"]:
            nxt = f"{h['val_loss'][e + 1]:.3f}" if e + 1 < len(h["val_loss"]) else "-"
            print(f"  epoch {e + 1:>2}: {a:>2} -> {b:>2} neurons, val loss {h['val_loss'][e]:.3f}"
                  f" at the growth, {nxt} one epoch later")

    # one growth by hand: the loss does not move at the moment of growth
    model = build(8)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    model.fit(x_tr, y_tr, optimizer=opt, epochs=5, batch_size=64, seed=0)
    before = model.evaluate(x_te, y_te)
    grow_dense(model, 0, 8, init="worst_fit", optimizer=opt, x=x_tr, y=y_tr, seed=2)
    after = model.evaluate(x_te, y_te)
    print()
    print(f"grow_dense 8 -> 16 by hand: test loss {before['loss']:.9f} before, "
          f"{after['loss']:.9f} after (accuracy {100 * before['accuracy']:.2f}% both: "
          f"{before['accuracy'] == after['accuracy']})")
