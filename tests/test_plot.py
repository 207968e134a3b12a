"""Plots: each returns a Figure with the expected artists, on a new or a given axis."""

from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import tinynet as tn
from tinynet import datasets, plot
from tinynet.training import GradientNormMonitor, fit


@pytest.fixture(scope="module")
def trained():
    X, y = datasets.spirals(90, n_classes=3, seed=0)
    net = tn.Network([tn.Dense(2, 16), tn.ReLU(), tn.Dense(16, 3)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    monitor = GradientNormMonitor()
    history = fit(net, X, y, epochs=5, batch_size=30, validation_data=(X, y),
                  callbacks=[monitor], progress=False)
    return net, X, y, history, monitor


def new_ax():
    return Figure().subplots()


def test_decision_boundary_multiclass_and_binary(trained):
    net, X, y, _, _ = trained
    fig = plot.decision_boundary(net, X, y, resolution=30)
    ax = fig.axes[0]
    assert ax.collections  # the filled contour and the points
    assert ax.collections[-1].get_offsets().shape == (len(X), 2)
    binary = tn.Network([tn.Dense(2, 4), tn.Tanh(), tn.Dense(4, 1)],
                        loss=tn.SigmoidCrossEntropy(), seed=0)
    Xb, yb = datasets.moons(40, seed=0)
    ax = new_ax()
    assert plot.decision_boundary(binary, Xb, yb, ax=ax, resolution=20) is ax.figure
    matplotlib.pyplot.close("all")


def test_history_draws_train_and_validation_curves(trained):
    _, _, _, history, _ = trained
    ax = new_ax()
    fig = plot.history(history, ax=ax)
    assert fig is ax.figure
    assert [line.get_label() for line in ax.lines] == ["train loss", "validation loss"]
    assert len(fig.axes) == 2  # accuracy on a twin axis
    assert len(fig.axes[1].lines) == 2
    assert len(ax.lines[0].get_xdata()) == history.epochs
    assert history.plot(ax=new_ax()) is not None


def test_gradcheck_report_one_bar_per_block_on_a_log_scale_zero_included():
    report = SimpleNamespace(blocks={"W1": 3e-10, "b1": 0.0, "W2": 2e-2},
                             block_passed={"W1": True, "b1": True, "W2": False},
                             passed=False, difference=1e-2)
    ax = new_ax()
    fig = plot.gradcheck_report(report, ax=ax)
    assert fig is ax.figure and ax.get_yscale() == "log"
    bars = ax.patches[-3:]
    heights = [bar.get_height() for bar in bars]
    assert heights[1] == plot.FLOOR and heights[0] == 3e-10
    assert bars[2].get_facecolor() != bars[0].get_facecolor()  # failing block stands out
    assert [t.get_text() for t in ax.get_xticklabels()] == ["W1", "b1", "W2"]
    assert "FAILED" in ax.get_title()


def test_gradcheck_report_plots_a_real_report(trained):
    pytest.importorskip("tinynet.checking")
    net, X, y, _, _ = trained
    report = net.check_gradients(X[:6], y[:6])
    ax = new_ax()
    plot.gradcheck_report(report, ax=ax)
    assert len(ax.patches) >= len(report.blocks)


def test_gradient_norms_one_line_per_block(trained):
    net, _, _, _, monitor = trained
    ax = new_ax()
    plot.gradient_norms(monitor, ax=ax)
    assert len(ax.lines) == len(net.blocks) and ax.get_yscale() == "log"
    assert len(ax.lines[0].get_xdata()) == 5
    fig = plot.gradient_norms({"W1": [1.0, 0.1, 0.0]})
    assert isinstance(fig, matplotlib.figure.Figure)
    matplotlib.pyplot.close("all")


def test_eps_sweep_errors_reproduce_the_course_numbers():
    # J(θ) = θ³ at θ = 1: with ε = 0.01 two-sided gives 3.0001, one-sided 3.0301 (Course 2, week 1)
    one, two = plot.eps_sweep_errors(lambda t: t ** 3, lambda t: 3 * t ** 2, 1.0, [0.01])
    assert one[0] == pytest.approx(0.0301, rel=1e-6)
    assert two[0] == pytest.approx(0.0001, rel=1e-6)


def test_eps_sweep_shows_truncation_and_round_off():
    eps = np.logspace(-10, -1, 19)
    one, two = plot.eps_sweep_errors(lambda t: t ** 3, lambda t: 3 * t ** 2, 1.0, eps)
    assert np.all(two[-4:] < one[-4:])           # two-sided wins for moderate ε: O(ε²) vs O(ε)
    assert two[0] > 100 * two.min()              # round-off rises at tiny ε
    ax = new_ax()
    fig = plot.eps_sweep(ax=ax)
    assert fig is ax.figure and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.lines) >= 2
