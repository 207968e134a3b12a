"""Which fast path the engine may take through each layer, and the verification behind it.

The engine (``engine.py``) evaluates J at many perturbed points at once; how it may
push a perturbation through a layer depends on what the layer is:

- dense: an exact built-in ``Dense``: a step in one entry of W changes one output column,
  and a column change of its input becomes a rank-1 update of its output;
- elementwise: output column j depends on input column j only, so a single changed
  column can be pushed through on its own, as a (K, m) array;
- rowwise: every example is treated on its own, so K perturbed batches can be stacked
  into one call of ``forward``;
- featurewise: output column j depends on input column j only, but over the whole batch
  (BatchNorm's own forward): never stacked; a changed column stays a column, and the changed
  columns of many perturbations share one call of ``forward`` when they are different columns;
- piecewise_linear: a ``slopes`` hook gives dA/dZ exactly between kinks at 0 (ReLU), which
  lets Dense → activation → Dense be one precomputed linear map;
- dropout: an exact built-in Dropout, whose mask the checker sets (frozen) or switches off.

Exact built-in layers (``TRUSTED``) keep their paths. Any other layer, subclasses of
built-ins included, earns a path only through a claim (``rowwise``, ``elementwise``,
``slopes``) that is declared together with its own ``forward`` and that holds when tested
against that forward at the base point, the way the path will use it. A claim that fails
means the plain path and a note. None of this costs work per parameter: each test is a few
calls of one layer's forward on the base batch.
"""

import numpy as np

from ..layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from ..normalization import BatchNorm
from ..penalties import L2

TRUSTED = (Dense, ReLU, LeakyReLU, Tanh, Sigmoid, Dropout)
PIECEWISE_LINEAR = (ReLU, LeakyReLU)          # built-ins whose slopes() is exact, kinks at 0
RTOL = 1e-9                                   # agreement required of a verified claim
STACK = 16                                    # copies stacked when testing a claim


class Plan:
    """Per-layer paths for ``net``.

    inputs, outputs: each layer's input and output at the base point; forward(index, x):
    the engine's call of layers[index] (random generators frozen, input protected).
    """

    def __init__(self, net, inputs, outputs, forward, in_place=()):
        layers = net.layers
        self.notes = []
        self.trusted = [type(layer) in TRUSTED for layer in layers]
        self.dense = [type(layer) is Dense for layer in layers]
        self.dropout = [type(layer) is Dropout for layer in layers]
        # A property of BatchNorm's own forward, kept by a subclass that overrides only backward.
        self.featurewise = [isinstance(layer, BatchNorm)
                            and type(layer).forward is BatchNorm.forward for layer in layers]
        self.in_place = [i in in_place for i in range(len(layers))]
        self.elementwise, self.rowwise, self.piecewise_linear = [], [], []
        for i, layer in enumerate(layers):
            if self.trusted[i]:
                self.elementwise.append(not self.dense[i])
                self.rowwise.append(True)
                self.piecewise_linear.append(type(layer) in PIECEWISE_LINEAR)
                continue
            test = _Claims(layer, inputs[i], outputs[i], lambda x, i=i: forward(i, x))
            elementwise = _declared(layer, "elementwise") and not layer.params \
                and self._verified(i, layer, "elementwise = True", test.elementwise)
            rowwise = _declared(layer, "rowwise") \
                and self._verified(i, layer, "rowwise = True", test.rowwise)
            slopes = elementwise and _declared(layer, "slopes") \
                and self._verified(i, layer, "slopes()", test.slopes)
            self.elementwise.append(elementwise)
            self.rowwise.append(rowwise)
            self.piecewise_linear.append(slopes)
        # The L2 term's change for one step is computed exactly, without evaluating it.
        self.exact_l2 = type(net.penalty) is L2

    def _verified(self, index, layer, claim, test):
        problem = test()
        if problem:
            self.notes.append(f"layers[{index}] ({layer!r}) declares {claim}, but {problem}; it "
                              "was checked without that shortcut")
        return not problem


def _declared(layer, claim):
    """Is ``claim`` set (truthy) by the class that defines forward, or by a subclass of it?"""
    value = getattr(layer, claim, None)
    if not value:
        return False
    cls = type(layer)
    forward_owner = next(c for c in cls.__mro__ if "forward" in vars(c))
    claim_owner = next((c for c in cls.__mro__ if claim in vars(c)), None)
    return claim_owner is not None and issubclass(claim_owner, forward_owner)


class _Claims:
    """Tests of one layer's claims against its forward; each returns '' or what went wrong."""

    def __init__(self, layer, x, out, forward):
        self.layer, self.x, self.out, self.forward = layer, x, out, forward
        # A second input close to x and different in every entry (even where x is 0, as
        # after a dead ReLU, where any layer looks row-wise), and a third one that also stays
        # on the same side of every kink at 0, for the slopes.
        rng = np.random.default_rng(0)
        u = rng.uniform(-1, 1, size=x.shape)
        scale = float(np.abs(x).mean()) or 1.0
        self.x2 = x + 1e-3 * (np.abs(x) + scale) * np.where(u < 0, u - 0.1, u + 0.1)
        self.x3 = x + 1e-3 * x * u
        self.rng = rng

    def _run(self, x):
        out = np.asarray(self.forward(x), dtype=np.float64)
        return out

    def rowwise(self):
        """STACK batches stacked into one call give the rows of STACK calls (the fast path
        stacks many), and the first rows alone give the same rows."""
        m = self.x.shape[0]
        batches = [self.x] + [self.x + (self.x2 - self.x) * (j / STACK) for j in range(1, STACK)]
        try:
            stacked = self._run(np.concatenate(batches))
            alone = [self.out] + [self._run(b) for b in batches[1:]]
            first = self._run(self.x[:max(1, m // 2)])
        except Exception as exc:                 # a shape it does not accept
            return f"forward fails on a stacked batch ({type(exc).__name__}: {exc})"
        if stacked.shape[0] != STACK * m or not _close(stacked, np.concatenate(alone)):
            return "batches stacked into one call give different rows than separate calls"
        if not _close(first, self.out[:first.shape[0]]):
            return "the first rows of the batch alone give different rows"
        return ""

    def elementwise(self):
        """Output column j depends on input column j only, for the shapes the column path uses
        (many columns, as rows of a (K, m) array)."""
        n = self.x.shape[1]
        cols = np.concatenate([self.rng.permutation(n) for _ in range(-(-STACK // n) + 1)])
        try:
            whole = self._run(self.x2)
            columns = self._run(np.ascontiguousarray(self.x2[:, cols].T))
        except Exception as exc:
            return f"forward fails on single columns ({type(exc).__name__}: {exc})"
        if whole.shape != self.x.shape or self.out.shape != self.x.shape:
            return "its output is not shaped like its input"
        if not _close(columns, whole[:, cols].T):
            return "a column pushed through on its own gives a different result"
        return ""

    def slopes(self):
        """forward is linear with slopes(x) between kinks at 0: exact, not a derivative."""
        layer, x = self.layer, self.x
        try:
            kinks = layer.kinks(x)
            S = np.asarray(layer.slopes(x), dtype=np.float64)
        except Exception as exc:
            return f"slopes or kinks fails ({type(exc).__name__}: {exc})"
        if kinks is None or np.shape(kinks) != x.shape or not np.array_equal(kinks, x):
            return "its kinks(x) is not x (kinks at 0), which the shortcut assumes"
        if S.shape != x.shape:
            return f"slopes(x) has shape {S.shape}, not the input's {x.shape}"
        change = self._run(self.x3) - self.out
        predicted = S * (self.x3 - x)
        if not _close(change, predicted, scale=np.abs(self.out) + np.abs(predicted)):
            return "forward(x + d) - forward(x) differs from slopes(x) * d"
        return ""


def _close(a, b, scale=None):
    """Equal up to round-off: |a - b| <= RTOL·(|a| + |b|), plus a little absolute slack."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = np.abs(a) + np.abs(b) if scale is None else scale
    slack = RTOL * (scale + 1e-3 * float(np.max(scale, initial=0.0)) + 1e-300)
    return bool(np.all(np.abs(a - b) <= slack) and np.array_equal(np.isfinite(a), np.isfinite(b)))
