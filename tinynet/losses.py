"""Losses: take raw scores (logits), return the MEAN over the batch, and have a fused backward.

Fusing the last activation with its loss gives the simple, stable gradient
``(p - y) / m`` instead of dividing by tiny probabilities. The ``1/m`` lives here
and nowhere else (layers never divide by ``m``).

Protocol: ``forward(scores, y) -> float``; ``backward() -> dscores``, shaped like
``scores`` and already divided by ``m``. ``losses(scores, y) -> (m,)`` gives
each example's share, so that ``forward == losses(...).mean()``; the gradient
checker uses it to evaluate many perturbed networks in one batch.
"""

import numpy as np

from .layers import sigmoid


class Loss:
    """Base class. Subclasses implement ``losses``, ``backward``, ``targets``."""

    def forward(self, scores, y):
        """scores: (m, n_out); y: labels or targets -> the mean loss (float)."""
        losses = self.losses(scores, y)
        return float(losses.sum()) / losses.size  # = mean(), without np.mean's overhead per batch

    def score(self, scores, y):
        """Accuracy: the fraction of examples whose predicted label equals ``y``."""
        labels = y.argmax(axis=1) if y.ndim == 2 else y
        return np.count_nonzero(self.predict(scores) == labels) / labels.shape[0]

    def targets(self, y, m, n_out):
        """Validate ``y`` for ``m`` examples and ``n_out`` outputs; return it in the
        form ``losses`` expects. Raises ValueError / TypeError naming what is wrong."""
        raise NotImplementedError

    def get_config(self):
        return {}

    def __repr__(self):
        return f"{type(self).__name__}()"


class SoftmaxCrossEntropy(Loss):
    """Softmax over the outputs followed by cross-entropy.

    y: integer labels (m,) in 0..C-1, or one-hot rows (m, C).
    J = -1/m Σ_i log p[i, y_i];  dscores = (p - Y) / m.
    """

    def losses(self, scores, y):
        shifted = scores - scores.max(axis=-1, keepdims=True)  # exp never overflows
        exp = np.exp(shifted)
        norm = exp.sum(axis=-1, keepdims=True)
        self._exp, self._norm = exp, norm   # p = exp / norm, formed only if backward is called
        self._y = y
        log_norm = np.log(norm)[..., 0]
        if y.ndim == 1 and scores.ndim == 2:      # the training path: -log p[i, y_i]
            return log_norm - shifted[np.arange(y.shape[0]), y]
        if y.ndim == 1:  # a stack (k, m, C) of perturbed networks' scores
            index = np.broadcast_to(y[:, None], shifted.shape[:-1] + (1,))
            return log_norm - np.take_along_axis(shifted, index, axis=-1)[..., 0]
        return log_norm - (y * shifted).sum(axis=-1)

    def backward(self):
        m = self._exp.shape[0]
        dscores = self._exp / (self._norm * m)          # p / m
        if self._y.ndim == 1:
            dscores[np.arange(m), self._y] -= 1.0 / m   # (p - Y) / m
        else:
            dscores -= self._y / m
        return dscores

    def probabilities(self, scores):
        shifted = scores - scores.max(axis=-1, keepdims=True)
        p = np.exp(shifted)
        return p / p.sum(axis=-1, keepdims=True)

    def predict(self, scores):
        return scores.argmax(axis=-1)

    def targets(self, y, m, n_out):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
            _check_length(y, m)
            if y.shape[1] != n_out:
                raise ValueError(f"one-hot y has {y.shape[1]} columns but the network has "
                                 f"{n_out} outputs")
            y = _finite(y, "y")
            if np.any((y != 0) & (y != 1)) or np.any(y.sum(axis=1) != 1):
                raise ValueError("one-hot y must hold 0/1 with exactly one 1 per row")
            return y
        labels = _integer_labels(y, m)
        if labels.size and (labels.min() < 0 or labels.max() >= n_out):
            raise ValueError(f"labels must be in 0..{n_out - 1} for a network with {n_out} "
                             f"outputs, got values from {labels.min()} to {labels.max()}")
        return labels


class SigmoidCrossEntropy(Loss):
    """Sigmoid of the single output followed by binary cross-entropy.

    y: 0/1 labels of shape (m,) or (m, 1). For a score z:
    loss = max(z, 0) - z·y + log(1 + e^-|z|)  (stable form);  dz = (σ(z) - y) / m.
    """

    def losses(self, scores, y):
        z = scores[..., 0]
        y = np.asarray(y)
        if y.ndim == scores.ndim:  # labels (m, 1): flatten, or z * y would broadcast to (m, m)
            y = y[..., 0]
        self._z = z
        self._y = y
        return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))

    def backward(self):
        m = self._z.shape[0]
        return ((sigmoid(self._z) - self._y) / m)[:, None]

    def probabilities(self, scores):
        p1 = sigmoid(scores[:, 0])
        return np.stack([1 - p1, p1], axis=1)

    def predict(self, scores):
        return (scores[:, 0] > 0).astype(np.int64)

    def targets(self, y, m, n_out):
        if n_out != 1:
            raise ValueError(f"SigmoidCrossEntropy needs a network with 1 output, this one has "
                             f"{n_out}; use SoftmaxCrossEntropy for {n_out} classes")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        labels = _integer_labels(y, m)
        if labels.size and (labels.min() < 0 or labels.max() > 1):
            raise ValueError(f"SigmoidCrossEntropy labels must be 0 or 1, got values from "
                             f"{labels.min()} to {labels.max()}")
        return labels.astype(np.float64)


class MeanSquaredError(Loss):
    """Mean over ALL entries of (scores - y)², like PyTorch's MSELoss.

    y: (m, n_out), or (m,) when n_out == 1.  dscores = 2 (scores - y) / (m · n_out).
    """

    def losses(self, scores, y):
        y = np.asarray(y)
        if y.ndim == 1 and scores.shape[-1] == 1:  # targets (m,): else (m, 1) - (m,) -> (m, m)
            y = y[:, None]
        self._diff = scores - y
        return (self._diff ** 2).mean(axis=-1)

    def backward(self):
        return self._diff * (2.0 / self._diff.size)

    def predict(self, scores):
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def score(self, scores, y):
        """R², the coefficient of determination (1 is perfect), as scikit-learn's regressors."""
        residual = ((scores - y) ** 2).sum()
        total = ((y - y.mean(axis=0)) ** 2).sum()
        return float(1 - residual / total) if total > 0 else 0.0

    def targets(self, y, m, n_out):
        y = np.asarray(y)
        if y.ndim == 1 and n_out == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[1] != n_out:
            raise ValueError(f"MeanSquaredError targets must have shape (m, {n_out}), "
                             f"got {y.shape}")
        _check_length(y, m)
        return _finite(y, "y")


def _check_length(y, m):
    if y.shape[0] != m:
        raise ValueError(f"X and y have different lengths: X has {m} rows, y has {y.shape[0]}"
                         + _ravel_hint(y))


def _ravel_hint(y):
    """The course keeps labels in a row (1, m) or a column (m, 1); tinynet wants (m,)."""
    return (f" (labels as a row or column, shape {y.shape}? pass y.ravel())"
            if y.ndim == 2 and 1 in y.shape else "")


def _finite(y, name):
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {y.dtype}")
    y = y.astype(np.float64, copy=False)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or inf")
    return y


def _integer_labels(y, m):
    if y.ndim != 1:
        raise ValueError(f"labels y must be 1-D (m,), got shape {y.shape}" + _ravel_hint(y))
    _check_length(y, m)
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind in "iu":
        return y.astype(np.int64, copy=False)
    y = _finite(y, "y")
    if np.any(y != np.round(y)):
        raise ValueError("labels y must be whole numbers (class indices), got fractional values")
    largest = np.abs(y).max(initial=0)
    if largest >= 2 ** 53:  # beyond exact integers in float64; int64 would wrap around
        raise ValueError(f"labels y must be class indices (0, 1, ...), got {largest:.3g}")
    return y.astype(np.int64)
