"""One numeric estimate from J at θ ± ε e_i, and its round-off noise.

    two-sided   (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε      error O(ε²)
    one-sided   (J(θ + ε e_i) − J(θ)) / ε, or from below  error O(ε)

A step that crosses a kink (ReLU at 0) makes the two-sided estimate wrong for a correct
backward; ``judge`` finds such steps from J itself (declared or not), confirms them at
smaller steps (smooth curvature also bends J), and then asks whether backprop's value lies
between the two one-sided slopes.
"""

from enum import IntEnum

import numpy as np

DEFAULT_EPS = 1e-6
NOISE_FACTOR = 32                  # round-off noise of J(θ±ε) in units of u·|J|
UNIT_ROUNDOFF = np.finfo(np.float64).eps


class Kink(IntEnum):
    """What a kink did to one entry's estimate."""
    NONE = 0          # compared: the two-sided estimate (at a kink: the nearer one-sided slope)
    ONE_SIDED = 1     # a kink between θ − ε and θ + ε where backprop's value is a subgradient
    EXCLUDED = 2      # θ sits exactly on declared kinks (both steps cross): not comparable

    @property
    def label(self):
        return ("", "one-sided", "excluded")[self]


CROSSED = 1        # a step moved some input across a kink its layer declares
FROM_A_KINK = 2    # ... and that input sat exactly on the kink at θ


def kink_code(before, after, axes):
    """What a step did to the declared kinks: CROSSED | FROM_A_KINK bits (uint8).

    before, after: a layer's ``kinks`` at θ and at the step (stacked on axis 0 for K
    steps, or broadcast against it); axes: the axes that belong to one step."""
    before, after = np.sign(before), np.sign(after)
    crossed = (after != before).any(axis=axes)
    exact = ((before == 0) & (after != 0)).any(axis=axes)
    return (crossed * CROSSED | exact * FROM_A_KINK).astype(np.uint8)


def judge(analytic, plus, minus, up, down, eps, noise, tol, again=None):
    """Estimates that verify every kink instead of trusting it; -> (estimates, Kink codes).

    plus, minus: J(θ + ε e_i) − J(θ) and J(θ − ε e_i) − J(θ); up, down: what that step did
    to the kinks the layers declare (``kink_code``); noise: the round-off of one estimate
    (scalar or per entry). A kink inside [θ − ε, θ + ε] bends J, and the bend is
    visible in the change of J itself: ``|plus + minus| / 2ε`` is exactly what it adds to
    the two-sided estimate (for a smooth J it is only ε·J''/2). So

    - a kink the layer declares (up or down) but that does not bend J is no reason to leave
      the entry out: the two-sided estimate is used;
    - an entry whose two-sided estimate disagrees with backprop, where J does bend, holds a
      kink the layer may not have declared;
    - at a kink that bends J, backprop's value must be a subgradient: between the one-sided
      slopes (J(θ) − J(θ − ε))/ε and (J(θ + ε) − J(θ))/ε. Inside, the entry is a kink (not
      compared); outside, it is compared with the nearer slope and fails like any bug;
    - unless θ sits exactly on a declared kink (kinks(x) == 0, as after a dead or dropped unit
      with a zero bias): there backprop's convention (ReLU' (0) = 0) is a choice, and through
      a chain of such units it need not even lie between the slopes, so an entry that
      disagrees there is a kink if it is a subgradient and excluded otherwise.

    From three values of J a kink and smooth curvature look alike, so a kink suspected from a
    bend is confirmed at smaller steps: ``again(positions, step)`` -> (plus, minus, up, down,
    noise) for those entries at ``step``. The gap between the one-sided slopes is ε·J'' for a
    smooth J (it shrinks with the step) but stays the slope change for a kink; where it
    shrinks, the entry is judged again at ε/8 (up to ε/512), where a correct smooth entry
    is compared two-sided and a wrong one falls outside the narrowed slopes
    (``verify_kinks``). Without ``again`` the guess stands.
    """
    estimates, kink, suspect = _judge_once(analytic, plus, minus, up, down, eps, noise, tol)
    if again is not None and suspect.any():
        verify_kinks(estimates, kink, suspect, analytic, plus + minus, eps, tol, again)
    return estimates, kink


SHRINK = 8          # each confirmation step is ε / SHRINK
CONFIRMATIONS = 3   # at most this many smaller steps (down to ε / 512)


def verify_kinks(estimates, kink, suspect, analytic, bend, eps, tol, again):
    """Confirm the suspected kinks (bool mask) at smaller steps; fills estimates and kink.

    bend: plus + minus at step eps for every entry. At each smaller step every entry is judged
    again: one that no longer looks kinked is compared by its two-sided estimate there; one
    whose gap stayed is a kink; one whose gap shrank (curvature, or J only C¹ at θ) is looked
    at again one step smaller, where its one-sided slopes close in on J' (a smooth bug falls
    outside them). A gap the smaller step's round-off could not resolve keeps the judgement
    of the step before."""
    positions = np.flatnonzero(suspect)
    gap = np.abs(bend[positions]) / eps                   # right slope − left slope
    step = eps
    for _ in range(CONFIRMATIONS):
        step /= SHRINK
        plus, minus, up, down, noise = again(positions, step)
        noise = np.broadcast_to(noise, positions.shape)
        est, code, still = _judge_once(analytic[positions], plus, minus, up, down, step,
                                       noise, tol)
        new_gap = np.abs(plus + minus) / step
        with np.errstate(invalid="ignore"):
            resolved = 8 * noise <= gap
            confirmed = still & (new_gap + 2 * noise >= 0.5 * gap)
        at = positions[resolved]
        estimates[at] = est[resolved]
        kink[at] = code[resolved]
        keep = resolved & still & ~confirmed
        positions, gap = positions[keep], new_gap[keep]
        if positions.size == 0:
            break


def _judge_once(analytic, plus, minus, up, down, eps, noise, tol):
    """``judge`` at one step; -> (estimates, Kink codes, suspected kinks to confirm)."""
    two = (plus - minus) / (2 * eps)
    left, right = -minus / eps, plus / eps
    up, down = np.asarray(up, dtype=np.uint8), np.asarray(down, dtype=np.uint8)
    crossed = ((up | down) & CROSSED) > 0
    on_kink = ((up | down) & FROM_A_KINK) > 0
    with np.errstate(invalid="ignore"):
        bends = np.abs(plus + minus) / (2 * eps) > 0.1 * tol * np.abs(two) + noise
        wrong = np.abs(two - analytic) > tol * (np.abs(two) + np.abs(analytic)) + noise
        kinked = (bends & (crossed | wrong)) | (on_kink & wrong)
        low, high = np.minimum(left, right), np.maximum(left, right)
        margin = 1e-3 * (high - low) + tol * (np.abs(low) + np.abs(high)) + 2 * noise
        inside = (analytic >= low - margin) & (analytic <= high + margin)
    nearer = np.where(np.abs(left - analytic) <= np.abs(right - analytic), left, right)
    estimates = np.where(kinked, nearer, two)
    kink = np.where(kinked & inside, Kink.ONE_SIDED,
                    np.where(kinked & on_kink, Kink.EXCLUDED, Kink.NONE)).astype(np.int8)
    # a bend may be curvature and is confirmed; θ exactly on a declared kink where J does not
    # bend (a dead unit) is the layer's own word
    return estimates, kink, kinked & bends


def round_off(scale, eps):
    """Round-off noise of one estimate when J is a sum of terms of size ~``scale``."""
    return NOISE_FACTOR * UNIT_ROUNDOFF * np.maximum(scale, 1e-300) / eps
