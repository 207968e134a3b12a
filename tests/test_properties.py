"""Properties that hold for every shape and seed (hypothesis, with bounded example counts so the
normal suite stays fast)."""

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn

# derandomize: the same examples on every run (no hidden randomness, nothing written to disk)
FEW = settings(max_examples=20, deadline=None, derandomize=True, database=None)
SEEDS = st.integers(0, 2**32 - 1)
WIDTHS = st.integers(1, 5)

LAYERS = {
    "Dense": lambda n, seed, p: tn.Dense(n, int(1 + p * 4), seed=seed),
    "ReLU": lambda n, seed, p: tn.ReLU(),
    "LeakyReLU": lambda n, seed, p: tn.LeakyReLU(alpha=0.9 * p),
    "Tanh": lambda n, seed, p: tn.Tanh(),
    "Sigmoid": lambda n, seed, p: tn.Sigmoid(),
    "Dropout": lambda n, seed, p: tn.Dropout(keep_prob=0.1 + 0.9 * p),
}


@settings(FEW, max_examples=40)
@given(name=st.sampled_from(sorted(LAYERS)), m=WIDTHS, n=WIDTHS, seed=SEEDS,
       p=st.floats(0, 1), scale=st.sampled_from([0.1, 1.0, 5.0]))
def test_every_built_in_layer_passes_check_layer(name, m, n, seed, p, scale):
    layer = LAYERS[name](n, seed, p)
    x = np.random.default_rng(seed).normal(scale=scale, size=(m, n))
    report = tn.check_layer(layer, x, seed=seed)
    assert report.passed, str(report)


def random_network(draw_widths, loss_name, seed, dtype=np.float64, dropout=False):
    widths = draw_widths
    activations = [tn.ReLU, tn.Tanh, tn.Sigmoid, lambda: tn.LeakyReLU(alpha=0.1)]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-2], widths[1:-1])):
        layers += [tn.Dense(n_in, n_out), activations[(seed + i) % len(activations)]()]
        if dropout:
            layers.append(tn.Dropout(keep_prob=0.7))
    n_out = 1 if loss_name == "sigmoid" else widths[-1]
    layers.append(tn.Dense(widths[-2], n_out))
    loss = {"softmax": tn.SoftmaxCrossEntropy, "sigmoid": tn.SigmoidCrossEntropy,
            "mse": tn.MeanSquaredError}[loss_name]()
    return tn.Network(layers, loss=loss, penalty=tn.L2(lambd=0.3), seed=seed, dtype=dtype)


def labels_for(net, m, rng):
    n_out = net.n_outputs
    if isinstance(net.loss, tn.MeanSquaredError):
        return rng.normal(size=(m, n_out))
    return rng.integers(0, 2 if n_out == 1 else n_out, size=m)


NETWORKS = dict(widths=st.lists(st.integers(1, 6), min_size=2, max_size=5).map(lambda w: w + [3]),
                loss_name=st.sampled_from(["softmax", "sigmoid", "mse"]), seed=SEEDS,
                dtype=st.sampled_from([np.float64, np.float32]))


@FEW
@given(**NETWORKS)
def test_set_parameters_of_parameters_is_the_identity(widths, loss_name, seed, dtype):
    net = random_network(widths, loss_name, seed, dtype)
    before = net.params.tobytes()
    net.set_parameters({name: view.copy() for name, view in net.parameters().items()})
    assert net.params.tobytes() == before
    # into another network of the same architecture, biases given as the course's columns
    other = random_network(widths, loss_name, seed + 1 if seed < 2**32 - 1 else 0, dtype)
    other.set_parameters({name: view.reshape(-1, 1) if name.startswith("b") else view
                          for name, view in net.parameters().items()})
    assert other.params.tobytes() == before


@FEW
@given(**NETWORKS)
def test_save_then_load_is_the_identity(widths, loss_name, seed, dtype):
    net = random_network(widths, loss_name, seed, dtype, dropout=True)
    net.params[...] = np.random.default_rng(seed).normal(size=net.n_params)
    with tempfile.TemporaryDirectory() as folder:
        net.save(Path(folder) / "model.npz")
        loaded = tn.load(Path(folder) / "model.npz")
    assert loaded.params.dtype == net.params.dtype
    assert loaded.params.tobytes() == net.params.tobytes()
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in net.layers]
    assert [b.name for b in loaded.blocks] == [b.name for b in net.blocks]
    X = np.random.default_rng(seed + 7).normal(size=(4, widths[0]))
    assert loaded.forward(X).tobytes() == net.forward(X).tobytes()


@FEW
@given(widths=NETWORKS["widths"], loss_name=st.sampled_from(["softmax", "sigmoid"]), seed=SEEDS,
       dtype=NETWORKS["dtype"], scale=st.sampled_from([1e-3, 1.0, 1e2, 1e4]))
def test_predict_proba_rows_are_probabilities_summing_to_1(widths, loss_name, seed, dtype, scale):
    net = random_network(widths, loss_name, seed, dtype)
    X = np.random.default_rng(seed).normal(scale=scale, size=(7, widths[0]))
    proba = net.predict_proba(X)
    assert proba.shape == (7, 2 if loss_name == "sigmoid" else widths[-1])
    assert np.all(proba >= 0) and np.all(proba <= 1)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=10 * np.finfo(dtype).eps)
    np.testing.assert_array_equal(net.predict(X), proba.argmax(axis=1))


@FEW
@given(**NETWORKS)
def test_cost_is_invariant_to_the_order_of_the_examples(widths, loss_name, seed, dtype):
    net = random_network(widths, loss_name, seed, dtype)
    rng = np.random.default_rng(seed)
    m = 9
    X = rng.normal(size=(m, widths[0]))
    y = labels_for(net, m, rng)
    order = rng.permutation(m)
    J, J_shuffled = net.cost(X, y), net.cost(X[order], y[order])
    # the same terms summed in another order: equal up to round-off of the sum
    assert np.isclose(J, J_shuffled, rtol=50 * np.finfo(dtype).eps, atol=0)
    _, g = net.cost_and_grad(X, y)
    g = g.copy()
    _, g_shuffled = net.cost_and_grad(X[order], y[order])
    np.testing.assert_allclose(g_shuffled, g, rtol=1e-3 if dtype == np.float32 else 1e-9,
                               atol=1e-5 if dtype == np.float32 else 1e-12)


@FEW
@given(seed=SEEDS, n_out=st.integers(2, 5), magnitude=st.sampled_from([1e2, 1e3, 1e4]))
def test_losses_are_finite_with_finite_gradients_for_huge_logits(seed, n_out, magnitude):
    rng = np.random.default_rng(seed)
    scores = magnitude * np.sign(rng.normal(size=(6, n_out)))
    for loss, y, z in ((tn.SoftmaxCrossEntropy(), rng.integers(0, n_out, size=6), scores),
                       (tn.SigmoidCrossEntropy(), rng.integers(0, 2, size=6).astype(float),
                        scores[:, :1])):
        J = loss.forward(z, y)
        d = loss.backward()
        assert np.isfinite(J) and np.all(np.isfinite(d))
        # a confidently wrong example costs about |logit gap|; a right one about 0
        assert 0 <= J <= 2 * magnitude + 1
        assert np.all(np.abs(d) <= 1 / 6 + 1e-12)
