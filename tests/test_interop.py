"""The bridge to PyTorch: state dicts with torch's keys, to_torch, from_torch.

Expected values come from PyTorch itself (its modules, its state dict keys, its SGD), never
from tinynet. Tests that need torch skip without it.
"""

import sys

import numpy as np
import pytest

import tinynet as tn
from numeric import Scale


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def every_layer_network(seed=0):
    """One of each built-in layer, float64, with random parameters and running statistics."""
    layers = [tn.Dense(5, 8), tn.BatchNorm(8, momentum=0.2, eps=1e-4), tn.ReLU(), tn.Dense(8, 7),
              tn.LayerNorm(7, eps=1e-6), tn.Tanh(), tn.Dense(7, 6), tn.Sigmoid(), tn.Dense(6, 6),
              tn.LeakyReLU(alpha=0.2), tn.Dropout(keep_prob=0.75), tn.Dense(6, 3), tn.Softmax()]
    net = tn.Network(layers, loss=tn.MeanSquaredError(), seed=seed)
    rng = np.random.default_rng(seed)
    net.params[...] = rng.normal(size=net.params.size)
    layers[1].buffers["running_mean"] = rng.normal(size=8)
    layers[1].buffers["running_var"] = rng.uniform(0.5, 2.0, size=8)
    return net


def test_every_builtin_layer_exported_and_imported_computes_the_same(torch):
    net = every_layer_network()
    X = np.random.default_rng(1).normal(size=(20, 5))
    model = net.to_torch()
    assert isinstance(model, torch.nn.Sequential)
    assert list(net.state_dict()) == list(model.state_dict())
    assert [type(m).__name__ for m in model] == [
        "Linear", "BatchNorm1d", "ReLU", "Linear", "LayerNorm", "Tanh", "Linear", "Sigmoid",
        "Linear", "LeakyReLU", "Dropout", "Linear", "Softmax"]
    assert (model[1].momentum, model[1].eps, model[4].eps) == (0.2, 1e-4, 1e-6)
    assert model[9].negative_slope == 0.2 and model[10].p == pytest.approx(0.25)
    np.testing.assert_array_equal(model[1].running_var.numpy(),
                                  net.layers[1].buffers["running_var"])
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-12, atol=1e-12)

    back = tn.Network.from_torch(model, loss=tn.MeanSquaredError())
    assert list(back.state_dict()) == list(model.state_dict())
    assert back.dtype == np.float64 and back.layers[10].keep_prob == pytest.approx(0.75)
    assert back.layers[9].alpha == 0.2 and back.layers[1].momentum == 0.2
    np.testing.assert_array_equal(back.params, net.params)
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key], value, err_msg=key)
    np.testing.assert_allclose(back.forward(X), expected, rtol=1e-12, atol=1e-12)


def test_batch_norm_in_training_mode_updates_the_same_running_statistics(torch):
    net = tn.Network([tn.Dense(3, 4), tn.BatchNorm(4, momentum=0.3), tn.Dense(4, 2)],
                     loss=tn.MeanSquaredError(), seed=0)
    model = net.to_torch().train()
    X = np.random.default_rng(2).normal(loc=3.0, size=(16, 3))
    with torch.no_grad():
        expected = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.forward(X, training=True), expected, rtol=1e-12, atol=1e-12)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(net.layers[1].buffers[name], getattr(model[1], name).numpy(),
                                   rtol=1e-12, err_msg=name)


def test_dropout_in_training_mode_scales_like_torch(torch):
    # Both are inverted dropout: kept units are multiplied by 1/keep_prob = 1/(1 - p).
    net = tn.Network([tn.Dropout(keep_prob=0.8)], loss=tn.MeanSquaredError(), seed=0)
    x = np.ones((50, 40))
    ours = net.forward(x, training=True)
    torch.manual_seed(0)
    theirs = net.to_torch().train()(torch.from_numpy(x)).numpy()
    assert set(np.unique(ours)) == set(np.unique(theirs)) == {0.0, 1.25}


def test_a_native_torch_model_trained_5_sgd_steps_on_both_sides_ends_equal(torch):
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 6),
                          nn.LayerNorm(6), nn.ReLU(), nn.Linear(6, 3)).double()
    net = tn.Network.from_torch(model, loss=tn.SoftmaxCrossEntropy())
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(32, 4)), rng.integers(0, 3, size=32)

    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(5):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        optimizer.step()
    net.fit(X, y, epochs=5, optimizer=tn.SGD(lr=0.5), progress=False)  # full batch: 5 steps

    theirs = model.state_dict()
    assert list(net.state_dict()) == list(theirs)
    for key, value in net.state_dict().items():
        if key == "1.num_batches_tracked":  # torch's counter, unused with a momentum
            continue
        np.testing.assert_allclose(value, theirs[key].numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=key)
    assert not np.allclose(net.state_dict()["1.running_mean"], 0)  # the statistics moved too


def test_a_torch_models_gradients_can_be_checked_with_tinynet(torch):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 2))
    net = tn.Network.from_torch(model, loss=tn.SoftmaxCrossEntropy())
    assert net.dtype == np.float32  # the module's own dtype
    rng = np.random.default_rng(2)
    report = net.check_gradients(rng.normal(size=(8, 3)), rng.integers(0, 2, size=8))
    assert report.passed and set(report.blocks) == {"W1", "b1", "W2", "b2"}


def test_load_state_dict_takes_torch_tensors_and_numpy_arrays(torch):
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    net = tn.Network([tn.Dense(3, 4), tn.ReLU(), tn.Dense(4, 2)], loss=tn.MeanSquaredError())
    net.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(net.layers[2].params["W"], model[2].weight.detach().numpy())
    other = tn.Network([tn.Dense(3, 4), tn.ReLU(), tn.Dense(4, 2)], loss=tn.MeanSquaredError())
    other.load_state_dict(net.state_dict())
    np.testing.assert_array_equal(other.params, net.params)
    single = tn.Network([tn.Dense(3, 4)], loss=tn.MeanSquaredError(), dtype=np.float32)
    assert single.to_torch()[0].weight.dtype == torch.float32


def test_state_dict_holds_copies_keyed_like_a_sequential():
    net = tn.Network([tn.Dense(2, 3), tn.Tanh(), Scale(3), tn.Dense(3, 1)],
                     loss=tn.MeanSquaredError(), seed=0)
    state = net.state_dict()
    # A custom layer keeps its own array names, as a torch module would.
    assert list(state) == ["0.weight", "0.bias", "2.gamma", "3.weight", "3.bias"]
    np.testing.assert_array_equal(state["3.weight"], net.parameters()["W3"])
    state["0.weight"][...] = 7.0
    assert not np.any(net.layers[0].params["W"] == 7.0)


@pytest.mark.parametrize("change, error, words", [
    (lambda s: s.pop("2.bias"), KeyError, "missing keys ['2.bias']"),
    (lambda s: s.update({"3.weight": np.zeros((1, 4))}), KeyError, "unexpected keys ['3.weight']"),
    (lambda s: s.update({"layer0.weight": s.pop("0.weight")}), KeyError, "'layer0.weight'"),
    (lambda s: s.update({"2.weight": s["2.weight"].T}), ValueError, "must have shape (2, 4)"),
    (lambda s: s.update({"0.bias": np.zeros((4, 1))}), ValueError, "'0.bias'"),
    (lambda s: s["2.bias"].__setitem__(0, np.nan), ValueError, "NaN"),
    (lambda s: s.update({"0.weight": np.full((4, 3), "x")}), TypeError, "numeric"),
])
def test_load_state_dict_refuses_wrong_keys_and_shapes_and_changes_nothing(change, error, words):
    net = tn.Network([tn.Dense(3, 4), tn.ReLU(), tn.Dense(4, 2)], loss=tn.MeanSquaredError(),
                     seed=0)
    before = net.params.copy()
    state = tn.Network([tn.Dense(3, 4), tn.ReLU(), tn.Dense(4, 2)], loss=tn.MeanSquaredError(),
                       seed=1).state_dict()
    change(state)
    with pytest.raises(error) as info:
        net.load_state_dict(state)
    assert words in str(info.value)
    np.testing.assert_array_equal(net.params, before)


def test_from_torch_names_what_it_cannot_import(torch):
    nn = torch.nn
    with pytest.raises(TypeError, match=r"module\[1\] \(GELU.*no tinynet equivalent.*Linear"):
        tn.Network.from_torch(nn.Sequential(nn.Linear(2, 3), nn.GELU()), loss=tn.MeanSquaredError())
    with pytest.raises(ValueError, match=r"module\[0\].*bias=False"):
        tn.Network.from_torch(nn.Sequential(nn.Linear(2, 3, bias=False)), loss=tn.MeanSquaredError())
    with pytest.raises(TypeError, match="torch.nn.Sequential"):
        tn.Network.from_torch(nn.Linear(2, 3), loss=tn.MeanSquaredError())
    for module, words in ((nn.BatchNorm1d(3, momentum=None), "momentum=None"),
                          (nn.BatchNorm1d(3, affine=False), "affine=True"),
                          (nn.LayerNorm((2, 3)), "one axis"),
                          (nn.Softmax(dim=0), "Softmax\\(dim=1\\)")):
        with pytest.raises(ValueError, match=r"module\[1\].*" + words):
            tn.Network.from_torch(nn.Sequential(nn.Linear(2, 3), module),
                                  loss=tn.MeanSquaredError())


def test_to_torch_names_a_layer_without_a_torch_equivalent(torch):
    class MyReLU(tn.ReLU):  # a subclass may compute something else: it does not cross
        pass

    for layer in (Scale(3), MyReLU()):
        net = tn.Network([tn.Dense(2, 3), layer], loss=tn.MeanSquaredError())
        with pytest.raises(TypeError, match=r"layers\[1\] .*no PyTorch equivalent"):
            net.to_torch()


def test_without_torch_the_error_gives_the_cpu_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    net = tn.Network([tn.Dense(2, 3)], loss=tn.MeanSquaredError())
    with pytest.raises(ImportError, match=r"download\.pytorch\.org/whl/cpu"):
        net.to_torch()
    assert list(net.state_dict()) == ["0.weight", "0.bias"]  # needs no torch


def test_a_pickled_network_still_trains_through_its_flat_buffers():
    # joblib (GridSearchCV with n_jobs) pickles estimators, and so the Network inside them.
    import pickle
    net = tn.Network([tn.Dense(2, 4), tn.BatchNorm(4), tn.Tanh(), Scale(4), tn.Dense(4, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    copy = pickle.loads(pickle.dumps(net))
    with pytest.raises(KeyError, match="add_buffer"):  # still the buffers' own dictionary
        copy.layers[1].buffers["running_max"] = np.zeros(4)
    np.testing.assert_array_equal(copy.params, net.params)
    X, y = tn.datasets.moons(20, seed=0)
    copy.fit(X, y, epochs=3, optimizer=tn.SGD(lr=0.5), progress=False)
    assert not np.array_equal(copy.params, net.params)
    for block in copy.blocks:  # each layer still sees its slice of the flat vector
        layer = copy.layers[block.layer_index]
        assert np.shares_memory(layer.params[block.key], copy.params)
        assert np.shares_memory(layer.grads[block.key], copy.grads)
    np.testing.assert_array_equal(copy.forward(X), pickle.loads(pickle.dumps(copy)).forward(X))
    with pytest.raises(ValueError, match="already belongs to another Network"):
        tn.Network(copy.layers, loss=tn.SoftmaxCrossEntropy())  # the copy owns its layers too
