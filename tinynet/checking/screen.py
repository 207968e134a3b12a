"""Screening: a few random directions per block instead of every entry.

For a unit direction u, the directional derivative dθ·u must equal
(J(θ + εu) − J(θ − εu)) / 2ε. A handful of directions per block finds a wrong block at a
fraction of the cost of a full check; ``check_gradients(mode="screen")`` then checks the
blocks that fail entry by entry. A block that passes above the "great" band (1e-7) gets
the second opinion (opinion.py) on its directions, and fails the screen when their error is
constant: a small mismatch, not round-off.
"""

import numpy as np

from .estimate import CROSSED
from .opinion import plain_estimate, second_opinion
from .policy import BANDS, difference, judge_block
from .report import BlockResult


def screen(engine, directions, tol):
    """Directional checks of every block larger than ``directions``.

    -> (names of the blocks that fail, {name: BlockResult}, {name: (analytic, numeric)}).
    """
    net, eps = engine.net, engine.eps
    results, vectors, failing = {}, {}, []
    for block in net.blocks:
        size = block.stop - block.start
        if size <= directions:
            continue                    # checked entry by entry instead
        U = engine.rng.standard_normal((directions, size))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        plus, minus, crossed = _steps(engine, block, U, eps)
        numeric = (plus - minus) / (2 * eps)
        analytic = U @ engine.dtheta[block.start:block.stop]
        use = ~crossed
        g, n = analytic[use], numeric[use]
        abs_error = float(np.linalg.norm(g - n))
        relative = difference(g, n)
        floor = engine.noise * np.sqrt(max(use.sum(), 1))
        passed, word = judge_block(relative, abs_error, floor, tol, engine.eps_excess)
        finite = np.all(np.isfinite(g)) and np.all(np.isfinite(n))
        if passed and finite and relative >= BANDS[0][0]:
            # above "great": is it a small constant mismatch? (the second opinion, on the
            # directions instead of entries; one that is fails the screen)
            passed = not _constant(engine, block, U[use], g, n)
        if not (passed and use.any() and finite):
            failing.append(block.name)      # checked entry by entry, which says what is wrong
        vectors[block.name] = (g, n)
        results[block.name] = BlockResult(
            block.name, block.shape, int(use.sum()), size, relative, abs_error, float(floor),
            passed, word, int(crossed.sum()), how="directions")
    return failing, results, vectors


def _steps(engine, block, U, step):
    """J(θ ± step·u) − J(θ) for the unit directions u (rows of U) in ``block``; -> (plus,
    minus, whether either step crossed a kink)."""
    flat = engine.theta[block.start:block.stop]
    saved = flat.copy()
    changes, crossed = np.empty((2, len(U))), np.zeros(len(U), dtype=bool)
    for side, sign in enumerate((1.0, -1.0)):
        for d, u in enumerate(U):
            flat += sign * step * u
            J, hit = engine.cost_from(block.layer_index)
            flat[...] = saved                               # bit-exact restore
            changes[side, d] = J - engine.J0
            crossed[d] |= hit
    return changes[0], changes[1], crossed


def _constant(engine, block, U, g, n):
    """The second opinion (opinion.py) on directional derivatives: is their error the same
    at 4ε, 16ε and 64ε?"""
    def changes(positions, step):
        plus, minus, crossed = _steps(engine, block, U[positions], step)
        return plus, minus, crossed * CROSSED, crossed * CROSSED
    codes = np.zeros(len(g), dtype=np.int8)
    opinion = second_opinion(plain_estimate(changes, engine.eps), g, n, codes,
                             engine.base_losses.mean(), engine.base_magnitude)
    return opinion.real
