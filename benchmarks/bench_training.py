"""Training throughput (samples/s): tinynet's ``fit`` against the matrix-product floor and PyTorch.

    python benchmarks/bench_training.py [--rows N] [--repeats R] [--epochs E]

For each network, in one run and interleaved (so that every side sees the same machine load):

- ``tinynet``: one epoch as a whole ``net.fit(X, y, epochs=1)`` (argument checks, shuffling, the
  epoch's training accuracy and the History included);
- ``floor``: an epoch of only the matrix products a step needs, in numpy with preallocated outputs
  (``X @ W.T`` per Dense layer, ``dZ.T @ X`` per layer, ``dZ @ W`` for every layer but the first):
  the limit the BLAS sets on this machine; ``share`` = tinynet / floor;
- ``bound``: the floor's products plus the least element-wise work the same step needs, written
  by hand in numpy with every buffer preallocated (bias, ReLU, softmax cross-entropy, bias sums
  and Adam's ten passes, each on one core as numpy runs them); ``reach`` = bound / floor is
  the most of the floor a numpy step with single-threaded element-wise work can reach here;
- ``torch``: PyTorch's usual ``zero_grad / loss / backward / step`` loop, shuffled every epoch;
- ``fit xE``: one ``net.fit(X, y, epochs=E)`` call as users write it, in samples/s.

Same architecture, batch, optimizer (Adam, lr 1e-3), data and dtype everywhere. Medians of
``--repeats`` rounds. The header names the CPU and the BLAS numpy runs on. PyTorch is optional.
"""

import argparse
import math
import platform
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
FLOOR_TARGET = 0.75  # tinynet's share of the matrix-product floor on the big network


def machine():
    """One line for the CPU (model, AVX2 / AVX-512) and one for numpy's BLAS."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    simd = ", ".join(name for flag, name in (("avx2", "AVX2"), ("avx512f", "AVX-512"))
                     if flag in flags) or "no AVX2"
    try:
        from threadpoolctl import threadpool_info
        blas = "; ".join(f"{i['internal_api']} {i['version']} ({i.get('architecture')} kernels, "
                         f"{i['num_threads']} threads)" for i in threadpool_info()
                         if i["user_api"] == "blas")
    except ImportError:
        config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{config['name']} {config.get('version', '')} (threadpoolctl not installed)"
    return f"CPU: {model} ({simd}, {platform.machine()})", f"BLAS: numpy {np.__version__}, {blas}"


def build_net(widths, dtype):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(tn.Dense(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(tn.ReLU())
    return tn.Network(layers, loss=tn.SoftmaxCrossEntropy(), seed=0, dtype=dtype)


def tinynet_fit(widths, batch, dtype, X, y, epochs):
    net, optimizer = build_net(widths, dtype), Adam(lr=1e-3)
    net.fit(X[:batch * 4], y[:batch * 4], epochs=1, batch_size=batch, optimizer=optimizer,
            progress=False)  # warm-up

    def run():
        start = time.perf_counter()
        net.fit(X, y, epochs=epochs, batch_size=batch, optimizer=optimizer, progress=False)
        return time.perf_counter() - start
    return run


def floor_epoch(widths, batch, dtype, X):
    """An epoch of only the matrix products of forward and backward, outputs preallocated."""
    rng = np.random.default_rng(1)
    Ws = [rng.normal(size=(n_out, n_in)).astype(dtype) for n_in, n_out in zip(widths, widths[1:])]
    m = len(X)
    sizes = sorted({min(batch, m - start) for start in range(0, m, batch)})
    Z = {size: [np.ones((size, W.shape[0]), dtype) for W in Ws] for size in sizes}
    dX = {size: [np.empty((size, W.shape[1]), dtype) for W in Ws] for size in sizes}
    dW = [np.empty_like(W) for W in Ws]

    def run():
        start = time.perf_counter()
        for i in range(0, m, batch):
            x = X[i:i + batch]
            Zs, dXs = Z[len(x)], dX[len(x)]
            inputs = [x] + Zs[:-1]
            for W, a, z in zip(Ws, inputs, Zs):
                np.matmul(a, W.T, out=z)                # forward: Z = X W^T
            for k in range(len(Ws) - 1, -1, -1):
                np.matmul(Zs[k].T, inputs[k], out=dW[k])  # dW = dZ^T X
                if k:
                    np.matmul(Zs[k], Ws[k], out=dXs[k])   # dX = dZ W
        return time.perf_counter() - start
    run()  # warm-up
    return run

def bound_epoch(widths, batch, dtype, X, y):
    """An epoch of the floor's products plus the step's minimal element-wise work, by hand.

    Everything the step needs besides the products, each in the fewest numpy passes we know,
    into preallocated buffers: bias adds, ReLUs, softmax cross-entropy (mean loss and
    ``(p - Y) / m``), bias sums, the ReLU masks in backward and Adam as in ``tinynet.optim``
    (ten passes over the parameter vector; its square root alone is a third of them).
    """
    shapes = [((n_out, n_in), (n_out,)) for n_in, n_out in zip(widths, widths[1:])]
    n = sum(n_out * (n_in + 1) for n_in, n_out in zip(widths, widths[1:]))
    flat = {name: np.zeros(n, dtype) for name in ("params", "grads", "v", "s", "tmp")}
    # W, b, dW, db are views into the flat vectors, as in tinynet (Adam then updates them)
    (Ws, bs), (dW, db) = _views(flat["params"], shapes), _views(flat["grads"], shapes)
    rng = np.random.default_rng(1)
    for W in Ws:
        W[...] = rng.normal(size=W.shape) / math.sqrt(W.shape[1])
    m = len(X)
    sizes = sorted({min(batch, m - start) for start in range(0, m, batch)})
    Z = {size: [np.empty((size, W.shape[0]), dtype) for W in Ws] for size in sizes}
    dX = {size: [np.empty((size, W.shape[1]), dtype) for W in Ws] for size in sizes}
    masks = {size: [np.empty((size, W.shape[0]), bool) for W in Ws] for size in sizes}
    column = {size: np.empty((size, 1), dtype) for size in sizes}

    def adam(t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        V, S, tmp, grads = flat["v"], flat["s"], flat["tmp"], flat["grads"]
        np.multiply(V, b1, out=V)
        np.add(V, grads, out=V)
        np.square(grads, out=tmp)
        np.multiply(S, b2, out=S)
        np.add(S, tmp, out=S)
        c1 = (1.0 - b1) / (1.0 - b1 ** t)
        c2 = math.sqrt((1.0 - b2) / (1.0 - b2 ** t))
        np.sqrt(S, out=tmp)
        np.add(tmp, eps / c2, out=tmp)
        np.divide(V, tmp, out=tmp)
        np.multiply(tmp, lr * c1 / c2, out=tmp)
        np.subtract(flat["params"], tmp, out=flat["params"])

    def step(x, labels, t):
        size = len(x)
        Zs, dXs, mask, col, rows = Z[size], dX[size], masks[size], column[size], np.arange(size)
        inputs = [x] + Zs[:-1]
        for k, (W, b, a, z) in enumerate(zip(Ws, bs, inputs, Zs)):
            np.matmul(a, W.T, out=z)
            np.add(z, b, out=z)
            if k < len(Ws) - 1:
                np.maximum(z, 0, out=z)
        scores = Zs[-1]                                  # softmax cross-entropy, in place
        np.max(scores, axis=1, keepdims=True, out=col)
        np.subtract(scores, col, out=scores)
        picked = scores[rows, labels]
        np.exp(scores, out=scores)
        np.sum(scores, axis=1, keepdims=True, out=col)
        float((np.log(col[:, 0]) - picked).sum()) / size
        np.multiply(col, size, out=col)
        np.divide(scores, col, out=scores)
        scores[rows, labels] -= 1.0 / size               # dscores = (p - Y) / m
        for k in range(len(Ws) - 1, -1, -1):
            np.matmul(Zs[k].T, inputs[k], out=dW[k])
            np.add.reduce(Zs[k], axis=0, out=db[k])
            if k:
                np.matmul(Zs[k], Ws[k], out=dXs[k])
                np.greater(Zs[k - 1], 0, out=mask[k - 1])
                np.multiply(dXs[k], mask[k - 1], out=Zs[k - 1])  # ReLU backward
        adam(t)

    def run():
        start = time.perf_counter()
        for t, i in enumerate(range(0, m, batch), start=1):
            step(X[i:i + batch], y[i:i + batch], t)
        return time.perf_counter() - start
    run()  # warm-up
    return run


def _views(vector, shapes):
    """([W views], [b views]) into ``vector``, laid out W1, b1, W2, b2, ..."""
    Ws, bs, start = [], [], 0
    for w_shape, b_shape in shapes:
        for shape, views in ((w_shape, Ws), (b_shape, bs)):
            size = math.prod(shape)
            views.append(vector[start:start + size].reshape(shape))
            start += size
    return Ws, bs


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

    def run():
        start = time.perf_counter()
        order = torch.randperm(m)
        Xs, ys = Xt[order], yt[order]
        for i in range(0, m, batch):
            optimizer.zero_grad()
            loss = loss_fn(model(Xs[i:i + batch]), ys[i:i + batch])
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start
    run()  # warm-up
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="examples per epoch")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds (median)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the multi-epoch fit")
    parser.add_argument("--cases", default="0,1,2,3", help="indices into CASES to run")
    args = parser.parse_args()
    for line in machine():
        print(line)
    try:
        import torch
        print(f"torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()} "
              "(default)")
    except ImportError:
        torch = None
        print("PyTorch is not installed (pip install tinynet[torch]): no torch column")
    print(f"{args.rows} rows per epoch, median of {args.repeats} interleaved rounds\n")
    print(f"{'network':<15} {'batch':>5} {'dtype':>7} {'tinynet/s':>10} {'floor/s':>10} "
          f"{'share':>6} {'bound/s':>10} {'reach':>6} {'torch/s':>10} {'ratio':>6} {'target':>6} "
          f"{f'fit x{args.epochs}/s':>11}")
    rng = np.random.default_rng(0)
    for index in map(int, args.cases.split(",")):
        name, widths, batch, dtype, target = CASES[index]
        X = rng.normal(size=(args.rows, widths[0])).astype(dtype)
        y = rng.integers(0, widths[-1], size=args.rows)
        runs = {"tinynet": tinynet_fit(widths, batch, dtype, X, y, 1),
                "floor": floor_epoch(widths, batch, dtype, X),
                "bound": bound_epoch(widths, batch, dtype, X, y),
                "fit": tinynet_fit(widths, batch, dtype, X, y, args.epochs)}
        if torch is not None:
            runs["torch"] = torch_epoch(torch, widths, batch, dtype, X, y)
        times = {key: [] for key in runs}
        for _ in range(args.repeats):  # interleaved, so that all see the same machine load
            for key, run in runs.items():
                times[key].append(run())
        rate = {key: args.rows / np.median(t) for key, t in times.items()}
        rate["fit"] *= args.epochs
        torch_rate = f"{rate['torch']:>10,.0f}" if torch else f"{'-':>10}"
        ratio = f"{rate['tinynet'] / rate['torch']:>5.2f}x" if torch else f"{'-':>6}"
        print(f"{name:<15} {batch:>5} {np.dtype(dtype).name:>7} {rate['tinynet']:>10,.0f} "
              f"{rate['floor']:>10,.0f} {rate['tinynet'] / rate['floor']:>6.0%} "
              f"{rate['bound']:>10,.0f} {rate['bound'] / rate['floor']:>6.0%} {torch_rate} "
              f"{ratio} {target:>5.1f}x {rate['fit']:>11,.0f}")
    print(f"\nshare = tinynet / floor (target on 784-256-128-10 float32: >= {FLOOR_TARGET:.0%}); "
          "reach = bound / floor; ratio = tinynet / torch")


if __name__ == "__main__":
    main()
