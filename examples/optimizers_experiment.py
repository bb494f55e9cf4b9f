"""Lecture experiment 4: optimizers on the same problem.

One MLP (same initial weights for every run) trains on the digits with SGD,
SGD with momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW, NAdam, RAdam and
Lion, each at a customary learning rate; we print the training loss per
epoch and the final held-out accuracy. Expected: the adaptive and momentum
methods drop the loss much faster than plain SGD at the same budget.

Run: ``python examples/optimizers_experiment.py [--epochs 15]``.
"""
import argparse
import os

from fastnn import optim

try:
    from examples._common import add_out_argument, digits, mlp, plot, table
except ImportError:
    from _common import add_out_argument, digits, mlp, plot, table

OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.05),
    "momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.05),
    "RMSprop": lambda p: optim.RMSprop(p, lr=1e-3),
    "Adam": lambda p: optim.Adam(p, lr=1e-3),
    "AdamW": lambda p: optim.AdamW(p, lr=1e-3),
    "NAdam": lambda p: optim.NAdam(p, lr=2e-3),
    "RAdam": lambda p: optim.RAdam(p, lr=1e-3),
    "Lion": lambda p: optim.Lion(p, lr=1e-4),
}


def run(epochs=15, width=128, batch_size=64, names=None):
    x_tr, y_tr, x_te, y_te = digits()
    curves, rows = {}, []
    for name in names or OPTIMIZERS:
        model = mlp([64, width, width, 10], "relu", seed=3)
        opt = OPTIMIZERS[name](model.parameters())
        h = model.fit(x_tr, y_tr, optimizer=opt, epochs=epochs, batch_size=batch_size,
                      seed=0)
        curves[name] = h["loss"]
        rows.append([name] + [h["loss"][k] for k in _shown(epochs)]
                    + [model.evaluate(x_te, y_te)["accuracy"]])
    return curves, rows


def _shown(epochs):
    return sorted(set([0, epochs // 4, epochs // 2, epochs - 1]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=15)
    add_out_argument(p)
    args = p.parse_args(argv)
    curves, rows = run(args.epochs)
    print("Digits, MLP 64-128-128-10 (ReLU), batch 64: training loss after epoch")
    print(table(["optimizer"] + [f"ep {k + 1}" for k in _shown(args.epochs)] + ["test acc"],
                rows))
    path = plot(os.path.join(args.out, "optimizers.png"), curves, xlabel="epoch",
                ylabel="training loss",
                title="Optimizers on digits", logy=True)
    if path:
        print("saved", path)


if __name__ == "__main__":
    main()
