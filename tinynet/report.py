"""GradCheckReport: what a gradient check found, block by block.

The course's single number ``‖g − ĝ‖ / (‖g‖ + ‖ĝ‖)`` over all of θ dilutes a bug in a
small block (a bias) behind a large correct block (a weight matrix). The report
keeps that number (``difference``) but decides pass/fail **per block**:

    a block passes when  difference_block < tol  (default 1e-5, the course's "fine")
                    or   ‖g − ĝ‖_block <= floor   (both are at round-off level)

where ``floor`` is the round-off noise of the numeric estimate (about
32·u·|J|/ε per entry, u = 2.2e-16) times sqrt(entries checked). Entries whose
±ε step crossed a kink (ReLU at 0) are left out of both numbers and reported
as kinks, never as bugs.
"""

import json
from dataclasses import asdict, dataclass, field

import numpy as np

BANDS = ((1e-7, "great"), (1e-5, "fine"), (1e-3, "suspicious"))


def verdict(difference):
    """The course's bands: < 1e-7 great, < 1e-5 fine, < 1e-3 suspicious, otherwise a bug."""
    for limit, word in BANDS:
        if difference < limit:
            return word
    return "bug"


@dataclass
class Entry:
    """One checked entry of θ."""
    block: str
    index: tuple        # position inside the block, e.g. (2, 0) for W2[2, 0]
    analytic: float     # backprop's dθ
    numeric: float      # the finite-difference estimate (nan when excluded)
    kink: str = ""      # "" | "one-sided" | "excluded"

    @property
    def error(self):
        return abs(self.analytic - self.numeric)

    @property
    def relative_error(self):
        denominator = abs(self.analytic) + abs(self.numeric)
        return self.error / denominator if denominator else 0.0

    def __str__(self):
        where = f"{self.block}[{', '.join(map(str, self.index))}]"
        note = f"  (kink: {self.kink})" if self.kink else ""
        return (f"{where:<14} analytic {self.analytic: .6e}  numeric {self.numeric: .6e}  "
                f"error {self.error:.2e}{note}")


@dataclass
class BlockResult:
    """The check of one parameter block (``W2``, ``b1``, ..., or ``x`` for check_layer)."""
    name: str
    shape: tuple
    checked: int            # entries compared (kink-excluded entries not counted)
    size: int
    difference: float       # ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖) over the checked entries
    abs_error: float        # ‖g − ĝ‖
    floor: float            # round-off level of abs_error
    passed: bool
    verdict: str
    kinks: int = 0          # entries whose step crossed a kink
    penalty_share: float = 0.0   # ‖penalty part of g‖ / ‖g‖
    hint: str = ""          # a known bug class the numbers look like
    worst: list = field(default_factory=list)   # Entry objects, worst first
    how: str = "entries"    # "entries", or "directions" for a block that mode="screen" passed


class GradCheckReport:
    """Result of ``check_gradients`` / ``check_layer`` / ``gradcheck``.

    passed: every block passed; difference: the course's number over everything checked;
    blocks: {name: difference}; block_passed: {name: bool}; results: {name: BlockResult}.
    """

    def __init__(self, results, difference, eps, mode, tol, notes=(), kink_entries=()):
        self.results = {r.name: r for r in results}
        self.difference = float(difference)
        self.eps = eps
        self.mode = mode
        self.tol = tol
        self.notes = list(notes)
        self.kink_entries = list(kink_entries)

    @property
    def passed(self):
        return all(r.passed for r in self.results.values())

    @property
    def blocks(self):
        return {name: r.difference for name, r in self.results.items()}

    @property
    def block_passed(self):
        return {name: r.passed for name, r in self.results.items()}

    @property
    def failed(self):
        """Names of the blocks that failed."""
        return [name for name, r in self.results.items() if not r.passed]

    @property
    def verdict(self):
        return verdict(self.difference)

    def worst(self, n=5):
        """The n entries with the largest |analytic − numeric| over all blocks."""
        entries = [e for r in self.results.values() for e in r.worst if not np.isnan(e.numeric)]
        return sorted(entries, key=lambda e: -e.error)[:n]

    def to_dict(self):
        """A plain dict (JSON-able) of everything in the report."""
        def block(r):
            d = asdict(r)
            d["shape"] = list(r.shape)
            d["worst"] = [dict(asdict(e), index=list(e.index)) for e in r.worst]
            return d
        return {"passed": self.passed, "difference": self.difference, "verdict": self.verdict,
                "eps": self.eps, "mode": self.mode, "tol": self.tol, "notes": self.notes,
                "blocks": {name: block(r) for name, r in self.results.items()}}

    def to_json(self, **kwargs):
        return json.dumps(self.to_dict(), **kwargs, default=_json_default)

    def plot(self, ax=None):
        """Per-block differences on a log scale with the course's verdict bands; -> Figure."""
        from .plot import gradcheck_report
        return gradcheck_report(self, ax=ax)

    def __str__(self):
        head = "PASSED" if self.passed else f"FAILED: {', '.join(self.failed)}"
        lines = [f"Gradient check ({self.mode}, eps={self.eps:g}): {head}",
                 f"overall difference {self.difference:.3e} ({self.verdict}); "
                 f"a block passes below {self.tol:g} or at round-off level", ""]
        rows = [(r, f"{r.checked} dirs" if r.how == "directions" else f"{r.checked}/{r.size}")
                for r in self.results.values()]
        width = max([7] + [len(c) for _, c in rows])
        lines.append(f"{'block':<8} {'shape':<12} {'checked':>{width}} {'difference':>11}  "
                     f"{'verdict':<11} {'kinks':>5} {'L2 share':>8}  worst entry")
        for r, checked in rows:
            worst = r.worst[0] if r.worst else None
            where = (f"[{', '.join(map(str, worst.index))}] {worst.analytic:.3e} vs "
                     f"{worst.numeric:.3e}" if worst is not None else "")
            share = f"{r.penalty_share:.0%}" if r.penalty_share else ""
            mark = "" if r.passed else "  <-- FAIL"
            lines.append(f"{r.name:<8} {str(r.shape):<12} {checked:>{width}} "
                         f"{r.difference:>11.3e}  {r.verdict:<11} {r.kinks or '':>5} "
                         f"{share:>8}  {where}{mark}")
        hints = [f"{r.name}: {r.hint}" for r in self.results.values() if r.hint]
        if hints:
            lines += ["", "looks like:"] + [f"  {h}" for h in hints]
        if self.notes:
            lines += [""] + [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self):
        state = "passed" if self.passed else f"failed {self.failed}"
        return f"<GradCheckReport {state}, difference={self.difference:.3e}>"


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON-able: {value!r}")


def summarize_block(name, shape, analytic, numeric, kink, indices, *, floor_per_entry, tol,
                    penalty_grad=None, n_worst=3, m=None):
    """Build a BlockResult from the checked entries of one block.

    analytic, numeric: (k,) values at the checked flat ``indices`` of the block;
    kink: (k,) int codes 0 none, 1 one-sided, 2 excluded; penalty_grad: (k,) or None.
    """
    size = int(np.prod(shape)) if shape else 1
    use = kink == 0
    g, n = analytic[use], numeric[use]
    abs_error = float(np.linalg.norm(g - n))
    denominator = float(np.linalg.norm(g) + np.linalg.norm(n))
    difference = abs_error / denominator if denominator > 0 else 0.0
    floor = floor_per_entry * np.sqrt(max(use.sum(), 1))
    at_round_off = abs_error <= floor
    passed = difference < tol or at_round_off
    word = verdict(difference)
    if use.sum() == 0:
        word, passed = ("kinks only" if kink.size else "not checked"), True
    elif at_round_off and difference >= tol:
        word = "round-off"
    share = 0.0
    if penalty_grad is not None and np.linalg.norm(g) > 0:
        share = float(np.linalg.norm(penalty_grad[use]) / np.linalg.norm(g))
    hint = "" if passed else bug_pattern(g, n, shape, indices[use],
                                         None if penalty_grad is None else penalty_grad[use], m)
    order = np.argsort(-np.where(use, np.abs(analytic - numeric), -1))[:n_worst]
    worst = [Entry(name, tuple(int(i) for i in np.unravel_index(indices[j], shape)) if shape else (),
                   float(analytic[j]), float(numeric[j]),
                   ("", "one-sided", "excluded")[kink[j]]) for j in order]
    return BlockResult(name, tuple(shape), int(use.sum()), size, difference, abs_error,
                       float(floor), bool(passed), word, int((kink > 0).sum()), share, hint, worst)


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
