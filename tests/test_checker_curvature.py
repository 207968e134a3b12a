"""A kink is confirmed, never guessed: smooth curvature at a large eps is not a kink.

At one step ε a kink and smooth curvature look alike: both bend J, so the one-sided slopes
differ. The gap between them is ε·J'' for a smooth J (it shrinks with ε) and the slope
change for a kink (it stays). A buggy smooth layer must therefore fail at every accepted ε,
a correct one pass with no kinks, and real kinks (ReLU, |x|, a hinge) still be kinks.
"""

import numpy as np
import pytest

import tinynet as tn

EPS = [1e-6, 1e-3, 1e-2, 0.1]


class Exp(tn.Activation):
    factor = 1.0                     # 1.05 or 1.001: a planted bug in dx

    def forward(self, x, training=False):
        self.out = np.exp(x)
        return self.out

    def backward(self, dout):
        return dout * self.out * self.factor        # dx = dout ⊙ exp(x)


class Square(tn.Activation):
    factor = 1.0

    def forward(self, x, training=False):
        self.x = x
        return x ** 2

    def backward(self, dout):
        return dout * 2 * self.x * self.factor      # dx = dout ⊙ 2x


class Sin30(tn.Activation):
    def forward(self, x, training=False):
        self.x = x
        return np.sin(30 * x)

    def backward(self, dout):
        return dout * 30 * np.cos(30 * self.x)      # dx = dout ⊙ 30 cos(30x)


class Abs(tn.Activation):                           # no kinks hook: judged from J itself
    def forward(self, x, training=False):
        self.x = x
        return np.abs(x)

    def backward(self, dout):
        return dout * np.sign(self.x)               # sign(0) = 0 is a subgradient


def buggy(cls, factor):
    return type(f"{cls.__name__}Off", (cls,), {"factor": factor})()


@pytest.mark.parametrize("cls", [Exp, Square])
@pytest.mark.parametrize("factor", [1.05, 1.001])
def test_a_smooth_layer_with_a_wrong_dx_fails_at_every_eps(cls, factor):
    x = np.random.default_rng(0).normal(size=(6, 4))
    X, y = x[:, :3], np.array([0, 1, 0, 1, 1, 0])
    for eps in EPS:
        report = tn.check_layer(buggy(cls, factor), x, eps=eps)
        assert not report.passed, f"eps={eps}\n{report}"
        net = tn.Network([tn.Dense(3, 4), buggy(cls, factor), tn.Dense(4, 2)],
                         loss=tn.SoftmaxCrossEntropy(), seed=0)
        report = net.check_gradients(X, y, eps=eps)
        assert not report.passed, f"eps={eps}\n{report}"
        assert "kinks only" not in str(report)


@pytest.mark.parametrize("eps", [1e-3, 1e-2])
def test_a_strongly_curved_correct_layer_passes_with_no_kinks(eps):
    x = np.random.default_rng(0).normal(size=(8, 3))
    report = tn.check_layer(Sin30(), x, eps=eps)
    assert report.passed, str(report)
    assert report.results["x"].kinks == 0 and report.results["x"].checked == x.size


def away_from_zero(rng, shape):
    """Inputs at least 0.5 from the kink at 0, so only the planted ones are near it."""
    return rng.uniform(0.5, 2, size=shape) * rng.choice([-1, 1], size=shape)


# |x| at exactly 0: the two-sided estimate (0) equals backprop's sign(0), so nothing to excuse
@pytest.mark.parametrize("layer, kinks", [(tn.ReLU(), 2), (tn.LeakyReLU(), 2), (Abs(), 1)],
                         ids=repr)
@pytest.mark.parametrize("eps", [1e-3, 1e-2])
def test_kinks_within_the_step_are_still_kinks(layer, kinks, eps):
    x = away_from_zero(np.random.default_rng(1), (5, 4))
    x[0, 0], x[1, 1] = 0.0, eps / 100       # on the kink, and crossed by both steps
    report = tn.check_layer(layer, x, eps=eps)
    assert report.passed, str(report)
    assert report.results["x"].kinks == kinks, str(report)


class Hinge:
    """The sum of hinge losses max(0, 1 − y·s), a loss with kinks at y·s = 1."""

    def forward(self, scores, y):
        self.scores, self.y = scores, y
        return float(np.maximum(0, 1 - y * scores).sum())

    def backward(self):
        return np.where(1 - self.y * self.scores > 0, -self.y, 0.0)


def test_a_hinge_kink_is_a_kink_and_a_wrong_slope_next_to_it_is_not():
    scores, y = np.array([[1.0, 0.3, 2.0, -0.5]]), np.ones((1, 4))
    report = tn.check_loss(Hinge(), scores, y, eps=1e-3)
    assert report.passed and report.results["scores"].kinks == 1, str(report)

    class HalfHinge(Hinge):
        def backward(self):
            return 0.5 * super().backward()

    assert not tn.check_loss(HalfHinge(), scores, y, eps=1e-2).passed


def test_a_block_with_every_entry_at_a_kink_is_inconclusive_not_passed():
    x = np.zeros((2, 3))                  # every input exactly on the ReLU's kink
    report = tn.check_layer(tn.ReLU(), x, eps=1e-3)
    result = report.results["x"]
    assert result.checked == 0 and result.kinks == x.size
    assert not report.passed and result.verdict == "inconclusive"
