"""What a newcomer trips over, made right: outcomes rather than errors (errors are rows of
tests/test_bad_inputs.py)."""

import sys
import types

import numpy as np
import pytest

import tinynet as tn


def test_dropout_on_an_integer_array_gives_finite_inverted_dropout():
    layer = tn.Dropout(keep_prob=0.5)
    out = layer.forward(np.full((50, 40), 3, dtype=np.int64), training=True)
    assert np.all(np.isfinite(out))
    assert set(np.unique(out)) == {0.0, 6.0}   # dropped, or 3 / keep_prob
    assert 0.4 < np.mean(out == 6.0) < 0.6


def test_a_network_of_activations_only_takes_its_width_from_the_data():
    net = tn.Network([tn.ReLU()], loss=tn.SoftmaxCrossEntropy())
    X = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    # softmax cross-entropy of relu(X), by hand
    scores = np.maximum(X, 0)
    y = np.array([2, 1])
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    assert net.cost(X, y) == pytest.approx(-np.log(p[[0, 1], y]).mean(), rel=1e-12)
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.2 for a network with 3 outputs"):
        net.cost(X, np.array([3, 0]))


def test_a_seeded_dense_keeps_its_own_weights_inside_a_network():
    alone = tn.Dense(3, 4, seed=5).params["W"].copy()
    first = tn.Network([tn.Dense(3, 4, seed=5), tn.ReLU(), tn.Dense(4, 2)],
                       loss=tn.SoftmaxCrossEntropy(), seed=0)
    second = tn.Network([tn.Dense(3, 4, seed=5), tn.ReLU(), tn.Dense(4, 2)],
                        loss=tn.SoftmaxCrossEntropy(), seed=1)
    np.testing.assert_array_equal(first.parameters()["W1"], alone)
    np.testing.assert_array_equal(second.parameters()["W1"], alone)
    # the unseeded layer still follows the network's seed
    assert not np.array_equal(first.parameters()["W2"], second.parameters()["W2"])


def test_history_loss_is_the_batch_weighted_mean_of_the_mini_batch_costs():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, 10)

    def make():
        return tn.Network([tn.Dense(2, 3), tn.Tanh(), tn.Dense(3, 2)], loss=tn.SoftmaxCrossEntropy(),
                          penalty=tn.L2(lambd=0.5), seed=3)

    net, replay = make(), make()
    history = net.fit(X, y, epochs=1, batch_size=4, optimizer=tn.SGD(lr=0.1), shuffle=False,
                      progress=False)
    costs = []  # by hand: each batch's J (its own m in the penalty) before that batch's step
    for start in range(0, 10, 4):
        J, g = replay.cost_and_grad(X[start:start + 4], y[start:start + 4])
        costs.append((J, len(X[start:start + 4])))
        replay.params -= 0.1 * g
    expected = sum(J * size for J, size in costs) / 10
    assert history["loss"][0] == pytest.approx(expected, rel=1e-12)
    assert history["loss"][0] != pytest.approx(net.cost(X, y), rel=1e-3)  # not the full-data J


def test_fit_without_a_progress_bar_never_imports_the_notebook_bar(monkeypatch):
    broken = types.ModuleType("tqdm.auto")

    def warn(name):
        raise AssertionError("tqdm.auto was used with progress=False (it warns in notebooks)")

    broken.__getattr__ = warn
    monkeypatch.setitem(sys.modules, "tqdm.auto", broken)
    net = tn.Network([tn.Dense(2, 2)], loss=tn.SoftmaxCrossEntropy(), seed=0)
    history = net.fit(np.eye(2), np.array([0, 1]), epochs=3, progress=False)
    assert history.epochs == 3


def test_the_datasets_module_shows_only_its_public_names():
    names = dir(tn.datasets)
    assert sorted(names) == sorted(tn.datasets.__all__)
    assert not {"np", "Path", "numbers", "resources"} & set(names)
    assert all(not name.startswith("_") and hasattr(tn.datasets, name) for name in names)
