"""No false alarms: hundreds of random CORRECT networks must all pass the gradient check.

Random depth (1-4 hidden layers), widths 1-12, ReLU / LeakyReLU / Tanh / Sigmoid, all three
losses, with and without L2, with and without Dropout (checked "off" and "frozen"), float32
models, ReLU units placed exactly on their kink, dead units (a bias gradient exactly 0) and
saturated ones, and all three modes. Everything is seeded: a failure names its case number.
``random_case`` is shared with benchmarks/sweep_eps.py.
"""

import numpy as np
import pytest

import tinynet as tn

N_CASES = 400
ACTIVATIONS = (tn.ReLU, tn.LeakyReLU, tn.Tanh, tn.Sigmoid)
LOSSES = (tn.SoftmaxCrossEntropy, tn.SigmoidCrossEntropy, tn.MeanSquaredError)


def random_case(seed):
    """-> (net, X, y, check options, description) for one random correct network."""
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(1, 13))
    widths = [int(w) for w in rng.integers(1, 13, size=rng.integers(1, 5))]
    loss = LOSSES[rng.integers(3)]
    n_out = {tn.SoftmaxCrossEntropy: int(rng.integers(2, 5)), tn.SigmoidCrossEntropy: 1,
             tn.MeanSquaredError: int(rng.integers(1, 4))}[loss]
    activation = ACTIVATIONS[rng.integers(4)]
    dropout = rng.random() < 0.3
    layers, width = [], n_in
    for w in widths:
        layers += [tn.Dense(width, w), activation()]
        if dropout:
            layers.append(tn.Dropout(keep_prob=float(rng.uniform(0.5, 0.95))))
        width = w
    layers.append(tn.Dense(width, n_out))
    penalty = tn.L2(float(rng.choice([0.1, 1.0, 10.0]))) if rng.random() < 0.4 else None
    dtype = np.float32 if rng.random() < 0.2 else np.float64
    net = tn.Network(layers, loss=loss(), penalty=penalty, seed=seed, dtype=dtype)

    m = int(rng.integers(1, 9))
    X = rng.normal(size=(m, n_in))
    if loss is tn.SoftmaxCrossEntropy:
        y = rng.integers(0, n_out, size=m)
    elif loss is tn.SigmoidCrossEntropy:
        y = rng.integers(0, 2, size=m)
    else:
        y = rng.normal(size=(m, n_out))

    special = rng.choice(["plain", "kink", "dead"], p=[0.6, 0.2, 0.2])
    W1, b1 = net.parameters()["W1"], net.parameters()["b1"]
    if special == "kink":           # example 0 = e_0, so Z1[0, j] = W1[j, 0] + b1[j] = 0 exactly
        X[0] = 0.0
        X[0, 0] = 1.0
        units = rng.random(b1.size) < 0.5
        units[rng.integers(b1.size)] = True
        b1[units] = -W1[units, 0]
    elif special == "dead":         # all-negative pre-activation: dead ReLU, saturated sigmoid
        b1[rng.integers(b1.size)] = -(np.abs(X).sum(axis=1).max() * np.abs(W1).max() + 50.0)
    options = {"dropout": str(rng.choice(["off", "frozen"])),
               "mode": str(rng.choice(["full", "full", "sample", "screen"])),
               "samples": int(rng.integers(2, 8))}
    description = (f"case {seed}: {n_in}-{'-'.join(map(str, widths))}-{n_out} "
                   f"{activation.__name__} {loss.__name__} L2={penalty} dropout={dropout} "
                   f"{np.dtype(dtype).name} m={m} {special} {options}")
    return net, X, y, options, description


def alarms(report):
    """Blocks that a correct network fails. A block whose every entry sits exactly on a kink
    cannot be compared at all: "inconclusive" there is the honest answer, not an alarm."""
    return [r.name for r in report.results.values() if not r.passed
            and not (r.verdict == "inconclusive" and r.checked == 0 and r.kinks == r.size)]


@pytest.mark.parametrize("chunk", range(4))
def test_no_false_alarms_on_random_correct_networks(chunk):
    failures, kinks = [], 0
    for seed in range(chunk, N_CASES, 4):
        net, X, y, options, description = random_case(seed)
        report = net.check_gradients(X, y, **options)
        if alarms(report):
            failures.append(f"{description}\n{report}")
        kinks += sum(r.kinks for r in report.results.values())
    assert not failures, "\n\n".join(failures)
    assert kinks > 0          # some steps really crossed a kink and were handled


def test_the_sweep_covers_what_it_claims():
    """The generator really produces every ingredient the sweep promises."""
    seen = set()
    for seed in range(N_CASES):
        net, X, y, options, description = random_case(seed)
        seen.add(type(net.loss).__name__)
        seen.update(type(layer).__name__ for layer in net.layers)
        seen.add(net.dtype.name)
        seen.update({options["mode"], "frozen" if options["dropout"] == "frozen" else "off"})
        seen.add("L2" if net.penalty is not None else "no L2")
        seen.add(description.split(" m=")[1].split()[1])           # plain / kink / dead
        seen.add(f"hidden{sum(isinstance(layer, tn.Dense) for layer in net.layers) - 1}")
    for wanted in ("SoftmaxCrossEntropy", "SigmoidCrossEntropy", "MeanSquaredError", "ReLU",
                   "LeakyReLU", "Tanh", "Sigmoid", "Dropout", "float32", "float64", "full",
                   "sample", "screen", "frozen", "off", "L2", "no L2", "kink", "dead",
                   "hidden1", "hidden2", "hidden3", "hidden4"):
        assert wanted in seen, wanted


def test_kink_cases_really_sit_on_a_kink():
    """In a "kink" case some first-layer pre-activation is exactly 0 for example 0."""
    count = 0
    for seed in range(N_CASES):
        net, X, y, options, description = random_case(seed)
        if " kink " not in description:
            continue
        p = net.parameters()
        Z = X[:1] @ p["W1"].T.astype(np.float64) + p["b1"]
        assert np.any(Z == 0.0), description
        count += 1
    assert count >= 20


# ---- sensitivity and trained networks (benchmarks/sweep_eps.py measures the same at scale) ----

def off_by(loss, delta):
    """The same loss with its backward off by the factor (1 + delta): so is every data gradient."""
    cls = type(loss)
    return type(f"{cls.__name__}OffBy", (cls,),
                {"backward": lambda self: (1 + delta) * cls.backward(self)})()


def data_gradient(net, X, y):
    """The network's data gradient (dropout off, no L2), by backprop."""
    penalty, net.penalty = net.penalty, None
    keep = [(layer, layer.keep_prob) for layer in net.layers if isinstance(layer, tn.Dropout)]
    for layer, _ in keep:
        layer.keep_prob = 1.0
    try:
        return net.cost_and_grad(X, y)[1].astype(np.float64)
    finally:
        net.penalty = penalty
        for layer, value in keep:
            layer.keep_prob = value


def factor_shows(net, X, y, delta):
    """Whether the arithmetic allows a checker to see a factor (1 + delta) on the data
    gradient: in some block, the change it makes, delta·‖data gradient‖, is 3x the numerical
    error ‖dθ − dθ_approx‖ of the full check (dropout off) of the correct network."""
    data = data_gradient(net, X, y)
    report = net.check_gradients(X, y, mode="full")
    return any(delta * np.linalg.norm(data[b.start:b.stop]) > 3 * report.results[b.name].abs_error
               for b in net.blocks)


def test_a_one_in_a_million_factor_bug_is_flagged_and_blamed_wherever_it_shows():
    missed, blamed_wrong, shown = [], [], 0
    for seed in range(0, N_CASES, 4):
        net, X, y, options, description = random_case(seed)
        if not factor_shows(net, X, y, 1e-6):
            continue
        shown += 1
        net.loss = off_by(net.loss, 1e-6)
        report = net.check_gradients(X, y, mode="full")
        if report.passed:
            missed.append(f"{description}\n{report}")
        elif [(c.where, c.part) for c in report.culprits] != [("loss", "scores")]:
            blamed_wrong.append(f"{description}\n{report}")
    assert shown >= 90
    assert not missed, "\n\n".join(missed)
    assert not blamed_wrong, "\n\n".join(blamed_wrong)


def test_no_false_alarms_on_trained_networks():
    """Trained to a loss near 0 (m <= 8 examples, 200 Adam steps): the gradients are tiny and J
    is computed with cancellation, where a fixed round-off floor is least reliable."""
    failures = []
    for seed in range(1, N_CASES, 10):
        net, X, y, options, description = random_case(seed)
        net.fit(X, y, epochs=200, optimizer=tn.Adam(lr=0.01), progress=False)
        report = net.check_gradients(X, y, **options)
        if alarms(report) or report.culprits:
            failures.append(f"{description}\n{report}")
    assert not failures, "\n\n".join(failures)
