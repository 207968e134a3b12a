"""Screening: a few random directions per block instead of every entry.

For a unit direction u, the directional derivative dθ·u must equal
(J(θ + εu) − J(θ − εu)) / 2ε. A handful of directions per block finds a wrong block at a
fraction of the cost of a full check; ``check_gradients(mode="screen")`` then checks the
blocks that fail entry by entry.
"""

import numpy as np

from .policy import difference, judge_block
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
        flat = engine.theta[block.start:block.stop]
        saved = flat.copy()
        changes, crossed = [], np.zeros(directions, dtype=bool)
        for sign in (1.0, -1.0):
            row = []
            for d in range(directions):
                flat += sign * eps * U[d]
                J, hit = engine.cost_from(block.layer_index)
                flat[...] = saved                               # bit-exact restore
                row.append(J - engine.J0)
                crossed[d] |= hit
            changes.append(np.array(row))
        numeric = (changes[0] - changes[1]) / (2 * eps)
        analytic = U @ engine.dtheta[block.start:block.stop]
        use = ~crossed
        g, n = analytic[use], numeric[use]
        abs_error = float(np.linalg.norm(g - n))
        relative = difference(g, n)
        floor = engine.noise * np.sqrt(max(use.sum(), 1))
        passed, word = judge_block(relative, abs_error, floor, tol, engine.eps_excess)
        if not (passed and use.any() and np.all(np.isfinite(g)) and np.all(np.isfinite(n))):
            failing.append(block.name)      # checked entry by entry, which says what is wrong
        vectors[block.name] = (g, n)
        results[block.name] = BlockResult(
            block.name, block.shape, int(use.sum()), size, relative, abs_error, float(floor),
            passed, word, int(crossed.sum()), how="directions")
    return failing, results, vectors
