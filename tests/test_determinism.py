"""Determinism: the same seed gives the same parameters, training history and check report,
bit for bit; and no part of tinynet touches numpy's global random state."""

import tempfile
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn


def workflow(seed, dtype=np.float64):
    """Everything random a user does: data, init, dropout, shuffled mini-batches, every checker."""
    X, y = tn.datasets.moons(60, noise=0.3, seed=seed)
    X_train, X_test, y_train, y_test = tn.datasets.train_test_split(X, y, test_size=0.25, seed=seed)
    net = tn.Network([tn.Dense(2, 8), tn.ReLU(), tn.Dropout(keep_prob=0.8), tn.Dense(8, 8),
                      tn.Tanh(), tn.Dense(8, 2)],
                     loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(lambd=0.1), seed=seed, dtype=dtype)
    initial = net.params.copy()
    history = net.fit(X_train, y_train, epochs=4, batch_size=10, optimizer=tn.Adam(lr=0.01),
                      validation_data=(X_test, y_test), progress=False)
    reports = [net.check_gradients(X_train[:8], y_train[:8], dropout="frozen", seed=seed),
               net.check_gradients(X_train[:8], y_train[:8], mode="sample", samples=4, seed=seed),
               net.check_gradients(X_train[:8], y_train[:8], mode="screen", seed=seed),
               tn.check_layer(tn.Dropout(keep_prob=0.5), X_train[:5], seed=seed),
               tn.check_layer(net.layers[3], np.tanh(X_train[:5] @ np.ones((2, 8))), seed=seed)]
    with tempfile.TemporaryDirectory() as folder:
        net.save(Path(folder) / "m.npz")
        loaded = tn.load(Path(folder) / "m.npz")
    return {"initial": initial, "trained": net.params.copy(), "history": history.history,
            "reports": [report.to_json() for report in reports],
            "loaded cost": loaded.cost(X_test, y_test)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_same_seed_gives_the_same_parameters_history_and_reports_bit_for_bit(dtype):
    first, second = workflow(3, dtype), workflow(3, dtype)
    assert first["initial"].tobytes() == second["initial"].tobytes()
    assert first["trained"].tobytes() == second["trained"].tobytes()
    assert first["history"] == second["history"]  # floats compared exactly
    assert first["reports"] == second["reports"]
    assert first["loaded cost"] == second["loaded cost"]


def test_a_different_seed_gives_different_results_so_the_comparison_above_is_not_vacuous():
    first, other = workflow(3), workflow(4)
    assert first["initial"].tobytes() != other["initial"].tobytes()
    assert first["history"]["loss"] != other["history"]["loss"]
    assert first["reports"] != other["reports"]


def test_a_report_does_not_depend_on_how_often_the_model_was_checked_before():
    X, y = tn.datasets.flower(20, seed=1)
    net = tn.Network([tn.Dense(2, 4), tn.ReLU(), tn.Dropout(keep_prob=0.5), tn.Dense(4, 1)],
                     loss=tn.SigmoidCrossEntropy(), seed=1)
    first = net.check_gradients(X, y, dropout="frozen", mode="sample", samples=3).to_json()
    net.check_gradients(X, y, mode="screen", seed=9)
    assert net.check_gradients(X, y, dropout="frozen", mode="sample", samples=3).to_json() == first


@pytest.fixture
def global_state_restored():
    saved = np.random.get_state()
    yield
    np.random.set_state(saved)  # this test seeds the global generator; leave it as found


def test_nothing_in_the_workflow_touches_numpys_global_random_state(global_state_restored):
    np.random.seed(12345)
    state = np.random.get_state()
    workflow(0)
    tn.Dense(3, 2)  # without a seed: fresh OS entropy, never the global generator
    tn.gradcheck(lambda p: float((p["W1"] ** 2).sum()), {"W1": np.ones((2, 2))},
                 {"dW1": 2 * np.ones((2, 2))})
    after = np.random.get_state()
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2:] == state[2:]
    # and the global generator still produces what that seed promises
    expected = np.random.RandomState(12345).random_sample(3)
    np.testing.assert_array_equal(np.random.random(3), expected)
