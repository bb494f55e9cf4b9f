"""Lecture experiment 2: BatchNorm speeds up training.

The same MLP with and without BatchNorm trains on scikit-learn's digits
(1,797 8x8 images, bundled, no download) with plain SGD; we count the epochs
until the held-out accuracy first reaches a target. Expected: with
BatchNorm the target is reached in fewer epochs (and at rates where the
plain network trains slowly or not at all).

Run: ``python examples/batchnorm_experiment.py [--epochs 30] [--target 0.95]``.
"""
import argparse
import os

try:
    from examples._common import add_out_argument, digits, mlp, plot, table
except ImportError:
    from _common import add_out_argument, digits, mlp, plot, table


def run(epochs=30, target=0.95, depth=4, width=128, lrs=(0.01, 0.1), batch_size=64):
    """Returns ``{(label, lr): history}`` and a table row per run."""
    x_tr, y_tr, x_te, y_te = digits()
    results, rows = {}, []
    for lr in lrs:
        for bn in (False, True):
            model = mlp([64] + [width] * depth + [10], "tanh", batchnorm=bn, seed=1)
            h = model.fit(x_tr, y_tr, optimizer="sgd", lr=lr, epochs=epochs,
                          batch_size=batch_size, validation_data=(x_te, y_te), seed=0)
            acc = h["val_accuracy"]
            reached = next((i + 1 for i, a in enumerate(acc) if a >= target), None)
            label = "BatchNorm" if bn else "plain"
            results[(label, lr)] = h
            rows.append([label, lr, reached if reached else f">{epochs}", max(acc), acc[-1]])
    return results, rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--target", type=float, default=0.95)
    add_out_argument(p)
    args = p.parse_args(argv)
    results, rows = run(args.epochs, args.target)
    print(f"Digits, MLP 64-4x128-10 (tanh), SGD, batch 64: epochs to reach "
          f"{args.target:.0%} held-out accuracy")
    print(table(["model", "lr", "epochs to target", "best acc", "final acc"], rows))
    path = plot(os.path.join(args.out, "batchnorm.png"),
                {f"{k[0]} lr={k[1]}": h["val_accuracy"] for k, h in results.items()},
                xlabel="epoch", ylabel="held-out accuracy", title="BatchNorm on digits")
    if path:
        print("saved", path)


if __name__ == "__main__":
    main()
