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

Entries the first look judged to sit at a kink (one-sided) are re-estimated too, and count
as smooth where J bends as a smooth function does: ``|J(θ+h) + J(θ−h) − 2J(θ)| / 2h`` grows
like h (about 4x per 4x step), where a crossed kink keeps it about constant and a kink met
at a larger step makes it jump. Otherwise a trained network's tiny gradient, next to J's
curvature, could pass a wrong backward as "kinks only" and the block would never be judged.

The network check (``second_look``), check_layer, check_loss, gradcheck and screen mode all
ask through ``look``; entries failing at several kinks get ``finer_look`` (smaller steps),
and where J's round-off is unknown or hides the error, ``climb`` (larger steps).
"""

from typing import NamedTuple

import numpy as np

from .estimate import CROSSED, UNIT_ROUNDOFF, Kink
from .policy import BANDS, difference, factor_hint

SCALES = (4.0, 16.0, 64.0)         # multiples of the check's ε
FINER = (0.1, 0.01, 0.001)         # ... to look past several kinks inside one step
LADDER = 4.0 ** np.arange(1, 13)   # ... to climb until J's change is resolved (climb)
LARGEST_STEP = 3e-2                # ... but never past this step
STEADY = 0.05                      # climb: estimates that agree to 5 % have resolved J's change
ENTRIES = 12                       # per criterion (largest |g|, largest error)
AGREE = 0.3                        # "the same error": within this fraction of its size
COVERED = 0.9                      # a pass needs the failing entries compared at every step
SMALLEST_MISMATCH = 1e-9           # relative; below it even a constant error is arithmetic
SMOOTH_GROWTH = (2.0, 8.0)         # a smooth J's bend grows 4x per 4x step: accepted range


class Opinion(NamedTuple):
    real: bool          # a constant error: a real mismatch
    slope: float        # d log‖error‖ / d log ε over SCALES
    mismatch: float     # relative size of the constant part, ‖Δ‖ / (‖g‖ + ‖g − Δ‖)
    hint: str           # the factor, when the constant part is one ("1.000001 x numeric")
    best: float         # the smallest relative difference at any of the steps
    covered: float      # share of the first look's error in the entries compared at all steps
    compared: int = 0   # entries compared at every step (one-sided ones that bend smoothly too)
    data_only: bool = False   # judged on the data gradient alone (the L2 term left out)
    steady: bool = False      # constant, but too small to be anything but J's own round-off

    def describe(self, eps):
        span = f"eps {eps * SCALES[0]:g} to {eps * SCALES[-1]:g}"
        if self.real:
            what = "the data gradient's error (L2 term left out)" if self.data_only else \
                "the error"
            return (f"{what} stays constant over {span} (slope {self.slope:+.2f}): a real "
                    f"mismatch of {self.mismatch:.1e}" + (f", analytic = {self.hint}" if self.hint
                                                           else ""))
        if self.covered < COVERED:
            return ("the entries that carry the error cross a kink at the larger steps: no "
                    "second opinion")
        if self.steady:
            return (f"the error stays constant over {span} (slope {self.slope:+.2f}), but at "
                    f"the precision J itself is computed to ({self.mismatch:.1e}): numerical")
        if self.slope > 1:
            return (f"the error grows as eps^{self.slope:.2f} over {span}: truncation (as "
                    "eps^2), numerical")
        if self.slope < -0.5:
            return (f"the error shrinks as eps^{self.slope:.2f} over {span}: round-off (as "
                    "1/eps), numerical")
        return (f"the error moves irregularly over {span} (fitted slope {self.slope:+.2f}): "
                "round-off and truncation, numerical")


def needs_opinion(result, tol, kinks=None):
    """Above the "great" band, and below 10x the tolerance or the "bug" band (1e-3); or
    some entries judged one-sided at a kink (``kinks``: the Kink codes), which the first
    look could not compare."""
    if result.how != "entries" or not result.passed and result.verdict == "not finite":
        return False
    in_band = result.checked > 0 and BANDS[0][0] < result.difference < max(10 * tol,
                                                                            BANDS[-1][0])
    return in_band or kinks is not None and bool(np.any(kinks == Kink.ONE_SIDED))


def second_opinion(estimate, analytic, numeric, kinks, J, magnitude=0.0, in_band=True):
    """Re-estimate the most telling compared entries at 4ε, 16ε and 64ε; -> Opinion.

    analytic, numeric, kinks: (k,) the checked entries at the check's ε; J: the cost at θ;
    magnitude: the size of the terms J is computed from (u·magnitude/|J| is J's relative
    precision, and so the data gradient's); estimate(scale,
    positions) -> (estimates, Kink codes[, bends]) of the entries at those positions of the
    k, with the step scale·ε; bends: |J(θ+h) + J(θ−h) − 2J(θ)| / 2h. Given bends, entries
    the first look judged one-sided are re-estimated too; in_band: the compared entries need
    an opinion (else only the one-sided ones are re-estimated).
    """
    use = np.flatnonzero(kinks == Kink.NONE) if in_band else np.array([], dtype=int)
    pick = np.union1d(use[np.argsort(-np.abs(analytic[use]))[:ENTRIES]],
                      use[np.argsort(-np.abs(analytic[use] - numeric[use]))[:ENTRIES]])
    one_sided = np.flatnonzero(kinks == Kink.ONE_SIDED)
    pick = np.union1d(pick, one_sided[np.argsort(-np.abs(analytic[one_sided]))[:ENTRIES]])
    estimates, bends, smooth = [], [], np.ones(pick.size, dtype=bool)
    for scale in SCALES:
        values, codes, *bend = estimate(scale, pick)
        estimates.append(values)
        bends.append(bend[0] if bend else np.full(pick.size, np.nan))
        smooth &= codes == Kink.NONE
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.array(bends[1:]) / np.array(bends[:-1])
    bends_smoothly = ((growth >= SMOOTH_GROWTH[0]) & (growth <= SMOOTH_GROWTH[1])).all(axis=0)
    smooth &= (kinks[pick] == Kink.NONE) | bends_smoothly
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
    compared = smooth & (kinks[pick] == Kink.NONE)
    kept = np.abs(analytic[pick][compared] - numeric[pick][compared])
    covered = float(np.linalg.norm(kept) / np.linalg.norm(first)) if first.any() else 1.0
    steady = not real and g.size > 0 and all(
        np.linalg.norm(row - mean) <= AGREE * np.linalg.norm(g - mean) for row in n)
    return Opinion(real, slope, relative, hint, best, covered, int(g.size), steady=bool(steady))


def reconsider(result, opinion, eps, tol):
    """Revise a BlockResult with the second opinion (in place)."""
    result.opinion = opinion.describe(eps)
    if opinion.real:
        if result.passed or not result.checked:     # passed, or inconclusive: nothing compared
            result.passed, result.verdict = False, "mismatch"
        if not result.checked:              # only one-sided entries: the opinion's own size
            result.difference = opinion.mismatch
        part = "the data gradient: " if opinion.data_only else ""
        result.hint = result.hint or (f"{part}analytic = {opinion.hint}" if opinion.hint else "")
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
    """The network check's second opinion on one block, when it needs one (result revised).

    Where the L2 term dominates a block's gradient, it also dilutes the error of the data
    gradient below the "great" band; its part is known exactly (numeric.penalty, from the
    penalty's forward), so the data gradient is judged alone when its own difference is
    above that band."""
    data_only = not needs_opinion(result, tol) and result.passed and \
        _data_in_band(analytic, numeric)
    if data_only:
        look(engine_estimate(engine, block, entries, True), analytic - numeric.penalty,
             numeric.estimates - numeric.penalty, numeric.kinks, result, tol,
             engine.base_losses.mean(), engine.base_magnitude, data_only=True)
    else:
        estimate = engine_estimate(engine, block, entries)
        look(estimate, analytic, numeric.estimates, numeric.kinks, result, tol,
             engine.base_losses.mean(), engine.base_magnitude)
        finer_look(estimate, analytic, numeric.estimates, numeric.kinks, result, tol,
                   numeric.noise)


def look(estimate, analytic, numeric, kinks, result, tol, J, magnitude=0.0, data_only=False):
    """The second opinion on one block, when it needs one (``result`` revised in place);
    ``estimate`` as for second_opinion, with its step in ``estimate.eps``."""
    in_band = needs_opinion(result, tol) or data_only
    if not (in_band or needs_opinion(result, tol, kinks)):
        return
    opinion = second_opinion(estimate, analytic, numeric, kinks, J, magnitude, in_band)
    # Kinks that stay kinks need no words; and entries re-estimated only because they were
    # one-sided never vouch for a block that failed on its other entries.
    if in_band or opinion.compared and (opinion.real or result.passed):
        reconsider(result, opinion._replace(data_only=data_only), estimate.eps, tol)


def plain_estimate(changes, eps):
    """``estimate`` for second_opinion from ``changes(positions, step)`` -> (J(θ + step e_i)
    − J(θ), J(θ − step e_i) − J(θ), and the kink codes of both steps): plain two-sided
    differences; an entry whose step crosses a declared kink is left out."""
    def estimate(scale, positions):
        step = eps * scale
        plus, minus, up, down = changes(positions, step)
        crossed = ((np.asarray(up) | np.asarray(down)) & CROSSED) > 0
        return ((plus - minus) / (2 * step), np.where(crossed, Kink.EXCLUDED, Kink.NONE),
                np.abs(plus + minus) / (2 * step))
    estimate.eps = eps
    return estimate


def finer_look(estimate, analytic, numeric, kinks, result, tol, noise):
    """Several kinks inside one ±ε step (a ReLU network on inputs of scale 1e-5) can put
    backprop's value outside both one-sided slopes. The entries that fail are estimated
    again at ε/10, ε/100 and ε/1000 (while J's change stays far above its round-off
    ``noise``, the first look's, scalar or (k,)); each is judged at the largest of those
    steps that crosses no kink the layers declare. The block passes ("numerical") only when all of
    them are settled that way and it then passes the tolerance; a real bug still fails.
    """
    if result.passed or result.how != "entries" or result.verdict in ("not finite", "mismatch"):
        return
    noise = np.broadcast_to(noise, analytic.shape)
    use = kinks == Kink.NONE
    wrong = np.flatnonzero(use & (np.abs(analytic - numeric) > tol * (
        np.abs(analytic) + np.abs(numeric)) + noise))
    if not wrong.size:
        return
    values, todo = numeric.copy(), wrong
    for scale in FINER:
        # J's change must stay far above its round-off: else the entry stays unjudged
        todo = todo[noise[todo] / scale <= 0.1 * (np.abs(analytic[todo]) + np.abs(numeric[todo]))]
        if not todo.size:
            break
        estimates, codes, *_ = estimate(scale, todo)
        clear = codes == Kink.NONE
        values[todo[clear]] = estimates[clear]
        todo = todo[~clear]
    settled = np.isin(wrong, todo, invert=True) & (values[wrong] != numeric[wrong])
    if not settled.all():
        return                       # some failing entry could not be judged without a kink
    better = difference(analytic[use], values[use])
    if better < tol:
        result.passed, result.verdict, result.hint = True, "numerical", ""
        result.opinion = (f"{wrong.size} entries had several kinks inside the +-eps step; at "
                          f"steps down to eps {estimate.eps * FINER[-1]:g}, the largest crossing "
                          f"no kink, backprop agrees: difference {better:.1e}")


def _data_in_band(analytic, numeric):
    """Is the data gradient's difference (the penalty's part taken out) above "great"?"""
    if numeric.penalty is None:
        return False
    use = numeric.kinks == Kink.NONE
    data = difference((analytic - numeric.penalty)[use], (numeric.estimates - numeric.penalty)[use])
    return bool(data > BANDS[0][0])


def engine_estimate(engine, block, entries, data_only=False):
    """``estimate`` for second_opinion from the network check's engine: plain two-sided
    differences (of the data loss alone with ``data_only``); an entry whose step crosses a
    kink a layer declares is left out. (Not the first look's kink judgement: at 64ε the
    curvature of a smooth J would let a small mismatch pass as a kink.)"""
    def estimate(scale, positions):
        eps = engine.eps
        engine.eps = eps * scale
        try:
            k = len(positions)
            signs = np.concatenate([np.ones(k), -np.ones(k)])
            change, crossed, penalty, _ = engine.delta_J(block, np.tile(entries[positions], 2),
                                                         signs)
            if data_only:
                change = change - penalty
        finally:
            engine.eps = eps
        values = (change[:k] - change[k:]) / (2 * eps * scale)
        bends = np.abs(change[:k] + change[k:]) / (2 * eps * scale)
        return values, np.where(crossed[:k] | crossed[k:], Kink.EXCLUDED, Kink.NONE), bends
    estimate.eps = engine.eps
    return estimate


def climb(estimate, analytic, numeric, result, tol):
    """Where J's round-off is unknown (gradcheck's opaque cost) or hides the error (a
    confident softmax: J ~ 1e-11, its changes at ε below J's resolution): re-estimate the
    most telling entries at 4ε, 16ε, ... up to a step of 3e-2 and classify by how the error
    moves. Three steps in a row (a 16x range) with the same error, the estimates themselves
    agreeing to 5 %, is a real mismatch: a block that passed fails when it is in the "bug"
    band (above 1e-3; below it, kinks crossed at every step can fake one). An error that
    falls as the step grows (round-off, as 1/ε) and never stays constant is numerical: a
    failed block passes where its best difference is below 1e-3, and the report says how
    good that was (a bug below the noise at every step cannot be seen by any step).
    Otherwise ``result`` is left as it is (revised in place)."""
    if result.how != "entries" or result.verdict in ("not finite", "mismatch") or \
            result.passed and result.verdict not in ("round-off", "kinks only"):
        return
    pick = np.union1d(np.argsort(-np.abs(analytic))[:ENTRIES],
                      np.argsort(-np.abs(analytic - numeric))[:ENTRIES])
    g = analytic[pick]
    steps = [scale for scale in LADDER if estimate.eps * scale <= LARGEST_STEP]
    if not steps:                           # eps is already near the largest step: no ladder
        return
    rows, bends, keep = [], [], np.ones(pick.size, dtype=bool)
    for k, scale in enumerate(steps):
        values, codes, bend = estimate(scale, pick)
        rows.append(values)
        bends.append(bend)
        keep &= codes == Kink.NONE
        if k < 2:
            continue
        window = np.array(rows[-3:])
        # a kink crossed at every step bends J by about as much at each (a smooth J: 4x per
        # 4x step) and can fake a constant error of its own size; such entries are left out
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.array(bends[-2:]) / np.array(bends[-3:-1])
        smooth = ((growth >= SMOOTH_GROWTH[0]) & (growth <= SMOOTH_GROWTH[1])).all(axis=0)
        use = keep & (smooth | (np.array(bends[-3:]) < 0.1 * np.abs(g - window)).all(axis=0))
        if use.any() and all(np.any(row) for row in window[:, use]):
            real, relative, mean = constant_error(g[use], window[:, use], 0.0)
            # ... and J's change is resolved: proportional to the step, so the estimates
            # agree with one another (not a J that stops changing, whose estimate ~ 1/ε)
            real &= all(np.linalg.norm(row - mean) <= STEADY * np.linalg.norm(mean)
                        for row in window[:, use])
            if real and not result.passed:
                return                      # it failed, and rightly: nothing to add
            # a block that passed is failed only for a mismatch of the "bug" band's size:
            # kinks crossed at every step can fake a small constant error of their own
            real &= relative >= BANDS[-1][0]
            if real:
                result.passed, result.verdict = False, "mismatch"
                result.hint = result.hint or factor_hint(g[use], mean)
                result.opinion = (f"the error stays constant over eps {estimate.eps * steps[k - 2]:g}"
                                  f" to {estimate.eps * scale:g}, where J's change is resolved: "
                                  f"a real mismatch of {relative:.1e}")
                return
    if not keep.any():
        return
    differences = [difference(g[keep], row[keep]) for row in rows]
    errors = [np.linalg.norm(g[keep] - row[keep]) for row in rows]
    best = int(np.argmin(differences))
    if differences[best] < BANDS[-1][0] and errors[best] <= errors[0] / 4:
        result.passed, result.verdict, result.hint = True, "numerical", ""
        result.opinion = (f"the error moves over eps {estimate.eps * steps[0]:g} to "
                          f"{estimate.eps * steps[-1]:g}, never constant: numerical; the best "
                          f"difference is {differences[best]:.1e}, at eps "
                          f"{estimate.eps * steps[best]:g}")
