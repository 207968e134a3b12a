"""The gradient checker: the course's case, kinks, float32, restoring the model, dropout,
L2, the three modes, the report, bad input, check_layer and gradcheck.

Expected numbers come from the course (deeplearning.ai Course 2, "Gradient Checking") or
from independent computations in this file, never from running the checker.
"""

import json

import numpy as np
import pytest

import tinynet as tn
from numeric import Scale, away_from_kinks, numeric_gradient

COURSE_BUGGY_DIFFERENCE = 0.2850931567761623   # printed by the course's gradient_check_n


# ---- the course's test case -----------------------------------------------------------------

def course_case():
    """gradient_check_n_test_case(): the same stream as np.random.seed(1), without global state."""
    rs = np.random.RandomState(1)
    x = rs.randn(4, 3)
    y = np.array([1, 1, 0])
    params = {}
    for name, shape in (("W1", (5, 4)), ("b1", (5, 1)), ("W2", (3, 5)), ("b2", (3, 1)),
                        ("W3", (1, 3)), ("b3", (1, 1))):
        params[name] = rs.randn(*shape)
    return x, y, params


class DoubledDW(tn.Dense):
    """The course's bug in layer 2: dW2 = 2 · (1/m) dZ2 A1ᵀ."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] *= 2
        return dx


class QuadrupledDb(tn.Dense):
    """The course's bug in layer 1: db1 = 4/m Σ dZ1."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] *= 4
        return dx


def course_net(buggy=False, penalty=None, dtype=np.float64):
    first, second = (QuadrupledDb, DoubledDW) if buggy else (tn.Dense, tn.Dense)
    net = tn.Network([first(4, 5), tn.ReLU(), second(5, 3), tn.ReLU(), tn.Dense(3, 1)],
                     loss=tn.SigmoidCrossEntropy(), penalty=penalty, seed=0, dtype=dtype)
    x, y, params = course_case()
    net.set_parameters(params)
    return net, x.T, y


def test_course_case_correct_network_passes():
    net, X, y = course_net()
    report = net.check_gradients(X, y)
    assert report.passed
    assert report.difference < 2e-7
    assert report.failed == []


def test_course_case_buggy_network_gives_the_course_difference_and_names_b1_and_W2():
    net, X, y = course_net(buggy=True)
    report = net.check_gradients(X, y)
    assert not report.passed
    assert report.difference == pytest.approx(COURSE_BUGGY_DIFFERENCE, abs=5e-6)
    assert report.failed == ["b1", "W2"]
    assert report.block_passed["W1"] and report.block_passed["b2"] and report.block_passed["W3"]


# The course's own functions, column-major: X (n_x, m), W[l] (n_l, n_{l-1}), b[l] (n_l, 1).

def _relu(z):
    return np.maximum(0, z)


def forward_propagation_n(X, Y, parameters):
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    m = X.shape[1]
    Z1 = W1 @ X + b1
    A1 = _relu(Z1)
    Z2 = W2 @ A1 + b2
    A2 = _relu(Z2)
    Z3 = W3 @ A2 + b3
    A3 = 1 / (1 + np.exp(-Z3))
    logprobs = -np.log(A3) * Y - np.log(1 - A3) * (1 - Y)
    cost = np.sum(logprobs) / m
    cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
    return cost, cache


def backward_propagation_n(X, Y, cache, buggy=False):
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = dZ3 @ A2.T / m
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m
    dA2 = W3.T @ dZ3
    dZ2 = dA2 * (A2 > 0)
    dW2 = dZ2 @ A1.T / m * (2 if buggy else 1)
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = (4 if buggy else 1) / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2,
            "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def course_functions(buggy):
    x, y, params = course_case()
    _, cache = forward_propagation_n(x, y, params)
    grads = backward_propagation_n(x, y, cache, buggy=buggy)
    return (lambda p: forward_propagation_n(x, y, p)), params, grads


def test_gradcheck_on_the_course_functions_passes_when_correct():
    cost, params, grads = course_functions(buggy=False)
    report = tn.gradcheck(cost, params, grads)
    assert report.passed
    assert report.difference < 2e-7


def test_gradcheck_on_the_course_functions_reproduces_the_course_number_and_names_W2_b1():
    cost, params, grads = course_functions(buggy=True)
    report = tn.gradcheck(cost, params, grads)
    assert report.difference == pytest.approx(COURSE_BUGGY_DIFFERENCE, abs=5e-6)
    assert set(report.failed) == {"W2", "b1"}
    assert not report.passed


def test_gradcheck_accepts_grads_keyed_like_params_and_ignores_dZ_dA():
    cost, params, grads = course_functions(buggy=True)
    plain = {k[1:]: v for k, v in grads.items() if k[:2] in ("dW", "db")}
    plain.update({"Z1": np.zeros(7), "junk": "ignored"})
    report = tn.gradcheck(cost, params, plain)
    assert set(report.failed) == {"W2", "b1"}


def test_gradcheck_names_a_missing_gradient():
    cost, params, grads = course_functions(buggy=False)
    del grads["db2"]
    with pytest.raises(KeyError, match="b2"):
        tn.gradcheck(cost, params, grads)


def test_gradcheck_hands_the_cost_the_same_memory_every_time_instead_of_copies():
    # One copy of the parameters per evaluation would make the check quadratic in their count.
    seen = []

    def cost(p):
        seen.append(p["W1"])               # kept alive, so a copy could not reuse the memory
        return float((p["W1"] ** 3).sum())

    w = np.linspace(-1, 1, 40).reshape(8, 5)
    report = tn.gradcheck(cost, {"W1": w}, {"dW1": 3 * w ** 2})
    assert report.passed and not report.notes
    assert len(seen) == 81 and all(np.shares_memory(a, seen[0]) for a in seen)


def test_gradcheck_is_not_fooled_by_a_cost_that_writes_into_its_params():
    def cost(p):
        p["w"] *= 2.0                      # J = Σ (2w)², so dJ/dw = 8w
        return float((p["w"] ** 2).sum())

    w = np.array([0.5, -1.0, 2.0])
    report = tn.gradcheck(cost, {"w": w}, {"dw": 8 * w})
    assert report.passed and report.difference < 1e-7
    assert "fresh copy" in report.notes[0]
    np.testing.assert_array_equal(w, [0.5, -1.0, 2.0])


# ---- kinks ----------------------------------------------------------------------------------

def test_a_relu_unit_exactly_on_its_kink_is_reported_as_a_kink_not_a_bug():
    net, X, y = course_net()
    X = X.copy()
    X[0] = [1.0, 0.0, 0.0, 0.0]
    W1 = net.parameters()["W1"]
    W1[0, 0] = 0.5
    net.parameters()["b1"][0] = -0.5           # Z1[0, 0] = 1·0.5 + 0 + 0 + 0 − 0.5 = 0 exactly
    assert (X @ W1.T + net.parameters()["b1"])[0, 0] == 0.0
    # Independently: the naive two-sided estimate of db1[0] disagrees with backprop's 0-derivative
    # convention, so a checker without kink handling would raise a false alarm here.
    _, g = net.cost_and_grad(X, y)
    analytic = g[20]                                             # b1[0] in the flat vector
    naive = numeric_gradient(lambda: net.cost(X, y), net.params)[20]
    assert abs(naive - analytic) > 1e-3
    report = net.check_gradients(X, y)
    assert report.passed
    assert report.results["b1"].kinks >= 1
    assert report.results["W1"].kinks >= 1
    assert report.results["b1"].verdict != "bug"


# ---- float32 and restoring the model --------------------------------------------------------

def model_state(net):
    return {"params": net.params.copy(), "dtype": net.params.dtype,
            "rng": net.rng.bit_generator.state,
            "layer_rngs": [layer.rng.bit_generator.state for layer in net.layers],
            "keep_prob": [getattr(layer, "keep_prob", None) for layer in net.layers],
            "frozen": [getattr(layer, "frozen_mask", None) for layer in net.layers],
            "penalty": net.penalty}


def assert_restored(net, before, buffer):
    after = model_state(net)
    assert net.params is buffer
    assert after["dtype"] == before["dtype"]
    assert after["params"].tobytes() == before["params"].tobytes()
    assert after["rng"] == before["rng"]
    assert after["layer_rngs"] == before["layer_rngs"]
    assert after["keep_prob"] == before["keep_prob"]
    assert all(a is b for a, b in zip(after["frozen"], before["frozen"]))
    assert after["penalty"] is before["penalty"]
    for block in net.blocks:   # layers still see views of the model's own buffer
        assert np.shares_memory(net.layers[block.layer_index].params[block.key], net.params)


def test_float32_model_is_checked_in_float64_and_restored_bit_for_bit():
    net, X, y = course_net(dtype=np.float32)
    before, buffer = model_state(net), net.params
    report = net.check_gradients(X, y)
    # a float32 check with eps = 1e-6 could not get anywhere near 1e-7
    assert report.passed and report.difference < 1e-7
    assert net.params.dtype == np.float32
    assert_restored(net, before, buffer)
    assert any("float32" in note for note in report.notes)


def dropout_net(seed=3, keep_prob=0.7, dropout_cls=tn.Dropout, lambd=0.5):
    return tn.Network([tn.Dense(3, 6), tn.Tanh(), dropout_cls(keep_prob=keep_prob), tn.Dense(6, 2)],
                      loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(lambd), seed=seed)


@pytest.mark.parametrize("dropout", ["off", "frozen"])
@pytest.mark.parametrize("mode", ["full", "sample", "screen"])
def test_model_restored_bit_for_bit_and_training_randomness_unchanged(dropout, mode):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
    net, twin = dropout_net(), dropout_net()
    net.cost_and_grad(X, y)
    twin.cost_and_grad(X, y)
    before, buffer = model_state(net), net.params
    net.check_gradients(X, y, dropout=dropout, mode=mode, samples=4)
    assert_restored(net, before, buffer)
    # the next dropout masks are the ones an unchecked twin draws
    assert net.cost(X, y) == twin.cost(X, y)


def test_the_gradient_of_the_last_backward_survives_a_check():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
    net = dropout_net()
    _, g = net.cost_and_grad(X, y)
    before = g.copy()
    assert np.any(before != 0)
    net.check_gradients(X, y)
    assert net.grads.tobytes() == before.tobytes()


class ExplodesDuringCheck(tn.Activation):
    """Identity that raises on its third forward call (the checker's perturbed evaluations)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x, training=False):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("boom")
        return x

    def backward(self, dout):
        return dout


def test_model_restored_when_the_check_raises():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=5)
    net = tn.Network([tn.Dense(3, 4), ExplodesDuringCheck(), tn.Dropout(0.6), tn.Dense(4, 2)],
                     loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(0.3), seed=1, dtype=np.float32)
    before, buffer = model_state(net), net.params
    with pytest.raises(RuntimeError, match="boom"):
        net.check_gradients(X, y, dropout="frozen")
    assert_restored(net, before, buffer)


# ---- dropout --------------------------------------------------------------------------------

class DropoutForgetsScale(tn.Dropout):
    """backward applies the 0/1 mask but forgets the 1/keep_prob factor."""

    def backward(self, dout):
        return dout if self.mask is None else dout * (self.mask > 0)


class DropoutForgetsMask(tn.Dropout):
    """backward passes the gradient through unmasked."""

    def backward(self, dout):
        return dout


@pytest.mark.parametrize("bad", [DropoutForgetsScale, DropoutForgetsMask])
def test_frozen_dropout_catches_a_dropout_backward_bug_that_off_cannot(bad):
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, size=10)
    net = dropout_net(dropout_cls=bad, lambd=0.0)
    off = net.check_gradients(X, y, dropout="off")
    frozen = net.check_gradients(X, y, dropout="frozen")
    assert off.passed
    assert not frozen.passed
    assert set(frozen.failed) == {"W1", "b1"}       # the blocks below the Dropout layer


def test_correct_dropout_passes_frozen():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, size=10)
    assert dropout_net().check_gradients(X, y, dropout="frozen").passed


# ---- L2 -------------------------------------------------------------------------------------

class L2WithoutGradient(tn.L2):
    """Adds lambd/(2m)·ΣW² to J but forgets lambd/m·W in dθ."""

    def backward(self, weights, m):
        return [np.zeros_like(W) for W in weights]


def l2_net(penalty, seed=4):
    return tn.Network([tn.Dense(3, 5), tn.Tanh(), tn.Dense(5, 2)], loss=tn.SoftmaxCrossEntropy(),
                      penalty=penalty, seed=seed)


def test_L2_is_in_J_and_dtheta_and_penalty_false_checks_the_data_loss_alone():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    net = l2_net(L2WithoutGradient(2.0))
    with_penalty = net.check_gradients(X, y)
    assert set(with_penalty.failed) == {"W1", "W2"}
    assert net.check_gradients(X, y, penalty=False).passed
    assert l2_net(tn.L2(2.0)).check_gradients(X, y).passed


def test_penalty_share_and_dominance_note():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    lambd = 1e3
    net = l2_net(tn.L2(lambd))
    _, g = net.cost_and_grad(X, y)
    W1 = net.parameters()["W1"]
    penalty_part = np.linalg.norm(lambd / 6 * W1)
    data_part = np.linalg.norm(net.gradients()["W1"] - lambd / 6 * W1)
    expected_share = penalty_part / (penalty_part + data_part)
    report = net.check_gradients(X, y)
    assert report.passed
    assert report.results["W1"].penalty_share == pytest.approx(expected_share, rel=1e-9)
    assert report.results["b1"].penalty_share == 0.0
    assert any("W1" in note and "penalty=False" in note for note in report.notes)
    small = l2_net(tn.L2(1e-3)).check_gradients(X, y)
    assert not any("penalty=False" in note for note in small.notes)


def test_a_data_gradient_bug_under_a_dominant_L2_is_caught_with_penalty_false():
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)

    class HalvedDataDW(tn.Dense):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["W"] *= 0.5
            return dx

    net = tn.Network([tn.Dense(3, 5), tn.Tanh(), HalvedDataDW(5, 2)],
                     loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(1e4), seed=6)
    report = net.check_gradients(X, y, penalty=False)
    assert report.failed == ["W2"]


# ---- modes ----------------------------------------------------------------------------------

class OneEntryOff(tn.Dense):
    """dW[1, 2] is off by 10 %: a bug the course's global number would dilute."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"][1, 2] *= 1.1
        return dx


def mode_nets():
    correct = tn.Network([tn.Dense(5, 8), tn.ReLU(), tn.Dense(8, 6), tn.Sigmoid(), tn.Dense(6, 3)],
                         loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(0.2), seed=7)
    course_bug, _, _ = course_net(buggy=True)
    one_entry = tn.Network([tn.Dense(5, 8), tn.Tanh(), OneEntryOff(8, 6), tn.Tanh(), tn.Dense(6, 3)],
                           loss=tn.SoftmaxCrossEntropy(), seed=8)
    return [(correct, 5, set()), (course_bug, 4, {"b1", "W2"}), (one_entry, 5, {"W2"})]


@pytest.mark.parametrize("case", range(3))
def test_full_sample_and_screen_agree_on_pass_fail(case):
    net, n_in, expected = mode_nets()[case]
    rng = np.random.default_rng(9)
    X = away_from_kinks(rng, (7, n_in))
    y = rng.integers(0, net.n_outputs if net.n_outputs > 1 else 2, size=7)
    for mode in ("full", "sample", "screen"):
        report = net.check_gradients(X, y, mode=mode, samples=1000 if case == 2 else 10)
        assert set(report.failed) == expected, (mode, str(report))
        assert report.passed == (not expected)


class LargestEntryDoubled(tn.Dense):
    """Doubles only the entry of dW with the largest |gradient|."""

    def backward(self, dout):
        dx = super().backward(dout)
        W = self.grads["W"]
        W.flat[np.argmax(np.abs(W))] *= 2
        return dx


@pytest.mark.parametrize("seed", range(5))
def test_sample_mode_always_includes_the_largest_gradients(seed):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(6, 20)), rng.integers(0, 3, size=6)
    net = tn.Network([LargestEntryDoubled(20, 12), tn.Tanh(), tn.Dense(12, 3)],
                     loss=tn.SoftmaxCrossEntropy(), seed=seed)
    report = net.check_gradients(X, y, mode="sample", samples=4, seed=seed)
    assert report.results["W1"].checked == 4          # 4 of 240 entries: chance alone would miss it
    assert report.failed == ["W1"]


def test_sample_mode_never_skips_a_small_block():
    rng = np.random.default_rng(10)
    X, y = rng.normal(size=(6, 20)), rng.integers(0, 3, size=6)

    class OneBiasOff(tn.Dense):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["b"][2] += 0.05
            return dx

    net = tn.Network([tn.Dense(20, 12), tn.Tanh(), OneBiasOff(12, 3)],
                     loss=tn.SoftmaxCrossEntropy(), seed=10)
    report = net.check_gradients(X, y, mode="sample", samples=5)
    assert report.results["b2"].checked == 3 and report.results["W1"].checked == 5
    assert report.failed == ["b2"]


# ---- the report -----------------------------------------------------------------------------

def test_a_report_with_nan_and_excluded_entries_is_strict_json():
    """NaN in θ and entries sitting exactly on a kink give NaN numbers in the report; to_dict
    must still be strict JSON (json.dumps(..., allow_nan=False)), with null in their place."""
    net = tn.Network([tn.Dense(2, 3), tn.ReLU(), tn.Dense(3, 2)], loss=tn.SoftmaxCrossEntropy(),
                     seed=0)
    X, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1])
    W1, b1 = net.parameters()["W1"], net.parameters()["b1"]
    W1[:], b1[:] = 0.0, 0.0               # every pre-activation exactly on ReLU's kink
    net.parameters()["W2"][0, 0] = np.nan
    report = net.check_gradients(X, y)
    assert np.isnan(report.difference)
    assert any(np.isnan(e.numeric) for r in report.results.values() for e in r.worst)
    text = json.dumps(report.to_dict(), allow_nan=False)
    assert json.loads(text)["difference"] is None
    assert json.loads(report.to_json()) == json.loads(text)


def test_report_to_dict_is_json_and_print_names_the_failing_blocks():
    net, X, y = course_net(buggy=True)
    report = net.check_gradients(X, y)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False
    assert list(data["blocks"]) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert data["blocks"]["W2"]["passed"] is False and data["blocks"]["W1"]["passed"] is True
    assert json.loads(report.to_json())["difference"] == pytest.approx(report.difference)
    text = str(report)
    first = text.splitlines()[0]
    assert "FAILED" in first and "b1" in first and "W2" in first
    failing_rows = [line.split()[0] for line in text.splitlines() if "FAIL" in line and
                    not line.startswith("Gradient")]
    assert failing_rows == ["b1", "W2"]
    assert "2 x numeric" in text and "4 x numeric" in text     # the hints name the factors


def test_report_plot_returns_a_figure():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    net, X, y = course_net(buggy=True)
    fig = net.check_gradients(X, y).plot()
    assert isinstance(fig, Figure)


# ---- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(eps=0), ValueError, "eps"),
    (dict(eps=-1e-6), ValueError, "eps"),
    (dict(mode="fast"), ValueError, "mode"),
    (dict(dropout="on"), ValueError, "dropout"),
    (dict(X=np.zeros((3, 4)), y=np.array([1, 0])), ValueError, "length|rows"),
    (dict(X=np.zeros((3, 5))), ValueError, "features"),
    (dict(X="not an array"), TypeError, "X"),
])
def test_bad_input_raises_clearly_and_leaves_the_model_unchanged(kwargs, exc, match):
    net, X, y = course_net()
    kwargs = dict(kwargs)
    X, y = kwargs.pop("X", X), kwargs.pop("y", y)
    before, buffer = model_state(net), net.params
    with pytest.raises(exc, match=match):
        net.check_gradients(X, y, **kwargs)
    assert_restored(net, before, buffer)


# ---- check_layer ----------------------------------------------------------------------------

@pytest.mark.parametrize("layer", [tn.Dense(4, 3), tn.ReLU(), tn.LeakyReLU(0.1), tn.Tanh(),
                                   tn.Sigmoid(), tn.Dropout(0.6), Scale(4)], ids=repr)
def test_check_layer_passes_every_builtin_layer_and_the_design_Scale(layer):
    x = away_from_kinks(np.random.default_rng(11), (5, 4))
    report = tn.check_layer(layer, x)
    assert report.passed, str(report)
    assert set(report.results) == set(layer.params) | {"x"}


class Swish(tn.Activation):
    """A = x·σ(x); the correct derivative is σ + x·σ(1 − σ)."""

    def __init__(self, wrong=False):
        super().__init__()
        self.wrong = wrong

    def forward(self, x, training=False):
        self.x = x
        return x * tn.layers.sigmoid(x)

    def backward(self, dout):
        s = tn.layers.sigmoid(self.x)
        return dout * (s if self.wrong else s + self.x * s * (1 - s))


class ScaleWrongGamma(Scale):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["gamma"][...] = dout.sum(axis=0)        # forgot the · x
        return dx


def test_check_layer_catches_a_custom_layer_bug_in_the_right_block():
    x = np.random.default_rng(12).normal(size=(5, 4))
    assert tn.check_layer(Swish(), x).passed
    assert tn.check_layer(Swish(wrong=True), x).failed == ["x"]
    assert tn.check_layer(ScaleWrongGamma(4), x).failed == ["gamma"]


class ShiftedReLU(tn.Layer):
    """A = max(x − t, 0) with a learned threshold t: its kinks move with its own parameter."""

    rowwise = True

    def __init__(self, n):
        super().__init__()
        self.add_param("t", np.zeros(n))

    def forward(self, x, training=False):
        self.x = x
        return np.maximum(x - self.params["t"], 0)

    def backward(self, dout):
        on = (self.x - self.params["t"]) > 0          # the derivative at the kink taken as 0
        self.grads["t"][...] = -(dout * on).sum(axis=0)
        return dout * on

    def kinks(self, x):
        return x - self.params["t"]

    def out_features(self, n_in):
        return n_in


@pytest.mark.parametrize("where", ["check_layer", "network"])
def test_a_kink_crossed_by_the_layers_own_parameter_is_a_kink(where):
    x = np.array([[0.5, 1.0], [0.0, -1.0]])         # x[1, 0] − t[0] == 0: on the kink
    if where == "check_layer":
        report = tn.check_layer(ShiftedReLU(2), x)
    else:
        net = tn.Network([tn.Dense(2, 2), ShiftedReLU(2), tn.Dense(2, 1)],
                         loss=tn.MeanSquaredError(), seed=0)
        net.set_parameters({"W1": np.eye(2), "b1": np.zeros(2), "t2": np.zeros(2),
                            "W3": np.ones((1, 2)), "b3": np.zeros(1)})
        report = net.check_gradients(x, np.array([1.0, 2.0]))
    assert report.passed, str(report)
