"""The checker cannot be fooled by what a custom layer declares or does (issue 9).

One planted case per risk: a correct layer must pass in a Network as it passes check_layer,
a wrong one must fail on exactly the blocks its bug breaks, and a layer that breaks the
protocol gets a clear error naming it. The layers (tests/custom_layers.py) are written the
way users write them. Which blocks a bug breaks follows from backprop: a wrong dx of the
layer at index 3 breaks every block below it (W1, b1, W2, b2) and nothing above.
"""

import numpy as np
import pytest

import tinynet as tn
from custom_layers import (BatchCenter, BatchCenterClaimingTooMuch, BatchNorm,
                           BatchNormConstantStats, FixedMask, GlobalDropout, HooklessReLU,
                           HooklessReLUDoubled, InPlaceReLU,
                           InPlaceReLUForgetsMask, LeakyReLUWithWrongSlopes, MyLeakyReLU,
                           NoisyKinksTanh, NoisyKinksTanhWrong, PlainDropout,
                           PlainDropoutForgetsMask, RowCenter, SelfRngDropout,
                           SelfRngDropoutForgetsScale, Softmax)
from numeric import Scale, numeric_gradient, relative_error

BELOW = ["W1", "b1", "W2", "b2"]


def data(m=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, 4)), rng.integers(0, 3, size=m)


def net_with(middle, seed=0, loss=None):
    """Dense(4→6) Tanh Dense(6→5) <middle> Dense(5→3): the middle layer is layers[3]."""
    return tn.Network([tn.Dense(4, 6), tn.Tanh(), tn.Dense(6, 5), middle, tn.Dense(5, 3)],
                      loss=loss or tn.SoftmaxCrossEntropy(), seed=seed)


def layer_backward_is_right(layer, x):
    """Independent proof of a premise: backward against tests/numeric.py's loop on J = Σ out·G."""
    G = np.random.default_rng(1).normal(size=layer.forward(x.copy(), training=True).shape)
    dx = layer.backward(G)
    numeric = numeric_gradient(lambda: float(np.sum(layer.forward(x.copy(), training=True) * G)), x)
    return relative_error(dx, numeric) < 1e-7


# ---- claims: a correct layer passes in a network exactly as it passes check_layer -------------

@pytest.mark.parametrize("make", [Softmax, BatchCenter, RowCenter, FixedMask, lambda: BatchNorm(5)],
                         ids=["softmax", "batch-centring", "row-centring", "fixed-seed mask",
                              "batch norm"])
@pytest.mark.parametrize("mode", ["full", "screen"])
def test_a_correct_layer_that_mixes_rows_or_columns_passes_in_a_network(make, mode):
    x = np.random.default_rng(2).normal(size=(8, 5))
    assert layer_backward_is_right(make(), x)
    assert tn.check_layer(make(), x).passed
    X, y = data()
    report = net_with(make()).check_gradients(X, y, mode=mode)
    assert report.passed, str(report)


def test_a_new_forward_does_not_inherit_the_claims_of_its_parent():
    assert tn.ReLU.elementwise and tn.ReLU.rowwise and tn.Dense.rowwise
    assert not Softmax.elementwise and not Softmax.rowwise           # Activation + own forward
    assert not PlainDropout.elementwise and not PlainDropout.rowwise  # Dropout + own forward
    assert LeakyReLUWithWrongSlopes.elementwise        # only backward/slopes overridden: same forward
    assert BatchCenterClaimingTooMuch.rowwise          # declared again beside its own forward


@pytest.mark.parametrize("layer, claims", [
    (BatchCenterClaimingTooMuch(), ["elementwise", "rowwise"]),
    (FixedMask(), ["elementwise", "rowwise"]),
    (MyLeakyReLU(), ["slopes"]),
])
def test_a_claim_that_does_not_hold_is_named_in_a_note_and_the_layer_still_passes(layer, claims):
    X, y = data()
    report = net_with(layer).check_gradients(X, y)
    assert report.passed, str(report)
    for claim in claims:
        assert any("layers[3]" in n and claim in n for n in report.notes), report.notes


def test_a_true_claim_is_used_without_a_note():
    X, y = data()
    report = net_with(RowCenter()).check_gradients(X, y)
    assert report.passed and not any("declares" in n for n in report.notes)


# ---- claims: a wrong layer cannot hide behind them ---------------------------------------------

@pytest.mark.parametrize("mode", ["full", "screen"])
def test_a_wrong_slopes_hook_does_not_feed_the_numeric_side(mode):
    # LeakyReLU.backward uses slopes(): with slope 1 below 0 the backward is wrong, and the old
    # shortcut built the numeric side from the same slopes, so the two agreed.
    X, y = data()
    layer = LeakyReLUWithWrongSlopes(alpha=0.1)
    z = X[:1] @ np.ones((4, 5))
    assert not np.allclose(layer.slopes(-np.abs(z)), 0.1)              # premise: the hook lies
    report = net_with(layer).check_gradients(X, y, mode=mode)
    assert report.failed == BELOW, str(report)


@pytest.mark.parametrize("mode", ["full", "screen"])
def test_batch_norm_with_constant_statistics_is_caught_although_it_claims_rowwise(mode):
    x = np.random.default_rng(2).normal(size=(8, 5))
    assert not layer_backward_is_right(BatchNormConstantStats(5), x)   # premise: it is wrong
    X, y = data()
    report = net_with(BatchNormConstantStats(5)).check_gradients(X, y, mode=mode)
    assert report.failed == BELOW, str(report)
    assert any("layers[3]" in n and "rowwise" in n for n in report.notes)


def test_a_dropout_subclass_runs_its_own_forward_under_frozen_masks():
    X, y = data()
    assert net_with(PlainDropout(0.6)).check_gradients(X, y, dropout="frozen").passed
    report = net_with(PlainDropoutForgetsMask(0.6)).check_gradients(X, y, dropout="frozen")
    assert report.failed == BELOW, str(report)


def test_a_noisy_kinks_hook_cannot_exclude_a_bug():
    X, y = data()
    layer = NoisyKinksTanh()
    z = np.linspace(0.1, 0.2, 50)
    assert np.mean(np.sign(layer.kinks(z)) != np.sign(layer.kinks(z + 1e-6))) > 0.3  # premise
    assert net_with(NoisyKinksTanh()).check_gradients(X, y).passed
    report = net_with(NoisyKinksTanhWrong()).check_gradients(X, y)
    assert report.failed == BELOW, str(report)
    assert all(r.checked > 0 for r in report.results.values())
    assert tn.check_layer(NoisyKinksTanhWrong(), X).failed == ["x"]


def test_an_undeclared_kink_is_judged_as_a_subgradient():
    # HooklessReLU has no kinks hook. Example 0 puts unit 0 exactly on its kink.
    X, y = data()
    X[0] = [1.0, 0.0, 0.0, 0.0]
    for make, passes in ((HooklessReLU, True), (HooklessReLUDoubled, False)):
        net = tn.Network([tn.Dense(4, 5), make(), tn.Dense(5, 3)], loss=tn.SoftmaxCrossEntropy(),
                         seed=0)
        p = net.parameters()
        p["b1"][0] = -p["W1"][0, 0]
        assert (X @ p["W1"].T + p["b1"])[0, 0] == 0.0                      # on the kink
        if passes:   # premise: the plain two-sided estimate of db1[0] disagrees with backprop
            _, g = net.cost_and_grad(X, y)
            naive = numeric_gradient(lambda: net.cost(X, y), net.params)[20]
            assert abs(naive - g[20]) > 1e-3
        report = net.check_gradients(X, y)
        assert report.passed is passes, str(report)
        if passes:
            assert report.results["b1"].kinks >= 1
        else:
            assert report.failed == ["W1", "b1"]


# ---- in-place forwards, randomness, state ------------------------------------------------------

def test_an_in_place_forward_is_named_and_cannot_corrupt_the_check():
    X, y = data()
    report = net_with(InPlaceReLU()).check_gradients(X, y)
    assert report.passed, str(report)
    assert any("layers[3]" in n and "writes into its input" in n for n in report.notes)
    report = net_with(InPlaceReLUForgetsMask()).check_gradients(X, y)
    assert report.failed == BELOW, str(report)
    layer_report = tn.check_layer(InPlaceReLUForgetsMask(), X)
    assert layer_report.failed == ["x"] and any("writes into its input" in n for n in layer_report.notes)


@pytest.mark.parametrize("mode", ["full", "screen"])
def test_a_layer_drawing_from_self_rng_is_frozen_and_checkable(mode):
    X, y = data()
    assert net_with(SelfRngDropout()).check_gradients(X, y, mode=mode).passed
    report = net_with(SelfRngDropoutForgetsScale()).check_gradients(X, y, mode=mode)
    assert report.failed == BELOW, str(report)
    assert tn.check_layer(SelfRngDropout(), X).passed
    assert tn.check_layer(SelfRngDropoutForgetsScale(), X).failed == ["x"]


def test_numpys_global_generator_gets_an_error_naming_the_layer_and_the_fix():
    X, y = data()
    with pytest.raises(RuntimeError, match=r"layers\[3\] \(GlobalDropout\(\)\).*self\.rng"):
        net_with(GlobalDropout()).check_gradients(X, y)
    with pytest.raises(RuntimeError, match=r"GlobalDropout\(\).*self\.rng"):
        tn.check_layer(GlobalDropout(), X)


def batch_norm_state(layer):
    return (layer.running_mean, layer.running_mean.tobytes(), layer.running_var,
            layer.running_var.tobytes(), layer.stats, layer.stats["batches"].tobytes(),
            layer.calls, sorted(vars(layer)))


def assert_same_state(before, after):
    for a, b in zip(before, after):
        assert a is b or a == b


def test_running_statistics_are_restored_bit_for_bit_by_every_check():
    X, y = data()
    bn = BatchNorm(5)
    net = net_with(bn)
    net.fit(X, y, epochs=3, progress=False)                 # statistics that are not the initial ones
    before = batch_norm_state(bn)
    for options in ({"mode": "full"}, {"mode": "screen"}, {"dropout": "frozen"}):
        net.check_gradients(X, y, **options)
        assert_same_state(before, batch_norm_state(bn))
    lone = BatchNorm(5)
    lone_before = batch_norm_state(lone)
    tn.check_layer(lone, X[:, :5] if X.shape[1] >= 5 else np.hstack([X, X])[:, :5])
    assert_same_state(lone_before, batch_norm_state(lone))


def test_training_with_the_gradient_check_callback_is_bit_identical_to_training_without():
    X, y = data()
    plain, checked = net_with(BatchNorm(5)), net_with(BatchNorm(5))
    plain.fit(X, y, epochs=4, batch_size=4, progress=False)
    callback = tn.GradientCheck(X, y, every=1)
    checked.fit(X, y, epochs=4, batch_size=4, progress=False, callbacks=[callback])
    assert len(callback.reports) == 5 and all(r.passed for _, r in callback.reports)
    assert checked.params.tobytes() == plain.params.tobytes()
    for a, b in ((checked.layers[3], plain.layers[3]),):
        assert a.running_mean.tobytes() == b.running_mean.tobytes()
        assert a.running_var.tobytes() == b.running_var.tobytes() and a.calls == b.calls


# ---- verdicts: NaN never passes, nothing compared never passes, no eps excuses a bug -----------

class ScaleWithNaNGradient(Scale):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["gamma"][0] = np.nan
        return dx


def test_a_nan_parameter_fails_as_not_finite():
    X, y = data()
    net = net_with(tn.ReLU())
    net.parameters()["W2"][1, 1] = np.nan
    report = net.check_gradients(X, y)
    assert not report.passed
    assert "not finite" in {r.verdict for r in report.results.values()}
    assert np.isnan(report.difference)


def test_a_nan_in_one_gradient_entry_fails_that_block():
    X, y = data()
    report = net_with(ScaleWithNaNGradient(5)).check_gradients(X, y)
    assert report.failed == ["gamma3"]
    assert report.results["gamma3"].verdict == "not finite"
    assert "(0,)" in report.results["gamma3"].hint
    layer_report = tn.check_layer(ScaleWithNaNGradient(4), X)
    assert layer_report.failed == ["gamma"]


def test_a_cost_that_overflows_fails_as_not_finite():
    X, y = data()
    net = tn.Network([tn.Dense(4, 6), tn.ReLU(), tn.Dense(6, 2)], loss=tn.MeanSquaredError(), seed=0)
    net.params *= 1e160                                     # scores ~1e320: J = inf
    with np.errstate(over="ignore"):
        assert not np.isfinite(net.cost(X, np.zeros((8, 2))))
    report = net.check_gradients(X, np.zeros((8, 2)))
    assert not report.passed and all(r.verdict == "not finite" for r in report.results.values())


def test_a_lone_layer_with_a_nan_parameter_fails():
    layer = Scale(4)
    layer.params["gamma"][2] = np.nan
    report = tn.check_layer(layer, data()[0])
    assert not report.passed and report.results["gamma"].verdict == "not finite"


class DenseDoubledW(tn.Dense):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] *= 2
        return dx


@pytest.mark.parametrize("eps", [1e-14, 1e-12, 1e-10, 1e-8])
def test_no_eps_lets_a_doubled_gradient_pass(eps):
    X, y = data()
    net = tn.Network([tn.Dense(4, 6), tn.Tanh(), DenseDoubledW(6, 3)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    report = net.check_gradients(X, y, eps=eps)
    assert "W2" in report.failed, str(report)


def test_an_eps_at_which_j_is_pure_round_off_is_inconclusive_not_passed():
    X, y = data()
    net = tn.Network([tn.Dense(4, 6), tn.Tanh(), tn.Dense(6, 3)], loss=tn.SoftmaxCrossEntropy(),
                     seed=0)
    report = net.check_gradients(X, y, eps=1e-15)
    assert not report.passed
    assert "inconclusive" in {r.verdict for r in report.results.values()}


def test_a_network_without_parameters_is_an_error_not_a_pass():
    net = tn.Network([tn.ReLU()], loss=tn.MeanSquaredError(), seed=0)
    with pytest.raises(ValueError, match="no parameters"):
        net.check_gradients(np.ones((3, 2)), np.ones((3, 2)))


# ---- broken protocol inside a Network: the errors check_layer gives -----------------------------

class ListForward(tn.Activation):
    def forward(self, x, training=False):
        return (2 * x).tolist()

    def backward(self, dout):
        return 2 * dout


class NoneBackward(tn.Activation):
    def forward(self, x, training=False):
        return 2 * x

    def backward(self, dout):
        return None


class TransposedBackward(tn.Activation):
    def forward(self, x, training=False):
        return 2 * x

    def backward(self, dout):
        return 2 * dout.T


@pytest.mark.parametrize("layer, exc, message", [
    (ListForward(), TypeError, r"forward returned a list; it must return a numpy array"),
    (NoneBackward(), ValueError, r"backward returned None; it must return dJ/dx"),
    (TransposedBackward(), ValueError, r"backward returned shape \(5, 8\); it must return dJ/dx"),
])
def test_a_broken_layer_gets_the_same_clear_error_in_a_network_as_alone(layer, exc, message):
    X, y = data()
    with pytest.raises(exc, match=message):
        tn.check_layer(type(layer)(), np.random.default_rng(0).normal(size=(8, 5)))
    with pytest.raises(exc, match=rf"layers\[3\] \({type(layer).__name__}\(\)\): " + message):
        net_with(layer).check_gradients(X, y)


def test_a_layer_of_one_network_cannot_be_put_into_a_second():
    layers = [tn.Dense(4, 6), tn.ReLU(), tn.Dense(6, 3)]
    first = tn.Network(layers, loss=tn.SoftmaxCrossEntropy(), seed=0)
    theta = first.params.copy()
    with pytest.raises(ValueError, match=r"layers\[0\] .*already belongs to another Network"):
        tn.Network(layers, loss=tn.SoftmaxCrossEntropy(), seed=1)
    assert first.params.tobytes() == theta.tobytes()
    assert np.shares_memory(layers[0].params["W"], first.params)


# ---- trained networks: the round-off floor follows the magnitudes, not J ------------------------

def trained(loss, y, epochs, bug=None, seed=0):
    X = np.random.default_rng(seed).normal(size=(12, 4))
    net = tn.Network([tn.Dense(4, 10), tn.Sigmoid(), tn.Dense(10, 8), tn.Sigmoid(), tn.Dense(8, 3)],
                     loss=loss, seed=seed)
    if epochs:
        net.fit(X, y, epochs=epochs, optimizer=tn.Adam(lr=0.02), progress=False)
    if bug is not None:               # the same parameters in a network with one wrong activation
        buggy = tn.Network([tn.Dense(4, 10), tn.Sigmoid(), tn.Dense(10, 8), bug, tn.Dense(8, 3)],
                           loss=loss, seed=seed)
        buggy.params = net.params
        net = buggy
    return net, X


class SigmoidDoubled(tn.Sigmoid):
    def backward(self, dout):
        return 2 * super().backward(dout)                  # should be dout * A (1 − A)


@pytest.mark.parametrize("mode", ["full", "screen"])
def test_a_softmax_network_trained_to_a_tiny_loss_passes_and_a_doubled_activation_fails(mode):
    y = np.arange(12) % 3
    net, X = trained(tn.SoftmaxCrossEntropy(), y, epochs=1000)
    assert net.cost(X, y) < 1e-3          # the old floor, from |J|, raised a false alarm on b2 here
    assert net.check_gradients(X, y, mode=mode).passed
    net, X = trained(tn.SoftmaxCrossEntropy(), y, epochs=150, bug=SigmoidDoubled())
    assert net.check_gradients(X, y, mode=mode).failed == BELOW


@pytest.mark.parametrize("mode", ["full", "screen"])
def test_an_mse_network_that_fits_its_targets_exactly_passes(mode):
    net, X = trained(tn.MeanSquaredError(), np.zeros((12, 3)), epochs=0)
    y = net.forward(X) * (1 + 1e-16 * np.random.default_rng(3).normal(size=(12, 3)))
    assert net.cost(X, y) < 1e-28
    report = net.check_gradients(X, y, mode=mode)
    assert report.passed, str(report)
