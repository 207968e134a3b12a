"""Custom layers written the way users write them, correct ones and planted bugs.

Shared by test_checker_trust.py (one planted case per risk), test_checker_sweep.py (custom
layers in random correct networks) and benchmarks/sweep_eps.py. Each correct layer's
backward is the textbook formula in the comment; each buggy one names its bug.
"""

import numpy as np

import tinynet as tn


# ---- correct layers that the old checker failed in a network ---------------------------------

class Softmax(tn.Activation):
    """Rows of probabilities, written on Activation (not element-wise: it normalizes rows)."""

    def forward(self, x, training=False):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.s = e / e.sum(axis=1, keepdims=True)
        return self.s

    def backward(self, dout):
        # dx = s ⊙ (dout − Σ_j dout_j s_j)
        return self.s * (dout - (dout * self.s).sum(axis=1, keepdims=True))


class BatchCenter(tn.Activation):
    """x minus the batch mean, written on Activation: it mixes the examples."""

    def forward(self, x, training=False):
        return x - x.mean(axis=0)

    def backward(self, dout):
        # dx = dout − mean over the batch of dout
        return dout - dout.mean(axis=0)


class BatchCenterClaimingTooMuch(BatchCenter):
    """The same layer declaring what it is not, beside its own forward."""

    rowwise = True
    elementwise = True

    def forward(self, x, training=False):
        return x - x.mean(axis=0)


class RowCenter(tn.Layer):
    """x minus each row's mean: row-wise (declared, and true) but not element-wise."""

    rowwise = True

    def forward(self, x, training=False):
        return x - x.mean(axis=1, keepdims=True)

    def backward(self, dout):
        return dout - dout.mean(axis=1, keepdims=True)

    def out_features(self, n_in):
        return n_in


class FixedMask(tn.Layer):
    """A deterministic mask from a fixed seed whose shape follows the input."""

    elementwise = rowwise = True      # what a user might believe; the mask depends on x.shape

    def forward(self, x, training=False):
        self.mask = (np.random.default_rng(0).random(x.shape) < 0.7) / 0.7
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask

    def out_features(self, n_in):
        return n_in


class SelfRngDropout(tn.Layer):
    """Inverted dropout drawing its mask from self.rng (the checker freezes that generator)."""

    def __init__(self, keep_prob=0.7):
        super().__init__()
        self.keep_prob = keep_prob

    def forward(self, x, training=False):
        self.mask = (self.rng.random(x.shape) < self.keep_prob) / self.keep_prob
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask

    def out_features(self, n_in):
        return n_in


class PlainDropout(tn.Dropout):
    """Non-inverted dropout (no 1/keep_prob) as a Dropout subclass, with its matching backward."""

    def forward(self, x, training=False):
        if not training or self.keep_prob == 1.0:
            self.mask = None
            return x
        self.mask = self.rng.random(x.shape) < self.keep_prob
        return x * self.mask

    def backward(self, dout):
        return dout if self.mask is None else dout * self.mask


class BatchNorm(tn.Layer):
    """Batch normalization the obvious way: running statistics as array attributes."""

    def __init__(self, n, momentum=0.1, eps=1e-5):
        super().__init__()
        self.add_param("gamma", np.ones(n))
        self.add_param("beta", np.zeros(n))
        self.momentum, self.eps = momentum, eps
        self.running_mean = np.zeros(n)
        self.running_var = np.ones(n)
        self.stats = {"batches": np.zeros(1)}
        self.calls = 0

    def forward(self, x, training=False):
        if training:
            mean, var = x.mean(axis=0), x.var(axis=0)
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
            self.running_var *= 1 - self.momentum
            self.running_var += self.momentum * var
            self.stats["batches"] += 1
            self.calls += 1
        else:
            mean, var = self.running_mean, self.running_var
        self.inv = 1 / np.sqrt(var + self.eps)
        self.xhat = (x - mean) * self.inv
        return self.params["gamma"] * self.xhat + self.params["beta"]

    def backward(self, dout):
        # dx = inv/m · (m·dxhat − Σ dxhat − xhat·Σ dxhat·xhat)
        m = dout.shape[0]
        self.grads["gamma"][...] = (dout * self.xhat).sum(axis=0)
        self.grads["beta"][...] = dout.sum(axis=0)
        dxhat = dout * self.params["gamma"]
        return self.inv / m * (m * dxhat - dxhat.sum(axis=0)
                               - self.xhat * (dxhat * self.xhat).sum(axis=0))

    def out_features(self, n_in):
        return n_in


class Swish(tn.Activation):
    """x·σ(x): a smooth element-wise layer that declares (truly) what it is."""

    elementwise = rowwise = True

    def forward(self, x, training=False):
        self.x, self.s = x, tn.layers.sigmoid(x)
        return x * self.s

    def backward(self, dout):
        # d(x σ)/dx = σ + x σ (1 − σ)
        return dout * (self.s + self.x * self.s * (1 - self.s))


class HooklessReLU(tn.Activation):
    """ReLU written from scratch without a kinks hook: its kink at 0 is undeclared."""

    elementwise = rowwise = True

    def forward(self, x, training=False):
        self.on = x > 0
        return x * self.on

    def backward(self, dout):
        return dout * self.on


class InPlaceReLU(tn.Activation):
    """ReLU the way it is often written first: zeroing the input in place."""

    def forward(self, x, training=False):
        x[x < 0] = 0
        self.out = x
        return x

    def backward(self, dout):
        return dout * (self.out > 0)


class MyLeakyReLU(tn.Layer):
    """A correct leaky ReLU whose slopes hook lies (it forgot alpha)."""

    elementwise = rowwise = True

    def forward(self, x, training=False):
        self.x = x
        return np.where(x > 0, x, 0.1 * x)

    def backward(self, dout):
        return dout * np.where(self.x > 0, 1.0, 0.1)

    def kinks(self, x):
        return x

    def slopes(self, x):
        return np.ones_like(x)                          # should be 1 above 0, 0.1 below

    def out_features(self, n_in):
        return n_in


class NoisyKinksTanh(tn.Tanh):
    """A correct tanh whose kinks hook returns noise: a kink 'crossed' at almost every step."""

    def kinks(self, x):
        return np.sin(1e9 * x)


# ---- planted bugs ------------------------------------------------------------------------------

class InPlaceReLUForgetsMask(InPlaceReLU):
    def backward(self, dout):
        return dout                                     # should be dout * (out > 0)


class LeakyReLUWithWrongSlopes(tn.LeakyReLU):
    """LeakyReLU.backward calls self.slopes: a wrong slopes makes backward wrong too."""

    def slopes(self, x):
        return np.ones_like(x)                          # alpha below 0 forgotten


class NoisyKinksTanhWrong(NoisyKinksTanh):
    def backward(self, dout):
        return dout * (1 - self.out)                    # should be 1 − A²


class BatchNormConstantStats(BatchNorm):
    """The classic bug: mean and variance treated as constants; hidden by a false rowwise."""

    rowwise = True

    def forward(self, x, training=False):
        return super().forward(x, training)

    def backward(self, dout):
        super().backward(dout)
        return dout * self.params["gamma"] * self.inv   # the batch statistics' paths dropped


class PlainDropoutForgetsMask(PlainDropout):
    def backward(self, dout):
        return dout                                     # should be dout * mask


class SelfRngDropoutForgetsScale(SelfRngDropout):
    def backward(self, dout):
        return dout * (self.mask > 0)                   # the 1/keep_prob forgotten


class HooklessReLUDoubled(HooklessReLU):
    def backward(self, dout):
        return 2 * dout * self.on                       # should be dout * on


# ---- broken protocol ---------------------------------------------------------------------------

class GlobalDropout(tn.Activation):
    """Draws its mask from numpy's global generator: J changes between two evaluations."""

    def forward(self, x, training=False):
        self.mask = (np.random.rand(*x.shape) < 0.8) / 0.8
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask
