"""tinynet's optimizers against torch.optim, step for step, with the mapping the README documents.

    SGD(lr)                     = torch.optim.SGD(lr=lr)
    Momentum(lr, beta)          = torch.optim.SGD(lr=lr * (1 - beta), momentum=beta)
    RMSProp(lr, beta, eps)      = torch.optim.RMSprop(lr=lr, alpha=beta, eps=eps)
    Adam(lr, beta1, beta2, eps) = torch.optim.Adam(lr=lr, betas=(beta1, beta2), eps=eps)
    L2(lambd)                   = weight_decay = lambd / m on the weights only (m: the batch size)
"""

import numpy as np
import pytest

import tinynet as tn

torch = pytest.importorskip("torch")

M, STEPS = 24, 6


def pair(lambd):
    """A tinynet network and its torch copy, and data."""
    net = tn.Network([tn.Dense(4, 6), tn.Tanh(), tn.Dense(6, 3)], loss=tn.SoftmaxCrossEntropy(),
                     penalty=tn.L2(lambd) if lambd else None, seed=0)
    rng = np.random.default_rng(0)
    return net, net.to_torch(), rng.normal(size=(M, 4)), rng.integers(0, 3, size=M)


def train_torch(model, X, y, make_optimizer, lambd):
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    biases = [m.bias for m in model if isinstance(m, torch.nn.Linear)]
    optimizer = make_optimizer([{"params": weights, "weight_decay": lambd / M},
                                {"params": biases, "weight_decay": 0.0}])
    for _ in range(STEPS):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        optimizer.step()
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy()


MAPPINGS = {
    "SGD": (lambda: tn.SGD(lr=0.3), lambda p: torch.optim.SGD(p, lr=0.3)),
    "Momentum": (lambda: tn.Momentum(lr=0.3, beta=0.9),
                 lambda p: torch.optim.SGD(p, lr=0.3 * (1 - 0.9), momentum=0.9)),
    "RMSProp": (lambda: tn.RMSProp(lr=0.01, beta=0.9, eps=1e-8),
                lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8)),
    "Adam": (lambda: tn.Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8),
             lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8)),
}


@pytest.mark.parametrize("lambd", [0.0, 0.7])
@pytest.mark.parametrize("name", list(MAPPINGS))
def test_optimizer_matches_torch_step_for_step_with_the_documented_mapping(name, lambd):
    ours, theirs = MAPPINGS[name]
    net, model, X, y = pair(lambd)
    start = net.params.copy()
    net.fit(X, y, epochs=STEPS, optimizer=ours(), progress=False)  # full batch: one step/epoch
    expected = train_torch(model, X, y, theirs, lambd)
    assert np.abs(expected - start).max() > 1e-3  # the steps moved the parameters
    np.testing.assert_allclose(net.params, expected, rtol=1e-10, atol=1e-13)


def test_momentum_is_not_torch_sgd_with_the_same_lr():
    # torch's buffer is Σ β^k g (no 1 − β) and starts at the first gradient, hence the mapping.
    net, model, X, y = pair(0.0)
    net.fit(X, y, epochs=STEPS, optimizer=tn.Momentum(lr=0.3, beta=0.9), progress=False)
    naive = train_torch(model, X, y, lambda p: torch.optim.SGD(p, lr=0.3, momentum=0.9), 0.0)
    assert np.abs(net.params - naive).max() > 1e-3
