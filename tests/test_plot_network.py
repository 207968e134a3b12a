"""tn.plot.network: the layers as boxes, coloured by a gradient check, culprits marked."""

from types import SimpleNamespace

import matplotlib
import numpy as np
from matplotlib.figure import Figure

import tinynet as tn
from tinynet import plot


def boxes(fig):
    return {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}


def texts(fig):
    return "\n".join(t.get_text() for t in fig.axes[0].texts)


class BadTanh(tn.Tanh):
    def backward(self, dout):
        return dout * (1 - self.out ** 2) * 1.5  # should be dout * (1 - A²)


def make_net():
    return tn.Network([tn.Dense(2, 16), tn.ReLU(), tn.Dense(16, 8), BadTanh(),
                       tn.Dropout(keep_prob=0.8), tn.Dense(8, 3)],
                      loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(0.5), seed=0)


def test_one_box_per_layer_with_shapes_and_parameter_counts():
    net = make_net()
    fig = plot.network(net)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert set(boxes(fig)) == {"input", "loss", "penalty"} | {f"layers[{i}]" for i in range(6)}
    written = texts(fig)
    for words in ("Dense(2 -> 16)", "W1 (16, 2)", "b1 (16,)", "48 params", "W2 (8, 16)",
                  "136 params", "W3 (3, 8)", "27 params", "-> (m, 3)", "(m, 2)", "BadTanh()",
                  "(keep_prob=0.8)", "SoftmaxCrossEntropy()", "L2(lambd=0.5)"):
        assert words in written, words
    assert fig.axes[0].get_title() == "6 layers, 211 parameters"
    # without a report nothing is judged
    assert len({p.get_facecolor() for p in boxes(fig).values()}) == 1
    matplotlib.pyplot.close("all")


def test_a_real_report_colours_the_layers_by_their_blocks_verdicts():
    net = make_net()
    X, y = tn.datasets.spirals(30, seed=0)
    report = net.check_gradients(X, y)
    assert not report.passed and report.block_passed["W3"]  # the premise: W1/W2 fail, W3 passes
    ax = Figure().subplots()
    fig = plot.network(net, report, ax=ax)
    assert fig is ax.figure
    red, green = (matplotlib.colors.to_rgba(c, 0.9) for c in ("tab:red", "tab:green"))
    by_place = boxes(fig)
    assert by_place["layers[0]"].get_facecolor() == red
    assert by_place["layers[2]"].get_facecolor() == red
    assert by_place["layers[5]"].get_facecolor() == green
    assert by_place["layers[1]"].get_facecolor() != red  # no parameters: not judged
    assert "FAILED" in ax.get_title()


def test_culprits_are_marked_with_their_part_and_hint():
    net = make_net()
    report = SimpleNamespace(
        blocks={"W1": 0.16, "b1": 0.2, "W2": 0.2, "b2": 0.2, "W3": 1e-10, "b3": 2e-11},
        block_passed={"W1": False, "b1": False, "W2": False, "b2": False, "W3": True, "b3": True},
        passed=False,
        culprits=[SimpleNamespace(where="layers[3]", layer="BadTanh()", part="x",
                                  difference=0.2, hint="1.5 x numeric"),
                  SimpleNamespace(where="penalty", layer="L2(lambd=0.5)", part="W2",
                                  difference=0.5, hint="")])
    fig = plot.network(net, report)
    by_place = boxes(fig)
    marked = {where for where, p in by_place.items() if p.get_linewidth() > 1}
    assert marked == {"layers[3]", "penalty"}
    notes = {t.get_gid(): t.get_text() for t in fig.axes[0].texts if t.get_gid()}
    assert "dx" in notes["culprit layers[3]"] and "1.5 x numeric" in notes["culprit layers[3]"]
    assert "dW2" in notes["culprit penalty"]
    assert "culprits: layers[3], penalty" in fig.axes[0].get_title()
    # a report from before blame (no culprits attribute) marks nothing
    del report.culprits
    plain = boxes(plot.network(net, report))
    assert all(p.get_linewidth() == 1 for p in plain.values())
    matplotlib.pyplot.close("all")


def test_a_block_that_passes_on_round_off_is_never_shown_as_a_bug():
    net = tn.Network([tn.Dense(2, 3)], loss=tn.MeanSquaredError())
    report = SimpleNamespace(blocks={"W1": 5e-3, "b1": 1e-9}, block_passed={"W1": True, "b1": True},
                             passed=True)
    box = boxes(plot.network(net, report))["layers[0]"]
    assert box.get_facecolor() == matplotlib.colors.to_rgba("tab:olive", 0.9)
    assert np.isclose(box.get_linewidth(), 1)
    matplotlib.pyplot.close("all")
