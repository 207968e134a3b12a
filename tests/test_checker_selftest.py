"""The checker checks itself: every planted bug is flagged AND blamed on the right blocks.

Each bug is a small subclass that overrides one backward (or a custom loss / penalty). The
network is Dense(4→6) act Dense(6→6) act Dense(6→3): W2 is square so that a transposed
dW2 is a real bug. Which blocks a bug must fail follows from backprop itself: a wrong dW
or db breaks only that block; a wrong dx (an activation's, dropout's) breaks every block
below it; a wrong dscores (the loss) breaks everything; a wrong L2 backward breaks the W's.
"""

import numpy as np
import pytest

import tinynet as tn
from numeric import away_from_kinks

ALL = {"W1", "b1", "W2", "b2", "W3", "b3"}
BELOW_FIRST_ACTIVATION = {"W1", "b1"}
WEIGHTS = {"W1", "W2", "W3"}


# ---- planted bugs ---------------------------------------------------------------------------

class ReLUForgetsMask(tn.ReLU):
    def backward(self, dout):
        return dout                                     # should be dout * (x > 0)


class TanhWrong(tn.Tanh):
    def backward(self, dout):
        return dout * (1 - self.out)                    # should be 1 − A²


class SigmoidWrong(tn.Sigmoid):
    def backward(self, dout):
        return dout * self.out                          # should be A (1 − A)


class LeakyReLUForgetsAlpha(tn.LeakyReLU):
    def backward(self, dout):
        return dout * (self.x > 0)                      # slope alpha below 0 forgotten


class DenseTimesM(tn.Dense):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] *= dout.shape[0]                # the 1/m undone
        return dx


class DenseSignFlip(tn.Dense):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] *= -1
        return dx


class DenseBiasSignFlip(tn.Dense):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] *= -1
        return dx


class DenseTransposed(tn.Dense):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"][...] = self.grads["W"].T.copy()
        return dx


class DenseOneEntry(tn.Dense):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"][1, 2] += 0.05 * np.abs(self.grads["W"]).max()
        return dx


class DenseBiasDoubled(tn.Dense):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] *= 2
        return dx


class DenseDxWrong(tn.Dense):
    def backward(self, dout):
        super().backward(dout)
        return dout @ self.params["W"] * 1.5            # dX off by a factor


class SoftmaxForgetsM(tn.SoftmaxCrossEntropy):
    def backward(self):
        dscores = super().backward()
        return dscores * dscores.shape[0]               # dscores without / m


class L2Forgotten(tn.L2):
    def backward(self, weights, m):
        return [np.zeros_like(W) for W in weights]


class L2Halved(tn.L2):
    def backward(self, weights, m):
        return [(self.lambd / (2 * m)) * W for W in weights]


class ScaleForgetsX(tn.Layer):
    """A custom layer A = x·gamma whose dgamma forgot the · x."""

    def __init__(self, n=6):
        super().__init__()
        self.add_param("gamma", np.linspace(0.5, 1.5, n))

    def forward(self, x, training=False):
        self.x = x
        return x * self.params["gamma"]

    def backward(self, dout):
        self.grads["gamma"][...] = dout.sum(axis=0)     # should be (dout * x).sum(axis=0)
        return dout * self.params["gamma"]


class DropoutForgetsScale(tn.Dropout):
    def backward(self, dout):
        return dout if self.mask is None else dout * (self.mask > 0)


def build(dense1=tn.Dense, act1=tn.Tanh, dense2=tn.Dense, act2=tn.Tanh, dense3=tn.Dense,
          loss=tn.SoftmaxCrossEntropy, penalty=None, dropout=None, seed=0):
    layers = [dense1(4, 6), act1(), dense2(6, 6), act2()]
    if dropout is not None:
        layers.append(dropout(keep_prob=0.6))
    layers.append(dense3(6, 3))
    return tn.Network(layers, loss=loss(), penalty=penalty, seed=seed)


# (id, builder keyword arguments, check options, expected failing blocks, hint fragment)
BUGS = [
    ("relu-forgets-mask", dict(act1=ReLUForgetsMask), {}, BELOW_FIRST_ACTIVATION, ""),
    ("relu-forgets-mask-layer2", dict(act2=ReLUForgetsMask), {}, {"W1", "b1", "W2", "b2"}, ""),
    ("tanh-wrong", dict(act1=TanhWrong), {}, BELOW_FIRST_ACTIVATION, ""),
    ("sigmoid-wrong", dict(act1=SigmoidWrong), {}, BELOW_FIRST_ACTIVATION, ""),
    ("leakyrelu-forgets-alpha", dict(act1=lambda: LeakyReLUForgetsAlpha(0.2)), {},
     BELOW_FIRST_ACTIVATION, ""),
    ("loss-forgets-1/m", dict(loss=SoftmaxForgetsM), {}, ALL, "1/m is missing"),
    ("dense-dW-times-m", dict(dense2=DenseTimesM), {}, {"W2"}, "1/m is missing"),
    ("dW-sign-flip", dict(dense3=DenseSignFlip), {}, {"W3"}, "sign flip"),
    ("db-sign-flip", dict(dense1=DenseBiasSignFlip), {}, {"b1"}, "sign flip"),
    ("dW-transposed", dict(dense2=DenseTransposed), {}, {"W2"}, "transposed"),
    ("one-wrong-entry", dict(dense2=DenseOneEntry), {}, {"W2"}, "1 of 36"),
    ("dx-wrong", dict(dense3=DenseDxWrong), {}, {"W1", "b1", "W2", "b2"}, ""),
    ("l2-forgotten", dict(penalty=L2Forgotten(3.0)), {}, WEIGHTS, "L2 term missing"),
    ("l2-halved", dict(penalty=L2Halved(3.0)), {}, WEIGHTS, "L2 term halved"),
    ("dropout-forgets-1/keep_prob", dict(dropout=DropoutForgetsScale), dict(dropout="frozen"),
     {"W1", "b1", "W2", "b2"}, ""),
    ("custom-layer-param", dict(act1=ScaleForgetsX), {}, {"gamma2"}, ""),
    ("bias-bug-under-big-L2", dict(dense2=DenseBiasDoubled, penalty=tn.L2(1e4)), {}, {"b2"},
     "2 x numeric"),
]


def data(seed=0, m=12):
    rng = np.random.default_rng(seed)
    return away_from_kinks(rng, (m, 4)), rng.integers(0, 3, size=m)


@pytest.mark.parametrize("mode", ["full", "screen"])
@pytest.mark.parametrize("name, kwargs, options, expected, hint", BUGS, ids=[b[0] for b in BUGS])
def test_planted_bug_is_flagged_in_the_right_blocks(name, kwargs, options, expected, hint, mode):
    X, y = data()
    report = build(**kwargs).check_gradients(X, y, mode=mode, **options)
    assert report.passed is False, str(report)
    assert set(report.failed) == expected, str(report)


@pytest.mark.parametrize("name, kwargs, options, expected, hint",
                         [b for b in BUGS if b[4]], ids=[b[0] for b in BUGS if b[4]])
def test_planted_bug_hint_names_the_bug_class(name, kwargs, options, expected, hint):
    X, y = data()
    report = build(**kwargs).check_gradients(X, y, mode="full", **options)
    hints = [report.results[block].hint for block in expected]
    assert all(hint in h for h in hints), hints


def test_the_dropout_bug_is_invisible_with_dropout_off():
    """keep_prob = 1 during the check: dropout's backward is never exercised."""
    X, y = data()
    assert build(dropout=DropoutForgetsScale).check_gradients(X, y, dropout="off").passed


def test_the_same_networks_without_the_bugs_pass():
    X, y = data()
    for kwargs in (dict(), dict(act1=tn.ReLU, act2=tn.ReLU), dict(act1=tn.Sigmoid),
                   dict(act1=lambda: tn.LeakyReLU(0.2)), dict(penalty=tn.L2(3.0)),
                   dict(penalty=tn.L2(1e4)), dict(dropout=tn.Dropout)):
        for mode in ("full", "screen"):
            report = build(**kwargs).check_gradients(X, y, mode=mode, dropout="frozen")
            assert report.passed, str(report)
