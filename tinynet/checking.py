"""Gradient checking: backprop's dθ against two-sided finite differences.

    dθ_approx[i] = (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε        error O(ε²)
    difference   = ‖dθ_approx − dθ‖₂ / (‖dθ_approx‖₂ + ‖dθ‖₂)

Three entry points share one report (see ``tinynet.report``):

- ``check_gradients(net, X, y)`` (also ``net.check_gradients``): the whole network;
- ``check_layer(layer, x)``: one layer alone, J = Σ out·G for a random upstream G;
- ``gradcheck(cost, params, grads)``: the course's own hand-written functions.

Why it is fast: a step in one entry of a Dense layer's W changes a single column
of that layer's output. The checker reuses every activation before the layer,
pushes only that column through the element-wise layers after it, turns it into
a rank-1 update of the next Dense layer, and evaluates many perturbations at
once as one stacked batch. Through Dense → ReLU → Dense it goes one layer further
with an exact linear map (``_shortcut``). The L2 term's change is computed exactly
per entry.

Why it can be trusted:
- always float64 (a float32 model is checked on a float64 copy);
- the model is restored bit for bit afterwards (values, dtype, keep_prob, random state);
- ``dropout="off"`` forces keep_prob = 1 (the course's advice); ``"frozen"`` reuses one
  mask per Dropout layer so Dropout's own backward is checked too;
- kinks: a layer's ``kinks(x)`` hook says on which side of its non-differentiable
  points each input is. A ±ε step that crosses one gets the one-sided estimate from
  the side that did not cross, or is excluded when both did; either way it is
  reported as a kink, never as a bug;
- pass/fail is per block, with a round-off floor (see ``tinynet.report``).
"""

import numpy as np

from .layers import Dense, Dropout
from .penalties import L2
from .report import GradCheckReport, summarize_block
from .validation import (check_seed, check_X, choice, flag, positive_float, positive_int,
                         step_size)

DEFAULT_EPS = 1e-6
DEFAULT_TOL = 1e-5
NOISE_FACTOR = 32                  # round-off noise of J(θ±ε) in units of u·|J|
FULL_LIMIT = 50_000                # mode="auto": full check up to this many parameters
CHUNK_FLOATS = 2_000_000           # memory bound of one stacked evaluation (floats)
SHORTCUT_FLOATS = 20_000_000       # memory bound of the Dense → piecewise-linear → Dense shortcut
UNIT_ROUNDOFF = np.finfo(np.float64).eps


def check_gradients(net, X, y, eps=DEFAULT_EPS, dropout="off", mode="auto", samples=10,
                    directions=3, tol=DEFAULT_TOL, penalty=True, seed=0, progress=None):
    """Check ``net``'s backprop on (X, y); -> GradCheckReport. The model is left unchanged.

    eps: the step ε (default 1e-6; see the README for the sweep behind it).
    dropout: "off" (keep_prob forced to 1) or "frozen" (one fixed mask per Dropout layer).
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
    X = check_X(X, net.n_inputs, np.float64)
    y = net._targets(y, X.shape[0])
    if mode == "auto":
        mode = "full" if net.n_params <= FULL_LIMIT else "screen"
    rng = np.random.default_rng(seed)

    with _Float64Session(net, eps, dropout, penalty, rng) as session:
        session.start(X, y)
        notes = session.notes
        if mode == "screen":
            failing = session.screen(directions, tol)
            # Blocks no larger than the number of directions are cheaper to check entry by entry.
            small = [b.name for b in net.blocks if b.stop - b.start <= directions]
            checks = {b.name: np.arange(b.stop - b.start) for b in net.blocks
                      if b.name in failing or b.name in small}
            notes.append(f"screened the blocks with {directions} random directions each; failed the "
                         f"screen and were checked entry by entry: {', '.join(failing) or 'none'}")
            screened = {name: r for name, r in session.screen_results.items() if name not in checks}
        else:
            checks = {b.name: (np.arange(b.stop - b.start) if mode == "full"
                               else _sample(net.grads, b, samples, rng)) for b in net.blocks}
            screened = {}
        results, all_g, all_n = [], [], []
        todo = sum(len(v) for v in checks.values())
        bar = _progress(progress, todo)
        for block in net.blocks:
            if block.name in screened:
                results.append(screened[block.name])
                continue
            local = checks[block.name]
            numeric, kink, pen = session.numeric(block, local, bar)
            analytic = session.G[block.start:block.stop][local]
            results.append(summarize_block(
                block.name, block.shape, analytic, numeric, kink, local,
                floor_per_entry=session.noise, tol=tol, m=X.shape[0], penalty_grad=pen))
            use = kink == 0
            all_g.append(analytic[use])
            all_n.append(numeric[use])
        if bar is not None:
            bar.close()
        if mode == "screen":
            for name in screened:                     # directional values of the passed blocks
                all_g.append(session.screen_vectors[name][0])
                all_n.append(session.screen_vectors[name][1])
        difference = _difference(np.concatenate(all_g or [[]]), np.concatenate(all_n or [[]]))
        for r in results:
            if r.penalty_share > 0.9:
                notes.append(f"{r.name}: {r.penalty_share:.0%} of the gradient is the L2 term, "
                             "so a bug in the data gradient could hide there; check again with "
                             "penalty=False")
        depth = sum(1 for layer in net.layers if layer.params)
        if depth >= 5:
            notes.append(f"{depth} parameterized layers: round-off accumulates with depth, "
                         "differences around 1e-7 are still normal")
        return GradCheckReport(results, difference, eps, mode, tol, notes)


def _difference(g, n):
    denominator = np.linalg.norm(g) + np.linalg.norm(n)
    return float(np.linalg.norm(g - n) / denominator) if denominator > 0 else 0.0


def _sample(grads, block, k, rng):
    """k entries of a block: the largest |gradients| first, then random ones."""
    size = block.stop - block.start
    if size <= k:
        return np.arange(size)
    g = np.abs(grads[block.start:block.stop])
    top = np.argsort(-g, kind="stable")[:max(1, k // 2)]
    rest = np.setdiff1d(np.arange(size), top)
    return np.sort(np.concatenate([top, rng.choice(rest, k - top.size, replace=False)]))


def _progress(progress, total):
    if progress is False or (progress is None and total < 20_000):
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc="gradient check", unit="entry", leave=False)


class _Float64Session:
    """Everything a network check needs, on a float64 copy; restores the model on exit."""

    def __init__(self, net, eps, dropout, penalty, rng):
        self.net, self.eps, self.dropout, self.use_penalty, self.rng = net, eps, dropout, penalty, rng
        self.notes = []

    def __enter__(self):
        net = self.net
        self.saved_buffers = (net._params, net._grads)
        self.saved_penalty = net.penalty
        self.saved_states = [net.rng.bit_generator.state] + \
                            [layer.rng.bit_generator.state for layer in net.layers]
        self.saved_dropout = [(layer, layer.keep_prob, layer.frozen_mask)
                              for layer in net.layers if isinstance(layer, Dropout)]
        self.P = net.params.astype(np.float64)   # always a copy: the model's θ is never touched
        self.G = np.zeros_like(self.P)
        net._params, net._grads = self.P, self.G
        net._bind(self.P, self.G)
        if not self.use_penalty:
            net.penalty = None
        if net.dtype != np.float64:
            self.notes.append(f"the model is {net.dtype.name}; it was checked on a float64 copy")
        for layer, _, _ in self.saved_dropout:
            if self.dropout == "off":
                layer.keep_prob = 1.0
        return self

    def __exit__(self, *exc):
        net = self.net
        net._params, net._grads = self.saved_buffers
        net._bind(*self.saved_buffers)
        net.penalty = self.saved_penalty
        for layer, keep_prob, mask in self.saved_dropout:
            layer.keep_prob, layer.frozen_mask, layer.mask = keep_prob, mask, None
        net.rng.bit_generator.state = self.saved_states[0]
        for layer, state in zip(net.layers, self.saved_states[1:]):
            layer.rng.bit_generator.state = state
        return False

    # ---- the base point -------------------------------------------------------------
    def start(self, X, y):
        """Forward once caching every layer's input, then backprop for the analytic dθ."""
        net = self.net
        self.y, self.m = y, X.shape[0]
        self.shortcuts = {}        # layer index -> (M, T) or None, see _shortcut
        self.inputs = []
        out = X
        for layer in net.layers:
            if isinstance(layer, Dropout) and self.dropout == "frozen" and layer.keep_prob < 1:
                keep = self.rng.random(out.shape) < layer.keep_prob
                layer.frozen_mask = keep / layer.keep_prob
            self.inputs.append(out)
            out = layer.forward(out, training=True)
        self.scores = out
        self.L0 = self._losses(out[None])[0]           # per-example losses at θ
        self.J0 = net._cost_and_grad(X, y)            # fills self.G (bound to net.grads)
        # Round-off noise of one numeric estimate: J is a sum of terms of size ~|loss|.
        scale = max(abs(self.J0), float(np.abs(self.L0).mean()), 1e-300)
        self.noise = NOISE_FACTOR * UNIT_ROUNDOFF * scale / self.eps
        self.penalized = {(id(layer), key) for layer, key in net._penalized}

    # ---- evaluating J at many perturbed points at once --------------------------------
    def _losses(self, scores):
        """scores: (K, m, n_out) -> per-example losses (K, m) for K perturbed networks."""
        loss, K, m = self.net.loss, scores.shape[0], scores.shape[1]
        if hasattr(loss, "losses"):
            y = self.y
            tiled = np.broadcast_to(y, (K,) + y.shape).reshape((K * m,) + y.shape[1:])
            return loss.losses(scores.reshape(K * m, -1), tiled).reshape(K, m)
        # a custom loss with only forward(): its mean, spread evenly over the examples
        return np.array([[loss.forward(s, self.y)] * m for s in scores])

    def _propagate(self, start, cols, col_values, dense, K):
        """Run perturbed activations through layers[start:]; -> (losses (K, m), crossed (K,)).

        Either column mode (``cols`` (K,) and ``col_values`` (K, m): perturbation k changed
        only column cols[k] of layers[start]'s input) or dense mode (``dense`` (K, m, n)).
        """
        crossed = np.zeros(K, dtype=bool)
        index = start
        while index < len(self.net.layers):
            layer, base_in = self.net.layers[index], self.inputs[index]
            if dense is None and type(layer) is Dense and self._shortcut(index) is not None:
                dense, crossed = self._through_shortcut(index, cols, col_values, crossed)
                index += 3                                       # Dense, activation, Dense
                continue
            if dense is None and type(layer) is Dense:          # rank-1 update of its output
                base_out = self.inputs[index + 1] if index + 1 < len(self.inputs) else self.scores
                change = col_values - base_in[:, cols].T         # (K, m)
                W = layer.params["W"]
                dense = base_out[None] + change[:, :, None] * W[:, cols].T[:, None, :]
            elif dense is None and getattr(layer, "elementwise", False) and not layer.params:
                base_cols = base_in[:, cols].T
                crossed |= _crossings(layer, base_cols, col_values, axes=1)
                col_values = self._apply(layer, col_values, cols)
            else:
                if dense is None:                                  # densify the column
                    dense = np.broadcast_to(base_in, (K,) + base_in.shape).copy()
                    dense[np.arange(K), :, cols] = col_values
                crossed |= _crossings(layer, base_in[None], dense, axes=(1, 2))
                dense = self._apply(layer, dense, None)
            index += 1
        if dense is None:                                          # the last layer was element-wise
            dense = np.broadcast_to(self.scores, (K,) + self.scores.shape).copy()
            dense[np.arange(K), :, cols] = col_values
        return self._losses(dense), crossed

    def _shortcut(self, index):
        """For layers[index] Dense, then a piecewise-linear activation (ReLU, LeakyReLU: a
        ``slopes`` hook), then Dense: precompute, for every input column c of the first Dense,

            M[c] = (S ⊙ W[:, c]) @ W_next.T     (m, n_out_next), S = slopes at the base point,
            T[c] = min_j |Z[:, j]| / |W[j, c]|  (m,): the smallest change of column c that
                                                could move some Z across a kink.

        A change d (m,) of column c then changes the next Dense's output by exactly d ⊙ M[c]
        whenever |d| < T[c] everywhere (no kink crossed). -> (M, T) or None if not applicable.
        """
        if index in self.shortcuts:
            return self.shortcuts[index]
        layers, result = self.net.layers, None
        if index + 2 < len(layers) and type(layers[index + 2]) is Dense \
                and hasattr(layers[index + 1], "slopes") and not layers[index + 1].params \
                and layers[index + 1].kinks(self.inputs[index + 1][:1]) is not None:
            W, W_next = layers[index].params["W"], layers[index + 2].params["W"]
            Z = self.inputs[index + 1]                           # (m, n_mid): the activation's input
            m, (n_mid, n_in), n_out = Z.shape[0], W.shape, W_next.shape[0]
            if n_in * m * max(n_out, n_mid) <= SHORTCUT_FLOATS:
                S = layers[index + 1].slopes(Z)
                M = np.empty((n_in, m, n_out))
                T = np.empty((n_in, m))
                step = max(1, CHUNK_FLOATS // (m * n_mid))
                with np.errstate(divide="ignore", invalid="ignore"):
                    for c in range(0, n_in, step):
                        Wc = W[:, c:c + step].T                    # (cs, n_mid)
                        M[c:c + step] = (S[None] * Wc[:, None, :]) @ W_next.T
                        ratio = np.abs(Z)[None] / np.abs(Wc)[:, None, :]
                        T[c:c + step] = np.nan_to_num(ratio, nan=np.inf).min(axis=2)
                result = (M, T)
        self.shortcuts[index] = result
        return result

    def _through_shortcut(self, index, cols, col_values, crossed):
        """Column change at layers[index] (Dense) -> the dense output of layers[index + 2]."""
        M, T = self._shortcut(index)
        base_in = self.inputs[index]
        change = col_values - base_in[:, cols].T                      # (K, m)
        exact = (np.abs(change) >= T[cols]).any(axis=1)                # may cross a kink: no shortcut
        out = self.inputs[index + 3] if index + 3 < len(self.inputs) else self.scores
        dense = out[None] + change[:, :, None] * M[cols]
        if exact.any():
            layers = self.net.layers
            W = layers[index].params["W"]
            z = self.inputs[index + 1][None] + change[exact][:, :, None] * W[:, cols[exact]].T[:, None, :]
            hit = _crossings(layers[index + 1], self.inputs[index + 1][None], z, axes=(1, 2))
            a = self._apply(layers[index + 1], z, None)
            dense[exact] = self._apply(layers[index + 2], a, None)
            crossed = crossed.copy()
            crossed[exact] |= hit
        return dense, crossed

    def _apply(self, layer, values, cols):
        """Forward of ``layer`` on stacked values: (K, m) columns or (K, m, n) dense."""
        if isinstance(layer, Dropout):
            mask = layer.frozen_mask
            if mask is None or layer.keep_prob == 1.0:
                return values
            return values * (mask[:, cols].T if cols is not None else mask[None])
        if cols is not None:
            return layer.forward(values, training=True)
        K, m = values.shape[:2]
        if getattr(layer, "rowwise", False):
            return layer.forward(values.reshape(K * m, -1), training=True).reshape(K, m, -1)
        return np.stack([layer.forward(v, training=True) for v in values])

    def _costs(self, block, local, signs):
        """J(θ + sign·ε e_i) − J(θ) as per-example means for each (entry, sign); + crossings."""
        net = self.net
        layer_index = block.layer_index
        layer = net.layers[layer_index]
        steps = signs * self.eps                                   # (K,)
        K = local.size
        if type(layer) is Dense:
            x = self.inputs[layer_index]
            base_out = self.inputs[layer_index + 1] if layer_index + 1 < len(self.inputs) \
                else self.scores
            if block.key == "W":
                rows, cols_in = np.divmod(local, layer.n_in)
                values = base_out[:, rows].T + steps[:, None] * x[:, cols_in].T
            else:
                rows = local
                values = base_out[:, rows].T + steps[:, None]
            losses, crossed = self._propagate(layer_index + 1, rows, values, None, K)
        else:                                                      # any other layer: loop
            flat = self.P[block.start:block.stop]
            x = self.inputs[layer_index]
            before = layer.kinks(x)
            before = None if before is None else np.sign(before)   # a copy, taken before the steps
            outs, own = [], np.zeros(K, dtype=bool)
            for k, (i, step) in enumerate(zip(local, steps)):
                saved = flat[i]
                flat[i] = saved + step
                outs.append(layer.forward(x, training=True))
                if before is not None:      # a parameter may move the kink itself (x − t)
                    own[k] = np.any(np.sign(layer.kinks(x)) != before)
                flat[i] = saved
            losses, crossed = self._propagate(layer_index + 1, None, None, np.stack(outs), K)
            crossed |= own
        data = (losses - self.L0[None]).mean(axis=1)
        penalty = np.broadcast_to(self._penalty_change(block, local, steps), (K,))
        return data + penalty, crossed, penalty

    def _penalty_change(self, block, local, steps):
        """Exact change of the penalty for each single-entry step."""
        net = self.net
        layer = net.layers[block.layer_index]
        if net.penalty is None or (id(layer), block.key) not in self.penalized:
            return 0.0
        w = self.P[block.start:block.stop][local]
        if type(net.penalty) is L2:
            # lambd/(2m)·((w+s)² − w²), without the cancellation of two large sums
            return net.penalty.lambd / (2 * self.m) * (2 * w + steps) * steps
        weights = net._penalty_weights()
        base = net.penalty.forward(weights, self.m)
        flat = self.P[block.start:block.stop]
        changes = []
        for i, step in zip(local, steps):
            saved = flat[i]
            flat[i] = saved + step
            changes.append(net.penalty.forward(weights, self.m) - base)
            flat[i] = saved
        return np.array(changes)

    def _widest(self, index):
        """The widest activation a perturbation of layers[index] materializes for all m rows."""
        layers, after = self.net.layers, self.inputs + [self.scores]
        if type(layers[index]) is not Dense:
            return max(a.shape[1] for a in after[index:])
        first_dense = index + 3                 # column mode until the next Dense's output
        if index + 2 < len(layers) and type(layers[index + 2]) is Dense \
                and self._shortcut(index + 2) is not None:
            first_dense = index + 5             # ... or past the shortcut
        widths = [a.shape[1] for a in after[first_dense:]] + [self.scores.shape[1]]
        if index + 1 < len(layers) and not getattr(layers[index + 1], "elementwise", False):
            widths.append(after[index + 1].shape[1])
        return max(widths, default=1)

    def numeric(self, block, local, bar=None):
        """Numeric dθ for entries ``local`` of ``block``.

        -> (estimates, kink codes 0 none / 1 one-sided / 2 excluded, the penalty's own
        numeric gradient at those entries or None). The last one comes from the penalty's
        forward, not its backward, so a bug in that backward is still recognized.
        """
        chunk = max(1, CHUNK_FLOATS // (2 * self.m * self._widest(block.layer_index)))
        estimate = np.empty(local.size)
        kink = np.zeros(local.size, dtype=np.int8)
        penalty = np.zeros(local.size)
        for start in range(0, local.size, chunk):
            part = local[start:start + chunk]
            k = part.size
            signs = np.concatenate([np.ones(k), -np.ones(k)])
            change, crossed, pen = self._costs(block, np.concatenate([part, part]), signs)
            penalty[start:start + k] = (pen[:k] - pen[k:]) / (2 * self.eps)
            plus, minus = change[:k], change[k:]
            up, down = crossed[:k], crossed[k:]
            value = (plus - minus) / (2 * self.eps)
            value = np.where(up & ~down, -minus / self.eps, value)   # one-sided from below
            value = np.where(down & ~up, plus / self.eps, value)     # one-sided from above
            value = np.where(up & down, np.nan, value)
            estimate[start:start + k] = value
            kink[start:start + k] = np.where(up & down, 2, np.where(up | down, 1, 0))
            if bar is not None:
                bar.update(k)
        # One-sided estimates carry an O(ε) error: the report shows them but keeps them
        # out of the verdict, like the excluded ones.
        layer = self.net.layers[block.layer_index]
        penalized = self.net.penalty is not None and (id(layer), block.key) in self.penalized
        return estimate, kink, penalty if penalized else None

    # ---- screening with random directions ---------------------------------------------
    def screen(self, directions, tol):
        """Directional checks per block; -> names of the blocks that fail."""
        from .report import BlockResult, verdict
        self.screen_results, failing = {}, []
        self.screen_vectors = {}
        for block in self.net.blocks:
            size = block.stop - block.start
            if size <= directions:
                continue                    # checked entry by entry instead
            U = self.rng.standard_normal((directions, size))
            U /= np.linalg.norm(U, axis=1, keepdims=True)
            flat = self.P[block.start:block.stop]
            saved = flat.copy()
            changes, crossed = [], np.zeros(directions, dtype=bool)
            for sign in (1.0, -1.0):
                row = []
                for d in range(directions):
                    flat += sign * self.eps * U[d]
                    J, hit = self._cost_from(block.layer_index)
                    flat[...] = saved                               # bit-exact restore
                    row.append(J - self.J0)
                    crossed[d] |= hit
                changes.append(np.array(row))
            numeric = (changes[0] - changes[1]) / (2 * self.eps)
            analytic = U @ self.G[block.start:block.stop]
            use = ~crossed
            g, n = analytic[use], numeric[use]
            abs_error = float(np.linalg.norm(g - n))
            difference = _difference(g, n)
            floor = self.noise * np.sqrt(max(use.sum(), 1))
            passed = difference < tol or abs_error <= floor
            if not passed or use.sum() == 0:
                failing.append(block.name)
            self.screen_vectors[block.name] = (g, n)
            self.screen_results[block.name] = BlockResult(
                block.name, block.shape, int(use.sum()), size, difference, abs_error, float(floor),
                bool(passed), "round-off" if passed and difference >= tol else verdict(difference),
                int(crossed.sum()), how="directions")
        return failing

    def _cost_from(self, start):
        """J at the current self.P, reusing the cached inputs of layers before ``start``."""
        out = self.inputs[start]
        crossed = False
        for layer, base_in in zip(self.net.layers[start:], self.inputs[start:]):
            crossed |= bool(_crossings(layer, base_in[None], out[None], axes=(1, 2))[0])
            out = self._apply(layer, out[None], None)[0]
        J = self.net.loss.forward(out, self.y)
        if self.net.penalty is not None:
            J += self.net.penalty.forward(self.net._penalty_weights(), self.m)
        return J, crossed


def _crossings(layer, base, new, axes):
    """(K,) bool: did perturbation k move any input of ``layer`` across a kink?"""
    before = layer.kinks(base)
    if before is None:
        return np.zeros(new.shape[0], dtype=bool)
    after = layer.kinks(new)
    return (np.sign(after) != np.sign(before)).any(axis=axes)
