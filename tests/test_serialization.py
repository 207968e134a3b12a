"""save / load: one .npz, bitwise round trips, never a pickle, clear errors, atomic writes."""

import json
import os
import zipfile

import numpy as np
import pytest

import tinynet as tn
from test_network import Scale


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

    with pytest.raises(tn.ModelFileError, match="object array.*never unpickles"):
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
        params, architecture = data["params"], json.loads(str(data["architecture"]))
    change(architecture)
    np.savez(path, params=params, architecture=np.array(json.dumps(architecture)))


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
        architecture = data["architecture"]
    np.savez(path, params=np.zeros(5), architecture=architecture)
    with pytest.raises(tn.ModelFileError, match="does not fit the architecture"):
        tn.load(path)


def test_an_unknown_layer_names_itself_and_how_to_register_it(tmp_path):
    path = tmp_path / "model.npz"
    make_net().save(path)
    _rewrite_architecture(path, lambda a: a["layers"][1].update(type="Swish"))
    with pytest.raises(tn.ModelFileError, match=r"unknown layer 'Swish'.*register_layer"):
        tn.load(path)


# ---- custom layers --------------------------------------------------------------------------

class _ScaleBase(Scale):
    """DESIGN.md's Scale made saveable: get_config returns its constructor arguments."""

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
    net = _custom_net(PassedScale)
    net.save(tmp_path / "m.npz")
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
