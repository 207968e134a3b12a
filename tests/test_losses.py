"""Every loss: value from an independent formula, d loss / d scores against numeric gradients,
and stability for huge logits."""

import warnings

import numpy as np
import pytest

import tinynet as tn
from numeric import assert_gradients_close, numeric_gradient


def check_loss_gradient(loss, scores, y):
    """backward() after forward() must equal the numeric d loss / d scores."""
    loss.forward(scores, y)
    analytic = loss.backward()
    assert analytic.shape == scores.shape
    numeric = numeric_gradient(lambda: loss.forward(scores, y), scores)
    assert_gradients_close(analytic, numeric, name=type(loss).__name__)
    return analytic


def one_hot(labels, n):
    return np.eye(n)[labels]


# ---- SoftmaxCrossEntropy --------------------------------------------------------------------

def softmax_ce_reference(scores, labels):
    """-1/m Σ_i log(e^{s_i,y_i} / Σ_j e^{s_ij}), written out the long way."""
    total = 0.0
    for row, label in zip(scores, labels):
        total += -np.log(np.exp(row[label]) / np.exp(row).sum())
    return total / len(labels)


def test_softmax_cross_entropy_value_is_the_mean_negative_log_probability():
    rng = np.random.default_rng(0)
    scores, labels = rng.normal(size=(7, 4)), rng.integers(0, 4, size=7)
    assert tn.SoftmaxCrossEntropy().forward(scores, labels) == pytest.approx(
        softmax_ce_reference(scores, labels), rel=1e-12)
    assert tn.SoftmaxCrossEntropy().forward(scores, one_hot(labels, 4)) == pytest.approx(
        softmax_ce_reference(scores, labels), rel=1e-12)


def test_softmax_cross_entropy_gradient_with_integer_labels_matches_numeric():
    rng = np.random.default_rng(1)
    scores, labels = rng.normal(size=(6, 3)), rng.integers(0, 3, size=6)
    dscores = check_loss_gradient(tn.SoftmaxCrossEntropy(), scores, labels)
    # (p - Y) / m: every row sums to zero
    np.testing.assert_allclose(dscores.sum(axis=1), 0, atol=1e-15)


def test_softmax_cross_entropy_gradient_with_one_hot_labels_matches_numeric():
    rng = np.random.default_rng(2)
    scores, labels = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    check_loss_gradient(tn.SoftmaxCrossEntropy(), scores, one_hot(labels, 4))


def test_softmax_cross_entropy_one_hot_and_integer_labels_agree():
    rng = np.random.default_rng(3)
    scores, labels = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    a, b = tn.SoftmaxCrossEntropy(), tn.SoftmaxCrossEntropy()
    assert a.forward(scores, labels) == pytest.approx(b.forward(scores, one_hot(labels, 4)), rel=1e-14)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-14)


def test_softmax_cross_entropy_is_finite_for_logits_of_1e4():
    scores = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 0.0, 1e4]])
    labels = np.array([0, 0, 2])
    loss = tn.SoftmaxCrossEntropy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J = loss.forward(scores, labels)
        dscores = loss.backward()
    # row 1: right class wins by 1e4 -> 0; row 2: wrong class wins by 2e4 -> 2e4; row 3: 0
    assert J == pytest.approx(2e4 / 3, rel=1e-12)
    expected = np.array([[0, 0, 0], [-1, 1, 0], [0, 0, 0]]) / 3
    np.testing.assert_allclose(dscores, expected, atol=1e-15)


# ---- SigmoidCrossEntropy --------------------------------------------------------------------

def sigmoid_ce_reference(z, y):
    p = 1 / (1 + np.exp(-z))
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def test_sigmoid_cross_entropy_value_is_the_mean_binary_cross_entropy():
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=8), rng.integers(0, 2, size=8).astype(float)
    assert tn.SigmoidCrossEntropy().forward(z[:, None], y) == pytest.approx(
        sigmoid_ce_reference(z, y), rel=1e-12)


@pytest.mark.parametrize("label_shape", ["(m,)", "(m, 1)"])
def test_sigmoid_cross_entropy_gradient_matches_numeric(label_shape):
    rng = np.random.default_rng(5)
    scores = rng.normal(size=(6, 1))
    y = rng.integers(0, 2, size=6).astype(float)
    if label_shape == "(m, 1)":
        y = y[:, None]
    check_loss_gradient(tn.SigmoidCrossEntropy(), scores, y)


def test_sigmoid_cross_entropy_gives_the_same_loss_for_labels_m_and_m_by_1():
    rng = np.random.default_rng(6)
    scores, y = rng.normal(size=(6, 1)), rng.integers(0, 2, size=6).astype(float)
    expected = sigmoid_ce_reference(scores[:, 0], y)
    assert tn.SigmoidCrossEntropy().forward(scores, y) == pytest.approx(expected, rel=1e-12)
    assert tn.SigmoidCrossEntropy().forward(scores, y[:, None]) == pytest.approx(expected, rel=1e-12)


def test_sigmoid_cross_entropy_is_finite_for_logits_of_1e4():
    scores = np.array([[1e4], [-1e4], [1e4], [-1e4]])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = tn.SigmoidCrossEntropy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J = loss.forward(scores, y)
        dscores = loss.backward()
    # two confident right answers (loss 0) and two confident wrong ones (loss 1e4 each)
    assert J == pytest.approx(2e4 / 4, rel=1e-12)
    np.testing.assert_allclose(dscores, np.array([[0], [0], [1], [-1]]) / 4, atol=1e-15)


# ---- MeanSquaredError -----------------------------------------------------------------------

def test_mean_squared_error_is_the_mean_over_all_entries():
    rng = np.random.default_rng(7)
    scores, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    expected = sum((scores[i, j] - y[i, j]) ** 2 for i in range(5) for j in range(3)) / 15
    assert tn.MeanSquaredError().forward(scores, y) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n_out", [1, 3])
def test_mean_squared_error_gradient_matches_numeric(n_out):
    rng = np.random.default_rng(8)
    scores, y = rng.normal(size=(5, n_out)), rng.normal(size=(5, n_out))
    check_loss_gradient(tn.MeanSquaredError(), scores, y)


def test_mean_squared_error_accepts_targets_of_shape_m_for_one_output():
    rng = np.random.default_rng(9)
    scores, y = rng.normal(size=(5, 1)), rng.normal(size=5)
    expected = float(np.mean((scores[:, 0] - y) ** 2))
    loss = tn.MeanSquaredError()
    assert loss.forward(scores, y) == pytest.approx(expected, rel=1e-12)
    assert loss.backward().shape == (5, 1)


# ---- the per-example losses ---------------------------------------------------------------

@pytest.mark.parametrize("loss, y", [
    (tn.SoftmaxCrossEntropy(), np.array([0, 2, 1, 2])),
    (tn.SoftmaxCrossEntropy(), np.eye(3)[[0, 2, 1, 2]]),
    (tn.MeanSquaredError(), np.arange(12.0).reshape(4, 3) / 10),
])
def test_per_example_losses_average_to_forward_and_broadcast_over_a_stack_of_scores(loss, y):
    """``losses`` gives one value per example; on a stack (k, m, C) of scores it gives (k, m)."""
    rng = np.random.default_rng(10)
    stack = rng.normal(size=(2, 4, 3))
    per_example = loss.losses(stack[0], y)
    assert per_example.shape == (4,)
    assert per_example.mean() == pytest.approx(loss.forward(stack[0], y), rel=1e-14)
    batched = loss.losses(stack, y)
    assert batched.shape == (2, 4)
    for k in range(2):
        np.testing.assert_allclose(batched[k], loss.losses(stack[k], y), rtol=1e-14)
