"""Model files from earlier tinynet versions keep loading.

``tests/data/model_v1.npz`` was written by tinynet's file format version 1 and is checked in;
``tests/data/make_model_v1.py`` made it (see its docstring). Errors for missing, truncated,
corrupt, foreign, newer and version-less files are rows of ``tests/test_bad_inputs.py``; round
trips, the planted pickle trap and atomic writes are in ``tests/test_serialization.py``.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np

import tinynet as tn

DATA = Path(__file__).with_name("data")
V1 = DATA / "model_v1.npz"


def _script():
    spec = importlib.util.spec_from_file_location("make_model_v1", DATA / "make_model_v1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _softmax_forward(theta, X):
    """The fixture's network by hand: Dense 3-4, ReLU, (dropout off), Dense 4-5, LeakyReLU 0.2,
    Dense 5-2, softmax; theta laid out W1, b1, W2, b2, W3, b3 in C order."""
    out, start = X, 0
    for i, (n_in, n_out) in enumerate([(3, 4), (4, 5), (5, 2)]):
        W = theta[start:start + n_in * n_out].reshape(n_out, n_in)
        b = theta[start + n_in * n_out:start + n_in * n_out + n_out]
        start += n_in * n_out + n_out
        out = out @ W.T + b
        if i == 0:
            out = np.maximum(out, 0)
        elif i == 1:
            out = np.where(out > 0, out, 0.2 * out)
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_the_fixture_is_a_format_version_1_file_readable_without_pickle():
    with np.load(V1, allow_pickle=False) as data:
        assert set(data.files) == {"params", "architecture"}
        architecture = json.loads(str(data["architecture"]))
    assert architecture["format"] == "tinynet" and architecture["format_version"] == 1


def test_a_format_version_1_file_still_loads_with_its_parameters_and_architecture():
    net = tn.load(V1)
    theta = np.sin(np.arange(1, 54)) / 2  # the formula in make_model_v1.py
    assert net.params.dtype == np.float64
    assert net.params.tobytes() == theta.tobytes()
    assert [type(layer).__name__ for layer in net.layers] == [
        "Dense", "ReLU", "Dropout", "Dense", "LeakyReLU", "Dense"]
    assert net.layers[2].keep_prob == 0.8 and net.layers[4].alpha == 0.2
    assert isinstance(net.loss, tn.SoftmaxCrossEntropy) and net.penalty.lambd == 0.5
    assert list(net.parameters()) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(net.predict_proba(X), _softmax_forward(theta, X), rtol=1e-12)


def test_loading_does_not_modify_the_file():
    before = V1.read_bytes()
    tn.load(V1)
    assert V1.read_bytes() == before


def test_the_fixture_is_what_its_script_describes():
    script = _script()
    net = script.build()
    with np.load(V1, allow_pickle=False) as data:
        assert data["params"].tobytes() == net.params.tobytes()
        saved = json.loads(str(data["architecture"]))
    assert [layer["type"] for layer in saved["layers"]] == [type(l).__name__ for l in net.layers]
    assert saved["blocks"] == [[b.name, list(b.shape)] for b in net.blocks]
