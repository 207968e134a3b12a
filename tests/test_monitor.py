"""ActivationMonitor and tn.plot.activations: the makemore part 3 diagnostics, checked against
statistics computed here by hand from the same weights and data."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import tinynet as tn
from tinynet import datasets

X, Y = datasets.spirals(100, n_classes=3, seed=0)   # 100 rows, 2 features, 3 classes


def tanh_net(scale):
    return tn.Network([tn.Dense(2, 64, init="normal", scale=scale), tn.Tanh(), tn.Dense(64, 3)],
                      loss=tn.SoftmaxCrossEntropy(), seed=1)


def test_large_weights_saturate_tanh_and_the_share_matches_a_hand_count():
    net = tanh_net(scale=10.0)
    W, b = net.params[:128].reshape(64, 2).copy(), net.params[128:192].copy()
    monitor = tn.ActivationMonitor()
    net.fit(X, Y, epochs=1, optimizer=tn.SGD(lr=0.1), callbacks=[monitor], progress=False)
    A = np.tanh(X @ W.T + b)          # the forward of step 0, before its update
    assert monitor.saturated[1][0] == pytest.approx(np.mean(np.abs(A) > 0.97))
    assert monitor.saturated[1][0] > 0.5     # spirals start at the origin: not all rows saturate
    assert monitor.mean[1][0] == pytest.approx(A.mean())
    assert monitor.std[1][0] == pytest.approx(A.std())
    small = tn.ActivationMonitor().measure(tanh_net(scale=0.1), X)
    assert small.saturated[1] == [0.0]


def test_sigmoid_saturation_is_tanh_saturation_of_half_the_input():
    net = tn.Network([tn.Dense(2, 64, init="normal", scale=10.0), tn.Sigmoid(), tn.Dense(64, 3)],
                     loss=tn.SoftmaxCrossEntropy(), seed=1)
    Z = X @ net.layers[0].params["W"].T
    monitor = tn.ActivationMonitor().measure(net, X)
    assert monitor.saturated[1][0] == pytest.approx(np.mean(np.abs(np.tanh(Z / 2)) > 0.97))


def test_he_relu_net_has_few_dead_units_and_a_negative_bias_kills_them_all():
    # He's sqrt(2/n_in) assumes inputs of unit variance in many directions, so Gaussian inputs
    # (on the 2-D spirals some second-layer units are negative on the whole data set)
    rng = np.random.default_rng(0)
    Xg, yg = rng.normal(size=(300, 20)), rng.integers(0, 3, 300)
    layers = [tn.Dense(20, 64), tn.ReLU(), tn.Dense(64, 64), tn.ReLU(), tn.Dense(64, 3)]
    net = tn.Network(layers, loss=tn.SoftmaxCrossEntropy(), seed=0)
    monitor = tn.ActivationMonitor().measure(net, Xg, yg)
    assert sorted(monitor.dead) == [1, 3]
    assert max(monitor.dead[1][0], monitor.dead[3][0]) < 0.05
    net.layers[2].params["b"][:] = -100.0   # every unit of the second ReLU layer is off
    monitor.measure(net, Xg, yg)
    assert monitor.dead[3] == [1.0]
    assert not (monitor.grads[1] != 0).any()   # nothing flows back through dead units


def test_update_ratio_is_lr_times_gradient_norm_over_weight_norm_for_sgd():
    lr = 0.05
    net = tanh_net(scale=1.0)
    twin = tanh_net(scale=1.0)                        # same seed: same initial weights
    _, g = twin.cost_and_grad(X, Y)
    expected = {name: lr * np.linalg.norm(g[b.start:b.stop]) / np.linalg.norm(twin.params[b.start:b.stop])
                for name, b in ((b.name, b) for b in twin.blocks) if name.startswith("W")}
    monitor = tn.ActivationMonitor()
    net.fit(X, Y, epochs=1, optimizer=tn.SGD(lr=lr), callbacks=[monitor], progress=False)
    for name, value in expected.items():
        assert monitor.update_ratio[name][0] == pytest.approx(value, rel=1e-12)
    assert np.isnan(monitor.update_ratio["b1"][0])   # biases start at 0: no ratio yet


def test_gradient_std_is_that_of_dJ_dA_by_hand():
    net = tn.Network([tn.Dense(2, 8), tn.Tanh(), tn.Dense(8, 1)],
                     loss=tn.SigmoidCrossEntropy(), seed=3)
    Xb, yb = datasets.moons(50, seed=0)
    monitor = tn.ActivationMonitor().measure(net, Xb, yb)
    p = net.predict_proba(Xb)[:, -1]
    dZ2 = (p - yb)[:, None] / len(yb)               # sigmoid + cross-entropy, mean over m
    dA1 = dZ2 @ net.layers[2].params["W"]
    assert monitor.grad_std[1][0] == pytest.approx(dA1.std(), rel=1e-10)


def test_sampling_every_k_steps_does_not_change_training_and_leaves_nothing_behind():
    plain, watched = tanh_net(1.0), tanh_net(1.0)
    plain.fit(X, Y, epochs=3, batch_size=25, progress=False)
    monitor = tn.ActivationMonitor(every=5)
    watched.fit(X, Y, epochs=3, batch_size=25, callbacks=[monitor], progress=False)
    assert np.array_equal(plain.params, watched.params)
    assert monitor.steps == [0, 5, 10]               # 12 steps: 3 epochs of 4 batches
    assert all(len(v) == 3 for v in monitor.update_ratio.values())
    assert watched._tap is None


def test_two_monitors_sampling_the_same_steps_both_record():
    fast, slow = tn.ActivationMonitor(every=1), tn.ActivationMonitor(every=2)
    tanh_net(1.0).fit(X, Y, epochs=1, batch_size=25, callbacks=[fast, slow], progress=False)
    assert fast.steps == [0, 1, 2, 3] and slow.steps == [0, 2]
    assert slow.std[1] == [fast.std[1][0], fast.std[1][2]]


def test_measure_leaves_the_gradients_alone_and_records_no_update():
    net = tanh_net(1.0)
    net.cost_and_grad(X, Y)
    before = net.grads.copy()
    monitor = tn.ActivationMonitor().measure(net, X, Y)
    assert np.array_equal(net.grads, before)
    assert monitor.steps == [None] and monitor.update_ratio["W1"] == []


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="every"):
        tn.ActivationMonitor(every=0)
    with pytest.raises(ValueError, match="saturation"):
        tn.ActivationMonitor(saturation=1.5)
    with pytest.raises(ValueError, match="layers"):
        tanh_net(1.0).fit(X, Y, callbacks=[tn.ActivationMonitor(layers=[7])], progress=False)


def test_plot_activations_from_a_monitor_and_from_a_network():
    net = tanh_net(1.0)
    monitor = tn.ActivationMonitor(every=2)
    net.fit(X, Y, epochs=4, batch_size=50, callbacks=[monitor], progress=False)
    fig = tn.plot.activations(monitor)
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    hist, _, shares = fig.axes[:3]
    assert len(hist.lines) == 1 and "saturated" in hist.get_legend().get_texts()[0].get_text()
    assert np.array_equal(shares.lines[0].get_xdata(), [0, 2, 4, 6])
    axes = Figure().subplots(1, 2)
    assert tn.plot.activations(net, X, Y, axes=axes) is axes[0].figure
    with pytest.raises(ValueError, match="recorded nothing"):
        tn.plot.activations(tn.ActivationMonitor())
