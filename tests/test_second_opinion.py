"""The second opinion outside the network's full check (review items 3-6): check_layer,
check_loss, screen mode and gradcheck judge how an error moves with eps, not only its size."""

import numpy as np
import pytest

import tinynet as tn


class DoubledReLU(tn.ReLU):
    """A planted bug: the input gradient twice too large."""

    def backward(self, dout):
        return 2 * super().backward(dout)


def _tiny_input_net(activation, seed):
    rng = np.random.default_rng(seed)
    net = tn.Network([tn.Dense(3, 12), activation(), tn.Dense(12, 3)],
                     loss=tn.SoftmaxCrossEntropy(), seed=seed)
    # inputs of scale 1e-5: several units within eps of their kink, on both sides
    return net, rng.normal(size=(16, 3)) * 1e-5, rng.integers(0, 3, 16)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_net_on_tiny_inputs_passes(seed):
    net, X, y = _tiny_input_net(tn.ReLU, seed)
    report = net.check_gradients(X, y)
    assert report.passed, str(report)


def test_doubled_relu_on_tiny_inputs_still_fails():
    net, X, y = _tiny_input_net(DoubledReLU, 0)
    report = net.check_gradients(X, y)
    assert not report.passed
    assert report.results["W1"].difference > 0.1


class Scale(tn.Layer):
    """The README's custom layer; ``factor`` plants a bug in its input gradient."""

    def __init__(self, n, factor=1.0):
        super().__init__()
        self.factor = factor
        self.add_param("gamma", np.linspace(0.5, 2, n))

    def forward(self, x, training=False):
        self.x = x
        return x * self.params["gamma"]

    def backward(self, dout):
        self.grads["gamma"][...] = (dout * self.x).sum(axis=0)
        return dout * self.params["gamma"] * self.factor

    def out_features(self, n):
        return n


@pytest.mark.parametrize("factor, passes", [(1.0, True), (1 + 2e-6, False)])
def test_check_layer_judges_a_small_constant_factor_as_the_network_check_does(factor, passes):
    x = np.random.default_rng(0).normal(size=(8, 4))
    report = tn.check_layer(Scale(4, factor), x)
    assert report.passed is passes
    # inside the course's "fine" band, so only the second opinion can fail it
    assert report.results["x"].difference < 1e-5
    net = tn.Network([tn.Dense(3, 4), Scale(4, factor), tn.Tanh(), tn.Dense(4, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    X = np.random.default_rng(1).normal(size=(16, 3))
    y = np.random.default_rng(2).integers(0, 2, 16)
    for mode in ("full", "screen"):
        report = net.check_gradients(X, y, mode=mode)
        assert report.passed is passes, (mode, str(report))
        if not passes:
            assert [(c.where, c.part) for c in report.culprits] == [("layers[1]", "x")]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("make", [tn.ReLU, tn.Tanh, tn.Softmax, lambda: tn.Dense(4, 3),
                                  lambda: tn.BatchNorm(4), lambda: tn.LayerNorm(4),
                                  lambda: Scale(4)])
def test_check_layer_passes_correct_layers(make, seed):
    x = np.random.default_rng(seed).normal(size=(6, 4)) * [1e-3, 1.0, 30.0, 1.0]
    report = tn.check_layer(make(), x, seed=seed)
    assert report.passed, str(report)


class ScaledBackward(tn.SoftmaxCrossEntropy):
    """A planted bug: dscores off by a constant factor."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def backward(self):
        return super().backward() * self.factor


def _confident_scores(margin, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 8)
    scores = rng.normal(size=(8, 3))
    scores[np.arange(8), y] += margin          # a trained network's scores
    return scores, y


@pytest.mark.parametrize("margin", [0.0, 10.0, 25.0, 40.0])
def test_check_loss_passes_softmax_cross_entropy_at_confident_scores(margin):
    scores, y = _confident_scores(margin)
    loss = tn.SoftmaxCrossEntropy()
    assert margin < 25 or loss.forward(scores.copy(), y) < 1e-9     # J is tiny, not the scores
    assert tn.check_loss(loss, scores, y).passed


@pytest.mark.parametrize("margin, factor", [(0.0, 1 + 2e-6), (0.0, 2.0), (25.0, 2.0)])
def test_check_loss_fails_a_wrong_dscores(margin, factor):
    scores, y = _confident_scores(margin)
    report = tn.check_loss(ScaledBackward(factor), scores, y)
    assert not report.passed, str(report)


def _softmax_regression(shift, seed):
    """The course's layout (examples in columns), hand-written; shift separates the classes
    until J is ~1e-12."""
    rng = np.random.default_rng(seed)
    m = 8
    X = rng.normal(size=(2, m))
    Y = (X[0] > 0).astype(int)
    X[0] += np.where(Y == 1, shift, -shift)
    params = {"W1": np.array([[-4.0, 0.0], [4.0, 0.0]]), "b1": np.zeros((2, 1))}

    def cost(p):
        Z = p["W1"] @ X + p["b1"]
        Z = Z - Z.max(axis=0)
        return float(np.mean(np.log(np.exp(Z).sum(axis=0)) - Z[Y, np.arange(m)]))

    def grads(p, factor=1.0):
        Z = p["W1"] @ X + p["b1"]
        S = np.exp(Z - Z.max(axis=0))
        S /= S.sum(axis=0)
        dZ = (S - np.eye(2)[Y].T) / m            # textbook: softmax minus one-hot, over m
        return {"dW1": factor * dZ @ X.T, "db1": dZ.sum(axis=1, keepdims=True)}
    return cost, params, grads


@pytest.mark.parametrize("shift, seed", [(0.0, 0), (3.0, 0), (3.0, 1), (3.0, 2)])
def test_gradcheck_on_a_confident_softmax_regression(shift, seed):
    cost, params, grads = _softmax_regression(shift, seed)
    assert tn.gradcheck(cost, params, grads(params)).passed
    report = tn.gradcheck(cost, params, grads(params, factor=2.0))
    assert not report.passed
    assert not report.results["W1"].passed and report.results["b1"].passed
