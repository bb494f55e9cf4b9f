"""Lecture experiment 1: weight initialization in a deep MLP.

A 20- to 50-layer MLP (tanh and ReLU) is fed the digits images; we print the
standard deviation of each layer's activations under four initializations:
zeros, small random N(0, 0.01²), Xavier (Glorot) and He (Kaiming). Expected:
zeros never break symmetry (every unit of a layer computes the same value,
so activations have zero spread across units, and stay so under training);
small random weights make the signal vanish; Xavier keeps tanh's signal; He
keeps ReLU's variance where Xavier lets it shrink by about √2 per layer.

Run: ``python examples/init_experiment.py [--depth 30] [--width 256]``.
"""
import argparse
import os

import numpy as np

from fastnn import init

try:
    from examples._common import add_out_argument, digits, mlp, plot, table
except ImportError:  # run as a script from examples/
    from _common import add_out_argument, digits, mlp, plot, table

SCHEMES = {
    "zeros": "zeros",
    "small random": lambda t, *, seed, offset: init.normal_(t, 0.0, 0.01, seed=seed,
                                                            offset=offset),
    "xavier": "xavier_normal",
    "he": "kaiming_normal",
}


def run(depth=30, width=256, n_samples=512, report_every=5):
    """Per-layer activation std for each activation and scheme.

    Returns
    -------
    dict
        ``{(activation, scheme): [std of layer 1, ..., std of layer depth]}``
    """
    x, _, _, _ = digits()
    x = x[:n_samples]
    x = (x - x.mean(0)) / (x.std(0) + 1e-3)  # unit-variance inputs
    x = x.astype(np.float32)
    out = {}
    for act in ("tanh", "relu"):
        for name, scheme in SCHEMES.items():
            model = mlp([64] + [width] * depth + [10], act, kernel_initializer=scheme)
            model.eval()
            stds, h = [], x
            for layer in list(model)[:-1]:  # the hidden layers
                h = layer.forward(h)
                stds.append(float(h.std()))
            out[(act, name)] = stds
    return out


def symmetry_broken(scheme, steps=3):
    """Whether the first hidden layer's units differ after a few training steps."""
    x, y, _, _ = digits()
    model = mlp([64, 32, 32, 10], "tanh", kernel_initializer=scheme)
    model.fit(x[:256], y[:256], epochs=steps, batch_size=64, optimizer="sgd", lr=0.5)
    w = model[0].weight.data
    return bool(np.ptp(w, axis=0).max() > 0)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=30)
    p.add_argument("--width", type=int, default=256)
    add_out_argument(p)
    args = p.parse_args(argv)
    res = run(args.depth, args.width)
    layers = sorted(set([1] + list(range(5, args.depth + 1, 5)) + [args.depth]))
    rows = [[act, name] + [res[(act, name)][k - 1] for k in layers]
            for (act, name) in res]
    print(f"Activation std per layer, {args.depth}-layer MLP of width {args.width} on digits")
    print(table(["act", "init"] + [f"L{k}" for k in layers], rows))
    print()
    print(table(["init", "units differ after training"],
                [[s, symmetry_broken(SCHEMES[s])] for s in SCHEMES]))
    for act in ("tanh", "relu"):
        path = plot(os.path.join(args.out, f"init_{act}.png"),
                    {n: res[(act, n)] for n in SCHEMES}, xlabel="layer",
                    ylabel="activation std", title=f"{act}: activation std per layer",
                    logy=True)
        if path:
            print("saved", path)


if __name__ == "__main__":
    main()
