"""Every built-in layer against numeric gradients, plus initializers and layer-level errors.

The recipe of CS231n: J = Σ out · G for a random upstream gradient G, so that dJ/dout = G;
then backward(G) must equal the numeric dJ/dx and dJ/dθ for every parameter θ.
"""

import warnings

import numpy as np
import pytest

import tinynet as tn
from numeric import assert_gradients_close, away_from_kinks, numeric_gradient


def check_layer_gradients(layer, x, training=False, seed=0):
    """Compare ``layer.backward`` with numeric gradients of J = Σ forward(x) · G."""
    rng = np.random.default_rng(seed)
    out = layer.forward(x, training=training)
    G = rng.normal(size=out.shape)
    dx = layer.backward(G)
    analytic = {key: g.copy() for key, g in layer.grads.items()}

    def J():
        return float(np.sum(layer.forward(x, training=training) * G))

    assert_gradients_close(dx, numeric_gradient(J, x), name="dx")
    for key, value in layer.params.items():
        assert_gradients_close(analytic[key], numeric_gradient(J, value), name=f"d{key}")
    return dx, analytic


# ---- gradients, layer by layer ------------------------------------------------------------

def test_dense_backward_matches_numeric_gradients_for_x_W_and_b():
    rng = np.random.default_rng(1)
    layer = tn.Dense(4, 3, init="normal", scale=1.0, seed=0)
    layer.params["b"][...] = rng.normal(size=3)  # non-zero bias, so db is not trivially tested
    dx, grads = check_layer_gradients(layer, rng.normal(size=(6, 4)))
    assert dx.shape == (6, 4)
    assert set(grads) == {"W", "b"}
    assert grads["W"].shape == (3, 4) and grads["b"].shape == (3,)


def test_dense_forward_is_x_times_W_transposed_plus_b():
    rng = np.random.default_rng(2)
    layer = tn.Dense(4, 3, seed=0)
    W, b = layer.params["W"], layer.params["b"]
    b[...] = rng.normal(size=3)
    x = rng.normal(size=(5, 4))
    expected = np.array([[sum(W[j, k] * x[i, k] for k in range(4)) + b[j] for j in range(3)]
                         for i in range(5)])
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)


@pytest.mark.parametrize("make", [tn.ReLU, tn.Tanh, tn.Sigmoid, lambda: tn.LeakyReLU(alpha=0.1)],
                         ids=["ReLU", "Tanh", "Sigmoid", "LeakyReLU"])
def test_activation_backward_matches_numeric_gradient(make):
    x = away_from_kinks(np.random.default_rng(3), (5, 4), scale=2.0)
    dx, grads = check_layer_gradients(make(), x)
    assert dx.shape == x.shape
    assert grads == {}


def test_relu_derivative_at_exactly_zero_is_taken_as_zero():
    layer = tn.ReLU()
    layer.forward(np.array([[0.0, 1.0]]))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2))), [[0.0, 1.0]])


def test_relu_and_leaky_relu_forward_values():
    x = np.array([[-2.0, -0.5, 0.5, 3.0]])
    np.testing.assert_array_equal(tn.ReLU().forward(x), [[0.0, 0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(tn.LeakyReLU(alpha=0.1).forward(x), [[-0.2, -0.05, 0.5, 3.0]])


def test_leaky_relu_rejects_alpha_outside_0_1():
    with pytest.raises(ValueError, match="alpha"):
        tn.LeakyReLU(alpha=1.5)
    with pytest.raises(ValueError, match="alpha"):
        tn.LeakyReLU(alpha=-0.1)


def test_dropout_with_frozen_mask_backward_matches_numeric_gradient_in_training_mode():
    rng = np.random.default_rng(4)
    keep_prob = 0.7
    x = rng.normal(size=(6, 5))
    mask = (rng.random(x.shape) < keep_prob) / keep_prob
    layer = tn.Dropout(keep_prob=keep_prob)
    layer.frozen_mask = mask
    np.testing.assert_array_equal(layer.forward(x, training=True), x * mask)
    dx, _ = check_layer_gradients(layer, x, training=True)
    # the dropped units get no gradient: the backward used the forward's mask
    assert np.all(dx[mask == 0] == 0)


def test_dropout_is_the_identity_in_eval_mode():
    x = np.random.default_rng(5).normal(size=(4, 3))
    layer = tn.Dropout(keep_prob=0.5)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    check_layer_gradients(layer, x, training=False)
    G = np.ones_like(x)
    layer.forward(x, training=False)
    np.testing.assert_array_equal(layer.backward(G), G)


def test_dropout_training_keeps_about_keep_prob_and_scales_kept_units_by_its_inverse():
    keep_prob = 0.8
    x = np.ones((200, 100))
    layer = tn.Dropout(keep_prob=keep_prob)
    layer.rng = np.random.default_rng(6)
    out = layer.forward(x, training=True)
    kept = out != 0
    assert abs(kept.mean() - keep_prob) < 0.01
    np.testing.assert_allclose(out[kept], 1 / keep_prob, rtol=1e-15)
    # backward uses the same mask as the forward (inverted dropout: dA * mask / keep_prob)
    G = np.random.default_rng(7).normal(size=x.shape)
    np.testing.assert_allclose(layer.backward(G), G * kept / keep_prob, rtol=1e-15)


@pytest.mark.parametrize("keep_prob", [0, 1.5, -0.2, float("nan")])
def test_dropout_rejects_keep_prob_outside_0_1(keep_prob):
    with pytest.raises(ValueError, match="keep_prob"):
        tn.Dropout(keep_prob=keep_prob)


@pytest.mark.parametrize("make", [lambda: tn.Dense(3, 2, seed=0), tn.ReLU, tn.Tanh, tn.Sigmoid,
                                  tn.LeakyReLU])
def test_backward_twice_gives_identical_gradients(make):
    layer = make()
    rng = np.random.default_rng(8)
    x = away_from_kinks(rng, (4, 3))
    G = rng.normal(size=layer.forward(x).shape)
    first_dx = layer.backward(G)
    first = {k: g.copy() for k, g in layer.grads.items()}
    second_dx = layer.backward(G)
    np.testing.assert_array_equal(first_dx, second_dx)
    for key, g in layer.grads.items():
        np.testing.assert_array_equal(g, first[key])


# ---- numerical stability ------------------------------------------------------------------

def test_sigmoid_is_finite_and_warning_free_for_huge_inputs():
    z = np.array([[-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4]])
    layer = tn.Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = layer.forward(z)
        dz = layer.backward(np.ones_like(z))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dz))
    assert out[0, 0] == 0.0 and out[0, -1] == 1.0 and out[0, 3] == 0.5
    np.testing.assert_allclose(out[0, 2], 1 / (1 + np.exp(30.0)), rtol=1e-12)
    np.testing.assert_allclose(out[0, 4], 1 / (1 + np.exp(-30.0)), rtol=1e-12)
    assert np.all(np.diff(out[0]) >= 0)


# ---- errors that teach ----------------------------------------------------------------------

def test_dense_forward_names_the_layer_and_the_feature_count():
    with pytest.raises(ValueError, match=r"Dense\(4 -> 5\) got input with 3 features"):
        tn.Dense(4, 5).forward(np.zeros((10, 3)))


@pytest.mark.parametrize("n_in, n_out", [(0, 3), (3, -1), (2.5, 3), (True, 3)])
def test_dense_rejects_sizes_that_are_not_positive_ints(n_in, n_out):
    with pytest.raises((TypeError, ValueError), match="positive int"):
        tn.Dense(n_in, n_out)


def test_dense_rejects_an_unknown_init_and_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown init 'kaiming'.*'he'"):
        tn.Dense(3, 2, init="kaiming")


# ---- initializers ---------------------------------------------------------------------------

@pytest.mark.parametrize("init, expected_std", [
    ("he", np.sqrt(2 / 400)),
    ("xavier", np.sqrt(1 / 400)),
    ("glorot", np.sqrt(2 / (400 + 600))),
])
def test_named_initializers_have_their_documented_std(init, expected_std):
    W = tn.Dense(400, 600, init=init, seed=0).params["W"]
    assert W.shape == (600, 400)
    assert abs(W.mean()) < 0.1 * expected_std
    assert W.std() == pytest.approx(expected_std, rel=0.02)


@pytest.mark.parametrize("scale", [0.01, 1.0, 10.0])
def test_normal_initializer_uses_scale_as_its_std(scale):
    W = tn.Dense(300, 500, init="normal", scale=scale, seed=1).params["W"]
    assert W.std() == pytest.approx(scale, rel=0.02)


def test_initializer_std_holds_inside_a_network_too():
    net = tn.Network([tn.Dense(500, 300, init="xavier"), tn.Tanh(), tn.Dense(300, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    assert net.parameters()["W1"].std() == pytest.approx(np.sqrt(1 / 500), rel=0.02)
    assert net.parameters()["W2"].std() == pytest.approx(np.sqrt(2 / 300), rel=0.02)


def test_biases_start_at_zero_and_zeros_init_gives_zero_weights():
    layer = tn.Dense(5, 4, init="zeros")
    assert np.all(layer.params["W"] == 0) and np.all(layer.params["b"] == 0)
    assert np.all(tn.Dense(5, 4).params["b"] == 0)


def test_callable_initializer_is_called_with_shape_and_generator():
    calls = []

    def init(shape, rng):
        calls.append((shape, type(rng)))
        return np.full(shape, 0.25)

    layer = tn.Dense(3, 2, init=init)
    assert np.all(layer.params["W"] == 0.25)
    assert calls and calls[-1] == ((2, 3), np.random.Generator)


def test_callable_initializer_returning_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"shape \(3, 2\), expected \(2, 3\)"):
        tn.Dense(3, 2, init=lambda shape, rng: np.zeros((3, 2)))


def test_normal_initializer_rejects_a_negative_scale():
    with pytest.raises(ValueError, match="scale"):
        tn.Dense(3, 2, init="normal", scale=-1.0)
