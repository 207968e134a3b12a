"""One numeric estimate from J at θ ± ε e_i, and its round-off noise.

    two-sided   (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε      error O(ε²)
    one-sided   (J(θ + ε e_i) − J(θ)) / ε, or from below  error O(ε)

A step that crosses a kink (ReLU at 0) makes the two-sided estimate wrong for a correct
backward: the estimate then comes from the side that did not cross, or the entry is
excluded when both did. One-sided estimates are shown but kept out of the verdict.
"""

from enum import IntEnum

import numpy as np

DEFAULT_EPS = 1e-6
NOISE_FACTOR = 32                  # round-off noise of J(θ±ε) in units of u·|J|
UNIT_ROUNDOFF = np.finfo(np.float64).eps


class Kink(IntEnum):
    """What a kink did to one entry's estimate."""
    NONE = 0          # no kink crossed: the two-sided estimate
    ONE_SIDED = 1     # one step crossed: the one-sided estimate from the other side
    EXCLUDED = 2      # both steps crossed: no estimate (nan)

    @property
    def label(self):
        return ("", "one-sided", "excluded")[self]


def combine(plus, minus, up, down, eps):
    """Estimates from the changes of J; -> (estimates, Kink codes), arrays shaped like ``plus``.

    plus, minus: J(θ + ε e_i) − J(θ) and J(θ − ε e_i) − J(θ); up, down: bool, did that step
    cross a kink.
    """
    plus, minus = np.asarray(plus, dtype=np.float64), np.asarray(minus, dtype=np.float64)
    up, down = np.asarray(up, dtype=bool), np.asarray(down, dtype=bool)
    value = (plus - minus) / (2 * eps)
    value = np.where(up & ~down, -minus / eps, value)     # one-sided from below
    value = np.where(down & ~up, plus / eps, value)       # one-sided from above
    value = np.where(up & down, np.nan, value)
    kink = np.where(up & down, Kink.EXCLUDED, np.where(up | down, Kink.ONE_SIDED, Kink.NONE))
    return value, kink.astype(np.int8)


def round_off(scale, eps):
    """Round-off noise of one estimate when J is a sum of terms of size ~``scale``."""
    return NOISE_FACTOR * UNIT_ROUNDOFF * max(scale, 1e-300) / eps
