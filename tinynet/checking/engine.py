"""The evaluation engine: J at many perturbed points θ ± ε e_i at once.

A step in one entry of a Dense layer's W changes a single column of that layer's
output. The engine reuses every activation before the layer (cached at the base
point), pushes only that column through the element-wise layers after it, turns it
into a rank-1 update of the next Dense layer, and evaluates many perturbations at once
as one stacked batch. Through Dense → ReLU → Dense it goes one layer further with an
exact linear map (``_shortcut``). The L2 term's change is computed exactly per entry.
Which of these paths each layer allows is decided in ``plan.py``.
"""

from typing import NamedTuple

import numpy as np

from ..layers import Dropout
from .estimate import combine, round_off
from .plan import Plan

CHUNK_FLOATS = 2_000_000           # memory bound of one stacked evaluation (floats)
SHORTCUT_FLOATS = 20_000_000       # memory bound of the Dense → piecewise-linear → Dense shortcut


class NumericResult(NamedTuple):
    """The numeric side for some entries of one block."""
    estimates: np.ndarray      # (k,) dθ_approx, nan where excluded
    kinks: np.ndarray          # (k,) Kink codes
    penalty: object            # (k,) the penalty's own numeric gradient, or None if not penalized


class Engine:
    """Numeric estimates for ``net`` bound to float64 ``theta``/``dtheta`` (see sandbox.py).

    dropout: "off" (keep_prob forced to 1) or "frozen" (one mask per Dropout layer, drawn
    from ``rng``). Call ``start(X, y)`` once, then ``numeric`` for any entries.
    """

    def __init__(self, net, theta, dtheta, eps, dropout, rng):
        self.net, self.theta, self.dtheta = net, theta, dtheta
        self.eps, self.dropout, self.rng = eps, dropout, rng

    # ---- the base point -------------------------------------------------------------
    def start(self, X, y):
        """Forward once caching every layer's input, then backprop for the analytic dθ."""
        net = self.net
        self.y, self.m = y, X.shape[0]
        self.shortcuts = {}        # layer index -> (M, T) or None, see _shortcut
        self.inputs = []
        out = X
        for layer in net.layers:
            if isinstance(layer, Dropout):
                if self.dropout == "off":
                    layer.keep_prob = 1.0
                elif layer.keep_prob < 1:                      # "frozen": one fixed mask
                    keep = self.rng.random(out.shape) < layer.keep_prob
                    layer.frozen_mask = keep / layer.keep_prob
            self.inputs.append(out)
            out = layer.forward(out, training=True)
        self.scores = out
        self.plan = Plan(net, self.inputs)
        self.base_losses = self._losses(out[None])[0]          # per-example losses at θ
        self.J0 = net._cost_and_grad(X, y)                     # fills dtheta (bound to net.grads)
        # Round-off noise of one numeric estimate: J is a sum of terms of size ~|loss|.
        self.noise = round_off(max(abs(self.J0), float(np.abs(self.base_losses).mean())), self.eps)
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
        plan = self.plan
        crossed = np.zeros(K, dtype=bool)
        index = start
        while index < len(self.net.layers):
            layer, base_in = self.net.layers[index], self.inputs[index]
            if dense is None and plan.dense[index] and self._shortcut(index) is not None:
                dense, crossed = self._through_shortcut(index, cols, col_values, crossed)
                index += 3                                       # Dense, activation, Dense
                continue
            if dense is None and plan.dense[index]:              # rank-1 update of its output
                base_out = self.inputs[index + 1] if index + 1 < len(self.inputs) else self.scores
                change = col_values - base_in[:, cols].T         # (K, m)
                W = layer.params["W"]
                dense = base_out[None] + change[:, :, None] * W[:, cols].T[:, None, :]
            elif dense is None and plan.elementwise[index]:
                base_cols = base_in[:, cols].T
                crossed |= crossings(layer, base_cols, col_values, axes=1)
                col_values = self._apply(index, col_values, cols)
            elif dense is None and plan.featurewise[index]:
                col_values = self._featurewise(index, cols, col_values)
            else:
                if dense is None:                                  # densify the column
                    dense = np.broadcast_to(base_in, (K,) + base_in.shape).copy()
                    dense[np.arange(K), :, cols] = col_values
                crossed |= crossings(layer, base_in[None], dense, axes=(1, 2))
                dense = self._apply(index, dense, None)
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
        layers, plan, result = self.net.layers, self.plan, None
        if index + 2 < len(layers) and plan.dense[index + 2] and plan.piecewise_linear[index + 1]:
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
            hit = crossings(layers[index + 1], self.inputs[index + 1][None], z, axes=(1, 2))
            a = self._apply(index + 1, z, None)
            dense[exact] = self._apply(index + 2, a, None)
            crossed = crossed.copy()
            crossed[exact] |= hit
        return dense, crossed

    def _featurewise(self, index, cols, col_values):
        """Changed columns (K, m) through a layer whose output column j depends on its input
        column j alone, over the whole batch (BatchNorm); -> the output columns (K, m).

        Each call of forward gets the base input with at most one perturbation per column,
        so K perturbations spread over n columns take about K/n calls instead of K.
        """
        layer, base = self.net.layers[index], self.inputs[index]
        order = np.argsort(cols, kind="stable")
        sorted_cols = cols[order]
        first = np.searchsorted(sorted_cols, sorted_cols)      # where each column's run starts
        rounds = np.empty_like(order)
        rounds[order] = np.arange(cols.size) - first           # k is its column's r-th perturbation
        out = np.empty_like(col_values)
        for r in range(rounds.max() + 1 if cols.size else 0):
            ks = np.flatnonzero(rounds == r)
            x = base.copy()
            x[:, cols[ks]] = col_values[ks].T
            out[ks] = layer.forward(x, training=True)[:, cols[ks]].T
        return out

    def _apply(self, index, values, cols):
        """Forward of layers[index] on stacked values: (K, m) columns or (K, m, n) dense."""
        layer = self.net.layers[index]
        if self.plan.dropout[index]:
            mask = layer.frozen_mask
            if mask is None or layer.keep_prob == 1.0:
                return values
            return values * (mask[:, cols].T if cols is not None else mask[None])
        if cols is not None:
            return layer.forward(values, training=True)
        K, m = values.shape[:2]
        if self.plan.rowwise[index]:
            return layer.forward(values.reshape(K * m, -1), training=True).reshape(K, m, -1)
        return np.stack([layer.forward(v, training=True) for v in values])

    def delta_J(self, block, entries, signs):
        """J(θ + sign·ε e_i) − J(θ) as per-example means for each (entry, sign).

        -> (changes (K,), crossed a kink (K,), the penalty's part of the changes (K,)).
        """
        net = self.net
        layer_index = block.layer_index
        layer = net.layers[layer_index]
        steps = signs * self.eps                                   # (K,)
        K = entries.size
        if self.plan.dense[layer_index]:
            x = self.inputs[layer_index]
            base_out = self.inputs[layer_index + 1] if layer_index + 1 < len(self.inputs) \
                else self.scores
            if block.key == "W":
                rows, cols_in = np.divmod(entries, layer.n_in)
                values = base_out[:, rows].T + steps[:, None] * x[:, cols_in].T
            else:
                rows = entries
                values = base_out[:, rows].T + steps[:, None]
            losses, crossed = self._propagate(layer_index + 1, rows, values, None, K)
        else:                                                      # any other layer: loop
            flat = self.theta[block.start:block.stop]
            x = self.inputs[layer_index]
            before = layer.kinks(x)
            before = None if before is None else np.sign(before)   # a copy, taken before the steps
            outs, own = [], np.zeros(K, dtype=bool)
            for k, (i, step) in enumerate(zip(entries, steps)):
                saved = flat[i]
                flat[i] = saved + step
                outs.append(layer.forward(x, training=True))
                if before is not None:      # a parameter may move the kink itself (x − t)
                    own[k] = np.any(np.sign(layer.kinks(x)) != before)
                flat[i] = saved
            losses, crossed = self._propagate(layer_index + 1, None, None, np.stack(outs), K)
            crossed |= own
        data = (losses - self.base_losses[None]).mean(axis=1)
        penalty = np.broadcast_to(self._penalty_change(block, entries, steps), (K,))
        return data + penalty, crossed, penalty

    def _penalty_change(self, block, entries, steps):
        """Exact change of the penalty for each single-entry step."""
        net = self.net
        layer = net.layers[block.layer_index]
        if net.penalty is None or (id(layer), block.key) not in self.penalized:
            return 0.0
        w = self.theta[block.start:block.stop][entries]
        if self.plan.exact_l2:
            # lambd/(2m)·((w+s)² − w²), without the cancellation of two large sums
            return net.penalty.lambd / (2 * self.m) * (2 * w + steps) * steps
        weights = net._penalty_weights()
        base = net.penalty.forward(weights, self.m)
        flat = self.theta[block.start:block.stop]
        changes = []
        for i, step in zip(entries, steps):
            saved = flat[i]
            flat[i] = saved + step
            changes.append(net.penalty.forward(weights, self.m) - base)
            flat[i] = saved
        return np.array(changes)

    def _widest(self, index):
        """The widest activation a perturbation of layers[index] materializes for all m rows."""
        plan, after = self.plan, self.inputs + [self.scores]
        if not plan.dense[index]:
            return max(a.shape[1] for a in after[index:])
        j = index + 1                    # column mode through element- and feature-wise layers
        while j < len(plan.dense) and (plan.elementwise[j] or plan.featurewise[j]):
            j += 1
        if j < len(plan.dense) and not plan.dense[j]:          # densified at layers[j]
            return max(a.shape[1] for a in after[j:])
        first_dense = j + 1              # the next Dense's output (a rank-1 update) on
        if j < len(plan.dense) and self._shortcut(j) is not None:
            first_dense = j + 3          # ... or past the shortcut
        return max([a.shape[1] for a in after[first_dense:]] + [self.scores.shape[1]])

    def numeric(self, block, entries, bar=None):
        """Numeric dθ for ``entries`` (flat indices) of ``block``; -> NumericResult.

        The penalty's numeric gradient comes from its forward, not its backward, so a bug
        in that backward is still recognized.
        """
        chunk = max(1, CHUNK_FLOATS // (2 * self.m * self._widest(block.layer_index)))
        estimates = np.empty(entries.size)
        kinks = np.zeros(entries.size, dtype=np.int8)
        penalty = np.zeros(entries.size)
        layer = self.net.layers[block.layer_index]
        order = np.arange(entries.size)
        if self.plan.dense[block.layer_index] and block.key == "W":
            # column by column of W: the entries of one chunk change many different output
            # columns, which a feature-wise layer (BatchNorm) then takes in few calls
            order = np.argsort(entries % layer.n_in, kind="stable")
        for start in range(0, entries.size, chunk):
            at = order[start:start + chunk]
            part = entries[at]
            k = part.size
            signs = np.concatenate([np.ones(k), -np.ones(k)])
            change, crossed, pen = self.delta_J(block, np.concatenate([part, part]), signs)
            penalty[at] = (pen[:k] - pen[k:]) / (2 * self.eps)
            estimates[at], kinks[at] = combine(
                change[:k], change[k:], crossed[:k], crossed[k:], self.eps)
            if bar is not None:
                bar.update(k)
        penalized = self.net.penalty is not None and (id(layer), block.key) in self.penalized
        return NumericResult(estimates, kinks, penalty if penalized else None)

    def cost_from(self, start):
        """J at the current theta, reusing the cached inputs of layers before ``start``.

        -> (J, whether some layer's input crossed a kink)."""
        out = self.inputs[start]
        crossed = False
        for index in range(start, len(self.net.layers)):
            layer, base_in = self.net.layers[index], self.inputs[index]
            crossed |= bool(crossings(layer, base_in[None], out[None], axes=(1, 2))[0])
            out = self._apply(index, out[None], None)[0]
        J = self.net.loss.forward(out, self.y)
        if self.net.penalty is not None:
            J += self.net.penalty.forward(self.net._penalty_weights(), self.m)
        return J, crossed


def crossings(layer, base, new, axes):
    """(K,) bool: did perturbation k move any input of ``layer`` across a kink?"""
    before = layer.kinks(base)
    if before is None:
        return np.zeros(new.shape[0], dtype=bool)
    after = layer.kinks(new)
    return (np.sign(after) != np.sign(before)).any(axis=axes)
