"""save / load: one .npz, bitwise round trips, never a pickle, clear errors, atomic writes."""

import json
import os
import zipfile

import numpy as np
import pytest

import tinynet as tn
from numeric import Scale


def make_net(dtype=np.float64, seed=0):
    return tn.Network([tn.Dense(3, 8, init="glorot"), tn.ReLU(), tn.Dropout(keep_prob=0.8),
                       tn.Dense(8, 6, init="normal", scale=0.5), tn.Tanh(), tn.Dense(6, 4)],
                      loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(lambd=0.7), seed=seed,
                      dtype=dtype)


X = np.random.default_rng(0).normal(size=(9, 3))


# ---- round trips ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_gives_bitwise_identical_parameters_and_predictions(tmp_path, dtype):
    net = make_net(dtype)
    net.params[...] = np.random.default_rng(1).normal(size=net.params.size)
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = tn.load(path)

    assert loaded.params.dtype == np.dtype(dtype)
    assert loaded.params.tobytes() == net.params.tobytes()
    assert loaded.predict_proba(X).tobytes() == net.predict_proba(X).tobytes()
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in net.layers]
    assert loaded.layers[2].keep_prob == 0.8
    assert isinstance(loaded.loss, tn.SoftmaxCrossEntropy)
    assert isinstance(loaded.penalty, tn.L2) and loaded.penalty.lambd == 0.7
    assert list(loaded.parameters()) == list(net.parameters())


def test_round_trip_keeps_the_training_cost_including_l2(tmp_path):
    net = make_net()
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = tn.load(path)
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0])
    # the seed is saved too: both draw the same dropout masks from a fresh generator
    assert loaded.cost(X, y) == net.cost(X, y)


def test_sigmoid_and_mse_networks_round_trip(tmp_path):
    for loss in (tn.SigmoidCrossEntropy(), tn.MeanSquaredError()):
        net = tn.Network([tn.Dense(3, 4), tn.LeakyReLU(alpha=0.2), tn.Dense(4, 1)], loss=loss,
                         seed=5)
        net.save(tmp_path / "m.npz")
        loaded = tn.load(tmp_path / "m.npz")
        assert type(loaded.loss) is type(loss)
        assert loaded.layers[1].alpha == 0.2
        assert loaded.forward(X).tobytes() == net.forward(X).tobytes()


def test_file_is_readable_with_numpy_without_pickle(tmp_path):
    net = make_net()
    path = tmp_path / "model.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {"params", "buffers", "architecture"}
        np.testing.assert_array_equal(data["params"], net.params)
        architecture = json.loads(str(data["architecture"]))
    assert architecture["format"] == "tinynet"
    assert [layer["type"] for layer in architecture["layers"]] == [
        "Dense", "ReLU", "Dropout", "Dense", "Tanh", "Dense"]


# ---- never unpickle -------------------------------------------------------------------------

def _create_marker(path):
    with open(path, "w") as f:
        f.write("unpickled!")
    return 0


class Trap:
    """Unpickling an instance creates a marker file: proof that pickle code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (_create_marker, (self.marker,))


@pytest.mark.parametrize("where", ["params", "extra key"])
def test_a_file_with_an_object_array_is_refused_without_unpickling(tmp_path, where):
    good = tmp_path / "good.npz"
    make_net().save(good)
    with np.load(good) as data:
        arrays = {key: data[key] for key in data.files}
    marker = tmp_path / "marker"
    trap = np.empty(1, dtype=object)
    trap[0] = Trap(marker)
    arrays["params" if where == "params" else "payload"] = trap
    evil = tmp_path / "evil.npz"
    np.savez(evil, allow_pickle=True, **arrays)

    # an object array in params is named; an extra member is refused without being read
    refusal = "object array.*never unpickles" if where == "params" \
        else r"members a format-2 model file does not have: \['payload'\]"
    with pytest.raises(tn.ModelFileError, match=refusal):
        tn.load(evil)
    assert not marker.exists()

    # the trap is real: a careless loader would have run it
    with np.load(evil, allow_pickle=True) as data:
        data["params" if where == "params" else "payload"]
    assert marker.exists()


# ---- files that are not models --------------------------------------------------------------

def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        tn.load(tmp_path / "nothing.npz")


def test_truncated_file_gets_a_clear_error(tmp_path):
    path = tmp_path / "model.npz"
    make_net().save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(tn.ModelFileError, match="not a readable .npz file"):
        tn.load(path)


def test_random_bytes_get_a_clear_error(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(np.random.default_rng(2).bytes(2000))
    with pytest.raises(tn.ModelFileError, match="not a readable .npz file"):
        tn.load(path)


def test_an_npz_without_our_keys_gets_a_clear_error(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.zeros(3), labels=np.arange(3))
    with pytest.raises(tn.ModelFileError, match=r"not a tinynet model.*\['labels', 'weights'\]"):
        tn.load(path)


def test_a_single_npy_array_gets_a_clear_error(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(tn.ModelFileError, match="single .npy array"):
        tn.load(path)


def _rewrite_architecture(path, change):
    with np.load(path) as data:
        arrays = dict(data)
    architecture = json.loads(str(arrays["architecture"]))
    change(architecture)
    np.savez(path, **dict(arrays, architecture=np.array(json.dumps(architecture))))


def test_a_newer_format_version_asks_to_upgrade(tmp_path):
    path = tmp_path / "model.npz"
    make_net().save(path)
    _rewrite_architecture(path, lambda a: a.update(format_version=99))
    with pytest.raises(tn.ModelFileError, match=r"newer tinynet \(file format 99\).*upgrade"):
        tn.load(path)


def test_parameters_that_do_not_fit_the_architecture_get_a_clear_error(tmp_path):
    path = tmp_path / "model.npz"
    make_net().save(path)
    with np.load(path) as data:
        arrays = dict(data)
    np.savez(path, **dict(arrays, params=np.zeros(5)))
    with pytest.raises(tn.ModelFileError,
                       match=r"'params' array has shape \(5,\), but the architecture record's "
                             r"blocks need \(114,\)"):
        tn.load(path)


def test_an_unknown_layer_names_itself_and_how_to_register_it(tmp_path):
    path = tmp_path / "model.npz"
    make_net().save(path)
    _rewrite_architecture(path, lambda a: a["layers"][1].update(type="Swish"))
    with pytest.raises(tn.ModelFileError, match=r"unknown layer 'Swish'.*tn\.register\(cls\)"):
        tn.load(path)


# ---- custom layers --------------------------------------------------------------------------

class _ScaleBase(Scale):
    """The README's Scale made saveable: get_config returns its constructor arguments."""

    def __init__(self, n):
        super().__init__(n)
        self.n = n

    def get_config(self):
        return {"n": self.n}


class RegisteredScale(_ScaleBase):
    pass


class PassedScale(_ScaleBase):
    pass


def _custom_net(cls):
    net = tn.Network([tn.Dense(3, 4), cls(4), tn.Dense(4, 2)], loss=tn.SoftmaxCrossEntropy(),
                     seed=3)
    net.parameters()["gamma2"][...] = [0.5, -1.0, 2.0, 3.0]
    return net


def test_custom_layer_loads_after_register_layer(tmp_path):
    assert tn.register_layer(RegisteredScale) is RegisteredScale
    net = _custom_net(RegisteredScale)
    net.save(tmp_path / "m.npz")
    loaded = tn.load(tmp_path / "m.npz")
    assert isinstance(loaded.layers[1], RegisteredScale)
    assert loaded.params.tobytes() == net.params.tobytes()
    np.testing.assert_array_equal(loaded.layers[1].params["gamma"], [0.5, -1.0, 2.0, 3.0])


def test_custom_layer_loads_with_custom_layers_and_not_without(tmp_path):
    tn.register(RegisteredScale)
    net = _custom_net(RegisteredScale)
    net.save(tmp_path / "m.npz")
    # as if saved by a program that registered PassedScale, loaded by one that did not
    _rewrite_architecture(tmp_path / "m.npz", lambda a: a["layers"][1].update(type="PassedScale"))
    with pytest.raises(tn.ModelFileError, match="unknown layer 'PassedScale'"):
        tn.load(tmp_path / "m.npz")
    loaded = tn.load(tmp_path / "m.npz", custom_layers={"PassedScale": PassedScale})
    assert isinstance(loaded.layers[1], PassedScale)
    assert loaded.forward(X).tobytes() == net.forward(X).tobytes()


def test_register_layer_refuses_what_is_not_a_layer_class():
    with pytest.raises(TypeError, match="Layer subclass"):
        tn.register_layer(RegisteredScale(2))


# ---- atomic saving --------------------------------------------------------------------------

def test_save_leaves_no_temporary_files_behind(tmp_path):
    net = make_net()
    net.save(tmp_path / "model.npz")
    net.save(tmp_path / "model.npz")  # overwrite
    assert os.listdir(tmp_path) == ["model.npz"]
    assert zipfile.is_zipfile(tmp_path / "model.npz")


def test_saved_file_gets_the_same_permissions_as_any_new_file(tmp_path):
    """Not the 0600 of a private temporary file: a saved model can be shared."""
    make_net().save(tmp_path / "model.npz")
    (tmp_path / "plain.txt").write_text("x")
    mode = os.stat(tmp_path / "model.npz").st_mode & 0o777
    assert mode == os.stat(tmp_path / "plain.txt").st_mode & 0o777


class NotJsonable(_ScaleBase):
    def get_config(self):
        return {"n": self.n, "when": object()}


def test_failed_save_leaves_the_existing_file_untouched(tmp_path):
    path = tmp_path / "model.npz"
    make_net().save(path)
    before = path.read_bytes()
    bad = tn.Network([tn.Dense(3, 4), NotJsonable(4), tn.Dense(4, 2)],
                     loss=tn.SoftmaxCrossEntropy())
    with pytest.raises(TypeError, match="NotJsonable.*get_config\\(\\) is not JSON-able"):
        bad.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_save_interrupted_while_writing_leaves_the_existing_file_and_no_temp_file(tmp_path,
                                                                                   monkeypatch):
    path = tmp_path / "model.npz"
    make_net().save(path)
    before = path.read_bytes()

    def half_write(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", half_write)
    with pytest.raises(OSError, match="disk full"):
        make_net(seed=1).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


# ---- tn.register: custom losses and penalties; save refuses what load could not rebuild -----

class HalfSquaredError:
    """A custom loss written from scratch: J = 1/(2m) Σ (s − y)², dscores = (s − y) / m."""

    def forward(self, scores, y):
        self.diff = scores - y.reshape(scores.shape)
        return 0.5 * float((self.diff ** 2).sum()) / scores.shape[0]

    def backward(self):
        return self.diff / self.diff.shape[0]


class L1:
    """A custom penalty: J += lambd/m Σ|W|, dW = lambd/m sign(W)."""

    def __init__(self, lambd):
        self.lambd = lambd

    def forward(self, weights, m):
        return self.lambd / m * sum(float(np.abs(W).sum()) for W in weights)

    def backward(self, weights, m):
        return [self.lambd / m * np.sign(W) for W in weights]

    def get_config(self):
        return {"lambd": self.lambd}


def test_a_registered_custom_loss_and_penalty_round_trip(tmp_path):
    assert tn.register(HalfSquaredError) is HalfSquaredError
    tn.register(L1)
    net = tn.Network([tn.Dense(3, 4), tn.Tanh(), tn.Dense(4, 1)], loss=HalfSquaredError(),
                     penalty=L1(0.3), seed=4)
    y = np.linspace(-1, 1, 9)
    net.save(tmp_path / "m.npz")
    loaded = tn.load(tmp_path / "m.npz")
    assert type(loaded.loss) is HalfSquaredError
    assert type(loaded.penalty) is L1 and loaded.penalty.lambd == 0.3
    assert loaded.params.tobytes() == net.params.tobytes()
    # the cost by hand: data loss plus the L1 term, from the loaded parameters
    W1, b1, W2, b2 = (loaded.parameters()[k] for k in ("W1", "b1", "W2", "b2"))
    scores = np.tanh(X @ W1.T + b1) @ W2.T + b2
    expected = 0.5 * ((scores[:, 0] - y) ** 2).mean() + 0.3 / 9 * (np.abs(W1).sum()
                                                                     + np.abs(W2).sum())
    assert loaded.cost(X, y) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("part", ["loss", "penalty", "layer"])
def test_save_refuses_an_unregistered_custom_class_and_says_how_to_fix_it(tmp_path, part):
    class Unknown(dict(loss=HalfSquaredError, penalty=L1, layer=_ScaleBase)[part]):
        pass

    pieces = {"loss": tn.MeanSquaredError(), "penalty": None,
              "layers": [tn.Dense(3, 4), tn.Dense(4, 1)]}
    if part == "layer":
        pieces["layers"].insert(1, Unknown(4))
    else:
        pieces[part] = Unknown() if part == "loss" else Unknown(0.1)
    net = tn.Network(pieces.pop("layers"), **pieces)
    with pytest.raises(TypeError, match=r"is a Unknown, which tn.load would not know; "
                                        r"call tn.register\(Unknown\) first"):
        net.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_save_refuses_the_readme_scale_layer_without_get_config(tmp_path):
    class ReadmeScale(Scale):  # Scale(n) with no get_config: load would call ReadmeScale()
        pass

    tn.register(ReadmeScale)
    net = tn.Network([tn.Dense(3, 4), ReadmeScale(4), tn.Dense(4, 2)],
                     loss=tn.SoftmaxCrossEntropy())
    with pytest.raises(TypeError, match=r"layers\[1\] .*ReadmeScale\(\*\*\{\}\) fails .*missing 1 "
                                        r"required positional argument: 'n'.*define "
                                        r"ReadmeScale\.get_config\(\) to return the arguments"):
        net.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_save_refuses_a_get_config_that_rebuilds_a_different_layer(tmp_path):
    class WrongConfig(_ScaleBase):
        def get_config(self):
            return {"n": self.n + 1}

    tn.register(WrongConfig)
    net = tn.Network([tn.Dense(3, 4), WrongConfig(4), tn.Dense(4, 2)],
                     loss=tn.SoftmaxCrossEntropy())
    with pytest.raises(TypeError, match=r"it has parameters \{'gamma': \(5,\)\}, not "
                                        r"\{'gamma': \(4,\)\}"):
        net.save(tmp_path / "m.npz")


def test_register_refuses_a_built_in_name_and_what_is_not_a_class():
    class Dense(tn.Layer):
        def forward(self, x, training=False):
            return x

        def backward(self, dout):
            return dout

    with pytest.raises(ValueError, match="Dense is the name of a built-in tinynet class"):
        tn.register(Dense)
    with pytest.raises(TypeError, match="register expects a class"):
        tn.register(L1(0.1))
    assert tn.register_layer is tn.register


def test_the_name_of_the_training_data_is_saved_with_the_model(tmp_path):
    net = make_net()
    assert net.trained_on is None
    net.trained_on = "moons"
    net.save(tmp_path / "m.npz")
    assert tn.load(tmp_path / "m.npz").trained_on == "moons"
    net.trained_on = 3
    with pytest.raises(TypeError, match=r"net\.trained_on must be None or the name of a data set"):
        net.save(tmp_path / "m.npz")
