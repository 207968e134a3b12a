"""Normalization layers: BatchNorm (over the batch) and LayerNorm (over each row's features).

Both follow PyTorch's conventions (``torch.nn.BatchNorm1d``, ``torch.nn.LayerNorm``) so that
a learner can compare them number for number:

    x̂ = (x − μ) / √(σ² + ε)        out = γ ⊙ x̂ + β

with the *biased* variance σ² (divide by m, not m − 1). They differ in what μ and σ² are
taken over, and therefore in what a backward must do:

- ``BatchNorm``: over the m examples of the batch, per feature. Every output depends on
  every example in the batch, so the layer is not row-wise. In training it also keeps
  running averages of μ and σ² (buffers, not parameters); inference uses those.
- ``LayerNorm``: over the n features of one example. Row-wise, the same in training and
  inference, no running statistics.

The backward of both is the compact form of the derivation in CS231n's batch-normalization
assignment (assignment 2, "batchnorm_backward_alt"; Ioffe & Szegedy 2015, section 3): with
dx̂ = γ ⊙ dout, the chain rule through μ and σ² collapses to

    dx = (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)) / √(σ² + ε)

where the means run over the same axis as μ and σ². The two subtracted terms are the paths
through μ and through σ²; dropping them (treating μ and σ² as constants) is the classic bug.
"""

import numpy as np

from .layers import Layer, _check_input
from .validation import finite_float, positive_float, positive_int


def _normalize(x, mean, var, eps):
    """-> (x̂, 1/√(σ² + ε)) for statistics broadcastable against x."""
    inv_std = 1.0 / np.sqrt(var + eps)
    return (x - mean) * inv_std, inv_std


class _Normalization(Layer):
    """What BatchNorm and LayerNorm share: n features, ε, ``gamma`` (ones), ``beta`` (zeros)."""

    def __init__(self, n, eps):
        super().__init__()
        self.n = positive_int(n, "n")
        self.eps = positive_float(eps, "eps")
        self.add_param("gamma", np.ones(self.n))
        self.add_param("beta", np.zeros(self.n))

    def reset_parameters(self, rng):
        self.params["gamma"][...] = 1.0
        self.params["beta"][...] = 0.0

    def out_features(self, n_in):
        if n_in is not None and n_in != self.n:
            raise ValueError(f"{self} normalizes {self.n} features but the layer before it "
                             f"produces {n_in}")
        return self.n


class BatchNorm(_Normalization):
    """Batch normalization of n features (PyTorch's ``BatchNorm1d(n, eps, momentum)``).

    Training: normalize each feature with the batch mean and biased batch variance, then
    update ``running = (1 − momentum)·running + momentum·batch`` (the running variance from
    the unbiased batch variance, m/(m − 1)·σ², as PyTorch does). Inference (training=False):
    normalize with ``running_mean`` and ``running_var``.

    Parameters ``gamma`` (ones) and ``beta`` (zeros); buffers ``running_mean`` (zeros) and
    ``running_var`` (ones). A bias in the layer before it is redundant: the mean
    subtraction cancels it (its gradient is exactly 0), so ``beta`` does its job.
    """

    def __init__(self, n, momentum=0.1, eps=1e-5):
        momentum = finite_float(momentum, "momentum")
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm momentum must be in [0, 1], got {momentum}")
        super().__init__(n, eps)
        self.momentum = momentum
        self.add_buffer("running_mean", np.zeros(self.n))
        self.add_buffer("running_var", np.ones(self.n))

    def forward(self, x, training=False):
        """x: (m, n) -> (m, n); training=True uses (and updates) the batch statistics."""
        _check_input(self, x, self.n)
        if training:
            m = x.shape[0]
            if m < 2:
                raise ValueError(
                    f"{self} in training mode needs at least 2 examples to compute batch "
                    f"statistics, got x.shape == {x.shape}; for a single example use "
                    "training=False (the running statistics); in fit, choose a batch_size that "
                    "does not leave a last mini-batch of one example (m % batch_size == 1)")
            mean, var = x.mean(axis=0), x.var(axis=0)
            keep, running = 1 - self.momentum, self.buffers
            running["running_mean"] = keep * running["running_mean"] + self.momentum * mean
            running["running_var"] = (keep * running["running_var"]
                                      + self.momentum * var * (m / (m - 1)))
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self.training = training
        # x̂ = (x − μ) / √(σ² + ε),  out = γ ⊙ x̂ + β
        self.xhat, self.inv_std = _normalize(x, mean, var, self.eps)
        return self.params["gamma"] * self.xhat + self.params["beta"]

    def backward(self, dout):
        """dout: (m, n) -> dx: (m, n); assigns dgamma = Σ dout ⊙ x̂ and dbeta = Σ dout."""
        # dγ = Σ_rows dout ⊙ x̂,  dβ = Σ_rows dout,  dx = γ/√(σ²+ε) ⊙ (dout − dβ/m − x̂ ⊙ dγ/m)
        self.grads["gamma"] = (dout * self.xhat).sum(axis=0)
        self.grads["beta"] = dout.sum(axis=0)
        scale = self.params["gamma"] * self.inv_std
        if not self.training:        # inference: μ and σ² are constants, the layer is affine
            return dout * scale
        m = dout.shape[0]
        return scale * (dout - self.grads["beta"] / m - self.xhat * (self.grads["gamma"] / m))

    def get_config(self):
        return {"n": self.n, "momentum": self.momentum, "eps": self.eps}


class LayerNorm(_Normalization):
    """Layer normalization of n features (PyTorch's ``LayerNorm(n, eps)``).

    Each row (example) is normalized over its own n features with the biased variance,
    then scaled by ``gamma`` (ones) and shifted by ``beta`` (zeros). The same in training
    and inference; row-wise.
    """

    rowwise = True

    def __init__(self, n, eps=1e-5):
        super().__init__(n, eps)

    def forward(self, x, training=False):
        """x: (m, n) -> (m, n)."""
        _check_input(self, x, self.n)
        # x̂ = (x − μ_row) / √(σ²_row + ε),  out = γ ⊙ x̂ + β
        mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
        self.xhat, self.inv_std = _normalize(x, mean, var, self.eps)
        return self.params["gamma"] * self.xhat + self.params["beta"]

    def backward(self, dout):
        """dout: (m, n) -> dx: (m, n)."""
        # dx̂ = γ ⊙ dout,  dx = (dx̂ − mean_row(dx̂) − x̂ ⊙ mean_row(dx̂ ⊙ x̂)) / √(σ²_row + ε)
        self.grads["gamma"] = (dout * self.xhat).sum(axis=0)
        self.grads["beta"] = dout.sum(axis=0)
        dxhat = dout * self.params["gamma"]
        return self.inv_std * (dxhat - dxhat.mean(axis=1, keepdims=True)
                               - self.xhat * (dxhat * self.xhat).mean(axis=1, keepdims=True))

    def get_config(self):
        return {"n": self.n, "eps": self.eps}

