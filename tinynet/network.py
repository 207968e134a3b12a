"""Network: a stack of layers whose parameters live in ONE flat vector.

``net.params`` is the course's θ and ``net.grads`` its dθ: every layer's arrays
are views into these two buffers, laid out layer by layer, ``W`` then ``b``, in
C order (element for element the course's ``dictionary_to_vector`` and PyTorch's
``parameters_to_vector``). Writing into ``net.params`` changes the model; an
optimizer updates the whole model with one vectorized step.
"""

import weakref
from dataclasses import dataclass

import numpy as np

from .layers import Activation, Layer, drawing_initial_values, require_init
from .validation import check_X


@dataclass(frozen=True)
class Block:
    """One parameter array inside the flat vector: ``params[start:stop]`` reshaped to ``shape``."""
    name: str          # course-style name: W1, b1, gamma3, ...
    layer_index: int   # position of the layer in net.layers
    key: str           # the layer's own name for it: "W", "b", "gamma"
    start: int
    stop: int
    shape: tuple


class Network:
    """A feed-forward network.

    layers: list of Layer; loss: a loss object (``SoftmaxCrossEntropy()``, ...);
    penalty: None or ``L2(lambd)``; seed: int or None, for the network's
    ``numpy.random.Generator`` (initial weights, dropout masks, shuffling);
    dtype: np.float64 (default) or np.float32.

    ``trained_on``: the name of the data the model was trained on (a str, or None); ``save``
    records it and the command line's ``gradcheck`` checks on that data by default.
    """

    trained_on = None

    def __init__(self, layers, loss, penalty=None, seed=None, dtype=np.float64):
        _check_layers(layers)
        _check_loss(loss)
        if isinstance(penalty, type):
            raise TypeError(f"penalty must be an instance such as {penalty.__name__}(...), "
                            "not the class")
        if penalty is not None and not (hasattr(penalty, "forward") and hasattr(penalty, "backward")):
            raise TypeError(f"penalty must be None or an object like L2(lambd), got {penalty!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"seed must be None or an int >= 0, got {seed!r}")
        try:
            np.dtype(dtype)
        except TypeError:  # numpy's "data type 'x' not understood" names neither argument nor choices
            raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}") from None
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be np.float32 or np.float64, got {np.dtype(dtype)}")
        self.n_inputs, self.n_outputs = _check_sizes(layers)

        self.layers = layers
        self.loss = loss
        self.penalty = penalty
        self.seed = seed
        self.dtype = np.dtype(dtype)

        # One seed sequence, one independent child generator per layer.
        children = np.random.SeedSequence(seed).spawn(len(layers) + 1)
        self.rng = np.random.default_rng(children[0])
        for layer, child in zip(layers, children[1:]):
            layer._network = weakref.ref(self)    # one network per layer object, see _check_layers
            layer.rng = np.random.default_rng(child)
            if drawing_initial_values():  # not while tn.load builds a model it overwrites
                layer.reset_parameters(layer.rng)
            for name, array in layer.buffers.items():   # buffers follow the network's dtype
                layer.buffers._bind(name, array.astype(self.dtype))

        self.blocks = _make_blocks(layers)
        size = self.blocks[-1].stop if self.blocks else 0
        self._params = np.empty(size, dtype=self.dtype)
        for block in self.blocks:
            self.params[block.start:block.stop] = self._layer_array(block, "params").ravel()
        self._grads = np.zeros(size, dtype=self.dtype)
        self._bind(self.params, self.grads)

        self._penalized = [(layer, key) for layer in layers for key in layer.penalized]
        # Built-in layers assign their gradients; only a custom backward may accumulate.
        self._zero_grads = any(type(layer).backward.__module__ != Layer.__module__
                               for layer in layers if layer.params)
        # Backprop stops at the first layer with parameters: nothing before it needs a gradient.
        with_params = [i for i, layer in enumerate(layers) if layer.params]
        self._first_param_layer = with_params[0] if with_params else len(layers)
        for i, layer in enumerate(layers):
            if hasattr(layer, "need_input_grad"):
                layer.need_input_grad = i > self._first_param_layer
        # None, or {"out": {}, "grad": {}} while an ActivationMonitor samples a step: the forward
        # pass then files each layer's output under its index, backprop the gradient reaching it.
        self._tap = None

    # ---- the flat buffers -------------------------------------------------------------
    # Assigning ``net.params = theta`` copies theta in: rebinding the attribute would
    # silently detach the layers, which keep seeing views of the original buffer.
    @property
    def params(self):
        return self._params

    @params.setter
    def params(self, value):
        """Checked like ``set_parameters``: all of it is written, or nothing."""
        self._params[...] = _checked(value, self._params.shape, "net.params", self.dtype)

    @property
    def grads(self):
        return self._grads

    @grads.setter
    def grads(self, value):
        self._grads[...] = _checked(value, self._grads.shape, "net.grads", self.dtype)

    def __setstate__(self, state):
        # A pickle holds each layer's arrays as copies: make them views of the flat buffers again,
        # and the layers' weak references to their network (which pickle leaves out) anew.
        self.__dict__.update(state)
        self._bind(self._params, self._grads)
        for layer in self.layers:
            layer._network = weakref.ref(self)

    def _layer_array(self, block, kind):
        return getattr(self.layers[block.layer_index], kind)[block.key]

    def _bind(self, params, grads):
        """Point every layer's params/grads entries at views of these two flat buffers."""
        for block in self.blocks:
            layer = self.layers[block.layer_index]
            layer.params._bind(block.key, params[block.start:block.stop].reshape(block.shape))
            layer.grads._bind(block.key, grads[block.start:block.stop].reshape(block.shape))

    def parameters(self):
        """{"W1": view, "b1": view, ...}: live views into ``net.params``."""
        return {b.name: self.params[b.start:b.stop].reshape(b.shape) for b in self.blocks}

    def gradients(self):
        """{"W1": view, ...}: live views into ``net.grads`` (filled by the last backward)."""
        return {b.name: self.grads[b.start:b.stop].reshape(b.shape) for b in self.blocks}

    def set_parameters(self, values):
        """Load a course-style dict {"W1": ..., "b1": ...}; biases given as (n, 1) are accepted.

        Every key must be present and every shape right; nothing is written unless all are.
        """
        if not isinstance(values, dict):
            raise TypeError(f"set_parameters expects a dict like {{'W1': ..., 'b1': ...}}, "
                            f"got {type(values).__name__}")
        names = [b.name for b in self.blocks]
        missing = [n for n in names if n not in values]
        unknown = [k for k in values if k not in names]
        if missing or unknown:
            raise KeyError(f"set_parameters: missing {missing}, unknown {unknown}; this network's "
                           f"parameters are {names}")
        staged = [(block, _checked(values[block.name], block.shape, block.name, self.dtype))
                  for block in self.blocks]
        for block, arr in staged:
            self.params[block.start:block.stop] = arr.ravel()

    # ---- forward and backward ---------------------------------------------------------
    def _forward(self, X, training):
        out, tap = X, self._tap
        for i, layer in enumerate(self.layers):
            out = layer.forward(out, training=training)
            if tap is not None:
                tap["out"][i] = out
        return out

    def _targets(self, y, m, X=None):
        """``y`` validated by the loss for ``m`` examples; X (validated) gives the output width
        when the layers do not declare it (activations only, or a custom layer)."""
        n_out = self.n_outputs
        if n_out is None and X is not None:
            n_out = X.shape[1]
            for layer in self.layers:
                n_out = layer.out_features(n_out)
            if n_out is None:  # known only by running the network, on one real example
                n_out = self._forward(X[:1], False).shape[1]
        elif n_out is None:  # callers without X (the checker) run a dummy row
            n_out = self._forward(np.zeros((1, self.n_inputs or 1), self.dtype), False).shape[1]
        return self.loss.targets(y, m, n_out) if hasattr(self.loss, "targets") else np.asarray(y)

    def _check_data(self, X, y):
        X = check_X(X, self.n_inputs, self.dtype)
        return X, self._targets(y, X.shape[0], X)

    def _penalty_weights(self):
        return [layer.params[key] for layer, key in self._penalized]

    def _cost(self, X, y, training=True):
        """Data loss + penalty for validated X, y (no checks)."""
        scores = self._forward(X, training=training)
        self.last_scores = scores  # the training loop reads its running accuracy from these
        J = self.loss.forward(scores, y)
        if self.penalty is not None:
            J += self.penalty.forward(self._penalty_weights(), X.shape[0])
        return float(J)

    def _cost_and_grad(self, X, y):
        """Forward in training mode, then backward into ``self.grads`` (no checks)."""
        J = self._cost(X, y, training=True)
        self._backward(X.shape[0])
        return J

    def _backward(self, m):
        """Backprop from the loss of the last forward pass into ``self.grads`` (m: its rows)."""
        if self._zero_grads:  # so a custom layer that accumulates still gives one gradient
            self.grads.fill(0)
        dout, tap = self.loss.backward(), self._tap
        for i in range(len(self.layers) - 1, self._first_param_layer - 1, -1):
            if tap is not None:
                tap["grad"][i] = dout
            dout = self.layers[i].backward(dout)
        if self.penalty is not None:
            weights = self._penalty_weights()
            for (layer, key), dW in zip(self._penalized, self.penalty.backward(weights, m)):
                g = layer.grads[key]
                np.add(g, dW, out=g)

    def forward(self, X, training=False):
        """X: (m, n_inputs) -> the raw scores (m, n_outputs) of the last layer."""
        return self._forward(check_X(X, self.n_inputs, self.dtype), training)

    def cost(self, X, y):
        """The course's J: mean data loss + penalty, forward in training mode."""
        X, y = self._check_data(X, y)
        return self._cost(X, y)

    def cost_and_grad(self, X, y):
        """-> (J, net.grads): forward and backward; the gradient lands in ``net.grads``."""
        X, y = self._check_data(X, y)
        return self._cost_and_grad(X, y), self.grads

    def _finite_scores(self, X):
        """Inference-mode scores for validated X; a clear error instead of NaN predictions."""
        with np.errstate(over="ignore", invalid="ignore"):
            scores = self._forward(X, False)
        if not np.all(np.isfinite(scores)):
            rows = np.flatnonzero(~np.isfinite(scores).all(axis=tuple(range(1, scores.ndim))))
            raise ValueError(
                f"the network's scores overflowed to inf or NaN for {rows.size} of {X.shape[0]} "
                f"rows of X (first: row {rows[0]}, whose largest |value| is "
                f"{np.abs(X[rows[0]]).max():.3g}); scale the inputs, e.g. with "
                "tinynet.datasets.Standardizer")
        return scores

    def predict_proba(self, X):
        """X: (m, n_inputs) -> class probabilities (m, n_classes), rows summing to 1."""
        self._loss_has("probabilities", "predict_proba", "a classification loss")
        return self.loss.probabilities(self._finite_scores(check_X(X, self.n_inputs, self.dtype)))

    def predict(self, X):
        """X: (m, n_inputs) -> predicted labels (m,) (or values, for MeanSquaredError)."""
        self._loss_has("predict", "predict", "a loss")
        return self.loss.predict(self._finite_scores(check_X(X, self.n_inputs, self.dtype)))

    def score(self, X, y):
        """Accuracy on (X, y) (R² for MeanSquaredError)."""
        self._loss_has("score", "score", "a loss")
        X, y = self._check_data(X, y)
        return self.loss.score(self._finite_scores(X), y)

    def _loss_has(self, method, caller, kind):
        # A custom loss needs only forward and backward; the rest is optional (see the README).
        if not hasattr(self.loss, method):
            raise TypeError(f"{caller} needs {kind} with a {method}(scores, ...) method; "
                            f"{self.loss!r} has none (net.forward(X) gives the raw scores)")

    # ---- delegated to their own modules -----------------------------------------------
    def check_gradients(self, X, y, **options):
        """Compare backprop with two-sided numeric differences; -> GradCheckReport.

        See ``tinynet.checking.check_gradients`` for the options."""
        from .checking import check_gradients
        return check_gradients(self, X, y, **options)

    def fit(self, X, y, epochs=1, **options):
        """Train with mini-batches; -> History. See ``tinynet.training.fit``."""
        from .training import fit
        if "lr" in options:       # Keras-style; the learning rate belongs to the optimizer
            raise TypeError(f"fit has no lr argument: pass optimizer=tn.SGD(lr={options['lr']!r}) "
                            "(or tn.Adam(lr=...), tn.Momentum(lr=...), ...)")
        return fit(self, X, y, epochs=epochs, **options)

    def save(self, path):
        """Write the model to one ``.npz`` file (atomically). Load it with ``tn.load``."""
        from .serialization import save
        save(self, path)

    # ---- PyTorch (see tinynet.interop; torch is imported only when needed) --------------
    def state_dict(self):
        """{"0.weight": W, "0.bias": b, ...}: copies of the parameters and buffers, keyed like
        the equivalent ``torch.nn.Sequential``'s state dict (index = index in ``layers``)."""
        from .interop import state_dict
        return state_dict(self)

    def load_state_dict(self, state):
        """Load a state dict (numpy arrays or torch tensors); wrong keys or shapes raise and
        change nothing."""
        from .interop import load_state_dict
        load_state_dict(self, state)

    def to_torch(self):
        """-> a ``torch.nn.Sequential`` with the same layers, weights and buffers."""
        from .interop import to_torch
        return to_torch(self)

    @classmethod
    def from_torch(cls, module, loss, penalty=None, seed=None, dtype=None):
        """A Network equivalent to the ``torch.nn.Sequential`` ``module`` (Linear, ReLU, Tanh,
        Sigmoid, LeakyReLU, Dropout, BatchNorm1d, LayerNorm, Softmax), its weights and buffers
        copied; ``loss``: a tinynet loss."""
        from .interop import from_torch
        return from_torch(cls, module, loss, penalty=penalty, seed=seed, dtype=dtype)

    # ---- description ------------------------------------------------------------------
    @property
    def n_params(self):
        return self.params.size

    def summary(self):
        """A table of the layers, their parameter names, shapes and counts."""
        by_layer = {}
        for block in self.blocks:
            by_layer.setdefault(block.layer_index, []).append(block)
        rows = []
        for i, layer in enumerate(self.layers):
            blocks = by_layer.get(i, [])
            shapes = ", ".join(f"{b.name} {b.shape}" for b in blocks)
            if layer.buffers:                # state that is not a parameter: not counted
                shapes += "; buffers " + ", ".join(f"{name} {a.shape}"
                                                   for name, a in layer.buffers.items())
            count = sum(b.stop - b.start for b in blocks)
            rows.append((f"{i}", repr(layer), shapes, f"{count:,}" if blocks else ""))
        widths = [max(len(r[k]) for r in rows) for k in range(4)]
        lines = ["Network("]
        for r in rows:
            lines.append(f"  {r[0]:>{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  "
                         f"{r[3]:>{widths[3]}}".rstrip())
        lines.append(f"  loss={self.loss!r}, penalty={self.penalty!r}, dtype={self.dtype.name}")
        lines.append(f"  {self.n_params:,} parameters")
        lines.append(")")
        return "\n".join(lines)

    __repr__ = summary


def _checked(value, shape, name, dtype):
    """``value`` as a finite real array of ``shape`` that fits ``dtype``, or a clear error.

    A 1-D ``shape`` also accepts the course's column (n, 1) or row (1, n).
    """
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a numeric array of shape {shape}: {exc}") from None
    if arr.dtype.kind not in "biuf":  # objects (None), strings, complex numbers
        raise TypeError(f"{name} must be numeric (real numbers), got dtype {arr.dtype}")
    if arr.shape != shape:
        if len(shape) == 1 and arr.shape in ((shape[0], 1), (1, shape[0])):
            arr = arr.reshape(shape)  # the course's column biases
        else:
            raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    largest = float(np.abs(arr).max(initial=0))
    if largest > float(np.finfo(dtype).max):  # the copy would overflow to inf
        raise ValueError(f"{name} has values up to {largest:.3g}, beyond the range of this "
                         f"{np.dtype(dtype).name} network")
    return arr


def _check_layers(layers):
    if not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError(f"layers must be a non-empty list of Layer objects, got {layers!r}")
    seen = set()
    for i, layer in enumerate(layers):
        if isinstance(layer, type) and issubclass(layer, Layer):
            raise TypeError(f"layers[{i}] is the class {layer.__name__}, not an instance: "
                            f"write {layer.__name__}(...)")
        if not isinstance(layer, Layer):
            raise TypeError(f"layers[{i}] must be a tinynet Layer, got {type(layer).__name__} "
                            f"({layer!r})")
        require_init(layer, f"layers[{i}]")
        if id(layer) in seen:
            raise ValueError(f"layers[{i}] ({layer!r}) appears twice in the list; "
                             "create a separate layer object for each position")
        seen.add(id(layer))
        owner = layer.__dict__.get("_network")
        owner = owner() if owner is not None else None
        if owner is not None and any(mine is layer for mine in owner.layers):
            raise ValueError(f"layers[{i}] ({layer!r}) already belongs to another Network: its "
                             "parameters live in that network's buffer, and taking it would "
                             "re-initialize them; create a new layer object for this network")


def _check_loss(loss):
    if isinstance(loss, type):
        raise TypeError(f"loss must be an instance such as {loss.__name__}(), not the class")
    if not (hasattr(loss, "forward") and hasattr(loss, "backward")):
        raise TypeError(f"loss must be a loss object such as SoftmaxCrossEntropy(), got {loss!r}")


def _check_sizes(layers):
    """Walk the widths through the layers; -> (n_inputs, n_outputs), None where unknown."""
    n_inputs = None
    for layer in layers:
        if hasattr(layer, "n_in"):
            n_inputs = layer.n_in
            break
        if not isinstance(layer, Activation):
            break
    width = n_inputs
    for layer in layers:
        width = layer.out_features(width)
    return n_inputs, width


def _make_blocks(layers):
    blocks, offset, number = [], 0, 0
    for i, layer in enumerate(layers):
        if not layer.params:
            continue
        number += 1
        for key, array in layer.params.items():
            size = array.size
            blocks.append(Block(f"{key}{number}", i, key, offset, offset + size, array.shape))
            offset += size
    return blocks
