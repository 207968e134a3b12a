"""Plot legends and titles a reader can trust: a legend never covers the data, the decision
boundary names its classes and its data set, a check's title speaks like print(report)."""

from types import SimpleNamespace

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import tinynet as tn
from tinynet import datasets, plot
from tinynet.training import GradientNormMonitor


@pytest.fixture(scope="module")
def trained():
    X, y = datasets.spirals(90, n_classes=3, seed=0)
    net = tn.Network([tn.Dense(2, 8), tn.ReLU(), tn.Dense(8, 3)], loss=tn.SoftmaxCrossEntropy(),
                     seed=0)
    monitor = GradientNormMonitor()
    history = net.fit(X, y, epochs=4, batch_size=30, validation_data=(X, y), callbacks=[monitor],
                      progress=False)
    return net, X, y, history, monitor


def draw(make):
    fig = Figure(figsize=(6.4, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    make(ax)
    fig.tight_layout()
    fig.canvas.draw()
    return fig, ax


def assert_legend_clear_of_the_data(fig):
    renderer = fig.canvas.get_renderer()
    legends = [artist for axis in fig.axes for artist in [axis.get_legend()] if artist]
    assert legends, "no legend drawn"
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for axis in fig.axes:
            assert not box.overlaps(axis.get_window_extent(renderer)), "the legend covers the plot"
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= fig.bbox.x1 and box.y1 <= fig.bbox.y1, \
            "the legend is cut off by the figure's edge"


def fake_report(passed):
    return SimpleNamespace(blocks={"W1": 1e-9, "b1": 0.3 if not passed else 2e-10},
                           block_passed={"W1": True, "b1": passed}, passed=passed,
                           difference=1e-9 if passed else 0.2)


def test_decision_boundary_has_a_class_legend_and_the_title_it_was_given(trained):
    net, X, y, _, _ = trained
    fig, ax = draw(lambda ax: plot.decision_boundary(net, X, y, ax=ax, resolution=30,
                                                     title="decision boundary: spirals"))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1", "class 2"]
    assert ax.get_title() == "decision boundary: spirals"
    assert_legend_clear_of_the_data(fig)


@pytest.mark.parametrize("name", ["history", "gradient_norms", "gradcheck_report"])
def test_legends_sit_outside_the_curves(trained, name):
    _, _, _, history, monitor = trained
    make = {"history": lambda ax: plot.history(history, ax=ax),
            "gradient_norms": lambda ax: plot.gradient_norms(monitor, ax=ax),
            "gradcheck_report": lambda ax: plot.gradcheck_report(fake_report(False), ax=ax)}[name]
    fig, _ = draw(make)
    assert_legend_clear_of_the_data(fig)


@pytest.mark.parametrize("passed, word", [(True, "PASSED"), (False, "FAILED")])
def test_the_check_title_uses_the_words_of_the_printed_report(passed, word):
    _, ax = draw(lambda ax: plot.gradcheck_report(fake_report(passed), ax=ax))
    assert ax.get_title().startswith(f"gradient check {word}")
    assert ("passed" in ax.get_title().lower()) == passed


def test_the_command_line_names_the_data_set_in_the_decision_boundary_title(tmp_path, monkeypatch):
    titles = []
    real = plot.decision_boundary
    monkeypatch.setattr(plot, "decision_boundary",
                        lambda *a, **k: titles.append(k.get("title")) or real(*a, **k))
    from tinynet.cli import main
    assert main(["train", "--data", "circles", "--m", "40", "--hidden", "4", "--epochs", "1",
                 "--out", str(tmp_path), "--quiet"]) == 0
    assert titles == ["decision boundary: circles"]
