"""The smooth shortcut: Dense → Tanh or Sigmoid → Dense as a short, exact power series.

A step in one input column c of the first Dense (a perturbed entry of the layer before it)
changes that column by d (m,), one value per example, so the activation's input moves by
δ[r, j] = d[r]·W[j, c]. For an analytic activation f around the base point Z,

    f(Z + δ) − f(Z) = Σ_q a_q(Z)·δ^q,
    tanh: a1 = s, a2 = −s·t, a3 = s·(t² − 1/3), a4 = s·t·(2/3 − t²),  t = tanh Z, s = 1 − t²

(sigmoid(z) = (1 + tanh(z/2)) / 2, so its a_q are tanh's at t = 2σ − 1, divided by 2^(q+1)).
The next Dense's output then changes by exactly

    Σ_q d[r]^q · M_q[c][r, :],    M_q[c] = (a_q(Z) ⊙ W[:, c]^q) @ W_next.T    (m, n_out),

and the M_q are computed once per column c and reused by every step: instead of m·n_mid
transcendental evaluations per step, a few multiply-adds on (m, n_out).

Why this is exact and not a linearization: tanh is analytic in the strip |Im z| < π/2 and
|tanh| ≤ tan(1) on every unit disc around a real point, so by Cauchy's estimate every
|a_q| ≤ tan(1) and the series cut after Q terms is off by at most
tan(1)·|δ|^(Q+1) / (1 − |δ|). Q is chosen per batch of steps so that this is below
``REST_LIMIT`` (a thousand times below the rounding of f itself); a step too large for
``TERMS`` terms (a large ε or huge weights) is left to the plain evaluation.
"""

import math

import numpy as np

from ..layers import Sigmoid, Tanh

TERMS = 4                 # at most this many terms (Q); with ε = 1e-6 two or three suffice
REST_LIMIT = 1e-19        # bound on the series' cut-off error per activation value
CAUCHY = math.tan(1.0)    # max |tanh| on a unit disc centred on the real axis


def smooth_kind(layer):
    """The activation's series, if ``layer`` computes exactly tinynet's tanh or sigmoid."""
    for cls in (Tanh, Sigmoid):  # a subclass with its own forward is evaluated the plain way
        if isinstance(layer, cls) and type(layer).forward is cls.forward and not layer.params:
            return cls
    return None


def _tanh_coefficients(t):
    """[a_1, ..., a_TERMS] of tanh(z + δ) − tanh(z) at t = tanh(z), each shaped like t."""
    s = 1.0 - t * t
    t2 = t * t
    return [s, -s * t, s * (t2 - 1.0 / 3.0), s * t * (2.0 / 3.0 - t2)]


class SmoothShortcut:
    """The precomputed M_q for one Dense → smooth activation → Dense triple.

    kind: Tanh or Sigmoid; A: (m, n_mid) the activation's output at the base point;
    W: (n_mid, n_in) the first Dense's weights; W_next: (n_out, n_mid); out: (m, n_out) the
    next Dense's output at the base point; chunk_floats bounds the temporaries of the
    precomputation.
    """

    def __init__(self, kind, A, W, W_next, out, chunk_floats):
        if kind is Sigmoid:  # σ(z + δ) − σ(z) = ½·(tanh(z/2 + δ/2) − tanh(z/2))
            coefficients = [a / 2.0 ** (q + 2) for q, a in enumerate(_tanh_coefficients(2 * A - 1))]
            self.half = 0.5                                       # the series runs in δ/2
        else:
            coefficients, self.half = _tanh_coefficients(A), 1.0
        m, (n_mid, n_in), n_out = A.shape[0], W.shape, W_next.shape[0]
        # Stored as (n_out, m) per column, so that the stacked outputs are laid out
        # (K, n_out, m): a loss then reduces over the classes with the examples contiguous.
        self.M = np.empty((TERMS, n_in, n_out, m))
        step = max(1, chunk_floats // (m * n_mid))
        for c in range(0, n_in, step):
            Wc = W[:, c:c + step].T                               # (cs, n_mid)
            power = np.ones_like(Wc)
            for q, a in enumerate(coefficients):
                power *= Wc                                       # W[:, c]^(q+1)
                self.M[q, c:c + step] = W_next @ (a.T[None] * power[:, :, None])
        self.w_max = np.abs(W).max(axis=0)                        # (n_in,) largest |W[:, c]|
        self.out = np.ascontiguousarray(out.T)                    # (n_out, m)
        self._work = None

    def rest(self, terms, delta):
        """Bound on the cut-off error after ``terms`` terms for steps up to |δ| = delta."""
        x = self.half * delta
        with np.errstate(over="ignore", divide="ignore"):
            return np.where(x < 0.5, self.half * CAUCHY * x ** (terms + 1) / (1 - x), np.inf)

    def outputs(self, d, cols):
        """d: (K, m) column changes, cols: (K,) -> ((K, m, n_out) the next Dense's outputs
        (a view of a (K, n_out, m) array), (K,) bool: steps too large for the series, whose
        outputs are left for the plain evaluation)."""
        delta = np.abs(d).max(axis=1) * self.w_max[cols]
        too_large = self.rest(TERMS, delta) > REST_LIMIT
        if too_large.any():
            d = np.where(too_large[:, None], 0.0, d)
        largest = delta[~too_large].max(initial=0.0)
        terms = next(q for q in range(1, TERMS + 1) if self.rest(q, largest) <= REST_LIMIT)
        out, term = self._buffers(d.shape[0])
        d = d[:, None, :]
        # Horner: d·(M1 + d·(M2 + ...)); mode="clip" lets np.take write into `out` directly
        np.take(self.M[terms - 1], cols, axis=0, out=out, mode="clip")
        for q in range(terms - 2, -1, -1):
            out *= d
            out += np.take(self.M[q], cols, axis=0, out=term, mode="clip")
        out *= d
        out += self.out[None]
        return out.transpose(0, 2, 1), too_large

    def _buffers(self, K):
        """Two (K, n_out, m) work arrays, reused from call to call: fresh memory for every
        batch of steps would cost more in page faults than the arithmetic itself."""
        if self._work is None or self._work[0].shape[0] < K:
            self._work = [np.empty((K,) + self.out.shape) for _ in range(2)]
        return [w[:K] for w in self._work]
