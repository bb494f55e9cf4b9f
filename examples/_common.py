"""Shared helpers of the lecture experiments: the digits data, MLPs, tables, plots."""
import os

import numpy as np

from fastnn import nn


def digits(test_size=0.25, seed=0, n_train=None):
    """scikit-learn's bundled digits (1,797 8x8 images, no download), scaled to
    [0, 1] as float32, split into train and held-out test sets (stratified)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, random_state=seed,
                                              stratify=y)
    if n_train is not None:
        x_tr, y_tr = x_tr[:n_train], y_tr[:n_train]
    return x_tr, y_tr, x_te, y_te


def mlp(sizes, activation="relu", *, batchnorm=False, dropout=0.0, kernel_initializer=None,
        kernel_regularizer=None, seed=0):
    """A Sequential MLP over ``sizes`` (input, hidden..., output)."""
    nn.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        fuse = not last and not batchnorm
        layers.append(nn.Linear(a, b, activation=activation if fuse else "identity",
                                kernel_initializer=kernel_initializer,
                                bias_initializer="zeros" if kernel_initializer else None,
                                kernel_regularizer=kernel_regularizer))
        if not last:
            if batchnorm:
                layers.append(nn.BatchNorm1d(b))
                layers.append(nn.Activation(activation))
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def table(header, rows):
    """Format rows as an aligned text table."""
    cells = [[str(h) for h in header]] + [[f"{c:.4g}" if isinstance(c, float) else str(c)
                                           for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


#: Where the scripts save their plots unless given --out: examples/out/
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def add_out_argument(parser):
    """The ``--out DIR`` option of every script that plots."""
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="folder for the plots (created if needed; default examples/out)")


def plot(path, series, *, xlabel, ylabel, title, logy=False):
    """Save a line plot of ``{label: values}`` to ``path`` (its folder is
    created) when matplotlib is installed; without it print how to get the
    plot. Returns the path, or None when nothing was saved."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed: {os.path.basename(path)} not saved "
              f"(pip install matplotlib to get the plots)")
        return None
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, values in series.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
