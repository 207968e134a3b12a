"""Which fast path the engine may take through each layer.

The engine (``engine.py``) evaluates J at many perturbed points at once; how it may
push a perturbation through a layer depends on what the layer is:

- dense: an exact built-in ``Dense``: a step in one entry of W changes one output column,
  and a column change of its input becomes a rank-1 update of its output;
- elementwise: output column j depends on input column j only, so a single changed
  column can be pushed through on its own;
- rowwise: every example is treated on its own, so K perturbed batches can be stacked
  into one call of ``forward``;
- featurewise: output column j depends on input column j only, but over the whole batch
  (BatchNorm): never stacked; a changed column stays a column, and the changed columns of
  many perturbations share one call of ``forward`` when they are different columns;
- piecewise_linear: a ``slopes`` hook gives dA/dZ exactly between kinks (ReLU), which
  lets Dense → activation → Dense be one precomputed linear map;
- dropout: a Dropout layer whose mask the checker sets (frozen) or switches off.
"""

from ..layers import Dense, Dropout
from ..normalization import BatchNorm
from ..penalties import L2


class Plan:
    """Per-layer paths for ``net``; ``inputs``: each layer's input at the base point."""

    def __init__(self, net, inputs):
        layers = net.layers
        self.dense = [type(layer) is Dense for layer in layers]
        self.elementwise = [bool(getattr(layer, "elementwise", False)) and not layer.params
                            for layer in layers]
        self.rowwise = [bool(getattr(layer, "rowwise", False)) for layer in layers]
        # A claim about forward: a subclass that keeps BatchNorm's forward keeps it.
        self.featurewise = [isinstance(layer, BatchNorm) and type(layer).forward is BatchNorm.forward
                            for layer in layers]
        self.dropout = [isinstance(layer, Dropout) for layer in layers]
        self.piecewise_linear = [
            hasattr(layer, "slopes") and not layer.params and layer.kinks(x[:1]) is not None
            for layer, x in zip(layers, inputs)]
        # The L2 term's change for one step is computed exactly, without evaluating it.
        self.exact_l2 = type(net.penalty) is L2
