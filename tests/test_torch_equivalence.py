"""tinynet against an independent implementation: PyTorch, float64, same weights.

Skipped unless torch is installed (CI installs only ``.[test]``). The flat vector order is
``torch.nn.utils.parameters_to_vector``'s, so loss and flat gradient must agree to ~1e-12.
"""

import numpy as np
import pytest

import tinynet as tn

torch = pytest.importorskip("torch")

TORCH_LAYERS = {tn.ReLU: torch.nn.ReLU, tn.Tanh: torch.nn.Tanh, tn.Sigmoid: torch.nn.Sigmoid}


def to_torch(net):
    """A torch.nn.Sequential holding copies of ``net``'s weights, in float64."""
    modules = []
    for layer in net.layers:
        if isinstance(layer, tn.Dense):
            linear = torch.nn.Linear(layer.n_in, layer.n_out, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.params["W"].copy()))
                linear.bias.copy_(torch.from_numpy(layer.params["b"].copy()))
            modules.append(linear)
        else:
            modules.append(TORCH_LAYERS[type(layer)]())
    return torch.nn.Sequential(*modules)


def torch_cost_and_grad(model, X, y, loss_name, lambd):
    """The same J in torch: mean data loss + the course's lambd/(2m) Σ‖W‖², weights only."""
    model.zero_grad()
    scores = model(torch.from_numpy(X))
    if loss_name == "softmax":
        target = torch.from_numpy(y) if y.ndim == 2 else torch.from_numpy(y).long()
        J = torch.nn.CrossEntropyLoss()(scores, target)
    elif loss_name == "sigmoid":
        J = torch.nn.BCEWithLogitsLoss()(scores, torch.from_numpy(y.astype(np.float64)).reshape(-1, 1))
    else:
        J = torch.nn.MSELoss()(scores, torch.from_numpy(y))
    m = X.shape[0]
    weights = [module.weight for module in model if isinstance(module, torch.nn.Linear)]
    J = J + lambd / (2 * m) * sum((W ** 2).sum() for W in weights)
    J.backward()
    grads = torch.nn.utils.parameters_to_vector([p.grad for p in model.parameters()])
    return J.item(), grads.numpy()


CASES = {
    "4-5-3-1 relu, BCEWithLogits, L2": (
        lambda: [tn.Dense(4, 5), tn.ReLU(), tn.Dense(5, 3), tn.ReLU(), tn.Dense(3, 1)],
        tn.SigmoidCrossEntropy, "sigmoid", "binary", 0.7),
    "tanh, CrossEntropy integer labels, L2": (
        lambda: [tn.Dense(4, 8), tn.Tanh(), tn.Dense(8, 3)],
        tn.SoftmaxCrossEntropy, "softmax", "labels", 0.3),
    "sigmoid + relu, CrossEntropy one-hot": (
        lambda: [tn.Dense(4, 6), tn.Sigmoid(), tn.Dense(6, 5), tn.ReLU(), tn.Dense(5, 4)],
        tn.SoftmaxCrossEntropy, "softmax", "one-hot", 0.0),
    "relu + tanh, MSE, L2": (
        lambda: [tn.Dense(4, 7), tn.ReLU(), tn.Dense(7, 5), tn.Tanh(), tn.Dense(5, 2)],
        tn.MeanSquaredError, "mse", "regression", 1.2),
}


def make_targets(kind, rng, m, n_out):
    if kind == "binary":
        return rng.integers(0, 2, size=m)
    if kind == "labels":
        return rng.integers(0, n_out, size=m)
    if kind == "one-hot":
        return np.eye(n_out)[rng.integers(0, n_out, size=m)]
    return rng.normal(size=(m, n_out))


@pytest.mark.parametrize("name", list(CASES))
def test_loss_and_flat_gradient_equal_pytorch(name):
    make_layers, make_loss, loss_name, target_kind, lambd = CASES[name]
    rng = np.random.default_rng(0)
    net = tn.Network(make_layers(), loss=make_loss(),
                     penalty=tn.L2(lambd) if lambd else None, seed=0)
    net.params[...] = rng.normal(size=net.params.size)
    X = rng.normal(size=(16, 4))
    y = make_targets(target_kind, rng, 16, net.n_outputs)
    model = to_torch(net)

    flat = torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy()
    np.testing.assert_array_equal(flat, net.params)  # same flat order: W then b, layer by layer

    J, g = net.cost_and_grad(X, y)
    J_torch, g_torch = torch_cost_and_grad(model, X, y, loss_name, lambd)
    assert J == pytest.approx(J_torch, rel=1e-12)
    np.testing.assert_allclose(g, g_torch, rtol=1e-12, atol=1e-13 * np.abs(g_torch).max())


def test_predict_proba_equals_pytorch_softmax():
    make_layers, make_loss, _, _, _ = CASES["tanh, CrossEntropy integer labels, L2"]
    rng = np.random.default_rng(1)
    net = tn.Network(make_layers(), loss=make_loss(), seed=1)
    X = rng.normal(size=(10, 4))
    with torch.no_grad():
        expected = torch.softmax(to_torch(net)(torch.from_numpy(X)), dim=1).numpy()
    np.testing.assert_allclose(net.predict_proba(X), expected, rtol=1e-12)
