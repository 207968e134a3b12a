"""A second opinion: is a block's error a real mismatch or numerical?

The numeric estimate at step ε has three kinds of error against a correct backward:

    truncation   grows as ε²   (the two-sided formula's O(ε²) term)
    round-off    grows as 1/ε  (J's last bits, divided by 2ε)
    a bug        stays constant whatever ε

A fixed tolerance cannot tell a (1 + 1e-6) factor bug (difference 5e-7, "fine") from
round-off; the way the error moves with ε can. A block whose difference is above the
course's "great" band (1e-7) and below 10x the tolerance (or below the "bug" band, 1e-3,
where that is larger) is re-estimated at 4ε, 16ε and 64ε on its most telling entries (the
largest gradients and the largest errors). When the error vector is the same at all three
(within 30 %), it is a real mismatch and the block fails, even inside the "fine" band:
round-off would have changed 16x over that range, and at random, truncation 256x.
Otherwise the error is numerical, and the block passes if at one of those steps its
difference is below the tolerance (so no bug of that size can hide in the noise). Either
way the report gives the measured slope of log‖error‖ against log ε, which says which kind
it is (0: constant, 2: truncation, -1: round-off). No round-off floor is used here: the
error is seen to move, or not.
"""

from typing import NamedTuple

import numpy as np

from .estimate import Kink
from .policy import BANDS, difference, factor_hint

SCALES = (4.0, 16.0, 64.0)         # multiples of the check's ε
ENTRIES = 12                       # per criterion (largest |g|, largest error)
AGREE = 0.3                        # "the same error": within this fraction of its size
SMALLEST_MISMATCH = 1e-9           # relative; below it even a constant error is arithmetic


class Opinion(NamedTuple):
    real: bool          # a constant error: a real mismatch
    slope: float        # d log‖error‖ / d log ε over SCALES
    mismatch: float     # relative size of the constant part, ‖Δ‖ / (‖g‖ + ‖g − Δ‖)
    hint: str           # the factor, when the constant part is one ("1.000001 x numeric")
    best: float         # the smallest relative difference at any of the steps

    def describe(self, eps):
        span = f"eps {eps * SCALES[0]:g} to {eps * SCALES[-1]:g}"
        if self.real:
            return (f"the error stays constant over {span} (slope {self.slope:+.2f}): a real "
                    f"mismatch of {self.mismatch:.1e}" + (f", analytic = {self.hint}" if self.hint
                                                           else ""))
        kind = "truncation, as eps^2" if self.slope > 1 else \
            "round-off, as 1/eps" if self.slope < -0.5 else "a mix of truncation and round-off"
        return f"the error scales as eps^{self.slope:.2f} over {span}: {kind}, numerical"


def needs_opinion(result, tol):
    """Above the "great" band, and below 10x the tolerance or the "bug" band (1e-3)."""
    return result.how == "entries" and result.checked > 0 \
        and BANDS[0][0] < result.difference < max(10 * tol, BANDS[-1][0])


def second_opinion(estimate, analytic, numeric, kinks):
    """Re-estimate the most telling compared entries at 4ε, 16ε and 64ε; -> Opinion.

    analytic, numeric, kinks: (k,) the checked entries at the check's ε; estimate(scale,
    positions) -> (estimates, Kink codes) of the entries at those positions of the k, with
    the step scale·ε.
    """
    use = np.flatnonzero(kinks == Kink.NONE)
    pick = np.union1d(use[np.argsort(-np.abs(analytic[use]))[:ENTRIES]],
                      use[np.argsort(-np.abs(analytic[use] - numeric[use]))[:ENTRIES]])
    estimates, smooth = [], np.ones(pick.size, dtype=bool)
    for scale in SCALES:
        values, codes = estimate(scale, pick)
        estimates.append(values)
        smooth &= codes == Kink.NONE
    g = analytic[pick][smooth]
    n = np.array(estimates)[:, smooth]                     # (scales, entries)
    errors = np.linalg.norm(g[None] - n, axis=1)
    slope = 0.0
    if errors.all():
        slope = round(float(np.polyfit(np.log(SCALES), np.log(errors), 1)[0]), 2) + 0.0
    mean = n.mean(axis=0)
    constant = all(np.linalg.norm(row - mean) <= AGREE * np.linalg.norm(g - mean) for row in n)
    relative = float(np.linalg.norm(g - mean) / max(np.linalg.norm(g) + np.linalg.norm(mean),
                                                     1e-300))
    real = bool(g.size and constant and relative > SMALLEST_MISMATCH)
    hint = factor_hint(g, mean) if real else ""
    best = min(difference(g, row) for row in n) if g.size else np.inf
    return Opinion(real, slope, relative, hint, best)


def reconsider(result, opinion, eps, tol):
    """Revise a BlockResult with the second opinion (in place)."""
    result.opinion = opinion.describe(eps)
    if opinion.real:
        if result.passed:
            result.passed, result.verdict = False, "mismatch"
        result.hint = result.hint or (f"analytic = {opinion.hint}" if opinion.hint else "")
    elif not result.passed and opinion.best < tol:
        # numerical, and backprop agrees with a better step: no bug of that size is hiding
        result.passed, result.verdict, result.hint = True, "numerical", ""


def engine_estimate(engine, block, entries):
    """``estimate`` for second_opinion from the network check's engine."""
    def estimate(scale, positions):
        eps = engine.eps
        engine.eps = eps * scale
        try:
            result = engine.numeric(block, entries[positions])
        finally:
            engine.eps = eps
        return result.estimates, result.kinks
    return estimate
