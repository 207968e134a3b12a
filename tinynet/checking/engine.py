"""The evaluation engine: J at many perturbed points θ ± ε e_i at once.

A step in one entry of a Dense layer's W changes a single column of that layer's
output. The engine reuses every activation before the layer (cached at the base
point), pushes only that column through the element-wise layers after it, turns it
into a rank-1 update of the next Dense layer, and evaluates many perturbations at once
as one stacked batch. Through Dense → ReLU → Dense it goes one layer further with an
exact linear map (``_shortcut``), through Dense → Tanh/Sigmoid → Dense with a short exact
power series (``smooth.py``). The L2 term's change is computed exactly per entry.
Which of these paths each layer allows is decided in ``plan.py``. A block that another
layer reads too (tied weights, ``_find_readers``) takes none of them: each step is written
into θ and the forward pass runs again from the first layer that reads it (``_rerun``).
"""

from contextlib import contextmanager
from typing import NamedTuple

import numpy as np

from ..layers import Dropout
from ..losses import MeanSquaredError, SigmoidCrossEntropy, SoftmaxCrossEntropy
from .estimate import CROSSED, DEFAULT_EPS, judge, kink_code, round_off
from .layer import checked_input_grad, checked_output, nondeterministic
from .plan import Plan, builtin
from .policy import DEFAULT_TOL
from .smooth import TERMS, SmoothShortcut, smooth_kind

# Built-in losses whose ``losses`` accepts a stack (K, m, n_out) of scores directly.
STACKED_LOSSES = (SoftmaxCrossEntropy, SigmoidCrossEntropy, MeanSquaredError)
# Memory bound of one stacked evaluation (floats). Small enough that a chunk's temporaries
# stay in cache and the allocator reuses them: fresh pages for every chunk cost more than
# the arithmetic. Measured on the 784-256-128-10 full check (wall s, ReLU / Tanh / Sigmoid):
# 250,000: 9.7 / 5.6 / 5.1 (ReLU spends 2.2 s in the kernel, mapping fresh pages);
# 500,000: 7.6 / 5.2 / 4.9; 1,000,000: 7.7 / 6.0 / 5.3.
CHUNK_FLOATS = 500_000
SHORTCUT_FLOATS = 20_000_000       # memory bound of the Dense → piecewise-linear → Dense shortcut


class NumericResult(NamedTuple):
    """The numeric side for some entries of one block."""
    estimates: np.ndarray      # (k,) dθ_approx (at a kink: the one-sided slope nearer backprop's)
    kinks: np.ndarray          # (k,) Kink codes
    penalty: object            # (k,) the penalty's own numeric gradient, or None if not penalized
    noise: np.ndarray          # (k,) round-off of each estimate


class LayerError(RuntimeError):
    """A layer's own forward or backward raised during a check; chained to the original."""


@contextmanager
def raised_in(layers, index, method):
    """Turn an exception inside layers[index].method into a LayerError that names the layer."""
    try:
        yield
    except LayerError:
        raise
    except Exception as exc:
        raise LayerError(f"layers[{index}] ({layers[index]!r}): {method} raised "
                         f"{type(exc).__name__}: {exc}") from exc


class Engine:
    """Numeric estimates for ``net`` bound to float64 ``theta``/``dtheta`` (see sandbox.py).

    dropout: "off" (no unit dropped) or "frozen" (one mask per Dropout layer, drawn
    from ``rng``). Call ``start(X, y)`` once, then ``numeric`` for any entries.
    """

    def __init__(self, net, theta, dtheta, eps, dropout, rng, tol=DEFAULT_TOL):
        self.net, self.theta, self.dtheta = net, theta, dtheta
        self.eps, self.dropout, self.rng, self.tol = eps, dropout, rng, tol
        self.eps_excess = DEFAULT_EPS / eps
        self.notes = []
        # Every layer's generator is put back to this state before each call of its forward:
        # a layer that draws from self.rng (a custom dropout) is the same function every time.
        self.frozen = [layer.rng.bit_generator.state for layer in net.layers]
        self.plan = None

    def _call(self, index, x):
        """layers[index].forward(x, training=True) with its generator frozen, x protected."""
        layer = self.net.layers[index]
        if self.plan is None or not self.plan.trusted[index]:
            layer.rng.bit_generator.state = self.frozen[index]
            if self.plan is None or self.plan.in_place[index]:
                x = x.copy()
        with raised_in(self.net.layers, index, "forward"):
            return layer.forward(x, training=True)

    # ---- the base point -------------------------------------------------------------
    def start(self, X, y):
        """Forward once caching every layer's input, then backprop for the analytic dθ."""
        net = self.net
        self.y, self.m = y, X.shape[0]
        self.shortcuts = {}        # layer index -> (M, T), a SmoothShortcut or None, see _shortcut
        self.kinks_at_zero = {}    # layer index -> bool, see _crossings
        outputs, in_place = self._forward_once(X)
        self.plan = Plan(net, self.inputs, outputs, self._call, in_place)
        self.notes += self.plan.notes
        self.readers = self._find_readers(outputs)
        losses, magnitude = self._losses(self.scores[None])
        self.base_losses, self.base_magnitude = losses[0], magnitude[0]   # at θ
        for layer, state in zip(net.layers, self.frozen):      # the analytic pass draws the same
            layer.rng.bit_generator.state = state
        self.J0 = self._analytic(X, y)                         # fills dtheta (bound to net.grads)
        if not np.array_equal(net.last_scores, self.scores, equal_nan=True):
            self._name_the_random_layer()
        # Round-off of one estimate, from the magnitudes J is computed from (see _losses).
        self.noise = round_off(max(abs(self.J0), self.base_magnitude), self.eps)
        self.penalized = {(id(layer), key) for layer, key in net._penalized}

    def _forward_once(self, X):
        """The base point: sets the dropout masks, caches every layer's input (self.inputs)
        and the scores; -> (every layer's output, the layers that write into their input)."""
        self.inputs, outputs, in_place = [], [], []
        out = X
        for index, layer in enumerate(self.net.layers):
            if isinstance(layer, Dropout) and layer.keep_prob < 1:
                if self.dropout == "off" and builtin(layer) is None:
                    layer.keep_prob = 1.0                      # its own forward: switched off
                elif self.dropout == "off":   # a mask of ones: a backward using self.mask works
                    layer.frozen_mask = np.ones(out.shape)
                else:                                          # "frozen": one fixed mask
                    keep = self.rng.random(out.shape) < layer.keep_prob
                    layer.frozen_mask = keep / layer.keep_prob
            self.inputs.append(out)
            if builtin(layer) is not None:
                with raised_in(self.net.layers, index, "forward"):
                    result = layer.forward(out, training=True)
            else:                   # on the caller's own array, to see whether it writes into it
                before = out.copy()
                layer.rng.bit_generator.state = self.frozen[index]
                with raised_in(self.net.layers, index, "forward"):
                    result = layer.forward(out, training=True)
                if not np.array_equal(out, before, equal_nan=True):
                    in_place.append(index)
                    # x is cached once per layer that passed it on unchanged (dropout off)
                    self.inputs = [before if np.shares_memory(a, out) and a.shape == out.shape
                                   else a for a in self.inputs]
                    outputs = [before if np.shares_memory(a, out) and a.shape == out.shape
                               else a for a in outputs]
                    self.notes.append(
                        f"layers[{index}] ({layer!r}) writes into its input x inside forward; the "
                        "checker gave it copies, but in a Network that overwrites what the layers "
                        "before it computed (write out = x.copy() first, or use np.where)")
            out = checked_output(f"layers[{index}] ({layer!r})", result, out.shape[0])
            outputs.append(out)
        self.scores = out
        return outputs, in_place

    def _find_readers(self, outputs):
        """{block name: the indices of the layers whose forward reads it}, for the blocks that
        a layer other than their owner reads too (tied weights, a layer that reads another
        layer's params). Each block gets a random perturbation in θ, and every layer that is
        not a built-in (whose forward reads only its own parameters) runs on its cached input:
        a layer whose output changes reads the block. O(layers × blocks) layer calls."""
        net, plan = self.net, self.plan
        suspects = []
        for index in range(len(net.layers)):
            if plan.trusted[index] or plan.featurewise[index]:
                continue
            again = np.asarray(self._call(index, self.inputs[index]), dtype=np.float64)
            if np.array_equal(again, outputs[index], equal_nan=True):  # else: random, see start
                suspects.append(index)
        readers, rng = {}, np.random.default_rng(0)
        for block in net.blocks:
            others = [i for i in suspects if i != block.layer_index]
            if not others:
                continue
            flat = self.theta[block.start:block.stop]
            saved = flat.copy()
            flat += (1 + np.abs(saved)) * rng.standard_normal(saved.shape)
            try:
                found = [i for i in others if not np.array_equal(
                    np.asarray(self._call(i, self.inputs[i]), dtype=np.float64), outputs[i],
                    equal_nan=True)]
            finally:
                flat[...] = saved
            if found:
                readers[block.name] = sorted(found + [block.layer_index])
                names = ", ".join(f"layers[{i}] ({net.layers[i]!r})" for i in found)
                self.notes.append(
                    f"{block.name} (layers[{block.layer_index}].params[{block.key!r}]) is also read "
                    f"by {names}: a shared parameter, checked with each step written into θ and "
                    f"the forward pass run again from layers[{readers[block.name][0]}]")
        # cost_from(i) starts at the first layer that reads any of layers[i]'s blocks
        self.first_reader = {}
        for block in net.blocks:
            if block.name in readers:
                i = block.layer_index
                self.first_reader[i] = min(self.first_reader.get(i, i), readers[block.name][0])
        return readers

    def _analytic(self, X, y):
        """net's own forward and backward; a layer that breaks the protocol is named."""
        try:
            return self.net._cost_and_grad(X, y)
        except Exception:
            self._name_the_broken_backward()
            raise

    def _name_the_broken_backward(self):
        """Re-run the backward pass layer by layer to name a layer that breaks the protocol."""
        net = self.net
        for layer, state in zip(net.layers, self.frozen):
            layer.rng.bit_generator.state = state
        out = self.inputs[0]
        for index, layer in enumerate(net.layers):
            with raised_in(net.layers, index, "forward"):
                out = layer.forward(out, training=True)
        net.loss.forward(out, self.y)
        dout = net.loss.backward()
        for index in reversed(range(net._first_param_layer, len(net.layers))):
            layer, x = net.layers[index], self.inputs[index]
            with raised_in(net.layers, index, "backward"):
                dx = layer.backward(dout)
            if index > net._first_param_layer:
                dout = checked_input_grad(f"layers[{index}] ({layer!r})", dx, x.shape)

    def _name_the_random_layer(self):
        """Two forward passes disagreed: find the first layer whose output changed."""
        for index, layer in enumerate(self.net.layers):
            after = self.inputs[index + 1] if index + 1 < len(self.inputs) else self.scores
            again = np.asarray(self._call(index, self.inputs[index]), dtype=np.float64)
            if not np.array_equal(again, after, equal_nan=True):
                raise RuntimeError(nondeterministic(f"layers[{index}] ({layer!r})"))
        raise RuntimeError("two forward passes at the same θ gave different scores: something in "
                           "the network or its loss is not deterministic")

    # ---- evaluating J at many perturbed points at once --------------------------------
    def _losses(self, scores):
        """scores: (K, m, n_out) for K perturbed networks -> (per-example losses (K, m),
        magnitude (K,)).

        magnitude: the mean over the examples of the terms each loss is computed from, so
        that u·magnitude is its round-off: the scores and the loss itself (log-sum-exp is
        about max |s|); for MeanSquaredError, 2|s − y|·(|s| + |y|), since the residual s − y
        cancels. Not |J|: training drives J towards 0, but not the scores. A step changes
        the scores by O(ε), so their magnitude is the base point's, except for the MSE
        residual, which an exact fit makes O(ε) itself.
        """
        loss, K, m = self.net.loss, scores.shape[0], scores.shape[1]
        if type(loss) in STACKED_LOSSES:    # takes the stack as it is, whatever its layout
            losses = loss.losses(scores, self.y)
        elif hasattr(loss, "losses"):
            y = self.y
            tiled = np.broadcast_to(y, (K,) + y.shape).reshape((K * m,) + y.shape[1:])
            losses = loss.losses(scores.reshape(K * m, -1), tiled).reshape(K, m)
        else:   # a custom loss with only forward(): its mean, spread evenly over the examples
            losses = np.array([[loss.forward(s, self.y)] * m for s in scores])
        if isinstance(loss, MeanSquaredError):
            y = self.y.reshape(m, -1)
            terms = 2 * np.abs(scores - y) * (np.abs(scores) + np.abs(y))
        elif hasattr(self, "base_magnitude"):
            return losses, np.broadcast_to(self.base_magnitude, (K,))
        else:
            terms = np.abs(scores)
        magnitude = terms.sum(axis=2).mean(axis=1) + np.abs(losses).mean(axis=1)
        return losses, magnitude

    def _propagate(self, start, cols, col_values, dense, K):
        """Run perturbed activations through layers[start:].

        -> (losses (K, m), their magnitude (K,) (see _losses), kink codes (K,)).

        Either column mode (``cols`` (K,) and ``col_values`` (K, m): perturbation k changed
        only column cols[k] of layers[start]'s input) or dense mode (``dense`` (K, m, n)).
        """
        plan = self.plan
        crossed = np.zeros(K, dtype=np.uint8)
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
                crossed |= self._crossings(index, base_cols, col_values, axes=1)
                col_values = self._apply(index, col_values, cols)
            elif dense is None and plan.featurewise[index]:
                col_values = self._featurewise(index, cols, col_values)
            else:
                if dense is None:                                  # densify the column
                    dense = np.broadcast_to(base_in, (K,) + base_in.shape).copy()
                    dense[np.arange(K), :, cols] = col_values
                crossed |= self._crossings(index, base_in[None], dense, axes=(1, 2))
                dense = self._apply(index, dense, None)
            index += 1
        if dense is None:                                          # the last layer was element-wise
            dense = np.broadcast_to(self.scores, (K,) + self.scores.shape).copy()
            dense[np.arange(K), :, cols] = col_values
        losses, magnitude = self._losses(dense)
        return losses, magnitude, crossed

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
        smooth = smooth_kind(layers[index + 1]) if index + 2 < len(layers) else None
        if smooth is not None and plan.dense[index + 2]:         # tanh, sigmoid: see smooth.py
            W, W_next = layers[index].params["W"], layers[index + 2].params["W"]
            m = self.inputs[index].shape[0]
            out = self.inputs[index + 3] if index + 3 < len(self.inputs) else self.scores
            if W.shape[1] * m * W_next.shape[0] * TERMS <= SHORTCUT_FLOATS:
                result = SmoothShortcut(smooth, self.inputs[index + 2], W, W_next, out,
                                        CHUNK_FLOATS)
        elif index + 2 < len(layers) and plan.dense[index + 2] and plan.piecewise_linear[index + 1]:
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
        shortcut = self._shortcut(index)
        base_in = self.inputs[index]
        change = col_values - base_in[:, cols].T                      # (K, m)
        out = self.inputs[index + 3] if index + 3 < len(self.inputs) else self.scores
        if isinstance(shortcut, SmoothShortcut):
            dense, exact = shortcut.outputs(change, cols)              # exact: beyond the series
        else:
            M, T = shortcut
            exact = (np.abs(change) >= T[cols]).any(axis=1)            # may cross a kink: no shortcut
            dense = out[None] + change[:, :, None] * M[cols]
        if exact.any():
            layers = self.net.layers
            W = layers[index].params["W"]
            z = self.inputs[index + 1][None] + change[exact][:, :, None] * W[:, cols[exact]].T[:, None, :]
            hit = self._crossings(index + 1, self.inputs[index + 1][None], z, axes=(1, 2))
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
        base = self.inputs[index]
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
            out[ks] = self._call(index, x)[:, cols[ks]].T
        return out

    def _apply(self, index, values, cols):
        """Forward of layers[index] on stacked values: (K, m) columns or (K, m, n) dense."""
        layer = self.net.layers[index]
        if self.plan.dropout[index]:
            mask = layer.frozen_mask
            if mask is None or layer.keep_prob == 1.0 or self.dropout == "off":
                return values
            return values * (mask[:, cols].T if cols is not None else mask[None])
        if cols is not None:
            return self._call(index, values)
        K, m = values.shape[:2]
        if self.plan.rowwise[index]:
            return self._call(index, values.reshape(K * m, -1)).reshape(K, m, -1)
        return np.stack([self._call(index, v) for v in values])

    def delta_J(self, block, entries, signs):
        """J(θ + sign·ε e_i) − J(θ) as per-example means for each (entry, sign).

        -> (changes (K,), kink codes (K,) (estimate.kink_code), the penalty's part of the changes
        (K,), the magnitude of the perturbed losses (K,), see _losses).
        """
        net = self.net
        layer_index = block.layer_index
        layer = net.layers[layer_index]
        steps = signs * self.eps                                   # (K,)
        K = entries.size
        if block.name in self.readers:                             # shared: no shortcut
            losses, magnitude, crossed = self._rerun(block, entries, steps)
        elif self.plan.dense[layer_index]:
            x = self.inputs[layer_index]
            base_out = self.inputs[layer_index + 1] if layer_index + 1 < len(self.inputs) \
                else self.scores
            if block.key == "W":
                rows, cols_in = np.divmod(entries, layer.n_in)
                values = base_out[:, rows].T + steps[:, None] * x[:, cols_in].T
            else:
                rows = entries
                values = base_out[:, rows].T + steps[:, None]
            losses, magnitude, crossed = self._propagate(layer_index + 1, rows, values, None, K)
        else:                                                      # any other layer: loop
            flat = self.theta[block.start:block.stop]
            x = self.inputs[layer_index]
            before = layer.kinks(x)
            before = None if before is None else np.sign(before)   # a copy, taken before the steps
            outs, own = [], np.zeros(K, dtype=np.uint8)
            for k, (i, step) in enumerate(zip(entries, steps)):
                saved = flat[i]
                flat[i] = saved + step
                outs.append(self._call(layer_index, x))
                if before is not None:      # a parameter may move the kink itself (x − t)
                    own[k] = kink_code(before, layer.kinks(x), axes=None)
                flat[i] = saved
            losses, magnitude, crossed = self._propagate(layer_index + 1, None, None,
                                                         np.stack(outs), K)
            crossed |= own
        data = (losses - self.base_losses[None]).mean(axis=1)
        penalty = np.broadcast_to(self._penalty_change(block, entries, steps), (K,))
        return data + penalty, crossed, penalty, magnitude

    def _rerun(self, block, entries, steps):
        """For a block several layers read: each step written into θ (where every reader sees
        it), the forward pass run from the first reader; -> (losses (K, m), magnitude (K,),
        kink codes (K,))."""
        layers, start = self.net.layers, self.readers[block.name][0]
        before = [layers[i].kinks(self.inputs[i]) for i in range(start, len(layers))]
        before = [None if b is None else np.sign(b) for b in before]   # copies, at θ
        flat = self.theta[block.start:block.stop]
        outs, crossed = [], np.zeros(entries.size, dtype=np.uint8)
        for k, (i, step) in enumerate(zip(entries, steps)):
            saved = flat[i]
            flat[i] = saved + step
            try:
                out = self.inputs[start]
                for index in range(start, len(layers)):
                    if before[index - start] is not None:   # its input or its kinks moved
                        crossed[k] |= kink_code(before[index - start], layers[index].kinks(out),
                                                axes=None)
                    out = self._apply(index, out[None], None)[0]
            finally:
                flat[i] = saved
            outs.append(out)
        losses, magnitude = self._losses(np.stack(outs))
        return losses, magnitude, crossed

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

        Kinks are judged against backprop's dθ (``estimate.judge``). With an ε above the
        default, an entry whose step met a kink is estimated again with the default step,
        which crosses far fewer kinks and whose one-sided slopes carry a far smaller O(ε)
        error. The penalty's numeric gradient comes from its forward, not its backward, so a
        bug in that backward is still recognized.
        """
        chunk = max(1, CHUNK_FLOATS // (2 * self.m * self._widest(block.layer_index)))
        analytic = self.dtheta[block.start:block.stop][entries]
        estimates = np.empty(entries.size)
        kinks = np.zeros(entries.size, dtype=np.int8)
        penalty = np.zeros(entries.size)
        noise = np.zeros(entries.size)
        layer = self.net.layers[block.layer_index]
        order = np.arange(entries.size)
        if self.plan.dense[block.layer_index] and block.key == "W":
            # column by column of W: the entries of one chunk change many different output
            # columns, which a feature-wise layer (BatchNorm) then takes in few calls
            order = np.argsort(entries % layer.n_in, kind="stable")
        for start in range(0, entries.size, chunk):
            at = order[start:start + chunk]
            (estimates[at], kinks[at], penalty[at], noise[at],
             met_kink) = self._estimate(block, entries[at], analytic[at], self.eps)
            if self.eps > DEFAULT_EPS and met_kink.any():
                again = at[met_kink]
                estimates[again], kinks[again], _, noise[again], _ = self._estimate(
                    block, entries[again], analytic[again], DEFAULT_EPS)
            if bar is not None:
                bar.update(at.size)
        penalized = self.net.penalty is not None and (id(layer), block.key) in self.penalized
        return NumericResult(estimates, kinks, penalty if penalized else None, noise)

    def _estimate(self, block, entries, analytic, eps):
        """Steps of ±eps; -> (estimates, Kink codes, the penalty's numeric gradient, noise,
        which entries met a kink, declared or judged)."""
        k = entries.size
        signs = np.concatenate([np.ones(k), -np.ones(k)]) * (eps / self.eps)
        change, crossed, pen, magnitude = self.delta_J(block, np.concatenate([entries, entries]),
                                                       signs)
        scale = np.maximum(np.maximum(magnitude[:k], magnitude[k:]), self.base_magnitude)
        noise = round_off(np.maximum(scale, abs(self.J0)), eps)
        estimates, kinks = judge(analytic, change[:k], change[k:], crossed[:k], crossed[k:],
                                 eps, noise, self.tol, again=self._again(block, entries, scale))
        two_sided = (change[:k] - change[k:]) / (2 * eps)
        met_kink = ((crossed[:k] | crossed[k:]) > 0) | (estimates != two_sided)
        return estimates, kinks, (pen[:k] - pen[k:]) / (2 * eps), noise, met_kink

    def _again(self, block, entries, scale):
        """For ``judge``: the changes of J at a smaller step, for suspected kinks only."""
        def again(positions, step):
            k = positions.size
            signs = np.concatenate([np.ones(k), -np.ones(k)]) * (step / self.eps)
            change, crossed, _, _ = self.delta_J(block, np.tile(entries[positions], 2), signs)
            return (change[:k], change[k:], crossed[:k], crossed[k:],
                    round_off(np.maximum(scale[positions], abs(self.J0)), step))
        return again

    def _crossings(self, index, base, new, axes):
        """(K,) uint8 kink codes (estimate.kink_code): what perturbation k did to the kinks of
        layers[index], whose input moved from ``base`` to ``new``."""
        layer = self.net.layers[index]
        before = layer.kinks(base)
        if before is None:
            return np.zeros(new.shape[0], dtype=np.uint8)
        if index not in self.kinks_at_zero:       # does any input sit exactly on a kink at θ?
            self.kinks_at_zero[index] = bool(np.any(layer.kinks(self.inputs[index]) == 0))
        if self.kinks_at_zero[index]:
            return kink_code(before, layer.kinks(new), axes)
        crossed = (np.sign(layer.kinks(new)) != np.sign(before)).any(axis=axes)
        return crossed.astype(np.uint8) * CROSSED

    def cost_from(self, start):
        """J at the current theta, reusing the cached inputs of layers before ``start``.

        -> (J, whether some layer's input crossed a kink)."""
        start = self.first_reader.get(start, start)        # a shared block read earlier
        out = self.inputs[start]
        crossed = False
        for index in range(start, len(self.net.layers)):
            code = self._crossings(index, self.inputs[index][None], out[None], axes=(1, 2))[0]
            crossed |= bool(code & CROSSED)
            out = self._apply(index, out[None], None)[0]
        J = self.net.loss.forward(out, self.y)
        if self.net.penalty is not None:
            J += self.net.penalty.forward(self.net._penalty_weights(), self.m)
        return J, crossed


