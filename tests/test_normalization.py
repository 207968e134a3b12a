"""BatchNorm, LayerNorm, Softmax and layer buffers.

The expected values come from PyTorch (``BatchNorm1d``, ``LayerNorm``, ``softmax``, float64,
same inputs and upstream gradient) or from the formulas written out here, never from tinynet.
"""

import numpy as np
import pytest

import tinynet as tn
from tinynet.layers import Softmax
from tinynet.normalization import BatchNorm, LayerNorm

torch = pytest.importorskip("torch")


def torch_forward_backward(module, x, upstream):
    """-> (out, dx, {parameter name: gradient}) of a torch module in float64."""
    xt = torch.tensor(x, requires_grad=True)
    out = module(xt)
    out.backward(torch.tensor(upstream))
    grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    return out.detach().numpy(), xt.grad.numpy(), grads


def tinynet_forward_backward(layer, x, upstream, training=True):
    out = layer.forward(x, training=training)
    dx = layer.backward(upstream)
    return out, dx, {key: g.copy() for key, g in layer.grads.items()}


def bn_pair(n, gamma, beta, momentum=0.1, eps=1e-5):
    ours = tn.BatchNorm(n, momentum=momentum, eps=eps)
    theirs = torch.nn.BatchNorm1d(n, momentum=momentum, eps=eps, dtype=torch.float64)
    ours.params["gamma"], ours.params["beta"] = gamma, beta
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(gamma))
        theirs.bias.copy_(torch.tensor(beta))
    return ours, theirs


def test_batchnorm_training_forward_and_backward_match_torch():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(7, 4))
    upstream = rng.normal(size=(7, 4))
    ours, theirs = bn_pair(4, rng.normal(size=4), rng.normal(size=4))
    out, dx, grads = tinynet_forward_backward(ours, x, upstream)
    t_out, t_dx, t_grads = torch_forward_backward(theirs.train(), x, upstream)
    np.testing.assert_allclose(out, t_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, t_dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["gamma"], t_grads["weight"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["beta"], t_grads["bias"], rtol=1e-12, atol=1e-12)


def test_batchnorm_running_statistics_and_inference_match_torch_after_several_batches():
    rng = np.random.default_rng(1)
    ours, theirs = bn_pair(3, rng.normal(size=3), rng.normal(size=3), momentum=0.3)
    for m in (5, 2, 9, 4):                          # batch sizes differ: m/(m−1) differs too
        x = rng.normal(-1.0, 3.0, size=(m, 3))
        ours.forward(x, training=True)
        theirs.train()(torch.tensor(x))
    running = ours.buffers
    np.testing.assert_allclose(running["running_mean"], theirs.running_mean.numpy(), rtol=1e-13)
    np.testing.assert_allclose(running["running_var"], theirs.running_var.numpy(), rtol=1e-13)

    x = rng.normal(size=(6, 3))
    upstream = rng.normal(size=(6, 3))
    out, dx, grads = tinynet_forward_backward(ours, x, upstream, training=False)
    t_out, t_dx, t_grads = torch_forward_backward(theirs.eval(), x, upstream)
    np.testing.assert_allclose(out, t_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, t_dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["gamma"], t_grads["weight"], rtol=1e-12, atol=1e-12)


def test_batchnorm_running_statistics_follow_the_formula():
    x = np.array([[1.0, 10.0], [3.0, 10.0], [8.0, 16.0]])
    layer = tn.BatchNorm(2, momentum=0.25)
    layer.forward(x, training=True)
    mean = x.mean(axis=0)
    unbiased = ((x - mean) ** 2).sum(axis=0) / (3 - 1)
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.25 * mean)
    np.testing.assert_allclose(layer.buffers["running_var"], 0.75 * 1 + 0.25 * unbiased)


def test_batchnorm_inference_does_not_touch_the_running_statistics():
    layer = tn.BatchNorm(2)
    layer.forward(np.array([[1.0, 2.0], [3.0, 5.0]]), training=True)
    before = {k: v.copy() for k, v in layer.buffers.items()}
    layer.forward(np.array([[7.0, -2.0]]), training=False)
    for key, value in before.items():
        np.testing.assert_array_equal(layer.buffers[key], value)


def test_batchnorm_in_training_mode_refuses_one_example_before_changing_anything():
    net = tn.Network([tn.Dense(2, 3), tn.BatchNorm(3), tn.Dense(3, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    bn = net.layers[1]
    with pytest.raises(ValueError, match=r"at least 2 examples.*training=False"):
        net.cost(np.ones((1, 2)), [0])
    np.testing.assert_array_equal(bn.buffers["running_mean"], np.zeros(3))
    np.testing.assert_array_equal(bn.buffers["running_var"], np.ones(3))
    assert net.predict(np.ones((1, 2))).shape == (1,)   # inference works on one example


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "n must be a positive int"),
    ({"n": 3, "momentum": 1.5}, r"momentum must be in \[0, 1\]"),
    ({"n": 3, "eps": 0}, "eps must be a positive"),
])
def test_batchnorm_refuses_bad_arguments_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tn.BatchNorm(**kwargs)


def test_batchnorm_names_a_wrong_input_width():
    with pytest.raises(ValueError, match=r"BatchNorm\(n=3.*\(m, 3\)"):
        tn.BatchNorm(3).forward(np.ones((4, 2)), training=True)
    with pytest.raises(ValueError, match="normalizes 3 features but the layer before it "
                                         "produces 4"):
        tn.Network([tn.Dense(2, 4), tn.BatchNorm(3)], loss=tn.MeanSquaredError())


def test_layernorm_forward_and_backward_match_torch():
    rng = np.random.default_rng(2)
    x = rng.normal(2.0, 3.0, size=(5, 6))
    upstream = rng.normal(size=(5, 6))
    gamma, beta = rng.normal(size=6), rng.normal(size=6)
    ours = tn.LayerNorm(6, eps=1e-4)
    ours.params["gamma"], ours.params["beta"] = gamma, beta
    theirs = torch.nn.LayerNorm(6, eps=1e-4, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(gamma))
        theirs.bias.copy_(torch.tensor(beta))
    out, dx, grads = tinynet_forward_backward(ours, x, upstream)
    t_out, t_dx, t_grads = torch_forward_backward(theirs, x, upstream)
    np.testing.assert_allclose(out, t_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, t_dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["gamma"], t_grads["weight"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["beta"], t_grads["bias"], rtol=1e-12, atol=1e-12)
    # the same in inference: no running statistics
    np.testing.assert_array_equal(ours.forward(x, training=False), out)


def test_softmax_forward_and_backward_match_torch_even_for_large_scores():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 5)) * 30 + np.array([[0.0], [800.0], [-800.0], [0.0]])
    upstream = rng.normal(size=(4, 5))
    out, dx, _ = tinynet_forward_backward(Softmax(), x, upstream)
    xt = torch.tensor(x, requires_grad=True)
    t_out = torch.softmax(xt, dim=1)
    t_out.backward(torch.tensor(upstream))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_softmax_then_mean_squared_error_trains_like_any_layer():
    net = tn.Network([tn.Dense(2, 3), tn.Softmax()], loss=tn.MeanSquaredError(), seed=0)
    X = np.random.default_rng(4).normal(size=(10, 2))
    probabilities = net.forward(X)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert net.check_gradients(X, np.eye(3)[np.arange(10) % 3]).passed


def test_the_layers_are_importable_from_their_modules_and_as_tn_names():
    assert tn.BatchNorm is BatchNorm and tn.LayerNorm is LayerNorm and tn.Softmax is Softmax


# ---- buffers -----------------------------------------------------------------------

class RunningMax(tn.Layer):
    """A custom layer with a buffer: the identity that remembers the largest input seen."""

    rowwise = True

    def __init__(self):
        super().__init__()
        self.add_buffer("seen_max", np.zeros(1))

    def forward(self, x, training=False):
        if training:
            self.buffers["seen_max"] = np.maximum(self.buffers["seen_max"], x.max())
        return x

    def backward(self, dout):
        return dout

    def out_features(self, n_in):
        return n_in


def test_buffers_are_not_parameters():
    net = tn.Network([tn.Dense(2, 3), tn.BatchNorm(3), tn.Dense(3, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    assert net.n_params == (6 + 3) + (3 + 3) + (6 + 2)                    # no running statistics
    assert sorted(net.parameters()) == ["W1", "W3", "b1", "b3", "beta2", "gamma2"]
    bn = net.layers[1]
    assert sorted(bn.buffers) == ["running_mean", "running_var"]
    assert sorted(bn.grads) == ["beta", "gamma"]
    assert not any(np.shares_memory(b, net.params) for b in bn.buffers.values())


def test_the_summary_shows_the_buffers():
    net = tn.Network([tn.Dense(2, 3), tn.BatchNorm(3), tn.Dense(3, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    text = net.summary()
    assert "gamma2 (3,), beta2 (3,); buffers running_mean (3,), running_var (3,)" in text
    assert f"{(6 + 3) + (3 + 3) + (6 + 2)} parameters" in text


def test_a_custom_layer_buffer_is_written_into_and_follows_the_network_dtype():
    layer = RunningMax()
    net = tn.Network([tn.Dense(2, 2), layer], loss=tn.MeanSquaredError(), seed=0,
                     dtype=np.float32)
    array = layer.buffers["seen_max"]
    assert array.dtype == np.float32
    net.cost(np.array([[3.0, -1.0], [0.5, 2.0]]), np.zeros((2, 2)))
    assert layer.buffers["seen_max"] is array and array[0] > 0
    with pytest.raises(ValueError, match=r"buffers\['seen_max'\] must have shape \(1,\)"):
        layer.buffers["seen_max"] = np.zeros(2)
    with pytest.raises(KeyError, match=r"self.add_buffer\('other'"):
        layer.buffers["other"] = np.zeros(1)
    with pytest.raises(AttributeError, match="cannot be replaced"):
        layer.buffers = {}


def test_add_buffer_refuses_a_name_taken_by_a_parameter_and_bad_values():
    layer = tn.BatchNorm(2)
    with pytest.raises(ValueError, match="already has a parameter or buffer 'gamma'"):
        layer.add_buffer("gamma", np.zeros(2))
    with pytest.raises(ValueError, match="buffer 'count' contains NaN"):
        layer.add_buffer("count", np.array([np.nan]))


def test_fit_names_a_last_mini_batch_of_one_example_for_batchnorm():
    X, y = tn.datasets.moons(65, seed=0)
    net = tn.Network([tn.Dense(2, 4), tn.BatchNorm(4), tn.Dense(4, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    with pytest.raises(ValueError, match=r"batch_size .* one example \(m % batch_size == 1\)"):
        net.fit(X, y, epochs=1, batch_size=64, progress=False)
    net.fit(X, y, epochs=1, batch_size=13, progress=False)           # 65 = 5 · 13


def test_a_batchnorm_network_trains_and_predicts_in_inference_mode():
    X, y = tn.datasets.moons(200, noise=0.1, seed=0)
    net = tn.Network([tn.Dense(2, 16), tn.BatchNorm(16), tn.ReLU(), tn.Dense(16, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    net.fit(X, y, epochs=30, batch_size=32, optimizer=tn.Adam(lr=0.01), progress=False)
    assert net.score(X, y) > 0.9
    bn = net.layers[1]
    assert not np.allclose(bn.buffers["running_mean"], 0)


# ---- saving and loading ------------------------------------------------------------

def trained_batchnorm_net():
    X, y = tn.datasets.moons(120, noise=0.2, seed=1)
    net = tn.Network([tn.Dense(2, 8), tn.BatchNorm(8, momentum=0.2), tn.Tanh(), tn.Dense(8, 8),
                      tn.LayerNorm(8), tn.ReLU(), tn.Dense(8, 2), tn.Softmax()],
                     loss=tn.MeanSquaredError(), seed=3)
    net.fit(X, np.eye(2)[y], epochs=5, batch_size=16, progress=False)
    return net, X


def test_a_batchnorm_network_round_trips_with_identical_inference_predictions(tmp_path):
    net, X = trained_batchnorm_net()
    path = tmp_path / "bn.npz"
    net.save(path)
    loaded = tn.load(path)
    np.testing.assert_array_equal(loaded.forward(X), net.forward(X))
    for ours, theirs in zip(net.layers, loaded.layers):
        assert type(ours) is type(theirs) and ours.get_config() == theirs.get_config()
        for key in ours.buffers:
            np.testing.assert_array_equal(theirs.buffers[key], ours.buffers[key])
    with np.load(path, allow_pickle=False) as data:               # no pickle needed to read it
        bn = net.layers[1]
        np.testing.assert_array_equal(data["buffers"],
                                      np.concatenate([bn.buffers["running_mean"],
                                                      bn.buffers["running_var"]]))


def test_a_file_whose_buffers_do_not_fit_is_refused(tmp_path):
    import json
    net, _ = trained_batchnorm_net()
    path = tmp_path / "bn.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as data:
        arrays = dict(data)
    arrays["buffers"] = arrays["buffers"][:-1]
    np.savez(tmp_path / "short.npz", **arrays)
    with pytest.raises(tn.ModelFileError, match="buffers .* do not fit"):
        tn.load(tmp_path / "short.npz")
    del arrays["buffers"]
    np.savez(tmp_path / "none.npz", **arrays)
    with pytest.raises(tn.ModelFileError, match="has no buffers array"):
        tn.load(tmp_path / "none.npz")
    assert json.loads(str(arrays["architecture"]))["buffers"][0] == [1, "running_mean", [8]]


# ---- the gradient checker on normalization layers ----------------------------------

class HandBatchNorm(tn.Layer):
    """Batch normalization written by a learner, backward staged through μ and σ² step by step."""

    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.add_param("gamma", np.ones(n))
        self.add_param("beta", np.zeros(n))

    def forward(self, x, training=False):
        self.x = x
        self.mu = x.mean(axis=0)
        self.var = ((x - self.mu) ** 2).mean(axis=0)
        self.xhat = (x - self.mu) / np.sqrt(self.var + self.eps)
        return self.params["gamma"] * self.xhat + self.params["beta"]

    def backward(self, dout):
        m = dout.shape[0]
        self.grads["gamma"] = (dout * self.xhat).sum(axis=0)
        self.grads["beta"] = dout.sum(axis=0)
        dxhat = dout * self.params["gamma"]
        dvar = (dxhat * (self.x - self.mu)).sum(axis=0) * -0.5 * (self.var + self.eps) ** -1.5
        dmu = -(dxhat / np.sqrt(self.var + self.eps)).sum(axis=0) \
            + dvar * (-2 * (self.x - self.mu)).mean(axis=0)
        return dxhat / np.sqrt(self.var + self.eps) + dvar * 2 * (self.x - self.mu) / m + dmu / m


class ConstantStatsBatchNorm(HandBatchNorm):
    """The classic bug: μ and σ² treated as constants in backward."""

    def backward(self, dout):
        self.grads["gamma"] = (dout * self.xhat).sum(axis=0)
        self.grads["beta"] = dout.sum(axis=0)
        return dout * self.params["gamma"] / np.sqrt(self.var + self.eps)


def bn_net(norm=tn.BatchNorm, seed=0):
    return tn.Network([tn.Dense(3, 6), norm(6), tn.Tanh(), tn.Dense(6, 5), tn.BatchNorm(5),
                       tn.ReLU(), tn.Dense(5, 3)], loss=tn.SoftmaxCrossEntropy(),
                      penalty=tn.L2(0.1), seed=seed)


def bn_data(m=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, 3)), rng.integers(0, 3, size=m)


def buffers_of(net_or_layer):
    layers = getattr(net_or_layer, "layers", [net_or_layer])
    return [(k, v.copy()) for layer in layers for k, v in layer.buffers.items()]


def assert_same_buffers(before, after):
    assert [k for k, _ in before] == [k for k, _ in after]
    for (_, a), (_, b) in zip(before, after):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("make, training", [
    (lambda: tn.BatchNorm(4, momentum=0.3), True), (lambda: tn.BatchNorm(4), False),
    (lambda: HandBatchNorm(4), True), (lambda: tn.LayerNorm(4), True), (Softmax, True)])
def test_check_layer_passes_on_correct_normalization_layers(make, training):
    layer = make()
    x = np.random.default_rng(5).normal(1.0, 2.0, size=(6, 4))
    if layer.buffers:                              # running statistics away from their start
        layer.forward(x * 3 + 1, training=True)
    before = buffers_of(layer)
    report = tn.check_layer(layer, x, training=training)
    assert report.passed, report
    assert_same_buffers(before, buffers_of(layer))


def test_check_layer_catches_batchnorm_with_constant_statistics():
    x = np.random.default_rng(6).normal(size=(6, 4))
    report = tn.check_layer(ConstantStatsBatchNorm(4), x)
    assert report.failed == ["x"] and report.blocks["x"] > 1e-3
    assert tn.check_layer(HandBatchNorm(4), x).passed


@pytest.mark.parametrize("mode", ["full", "sample", "screen"])
def test_check_gradients_passes_on_a_batchnorm_network_and_keeps_its_running_statistics(mode):
    net = bn_net()
    X, y = bn_data()
    net.fit(X, y, epochs=3, batch_size=4, progress=False)          # statistics off their start
    before, theta = buffers_of(net), net.params.copy()
    report = net.check_gradients(X, y, mode=mode)
    assert report.passed, report
    assert_same_buffers(before, buffers_of(net))
    assert net.params.tobytes() == theta.tobytes()


def test_check_gradients_passes_on_layernorm_and_softmax_networks():
    X, y = bn_data(seed=1)
    net = tn.Network([tn.Dense(3, 6), tn.LayerNorm(6), tn.Tanh(), tn.Dense(6, 3), tn.Softmax()],
                     loss=tn.MeanSquaredError(), seed=1)
    assert net.check_gradients(X, np.eye(3)[y]).passed


@pytest.mark.parametrize("mode", ["full", "sample", "screen"])
def test_check_gradients_catches_the_constant_statistics_bug_in_a_network(mode):
    X, y = bn_data(seed=2)
    assert bn_net(HandBatchNorm, seed=2).check_gradients(X, y, mode=mode).passed
    report = bn_net(ConstantStatsBatchNorm, seed=2).check_gradients(X, y, mode=mode)
    assert report.failed == ["W1", "b1"]         # the blocks below the faulty batch norm


def test_a_gradient_check_callback_does_not_change_training_of_a_batchnorm_network():
    X, y = bn_data(m=16, seed=3)
    checked, plain = bn_net(seed=3), bn_net(seed=3)
    callback = tn.GradientCheck(X, y, every=1)
    checked.fit(X, y, epochs=3, batch_size=8, callbacks=[callback], progress=False)
    plain.fit(X, y, epochs=3, batch_size=8, progress=False)
    assert len(callback.reports) == 4 and all(r.passed for _, r in callback.reports)
    assert checked.params.tobytes() == plain.params.tobytes()
    assert_same_buffers(buffers_of(plain), buffers_of(checked))


class BatchCenter(tn.Layer):
    """Subtracts the batch mean of each feature and scales by a learnable gamma: mixes examples."""

    def __init__(self, n):
        super().__init__()
        self.add_param("gamma", np.full(n, 1.5))

    def forward(self, x, training=False):
        self.centered = x - x.mean(axis=0)
        return self.centered * self.params["gamma"]

    def backward(self, dout):
        self.grads["gamma"] = (dout * self.centered).sum(axis=0)
        g = dout * self.params["gamma"]
        return g - g.mean(axis=0)


class WholeBatchNorm(tn.BatchNorm):
    """Inherits BatchNorm but normalizes with the mean and variance of the whole batch, all
    features together: its output columns depend on every input column."""

    def forward(self, x, training=False):
        self.mu, self.var = x.mean(), x.var()
        self.xhat = (x - self.mu) / np.sqrt(self.var + self.eps)
        return self.params["gamma"] * self.xhat + self.params["beta"]

    def backward(self, dout):
        self.grads["gamma"] = (dout * self.xhat).sum(axis=0)
        self.grads["beta"] = dout.sum(axis=0)
        dxhat = dout * self.params["gamma"]
        return (dxhat - dxhat.mean() - self.xhat * (dxhat * self.xhat).mean()) \
            / np.sqrt(self.var + self.eps)


@pytest.mark.parametrize("middle", [BatchCenter, WholeBatchNorm])
def test_layers_that_mix_examples_are_checked_without_stacking_batches(middle):
    """Stacking perturbed batches (or reusing BatchNorm's per-feature path) would mix
    statistics across perturbations and fail these correct layers."""
    X, y = bn_data(m=10, seed=4)
    net = tn.Network([tn.Dense(3, 6), middle(6), tn.Tanh(), tn.Dense(6, 4), middle(4), tn.Tanh(),
                      tn.Dense(4, 3)], loss=tn.SoftmaxCrossEntropy(), seed=4)
    assert tn.check_layer(middle(4), X[:, :3] @ np.ones((3, 4)) + X[:, :1]).passed
    for mode in ("full", "screen"):
        report = net.check_gradients(X, y, mode=mode)
        assert report.passed, report


def test_the_report_notes_a_bias_that_feeds_a_batchnorm():
    X, y = bn_data(seed=5)
    report = bn_net(seed=5).check_gradients(X, y)
    assert report.passed
    bias_notes = [n for n in report.notes if "b can be eliminated" in n]
    assert [n.split()[0] for n in bias_notes] == ["b1", "b3"]      # both feed a BatchNorm
    worst = report.results["b1"].worst[0]
    assert abs(worst.analytic) < 1e-15 and abs(worst.numeric) < 1e-8          # 0 up to round-off
    plain = tn.Network([tn.Dense(3, 6), tn.Tanh(), tn.Dense(6, 3)], loss=tn.SoftmaxCrossEntropy())
    assert not [n for n in plain.check_gradients(X, y).notes if "eliminated" in n]
