"""Optimizers that update the network's flat parameter vector in place.

The network keeps every parameter in one 1-D array ``params`` and every gradient in one
array ``grads`` of the same shape (see docs/ARCHITECTURE.md). An optimizer therefore works on
two flat vectors: ``step(params, grads)`` applies one vectorized update to ``params`` in place, with no
Python loop over parameters. Its state (velocity ``v``, squared-gradient average ``s``) belongs
to the optimizer, is allocated on the first step with the shape and dtype of ``params``, and is
forgotten by ``reset()``.

Learning-rate decay is a small callable ``schedule(lr0, epoch) -> lr`` given as ``decay=``; the
training loop calls ``optimizer.set_epoch(epoch)`` at the start of every epoch.

Formulas follow deeplearning.ai Course 2 (week 2, "Optimization algorithms").
"""

import math
import numbers

import numpy as np

from .validation import positive_float, positive_int

__all__ = [
    "Optimizer", "SGD", "Momentum", "RMSProp", "Adam",
    "InverseTimeDecay", "ScheduledInverseTimeDecay", "StepDecay",
]


# ---------------------------------------------------------------------------- argument checks

def _number(name, value):
    """Return ``value`` as a float, or raise TypeError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def _non_negative(name, value):
    value = _number(name, value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _beta(name, value):
    value = _number(name, value)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def _epoch(epoch):
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
        raise TypeError(f"epoch must be an int, got {type(epoch).__name__} {epoch!r}")
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0 (epochs are 0-based), got {epoch!r}")
    return int(epoch)


# ---------------------------------------------------------------------------- schedules

class _Schedule:
    """Base of the learning-rate schedules: ``schedule(lr0, epoch) -> lr``."""

    _hyper = ()

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyper)
        return f"{type(self).__name__}({args})"


class InverseTimeDecay(_Schedule):
    """``lr = lr0 / (1 + decay_rate * epoch)`` (the course's ``update_lr``)."""

    _hyper = ("decay_rate",)

    def __init__(self, decay_rate):
        self.decay_rate = _non_negative("decay_rate", decay_rate)

    def __call__(self, lr0, epoch):
        return lr0 / (1.0 + self.decay_rate * epoch)


class ScheduledInverseTimeDecay(_Schedule):
    """``lr = lr0 / (1 + decay_rate * floor(epoch / interval))`` (the course's ``schedule_lr_decay``).

    The rate stays constant for ``interval`` epochs, then drops.
    """

    _hyper = ("decay_rate", "interval")

    def __init__(self, decay_rate, interval=1000):
        self.decay_rate = _non_negative("decay_rate", decay_rate)
        self.interval = positive_int(interval, "interval")

    def __call__(self, lr0, epoch):
        return lr0 / (1.0 + self.decay_rate * (epoch // self.interval))


class StepDecay(_Schedule):
    """``lr = lr0 * factor ** floor(epoch / every)``: multiply by ``factor`` every ``every`` epochs."""

    _hyper = ("factor", "every")

    def __init__(self, factor=0.5, every=100):
        self.factor = positive_float(factor, "factor")
        self.every = positive_int(every, "every")

    def __call__(self, lr0, epoch):
        return lr0 * self.factor ** (epoch // self.every)


# ---------------------------------------------------------------------------- optimizers

class Optimizer:
    """Base class: holds the learning rate, its schedule, the step count ``t`` and the state.

    Attributes: ``lr0`` (initial rate), ``lr`` (current rate), ``t`` (steps taken; 1 after the
    first ``step``), ``decay`` (a schedule or None). Subclasses list their hyper-parameters in
    ``_hyper`` (for ``__repr__``) and implement ``_update(params, grads)``.
    """

    _hyper = ()

    def __init__(self, lr, decay=None):
        self.lr0 = positive_float(lr, "lr")
        if decay is not None and not callable(decay):
            raise TypeError(
                "decay must be None or a callable schedule(lr0, epoch) -> lr such as "
                f"InverseTimeDecay(1.0), got {type(decay).__name__} {decay!r}")
        self.decay = decay
        self.reset()

    def reset(self):
        """Forget the state: velocities, step count ``t``, and ``lr`` back to ``lr0``."""
        self.lr = self.lr0
        self.t = 0
        self._state = {}

    def set_epoch(self, epoch):
        """Set ``lr`` from the schedule for ``epoch`` (0-based); without ``decay``, ``lr`` is kept."""
        epoch = _epoch(epoch)
        if self.decay is None:
            return
        lr = self.decay(self.lr0, epoch)
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (
                math.isfinite(lr) and lr > 0):
            raise ValueError(
                f"decay {self.decay!r} must return a positive finite number, "
                f"got {lr!r} for epoch {epoch}")
        self.lr = float(lr)

    def step(self, params, grads):
        """Update ``params`` in place from ``grads`` and increment ``t``.

        params: (n,) float array, the live parameter vector; grads: (n,) array, dJ/dparams.
        Everything is checked before ``params`` or the state change.
        """
        self._check(params, grads)
        self._step_checked(params, grads)

    def _step_checked(self, params, grads):
        """``step`` without the checks, for a training loop that checked the buffers once."""
        self.t += 1
        self._update(params, grads)

    def _check(self, params, grads):
        if not isinstance(params, np.ndarray) or not np.issubdtype(params.dtype, np.floating):
            raise TypeError(
                "params must be a float numpy array (the network's flat parameter vector), "
                f"got {_describe(params)}")
        if not isinstance(grads, np.ndarray):
            raise TypeError(f"grads must be a numpy array, got {_describe(grads)}")
        if grads.shape != params.shape:
            raise ValueError(
                f"grads must have the shape of params {params.shape}, got grads.shape == "
                f"{grads.shape}")
        if not params.flags.writeable:
            raise ValueError("params must be writeable: the optimizer updates it in place")
        for name, buf in self._state.items():
            if buf.shape != params.shape or buf.dtype != params.dtype:
                raise ValueError(
                    f"{type(self).__name__} state {name!r} was made for params of shape "
                    f"{buf.shape} and dtype {buf.dtype}, got {params.shape} {params.dtype}; "
                    "call reset() to use this optimizer on other parameters")

    def _buffer(self, name, params):
        """The state array ``name``: zeros like ``params``, allocated on first use."""
        buf = self._state.get(name)
        if buf is None:
            buf = self._state[name] = np.zeros_like(params)
        return buf

    def _update(self, params, grads):
        raise NotImplementedError(f"{type(self).__name__} must implement _update(params, grads)")

    def __repr__(self):
        args = [f"lr={self.lr0!r}"] + [f"{k}={getattr(self, k)!r}" for k in self._hyper]
        if self.decay is not None:
            args.append(f"decay={self.decay!r}")
        return f"{type(self).__name__}({', '.join(args)})"


def _describe(x):
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__}"


class SGD(Optimizer):
    """Plain gradient descent: ``θ -= lr * dθ``."""

    def __init__(self, lr=0.01, decay=None):
        super().__init__(lr, decay)

    def _update(self, params, grads):
        tmp = self._buffer("tmp", params)
        np.multiply(grads, self.lr, out=tmp)
        np.subtract(params, tmp, out=params)


class Momentum(Optimizer):
    """Gradient descent with momentum, the course form: ``v = β v + (1 − β) dθ``; ``θ -= lr v``.

    With ``beta=0`` this is exactly SGD.
    """

    _hyper = ("beta",)

    def __init__(self, lr=0.01, beta=0.9, decay=None):
        super().__init__(lr, decay)
        self.beta = _beta("beta", beta)

    def _update(self, params, grads):
        v, tmp = self._buffer("v", params), self._buffer("tmp", params)
        v *= self.beta
        np.multiply(grads, 1.0 - self.beta, out=tmp)
        v += tmp
        np.multiply(v, self.lr, out=tmp)
        np.subtract(params, tmp, out=params)


class RMSProp(Optimizer):
    """RMSProp: ``s = β s + (1 − β) dθ²``; ``θ -= lr dθ / (√s + ε)``."""

    _hyper = ("beta", "eps")

    def __init__(self, lr=0.001, beta=0.9, eps=1e-8, decay=None):
        super().__init__(lr, decay)
        self.beta = _beta("beta", beta)
        self.eps = positive_float(eps, "eps")

    def _update(self, params, grads):
        s, tmp = self._buffer("s", params), self._buffer("tmp", params)
        s *= self.beta
        np.square(grads, out=tmp)
        tmp *= 1.0 - self.beta
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(grads, tmp, out=tmp)
        tmp *= self.lr
        np.subtract(params, tmp, out=params)


class Adam(Optimizer):
    """Adam, the course form with bias correction (``t`` counts steps, starting at 1)::

        v = β1 v + (1 − β1) dθ          v̂ = v / (1 − β1^t)
        s = β2 s + (1 − β2) dθ²         ŝ = s / (1 − β2^t)
        θ -= lr v̂ / (√ŝ + ε)

    Bias correction makes the first step about ``lr * sign(dθ)`` whatever the gradient's scale.
    """

    _hyper = ("beta1", "beta2", "eps")

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, decay=None):
        super().__init__(lr, decay)
        self.beta1 = _beta("beta1", beta1)
        self.beta2 = _beta("beta2", beta2)
        self.eps = positive_float(eps, "eps")

    def _update(self, params, grads):
        # The state is kept scaled, V = v / (1 − β1) and S = s / (1 − β2), so that each moment
        # costs one multiply and one add (V = β1 V + dθ); the constants come back in the
        # scalars below: v̂ / (√ŝ + ε) = c1·V / (c2·√S + ε), c1 = (1 − β1) / (1 − β1^t),
        # c2 = √((1 − β2) / (1 − β2^t)). Ten passes over the vector instead of twelve.
        V, S = self._buffer("v", params), self._buffer("s", params)
        tmp = self._buffer("tmp", params)
        b1, b2 = self.beta1, self.beta2
        V *= b1
        V += grads
        np.square(grads, out=tmp)
        S *= b2
        S += tmp
        c1 = (1.0 - b1) / (1.0 - b1 ** self.t)
        c2 = math.sqrt((1.0 - b2) / (1.0 - b2 ** self.t))
        np.sqrt(S, out=tmp)
        tmp += self.eps / c2
        np.divide(V, tmp, out=tmp)
        tmp *= self.lr * c1 / c2
        np.subtract(params, tmp, out=params)
