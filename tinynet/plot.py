"""Plots for the lessons: decision boundaries, training curves, gradient checks, epsilon.

Every function takes an optional ``ax`` (a new figure is made when it is None) and returns the
matplotlib Figure. Nothing here calls ``plt.show()`` or changes the backend: in a script, save
with ``fig.savefig(...)``; headless runs set ``MPLBACKEND=Agg``.
"""

import textwrap

import numpy as np

from .checking.policy import BANDS

__all__ = ["decision_boundary", "history", "gradcheck_report", "gradient_norms", "activations",
           "eps_sweep", "eps_sweep_errors", "network", "VERDICT_BANDS"]

# The course's verdict bands for a relative difference (one copy: tinynet.checking.policy).
VERDICT_BANDS = tuple((limit, word, color) for (limit, word), color in zip(
    BANDS + ((np.inf, "bug"),), ("tab:green", "tab:olive", "tab:orange", "tab:red")))
# A difference of exactly 0 is drawn at this floor, so that it shows on a log scale.
FLOOR = 1e-16


def _axes(ax, **subplot_kw):
    if ax is None:
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(**subplot_kw)
        return fig, ax
    return ax.figure, ax


def decision_boundary(net, X, y, ax=None, resolution=200, padding=0.5, cmap="Spectral",
                      title=None):
    """Filled contour of the predicted class over a grid around the data, the points on top,
    and a legend of the classes (outside the axes, so it never hides a point).

    net: a trained Network with 2 inputs and a classification loss; X: (m, 2); y: labels (m,)
    or one-hot (m, C). resolution: grid points per axis; padding: margin around the data.
    title: name the data set here, e.g. "decision boundary: moons".
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary needs 2-D inputs X of shape (m, 2), got {X.shape}")
    y = np.asarray(y)
    labels = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(len(X))
    fig, ax = _axes(ax)
    (x0, y0), (x1, y1) = X.min(axis=0) - padding, X.max(axis=0) + padding
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    predicted = np.asarray(net.predict(grid)).reshape(gx.shape)
    n_classes = int(max(predicted.max(), labels.max())) + 1
    levels = np.arange(n_classes + 1) - 0.5
    ax.contourf(gx, gy, predicted, levels=levels, cmap=cmap, alpha=0.6)
    points = ax.scatter(X[:, 0], X[:, 1], c=labels, cmap=cmap, vmin=-0.5, vmax=n_classes - 0.5,
                        edgecolors="k", linewidths=0.5, s=20)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], linestyle="", marker="o", markersize=5, markeredgecolor="k",
                      markeredgewidth=0.5, markerfacecolor=points.cmap(points.norm(k)),
                      label=f"class {k}") for k in range(n_classes)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
              title="true class", title_fontsize="small")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title or "decision boundary")
    return fig


def history(history, ax=None, metrics=("loss", "accuracy")):
    """Training (solid) and validation (dashed) curves per epoch.

    history: a History (or its ``.history`` dict). The first metric is drawn on ``ax``; an
    accuracy-like second metric ("accuracy" or "r2") on a twin y axis at the right.
    """
    logs = getattr(history, "history", history)
    fig, ax = _axes(ax)
    present = [name for name in metrics if logs.get(name)]
    if "accuracy" in metrics and not logs.get("accuracy") and logs.get("r2"):
        present.append("r2")  # a regression History
    if not present:
        raise ValueError(f"history has none of the metrics {list(metrics)}; it has {list(logs)}")
    axes = [ax] + [ax.twinx() for _ in present[1:]]
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:purple"]
    for axis, name, color in zip(axes, present, colors):
        epochs = np.arange(1, len(logs[name]) + 1)
        axis.plot(epochs, logs[name], color=color, label=f"train {name}")
        if logs.get(f"val_{name}"):
            axis.plot(epochs, logs[f"val_{name}"], color=color, linestyle="--",
                      label=f"validation {name}")
        axis.set_ylabel(name, color=color)
    if "loss" in present[:1] and min(logs["loss"]) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    handles = [h for axis in axes for h in axis.get_legend_handles_labels()[0]]
    # below the axes: inside, the legend always lies on some curve of some run
    axes[-1].legend(handles, [h.get_label() for h in handles], loc="upper center",
                    bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize="small")
    ax.set_title("training history")
    return fig


def _draw_bands(ax, vertical=False):
    """Shade the course's verdict bands; lines at 1e-7, 1e-5, 1e-3."""
    low = FLOOR
    span = ax.axvspan if vertical else ax.axhspan
    line = ax.axvline if vertical else ax.axhline
    for high, name, color in VERDICT_BANDS:
        top = high if np.isfinite(high) else 1e3
        span(low, top, color=color, alpha=0.08, label=f"{name}")
        if np.isfinite(high):
            line(high, color=color, linestyle=":", linewidth=1)
        low = high


def gradcheck_report(report, ax=None):
    """Per-block differences of a GradCheckReport as bars on a log scale, over the verdict bands.

    report: anything with ``blocks`` {name: difference} and ``block_passed`` {name: bool}.
    Passing blocks are green, failing ones red; a difference of 0 is drawn at 1e-16. With
    blame (``report.culprits``), a block that fails only because of a culprit above it is
    hatched and labelled with it, and the culprits are written in the lower left corner.
    """
    fig, ax = _axes(ax)
    names = list(report.blocks)
    values = np.maximum(np.array([report.blocks[n] for n in names], dtype=np.float64), FLOOR)
    passed = getattr(report, "block_passed", {})
    colors = ["tab:green" if passed.get(n, True) else "tab:red" for n in names]
    ax.set_yscale("log")
    _draw_bands(ax)
    caused_by = getattr(report, "caused_by", {})
    bars = ax.bar(range(len(names)), values, color=colors, edgecolor="k", zorder=3)
    for bar, name in zip(bars, names):
        if name in caused_by:
            bar.set_hatch("//")
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() * 2, caused_by[name],
                    ha="center", va="bottom", fontsize="x-small", rotation=90, zorder=4)
    culprits = getattr(report, "culprits", None)
    if culprits:
        ax.text(0.01, 0.02, "root cause: " + "; ".join(
                    f"{c.where} {c.layer} {c.part}" + (f" ({c.hint})" if c.hint else "")
                    for c in culprits),
                transform=ax.transAxes, fontsize="x-small", va="bottom", zorder=5,
                bbox=dict(facecolor="white", alpha=0.8, edgecolor="none"))
    ax.set_xticks(range(len(names)), names)
    ax.set_ylim(FLOOR / 10, max(1.0, values.max() * 10) if len(values) else 1.0)
    ax.set_ylabel("relative difference  ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖)")
    verdict = "PASSED" if getattr(report, "passed", True) else "FAILED"  # as print(report) says
    total = getattr(report, "difference", None)
    ax.set_title(f"gradient check {verdict}" + (f" (overall {total:.2e})" if total is not None
                                                 else ""))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", title="verdict bands",
              title_fontsize="small")
    return fig


def gradient_norms(monitor, ax=None):
    """Per-block gradient norms across training on a log scale.

    monitor: a GradientNormMonitor, or a dict {block name: [norm per recorded epoch]}.
    """
    norms = getattr(monitor, "norms", monitor)
    if not isinstance(norms, dict) or not norms:
        raise ValueError("gradient_norms needs a GradientNormMonitor that has recorded epochs "
                         f"or a dict {{name: [norms]}}, got {type(monitor).__name__}")
    epochs = getattr(monitor, "epochs", None)
    fig, ax = _axes(ax)
    for name, values in norms.items():
        values = np.maximum(np.asarray(values, dtype=np.float64), FLOOR)
        x = np.asarray(epochs) + 1 if epochs is not None and len(epochs) == len(values) \
            else np.arange(1, len(values) + 1)
        ax.plot(x, values, label=name, linestyle="-" if name.startswith("W") else ":")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("‖dθ‖₂ of the block")
    ax.set_title("gradient norms per block")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _recorded_monitor(source, X, y):
    """activations' source as an ActivationMonitor with something recorded, or a clear error."""
    from .monitor import ActivationMonitor
    from .network import Network
    if isinstance(source, Network):
        if X is None:
            raise ValueError("activations(net, X, y=None): a Network is measured on inputs X")
        source = ActivationMonitor().measure(source, X, y)
    elif not isinstance(source, ActivationMonitor):
        raise TypeError("activations needs an ActivationMonitor or a Network, got "
                        f"{type(source).__name__}")
    if not source.steps or not source.names:
        raise ValueError("the ActivationMonitor has recorded nothing: pass it to fit(callbacks=[...]) "
                         "or call its measure(net, X, y) first"
                         if not source.steps else "the ActivationMonitor watches no layer")
    return source


def activations(source, X=None, y=None, axes=None, bins=50):
    """Per-layer histograms of activations and gradients, and the monitor's curves.

    source: an ActivationMonitor that has recorded steps, or a Network, measured on X (and y for
    the gradients) with ``ActivationMonitor().measure(net, X, y)``. Draws the histograms of each
    watched layer's output and of the gradient reaching it at the latest sample (makemore part
    3's plots); for a monitor that watched training, also per layer over the steps: the share of
    saturated (Tanh, Sigmoid, solid) and dead (ReLU, dashed) units, the std of the outputs, the
    std of their gradients, and per weight matrix the update-to-data ratio ‖Δθ‖/‖θ‖ (1-D blocks
    such as biases are left out: they start at 0). axes: 2 axes (histograms only) or 6 to draw into; default a new
    figure. -> the Figure.
    """
    monitor = _recorded_monitor(source, X, y)
    curves = any(step is not None for step in monitor.steps)
    n_axes = 6 if curves else 2
    if axes is None:
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(3 if curves else 1, 2, figsize=(11, 10 if curves else 3.5),
                                 squeeze=False)
        fig.set_layout_engine("constrained")
    axes = list(np.ravel(axes))
    if len(axes) != n_axes:
        raise ValueError(f"activations draws into {n_axes} axes here, got {len(axes)}")
    fig = axes[0].figure

    def histogram(ax, arrays, title, describe):
        for i, name in monitor.names.items():
            a = arrays.get(i)
            if a is None:
                continue
            counts, edges = np.histogram(np.asarray(a, dtype=np.float64), bins=bins)
            ax.plot((edges[:-1] + edges[1:]) / 2, counts / counts.sum(),
                    label=f"{name}: {describe(i, a)}")
        ax.set_title(title)
        ax.set_ylabel("share of values")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="x-small")

    def activation_label(i, a):
        text = f"mean {monitor.mean[i][-1]:+.2f}, std {monitor.std[i][-1]:.2f}"
        if i in monitor.saturated:
            text += f", saturated {monitor.saturated[i][-1]:.0%}"
        if i in monitor.dead:
            text += f", dead {monitor.dead[i][-1]:.0%}"
        return text

    histogram(axes[0], monitor.values, "activations (outputs of the layers)", activation_label)
    axes[0].set_xlabel("value")
    histogram(axes[1], monitor.grads, "gradients reaching those outputs",
              lambda i, g: f"std {monitor.grad_std[i][-1]:.2e}")
    axes[1].set_xlabel("dJ/d(output)")
    if not curves:
        return fig

    steps = np.array([np.nan if s is None else s for s in monitor.steps], dtype=np.float64)

    def curve(ax, series, title, ylabel, log=False, names=None, dashed=()):
        for key, values in series.items():
            ax.plot(steps, values, "--" if key in dashed else "-",
                    label=names[key] if names else key)
        ax.set_title(title)
        ax.set_xlabel("training step")
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="x-small", ncol=2)

    curve(axes[2], {**monitor.saturated, **monitor.dead}, "saturated (solid) / dead (dashed)",
          "share of units", names=monitor.names, dashed=monitor.dead)
    axes[2].set_ylim(-0.02, 1.02)
    curve(axes[3], monitor.std, "std of the activations", "std", names=monitor.names)
    curve(axes[4], monitor.grad_std, "std of the gradients", "std", log=True,
          names=monitor.names)
    weights = {name: np.maximum(values, FLOOR) for name, values in monitor.update_ratio.items()
               if len(monitor.shapes[name]) >= 2}
    curve(axes[5], weights, "update / data ratio ‖Δθ‖ / ‖θ‖", "ratio", log=True)
    axes[5].axhline(1e-3, color="gray", linestyle=":", linewidth=1)
    return fig


def eps_sweep_errors(f, df, theta, eps_values):
    """|error| of the one-sided and two-sided difference estimates of ``df(theta)``.

    one-sided: (f(θ+ε) − f(θ)) / ε, error O(ε); two-sided: (f(θ+ε) − f(θ−ε)) / 2ε, error O(ε²).
    eps_values: (k,) -> (one_sided_err (k,), two_sided_err (k,)), float64.
    """
    eps = np.asarray(eps_values, dtype=np.float64)
    theta = float(theta)
    exact = float(df(theta))
    one = np.array([(f(theta + e) - f(theta)) / e for e in eps])
    two = np.array([(f(theta + e) - f(theta - e)) / (2 * e) for e in eps])
    return np.abs(one - exact), np.abs(two - exact)


def eps_sweep(ax=None, f=lambda t: t ** 3, df=lambda t: 3 * t ** 2, theta=1.0,
              eps_values=None):
    """The course's epsilon lesson on log-log axes: J(θ) = θ³ at θ = 1, exact derivative 3.

    With ε = 0.01 the two-sided estimate is 3.0001 and the one-sided 3.0301 (deeplearning.ai
    Course 2, week 1, "Numerical approximation of gradients"). Large ε: truncation error (slope 1
    for one-sided, 2 for two-sided); tiny ε: round-off, which grows like 1/ε.
    """
    eps = np.logspace(-10, -1, 91) if eps_values is None else np.asarray(eps_values, float)
    one, two = eps_sweep_errors(f, df, theta, eps)
    fig, ax = _axes(ax)
    ax.loglog(eps, np.maximum(one, FLOOR), label="one-sided (f(θ+ε) − f(θ)) / ε:  O(ε)")
    ax.loglog(eps, np.maximum(two, FLOOR), label="two-sided (f(θ+ε) − f(θ−ε)) / 2ε:  O(ε²)")
    ax.axvline(1e-7, color="gray", linestyle=":", linewidth=1, label="ε = 1e-7 (the course's)")
    ax.set_xlabel("ε")
    ax.set_ylabel("|estimate − exact derivative|")
    ax.set_title("finite differences: truncation vs round-off")
    ax.legend(fontsize="small")
    return fig


# ---------------------------------------------------------------------------- the network

UNCHECKED = "whitesmoke"     # a box the report says nothing about (no parameters, no report)
CULPRIT = "darkred"          # the edge and note of a piece that blame found wrong


def _layer_verdict(differences, passed):
    """-> (word, colour, label) for a layer from its blocks' differences and pass flags.

    Each block takes its band, but a failing block is at least "suspicious" and a passing one
    at most "fine" (a block may pass above 1e-5 on the round-off clause, its difference then
    meaning nothing); the layer takes its worst block's verdict.
    """
    bands = [next(i for i, (high, _, _) in enumerate(VERDICT_BANDS) if d < high)
             for d in differences]
    bands = [min(band, 1) if ok else max(band, 2) for band, ok in zip(bands, passed)]
    _, word, color = VERDICT_BANDS[max(bands)]
    shown = [d for d, ok in zip(differences, passed) if not ok or d < VERDICT_BANDS[1][0]]
    if not all(passed):
        shown = [d for d, ok in zip(differences, passed) if not ok]
    label = f"{word}: {max(shown):.1e}" if shown else f"{word} (round-off)"
    return word, color, label


def network(net, report=None, ax=None):
    """The layers as a chain of boxes: name, parameter shapes and counts, output width.

    report: a GradCheckReport of ``net`` (or anything with ``blocks`` {name: difference} and
    ``block_passed``): each layer's box takes the colour of its blocks' verdict (the course's
    bands; a failing block is never green), and every culprit in ``report.culprits`` (blame:
    ``where`` = "layers[i]", "loss" or "penalty") gets a dark red edge and a note with its
    ``part`` and ``hint``. Each box's ``gid`` is its place: "input", "layers[i]", "loss",
    "penalty".
    """
    from matplotlib.patches import Patch

    blocks = {}
    for block in net.blocks:
        blocks.setdefault(block.layer_index, []).append(block)
    differences = getattr(report, "blocks", {}) if report is not None else {}
    passed = getattr(report, "block_passed", {}) if report is not None else {}
    culprits = {c.where: c for c in getattr(report, "culprits", None) or []}

    boxes = [("input", "input", [f"(m, {net.n_inputs if net.n_inputs else '?'})"], UNCHECKED)]
    width = net.n_inputs
    for i, layer in enumerate(net.layers):
        try:
            width = layer.out_features(width)
        except ValueError:
            width = None
        own = blocks.get(i, [])
        lines = [f"{b.name} {b.shape}" for b in own]
        if own:
            lines.append(f"{sum(b.stop - b.start for b in own):,} params")
        lines += [f"{name} {a.shape}" for name, a in layer.buffers.items()]
        lines.append(f"-> (m, {width if width is not None else '?'})")
        color = UNCHECKED
        checked = [b.name for b in own if b.name in differences]
        if checked:
            _, color, label = _layer_verdict([differences[n] for n in checked],
                                             [passed.get(n, True) for n in checked])
            lines.append(label)
        boxes.append((f"layers[{i}]", repr(layer), lines, color))
    boxes.append(("loss", repr(net.loss), ["J = mean over m"], UNCHECKED))

    # Dropout(keep_prob=0.8): the name over its wrapped arguments
    boxes = [(where, "\n".join(textwrap.wrap(title.replace("(", " (", 1), 22))
              if len(title) > 16 and not title.endswith("()") else title, lines, color)
             for where, title, lines, color in boxes]
    tallest = max(title.count("\n") + 1 + len(lines) for _, title, lines, _ in boxes)
    step, box_w, line = 1.0, 0.8, 0.075
    box_h = max(0.7, 0.15 + line * tallest)
    if ax is None:
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(max(6.0, 2.0 * len(boxes)), 2.6 + 2.4 * box_h))
    fig = ax.figure
    for k, (where, title, lines, color) in enumerate(boxes):
        x = k * step
        culprit = culprits.get(where)
        _box(ax, (x - box_w / 2, -box_h / 2), box_w, box_h, color, culprit, where)
        ax.text(x, box_h / 2 - 0.05, title, ha="center", va="top", weight="bold",
                fontsize=8 if len(title) <= 18 else 7)
        ax.text(x, box_h / 2 - 0.07 - line * (title.count("\n") + 1), "\n".join(lines),
                ha="center", va="top", fontsize=7)
        if k:
            ax.annotate("", xy=(x - box_w / 2 - 0.02, 0), xytext=(x - step + box_w / 2 + 0.02, 0),
                        arrowprops={"arrowstyle": "->", "color": "gray"})
        if culprit:
            ax.text(x, -box_h / 2 - 0.08, _culprit_note(culprit), ha="center", va="top",
                    fontsize=7, color=CULPRIT, gid=f"culprit {where}")
    if net.penalty is not None:  # under the loss box: J = loss + penalty
        x = (len(boxes) - 1) * step
        culprit = culprits.get("penalty")
        _box(ax, (x - box_w / 2, -box_h / 2 - 0.55), box_w, 0.35, UNCHECKED, culprit, "penalty")
        ax.text(x, -box_h / 2 - 0.37, f"+ {net.penalty!r}", ha="center", va="center", fontsize=7)
        if culprit:
            ax.text(x, -box_h / 2 - 0.62, _culprit_note(culprit), ha="center", va="top",
                    fontsize=7, color=CULPRIT, gid="culprit penalty")
    ax.set_xlim(-step / 2 - 0.05, (len(boxes) - 0.5) * step + 0.05)
    ax.set_ylim(-box_h / 2 - 0.95, box_h / 2 + 0.1)
    ax.set_axis_off()
    title = f"{len(net.layers)} layers, {net.n_params:,} parameters"
    if report is not None:
        verdict = "passed" if getattr(report, "passed", True) else "FAILED"
        title += f"; gradient check {verdict}"
        if culprits:
            title += f", culprit{'s' if len(culprits) > 1 else ''}: {', '.join(culprits)}"
        legend = [Patch(facecolor=color, edgecolor="black", label=name)
                  for _, name, color in VERDICT_BANDS]
        legend.append(Patch(facecolor=UNCHECKED, edgecolor="black", label="not checked"))
        if culprits:
            legend.append(Patch(facecolor="white", edgecolor=CULPRIT, linewidth=3,
                                label="culprit"))
        ax.legend(handles=legend, loc="lower left", fontsize="x-small", ncol=len(legend),
                  frameon=False)
    ax.set_title(title, fontsize=9)
    return fig


def _box(ax, corner, width, height, color, culprit, gid):
    from matplotlib.patches import FancyBboxPatch
    ax.add_patch(FancyBboxPatch(corner, width, height, boxstyle="round,pad=0.02", facecolor=color,
                                alpha=0.9, edgecolor=CULPRIT if culprit else "black",
                                linewidth=3 if culprit else 1, gid=gid))


def _culprit_note(culprit):
    part = getattr(culprit, "part", "")
    hint = getattr(culprit, "hint", "")
    difference = getattr(culprit, "difference", None)
    lines = [f"culprit: d{part}" if part else "culprit"]
    if difference is not None:
        lines.append(f"difference {difference:.1e}")
    if hint:
        lines.append(hint)
    return "\n".join(lines)
