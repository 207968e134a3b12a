"""Every fast path of the checker's engine gives the numbers of a plain loop.

For random networks mixing built-in and custom layers (claims true and false, subclasses
that write their own forward, in-place forwards, self.rng masks, batch statistics, an L2
penalty, frozen dropout), each change J(θ ± ε e_i) − J(θ) that the engine computes (rank-1
columns, element-wise columns, the Dense → ReLU → Dense shortcut, stacked row-wise batches,
exact L2 steps) must equal the one a plain loop gets by perturbing θ one entry at a time and
running the whole network forward, to ~1e-8 in gradient units.
"""

import numpy as np
import pytest

import tinynet as tn
from custom_layers import (BatchCenterClaimingTooMuch, BatchNorm, FixedMask, InPlaceReLU,
                           MyLeakyReLU, NoisyKinksTanh, RowCenter, SelfRngDropout, Softmax,
                           Swish)
from numeric import Scale
from tinynet.checking.engine import Engine
from tinynet.checking.sandbox import float64_network

EPS = 1e-6


class OwnForwardDense(tn.Dense):
    """A Dense subclass with its own (correct) forward: it must not get Dense's rank-1 path."""

    def forward(self, x, training=False):
        self.x = x
        return x @ self.params["W"].T + self.params["b"]


# layers that keep the width n
SAME_WIDTH = [lambda n: tn.ReLU(), lambda n: tn.LeakyReLU(0.1), lambda n: tn.Tanh(),
              lambda n: tn.Sigmoid(), lambda n: tn.Dropout(0.7), lambda n: Softmax(),
              lambda n: BatchCenterClaimingTooMuch(), lambda n: RowCenter(),
              lambda n: FixedMask(), lambda n: SelfRngDropout(), lambda n: MyLeakyReLU(),
              lambda n: InPlaceReLU(), lambda n: NoisyKinksTanh(), lambda n: Swish(), Scale,
              BatchNorm, lambda n: OwnForwardDense(n, n),
              lambda n: tn.BatchNorm(n, momentum=0.3), tn.LayerNorm, lambda n: tn.Softmax()]


def random_zoo_network(seed):
    rng = np.random.default_rng(seed)
    n_in, width = int(rng.integers(2, 5)), int(rng.integers(2, 6))
    layers = [tn.Dense(n_in, width)]
    for _ in range(int(rng.integers(2, 5))):
        layers.append(SAME_WIDTH[rng.integers(len(SAME_WIDTH))](width))
        if rng.random() < 0.5:
            new = int(rng.integers(2, 6))
            layers.append(tn.Dense(width, new))
            width = new
    n_out = int(rng.integers(2, 4))
    layers.append(tn.Dense(width, n_out))
    loss = [tn.SoftmaxCrossEntropy(), tn.MeanSquaredError()][rng.integers(2)]
    penalty = tn.L2(0.3) if rng.random() < 0.5 else None
    net = tn.Network(layers, loss=loss, penalty=penalty, seed=seed)
    m = int(rng.integers(2, 7))
    X = rng.normal(size=(m, n_in))
    y = rng.integers(0, n_out, m) if isinstance(loss, tn.SoftmaxCrossEntropy) \
        else rng.normal(size=(m, n_out))
    return net, X, net._targets(y, m), str(rng.choice(["off", "frozen"]))


def fast_and_plain(net, X, y, dropout):
    """-> (J(θ), [(block name, engine changes (2k,), plain-loop changes (2k,))] per block)."""
    out = []
    with float64_network(net) as (theta, dtheta):
        engine = Engine(net, theta, dtheta, EPS, dropout, np.random.default_rng(0))
        engine.start(X, y)

        def J():                           # the whole network, generators frozen as the engine's
            for layer, state in zip(net.layers, engine.frozen):
                layer.rng.bit_generator.state = state
            return net._cost(X, y)

        J0 = J()
        for block in net.blocks:
            entries = np.arange(block.stop - block.start)
            signs = np.concatenate([np.ones(entries.size), -np.ones(entries.size)])
            fast = engine.delta_J(block, np.concatenate([entries, entries]), signs)[0]
            plain = []
            for sign, i in zip(signs, np.concatenate([entries, entries])):
                saved = theta[block.start + i]
                theta[block.start + i] = saved + sign * EPS
                plain.append(J() - J0)
                theta[block.start + i] = saved
            out.append((block.name, fast, np.array(plain)))
    return J0, out


@pytest.mark.parametrize("seed", range(40))
def test_the_engine_gives_the_plain_loops_changes_of_J(seed):
    net, X, y, dropout = random_zoo_network(seed)
    J0, blocks = fast_and_plain(net, X, y, dropout)
    round_off = 100 * np.finfo(float).eps * abs(J0) / EPS  # of the plain loop's J(θ ± ε) − J(θ)
    for name, fast, plain in blocks:
        gap = np.abs(fast - plain) / EPS                   # in gradient units
        assert np.all(gap <= 1e-8 * (1 + np.abs(plain) / EPS) + round_off), \
            f"{name}: worst gap {gap.max():.2e}\n{net.summary()}\ndropout={dropout}"


def test_the_zoo_exercises_every_layer_and_both_dropout_modes():
    seen, classes = set(), set()
    for seed in range(40):
        net, _, _, dropout = random_zoo_network(seed)
        seen.update(type(layer).__name__ for layer in net.layers)
        classes.update(type(layer) for layer in net.layers)
        seen.add(dropout)
    assert {tn.BatchNorm, tn.LayerNorm, tn.Softmax} <= classes   # the built-ins, not the custom ones
    names = {"ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Dropout", "Softmax", "RowCenter",
             "BatchCenterClaimingTooMuch", "FixedMask", "SelfRngDropout", "MyLeakyReLU",
             "InPlaceReLU", "NoisyKinksTanh", "Swish", "Scale", "BatchNorm", "OwnForwardDense"}
    assert names | {"off", "frozen"} <= seen, names - seen
