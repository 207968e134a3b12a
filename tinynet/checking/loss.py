"""check_loss: one loss alone, its backward against numeric gradients of its forward.

J = loss.forward(scores, y) (the mean over the batch); ``backward()`` must return dJ/dscores,
shaped like the scores and already divided by m. Every entry of the scores is perturbed by
±ε; the report has one block, "scores".
"""

import numpy as np

from ..validation import flag, positive_float, step_size
from .estimate import DEFAULT_EPS, judge, round_off
from .functions import numeric_array
from .policy import DEFAULT_TOL
from .report import GradCheckReport, progress_bar, summarize_block


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
    bar = progress_bar(progress, flat.size)

    def changes(positions, h):                   # J(s ± h e_i) − J(s); a loss declares no kinks
        out = np.empty((2, positions.size))
        for k, i in enumerate(positions):
            saved = flat[i]
            for side, step in enumerate((h, -h)):
                flat[i] = saved + step
                out[side, k] = float(loss.forward(scores, y)) - J0
            flat[i] = saved
            if bar is not None and h == eps:
                bar.update(1)
        return out[0], out[1], 0, 0, noise * eps / h

    noise = round_off(abs(J0), eps)
    numeric, kinks = judge(analytic, *changes(np.arange(flat.size), eps)[:4], eps, noise, tol,
                           again=changes)
    if bar is not None:
        bar.close()
    result = summarize_block("scores", scores.shape, analytic, numeric, kinks, np.arange(flat.size),
                             floor_per_entry=noise, tol=tol, m=m)
    return GradCheckReport([result], result.difference, eps, "loss", tol)
