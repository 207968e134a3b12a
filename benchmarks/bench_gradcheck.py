"""How fast is tinynet's full gradient check? 784-256-128-10 softmax nets, batch 128, float64.

The same network with ReLU, Tanh and Sigmoid hidden activations, each compared in the same
run with
- torch.autograd.gradcheck(fast_mode=False) (optional; skipped with a message if torch is
  missing), timed on a subset of parameters (b1 and W3 require grad) and extrapolated per
  checked parameter to all 235,146;
- tinynet's fast screen (mode="screen").
On the ReLU net also the course's loop (gradient_check_n: a Python loop over θ, two full
forward passes per entry), timed on a subset of entries and extrapolated the same way, and
the screen on planted bugs. The peak memory is the process's maximum resident set size
after tinynet's checks (before torch is imported).
A batch-norm network, 64-64-BN-ReLU-64-BN-ReLU-10, batch 256: tinynet's full check against
torch.autograd.gradcheck(fast_mode=False) on every parameter (measured, not extrapolated: torch
takes about 5 minutes here), and the classic batch-norm backward bug (mean and variance treated
as constants) caught by the full check.

    python benchmarks/bench_gradcheck.py [--course-entries 300] [--activations ReLU,Tanh,Sigmoid]
"""

import argparse
import resource
import time

import numpy as np

import tinynet as tn
from bench_training import machine  # the CPU and BLAS lines (this script's folder is on the path)

SIZES = (784, 256, 128, 10)
BATCH = 128


def make_net(dense=tn.Dense, act2=None, loss=tn.SoftmaxCrossEntropy, act=tn.ReLU):
    return tn.Network([tn.Dense(784, 256), act(), tn.Dense(256, 128), (act2 or act)(),
                       dense(128, 10)], loss=loss(), seed=0)


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(BATCH, 784)), rng.integers(0, 10, size=BATCH)


def timed(f):
    """-> (wall seconds, CPU seconds of the process, all threads, f()). On a shared machine the
    CPU seconds say more about the work done than the wall seconds, which include waiting."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = f()
    return time.perf_counter() - wall, time.process_time() - cpu, out


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


def torch_slow(net, X, y, activation="ReLU"):
    """torch.autograd.gradcheck, fast_mode=False, with only b1 and W3 requiring grad."""
    import torch
    act = {"ReLU": torch.relu, "Tanh": torch.tanh, "Sigmoid": torch.sigmoid}[activation]
    p = {k: torch.tensor(v.copy()) for k, v in net.parameters().items()}
    for name in ("b1", "W3"):
        p[name].requires_grad_(True)
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def f(b1, W3):
        h = act(Xt @ p["W1"].T + b1)
        h = act(h @ p["W2"].T + p["b2"])
        return torch.nn.functional.cross_entropy(h @ W3.T + p["b3"], yt)

    wall, cpu, ok = timed(lambda: torch.autograd.gradcheck(f, (p["b1"], p["W3"]), eps=1e-6,
                                                           atol=1e-5, rtol=1e-3, fast_mode=False))
    return wall, cpu, p["b1"].numel() + p["W3"].numel(), ok


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


def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20   # kB on Linux


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
    wall, _, ok = timed(lambda: torch.autograd.gradcheck(f, tuple(p), eps=1e-6, atol=1e-5,
                                                         rtol=1e-3, fast_mode=False))
    return wall, ok


def batchnorm_section():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(256, 64)), rng.integers(0, 10, size=256)
    net = make_bn_net()
    print(f"\nbatch-norm network 64-64-BN-ReLU-64-BN-ReLU-10, batch 256, float64: "
          f"{net.n_params:,} parameters")
    full_s, _, report = timed(lambda: net.check_gradients(X, y, progress=False))
    print(f"{'tinynet full (the default mode here)':<38} {full_s:>8.2f} s  "
          f"{report.difference:.2e}, passed={report.passed}")
    try:
        torch_s, ok = torch_slow_batchnorm(net, X, y)
        print(f"{'torch gradcheck, fast_mode=False':<38} {torch_s:>8.2f} s  every parameter, "
              f"ok={ok}; tinynet is {torch_s / full_s:.0f}x faster")
    except ImportError:
        print("torch is not installed: skipping torch.autograd.gradcheck")
    buggy = make_bn_net(BatchNormConstantStats)
    seconds, _, r = timed(lambda: buggy.check_gradients(X, y, progress=False))
    mark = "caught" if set(r.failed) == {"W1", "b1"} else "MISSED/WRONG"
    print(f"{'BN2 backward, constant mean/variance':<38} {seconds:>8.2f} s  failed blocks "
          f"{', '.join(r.failed)}: {mark}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course-entries", type=int, default=300)
    parser.add_argument("--activations", default="ReLU,Tanh,Sigmoid")
    args = parser.parse_args()
    X, y = data()
    activations = args.activations.split(",")
    nets = {name: make_net(act=getattr(tn, name)) for name in activations}
    n = next(iter(nets.values())).n_params
    for line in machine():
        print(line)
    print(f"network 784-256-128-10, softmax, batch {BATCH}, float64: {n:,} parameters\n")

    full, screens = {}, {}
    for name, net in nets.items():
        runs = [timed(lambda net=net: net.check_gradients(X, y, mode="screen", progress=False))
                for _ in range(3)]
        screens[name] = sorted(runs, key=lambda run: run[0])[1]            # the median of 3
        full[name] = timed(lambda net=net: net.check_gradients(X, y, mode="full", progress=False))
    peak = peak_rss_gib()

    course = None
    if "ReLU" in nets:
        net = nets["ReLU"]
        rng = np.random.default_rng(1)
        entries = np.sort(rng.choice(n, args.course_entries, replace=False))
        wall, cpu, approx = timed(lambda: course_loop(net, X, y, entries))
        _, g = net.cost_and_grad(X, y)
        course_diff = np.linalg.norm(g[entries] - approx) / (
            np.linalg.norm(g[entries]) + np.linalg.norm(approx))
        scale = n / entries.size
        course = (wall * scale, cpu * scale,
                  f"extrapolated from {entries.size} entries ({wall:.2f} s), {course_diff:.2e}")

    torch_rows = {}
    try:
        import torch  # noqa: F401
        for name, net in nets.items():
            wall, cpu, checked, ok = torch_slow(net, X, y, name)
            note = f"extrapolated from {checked:,} parameters (b1, W3: {wall:.2f} s), ok={ok}"
            torch_rows[name] = (wall / checked * n, cpu / checked * n, note)
    except ImportError:
        print("torch is not installed: skipping torch.autograd.gradcheck\n")

    print(f"{'activation':<10} {'method':<36} {'wall s':>9} {'cpu s':>9}  "
          f"{'vs tinynet full (wall, cpu)':>27}  note")
    for name in nets:
        full_wall, full_cpu, report = full[name]
        rows = [("tinynet full (every entry)", full_wall, full_cpu,
                 f"measured; {report.difference:.2e}, passed={report.passed}")]
        if name == "ReLU" and course is not None:
            rows.append(("course loop (gradient_check_n)",) + course)
        if name in torch_rows:
            rows.append(("torch gradcheck, fast_mode=False",) + torch_rows[name])
        screen_wall, screen_cpu, screen_report = screens[name]
        rows.append(("tinynet screen (median of 3 runs)", screen_wall, screen_cpu,
                     f"measured; passed={screen_report.passed}"))
        for method, wall, cpu, note in rows:
            print(f"{name:<10} {method:<36} {wall:>9.2f} {cpu:>9.2f}  "
                  f"{wall / full_wall:>12.1f}x {cpu / full_cpu:>12.1f}x  {note}")
    print()
    for name in nets:
        full_wall, full_cpu, _ = full[name]
        if name in torch_rows:
            speedup = [t / f for t, f in zip(torch_rows[name][:2], (full_wall, full_cpu))]
            print(f"{name}: tinynet full is {speedup[0]:.0f}x (wall), {speedup[1]:.0f}x (cpu) "
                  f"faster than torch slow gradcheck (target >= 30x): "
                  f"{'met' if min(speedup) >= 30 else 'NOT met'}")
        wall, cpu = screens[name][:2]
        print(f"{name}: tinynet screen {wall:.2f} s wall, {cpu:.2f} s cpu (target < 1 s): "
              f"{'met' if wall < 1 else 'NOT met'}")
    print(f"peak memory (max RSS after tinynet's checks): {peak:.2f} GiB (target < 1 GiB): "
          f"{'met' if peak < 1 else 'NOT met'}")

    print("\nplanted bugs on the ReLU net, mode='screen' (screen, then a full check of failing "
          "blocks)")
    print(f"{'bug':<34} {'seconds':>8}  {'failed blocks':<28} expected")
    for name, bugged, expected in (
            ("db3 doubled", make_net(dense=BiasDoubled), {"b3"}),
            ("ReLU2 derivative inverted", make_net(act2=ReLUInverted), {"W1", "b1", "W2", "b2"}),
            ("loss forgets 1/m", make_net(loss=ForgetsM), {"W1", "b1", "W2", "b2", "W3", "b3"})):
        seconds, _, r = timed(lambda net=bugged: net.check_gradients(X, y, mode="screen",
                                                                     progress=False))
        mark = "caught" if set(r.failed) == expected else "MISSED/WRONG"
        print(f"{name:<34} {seconds:>8.2f}  {', '.join(r.failed):<28} {mark}")
    batchnorm_section()


if __name__ == "__main__":
    main()
