"""The L2 penalty (weight decay) in the course's form.

J += lambd / (2m) · Σ_l ‖W_l‖²   (Frobenius norm, weights only, never biases)
dW_l += lambd / m · W_l

Equivalents: CS231n writes ``reg · Σ W²`` with gradient ``2 · reg · W``, so
``reg = lambd / (2m)``; scikit-learn's MLPClassifier ``alpha`` is added as
``alpha / (2m) · Σ W²``, so ``alpha = lambd``.
"""

import numpy as np

from .validation import finite_float


class L2:
    """L2 penalty with strength ``lambd`` >= 0 (the course's name; ``lambda`` is a Python keyword)."""

    def __init__(self, lambd=0.0):
        lambd = finite_float(lambd, "lambd")
        if lambd < 0:
            raise ValueError(f"lambd must be a finite number >= 0, got {lambd}")
        self.lambd = lambd

    def forward(self, weights, m):
        """weights: list of the penalized arrays; m: batch size -> the penalty (float)."""
        return self.lambd / (2 * m) * float(sum(np.vdot(W, W) for W in weights))

    def backward(self, weights, m):
        """-> [lambd/m · W for W in weights]: the penalty's gradient, array by array."""
        return [(self.lambd / m) * W for W in weights]

    def get_config(self):
        return {"lambd": self.lambd}

    def __repr__(self):
        return f"L2(lambd={self.lambd!r})"
