"""Blame: a failing check names the piece whose backward is wrong, not only the blocks.

The planted bugs are those of test_checker_selftest.py (network Dense(4→6) act Dense(6→6)
act [Dropout] Dense(6→3), so layers[1] and layers[3] are the activations, layers[0], [2]
and the last one the Dense layers). Which piece is at fault follows from how each bug was
written, not from the checker: a subclass's overridden backward is the culprit, with the
part it gets wrong.
"""

import json

import numpy as np
import pytest

import tinynet as tn
from custom_layers import (BatchNormConstantStats, InPlaceReLU, InPlaceReLUForgetsMask,
                           LeakyReLUWithWrongSlopes, NoisyKinksTanhWrong, PlainDropoutForgetsMask,
                           SelfRngDropoutForgetsScale)
from test_checker_selftest import (BUGS, DenseBiasDoubled, DenseDxWrong, DenseSignFlip, L2Halved,
                                   ScaleForgetsX, SoftmaxForgetsM, TanhWrong, build, data)
from test_checker_sweep import random_case

# bug id -> the pieces at fault, as (where, part)
CULPRITS = {
    "relu-forgets-mask": {("layers[1]", "x")},
    "relu-forgets-mask-layer2": {("layers[3]", "x")},
    "tanh-wrong": {("layers[1]", "x")},
    "sigmoid-wrong": {("layers[1]", "x")},
    "leakyrelu-forgets-alpha": {("layers[1]", "x")},
    "loss-forgets-1/m": {("loss", "scores")},
    "dense-dW-times-m": {("layers[2]", "W")},
    "dW-sign-flip": {("layers[4]", "W")},
    "db-sign-flip": {("layers[0]", "b")},
    "dW-transposed": {("layers[2]", "W")},
    "one-wrong-entry": {("layers[2]", "W")},
    "dx-wrong": {("layers[4]", "x")},
    "l2-forgotten": {("penalty", "W1"), ("penalty", "W2"), ("penalty", "W3")},
    "l2-halved": {("penalty", "W1"), ("penalty", "W2"), ("penalty", "W3")},
    "dropout-forgets-1/keep_prob": {("layers[4]", "x")},
    "custom-layer-param": {("layers[1]", "gamma")},
    "bias-bug-under-big-L2": {("layers[2]", "b")},
}


def named(report):
    return {(c.where, c.part) for c in report.culprits}


@pytest.mark.parametrize("mode", ["full", "sample", "screen"])
@pytest.mark.parametrize("name, kwargs, options", [b[:3] for b in BUGS], ids=[b[0] for b in BUGS])
def test_each_planted_bug_is_blamed_on_exactly_its_piece(name, kwargs, options, mode):
    X, y = data()
    if mode == "sample" and name == "one-wrong-entry":
        # a sample of 10 need not include W2[1, 2]; 36 entries is all of W2 (6x6)
        options = dict(options, samples=36)
    report = build(**kwargs).check_gradients(X, y, mode=mode, **options)
    assert named(report) == CULPRITS[name], str(report)


class DenseLargestEntryWrong(tn.Dense):
    """One entry of dW wrong, and so far off that it is the block's largest gradient."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"][1, 2] = 3 * np.abs(self.grads["W"]).max()
        return dx


@pytest.mark.parametrize("seed", range(3))
def test_sample_mode_always_checks_the_largest_gradients_so_a_blown_up_entry_is_caught(seed):
    """What sample mode promises: the block's largest analytic gradients are always among the
    entries checked, so one entry that backprop blows up is caught with a sample of 2."""
    X, y = data(seed)
    report = build(seed=seed, dense2=DenseLargestEntryWrong).check_gradients(
        X, y, mode="sample", samples=2)
    assert report.failed == ["W2"], str(report)
    assert report.results["W2"].worst[0].index == (1, 2)
    assert named(report) == {("layers[2]", "W")}, str(report)


TWO_AT_ONCE = [
    (dict(act1=TanhWrong, dense3=DenseSignFlip), {("layers[1]", "x"), ("layers[4]", "W")}),
    (dict(dense3=DenseDxWrong, act1=ScaleForgetsX), {("layers[4]", "x"), ("layers[1]", "gamma")}),
    (dict(loss=SoftmaxForgetsM, penalty=L2Halved(3.0)),
     {("loss", "scores"), ("penalty", "W1"), ("penalty", "W2"), ("penalty", "W3")}),
    (dict(dense2=DenseBiasDoubled, act2=TanhWrong), {("layers[2]", "b"), ("layers[3]", "x")}),
]


@pytest.mark.parametrize("mode", ["full", "sample", "screen"])
@pytest.mark.parametrize("kwargs, expected", TWO_AT_ONCE)
def test_two_bugs_at_once_are_both_blamed(kwargs, expected, mode):
    X, y = data(1)
    report = build(**kwargs).check_gradients(X, y, mode=mode)
    assert named(report) == expected, str(report)


class TanhTimes(tn.Tanh):
    """A Tanh whose backward is off by a constant factor."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def backward(self, dout):
        return self.factor * dout * (1 - self.out ** 2)


def test_the_culprit_names_the_layer_and_the_measured_factor_and_the_report_ends_with_it():
    X, y = data()
    net = tn.Network([tn.Dense(4, 6), tn.Tanh(), tn.Dense(6, 6), TanhTimes(1.5), tn.Dense(6, 3)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    report = net.check_gradients(X, y)
    [culprit] = report.culprits
    assert (culprit.where, culprit.layer, culprit.part) == ("layers[3]", "TanhTimes()", "x")
    assert culprit.hint == "1.5 x numeric"
    assert culprit.difference == pytest.approx(0.5 / 2.5, rel=1e-3)   # |1.5 − 1| / (1.5 + 1)
    text = str(report)
    assert text.splitlines()[-1].strip().startswith("layers[3] TanhTimes(): backward returns a "
                                                    "wrong input gradient dx")
    for block in ("W1", "b1", "W2", "b2"):
        row = next(line for line in text.splitlines() if line.startswith(block + " "))
        assert row.endswith("<-- FAIL (because of layers[3])"), row


def test_a_factor_close_to_one_is_printed_with_its_digits():
    X, y = data()
    net = tn.Network([tn.Dense(4, 6), TanhTimes(1.0001), tn.Dense(6, 3)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    report = net.check_gradients(X, y)
    assert [c.hint for c in report.culprits] == ["1.0001 x numeric"], str(report)
    assert "1.0001 x numeric" in report.results["W1"].hint


def test_nothing_is_blamed_when_everything_passes():
    X, y = data()
    report = build().check_gradients(X, y)
    assert report.passed and report.culprits == []
    assert "root cause" not in str(report)
    assert report.to_dict()["culprits"] == []


def test_culprits_are_in_to_dict_and_json_and_the_plot():
    X, y = data()
    report = build(act1=TanhWrong).check_gradients(X, y)
    d = json.loads(report.to_json())
    assert [(c["where"], c["part"]) for c in d["culprits"]] == [("layers[1]", "x")]
    assert d["culprits"][0]["layer"] == "TanhWrong()"
    assert d["caused_by"] == {"W1": "layers[1]", "b1": "layers[1]"}
    fig = report.plot()
    assert "layers[1]" in " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def doubled(loss):
    """The same loss with a backward twice too large: it makes any network's check fail."""
    cls = type(loss)
    buggy = type("Doubled" + cls.__name__, (cls,), {"backward": lambda self: 2 * cls.backward(self)})
    return buggy()


def test_random_correct_layers_are_never_blamed():
    """On the sweep's random networks (kinks, dead units, dropout, L2, all modes) a loss bug
    makes every check fail, so every layer and the penalty are checked in place: only the
    loss may be named."""
    wrong = []
    for seed in range(0, 400, 4):
        net, X, y, options, description = random_case(seed)
        net.loss = doubled(net.loss)
        report = net.check_gradients(X, y, **options)
        # (a network whose every unit is dead passes: dscores never reaches a gradient)
        if named(report) != (set() if report.passed else {("loss", "scores")}):
            wrong.append(f"{description}\n{report}")
    assert not wrong, "\n\n".join(wrong)


class NoisyScale(tn.Layer):
    """Multiplies by a fresh random mask from ``self.rng`` on every forward (correct backward)."""

    rowwise = False

    def __init__(self, n):
        super().__init__()
        self.add_param("gamma", np.ones(n))

    def forward(self, x, training=False):
        self.x = x
        self.mask = 1.0 + 0.5 * self.rng.random(x.shape)
        return x * self.mask * self.params["gamma"]

    def backward(self, dout):
        self.grads["gamma"][...] = (dout * self.x * self.mask).sum(axis=0)
        return dout * self.mask * self.params["gamma"]


def test_a_layer_that_draws_random_numbers_sees_the_same_draws_and_is_not_blamed():
    X, y = data()
    net = tn.Network([tn.Dense(4, 6), tn.Tanh(), NoisyScale(6), tn.Dense(6, 3)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    net.loss = doubled(net.loss)
    before = net.params.copy()
    report = net.check_gradients(X, y, mode="screen")
    assert named(report) == {("loss", "scores")}, str(report)
    assert np.array_equal(net.params, before)


def test_blame_leaves_the_model_as_it_was():
    X, y = data()
    net = build(act1=TanhWrong, dense2=DenseBiasDoubled)
    before, scores = net.params.copy(), net.forward(X)
    net.check_gradients(X, y)
    assert np.array_equal(net.params, before)
    assert np.array_equal(net.forward(X), scores)


# ---- the second opinion: how the error moves with eps ----------------------------------------

def test_a_one_in_a_million_factor_bug_fails_inside_the_fine_band_and_is_blamed():
    X, y = data()
    net = tn.Network([tn.Dense(4, 6), tn.Tanh(), tn.Dense(6, 6), TanhTimes(1 + 1e-6),
                      tn.Dense(6, 3)], loss=tn.SoftmaxCrossEntropy(), seed=0)
    report = net.check_gradients(X, y)
    assert report.failed == ["W1", "b1", "W2", "b2"], str(report)
    for name in report.failed:
        result = report.results[name]
        assert result.difference < 1e-5 and result.verdict == "mismatch"   # inside "fine"
        assert "stays constant" in result.opinion and "1.000001 x numeric" in result.opinion
    assert [(c.where, c.part, c.hint) for c in report.culprits] == [
        ("layers[3]", "x", "1.000001 x numeric")]
    assert report.culprits[0].difference == pytest.approx(1e-6 / (2 + 1e-6), rel=1e-2)


def test_truncation_is_recognized_by_its_eps_squared_slope():
    X, y = data()
    # a large step, and a tolerance that lets 64x that step still count as smooth
    report = build().check_gradients(X, y, eps=1e-3, tol=1e-2)
    W1 = report.results["W1"]
    assert W1.difference > 1e-7 and W1.passed, str(report)
    slope = float(W1.opinion.split("eps^")[1].split()[0])
    assert 1.8 < slope < 2.2 and "truncation" in W1.opinion
    assert W1.hint == "" and report.culprits == []


def test_round_off_is_recognized_by_its_one_over_eps_slope_and_passes_at_a_better_step():
    """eps = 1e-11 on a correct network: J's last bits are most of its changes, so the first
    look fails W1 at ~1e-4; at 4 to 64 eps the error falls as 1/eps and gets below tol."""
    X, y = data()
    report = build(act1=tn.Sigmoid, act2=tn.Sigmoid).check_gradients(X, y, eps=1e-11)
    W1 = report.results["W1"]
    assert report.passed and W1.verdict == "numerical" and W1.difference > 1e-5, str(report)
    slope = float(W1.opinion.split("eps^")[1].split()[0])
    assert -1.3 < slope < -0.7 and "round-off" in W1.opinion


# ---- custom layers that write into their input, draw from self.rng, lie in their hooks ----------

@pytest.mark.parametrize("bug", [
    lambda: BatchNormConstantStats(5), InPlaceReLUForgetsMask, LeakyReLUWithWrongSlopes,
    NoisyKinksTanhWrong, lambda: PlainDropoutForgetsMask(0.6), SelfRngDropoutForgetsScale,
], ids=["batchnorm", "in-place-relu", "wrong-slopes", "noisy-kinks", "dropout-subclass",
        "self-rng-dropout"])
def test_a_buggy_custom_layer_is_blamed_and_its_correct_neighbours_are_not(bug):
    X, y = data(2)
    net = tn.Network([tn.Dense(4, 6), InPlaceReLU(), tn.Dense(6, 5), bug(), tn.Dense(5, 3)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    report = net.check_gradients(X, y, dropout="frozen")
    assert named(report) == {("layers[3]", "x")}, str(report)
