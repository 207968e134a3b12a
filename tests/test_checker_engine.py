"""The evaluation engine's fast paths give the same estimates as plain evaluation.

The differential pattern: the same network twice, once with the built-in activations (which
the engine may take a shortcut through) and once with subclasses whose own ``forward`` makes
the engine evaluate them the plain way (every perturbed network run forward as it is).
"""

import numpy as np
import pytest

import tinynet as tn
from tinynet.checking.engine import Engine
from tinynet.checking.sandbox import float64_network
from tinynet.checking.smooth import SmoothShortcut


class PlainTanh(tn.Tanh):
    def forward(self, x, training=False):
        return super().forward(x, training)


class PlainSigmoid(tn.Sigmoid):
    def forward(self, x, training=False):
        return super().forward(x, training)


PLAIN = {tn.Tanh: PlainTanh, tn.Sigmoid: PlainSigmoid, tn.ReLU: tn.ReLU}


def build(widths, activations, loss, plain, penalty=None):
    layers = [tn.Dense(widths[0], widths[1])]
    for act, n_in, n_out in zip(activations, widths[1:], widths[2:]):
        layers += [(PLAIN[act] if plain else act)(), tn.Dense(n_in, n_out)]
    return tn.Network(layers, loss=loss, penalty=penalty, seed=0)


def every_estimate(net, X, y, eps=1e-6):
    """-> (estimates of every θ entry, round-off noise of one estimate, the shortcuts used)."""
    with float64_network(net) as (theta, dtheta):
        engine = Engine(net, theta, dtheta, eps, "off", np.random.default_rng(0))
        engine.start(X, y)
        values = [engine.numeric(b, np.arange(b.stop - b.start)).estimates for b in net.blocks]
        used = [s for s in engine.shortcuts.values() if isinstance(s, SmoothShortcut)]
        return np.concatenate(values), engine.noise, used


CASES = {
    "tanh, softmax": ([5, 7, 6, 3], [tn.Tanh, tn.Tanh], tn.SoftmaxCrossEntropy, None),
    "sigmoid, softmax, L2": ([5, 7, 6, 3], [tn.Sigmoid, tn.Sigmoid], tn.SoftmaxCrossEntropy,
                             tn.L2(0.3)),
    "relu then tanh, MSE": ([4, 6, 5, 2], [tn.ReLU, tn.Tanh], tn.MeanSquaredError, None),
    "deep sigmoid, binary": ([3, 5, 5, 4, 1], [tn.Sigmoid, tn.Tanh, tn.Sigmoid],
                             tn.SigmoidCrossEntropy, None),
}


@pytest.mark.parametrize("eps", [1e-6, 1e-4])
@pytest.mark.parametrize("case", list(CASES))
def test_smooth_shortcut_gives_the_plain_estimates(case, eps):
    widths, activations, loss, penalty = CASES[case]
    rng = np.random.default_rng(1)
    X = rng.normal(size=(9, widths[0]))
    y = (rng.integers(0, widths[-1], size=9) if loss is tn.SoftmaxCrossEntropy
         else rng.integers(0, 2, size=9) if loss is tn.SigmoidCrossEntropy
         else rng.normal(size=(9, widths[-1])))
    fast = build(widths, activations, loss(), plain=False, penalty=penalty)
    plain = build(widths, activations, loss(), plain=True, penalty=penalty)
    plain.set_parameters(fast.parameters())
    got, _, used = every_estimate(fast, X, y, eps)
    want, _, unused = every_estimate(plain, X, y, eps)
    assert used and not unused                      # the shortcut was taken, and only there
    # Equal up to the plain evaluation's own round-off (it subtracts J values of size ~1).
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=10 * np.finfo(float).eps / eps)


def test_a_step_too_large_for_the_series_is_evaluated_the_plain_way(monkeypatch):
    left_over = []
    outputs = SmoothShortcut.outputs

    def spy(self, d, cols):
        result = outputs(self, d, cols)
        left_over.append(int(result[1].sum()))
        return result

    monkeypatch.setattr(SmoothShortcut, "outputs", spy)
    widths, activations = [3, 4, 4, 2], [tn.Tanh, tn.Tanh]
    rng = np.random.default_rng(2)
    X, y = 3 * rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)   # large steps with eps=1e-3
    fast = build(widths, activations, tn.SoftmaxCrossEntropy(), plain=False)
    plain = build(widths, activations, tn.SoftmaxCrossEntropy(), plain=True)
    plain.set_parameters(fast.parameters())
    got, _, _ = every_estimate(fast, X, y, eps=1e-3)
    want, _, _ = every_estimate(plain, X, y, eps=1e-3)
    assert sum(left_over) > 0
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=10 * np.finfo(float).eps / 1e-3)


@pytest.mark.parametrize("kind", [tn.Tanh, tn.Sigmoid])
def test_the_series_is_the_activations_change_to_rounding(kind):
    # Reference without cancellation: tanh(a) − tanh(b) = sinh(a − b) / (cosh a · cosh b), and
    # σ(a) − σ(b) = (tanh(a/2) − tanh(b/2)) / 2.
    rng = np.random.default_rng(3)
    m, n_in, n_mid, n_out = 6, 4, 5, 3
    Z, W, W_next = 2 * rng.normal(size=(m, n_mid)), rng.normal(size=(n_mid, n_in)), \
        rng.normal(size=(n_out, n_mid))
    base = np.zeros((m, n_out))                      # so that the outputs are the changes alone
    shortcut = SmoothShortcut(kind, kind().forward(Z), W, W_next, base, chunk_floats=2 * m * n_mid)
    cols = np.array([0, 3, 1, 2, 2])
    d = np.array([1e-7, -1e-6, 3e-5, 1e-5, 1e-2])[:, None] * rng.normal(size=(5, m))
    got, too_large = shortcut.outputs(d, cols)
    assert too_large.tolist() == [False, False, False, False, True]
    delta = d[:, :, None] * W[:, cols].T[:, None, :]                  # (K, m, n_mid)
    h = 0.5 if kind is tn.Sigmoid else 1.0
    change = h * np.sinh(h * delta) / (np.cosh(h * (Z + delta)) * np.cosh(h * Z))
    fits = ~too_large
    np.testing.assert_allclose(got[fits], (change @ W_next.T)[fits], rtol=1e-12, atol=0)
