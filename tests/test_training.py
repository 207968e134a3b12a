"""The training loop: real epochs, reproducibility, callbacks, and errors that change nothing."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import datasets
from tinynet.optim import SGD, Adam
from tinynet.training import (
    Callback, EarlyStopping, GradientCheck, GradientNormMonitor, History, fit,
)


def moons_net(seed=0, dtype=np.float64, keep_prob=1.0):
    layers = [tn.Dense(2, 16), tn.ReLU()]
    if keep_prob < 1:
        layers.append(tn.Dropout(keep_prob=keep_prob))
    layers += [tn.Dense(16, 2)]
    return tn.Network(layers, loss=tn.SoftmaxCrossEntropy(), seed=seed, dtype=dtype)


@pytest.fixture(scope="module")
def moons():
    return datasets.moons(200, seed=0)


def test_fit_decreases_the_loss_and_learns_moons(moons):
    X, y = moons
    net = moons_net()
    history = fit(net, X, y, epochs=60, batch_size=32, optimizer=Adam(lr=0.01), progress=False)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["accuracy"][-1] > 0.85
    assert history.epochs == len(history) == 60
    assert set(history.history) == {"loss", "accuracy", "lr"}


def test_network_fit_delegates_and_records_validation(moons):
    X, y = moons
    history = moons_net().fit(X, y, epochs=3, validation_data=(X[:50], y[:50]), progress=False)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 3 for v in history.history.values())
    assert "3 epochs" in repr(history)


class RowRecorder(tn.Layer):
    """A parameter-free first layer that records which rows (by a tag column) it sees."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x, training=False):
        if training:
            self.seen.append(x[:, 0].astype(int).tolist())
        return x[:, 1:]

    def backward(self, dout):
        return None


def test_every_example_is_used_once_per_epoch_and_the_last_partial_batch_is_kept():
    m, batch = 23, 5
    X = np.column_stack([np.arange(m), np.random.default_rng(0).normal(size=(m, 2))])
    y = np.arange(m) % 2
    recorder = RowRecorder()
    net = tn.Network([recorder, tn.Dense(2, 2)], loss=tn.SoftmaxCrossEntropy(), seed=0)
    fit(net, X, y, epochs=3, batch_size=batch, optimizer=SGD(0.1), progress=False)
    # the recorder also sees no training-mode forward outside the batches
    assert len(recorder.seen) == 3 * 5
    epochs = [sum(recorder.seen[5 * e:5 * e + 5], []) for e in range(3)]
    for rows in epochs:
        assert sorted(rows) == list(range(m))
    assert [len(b) for b in recorder.seen[:5]] == [5, 5, 5, 5, 3]
    assert epochs[0] != epochs[1] != epochs[2]  # a fresh permutation each epoch


def test_same_seed_gives_bit_identical_history_and_parameters(moons):
    X, y = moons
    runs = []
    for _ in range(2):
        net = moons_net(seed=3, keep_prob=0.8)
        history = fit(net, X, y, epochs=5, batch_size=16, optimizer=Adam(0.01), progress=False)
        runs.append((history.history, net.params.copy()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_fit_never_touches_numpys_global_random_state(moons):
    X, y = moons
    state = np.random.get_state()
    fit(moons_net(), X, y, epochs=2, batch_size=16, progress=False)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


def test_full_batch_gradient_descent_matches_the_course_update(moons):
    X, y = moons
    net, ref = moons_net(), moons_net()
    fit(net, X, y, epochs=2, optimizer=SGD(lr=0.5), progress=False)
    for _ in range(2):
        _, g = ref.cost_and_grad(X, y)
        ref.params -= 0.5 * g
    np.testing.assert_allclose(net.params, ref.params, rtol=1e-12, atol=1e-14)


def test_early_stopping_stops_and_restores_the_best_parameters(moons):
    X, y = moons
    best = {}

    class Snapshot(Callback):
        def on_epoch_end(self, net, epoch, logs):
            best[epoch] = (logs["val_loss"], net.params.copy())

    stopper = EarlyStopping(monitor="val_loss", patience=3)
    net = moons_net()
    # a learning rate that makes the validation loss bounce around
    history = fit(net, X, y, epochs=200, batch_size=8, optimizer=SGD(lr=2.0),
                  validation_data=(X[:40], y[:40]), callbacks=[Snapshot(), stopper], progress=False)
    assert stopper.stopped_epoch is not None and history.epochs < 200
    best_epoch = min(best, key=lambda e: best[e][0])
    assert stopper.best_epoch == best_epoch
    np.testing.assert_array_equal(net.params, best[best_epoch][1])


def test_early_stopping_needs_the_monitored_metric(moons):
    X, y = moons
    net = moons_net()
    before = net.params.copy()
    with pytest.raises(ValueError, match="val_loss.*validation_data"):
        fit(net, X, y, epochs=2, callbacks=[EarlyStopping()], progress=False)
    np.testing.assert_array_equal(net.params, before)


def test_gradient_norm_monitor_records_one_value_per_block_per_epoch(moons):
    X, y = moons
    monitor = GradientNormMonitor()
    net = moons_net()
    fit(net, X, y, epochs=4, batch_size=50, callbacks=[monitor], progress=False)
    assert list(monitor.norms) == ["W1", "b1", "W2", "b2"]
    assert all(len(v) == 4 and all(n >= 0 for n in v) for v in monitor.norms.values())
    # the last value is the norm of the last batch's gradient, block by block
    for block in net.blocks:
        expected = np.linalg.norm(net.grads[block.start:block.stop])
        assert monitor.norms[block.name][-1] == pytest.approx(expected)


def test_batch_hooks_see_every_step_with_its_loss_before_and_after_the_update(moons):
    X, y = moons

    class StepLog(Callback):
        def __init__(self):
            self.steps, self.moved = [], []

        def on_batch_begin(self, net, step):
            self.before = net.params.copy()

        def on_batch_end(self, net, step, logs):
            self.steps.append((step, logs["loss"]))
            self.moved.append(not np.array_equal(self.before, net.params))

    log = StepLog()
    history = fit(moons_net(), X, y, epochs=3, batch_size=50, shuffle=False, callbacks=[log],
                  progress=False)
    assert [step for step, _ in log.steps] == list(range(12))   # 3 epochs of 4 batches
    assert all(log.moved)                                       # called around each update
    first_epoch = np.mean([loss for _, loss in log.steps[:4]])  # equal batches: the plain mean
    assert history["loss"][0] == pytest.approx(first_epoch)


def test_gradient_check_callback_checks_at_start_and_during_training(moons):
    pytest.importorskip("tinynet.checking")
    X, y = moons
    check = GradientCheck(X[:8], y[:8], every=2)
    net, twin = moons_net(), moons_net()
    fit(net, X, y, epochs=4, batch_size=50, callbacks=[check], progress=False)
    fit(twin, X, y, epochs=4, batch_size=50, progress=False)
    assert [epoch for epoch, _ in check.reports] == [0, 2, 4]
    assert all(report.passed for _, report in check.reports)
    np.testing.assert_array_equal(net.params, twin.params)  # checking did not change training


def test_divergence_raises_naming_the_epoch_and_restores_the_epoch_start(moons):
    X, y = moons
    net = moons_net()
    at_epoch_start = {}

    class Keep(Callback):
        def on_epoch_end(self, net, epoch, logs):
            at_epoch_start[epoch + 1] = net.params.copy()

    with pytest.raises(FloatingPointError, match=r"epoch \d+.*batch \d+.*learning rate") as info:
        fit(net, X * 1e3, y, epochs=50, batch_size=20, optimizer=SGD(lr=10.0),
            callbacks=[Keep()], progress=False)
    assert np.all(np.isfinite(net.params))
    epoch = int(str(info.value).split("at epoch ")[1].split()[0])
    assert epoch >= 1  # diverged after some finite epochs: the restored state is known
    np.testing.assert_array_equal(net.params, at_epoch_start[epoch])
    assert isinstance(info.value.history, History)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"epochs": 0}, ValueError, "epochs must be a positive int, got 0"),
    ({"epochs": 2.5}, TypeError, "epochs must be a positive int"),
    ({"batch_size": -1}, ValueError, "batch_size must be a positive int or None.*-1"),
    ({"optimizer": "adam"}, TypeError, "optimizer must be a tinynet.optim.Optimizer"),
    ({"optimizer": Adam}, TypeError, "instance such as Adam"),
    ({"validation_data": (np.zeros((5, 3)), np.zeros(5, int))}, ValueError,
     "validation_data: X has 3 features"),
    ({"validation_data": (np.zeros((5, 2)), np.zeros(4, int))}, ValueError,
     "validation_data: .*different lengths"),
    ({"validation_data": np.zeros((5, 2))}, TypeError, "validation_data must be a pair"),
    ({"callbacks": [print]}, TypeError, r"callbacks\[0\] must be a tinynet.training.Callback"),
    ({"callbacks": [EarlyStopping]}, TypeError, "the class EarlyStopping"),
    ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
])
def test_bad_arguments_raise_clearly_and_leave_the_model_unchanged(moons, kwargs, error, match):
    X, y = moons
    net = moons_net()
    params, rng_state = net.params.copy(), net.rng.bit_generator.state
    with pytest.raises(error, match=match):
        fit(net, X, y, **{"epochs": 3, **kwargs})
    np.testing.assert_array_equal(net.params, params)
    assert net.rng.bit_generator.state == rng_state


def test_labels_that_do_not_fit_the_loss_are_refused_before_training(moons):
    X, y = moons
    net = moons_net()
    params = net.params.copy()
    with pytest.raises(ValueError, match="labels must be in 0..1"):
        net.fit(X, y + 1, epochs=2, progress=False)
    np.testing.assert_array_equal(net.params, params)


def test_a_negative_learning_rate_is_refused_by_the_optimizer():
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        Adam(lr=-0.1)


class DtypeRecorder(tn.Activation):
    """The identity, noting the dtype of every array it sees on the way in and on the way back."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def forward(self, x, training=False):
        self.seen.add(x.dtype)
        return x

    def backward(self, dout):
        self.seen.add(dout.dtype)
        return dout


def test_float32_networks_train_and_stay_float32(moons):
    X, y = moons
    for loss, n_out, target in [(tn.SoftmaxCrossEntropy(), 2, y),
                                (tn.SigmoidCrossEntropy(), 1, y),
                                (tn.MeanSquaredError(), 1, X[:, 0] * X[:, 1])]:
        recorders = [DtypeRecorder(), DtypeRecorder()]
        net = tn.Network([tn.Dense(2, 8), recorders[0], tn.Tanh(), tn.Dense(8, n_out),
                          recorders[1]], loss=loss, penalty=tn.L2(0.1), seed=0, dtype=np.float32)
        history = fit(net, X, target, epochs=20, batch_size=32, optimizer=Adam(0.01),
                      validation_data=(X[:20], target[:20]), progress=False)
        assert net.params.dtype == np.float32 and net.grads.dtype == np.float32
        # float64 data and targets are cast once: every activation and gradient is float32
        assert recorders[0].seen == recorders[1].seen == {np.dtype(np.float32)}
        assert history["loss"][-1] < history["loss"][0]
    assert "r2" in history and "accuracy" not in history  # regression records R²


def test_an_epoch_allocates_far_less_than_a_copy_of_X():
    # The data is checked in one pass without temporaries its size, and each shuffled batch is
    # gathered into one reused buffer instead of a permuted copy of X per epoch.
    import tracemalloc
    X = np.random.default_rng(0).normal(size=(20_000, 50))  # 8 MB
    y = (X[:, 0] > 0).astype(int)
    net = tn.Network([tn.Dense(50, 4), tn.ReLU(), tn.Dense(4, 2)], loss=tn.SoftmaxCrossEntropy(),
                     seed=0)
    fit(net, X[:100], y[:100], epochs=1, batch_size=100, progress=False)  # lazy state, imports
    tracemalloc.start()
    try:
        fit(net, X, y, epochs=2, batch_size=100, progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 8  # a boolean mask of X alone would be this large


def test_progress_false_prints_nothing_and_progress_true_shows_a_bar(moons, capsys):
    X, y = moons
    fit(moons_net(), X, y, epochs=3, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    fit(moons_net(), X, y, epochs=3, progress=True)
    assert "3/3" in capsys.readouterr().err


def test_batch_size_larger_than_the_data_is_the_full_batch(moons):
    X, y = moons
    a, b = moons_net(), moons_net()
    fit(a, X, y, epochs=3, batch_size=10_000, optimizer=SGD(0.1), progress=False)
    fit(b, X, y, epochs=3, batch_size=None, optimizer=SGD(0.1), progress=False)
    np.testing.assert_array_equal(a.params, b.params)
