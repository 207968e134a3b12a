"""The Network: one flat parameter vector, whole-network gradients, L2, custom layers, float32,
errors before state changes, randomness, predictions and the summary."""

import numpy as np
import pytest

import tinynet as tn
from numeric import Scale, assert_gradients_close, numeric_gradient, relative_error


def course_dicts(rng, sizes):
    """Course-style parameters: W[l] (n_l, n_{l-1}), b[l] (n_l, 1) column biases."""
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.normal(size=(sizes[l], sizes[l - 1]))
        params[f"b{l}"] = rng.normal(size=(sizes[l], 1)) * 0.1
    return params


def course_net(penalty=None, dtype=np.float64, seed=0):
    """The 4-5-3-1 network: the final Sigmoid is fused into SigmoidCrossEntropy."""
    return tn.Network([tn.Dense(4, 5), tn.ReLU(), tn.Dense(5, 3), tn.ReLU(), tn.Dense(3, 1)],
                      loss=tn.SigmoidCrossEntropy(), penalty=penalty, seed=seed, dtype=dtype)


def binary_data(rng, m=10, n=4):
    return rng.normal(size=(m, n)), rng.integers(0, 2, size=m)


# ---- the flat vector ----------------------------------------------------------------------

def test_flat_vector_is_the_course_order_W_then_b_layer_by_layer_in_C_order():
    rng = np.random.default_rng(0)
    values = course_dicts(rng, [4, 5, 3, 1])
    net = course_net()
    net.set_parameters(values)
    expected = np.concatenate([values[k].ravel() for k in ("W1", "b1", "W2", "b2", "W3", "b3")])
    np.testing.assert_array_equal(net.params, expected)
    assert net.params.shape == net.grads.shape == (4 * 5 + 5 + 5 * 3 + 3 + 3 * 1 + 1,)
    assert list(net.parameters()) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    np.testing.assert_array_equal(net.parameters()["b1"], values["b1"][:, 0])


def test_network_computes_the_course_forward_and_cost():
    """The course's vectorized forward, on column examples, gives the same J (with L2)."""
    rng = np.random.default_rng(1)
    values = course_dicts(rng, [4, 5, 3, 1])
    X, y = binary_data(rng, m=9)
    lambd = 0.7
    net = course_net(penalty=tn.L2(lambd))
    net.set_parameters(values)

    relu = lambda z: np.maximum(z, 0)
    A1 = relu(values["W1"] @ X.T + values["b1"])
    A2 = relu(values["W2"] @ A1 + values["b2"])
    A3 = 1 / (1 + np.exp(-(values["W3"] @ A2 + values["b3"])))
    m = X.shape[0]
    cross_entropy = -np.sum(y * np.log(A3) + (1 - y) * np.log(1 - A3)) / m
    l2 = lambd / (2 * m) * sum(np.sum(values[f"W{l}"] ** 2) for l in (1, 2, 3))
    assert net.cost(X, y) == pytest.approx(cross_entropy + l2, rel=1e-12)
    np.testing.assert_allclose(net.predict_proba(X)[:, 1], A3[0], rtol=1e-12)


def test_writing_into_net_params_changes_the_parameter_views_and_the_predictions():
    rng = np.random.default_rng(2)
    net = course_net()
    X = rng.normal(size=(6, 4))
    before = net.predict_proba(X).copy()
    W1 = net.parameters()["W1"]
    net.params[:20] = np.arange(20.0)  # W1 is the first 5 * 4 entries
    np.testing.assert_array_equal(W1, np.arange(20.0).reshape(5, 4))
    np.testing.assert_array_equal(net.parameters()["W1"], np.arange(20.0).reshape(5, 4))
    assert not np.allclose(net.predict_proba(X), before)


def test_writing_into_a_parameter_view_changes_net_params():
    net = course_net()
    net.parameters()["b2"][...] = [1.0, 2.0, 3.0]
    start = 4 * 5 + 5 + 5 * 3
    np.testing.assert_array_equal(net.params[start:start + 3], [1.0, 2.0, 3.0])
    net.parameters()["W3"][0, 2] = -7.0
    assert net.params[start + 3 + 2] == -7.0


def test_assigning_net_params_copies_into_the_live_buffer_instead_of_detaching_the_layers():
    rng = np.random.default_rng(15)
    net = course_net()
    X = rng.normal(size=(6, 4))
    buffer, before = net.params, net.predict_proba(X).copy()
    theta = rng.normal(size=net.params.size)
    net.params = theta  # the course's "parameters = vector_to_dictionary(theta)" reflex
    assert net.params is buffer
    np.testing.assert_array_equal(net.parameters()["W1"], theta[:20].reshape(5, 4))
    assert not np.allclose(net.predict_proba(X), before)
    net.params -= 1.0  # an in-place update keeps working
    np.testing.assert_array_equal(net.params, theta - 1.0)
    with pytest.raises(ValueError, match=r"net.params must have shape \(47,\), got \(3,\)"):
        net.params = np.zeros(3)
    np.testing.assert_array_equal(net.params, theta - 1.0)


def test_set_parameters_writes_nothing_unless_every_array_fits():
    rng = np.random.default_rng(3)
    net = course_net()
    before = net.params.copy()
    values = course_dicts(rng, [4, 5, 3, 1])
    values["W2"] = np.zeros((5, 3))  # transposed by mistake
    with pytest.raises(ValueError, match=r"W2 must have shape \(3, 5\), got \(5, 3\)"):
        net.set_parameters(values)
    np.testing.assert_array_equal(net.params, before)
    del values["W2"]
    with pytest.raises(KeyError, match="W2"):
        net.set_parameters(values)
    np.testing.assert_array_equal(net.params, before)


# ---- whole-network gradients ----------------------------------------------------------------

def _softmax_int(rng, m, n_out):
    return rng.integers(0, n_out, size=m)


def _softmax_onehot(rng, m, n_out):
    return np.eye(n_out)[rng.integers(0, n_out, size=m)]


def _binary(rng, m, n_out):
    return rng.integers(0, 2, size=m)


def _binary_column(rng, m, n_out):
    return rng.integers(0, 2, size=(m, 1))


def _regression(rng, m, n_out):
    return rng.normal(size=(m, n_out))


ARCHITECTURES = {
    "4-5-3-1 relu, sigmoid CE, L2": (
        lambda: [tn.Dense(4, 5), tn.ReLU(), tn.Dense(5, 3), tn.ReLU(), tn.Dense(3, 1)],
        tn.SigmoidCrossEntropy, _binary, 0.7),
    "tanh, sigmoid CE with (m, 1) labels": (
        lambda: [tn.Dense(4, 6), tn.Tanh(), tn.Dense(6, 1)],
        tn.SigmoidCrossEntropy, _binary_column, 0.0),
    "tanh, softmax CE integer labels, L2": (
        lambda: [tn.Dense(4, 6), tn.Tanh(), tn.Dense(6, 3)],
        tn.SoftmaxCrossEntropy, _softmax_int, 0.3),
    "sigmoid + leaky relu, softmax CE one-hot, L2": (
        lambda: [tn.Dense(4, 6), tn.Sigmoid(), tn.Dense(6, 5), tn.LeakyReLU(0.1), tn.Dense(5, 4)],
        tn.SoftmaxCrossEntropy, _softmax_onehot, 1.5),
    "relu, MSE, L2": (
        lambda: [tn.Dense(4, 7), tn.ReLU(), tn.Dense(7, 2)],
        tn.MeanSquaredError, _regression, 0.5),
    "activation first, MSE": (
        lambda: [tn.Tanh(), tn.Dense(4, 3), tn.Sigmoid(), tn.Dense(3, 1)],
        tn.MeanSquaredError, _regression, 0.0),
    "dropout with keep_prob 1, softmax CE": (
        lambda: [tn.Dense(4, 8), tn.ReLU(), tn.Dropout(keep_prob=1.0), tn.Dense(8, 3)],
        tn.SoftmaxCrossEntropy, _softmax_int, 0.2),
}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_cost_and_grad_matches_numeric_gradient_of_cost(name):
    make_layers, make_loss, make_y, lambd = ARCHITECTURES[name]
    rng = np.random.default_rng(4)
    net = tn.Network(make_layers(), loss=make_loss(), penalty=tn.L2(lambd) if lambd else None,
                     seed=1)
    net.params[...] = rng.normal(size=net.params.size)  # biases non-zero too
    X = rng.normal(size=(12, 4))
    n_out = net.forward(X[:1]).shape[1]
    y = make_y(rng, 12, n_out)
    J, g = net.cost_and_grad(X, y)
    assert g is net.grads
    analytic = g.copy()
    assert J == pytest.approx(net.cost(X, y), rel=1e-14)
    numeric = numeric_gradient(lambda: net.cost(X, y), net.params)
    assert_gradients_close(analytic, numeric, name=name)
    for block in net.blocks:  # and block by block, so no small block hides behind a big one
        assert_gradients_close(analytic[block.start:block.stop], numeric[block.start:block.stop],
                               tol=1e-6, name=block.name)


def test_cost_and_grad_with_frozen_dropout_mask_matches_numeric_gradient():
    rng = np.random.default_rng(5)
    dropout = tn.Dropout(keep_prob=0.6)
    net = tn.Network([tn.Dense(4, 8), tn.ReLU(), dropout, tn.Dense(8, 3)],
                     loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(0.4), seed=2)
    X, y = rng.normal(size=(10, 4)), rng.integers(0, 3, size=10)
    dropout.frozen_mask = (rng.random((10, 8)) < 0.6) / 0.6
    _, g = net.cost_and_grad(X, y)
    analytic = g.copy()
    assert_gradients_close(analytic, numeric_gradient(lambda: net.cost(X, y), net.params))
    # units dropped for every example get no gradient in W1's rows except from L2
    dropped_everywhere = np.all(dropout.frozen_mask == 0, axis=0)
    grads = net.gradients()
    W1 = net.parameters()["W1"]
    np.testing.assert_allclose(grads["W1"][dropped_everywhere],
                               0.4 / 10 * W1[dropped_everywhere], rtol=1e-12)


def test_l2_follows_the_course_formula_on_weights_only():
    rng = np.random.default_rng(6)
    lambd, m = 0.9, 11
    values = course_dicts(rng, [4, 5, 3, 1])
    X, y = binary_data(rng, m=m)
    plain, penalized = course_net(), course_net(penalty=tn.L2(lambd))
    plain.set_parameters(values)
    penalized.set_parameters(values)

    J0, _ = plain.cost_and_grad(X, y)
    g0 = plain.gradients()
    J1, _ = penalized.cost_and_grad(X, y)
    g1 = penalized.gradients()

    weights = [values[f"W{l}"] for l in (1, 2, 3)]
    assert J1 - J0 == pytest.approx(lambd / (2 * m) * sum(float((W * W).sum()) for W in weights),
                                    rel=1e-10)
    for l in (1, 2, 3):
        np.testing.assert_allclose(g1[f"W{l}"] - g0[f"W{l}"], lambd / m * values[f"W{l}"],
                                   rtol=1e-10, atol=1e-15)
        np.testing.assert_array_equal(g1[f"b{l}"], g0[f"b{l}"])  # biases are not penalized


def test_l2_rejects_a_negative_lambd():
    with pytest.raises(ValueError, match="lambd must be a finite number >= 0"):
        tn.L2(lambd=-0.1)


def test_cost_and_grad_twice_gives_identical_gradients():
    rng = np.random.default_rng(7)
    net = course_net(penalty=tn.L2(0.5))
    X, y = binary_data(rng)
    J1, g = net.cost_and_grad(X, y)
    first = g.copy()
    J2, g = net.cost_and_grad(X, y)
    assert J1 == J2
    np.testing.assert_array_equal(g, first)


# ---- custom layers --------------------------------------------------------------------------

class ScaleAssigningNewArray(Scale):
    def backward(self, dout):
        self.grads["gamma"] = (dout * self.x).sum(axis=0)  # a NEW array, not the view
        return dout * self.params["gamma"]


class ScaleAccumulating(Scale):
    def backward(self, dout):
        self.grads["gamma"] += (dout * self.x).sum(axis=0)  # micrograd style
        return dout * self.params["gamma"]


class ScaleRebindingGrads(Scale):
    def backward(self, dout):
        self.grads = {"gamma": (dout * self.x).sum(axis=0)}
        return dout * self.params["gamma"]


@pytest.mark.parametrize("cls", [Scale, ScaleAssigningNewArray, ScaleAccumulating])
def test_custom_layer_in_a_network_gets_the_right_gradient(cls):
    rng = np.random.default_rng(8)
    scale = cls(5)
    net = tn.Network([tn.Dense(3, 5), tn.Tanh(), scale, tn.Dense(5, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=3)
    assert [b.name for b in net.blocks] == ["W1", "b1", "gamma2", "W3", "b3"]
    net.parameters()["gamma2"][...] = rng.normal(size=5)
    np.testing.assert_array_equal(scale.params["gamma"], net.parameters()["gamma2"])
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
    net.cost_and_grad(X, y)
    net.cost_and_grad(X, y)  # twice: an accumulating layer must not double its gradient
    numeric = numeric_gradient(lambda: net.cost(X, y), net.params)
    assert_gradients_close(net.grads, numeric)
    # the gradient landed in the flat buffer (not in a detached array)
    gamma = net.blocks[2]
    assert np.any(net.grads[gamma.start:gamma.stop] != 0)
    assert np.shares_memory(scale.grads["gamma"], net.grads)


def test_custom_layer_that_rebinds_grads_gets_a_clear_error():
    rng = np.random.default_rng(9)
    net = tn.Network([tn.Dense(3, 4), ScaleRebindingGrads(4), tn.Dense(4, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    with pytest.raises(AttributeError, match=r"grads cannot be replaced.*\[\.\.\.\]"):
        net.cost_and_grad(rng.normal(size=(5, 3)), rng.integers(0, 2, size=5))


def test_custom_layer_that_forgot_super_init_gets_a_clear_error_when_the_network_is_built():
    class Forgetful(tn.Layer):
        def __init__(self):
            self.factor = 2.0

        def forward(self, x, training=False):
            return x * self.factor

        def backward(self, dout):
            return dout * self.factor

    with pytest.raises(TypeError, match=r"Forgetful.*super\(\).__init__\(\)"):
        tn.Network([tn.Dense(3, 4), Forgetful(), tn.Dense(4, 2)], loss=tn.SoftmaxCrossEntropy())


def test_custom_layer_that_forgot_super_init_and_adds_a_param_gets_a_clear_error():
    class Forgetful(tn.Layer):
        def __init__(self):
            self.add_param("gamma", np.ones(3))

    with pytest.raises(TypeError, match=r"super\(\).__init__\(\)"):
        Forgetful()


def test_custom_layer_writing_an_unregistered_gradient_name_gets_a_clear_error():
    layer = Scale(3)
    with pytest.raises(KeyError, match="add_param"):
        layer.grads["beta"] = np.zeros(3)


# ---- float32 --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["4-5-3-1 relu, sigmoid CE, L2", "tanh, softmax CE integer labels, L2",
                                  "relu, MSE, L2"])
def test_float32_network_works_end_to_end_and_matches_float64(name):
    make_layers, make_loss, make_y, lambd = ARCHITECTURES[name]
    rng = np.random.default_rng(10)
    penalty = tn.L2(lambd) if lambd else None
    net32 = tn.Network(make_layers(), loss=make_loss(), penalty=penalty, seed=4, dtype=np.float32)
    net64 = tn.Network(make_layers(), loss=make_loss(), penalty=penalty, seed=4)
    net64.params[...] = net32.params  # the same weights, exactly
    X = rng.normal(size=(16, 4))
    y = make_y(rng, 16, net64.forward(X[:1]).shape[1])

    assert net32.params.dtype == np.float32 and net32.grads.dtype == np.float32
    assert all(v.dtype == np.float32 for v in net32.parameters().values())
    assert net32.forward(X).dtype == np.float32
    J32, g32 = net32.cost_and_grad(X, y)
    J64, g64 = net64.cost_and_grad(X, y)
    assert g32.dtype == np.float32 and np.all(np.isfinite(g32))
    assert J32 == pytest.approx(J64, rel=1e-5)
    assert relative_error(g32, g64) < 1e-5
    np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-5 * np.abs(g64).max())


def test_float32_network_keeps_float32_after_set_parameters_and_predict_proba_sums_to_1():
    rng = np.random.default_rng(11)
    net = course_net(dtype=np.float32)
    net.set_parameters(course_dicts(rng, [4, 5, 3, 1]))
    assert net.params.dtype == np.float32
    p = net.predict_proba(rng.normal(size=(7, 4)))
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)


# ---- bad input: a clear error before any state changes --------------------------------------

def softmax_net():
    return tn.Network([tn.Dense(4, 6), tn.ReLU(), tn.Dense(6, 3)], loss=tn.SoftmaxCrossEntropy(),
                      seed=0)


GOOD_X = np.random.default_rng(12).normal(size=(5, 4))
GOOD_Y = np.array([0, 1, 2, 1, 0])


def _with_nan():
    X = GOOD_X.copy()
    X[2, 1] = np.nan
    return X


def _with_inf():
    X = GOOD_X.copy()
    X[0, 0] = np.inf
    return X


BAD_DATA = {
    "wrong feature count": (GOOD_X[:, :3], GOOD_Y, r"X has 3 features but the network expects 4"),
    "transposed X": (GOOD_X.T, GOOD_Y[:4], r"X has 5 features but .* expects 4.*did you pass X\.T"),
    "NaN in X": (_with_nan(), GOOD_Y, r"X contains NaN or inf"),
    "inf in X": (_with_inf(), GOOD_Y, r"X contains NaN or inf"),
    "1-D X": (GOOD_X[0], GOOD_Y[:1], r"X must be 2-D .*got shape \(4,\).*reshape"),
    "3-D X": (GOOD_X[None], GOOD_Y, r"X must be 2-D .*got shape \(1, 5, 4\)"),
    "label out of range": (GOOD_X, np.array([0, 1, 3, 1, 0]), r"labels must be in 0\.\.2.*3"),
    "negative label": (GOOD_X, np.array([0, -1, 2, 1, 0]), r"labels must be in 0\.\.2"),
    "fractional labels": (GOOD_X, np.array([0, 1.5, 2, 1, 0]), r"whole numbers"),
    "mismatched lengths": (GOOD_X, GOOD_Y[:4], r"X has 5 rows, y has 4"),
    "NaN label": (GOOD_X, np.array([0, np.nan, 2, 1, 0]), r"y contains NaN or inf"),
    "bad one-hot": (GOOD_X, np.full((5, 3), 0.5), r"one-hot y must hold 0/1"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
@pytest.mark.parametrize("method", ["cost", "cost_and_grad", "score"])
def test_bad_data_gets_a_clear_error_before_any_state_changes(case, method):
    X, y, message = BAD_DATA[case]
    net = softmax_net()
    net.cost_and_grad(GOOD_X, GOOD_Y)
    params, grads = net.params.copy(), net.grads.copy()
    with pytest.raises((ValueError, TypeError), match=message):
        getattr(net, method)(X, y)
    np.testing.assert_array_equal(net.params, params)
    np.testing.assert_array_equal(net.grads, grads)


def test_float32_network_refuses_X_beyond_the_float32_range_without_an_overflow_warning():
    net = tn.Network([tn.Dense(2, 3)], loss=tn.SoftmaxCrossEntropy(), dtype=np.float32)
    with pytest.raises(ValueError, match="X has values up to 1e\\+40, beyond the range of this "
                                         "float32 network"):
        net.predict(np.array([[1e40, 0.0]]))  # a RuntimeWarning from tinynet is an error here


def test_X_check_names_the_first_bad_entry_and_accepts_huge_finite_values():
    net = tn.Network([tn.Dense(2, 3)], loss=tn.SoftmaxCrossEntropy())
    X = np.zeros((5, 2))
    X[3, 1] = -np.inf
    with pytest.raises(ValueError, match=r"X contains NaN or inf values \(the first at row 3, "
                                         r"column 1: -inf\)"):
        net.predict(X)
    huge = np.full((4, 2), 1e308)  # finite, though their sum overflows to inf
    net.set_parameters({"W1": np.zeros((3, 2)), "b1": np.ones(3)})   # so the forward cannot
    np.testing.assert_array_equal(net.forward(huge), np.ones((4, 3)))  # overflow either


@pytest.mark.parametrize("method", ["forward", "predict", "predict_proba"])
def test_prediction_methods_check_X_too(method):
    with pytest.raises(ValueError, match="X has 3 features but the network expects 4"):
        getattr(softmax_net(), method)(GOOD_X[:, :3])


def test_sigmoid_cross_entropy_refuses_labels_other_than_0_and_1():
    net = course_net()
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        net.cost(GOOD_X, np.array([0, 1, 2, 1, 0]))


def test_sigmoid_cross_entropy_refuses_a_network_with_several_outputs():
    net = tn.Network([tn.Dense(4, 3)], loss=tn.SigmoidCrossEntropy())
    with pytest.raises(ValueError, match="needs a network with 1 output.*SoftmaxCrossEntropy"):
        net.cost(GOOD_X, np.array([0, 1, 1, 1, 0]))


BAD_NETWORKS = {
    "layer sizes do not chain": (
        lambda: [tn.Dense(2, 16), tn.ReLU(), tn.Dense(8, 3)],
        ValueError, r"Dense\(8 -> 3\) expects 8 input features but the layer before it produces 16"),
    "a non-layer in the list": (
        lambda: [tn.Dense(2, 3), np.tanh, tn.Dense(3, 3)],
        TypeError, r"layers\[1\] must be a tinynet Layer"),
    "a layer class instead of an instance": (
        lambda: [tn.Dense(2, 3), tn.ReLU, tn.Dense(3, 3)],
        TypeError, r"layers\[1\] is the class ReLU, not an instance: write ReLU\(\.\.\.\)"),
    "the same layer object twice": (
        lambda: (lambda relu: [tn.Dense(2, 3), relu, tn.Dense(3, 3), relu])(tn.ReLU()),
        ValueError, r"layers\[3\] .*appears twice"),
    "an empty list": (lambda: [], TypeError, r"non-empty list"),
}


@pytest.mark.parametrize("case", list(BAD_NETWORKS))
def test_bad_network_gets_a_clear_error(case):
    make_layers, error, message = BAD_NETWORKS[case]
    with pytest.raises(error, match=message):
        tn.Network(make_layers(), loss=tn.SoftmaxCrossEntropy())


def test_loss_class_instead_of_instance_gets_a_clear_error():
    with pytest.raises(TypeError, match=r"SoftmaxCrossEntropy\(\), not the class"):
        tn.Network([tn.Dense(2, 3)], loss=tn.SoftmaxCrossEntropy)


def test_bad_dtype_and_seed_get_clear_errors():
    with pytest.raises(ValueError, match="dtype must be np.float32 or np.float64"):
        tn.Network([tn.Dense(2, 3)], loss=tn.SoftmaxCrossEntropy(), dtype=np.int32)
    with pytest.raises(ValueError, match="seed must be None or an int"):
        tn.Network([tn.Dense(2, 3)], loss=tn.SoftmaxCrossEntropy(), seed=-1)


# ---- randomness -----------------------------------------------------------------------------

def test_seeded_networks_are_reproducible_and_different_seeds_differ():
    a, b, c = softmax_net(), softmax_net(), tn.Network(
        [tn.Dense(4, 6), tn.ReLU(), tn.Dense(6, 3)], loss=tn.SoftmaxCrossEntropy(), seed=1)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_seeded_dropout_masks_are_reproducible():
    def make():
        return tn.Network([tn.Dense(4, 50), tn.ReLU(), tn.Dropout(0.5), tn.Dense(50, 3)],
                          loss=tn.SoftmaxCrossEntropy(), seed=7)
    a, b = make(), make()
    costs_a = [a.cost(GOOD_X, GOOD_Y) for _ in range(3)]
    costs_b = [b.cost(GOOD_X, GOOD_Y) for _ in range(3)]
    assert costs_a == costs_b
    assert len(set(costs_a)) == 3  # a fresh mask each forward


def test_nothing_touches_numpy_global_random_state():
    np.random.seed(1234)
    before = np.random.get_state()
    net = tn.Network([tn.Dense(4, 6, init="glorot"), tn.ReLU(), tn.Dropout(0.5), tn.Dense(6, 3)],
                     loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(0.1))
    tn.Network([tn.Dense(4, 2)], loss=tn.SoftmaxCrossEntropy(), seed=3)
    net.cost(GOOD_X, GOOD_Y)
    net.cost_and_grad(GOOD_X, GOOD_Y)
    net.predict_proba(GOOD_X)
    tn.Dropout(0.5).forward(GOOD_X, training=True)
    after = np.random.get_state()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


# ---- predictions and description ------------------------------------------------------------

def test_softmax_predict_proba_rows_sum_to_1_and_predict_is_its_argmax():
    rng = np.random.default_rng(13)
    net = softmax_net()
    net.params[...] = rng.normal(size=net.params.size)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, size=40)
    p = net.predict_proba(X)
    assert p.shape == (40, 3) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-12)
    labels = net.predict(X)
    np.testing.assert_array_equal(labels, p.argmax(axis=1))
    assert net.score(X, y) == pytest.approx(np.mean(p.argmax(axis=1) == y))
    assert net.score(X, np.eye(3)[y]) == pytest.approx(np.mean(p.argmax(axis=1) == y))


def test_sigmoid_predict_proba_has_two_columns_summing_to_1_and_predict_thresholds_at_half():
    rng = np.random.default_rng(14)
    net = course_net()
    net.params[...] = rng.normal(size=net.params.size)
    X, y = binary_data(rng, m=50)
    p = net.predict_proba(X)
    assert p.shape == (50, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-12)
    labels = net.predict(X)
    np.testing.assert_array_equal(labels, (p[:, 1] > 0.5).astype(int))
    assert set(np.unique(labels)) <= {0, 1}
    assert net.score(X, y) == pytest.approx(np.mean((p[:, 1] > 0.5) == y))
    assert net.score(X, y[:, None]) == pytest.approx(np.mean((p[:, 1] > 0.5) == y))


def test_predict_proba_needs_a_classification_loss():
    net = tn.Network([tn.Dense(4, 1)], loss=tn.MeanSquaredError())
    with pytest.raises(TypeError, match="classification loss"):
        net.predict_proba(GOOD_X)


def test_summary_lists_layers_parameter_names_shapes_and_total_count():
    net = course_net(penalty=tn.L2(0.7))
    text = net.summary()
    assert repr(net) == text
    for expected in ["Dense(4 -> 5)", "ReLU()", "Dense(5 -> 3)", "Dense(3 -> 1)",
                     "W1 (5, 4)", "b1 (5,)", "W2 (3, 5)", "b2 (3,)", "W3 (1, 3)", "b3 (1,)",
                     "SigmoidCrossEntropy()", "L2(lambd=0.7)", "47 parameters"]:
        assert expected in text, f"{expected!r} missing from\n{text}"
    assert text.count("ReLU()") == 2
    assert net.n_params == 47
