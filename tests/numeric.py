"""A small numeric-gradient helper for the tests: two-sided differences in float64.

This is deliberately independent of ``tinynet.checking``: the tests use it to prove the
core's backward passes before the real gradient checker exists (and to check that one).

    dθ_approx[i] = (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε      (error O(ε²))
"""

import numpy as np

import tinynet as tn


def numeric_gradient(f, x, eps=1e-6):
    """Two-sided numeric gradient of the scalar function ``f()`` with respect to ``x``.

    x: a float64 array that ``f`` reads (it is perturbed in place, entry by entry, and
    restored exactly afterwards); f: () -> float. Returns an array shaped like ``x``.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numeric_gradient works in float64, got {x.dtype}")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a, b):
    """The course's ‖a − b‖₂ / (‖a‖₂ + ‖b‖₂); 0 when both are zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def assert_gradients_close(analytic, numeric, tol=1e-7, name="gradient"):
    """Fail with a readable message when the relative error is ``tol`` or more."""
    error = relative_error(analytic, numeric)
    worst = np.unravel_index(np.argmax(np.abs(np.asarray(analytic) - numeric)), np.shape(numeric))
    assert error < tol, (f"{name}: relative error {error:.3e} >= {tol:.0e}; worst entry {worst}: "
                         f"analytic {np.asarray(analytic)[worst]!r}, numeric {numeric[worst]!r}")


def away_from_kinks(rng, shape, margin=1e-3, scale=1.0):
    """Normal samples with |x| > margin, so that no ±ε step crosses a ReLU kink."""
    x = rng.normal(scale=scale, size=shape)
    small = np.abs(x) <= margin
    x[small] = np.where(x[small] >= 0, 1.0, -1.0) * (margin + 0.1)
    return x


class Scale(tn.Layer):
    """The README's custom layer (docs/ARCHITECTURE.md): y = x * gamma, gradient into the view."""

    def __init__(self, n):
        super().__init__()
        self.add_param("gamma", np.ones(n))

    def forward(self, x, training=False):
        self.x = x
        return x * self.params["gamma"]

    def backward(self, dout):
        self.grads["gamma"][...] = (dout * self.x).sum(axis=0)
        return dout * self.params["gamma"]
