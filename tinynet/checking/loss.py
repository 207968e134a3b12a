"""check_loss: one loss alone, its backward against numeric gradients of its forward.

J = loss.forward(scores, y) (the mean over the batch); ``backward()`` must return dJ/dscores,
shaped like the scores and already divided by m. Every entry of the scores is perturbed by
±ε; the report has one block, "scores". J's round-off comes from the scores the loss sums
and cancels (as in the network check), and the block gets the second opinion (opinion.py).
"""

from types import SimpleNamespace

import numpy as np

from ..validation import flag, positive_float, step_size
from .estimate import DEFAULT_EPS, judge, round_off
from .engine import Engine
from .functions import numeric_array
from .opinion import climb, look, plain_estimate
from .policy import DEFAULT_TOL
from .report import GradCheckReport, progress_bar, summarize_block
from .sandbox import restoring_first_argument


@restoring_first_argument
def check_loss(loss, scores, y, eps=DEFAULT_EPS, tol=DEFAULT_TOL, progress=None):
    """Check ``loss.backward`` at ``scores`` (m, n_out) with targets ``y``; -> GradCheckReport.

    loss: any object with ``forward(scores, y) -> float`` and ``backward() -> dscores``
    (see the README's loss protocol); y is validated by ``loss.targets`` when it has one.
    """
    if isinstance(loss, type) or not (hasattr(loss, "forward") and hasattr(loss, "backward")):
        raise TypeError(f"check_loss expects a loss object with forward(scores, y) and backward(), "
                        f"got {loss!r}")
    eps = step_size(eps)
    tol = positive_float(tol, "tol")
    if progress is not None:
        flag(progress, "progress")
    scores = numeric_array(scores, "scores")      # a copy: entries are perturbed in place
    if scores.ndim != 2 or scores.size == 0:
        raise ValueError(f"scores must be a non-empty 2-D array (m, n_out), got shape {scores.shape}")
    m = scores.shape[0]
    if hasattr(loss, "targets"):
        y = loss.targets(y, m, scores.shape[1])

    J0 = float(loss.forward(scores, y))
    dscores = loss.backward()
    if dscores is None or np.shape(dscores) != scores.shape:
        raise ValueError(f"{loss!r}.backward() returned {None if dscores is None else np.shape(dscores)}; "
                         f"it must return dJ/dscores with the scores' shape {scores.shape}")
    analytic = np.array(dscores, dtype=np.float64).ravel()
    flat = scores.reshape(-1)

    def changes(positions, step, bar=None):
        """J(s ± step e_i) − J(s) at the flat ``positions``; a loss declares no kinks."""
        plus, minus = np.empty(len(positions)), np.empty(len(positions))
        for k, i in enumerate(positions):
            saved = flat[i]
            flat[i] = saved + step
            plus[k] = float(loss.forward(scores, y)) - J0
            flat[i] = saved - step
            minus[k] = float(loss.forward(scores, y)) - J0
            flat[i] = saved
            if bar is not None:
                bar.update(1)
        none = np.zeros(len(positions), dtype=np.uint8)
        return plus, minus, none, none

    everything = np.arange(flat.size)
    bar = progress_bar(progress, flat.size)
    plus, minus, undeclared, _ = changes(everything, eps, bar)
    if bar is not None:
        bar.close()
    # J's round-off comes from the terms it sums and cancels (the scores, log-sum-exp), as in
    # the network check, not from |J|: confident scores make J ~ 1e-11 but not the scores.
    magnitude = float(Engine._losses(SimpleNamespace(net=SimpleNamespace(loss=loss), y=y),
                                     scores[None])[1][0])
    noise = round_off(max(abs(J0), magnitude), eps)
    numeric, kinks = judge(analytic, plus, minus, undeclared, undeclared, eps, noise, tol,
                           again=lambda positions, h: (*changes(positions, h), noise * eps / h))
    result = summarize_block("scores", scores.shape, analytic, numeric, kinks, everything,
                             floor_per_entry=noise, tol=tol, m=m)
    estimate = plain_estimate(changes, eps)
    look(estimate, analytic, numeric, kinks, result, tol, J0, magnitude)
    climb(estimate, analytic, numeric, result, tol)
    return GradCheckReport([result], result.difference, eps, "loss", tol)
