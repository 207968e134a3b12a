"""Custom losses are first-class: the README's protocol, check_loss, fit and the checker.

The loss is the README's worked example, CS231n's multiclass hinge (SVM) loss, written as a
user would: a plain class with only the two required methods, then with the optional ones.
"""

import numpy as np
import pytest
import torch

import tinynet as tn


class MulticlassHinge:
    """Mean over the examples of Σ_{j ≠ y} max(0, s_j − s_y + 1)."""

    def forward(self, scores, y):
        m = scores.shape[0]
        margins = np.maximum(0, scores - scores[np.arange(m), y][:, None] + 1)
        margins[np.arange(m), y] = 0
        self.margins, self.y = margins, y
        return margins.sum() / m

    def backward(self):
        m = self.margins.shape[0]
        dscores = (self.margins > 0).astype(np.float64)
        dscores[np.arange(m), self.y] = -dscores.sum(axis=1)
        return dscores / m


class HingeForgetsM(MulticlassHinge):
    def backward(self):
        return super().backward() * self.margins.shape[0]


class HingeWithExtras(MulticlassHinge):
    """The optional methods: batched losses for the checker, predict and score for fit."""

    def losses(self, scores, y):
        m = scores.shape[0]
        margins = np.maximum(0, scores - scores[np.arange(m), y][:, None] + 1)
        margins[np.arange(m), y] = 0
        return margins.sum(axis=1)

    def predict(self, scores):
        return scores.argmax(axis=1)

    def score(self, scores, y):
        return float(np.mean(self.predict(scores) == y))


def hinge_data(seed=0, m=7, c=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, c)) * 2, rng.integers(0, c, size=m)


def test_the_hinge_value_matches_torch_multi_margin_loss():
    scores, y = hinge_data()
    # torch divides the sum over classes by the number of classes C; the course's SVM does not
    expected = torch.nn.functional.multi_margin_loss(torch.tensor(scores), torch.tensor(y)).item()
    assert MulticlassHinge().forward(scores, y) == pytest.approx(expected * scores.shape[1], rel=1e-12)


@pytest.mark.parametrize("loss, scores_y", [
    (MulticlassHinge(), hinge_data()),
    (tn.SoftmaxCrossEntropy(), hinge_data(1)),
    (tn.MeanSquaredError(), (np.random.default_rng(2).normal(size=(5, 3)),
                             np.random.default_rng(3).normal(size=(5, 3)))),
    (tn.SigmoidCrossEntropy(), (np.random.default_rng(4).normal(size=(6, 1)), np.arange(6) % 2)),
])
def test_check_loss_passes_correct_losses_with_one_block_named_scores(loss, scores_y):
    report = tn.check_loss(loss, *scores_y)
    assert report.passed, str(report)
    assert list(report.blocks) == ["scores"]
    assert report.results["scores"].checked == scores_y[0].size


def test_check_loss_names_a_missing_1_over_m():
    scores, y = hinge_data()
    report = tn.check_loss(HingeForgetsM(), scores, y)
    assert report.failed == ["scores"]
    assert "1/m is missing" in report.results["scores"].hint


def test_check_loss_leaves_the_scores_alone_and_validates_its_arguments():
    scores, y = hinge_data()
    before = scores.copy()
    tn.check_loss(MulticlassHinge(), scores, y)
    assert np.array_equal(scores, before)
    with pytest.raises(TypeError, match="check_loss expects a loss object"):
        tn.check_loss(MulticlassHinge, scores, y)
    with pytest.raises(ValueError, match=r"scores must be a non-empty 2-D array \(m, n_out\)"):
        tn.check_loss(MulticlassHinge(), scores[0], y)
    with pytest.raises(ValueError, match="labels must be in 0..3"):
        tn.check_loss(tn.SoftmaxCrossEntropy(), scores, y + 4)


def classification_data(seed=0, m=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 2))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    return X, y


def test_fit_trains_with_a_loss_that_has_only_forward_and_backward():
    X, y = classification_data()
    net = tn.Network([tn.Dense(2, 16), tn.Tanh(), tn.Dense(16, 3)], loss=MulticlassHinge(), seed=0)
    history = net.fit(X, y, epochs=150, optimizer=tn.Adam(lr=0.02), progress=False,
                      validation_data=classification_data(1))
    assert list(history.history) == ["loss", "val_loss", "lr"]
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    # the trained scores classify the training set (argmax computed here, not by the loss)
    assert np.mean(net.forward(X).argmax(axis=1) == y) > 0.9
    with pytest.raises(TypeError, match=r"predict needs a loss with a predict\(scores"):
        net.predict(X)
    with pytest.raises(TypeError, match=r"score needs a loss with a score\(scores"):
        net.score(X, y)


def test_fit_reports_accuracy_when_the_loss_has_score():
    X, y = classification_data()
    net = tn.Network([tn.Dense(2, 16), tn.Tanh(), tn.Dense(16, 3)], loss=HingeWithExtras(), seed=0)
    history = net.fit(X, y, epochs=100, optimizer=tn.Adam(lr=0.02), progress=False)
    assert list(history.history) == ["loss", "accuracy", "lr"]
    assert net.score(X, y) == np.mean(net.forward(X).argmax(axis=1) == y)


@pytest.mark.parametrize("loss_cls", [MulticlassHinge, HingeWithExtras])
def test_the_checker_works_with_and_without_batched_losses(loss_cls):
    X, y = classification_data(m=9)
    net = tn.Network([tn.Dense(2, 5), tn.Tanh(), tn.Dense(5, 3)], loss=loss_cls(), seed=0)
    for mode in ("full", "screen"):
        assert net.check_gradients(X, y, mode=mode).passed


def test_a_wrong_custom_loss_backward_is_blamed_on_the_loss():
    X, y = classification_data(m=9)
    net = tn.Network([tn.Dense(2, 5), tn.Tanh(), tn.Dense(5, 3)], loss=HingeForgetsM(), seed=0)
    report = net.check_gradients(X, y)
    assert [(c.where, c.part, c.layer) for c in report.culprits] == [
        ("loss", "scores", "HingeForgetsM()")]


def test_a_check_where_every_gradient_is_exactly_zero_does_not_pass():
    X, y = tn.datasets.blobs(60, centers=3, seed=0)
    net = tn.Network([tn.Dense(2, 8), tn.Tanh(), tn.Dense(8, 3)], loss=MulticlassHinge(), seed=0)
    assert net.check_gradients(X[:16], y[:16]).passed          # margins violated: tested
    # Scores 10 for the true class, 0 for the others: every margin is met with room to
    # spare, so J is 0 on a neighbourhood of θ and both gradients are exactly 0.
    flat = tn.Network([tn.Dense(3, 3)], loss=MulticlassHinge(), seed=0)
    flat.set_parameters({"W1": 10.0 * np.eye(3), "b1": np.zeros(3)})
    report = flat.check_gradients(np.eye(3)[y[:16]], y[:16])
    assert not report.passed
    assert {r.verdict for r in report.results.values()} == {"inconclusive"}
    assert "every gradient is exactly 0 here: nothing was tested" in str(report)
    assert report.verdict == "inconclusive" and "(inconclusive)" in str(report).splitlines()[1]
