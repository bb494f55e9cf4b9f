"""Accuracy against sparsity on the digits data (8x8 images, 10 classes).

A 64-128-10 ReLU network is trained with fastnn.optim.Adam, then pruned
step by step (global magnitude pruning of both weight matrices), retrained
for a few epochs after each step through the pruner's masked optimizer, and
evaluated on held-out data. A second run uses the first-order criterion
|w·∂L/∂w|, and a third the prune-retrain schedule with undo.

Run: python examples/pruning_digits.py   (needs scikit-learn for the data)
"""
import numpy as np
from sklearn.datasets import load_digits

import fastnn
from fastnn import optim
from fastnn.pruning import Pruner, iterative_prune

X, Y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float64)
rng = np.random.default_rng(0)
order = rng.permutation(len(X))
train, test = order[:1400], order[1400:]


def make_net(seed):
    r = np.random.default_rng(seed)
    return [fastnn.Parameter(r.standard_normal((128, 64)) * np.sqrt(2 / 64), name="fc1.weight"),
            fastnn.Parameter(np.zeros(128), name="fc1.bias"),
            fastnn.Parameter(r.standard_normal((10, 128)) * np.sqrt(1 / 128), name="fc2.weight"),
            fastnn.Parameter(np.zeros(10), name="fc2.bias")]


def forward(net, x):
    w1, b1, w2, b2 = (p.data for p in net)
    h = np.maximum(x @ w1.T + b1, 0)
    return h, h @ w2.T + b2


def loss_and_grads(net, x, y):
    h, z = forward(net, x)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(len(y)), y]))
    dz = p
    dz[np.arange(len(y)), y] -= 1
    dz /= len(y)
    w1, b1, w2, b2 = net
    w2.grad, b2.grad = dz.T @ h, dz.sum(axis=0)
    dh = (dz @ w2.data) * (h > 0)
    w1.grad, b1.grad = dh.T @ x, dh.sum(axis=0)
    return loss


def train_epochs(net, opt, epochs, seed):
    r = np.random.default_rng(seed)
    for _ in range(epochs):
        idx = r.permutation(train)
        for s in range(0, len(idx), 64):
            b = idx[s:s + 64]
            loss_and_grads(net, X[b], Y[b])
            opt.step()


def accuracy(net):
    return float(np.mean(forward(net, X[test])[1].argmax(axis=1) == Y[test]))


def sweep(criterion):
    net = make_net(1)
    weights = [net[0], net[2]]
    pruner = Pruner(weights)
    opt = pruner.wrap(optim.Adam(net, lr=3e-3))
    train_epochs(net, opt, 30, seed=2)
    rows = [(0.0, accuracy(net))]
    for target in (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99):
        if criterion == "first_order":
            loss_and_grads(net, X[train], Y[train])  # gradients on the whole training set
        pruner.prune(target, criterion)
        train_epochs(net, opt, 3, seed=int(target * 100))
        rows.append((pruner.report()[-1]["sparsity"], accuracy(net)))
    return rows, pruner


if __name__ == "__main__":
    results = {c: sweep(c) for c in ("magnitude", "first_order")}
    print("test accuracy against sparsity (weights of both layers, global ranking)")
    print(f"{'sparsity':>9} {'magnitude':>10} {'first-order':>12}")
    for (s, a), (_, b) in zip(results["magnitude"][0], results["first_order"][0]):
        print(f"{100 * s:>8.1f}% {100 * a:>9.1f}% {100 * b:>11.1f}%")
    print()
    print(results["magnitude"][1].format_report())

    net = make_net(1)
    pruner = Pruner([net[0], net[2]])
    opt = pruner.wrap(optim.Adam(net, lr=3e-3))
    train_epochs(net, opt, 30, seed=2)
    history = iterative_prune(pruner, [0.5, 0.8, 0.9, 0.95, 0.98, 0.995],
                              lambda: train_epochs(net, opt, 3, seed=5), lambda: accuracy(net),
                              max_drop=0.02)
    print()
    print("prune-retrain schedule, undo when accuracy drops by more than 2 points")
    for h in history:
        note = "  -> undone" if h["undone"] else ""
        print(f"target {100 * h['target']:5.1f}%  accuracy {100 * h['quality']:5.1f}%{note}")
    print(f"kept: sparsity {100 * pruner.report()[-1]['sparsity']:.1f}%, "
          f"accuracy {100 * accuracy(net):.1f}%")
