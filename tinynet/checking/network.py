"""check_gradients: a whole network's backprop dθ against two-sided finite differences.

    dθ_approx[i] = (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε        error O(ε²)
    difference   = ‖dθ_approx − dθ‖₂ / (‖dθ_approx‖₂ + ‖dθ‖₂)

Validate the arguments, enter the float64 sandbox (sandbox.py), compute the base point
and the analytic dθ (engine.py), choose the entries to check (all, a sample, or the
blocks that fail screening, screen.py), estimate them, judge every block (policy.py) and
assemble the report (report.py).
"""

import numpy as np

from ..layers import Dense
from ..normalization import BatchNorm
from ..validation import check_seed, check_X, choice, flag, positive_float, positive_int, step_size
from .blame import blame, explained
from .engine import Engine
from .estimate import DEFAULT_EPS, NOISE_FACTOR, UNIT_ROUNDOFF, Kink
from .opinion import second_look
from .policy import DEFAULT_TOL, difference
from .plan import builtin
from .report import GradCheckReport, at_lower_precision, progress_bar, summarize_block
from .sandbox import float64_network
from .screen import screen

FULL_LIMIT = 50_000                # mode="auto": full check up to this many parameters


def check_gradients(net, X, y, eps=DEFAULT_EPS, dropout="off", mode="auto", samples=10,
                    directions=3, tol=DEFAULT_TOL, penalty=True, seed=0, progress=None):
    """Check ``net``'s backprop on (X, y); -> GradCheckReport. The model is left unchanged.

    eps: the step ε (default 1e-6; see the README for the sweep behind it).
    dropout: "off" (no unit dropped) or "frozen" (one fixed mask per Dropout layer).
    mode: "full" (every entry), "sample" (``samples`` entries per block, always including
      the block's largest gradients), "screen" (``directions`` random directions per block,
      then a full check of every block that fails), or "auto" (full up to 50,000
      parameters, screen above).
    tol: a block passes when its difference is below tol (or at round-off level).
    penalty: False checks the data loss alone (J and dθ without the L2 term), the course
      notes' advice when the penalty dominates a block's gradient.
    seed: for the sampled entries, the screening directions and the frozen dropout masks.
    progress: show a tqdm bar (None: only for long checks).
    """
    eps = step_size(eps)
    choice(dropout, "dropout", ("off", "frozen"))
    choice(mode, "mode", ("auto", "full", "sample", "screen"))
    samples = positive_int(samples, "samples")
    directions = positive_int(directions, "directions")
    tol = positive_float(tol, "tol")
    flag(penalty, "penalty")
    if progress is not None:
        flag(progress, "progress")
    seed = check_seed(seed)
    if not net.blocks:
        raise ValueError(f"this network has no parameters, so there is nothing to check; "
                         f"its layers are {net.layers}")
    X = check_X(X, net.n_inputs, np.float64)
    y = net._targets(y, X.shape[0], X)
    if mode == "auto":
        mode = "full" if net.n_params <= FULL_LIMIT else "screen"
    rng = np.random.default_rng(seed)

    # NaN and overflow are reported per block ("not finite"), not as numpy warnings.
    with float64_network(net, use_penalty=penalty) as (theta, dtheta), np.errstate(all="ignore"):
        notes = []
        if net.dtype != np.float64:
            notes.append(f"the model is {net.dtype.name}; it was checked on a float64 copy")
        engine = Engine(net, theta, dtheta, eps, dropout, rng, tol)
        engine.start(X, y)
        notes += engine.notes + _not_finite(net, theta, engine.J0)
        if mode == "screen":
            failing, screen_results, screen_vectors = screen(engine, directions, tol)
            # Blocks no larger than the number of directions are cheaper to check entry by entry.
            small = [b.name for b in net.blocks if b.stop - b.start <= directions]
            checks = {b.name: np.arange(b.stop - b.start) for b in net.blocks
                      if b.name in failing or b.name in small}
            notes.append(f"screened the blocks with {directions} random directions each; failed the "
                         f"screen and were checked entry by entry: {', '.join(failing) or 'none'}")
            screened = {name: r for name, r in screen_results.items() if name not in checks}
        else:
            checks = {b.name: (np.arange(b.stop - b.start) if mode == "full"
                               else _sample(dtheta, b, samples, rng)) for b in net.blocks}
            screened = {}
        results, all_g, all_n, zero = [], [], [], set()
        bar = progress_bar(progress, sum(len(v) for v in checks.values()))
        for block in net.blocks:
            if block.name in screened:
                results.append(screened[block.name])
                if not np.any(screen_vectors[block.name][0]) and not np.any(screen_vectors[block.name][1]):
                    zero.add(block.name)
                continue
            entries = checks[block.name]
            numeric = engine.numeric(block, entries, bar)
            analytic = dtheta[block.start:block.stop][entries]
            result = summarize_block(
                block.name, block.shape, analytic, numeric.estimates, numeric.kinks, entries,
                floor_per_entry=numeric.noise, tol=tol, eps_excess=engine.eps_excess, m=X.shape[0],
                penalty_grad=numeric.penalty)
            second_look(engine, block, entries, analytic, numeric, result, tol)
            if not np.any(analytic) and not np.any(numeric.estimates):
                zero.add(block.name)
            results.append(result)
            use = numeric.kinks == Kink.NONE
            all_g.append(analytic[use])
            all_n.append(numeric.estimates[use])
        if bar is not None:
            bar.close()
        for name in screened:                         # directional values of the passed blocks
            all_g.append(screen_vectors[name][0])
            all_n.append(screen_vectors[name][1])
        overall = difference(np.concatenate(all_g or [[]]), np.concatenate(all_n or [[]]))
        notes += _lower_precision(engine, net, results)
        for r in results:
            if r.penalty_share > 0.9:
                notes.append(f"{r.name}: {r.penalty_share:.0%} of the gradient is the L2 term, "
                             "so a bug in the data gradient could hide there; check again with "
                             "penalty=False")
        notes.extend(_bias_before_batchnorm(net))
        notes.extend(_nothing_tested(results, zero))
        failed = {r.name for r in results if not r.passed}
        # blame looks for a wrong backward: not for blocks that only could not be judged
        wrong = any(not r.passed and r.verdict != "inconclusive" for r in results)
        depth = sum(1 for layer in net.layers if layer.params)
        if depth >= 5 and not failed:
            notes.append(f"{depth} parameterized layers: round-off accumulates with depth, "
                         "differences around 1e-7 are still normal")
        culprits = blame(engine, notes, failed) if wrong else []
        return GradCheckReport(results, overall, eps, mode, tol, notes, culprits=culprits,
                               caused_by=explained(failed, culprits, net))


def _sample(grads, block, k, rng):
    """k entries of a block: the largest |gradients| first, then random ones."""
    size = block.stop - block.start
    if size <= k:
        return np.arange(size)
    g = np.abs(grads[block.start:block.stop])
    top = np.argsort(-g, kind="stable")[:max(1, k // 2)]
    rest = np.setdiff1d(np.arange(size), top)
    return np.sort(np.concatenate([top, rng.choice(rest, k - top.size, replace=False)]))


def _nothing_tested(results, zero):
    """Notes on blocks whose analytic and numeric values are all exactly 0 (``zero``).

    Every block: nothing was tested, so every block becomes "inconclusive" (the check
    fails). Some blocks only (a dead unit's bias): they keep their verdict, with a note.
    """
    if zero and len(zero) == len(results):
        for r in results:
            r.passed, r.verdict = False, "inconclusive"
        return ["every gradient is exactly 0 here: nothing was tested; check at a point where "
                "the loss is not flat"]
    return [f"{r.name}: every checked entry is exactly 0, analytic and numeric (a dead unit?): "
            "nothing was tested in this block" for r in results if r.name in zero]


def _bias_before_batchnorm(net):
    """A note for every Dense bias that feeds a BatchNorm directly: its gradient is 0."""
    notes = []
    for block in net.blocks:
        i = block.layer_index
        if block.key == "b" and isinstance(net.layers[i], Dense) and i + 1 < len(net.layers) \
                and isinstance(net.layers[i + 1], BatchNorm):
            notes.append(f"{block.name} feeds {net.layers[i + 1]!r}, whose mean subtraction "
                         "cancels it: its gradient is 0 (up to round-off) and it never trains "
                         "(the course: \"b can be eliminated\"; BatchNorm's beta does its job)")
    return notes


def _lower_precision(engine, net, results):
    """Notes for custom layers whose forward returns a lower precision than float64 at the
    base point (``x.astype(np.float32)`` inside forward): J's changes are then rounded at that
    precision, so the blocks at or below the layer are judged against its round-off
    (``report.at_lower_precision``). -> notes"""
    notes, at = [], {block.name: block.layer_index for block in net.blocks}
    for index, layer in enumerate(net.layers):
        if builtin(layer) is not None:
            continue
        dtype = np.asarray(engine._call(index, engine.inputs[index])).dtype
        if not np.issubdtype(dtype, np.floating) or np.finfo(dtype).eps <= UNIT_ROUNDOFF:
            continue
        notes.append(f"layers[{index}] ({layer!r}).forward returns {dtype.name}: it computes in "
                     f"{dtype.name} inside the float64 check, whose finite differences need "
                     "float64 arithmetic (compute in the input's dtype instead of casting); "
                     f"blocks up to layers[{index}] are judged against {dtype.name} round-off")
        # the float64 floor budgets NOISE_FACTOR roundings of u per evaluation; the layer's
        # few operations at its own precision add about 4 of its u
        ratio = 4 * np.finfo(dtype).eps / UNIT_ROUNDOFF / NOISE_FACTOR
        hint = (f"at {dtype.name} round-off: layers[{index}] ({layer!r}) computes in "
                f"{dtype.name}; the check needs float64 arithmetic")
        for result in results:
            if at[result.name] <= index:
                at_lower_precision(result, ratio, hint)
    return notes


def _not_finite(net, theta, J):
    """Notes that say where θ or J(θ) is NaN or inf."""
    notes = []
    for block in net.blocks:
        bad = np.flatnonzero(~np.isfinite(theta[block.start:block.stop]))
        if bad.size:
            where = tuple(int(i) for i in np.unravel_index(bad[0], block.shape))
            notes.append(f"θ is not finite: {block.name}{list(where)} = "
                         f"{theta[block.start + bad[0]]} ({bad.size} such entries in {block.name})")
    if not np.isfinite(J):
        notes.append(f"J(θ) = {J}: no numeric estimate can be finite")
    return notes
