"""The step-time model of docs/distributed.md: table and plot of data-parallel
scaling efficiency for N = 2..256 nodes at 10, 25 and 100 Gb/s.

    python tools/plot_scaling.py [--mlp-compute S] [--big-compute S]
                                 [--out docs/distributed_scaling.png]

Model of one synchronous step on N nodes, each with the same per-node batch
(weak scaling: the global batch grows with N):

    T(N) = T_compute + T_allreduce(N)
    T_allreduce(N) = 2 (N - 1) / N * bytes / bandwidth  +  2 (N - 1) * latency

the bandwidth and latency terms of a ring all-reduce (a reduce-scatter then an
all-gather, each N - 1 steps moving bytes / N). Efficiency E(N) = T_compute /
T(N): the fraction of ideal N-fold throughput. Without overlap of
communication and computation, which is what fastnn does (docs/distributed.md
explains why).

The defaults are measured on the 2-core development machine (see
docs/distributed.md): one step of the 784-256-256-10 MLP at batch 128 per
node, float32, and the 25M-parameter model's step estimated from the same
machine's measured dense throughput. Pass your own with the options.
matplotlib is optional: without it only the table is printed.
"""
import argparse

NODES = [2, 4, 8, 16, 32, 64, 128, 256]
LINKS_GBPS = [10, 25, 100]


def allreduce_seconds(n_nodes, n_bytes, gbps, latency=5e-6):
    """Ring all-reduce time of ``n_bytes`` over ``n_nodes`` at ``gbps`` Gb/s."""
    if n_nodes == 1:
        return 0.0
    bandwidth = gbps * 1e9 / 8.0
    return 2.0 * (n_nodes - 1) / n_nodes * n_bytes / bandwidth + 2.0 * (n_nodes - 1) * latency


def efficiency(n_nodes, compute_s, n_bytes, gbps, latency=5e-6):
    """T_compute / (T_compute + T_allreduce)."""
    return compute_s / (compute_s + allreduce_seconds(n_nodes, n_bytes, gbps, latency))


def models(mlp_compute, big_compute):
    mlp_params = 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    return [("MLP 784-256-256-10", mlp_params * 4, mlp_compute),
            ("25M-parameter model", 25_000_000 * 4, big_compute)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mlp-compute", type=float, default=7.8e-3,
                    help="seconds of one MLP step at batch 128 per node (measured here)")
    ap.add_argument("--big-compute", type=float, default=0.60,
                    help="seconds of one 25M-parameter step at batch 128 per node "
                         "(6 * 25e6 * 128 flop at the dense throughput measured here)")
    ap.add_argument("--latency", type=float, default=5e-6, help="per-message latency, s")
    ap.add_argument("--out", default=None, help="PNG to write (needs matplotlib)")
    args = ap.parse_args(argv)
    rows = []
    for name, n_bytes, compute in models(args.mlp_compute, args.big_compute):
        for gbps in LINKS_GBPS:
            effs = [efficiency(n, compute, n_bytes, gbps, args.latency) for n in NODES]
            rows.append((name, gbps, effs))
    header = f"{'model':<22} {'Gb/s':>5} " + " ".join(f"{'N=' + str(n):>6}" for n in NODES)
    print(header)
    for name, gbps, effs in rows:
        print(f"{name:<22} {gbps:>5} " + " ".join(f"{e:6.2f}" for e in effs))
    if args.out:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no plot (pip install matplotlib)")
            return rows
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for ax, (name, _, _) in zip(axes, models(args.mlp_compute, args.big_compute)):
            for rname, gbps, effs in rows:
                if rname == name:
                    ax.plot(NODES, effs, marker="o", label=f"{gbps} Gb/s")
            ax.set_xscale("log", base=2)
            ax.set_xlabel("nodes N")
            ax.set_title(name)
            ax.set_ylim(0, 1.05)
            ax.grid(True, alpha=0.3)
        axes[0].set_ylabel("scaling efficiency T_compute / T_step")
        axes[0].legend()
        fig.tight_layout()
        fig.savefig(args.out, dpi=100)
        print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
