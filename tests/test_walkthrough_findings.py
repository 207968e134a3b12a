"""What a newcomer's walk through the README ran into: all-zero blocks that looked tested,
and arguments written the way PyTorch, Keras or the course write them got unclear errors.
(The check at a flat point of a loss is in tests/test_custom_loss.py.)"""

import numpy as np
import pytest

import tinynet as tn


def test_one_all_zero_block_among_others_keeps_its_verdict_with_a_note():
    # One hidden ReLU unit, dead on every example: W1, b1 and W2 get exactly 0 both ways,
    # b2 (the softmax's p - y) does not.
    net = tn.Network([tn.Dense(2, 1), tn.ReLU(), tn.Dense(1, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    net.layers[0].params["b"][...] = -50.0
    X, y = tn.datasets.moons(16, seed=0)
    report = net.check_gradients(X[:13], y[:13])    # an odd count: the mean of p - y is not 0
    assert report.passed
    notes = [n for n in report.notes if "nothing was tested in this block" in n]
    assert sorted(n.split(":")[0] for n in notes) == ["W1", "W2", "b1"]
    assert not any("every gradient is exactly 0 here" in n for n in report.notes)


def test_the_penalty_class_instead_of_an_instance_is_refused_at_construction():
    with pytest.raises(TypeError, match=r"penalty must be an instance such as L2\(\.\.\.\), not the class"):
        tn.Network([tn.Dense(2, 2)], loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2)


class Forgetful(tn.Layer):
    def __init__(self, n):                  # no super().__init__()
        self.n = n

    def forward(self, x, training=False):
        return x

    def backward(self, dout):
        return dout


def test_check_layer_names_a_forgotten_super_init_as_a_network_does():
    with pytest.raises(TypeError, match=r"^layer \(Forgetful\) did not call super\(\)\.__init__\(\) "
                                        r"in its __init__$"):
        tn.check_layer(Forgetful(3), np.zeros((4, 3)))
    with pytest.raises(TypeError, match=r"^layers\[0\] \(Forgetful\) did not call super\(\)\.__init__\(\)"):
        tn.Network([Forgetful(3)], loss=tn.MeanSquaredError())


@pytest.mark.parametrize("loss, n_out", [(tn.SoftmaxCrossEntropy(), 2), (tn.SigmoidCrossEntropy(), 1)])
@pytest.mark.parametrize("shape", [(1, -1), (-1, 1)])
def test_course_shaped_labels_get_a_ravel_hint_or_work(loss, n_out, shape):
    X, y = tn.datasets.moons(20, seed=0)
    net = tn.Network([tn.Dense(2, n_out)], loss=loss, seed=0)
    if n_out == 1 and shape == (-1, 1):       # a column of 0/1 labels is the sigmoid's own form
        net.fit(X, y.reshape(shape), progress=False)
        return
    before = net.params.copy()
    with pytest.raises(ValueError, match=r"pass y\.ravel\(\)"):
        net.fit(X, y.reshape(shape), progress=False)
    np.testing.assert_array_equal(net.params, before)


def test_dropout_with_pytorchs_p_names_keep_prob():
    with pytest.raises(TypeError, match=r"keep_prob.*1 - 0\.2"):
        tn.Dropout(p=0.2)


def test_fit_with_a_learning_rate_points_to_the_optimizer():
    net = tn.Network([tn.Dense(2, 2)], loss=tn.SoftmaxCrossEntropy(), seed=0)
    X, y = tn.datasets.moons(10, seed=0)
    with pytest.raises(TypeError, match=r"optimizer=tn\.SGD\(lr=0\.01\)"):
        net.fit(X, y, lr=0.01)


def test_to_torch_writes_dropout_p_as_the_decimal_one_would_type():
    pytest.importorskip("torch")
    net = tn.Network([tn.Dense(2, 4), tn.Dropout(keep_prob=0.9), tn.Dense(4, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    assert net.to_torch()[1].p == 0.1
    assert "Dropout(p=0.1," in repr(net.to_torch())
