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
