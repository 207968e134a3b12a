"""GradCheckReport: what a gradient check found, block by block.

``summarize_block`` turns one block's analytic and numeric values into a BlockResult,
judged by the pass rule of ``policy.py``; GradCheckReport holds the blocks and prints them.
"""

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from .estimate import Kink
from .policy import bug_pattern, difference, judge_block, verdict


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
    penalty_share: float = 0.0   # ‖p‖ / (‖p‖ + ‖g − p‖), p = the L2 term's part of g
    hint: str = ""          # a known bug class the numbers look like
    worst: list = field(default_factory=list)   # Entry objects, worst first
    how: str = "entries"    # "entries", or "directions" for a block that mode="screen" passed
    opinion: str = ""       # the second opinion (opinion.py): how the error moves with eps


class GradCheckReport:
    """Result of ``check_gradients`` / ``check_layer`` / ``gradcheck``.

    passed: every block passed; difference: the course's number over everything checked;
    blocks: {name: difference}; block_passed: {name: bool}; results: {name: BlockResult}.
    """

    def __init__(self, results, difference, eps, mode, tol, notes=(), culprits=None,
                 caused_by=None):
        self.results = {r.name: r for r in results}
        # Blame (check_gradients only): the faulty pieces, and the failed blocks that fail
        # only because of one of them above ({block: "layers[3]"}). None: not a network check.
        self.culprits = culprits
        self.caused_by = caused_by or {}
        self.difference = float(difference)
        self.eps = eps
        self.mode = mode
        self.tol = tol
        self.notes = list(notes)

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
        # nothing compared anywhere (every block inconclusive): no band describes that
        if self.results and all(r.verdict == "inconclusive" for r in self.results.values()):
            return "inconclusive"
        return verdict(self.difference)

    def worst(self, n=5):
        """The n entries with the largest |analytic − numeric| over all blocks."""
        entries = [e for r in self.results.values() for e in r.worst if not np.isnan(e.numeric)]
        return sorted(entries, key=lambda e: -e.error)[:n]

    def to_dict(self):
        """A plain dict of everything in the report, valid strict JSON as it is: numbers
        that are not finite (the numeric value of an excluded entry, a NaN difference) are
        written as None (JSON's null)."""
        def block(r):
            d = asdict(r)
            d["shape"] = list(r.shape)
            d["worst"] = [dict(asdict(e), index=list(e.index)) for e in r.worst]
            return d
        return _plain({"passed": self.passed, "difference": self.difference,
                       "verdict": self.verdict, "eps": self.eps, "mode": self.mode,
                       "tol": self.tol, "notes": self.notes,
                       "blocks": {name: block(r) for name, r in self.results.items()},
                       "culprits": None if self.culprits is None
                       else [asdict(c) for c in self.culprits],
                       "caused_by": self.caused_by})

    def to_json(self, **kwargs):
        """``to_dict()`` as strict JSON (no NaN or Infinity tokens)."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    def plot(self, ax=None):
        """Per-block differences on a log scale with the course's verdict bands; -> Figure."""
        from ..plot import gradcheck_report
        return gradcheck_report(self, ax=ax)

    def __str__(self):
        head = "PASSED" if self.passed else f"FAILED: {', '.join(self.failed)}"
        lines = [f"Gradient check ({self.mode}, eps={self.eps:g}): {head}",
                 f"overall difference {self.difference:.3e} ({self.verdict}); "
                 f"a block passes below {self.tol:g} or at round-off level", ""]
        rows = [(r, f"{r.checked} dir{'s' * (r.checked != 1)}" if r.how == "directions"
                 else f"{r.checked}/{r.size}")
                for r in self.results.values()]
        width = max([7] + [len(c) for _, c in rows])
        lines.append(f"{'block':<8} {'shape':<12} {'checked':>{width}} {'difference':>11}  "
                     f"{'verdict':<11} {'kinks':>5} {'L2 share':>8}  worst entry: analytic vs numeric")
        for r, checked in rows:
            worst = r.worst[0] if r.worst else None
            where = (f"[{', '.join(map(str, worst.index))}] {worst.analytic:.3e} vs "
                     f"{worst.numeric:.3e}" if worst is not None else "")
            share = f"{r.penalty_share:.0%}" if r.penalty_share else ""
            mark = "" if r.passed else "  <-- FAIL" + (
                f" (because of {self.caused_by[r.name]})" if r.name in self.caused_by else "")
            lines.append(f"{r.name:<8} {str(r.shape):<12} {checked:>{width}} "
                         f"{r.difference:>11.3e}  {r.verdict:<11} {r.kinks or '':>5} "
                         f"{share:>8}  {where}{mark}")
        hints = [f"{r.name}: {r.hint}" for r in self.results.values() if r.hint]
        if hints:
            lines += ["", "looks like:"] + [f"  {h}" for h in hints]
        opinions = [f"{r.name}: {r.opinion}" for r in self.results.values() if r.opinion]
        if opinions:
            lines += ["", "second opinion (re-estimated at more eps):"] + [f"  {o}" for o in opinions]
        if self.notes:
            lines += [""] + [f"note: {n}" for n in self.notes]
        lines += self._root_causes()
        return "\n".join(lines)

    def _root_causes(self):
        if self.culprits is None or self.passed:
            return []
        if not self.culprits:
            if all(r.verdict == "inconclusive" for r in self.results.values() if not r.passed):
                return []                   # nothing was found wrong, only not judged
            return ["", "root cause: every layer, the loss and the penalty pass on their own; "
                    "look at how they are wired together (shapes, caches shared between layers)"]
        return ["", "root cause:"] + [f"  {c.sentence()}" for c in self.culprits]

    def __repr__(self):
        state = "passed" if self.passed else f"failed {self.failed}"
        return f"<GradCheckReport {state}, difference={self.difference:.3e}>"


def _plain(value):
    """Python numbers, lists and dicts only; a float that is not finite becomes None."""
    if isinstance(value, dict):
        return {key: _plain(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def summarize_block(name, shape, analytic, numeric, kink, indices, *, floor_per_entry, tol,
                    eps_excess=1.0, penalty_grad=None, n_worst=3, m=None):
    """Build a BlockResult from the checked entries of one block.

    analytic, numeric: (k,) values at the checked flat ``indices`` of the block;
    kink: (k,) Kink codes; floor_per_entry: the round-off of each estimate, (k,) or a number;
    eps_excess: DEFAULT_EPS / ε (see ``policy.judge_block``); penalty_grad: (k,) or None.
    """
    size = int(np.prod(shape)) if shape else 1
    use = kink == Kink.NONE
    g, n = analytic[use], numeric[use]
    abs_error = float(np.linalg.norm(g - n))
    relative = difference(g, n)
    floor = float(np.sqrt(np.sum(np.broadcast_to(floor_per_entry, use.shape)[use] ** 2)))
    share, hint = 0.0, ""
    bad = ~np.isfinite(analytic) | (use & ~np.isfinite(numeric))
    if bad.any():
        passed, word = False, "not finite"
        j = int(np.argmax(bad))
        if not np.isfinite(analytic[j]):
            hint = f"backprop's dθ is {analytic[j]} at {_where(indices[j], shape)}"
        else:
            hint = (f"the numeric estimate is {numeric[j]} at {_where(indices[j], shape)}: "
                    "J(θ ± ε) is not finite (NaN in θ or the data, or an overflow)")
    elif not use.any():
        # Nothing compared by a two-sided estimate: a subgradient between two one-sided slopes
        # is consistent with a correct backward but does not show one, so no pass.
        passed, word = False, "inconclusive"
        hint = ("no entry could be compared: every one sits at a kink; check at other "
                "inputs (or a smaller eps)")
    else:
        passed, word = judge_block(relative, abs_error, floor, tol, eps_excess)
        if word == "inconclusive":
            hint = (f"at this eps the numeric estimates are round-off (floor {floor:.1e}); "
                    "check with a larger eps")
        if penalty_grad is not None and np.linalg.norm(g) > 0:
            # its part of the gradient's size: at most 100 %, also where data and L2 cancel
            pen = np.linalg.norm(penalty_grad[use])
            share = float(pen / (pen + np.linalg.norm(g - penalty_grad[use])))
        if not passed and not hint:
            hint = bug_pattern(g, n, shape, indices[use],
                               None if penalty_grad is None else penalty_grad[use], m)
    order = np.argsort(-np.where(use, np.nan_to_num(np.abs(analytic - numeric), nan=np.inf), -1),
                       kind="stable")[:n_worst]
    worst = [Entry(name, _where(indices[j], shape), float(analytic[j]), float(numeric[j]),
                   Kink(kink[j]).label) for j in order]
    return BlockResult(name, tuple(shape), int(use.sum()), size, relative, abs_error, floor,
                       passed, word, int((kink != Kink.NONE).sum()), share, hint, worst)


def at_lower_precision(result, ratio, note):
    """Revise a failed BlockResult (in place) whose J went through a layer computing at a
    lower precision than the check's float64 (``ratio``: its unit round-off over float64's):
    an error within the round-off floor scaled to that precision says nothing about backprop,
    so the block is "inconclusive" (still failed, never blamed) with ``note`` as its hint.
    A "not finite" block, or an error above that level (a real bug), is left as it was."""
    if result.passed or result.verdict == "not finite" or result.abs_error > ratio * result.floor:
        return
    result.verdict, result.hint = "inconclusive", note


def _where(index, shape):
    return tuple(int(i) for i in np.unravel_index(index, shape)) if shape else ()


def progress_bar(progress, total):
    """A tqdm bar over ``total`` entries, or None (progress=None: only for long checks)."""
    if progress is False or (progress is None and total < 20_000):
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc="gradient check", unit="entry", leave=False)
