"""The checker with layers users write: composite layers holding state, Dropout subclasses,
a forward that raises, and tied (shared) weights."""

import numpy as np
import pytest

import tinynet as tn


class Block(tn.Layer):
    """A residual block holding its own BatchNorm and a log of the batch sizes it saw."""

    def __init__(self, n):
        super().__init__()
        self.bn = tn.BatchNorm(n)
        self.parts = [tn.BatchNorm(n)]
        self.seen = []

    def forward(self, x, training=False):
        self.seen.append(x.shape[0])
        return x + self.bn.forward(x, training) + self.parts[0].forward(x, training)

    def backward(self, dout):
        return dout + self.bn.backward(dout) + self.parts[0].backward(dout)

    def out_features(self, n):
        return n


def test_nested_state_is_restored_by_every_check():
    block = Block(4)
    net = tn.Network([tn.Dense(3, 4), block, tn.Dense(4, 2)], loss=tn.SoftmaxCrossEntropy(),
                     seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 3)), rng.integers(0, 2, 16)
    net.fit(X, y, epochs=2)                           # running statistics away from 0 and 1
    saved = [b.buffers["running_mean"].copy() for b in (block.bn, block.parts[0])]
    seen = list(block.seen)
    net.check_gradients(X, y)
    tn.check_layer(block, X[:, :1].repeat(4, axis=1))
    assert block.seen == seen
    for b, before in zip((block.bn, block.parts[0]), saved):
        assert np.array_equal(b.buffers["running_mean"], before)


def test_gradient_check_callback_does_not_change_training():
    X, y = tn.datasets.flower(96, seed=0)
    probabilities = []
    for callbacks in ([], [tn.GradientCheck(X[:24], y[:24], every=3)]):
        net = tn.Network([tn.Dense(2, 6), Block(6), tn.Tanh(), tn.Dense(6, 2)],
                         loss=tn.SoftmaxCrossEntropy(), seed=0)
        net.fit(X, y, epochs=6, callbacks=callbacks, progress=False)
        probabilities.append(net.predict_proba(X))
    assert np.array_equal(*probabilities)


class TextbookDropout(tn.Dropout):
    def backward(self, dout):
        return dout * self.mask


@pytest.mark.parametrize("dropout", ["off", "frozen"])
def test_dropout_subclass_with_a_textbook_backward(dropout):
    net = tn.Network([tn.Dense(2, 8), tn.ReLU(), TextbookDropout(0.8), tn.Dense(8, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    X, y = tn.datasets.flower(32, seed=0)
    assert net.check_gradients(X, y, dropout=dropout).passed
    assert net.layers[2].keep_prob == 0.8 and net.layers[2].mask is None


@pytest.mark.parametrize("method", ["forward", "backward"])
def test_an_exception_inside_a_layer_names_the_layer(method):
    class Broken(tn.Activation):
        def forward(self, x, training=False):
            return x * (None if method == "forward" else 2.0)

        def backward(self, dout):
            return dout * (None if method == "backward" else 2.0)

    net = tn.Network([tn.Dense(2, 3), Broken(), tn.Dense(3, 2)], loss=tn.SoftmaxCrossEntropy(),
                     seed=0)
    X, y = tn.datasets.flower(8, seed=0)
    with pytest.raises(RuntimeError, match=rf"layers\[1\] \(.*Broken.*\): {method} raised "
                                           "TypeError") as info:
        net.check_gradients(X, y)
    assert isinstance(info.value.__cause__, TypeError)
