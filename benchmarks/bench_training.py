"""Training throughput of one epoch (samples/s): tinynet's ``fit`` against PyTorch on the CPU.

    python benchmarks/bench_training.py [--rows N] [--repeats R]

Same architecture, batch size, optimizer (Adam, lr 1e-3), data and dtype on both sides; each
framework shuffles every epoch. tinynet's epoch is a full ``net.fit(..., epochs=1)`` (argument
checks, shuffling, the epoch's training accuracy and the History included); PyTorch's is the
usual ``zero_grad / loss / backward / step`` loop. The best of ``--repeats`` epochs is reported
for each, the runs interleaved. PyTorch is optional: without it only tinynet is timed.
"""

import argparse
import time

import numpy as np

import tinynet as tn
from tinynet.optim import Adam

CASES = [  # name, layer widths, batch size, dtype, target ratio tinynet / torch
    ("784-256-128-10", [784, 256, 128, 10], 128, np.float32, 1.2),
    ("784-256-128-10", [784, 256, 128, 10], 128, np.float64, 1.0),
    ("2-64-64-2", [2, 64, 64, 2], 64, np.float32, 4.0),
    ("2-64-64-2", [2, 64, 64, 2], 64, np.float64, 1.0),
]


def tinynet_epoch(widths, batch, dtype, X, y):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(tn.Dense(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(tn.ReLU())
    net = tn.Network(layers, loss=tn.SoftmaxCrossEntropy(), seed=0, dtype=dtype)
    optimizer = Adam(lr=1e-3)
    net.fit(X[:batch * 4], y[:batch * 4], epochs=1, batch_size=batch, optimizer=optimizer,
            progress=False)  # warm-up

    def epoch():
        start = time.perf_counter()
        net.fit(X, y, epochs=1, batch_size=batch, optimizer=optimizer, progress=False)
        return time.perf_counter() - start
    return epoch


def torch_epoch(torch, widths, batch, dtype, X, y):
    torch.manual_seed(0)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    modules = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        modules.append(torch.nn.Linear(n_in, n_out, dtype=tdtype))
        if i < len(widths) - 2:
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    m = len(X)

    def epoch():
        start = time.perf_counter()
        order = torch.randperm(m)
        Xs, ys = Xt[order], yt[order]
        for i in range(0, m, batch):
            optimizer.zero_grad()
            loss = loss_fn(model(Xs[i:i + batch]), ys[i:i + batch])
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start
    epoch()  # warm-up
    return epoch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="examples per epoch")
    parser.add_argument("--repeats", type=int, default=5, help="epochs timed per framework")
    args = parser.parse_args()
    try:
        import torch
        print(f"torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()} "
              "(default)")
    except ImportError:
        torch = None
        print("PyTorch is not installed (pip install tinynet[torch]): timing tinynet only")
    print(f"numpy {np.__version__}; {args.rows} rows per epoch, best of {args.repeats}\n")
    print(f"{'network':<16} {'batch':>5} {'dtype':>7} {'tinynet/s':>11} {'torch/s':>11} "
          f"{'ratio':>6} {'target':>6}")
    rng = np.random.default_rng(0)
    for name, widths, batch, dtype, target in CASES:
        X = rng.normal(size=(args.rows, widths[0])).astype(dtype)
        y = rng.integers(0, widths[-1], size=args.rows)
        runs = [tinynet_epoch(widths, batch, dtype, X, y)]
        if torch is not None:
            runs.append(torch_epoch(torch, widths, batch, dtype, X, y))
        best = [np.inf] * len(runs)
        for _ in range(args.repeats):  # interleaved, so that both see the same machine load
            for k, run in enumerate(runs):
                best[k] = min(best[k], run())
        rates = [args.rows / t for t in best]
        torch_rate = f"{rates[1]:>11,.0f}" if torch is not None else f"{'-':>11}"
        ratio = f"{rates[0] / rates[1]:>5.2f}x" if torch is not None else f"{'-':>6}"
        print(f"{name:<16} {batch:>5} {np.dtype(dtype).name:>7} {rates[0]:>11,.0f} "
              f"{torch_rate} {ratio} {target:>5.1f}x")


if __name__ == "__main__":
    main()
