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
difference is below the tolerance (so no bug of that size can hide in the noise), on
entries that carry (90 % of) the first look's error: an entry whose larger steps cross a
kink cannot vouch for anything. Either
way the report gives the measured slope of log‖error‖ against log ε, which says which kind
it is (0: constant, 2: truncation, -1: round-off). No round-off floor is used here: the
error is seen to move, or not.
"""

from typing import NamedTuple

import numpy as np

from .estimate import UNIT_ROUNDOFF, Kink
from .policy import BANDS, difference, factor_hint

SCALES = (4.0, 16.0, 64.0)         # multiples of the check's ε
ENTRIES = 12                       # per criterion (largest |g|, largest error)
AGREE = 0.3                        # "the same error": within this fraction of its size
COVERED = 0.9                      # a pass needs the failing entries compared at every step
SMALLEST_MISMATCH = 1e-9           # relative; below it even a constant error is arithmetic


class Opinion(NamedTuple):
    real: bool          # a constant error: a real mismatch
    slope: float        # d log‖error‖ / d log ε over SCALES
    mismatch: float     # relative size of the constant part, ‖Δ‖ / (‖g‖ + ‖g − Δ‖)
    hint: str           # the factor, when the constant part is one ("1.000001 x numeric")
    best: float         # the smallest relative difference at any of the steps
    covered: float      # share of the first look's error in the entries compared at all steps

    def describe(self, eps):
        span = f"eps {eps * SCALES[0]:g} to {eps * SCALES[-1]:g}"
        if self.real:
            return (f"the error stays constant over {span} (slope {self.slope:+.2f}): a real "
                    f"mismatch of {self.mismatch:.1e}" + (f", analytic = {self.hint}" if self.hint
                                                           else ""))
        if self.covered < COVERED:
            return ("the entries that carry the error cross a kink at the larger steps: no "
                    "second opinion")
        kind = "truncation, as eps^2" if self.slope > 1 else \
            "round-off, as 1/eps" if self.slope < -0.5 else "a mix of truncation and round-off"
        return f"the error scales as eps^{self.slope:.2f} over {span}: {kind}, numerical"


def needs_opinion(result, tol):
    """Above the "great" band, and below 10x the tolerance or the "bug" band (1e-3)."""
    return result.how == "entries" and result.checked > 0 \
        and BANDS[0][0] < result.difference < max(10 * tol, BANDS[-1][0])


def second_opinion(estimate, analytic, numeric, kinks, J, magnitude=0.0):
    """Re-estimate the most telling compared entries at 4ε, 16ε and 64ε; -> Opinion.

    analytic, numeric, kinks: (k,) the checked entries at the check's ε; J: the cost at θ;
    magnitude: the size of the terms J is computed from (u·magnitude/|J| is J's relative
    precision, and so the data gradient's); estimate(scale,
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
    eps = estimate.eps
    precision = UNIT_ROUNDOFF * max(magnitude, abs(J)) / abs(J) if J else np.inf
    real, relative, mean = constant_error(g, n, UNIT_ROUNDOFF * abs(J) / (SCALES[-1] * eps),
                                          precision)
    hint = factor_hint(g, mean) if real else ""
    best = min(difference(g, row) for row in n) if g.size else np.inf
    first = np.abs(analytic[use] - numeric[use])
    kept = np.abs(analytic[pick][smooth] - numeric[pick][smooth])
    covered = float(np.linalg.norm(kept) / np.linalg.norm(first)) if first.any() else 1.0
    return Opinion(real, slope, relative, hint, best, covered)


def reconsider(result, opinion, eps, tol):
    """Revise a BlockResult with the second opinion (in place)."""
    result.opinion = opinion.describe(eps)
    if opinion.real:
        if result.passed:
            result.passed, result.verdict = False, "mismatch"
        result.hint = result.hint or (f"analytic = {opinion.hint}" if opinion.hint else "")
    elif not result.passed and opinion.best < tol and opinion.covered >= COVERED:
        # numerical, and backprop agrees with a better step on the entries that failed
        result.passed, result.verdict, result.hint = True, "numerical", ""


def constant_error(g, n, floor, precision=0.0):
    """Is the error of the estimates n (scales, k) against g (k,) the same at every scale,
    and above ``floor`` (per entry: the smallest change of J that float64 resolves, over the
    largest step, u·|J|/64ε; below it "constant" may only mean "J did not move") and above
    ``precision``, the relative precision of J itself (a loss fitted to 1e-31 has gradients
    that are round-off, consistently so)?

    -> (real, its relative size ‖g − mean‖ / (‖g‖ + ‖mean‖), mean estimate (k,))."""
    mean = n.mean(axis=0)
    error = np.linalg.norm(g - mean)
    relative = float(error / max(np.linalg.norm(g) + np.linalg.norm(mean), 1e-300))
    constant = all(np.linalg.norm(row - mean) <= AGREE * error for row in n)
    above = error > floor * np.sqrt(g.size)
    real = g.size and constant and above and relative > max(SMALLEST_MISMATCH, precision)
    return bool(real), relative, mean


def second_look(engine, block, entries, analytic, numeric, result, tol):
    """The network check's second opinion on one block, when it needs one (result revised)."""
    if needs_opinion(result, tol):
        opinion = second_opinion(engine_estimate(engine, block, entries), analytic,
                                 numeric.estimates, numeric.kinks, engine.base_losses.mean(),
                                 engine.base_magnitude)
        reconsider(result, opinion, engine.eps, tol)


def engine_estimate(engine, block, entries):
    """``estimate`` for second_opinion from the network check's engine: plain two-sided
    differences; an entry whose step crosses a kink a layer declares is left out. (Not the
    first look's kink judgement: at 64ε the curvature of a smooth J would let a small
    mismatch pass as a kink.)"""
    def estimate(scale, positions):
        eps = engine.eps
        engine.eps = eps * scale
        try:
            k = len(positions)
            signs = np.concatenate([np.ones(k), -np.ones(k)])
            change, crossed, _, _ = engine.delta_J(block, np.tile(entries[positions], 2), signs)
        finally:
            engine.eps = eps
        values = (change[:k] - change[k:]) / (2 * eps * scale)
        return values, np.where(crossed[:k] | crossed[k:], Kink.EXCLUDED, Kink.NONE)
    estimate.eps = engine.eps
    return estimate
