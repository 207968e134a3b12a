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


class TiedEncoder(tn.Dense):
    """An encoder whose W a decoder reads too: its backward adds its own term."""

    def backward(self, dout):
        self.grads["W"][...] += dout.T @ self.x
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ self.params["W"]


class TiedDecoder(tn.Layer):
    """Decodes with the encoder's W transposed; ``tie=False`` forgets to add its term."""

    def __init__(self, encoder, tie=True):
        super().__init__()
        self.encoder, self.tie = encoder, tie

    def forward(self, x, training=False):
        self.x = x
        return x @ self.encoder.params["W"]

    def backward(self, dout):
        if self.tie:
            self.encoder.grads["W"][...] += self.x.T @ dout
        return dout @ self.encoder.params["W"].T

    def out_features(self, n):
        return self.encoder.n_in


def _tied(tie):
    encoder = TiedEncoder(3, 4)
    net = tn.Network([encoder, tn.Tanh(), TiedDecoder(encoder, tie)],
                     loss=tn.MeanSquaredError(), seed=0)
    rng = np.random.default_rng(1)
    return net, rng.normal(size=(8, 3)), rng.normal(size=(8, 3))


def _central_differences(net, X, y, h=1e-5):
    """The course's loop, independent of the checker."""
    theta, numeric = net.params.copy(), np.empty(net.params.size)
    for i in range(theta.size):
        for sign in (1, -1):
            net.params[i] = theta[i] + sign * h
            if sign == 1:
                plus = net.cost(X, y)
            else:
                numeric[i] = (plus - net.cost(X, y)) / (2 * h)
        net.params[i] = theta[i]
    return numeric


@pytest.mark.parametrize("mode", ["full", "sample", "screen"])
def test_tied_weights_without_the_tied_term_fail_and_blame_no_correct_layer(mode):
    net, X, y = _tied(tie=False)
    J, analytic = net.cost_and_grad(X, y)
    numeric = _central_differences(net, X, y)
    W1 = slice(0, 12)
    assert np.abs(analytic[W1] - numeric[W1]).max() > 0.1     # the bug is real
    theta = net.params.copy()
    report = net.check_gradients(X, y, mode=mode)
    assert np.array_equal(net.params, theta)
    assert not report.passed and not report.results["W1"].passed
    assert report.results["b1"].passed
    assert report.culprits == []                             # neither layer is wrong alone
    assert any(note.startswith("blame cannot judge W1") and "layers[2]" in note
               for note in report.notes)


@pytest.mark.parametrize("mode", ["full", "sample", "screen"])
def test_tied_weights_with_the_tied_term_pass(mode):
    net, X, y = _tied(tie=True)
    _, analytic = net.cost_and_grad(X, y)
    assert np.allclose(analytic, _central_differences(net, X, y), rtol=1e-6, atol=1e-8)
    assert net.check_gradients(X, y, mode=mode).passed


class Shift(tn.Activation):
    """x - t, where t is the bias of a Dense layer further on (read before its owner)."""

    def __init__(self, owner):
        super().__init__()
        self.owner = owner

    def forward(self, x, training=False):
        return x - self.owner.params["b"][:x.shape[1]]

    def backward(self, dout):
        self.owner.grads["b"][...] -= dout.sum(axis=0)[:self.owner.grads["b"].size]
        return dout


class AccumulatingDense(tn.Dense):
    def backward(self, dout):
        self.grads["W"][...] += dout.T @ self.x
        self.grads["b"][...] += dout.sum(axis=0)
        return dout @ self.params["W"]


class ForgetfulShift(Shift):
    def backward(self, dout):
        return dout


@pytest.mark.parametrize("shift, passes", [(Shift, True), (ForgetfulShift, False)])
def test_a_parameter_read_by_an_earlier_layer(shift, passes):
    last = AccumulatingDense(4, 4)
    net = tn.Network([tn.Dense(3, 4), shift(last), tn.Tanh(), last],
                     loss=tn.MeanSquaredError(), seed=0)
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 4))
    report = net.check_gradients(X, y)
    assert report.passed is passes
    assert report.results["b2"].passed is passes and report.results["W2"].passed
    assert any("b2" in note and "layers[1]" in note for note in report.notes)


def test_check_loss_leaves_a_loss_that_logs_its_calls_as_it_was():
    class LoggedMSE(tn.MeanSquaredError):
        def __init__(self):
            super().__init__()
            self.calls = []

        def forward(self, scores, y):
            self.calls.append(scores.shape)
            return super().forward(scores, y)

    loss = LoggedMSE()
    loss.forward(np.ones((2, 2)), np.zeros((2, 2)))
    attributes = dict(vars(loss))
    rng = np.random.default_rng(0)
    assert tn.check_loss(loss, rng.normal(size=(4, 3)), rng.normal(size=(4, 3))).passed
    assert loss.calls == [(2, 2)] and vars(loss).keys() == attributes.keys()
