"""Layers: each one's forward sits right above its backward.

Conventions (see the README): examples are rows, so a layer sees ``x`` of shape
``(m, n_in)`` and returns ``(m, n_out)``. A layer's ``backward(dout)`` receives
``dJ/dout`` (already divided by ``m`` by the loss), **assigns** the gradients of
its own parameters into ``self.grads`` and returns ``dJ/dx``. Layers never divide
by ``m``.
"""

import contextlib
import contextvars

import numpy as np

from . import initializers
from .validation import check_seed, finite_float, positive_int


# False while tn.load builds a network whose parameters the file is about to overwrite.
_draw_initial_values = contextvars.ContextVar("draw_initial_values", default=True)


@contextlib.contextmanager
def initial_draws_skipped():
    """Inside, Dense and Network leave parameters at zero instead of drawing initial values."""
    token = _draw_initial_values.set(False)
    try:
        yield
    finally:
        _draw_initial_values.reset(token)


def drawing_initial_values():
    """False inside ``initial_draws_skipped()``."""
    return _draw_initial_values.get()


class ParamDict(dict):
    """The ``params`` / ``grads`` / ``buffers`` dictionary of a layer.

    Once a layer sits in a Network its arrays are views into the network's flat
    buffers. Assigning a new array to an existing name (``self.grads["W"] = g``)
    therefore copies ``g`` *into* the view instead of replacing it, so a gradient
    written that way is never silently lost. New names are added with
    ``Layer.add_param``.
    """

    def __init__(self, owner, kind, register="add_param"):
        super().__init__()
        self._owner = owner
        self._kind = kind
        self._register = register

    def __setitem__(self, name, value):
        if name not in self:
            raise KeyError(
                f"{self._owner}.{self._kind} has no entry {name!r}; register it with "
                f"self.{self._register}({name!r}, initial_value) in __init__")
        target = dict.__getitem__(self, name)
        if value is target:  # the result of an in-place op such as grads["W"] += g
            return
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(
                f"{self._owner}.{self._kind}[{name!r}] must have shape {target.shape}, "
                f"got an array of shape {value.shape}")
        np.copyto(target, value, casting="same_kind")

    def _bind(self, name, array):
        """Replace the array behind ``name`` (used when a Network takes the layer in)."""
        dict.__setitem__(self, name, array)

    def __reduce__(self):
        # pickle would restore the entries through __setitem__ before _owner exists
        return _rebuild_param_dict, (self._owner, self._kind, self._register, dict(self))


def _rebuild_param_dict(owner, kind, register, entries):
    params = ParamDict(owner, kind, register)
    for name, array in entries.items():
        params._bind(name, array)
    return params


def require_init(layer, where):
    """A clear TypeError when a Layer subclass's __init__ skipped super().__init__()."""
    if not hasattr(layer, "_params"):
        raise TypeError(f"{where} ({type(layer).__name__}) did not call super().__init__() "
                        "in its __init__")


class Layer:
    """Base class for every layer, built-in or custom.

    A subclass registers its parameters with ``add_param`` in ``__init__`` and
    implements ``forward(x, training=False)`` and ``backward(dout)``. State that is not a
    parameter (running statistics: not in θ, no gradient) is registered with ``add_buffer``;
    it is saved with the model and restored after every gradient check. Optional hooks:

    - ``kinks(x)``: where forward is not differentiable (see ``ReLU.kinks``); the
      gradient checker uses it to tell a kink from a bug.
    - ``slopes(x)``: for a piecewise-linear element-wise layer, dA/dZ between kinks; lets
      the checker propagate a perturbation through the layer as an exact linear map.
    - ``rowwise``: True when forward treats each example on its own (see below).
    - ``elementwise``: True when output[i, j] depends on input[i, j] alone.
    - ``penalized``: names of the parameters the L2 penalty applies to.
    - ``out_features(n_in)``: the output width for an input width, to validate a
      Network's layer sizes; return None when it cannot be known.
    - ``reset_parameters(rng)``: draw fresh initial values from the network's generator.
    - ``get_config()``: constructor arguments as a JSON-able dict, for ``save``/``load``.

    ``rowwise``, ``elementwise`` and ``slopes`` are claims about ``forward`` that let the
    gradient checker take faster paths. A subclass that writes its own ``forward`` does not
    inherit them (its ``rowwise`` and ``elementwise`` are reset to False unless it sets them
    itself), and the checker verifies every claim against ``forward`` before using it.
    """

    penalized = ()
    # True when forward treats every row (example) on its own, so the gradient checker
    # may stack many perturbed batches into one call. Leave False for layers that mix
    # examples (batch normalization) or are unsure.
    rowwise = False
    elementwise = False

    def __init_subclass__(cls, **kwargs):
        # The claims describe forward: a new forward starts without them.
        super().__init_subclass__(**kwargs)
        if "forward" in vars(cls):
            for claim in ("rowwise", "elementwise"):
                if claim not in vars(cls):
                    setattr(cls, claim, False)

    def __init__(self):
        self._params = ParamDict(self, "params")
        self._grads = ParamDict(self, "grads")
        self._buffers = ParamDict(self, "buffers", register="add_buffer")
        self.rng = np.random.default_rng()

    # params / grads are read-only attributes: rebinding them would detach the
    # layer from the network's flat buffers.
    @property
    def params(self):
        return self._params

    @params.setter
    def params(self, value):
        raise AttributeError(
            f"{type(self).__name__}.params cannot be replaced; write into it instead: "
            "self.params[name][...] = value")

    @property
    def grads(self):
        return self._grads

    @grads.setter
    def grads(self, value):
        raise AttributeError(
            f"{type(self).__name__}.grads cannot be replaced; write into it instead: "
            "self.grads[name][...] = value")

    @property
    def buffers(self):
        return self._buffers

    @buffers.setter
    def buffers(self, value):
        raise AttributeError(
            f"{type(self).__name__}.buffers cannot be replaced; write into it instead: "
            "self.buffers[name] = value")

    def add_param(self, name, value):
        """Register a parameter array ``name`` with its initial ``value``; its gradient starts at 0."""
        array = self._new_array("add_param", "parameter", name, value)
        self._params._bind(name, array)
        self._grads._bind(name, np.zeros_like(array))
        return array

    def add_buffer(self, name, value):
        """Register state that is not a parameter (a running mean): ``self.buffers[name]``.

        Not in θ and without a gradient; saved and loaded with the model and restored bit
        for bit after every gradient check. Assigning ``self.buffers[name] = new`` copies
        ``new`` into the registered array (same shape).
        """
        array = self._new_array("add_buffer", "buffer", name, value)
        self._buffers._bind(name, array)
        return array

    def _new_array(self, method, kind, name, value):
        """A float64 copy of ``value`` for a new parameter or buffer ``name``, or a clear error."""
        if not hasattr(self, "_params"):
            raise TypeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                            f"before {method}")
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{kind} name must be an identifier string, got {name!r}")
        if name in self._params or name in self._buffers:
            raise ValueError(f"{type(self).__name__} already has a parameter or buffer {name!r}")
        array = np.array(value, dtype=np.float64)
        if array.ndim == 0:
            array = array.reshape(1)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"initial value of {kind} {name!r} contains NaN or inf")
        return array

    def __getstate__(self):
        # A weak reference cannot be pickled; the network's __setstate__ sets it again.
        state = self.__dict__.copy()
        state.pop("_network", None)
        return state

    def forward(self, x, training=False):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x, training=False)")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__} must implement backward(dout)")

    def kinks(self, x):
        """Return an array shaped like ``x`` whose sign tells which side of a kink each
        entry is on (zero exactly at one), or None for a smooth layer."""
        return None

    def out_features(self, n_in):
        return None

    def reset_parameters(self, rng):
        pass

    def get_config(self):
        return {}

    @property
    def n_params(self):
        return sum(p.size for p in self._params.values())

    def __repr__(self):
        config = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({config})"


def _check_input(layer, x, n_in):
    if x.ndim != 2 or x.shape[1] != n_in:
        got = f"{x.shape[1]} features" if x.ndim == 2 else f"a {x.ndim}-D array"
        raise ValueError(f"{layer} got input with {got} (x.shape == {x.shape}); "
                         f"expected (m, {n_in})")


class Dense(Layer):
    """Fully connected layer ``Z = X @ W.T + b``.

    W: (n_out, n_in), like the course's ``W[l]`` and PyTorch's ``Linear.weight``; b: (n_out,).
    ``init`` is "he" (default, std sqrt(2/n_in), for ReLU nets), "xavier" (sqrt(1/n_in)),
    "glorot" (sqrt(2/(n_in+n_out))), "zeros", "normal" (std ``scale``, default 0.01) or a
    callable ``f(shape, rng) -> array``; ``scale`` is refused with any other init, which
    would ignore it. Biases start at zero. ``seed``: None draws W from the Network's
    generator (``Network(seed=...)``); an int draws it from its own generator, also inside
    a Network.
    """

    penalized = ("W",)
    rowwise = True

    def __init__(self, n_in, n_out, init="he", scale=None, seed=None):
        super().__init__()
        self.n_in = positive_int(n_in, "n_in")
        self.n_out = positive_int(n_out, "n_out")
        self.init = initializers.validate(init, scale)
        self.scale = initializers.DEFAULT_SCALE if scale is None else float(scale)
        self.seed = check_seed(seed)
        # Needed for every layer but the first one; the Network turns it off there.
        self.need_input_grad = True
        self.add_param("W", np.zeros((self.n_out, self.n_in)))
        self.add_param("b", np.zeros(self.n_out))
        if drawing_initial_values():
            self.reset_parameters(np.random.default_rng(self.seed))

    def reset_parameters(self, rng):
        """Draw W (from its own seed, if it was given one) and zero b."""
        if self.seed is not None:
            rng = np.random.default_rng(self.seed)
        self.params["W"] = initializers.draw(self.init, (self.n_out, self.n_in), rng, self.scale)
        self.params["b"][...] = 0.0

    def forward(self, x, training=False):
        """x: (m, n_in) -> Z: (m, n_out)."""
        _check_input(self, x, self.n_in)
        self.x = x
        out = x @ self.params["W"].T
        out += self.params["b"]
        return out

    def backward(self, dout):
        """dout = dZ: (m, n_out) -> dX: (m, n_in)."""
        # dW = dZᵀ X, db = Σ_rows dZ, dX = dZ W
        np.matmul(dout.T, self.x, out=self.grads["W"])
        np.add.reduce(dout, axis=0, out=self.grads["b"])
        if self.need_input_grad:
            return dout @ self.params["W"]
        return None

    def out_features(self, n_in):
        if n_in is not None and n_in != self.n_in:
            raise ValueError(f"{self} expects {self.n_in} input features but the layer "
                             f"before it produces {n_in}")
        return self.n_out

    def get_config(self):
        config = {"n_in": self.n_in, "n_out": self.n_out}
        if isinstance(self.init, str):
            config["init"] = self.init
            if self.init == "normal":
                config["scale"] = self.scale
        if self.seed is not None:
            config["seed"] = self.seed
        return config

    def __repr__(self):
        return f"Dense({self.n_in} -> {self.n_out})"


class Activation(Layer):
    """An element-wise layer without parameters: output shape = input shape."""

    elementwise = True
    rowwise = True

    def out_features(self, n_in):
        return n_in


class ReLU(Activation):
    """A = max(Z, 0)."""

    elementwise = rowwise = True

    def forward(self, x, training=False):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        # dZ = dA * 1[Z > 0]  (the derivative at exactly 0 is taken as 0)
        return dout * (self.x > 0)

    def kinks(self, x):
        return x

    def slopes(self, x):
        """dA/dZ at x, exact between kinks: this layer is linear on each side of 0."""
        return (x > 0).astype(x.dtype)


class LeakyReLU(Activation):
    """A = Z if Z > 0 else alpha·Z."""

    elementwise = rowwise = True

    def __init__(self, alpha=0.01):
        super().__init__()
        alpha = finite_float(alpha, "alpha")
        if not 0 <= alpha < 1:
            raise ValueError(f"LeakyReLU alpha must be in [0, 1), got {alpha}")
        self.alpha = alpha

    def forward(self, x, training=False):
        self.x = x
        return np.where(x > 0, x, self.alpha * x)

    def backward(self, dout):
        # dZ = dA * (1 if Z > 0 else alpha)
        return dout * self.slopes(self.x)

    def kinks(self, x):
        return x

    def slopes(self, x):
        """dA/dZ at x, exact between kinks: this layer is linear on each side of 0."""
        return np.where(x > 0, 1.0, self.alpha).astype(x.dtype, copy=False)

    def get_config(self):
        return {"alpha": self.alpha}


class Tanh(Activation):
    """A = tanh(Z)."""

    elementwise = rowwise = True

    def forward(self, x, training=False):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        # dZ = dA * (1 - A²), in one temporary
        dz = np.square(self.out)
        np.subtract(1, dz, out=dz)
        return np.multiply(dz, dout, out=dz)


def sigmoid(z):
    """1 / (1 + e^-z) without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Activation):
    """A = 1 / (1 + e^-Z), computed without overflow for large |Z|."""

    elementwise = rowwise = True

    def forward(self, x, training=False):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        # dZ = dA * A (1 - A), in one temporary
        dz = np.subtract(1, self.out)
        dz *= self.out
        return np.multiply(dz, dout, out=dz)


class Softmax(Layer):
    """Rows of probabilities: A[i, j] = e^Z[i, j] / Σ_k e^Z[i, k].

    For learners who write softmax and cross-entropy as separate steps; a network that
    ends in raw scores and ``SoftmaxCrossEntropy`` (the fused, default way) is faster and
    more accurate. Mixes the features of a row, so it is not element-wise; it is row-wise.
    """

    rowwise = True

    def forward(self, x, training=False):
        """x: (m, n) -> (m, n), each row summing to 1."""
        e = np.exp(x - x.max(axis=-1, keepdims=True))  # the shift changes nothing but overflow
        self.out = e / e.sum(axis=-1, keepdims=True)
        return self.out

    def backward(self, dout):
        # dZ = A ⊙ (dA − Σ_j dA_j A_j)   (the Jacobian diag(A) − A Aᵀ applied to each row)
        s = self.out
        return s * (dout - (dout * s).sum(axis=-1, keepdims=True))

    def out_features(self, n_in):
        return n_in


class Dropout(Activation):
    """Inverted dropout: keep each unit with probability ``keep_prob`` and scale the
    kept ones by 1/keep_prob while training; the identity at inference.

    The mask is drawn from ``self.rng``, a child of the network's generator.
    """

    elementwise = rowwise = True     # per entry, given the mask (the checker handles the mask)

    def __init__(self, keep_prob=0.5, *, p=None):
        if p is not None:      # PyTorch's argument: the probability to drop, not to keep
            raise TypeError(f"Dropout takes keep_prob, the probability to keep a unit (the "
                            f"course's convention), not PyTorch's p = 1 - keep_prob: for "
                            f"p={p!r} write Dropout(keep_prob=1 - {p!r})")
        super().__init__()
        self.keep_prob = _keep_prob(keep_prob)
        self.mask = None
        self.frozen_mask = None  # set by the gradient checker's dropout="frozen"

    def forward(self, x, training=False):
        if not training or self.keep_prob == 1.0:
            self.mask = None
            return x
        if self.frozen_mask is not None:
            self.mask = self.frozen_mask
        else:
            keep = self.rng.random(x.shape) < self.keep_prob
            # integer inputs get a float mask: 1/keep_prob in their dtype would be 0 or inf
            dtype = x.dtype if x.dtype.kind == "f" else np.float64
            self.mask = keep.astype(dtype) / np.asarray(self.keep_prob, dtype=dtype)
        return x * self.mask

    def backward(self, dout):
        # dA_prev = dA * mask / keep_prob  (the mask already holds the 1/keep_prob scale)
        if self.mask is None:
            return dout
        return dout * self.mask

    def get_config(self):
        return {"keep_prob": self.keep_prob}


def _keep_prob(value):
    value = finite_float(value, "keep_prob")
    if not 0 < value <= 1:
        raise ValueError(f"keep_prob must be in (0, 1], got {value}")
    return value
