"""Details of the printed report that users tripped over."""

import pathlib
import re

import numpy as np

import tinynet as tn
from test_checker_sweep import random_case
from test_checking import course_functions


def rows(report):
    """{block name: its table row}."""
    lines = str(report).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("block "))
    return {line.split()[0]: line for line in lines[start + 1:start + 1 + len(report.results)]}


def test_gradcheck_keeps_the_users_shapes_and_entry_indices():
    cost, params, grads = course_functions(buggy=True)
    report = tn.gradcheck(cost, params, grads)
    assert report.results["b1"].shape == (5, 1) and report.results["b3"].shape == (1, 1)
    table = rows(report)
    assert "(5, 1)" in table["b1"] and "(1, 1)" in table["b3"]
    # the course's db1 is 4x too large in every entry: the worst is some [i, 0] of the column
    assert all(len(e.index) == 2 and e.index[1] == 0 for e in report.results["b1"].worst)
    assert "[0, 0]" in table["b3"]


def test_the_worst_entry_column_says_which_number_is_which():
    cost, params, grads = course_functions(buggy=True)
    text = str(tn.gradcheck(cost, params, grads))
    assert "worst entry: analytic vs numeric" in text
    # W2's gradient is doubled: the analytic value comes first, twice the numeric one
    row = rows(tn.gradcheck(cost, params, grads))["W2"]
    analytic, numeric = (float(v) for v in row.split("]")[1].split("<--")[0].split(" vs "))
    assert abs(analytic / numeric - 2) < 1e-3            # 4 printed digits each


def test_the_L2_share_never_exceeds_100_percent():
    shares = []
    for seed in range(0, 200, 5):
        net, X, y, options, _ = random_case(seed)
        net.penalty = tn.L2(3.0) if net.penalty is None else net.penalty
        report = net.check_gradients(X, y, mode="full")
        shares += [r.penalty_share for r in report.results.values()]
    assert max(shares) <= 1.0
    assert max(shares) > 0.9            # the sweep does reach penalty-dominated blocks


def test_screen_mode_never_prints_more_checked_than_the_block_has():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 2, size=6)
    net = tn.Network([tn.Dense(4, 3), tn.Tanh(), tn.Dense(3, 1)], loss=tn.SigmoidCrossEntropy(),
                     seed=0)
    for directions in (1, 3, 5):
        report = net.check_gradients(X, y, mode="screen", directions=directions)
        for name, row in rows(report).items():
            for done, size in re.findall(r" (\d+)/(\d+) ", row):
                assert int(done) <= int(size) == report.results[name].size, row
        assert "1/1" in rows(report)["b2"]
    assert "1 dir " in rows(net.check_gradients(X, y, mode="screen", directions=1))["W1"]


class TanhTimes2(tn.Tanh):
    def backward(self, dout):
        return 2 * dout * (1 - self.out ** 2)


def test_the_depth_note_is_only_printed_on_passing_reports():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=5)

    def deep(activation):
        layers = [tn.Dense(3, 4)]
        for _ in range(4):
            layers += [activation(), tn.Dense(4, 4)]
        return tn.Network(layers + [tn.Tanh(), tn.Dense(4, 2)], loss=tn.SoftmaxCrossEntropy(),
                          seed=0)
    assert "round-off accumulates with depth" in str(deep(tn.Tanh).check_gradients(X, y))
    failing = deep(TanhTimes2).check_gradients(X, y)
    assert not failing.passed and "round-off accumulates" not in str(failing)


def test_the_readme_shows_exactly_what_gradcheck_prints_on_the_course_functions():
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    after = readme.split("`print(tn.gradcheck(cost, parameters, gradients))` prints")[1]
    shown = after.split("```\n")[1].rstrip("\n")
    cost, params, grads = course_functions(buggy=True)
    assert shown == str(tn.gradcheck(cost, params, grads))
