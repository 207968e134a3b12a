"""No false alarms: hundreds of random CORRECT networks must all pass the gradient check.

Random depth (1-4 hidden layers), widths 1-12, ReLU / LeakyReLU / Tanh / Sigmoid, all three
losses, with and without L2, with and without Dropout (checked "off" and "frozen"), float32
models, ReLU units placed exactly on their kink, dead units (a bias gradient exactly 0) and
saturated ones, correct custom layers (batch-mixing, row-wise but not element-wise, a fixed
mask, stateful batch norm, a dropout on self.rng), and all three modes. Then the networks
where a round-off floor taken from |J| failed: networks trained to a small loss, deeper ones
(4-8 layers, widths 8-40) and MSE networks that fit their targets exactly; and on partly
trained networks, a doubled activation derivative must still be flagged. Everything is
seeded: a failure names its case number. The generators are shared with
benchmarks/sweep_eps.py, which runs them on many more cases.
"""

import functools

import numpy as np
import pytest

import tinynet as tn
from tinynet.checking.sandbox import float64_network
from custom_layers import BatchCenter, BatchNorm, FixedMask, RowCenter, SelfRngDropout

N_CASES = 400
ACTIVATIONS = (tn.ReLU, tn.LeakyReLU, tn.Tanh, tn.Sigmoid)
LOSSES = (tn.SoftmaxCrossEntropy, tn.SigmoidCrossEntropy, tn.MeanSquaredError)
# correct custom layers that keep the width n
CUSTOM = {"BatchCenter": lambda n: BatchCenter(), "RowCenter": lambda n: RowCenter(),
          "FixedMask": lambda n: FixedMask(), "BatchNorm": BatchNorm,
          "SelfRngDropout": lambda n: SelfRngDropout()}


def random_case(seed):
    """-> (net, X, y, check options, description) for one random correct network."""
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(1, 13))
    widths = [int(w) for w in rng.integers(1, 13, size=rng.integers(1, 5))]
    loss, n_out = _loss(rng)
    activation = ACTIVATIONS[rng.integers(4)]
    dropout = rng.random() < 0.3
    custom = list(CUSTOM)[rng.integers(len(CUSTOM))] if rng.random() < 0.3 else None
    layers, width = [], n_in
    for w in widths:
        layers += [tn.Dense(width, w), activation()]
        if dropout:
            layers.append(tn.Dropout(keep_prob=float(rng.uniform(0.5, 0.95))))
        if custom is not None and rng.random() < 0.6:
            layers.append(CUSTOM[custom](w))
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
                   f"{np.dtype(dtype).name} m={m} {special} {options} custom={custom}")
    return net, X, y, options, description


def _loss(rng, max_regression_outputs=3):
    """A random loss class and a number of outputs that suits it."""
    loss = LOSSES[rng.integers(3)]
    return loss, {tn.SoftmaxCrossEntropy: int(rng.integers(2, 5)), tn.SigmoidCrossEntropy: 1,
                  tn.MeanSquaredError: int(rng.integers(1, max_regression_outputs + 1))}[loss]


def _targets(rng, loss, m, n_out):
    if loss is tn.SoftmaxCrossEntropy:
        return rng.integers(0, n_out, size=m)
    if loss is tn.SigmoidCrossEntropy:
        return rng.integers(0, 2, size=m)
    return rng.normal(size=(m, n_out))


def _stack(rng, n_in, widths, activation, n_out, init="he"):
    layers, width = [], n_in
    for w in widths:
        layers += [tn.Dense(width, w, init=init), activation()]
        width = w
    return layers + [tn.Dense(width, n_out, init=init)]


def trained_case(seed, activation=None):
    """A small network trained with Adam until its loss is small (median J about 1e-4).

    -> (net, X, y, description); ``activation`` replaces the LAST hidden activation after
    training (a planted bug in a partly trained network), and training is then shorter."""
    rng = np.random.default_rng(seed)
    n_in, m = int(rng.integers(2, 6)), int(rng.integers(4, 13))
    widths = [int(w) for w in rng.integers(4, 17, size=rng.integers(1, 4))]
    act = ACTIVATIONS[rng.integers(4)]
    loss, n_out = _loss(rng, max_regression_outputs=2)
    X, y = rng.normal(size=(m, n_in)), _targets(rng, loss, m, n_out)
    layers = _stack(rng, n_in, widths, act, n_out)
    net = tn.Network(layers, loss=loss(), seed=seed)
    epochs = int(rng.integers(30, 200)) if activation else int(rng.integers(300, 1500))
    net.fit(X, y, epochs=epochs, optimizer=tn.Adam(lr=0.02), progress=False)
    if activation is not None:
        layers = [tn.Dense(lay.n_in, lay.n_out) if isinstance(lay, tn.Dense) else type(lay)()
                  for lay in layers]
        layers[-2] = activation(act)
        buggy = tn.Network(layers, loss=loss(), seed=seed)
        buggy.params = net.params
        net = buggy
    return net, X, y, (f"trained {seed}: {n_in}-{widths}-{n_out} {act.__name__} "
                       f"{loss.__name__} m={m} J={net.cost(X, y):.1e}")


def deep_case(seed):
    """4-8 Dense layers of widths 8-40, any activation, inputs of scale 1-10."""
    rng = np.random.default_rng(seed)
    n_in, m = int(rng.integers(2, 10)), int(rng.integers(2, 9))
    widths = [int(w) for w in rng.integers(8, 41, size=rng.integers(3, 8))]
    act = ACTIVATIONS[rng.integers(4)]
    loss, n_out = _loss(rng, max_regression_outputs=2)
    init = str(rng.choice(["he", "xavier", "glorot"]))
    penalty = tn.L2(0.5) if rng.random() < 0.3 else None
    net = tn.Network(_stack(rng, n_in, widths, act, n_out, init), loss=loss(), penalty=penalty,
                     seed=seed)
    X = rng.normal(size=(m, n_in)) * float(rng.choice([1, 3, 10]))
    return net, X, _targets(rng, loss, m, n_out), (f"deep {seed}: {n_in}-{widths}-{n_out} "
                                                   f"{act.__name__} {loss.__name__} m={m}")


def exact_fit_case(seed):
    """An MSE network whose targets are its own outputs (J = 0 or about 1e-31)."""
    rng = np.random.default_rng(seed)
    n_in, m, n_out = int(rng.integers(1, 6)), int(rng.integers(2, 9)), int(rng.integers(1, 4))
    widths = [int(w) for w in rng.integers(2, 13, size=rng.integers(1, 4))]
    act = ACTIVATIONS[rng.integers(4)]
    net = tn.Network(_stack(rng, n_in, widths, act, n_out), loss=tn.MeanSquaredError(), seed=seed)
    X = rng.normal(size=(m, n_in))
    y = net.forward(X) * (1 + float(rng.choice([0, 1e-16, 1e-15])) * rng.normal(size=(m, n_out)))
    return net, X, y, (f"exact {seed}: {n_in}-{widths}-{n_out} {act.__name__} m={m} "
                       f"J={net.cost(X, y):.1e}")


class Doubled:
    """A planted bug: the activation's derivative doubled (``Doubled(tn.Tanh)()``)."""

    def __new__(cls, base):
        return type(f"{base.__name__}Doubled", (base,),
                    {"backward": lambda self, dout: 2 * base.backward(self, dout)})()


def alarms(report):
    """Blocks that a correct network fails. A block whose every checked entry sits at a kink
    (all of it, or all of a sample) is not compared at all: "inconclusive" there is the
    honest answer (nothing compared is not a pass), not an alarm."""
    return [r.name for r in report.results.values() if not r.passed
            and not (r.verdict == "inconclusive" and r.checked == 0 and r.kinks > 0)]


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


HARD = {"trained": (trained_case, range(0, 24, 2)), "deep": (deep_case, range(8)),
        "exact": (exact_fit_case, range(20))}


@functools.lru_cache(maxsize=None)
def hard_cases(kind):
    make, seeds = HARD[kind]
    return [make(seed) for seed in seeds]          # trained once for both modes


@pytest.mark.parametrize("kind", list(HARD))
@pytest.mark.parametrize("mode", ["full", "screen"])
def test_no_false_alarms_on_trained_deep_and_exactly_fitting_networks(kind, mode):
    failures = []
    for net, X, y, description in hard_cases(kind):
        report = net.check_gradients(X, y, mode=mode)
        if alarms(report):
            failures.append(f"{description}\n{report}")
    assert not failures, "\n\n".join(failures)


def test_the_hard_cases_are_hard():
    """The trained nets reach small losses and the exact fits J ~ 1e-31 or 0."""
    assert np.median([net.cost(X, y) for net, X, y, _ in hard_cases("trained")]) < 1e-3
    exact = [net.cost(X, y) for net, X, y, _ in hard_cases("exact")]
    assert max(exact) < 1e-28 and max(exact) > 0


@pytest.mark.parametrize("mode", ["full", "screen"])
def test_a_doubled_activation_in_a_partly_trained_network_is_flagged(mode):
    for seed in range(6):
        net, X, y, description = trained_case(seed, activation=Doubled)
        below = {b.name for b in net.blocks if b.layer_index < len(net.layers) - 2}
        report = net.check_gradients(X, y, mode=mode)
        assert set(report.failed) == below, f"{description}\n{report}"


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
                   "hidden1", "hidden2", "hidden3", "hidden4", *CUSTOM):
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
    """The network's data gradient (dropout off, no L2), by backprop on a float64 copy (a
    float32 model's own gradient carries float32 round-off, far above what the check sees)."""
    keep = [(layer, layer.keep_prob) for layer in net.layers if isinstance(layer, tn.Dropout)]
    for layer, _ in keep:
        layer.keep_prob = 1.0
    try:
        with float64_network(net, use_penalty=False) as (_, dtheta):
            X = np.asarray(X, dtype=np.float64)
            net._cost_and_grad(X, net._targets(y, X.shape[0], X))
            return dtheta.copy()
    finally:
        for layer, value in keep:
            layer.keep_prob = value


NOISE_STEPS = (5e-7, 1e-6, 2e-6)        # the default step and its neighbours


def factor_shows(net, X, y, delta):
    """Whether the arithmetic allows a checker to see a factor (1 + delta) on the data
    gradient: in some block, the change it makes, delta·‖data gradient‖, is 3x the noise of
    the numeric estimates of the correct network, measured as the largest ‖dθ − dθ_approx‖
    of full checks (dropout off) at the default step and its neighbours (one step's error
    alone may be lucky)."""
    data = data_gradient(net, X, y)
    reports = [net.check_gradients(X, y, mode="full", eps=eps) for eps in NOISE_STEPS]
    return any(delta * np.linalg.norm(data[b.start:b.stop])
               > 3 * max(r.results[b.name].abs_error for r in reports) for b in net.blocks)


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


def trained_random_case(seed):
    """random_case(seed) after 200 Adam steps (as in benchmarks/sweep_eps.py's part (c))."""
    net, X, y, options, description = random_case(seed)
    net.fit(X, y, epochs=200, optimizer=tn.Adam(lr=0.01), progress=False)
    return net, X, y, description


# Trained networks that a first look alone misses (benchmarks/sweep_eps.py, part (c)):
# smooth (Tanh, Sigmoid) nets whose gradients are so small next to J's curvature that a
# wrong backward looked like a kink in every entry of the last blocks ("kinks only"; since
# kinks are confirmed at smaller steps, estimate.verify_kinks, the first look fails them
# itself and the second opinion confirms the mismatch), and nets whose L2 term dilutes the
# data gradient's error below the "great" band.
KINKS_ONLY = (50013, 50036, 50093, 50166)
L2_DOMINATED = ((50001, 1e-6), (50029, 1e-5))


@pytest.mark.parametrize("seed, delta", [(s, 1e-4) for s in KINKS_ONLY] + list(L2_DOMINATED))
def test_a_factor_bug_in_a_trained_network_is_flagged_where_the_arithmetic_allows_it(seed, delta):
    net, X, y, description = trained_random_case(seed)
    assert net.check_gradients(X, y, mode="full").passed, description
    assert factor_shows(net, X, y, delta), description
    net.loss = off_by(net.loss, delta)
    report = net.check_gradients(X, y, mode="full")
    assert not report.passed, f"{description}\n{report}"
    assert [(c.where, c.part) for c in report.culprits] == [("loss", "scores")], str(report)
    assert all(r.verdict in ("mismatch", "suspicious", "bug")
               for r in report.results.values() if not r.passed)
    text = str(report)      # what the user reads: the slope, the factor, the root cause
    assert "stays constant over eps" in text and "analytic = 1.0" in text, text
    assert "root cause:\n  loss " in text and "(because of loss)" in text, text
