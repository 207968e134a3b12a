"""A layer that computes in float32 inside the float64 check is named, not called a bug.

The checker runs on a float64 copy of the model; a custom layer that casts to float32 in its
forward rounds J at float32's precision, so finite differences at ε = 1e-6 are round-off.
Its blocks are "inconclusive" with a note naming the layer, never "bug" with a factor hint
and a blame on the wiring; a real bug above float32's round-off still fails as one.
"""

import numpy as np

import tinynet as tn


class Swish32(tn.Activation):
    """x·σ(x) computed in float32, as in a float32 model whose author casts to its dtype."""
    factor = 1.0

    def forward(self, x, training=False):
        x = x.astype(np.float32)
        self.s, self.x = 1 / (1 + np.exp(-x)), x
        return x * self.s

    def backward(self, dout):
        # dx = dout ⊙ (σ + x σ (1 − σ))
        return dout * (self.s + self.x * self.s * (1 - self.s)) * self.factor


class Swish32Wrong(Swish32):
    factor = 100.0                       # far above float32 round-off


def check(layer):
    net = tn.Network([tn.Dense(2, 8), layer, tn.Dense(8, 2)], loss=tn.SoftmaxCrossEntropy(),
                     seed=0, dtype=np.float32)
    X, y = tn.datasets.flower(32, seed=0)
    return net.check_gradients(X, y)


def test_a_correct_float32_layer_is_inconclusive_and_named_not_a_bug():
    report = check(Swish32())
    assert any("layers[1] (Swish32()).forward returns float32" in n for n in report.notes)
    failed = [report.results[name] for name in report.failed]
    assert failed and all(r.verdict == "inconclusive" and "float32" in r.hint for r in failed)
    assert {"W2", "b2"}.isdisjoint(report.failed)      # above the layer: computed in float64
    text = str(report)
    assert "constant factor" not in text and "root cause" not in text, text
    assert report.culprits == []


def test_a_float32_layer_with_a_real_bug_still_fails_as_a_bug():
    report = check(Swish32Wrong())
    assert not report.passed
    assert any(r.verdict not in ("inconclusive", "great", "fine") for r in report.results.values()
               if not r.passed), str(report)
