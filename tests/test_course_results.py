"""The course's results reproduce, in bands, with tinynet's own data generators.

Numbers from deeplearning.ai Course 1 week 3 (planar flower) and Course 2 weeks 1-2
(initialization, optimization). Full-batch gradient descent is deterministic; the bands allow
for our data being drawn by our generators, not the course's files.
"""

import numpy as np
import pytest

import tinynet as tn
from tinynet import datasets
from tinynet.optim import SGD, Adam, Momentum


def binary_mlp(sizes, activations, init, scale=None, seed=0):
    """sizes [n0, n1, ..., 1]; one activation class per hidden layer; SigmoidCrossEntropy."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(tn.Dense(n_in, n_out, init=init, scale=scale))
        if i < len(activations):
            layers.append(activations[i]())
    return tn.Network(layers, loss=tn.SigmoidCrossEntropy(), seed=seed)


@pytest.fixture(scope="module")
def circles():
    # the course: sklearn's make_circles (factor 0.8), noise 0.05, 300 train / 100 test
    train = datasets.circles(300, noise=0.05, factor=0.8, seed=1)
    test = datasets.circles(100, noise=0.05, factor=0.8, seed=2)
    return train, test


def train_circles(circles, init, scale=None, seed=0):
    (X, y), (Xt, yt) = circles
    net = binary_mlp([2, 10, 5, 1], [tn.ReLU, tn.ReLU], init, scale, seed)
    history = net.fit(X, y, epochs=15000, optimizer=SGD(lr=0.01), progress=False)
    return net.score(X, y), net.score(Xt, yt), history


def test_zero_initialization_cannot_break_symmetry(circles):
    # course: 50% train, 50% test; every unit of a layer stays identical
    train, test, history = train_circles(circles, "zeros")
    assert train == pytest.approx(0.5, abs=0.02) and test == pytest.approx(0.5, abs=0.05)
    assert history["loss"][-1] == pytest.approx(np.log(2), abs=1e-3)


def test_large_random_initialization_is_clearly_worse_than_he(circles):
    # course: large random (randn * 10) 83% train / 86% test, cost starting near infinity;
    # He 99% train / 96% test. Averaged over 4 seeds since one draw can get lucky.
    large = [train_circles(circles, "normal", scale=10.0, seed=s) for s in range(4)]
    he = [train_circles(circles, "he", seed=s) for s in range(4)]
    assert all(h[0] >= 0.95 for h in he)
    assert np.mean([h[1] for h in he]) >= 0.9
    assert np.mean([r[0] for r in large]) <= np.mean([h[0] for h in he]) - 0.03
    assert min(r[2]["loss"][0] for r in large) > 100 * max(h[2]["loss"][0] for h in he)
    assert np.mean([r[2]["loss"][-1] for r in large]) > np.mean([h[2]["loss"][-1] for h in he])


def test_planar_flower_with_four_tanh_units():
    # course 1 week 3: one hidden layer of 4 tanh units, lr 1.2, 10000 iterations: ~90%
    X, y = datasets.flower(400, seed=0)
    net = binary_mlp([2, 4, 1], [tn.Tanh], "xavier")
    net.fit(X, y, epochs=10000, optimizer=SGD(lr=1.2), progress=False)
    assert net.score(X, y) >= 0.85


def test_adam_beats_minibatch_gd_and_momentum_on_moons():
    # course 2 week 2: [2, 5, 2, 1] He init, batch 64, lr 0.0007, 10000 epochs:
    # GD ~80%, Momentum ~80%, Adam ~94%. We run 2000 epochs (suite time): Adam has reached its
    # plateau by then and the two others are still crawling, which is the lesson.
    X, y = datasets.moons(300, noise=0.2, seed=3)
    accuracy = {}
    for name, optimizer in [("gd", SGD(lr=0.0007)), ("momentum", Momentum(lr=0.0007, beta=0.9)),
                            ("adam", Adam(lr=0.0007))]:
        net = binary_mlp([2, 5, 2, 1], [tn.ReLU, tn.ReLU], "he")
        net.fit(X, y, epochs=2000, batch_size=64, optimizer=optimizer, progress=False)
        accuracy[name] = net.score(X, y)
    assert accuracy["adam"] >= 0.92
    assert accuracy["adam"] >= max(accuracy["gd"], accuracy["momentum"]) + 0.05
