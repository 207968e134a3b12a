"""The pass rule, the course's verdict bands, and the bug patterns a failing block is matched to.

The course's single number ``‖g − ĝ‖ / (‖g‖ + ‖ĝ‖)`` over all of θ dilutes a bug in a
small block (a bias) behind a large correct block (a weight matrix). tinynet keeps that
number but decides pass/fail **per block**:

    a block passes when  difference_block < tol  (default 1e-5, the course's "fine")
                    or   ‖g − ĝ‖_block <= floor   (both are at round-off level)

where ``floor`` is the round-off noise of the numeric estimates (see ``estimate.py``), summed
in quadrature over the entries compared. Entries at a kink (ReLU at 0) whose backprop value
is a valid subgradient are left out of both numbers and reported as kinks. And a block
never passes on nothing: NaN or inf anywhere is "not finite", a block with no entry
compared is "inconclusive", and an ε too small to resolve J's changes cannot pass a block
on round-off alone (``judge_block``). ``report.summarize_block`` applies the rule.
"""

import numpy as np

DEFAULT_TOL = 1e-5
# The course's bands for a relative difference (deeplearning.ai Course 2, week 1); plot.py draws them.
BANDS = ((1e-7, "great"), (1e-5, "fine"), (1e-3, "suspicious"))


def verdict(difference):
    """The course's bands: < 1e-7 great, < 1e-5 fine, < 1e-3 suspicious, otherwise a bug."""
    for limit, word in BANDS:
        if difference < limit:
            return word
    return "bug"


def difference(g, n):
    """The course's relative difference ‖g − n‖ / (‖g‖ + ‖n‖); both zero counts as 0, and
    NaN or inf anywhere gives NaN (never the 'both zero' 0)."""
    denominator = np.linalg.norm(g) + np.linalg.norm(n)
    if not np.isfinite(denominator):
        return float("nan")
    return float(np.linalg.norm(g - n) / denominator) if denominator > 0 else 0.0


def judge_block(relative, abs_error, floor, tol, eps_excess=1.0):
    """The per-block pass rule; -> (passed, verdict word).

    Below tol: passed, with the course's band. Otherwise an absolute error at round-off level
    passes as "round-off", but only up to the floor that the default ε would have: a smaller
    ε (``eps_excess`` = DEFAULT_EPS / ε > 1) inflates the floor until it would excuse any
    bug, so what only the inflated floor covers is "inconclusive" and does not pass.
    """
    if relative < tol:
        return True, verdict(relative)
    if abs_error <= floor / max(eps_excess, 1.0):
        return True, "round-off"
    if abs_error <= floor:
        return False, "inconclusive"
    return False, verdict(relative)

def bug_pattern(g, n, shape, indices, penalty_grad, m=None):
    """Name a known bug class when analytic g and numeric n fit it; '' otherwise.

    m: the batch size, to recognize a missing or repeated 1/m."""
    def close(a, b):
        return np.linalg.norm(a - b) <= 1e-3 * (np.linalg.norm(a) + np.linalg.norm(b)) + 1e-300

    norm = np.linalg.norm(n)
    if norm == 0:
        return "backprop gives a nonzero gradient where the cost does not change"
    if np.linalg.norm(g) == 0:
        return "backprop gives zero: a gradient never assigned?"
    if close(g, -n):
        return "sign flip: analytic = -numeric"
    if penalty_grad is not None and np.linalg.norm(penalty_grad) > 0:
        for factor, what in ((0.0, "missing"), (2.0, "doubled"), (0.5, "halved")):
            if close(g, n + (factor - 1) * penalty_grad):
                return f"L2 term {what} in the gradient (dW needs + lambd/m * W once)"
    if len(shape) == 2 and shape[0] == shape[1] and len(indices) == np.prod(shape):
        full_g = np.empty(shape)
        full_n = np.empty(shape)
        full_g.flat[indices] = g
        full_n.flat[indices] = n
        if close(full_g, full_n.T):
            return "transposed: analytic = numeric.T"
    scale = float(g @ n / (n @ n))
    if close(g, scale * n):
        def near(value):
            return abs(scale - value) <= 1e-3 * abs(value)
        if m is not None and m > 2 and near(m):
            why = "the 1/m is missing (the loss divides by m once; layers never do)"
        elif m is not None and m > 2 and near(1 / m):
            why = "an extra 1/m (the loss already divided by m; layers must not)"
        elif near(2) or near(0.5):
            why = "a doubled or halved term"
        else:
            why = "a constant factor"
        return f"analytic = {scale:.4g} x numeric: {why}"
    wrong = np.abs(g - n) > 1e-3 * (np.abs(g) + np.abs(n)) + 1e-12
    if wrong.sum() <= max(1, len(g) // 20):
        return f"only {int(wrong.sum())} of {len(g)} checked entries disagree"
    return ""
