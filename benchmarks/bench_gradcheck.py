"""How fast is tinynet's full gradient check? 784-256-128-10 ReLU softmax net, batch 128, float64.

Compared in the same run with
- torch.autograd.gradcheck(fast_mode=False) (optional; skipped with a message if torch is
  missing), timed on a subset of parameters (b1 and W3 require grad) and extrapolated per
  checked parameter to all 235,146;
- the course's loop (gradient_check_n: a Python loop over θ, two full forward passes per
  entry), timed on a subset of entries and extrapolated the same way;
- tinynet's fast screen (mode="screen") on the correct net and on planted bugs;
- a batch-norm network, 64-64-BN-ReLU-64-BN-ReLU-10, batch 256: tinynet's full check
  against torch.autograd.gradcheck(fast_mode=False) on every parameter (measured, not
  extrapolated: torch takes about 5 minutes here), and the classic batch-norm backward bug
  (mean and variance treated as constants) caught by the full check.

    python benchmarks/bench_gradcheck.py [--course-entries 300]
"""

import argparse
import time

import numpy as np

import tinynet as tn

SIZES = (784, 256, 128, 10)
BATCH = 128


def make_net(dense=tn.Dense, act2=tn.ReLU, loss=tn.SoftmaxCrossEntropy):
    return tn.Network([tn.Dense(784, 256), tn.ReLU(), tn.Dense(256, 128), act2(),
                       dense(128, 10)], loss=loss(), seed=0)


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(BATCH, 784)), rng.integers(0, 10, size=BATCH)


def timed(f):
    start = time.perf_counter()
    out = f()
    return time.perf_counter() - start, out


def course_loop(net, X, y, entries, eps=1e-7):
    """gradient_check_n: for each θ entry, two whole forward passes (here via net.cost)."""
    theta = net.params
    approx = np.empty(entries.size)
    for k, i in enumerate(entries):
        saved = theta[i]
        theta[i] = saved + eps
        plus = net.cost(X, y)
        theta[i] = saved - eps
        minus = net.cost(X, y)
        theta[i] = saved
        approx[k] = (plus - minus) / (2 * eps)
    return approx


def torch_slow(net, X, y):
    """torch.autograd.gradcheck, fast_mode=False, with only b1 and W3 requiring grad."""
    import torch
    p = {k: torch.tensor(v.copy()) for k, v in net.parameters().items()}
    for name in ("b1", "W3"):
        p[name].requires_grad_(True)
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def f(b1, W3):
        h = torch.relu(Xt @ p["W1"].T + b1)
        h = torch.relu(h @ p["W2"].T + p["b2"])
        return torch.nn.functional.cross_entropy(h @ W3.T + p["b3"], yt)

    seconds, ok = timed(lambda: torch.autograd.gradcheck(f, (p["b1"], p["W3"]), eps=1e-6,
                                                         atol=1e-5, rtol=1e-3, fast_mode=False))
    return seconds, p["b1"].numel() + p["W3"].numel(), ok


class BiasDoubled(tn.Dense):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] *= 2
        return dx


class ReLUInverted(tn.ReLU):
    def backward(self, dout):
        return dout * (self.x < 0)


class ForgetsM(tn.SoftmaxCrossEntropy):
    def backward(self):
        dscores = super().backward()
        return dscores * dscores.shape[0]


class BatchNormConstantStats(tn.BatchNorm):
    """The classic bug: backward treats the batch mean and variance as constants."""

    def backward(self, dout):
        self.grads["gamma"] = (dout * self.xhat).sum(axis=0)
        self.grads["beta"] = dout.sum(axis=0)
        return dout * self.params["gamma"] * self.inv_std


def make_bn_net(norm=tn.BatchNorm):
    return tn.Network([tn.Dense(64, 64), norm(64), tn.ReLU(), tn.Dense(64, 64), tn.BatchNorm(64),
                       tn.ReLU(), tn.Dense(64, 10)], loss=tn.SoftmaxCrossEntropy(), seed=0)


def torch_slow_batchnorm(net, X, y):
    """torch.autograd.gradcheck, fast_mode=False, every parameter of the batch-norm net."""
    import torch
    import torch.nn.functional as F
    names = list(net.parameters())
    p = [torch.tensor(v.copy(), requires_grad=True) for v in net.parameters().values()]
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def f(W1, b1, g2, be2, W3, b3, g4, be4, W5, b5):
        h = F.relu(F.batch_norm(Xt @ W1.T + b1, None, None, g2, be2, training=True, eps=1e-5))
        h = F.relu(F.batch_norm(h @ W3.T + b3, None, None, g4, be4, training=True, eps=1e-5))
        return F.cross_entropy(h @ W5.T + b5, yt)

    assert names == ["W1", "b1", "gamma2", "beta2", "W3", "b3", "gamma4", "beta4", "W5", "b5"]
    return timed(lambda: torch.autograd.gradcheck(f, tuple(p), eps=1e-6, atol=1e-5, rtol=1e-3,
                                                  fast_mode=False))


def batchnorm_section():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(256, 64)), rng.integers(0, 10, size=256)
    net = make_bn_net()
    print(f"\nbatch-norm network 64-64-BN-ReLU-64-BN-ReLU-10, batch 256, float64: "
          f"{net.n_params:,} parameters")
    full_s, report = timed(lambda: net.check_gradients(X, y, progress=False))
    print(f"{'tinynet full (the default mode here)':<38} {full_s:>8.2f} s  "
          f"{report.difference:.2e}, passed={report.passed}")
    try:
        torch_s, ok = torch_slow_batchnorm(net, X, y)
        print(f"{'torch gradcheck, fast_mode=False':<38} {torch_s:>8.2f} s  every parameter, "
              f"ok={ok}; tinynet is {torch_s / full_s:.0f}x faster")
    except ImportError:
        print("torch is not installed: skipping torch.autograd.gradcheck")
    buggy = make_bn_net(BatchNormConstantStats)
    seconds, r = timed(lambda: buggy.check_gradients(X, y, progress=False))
    mark = "caught" if set(r.failed) == {"W1", "b1"} else "MISSED/WRONG"
    print(f"{'BN2 backward, constant mean/variance':<38} {seconds:>8.2f} s  failed blocks "
          f"{', '.join(r.failed)}: {mark}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course-entries", type=int, default=300)
    args = parser.parse_args()
    X, y = data()
    net = make_net()
    n = net.n_params
    print(f"network 784-256-128-10 ReLU, softmax, batch {BATCH}, float64: {n:,} parameters\n")
    rows = []

    full_s, report = timed(lambda: net.check_gradients(X, y, mode="full", progress=False))
    rows.append(("tinynet full (every entry)", full_s, f"measured; {report.difference:.2e}, "
                 f"passed={report.passed}"))

    rng = np.random.default_rng(1)
    entries = np.sort(rng.choice(n, args.course_entries, replace=False))
    course_s, approx = timed(lambda: course_loop(net, X, y, entries))
    _, g = net.cost_and_grad(X, y)
    course_diff = np.linalg.norm(g[entries] - approx) / (np.linalg.norm(g[entries]) + np.linalg.norm(approx))
    rows.append(("course loop (gradient_check_n)", course_s / entries.size * n,
                 f"extrapolated from {entries.size} entries ({course_s:.2f} s), {course_diff:.2e}"))

    try:
        import torch  # noqa: F401
        torch_s, checked, ok = torch_slow(net, X, y)
        rows.append(("torch gradcheck, fast_mode=False", torch_s / checked * n,
                     f"extrapolated from {checked:,} parameters (b1, W3: {torch_s:.2f} s), ok={ok}"))
    except ImportError:
        torch_s = None
        print("torch is not installed: skipping torch.autograd.gradcheck\n")

    screen_s, screen = timed(lambda: net.check_gradients(X, y, mode="screen", progress=False))
    rows.append(("tinynet screen (3 directions/block)", screen_s, f"measured; passed={screen.passed}"))

    print(f"{'method':<38} {'seconds':>10}  {'vs tinynet full':>15}  note")
    for name, seconds, note in rows:
        print(f"{name:<38} {seconds:>10.2f}  {seconds / full_s:>14.1f}x  {note}")
    if torch_s is not None:
        speedup = rows[2][1] / full_s
        print(f"\ntinynet full is {speedup:.0f}x faster than torch slow gradcheck "
              f"(target >= 30x): {'met' if speedup >= 30 else 'NOT met'}")
    print(f"tinynet screen {screen_s:.2f} s (target < 1 s): {'met' if screen_s < 1 else 'NOT met'}")

    print("\nplanted bugs on the big net, mode='screen' (screen, then a full check of failing blocks)")
    print(f"{'bug':<34} {'seconds':>8}  {'failed blocks':<28} expected")
    for name, bugged, expected in (
            ("db3 doubled", make_net(dense=BiasDoubled), {"b3"}),
            ("ReLU2 derivative inverted", make_net(act2=ReLUInverted), {"W1", "b1", "W2", "b2"}),
            ("loss forgets 1/m", make_net(loss=ForgetsM), {"W1", "b1", "W2", "b2", "W3", "b3"})):
        seconds, r = timed(lambda: bugged.check_gradients(X, y, mode="screen", progress=False))
        mark = "caught" if set(r.failed) == expected else "MISSED/WRONG"
        print(f"{name:<34} {seconds:>8.2f}  {', '.join(r.failed):<28} {mark}")
    batchnorm_section()


if __name__ == "__main__":
    main()
