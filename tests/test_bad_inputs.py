"""The bad-input table: every mistake a learner makes at the public boundary gets an error
that names the argument, and nothing changes before it is raised.

One row = (id, the bad call made against a fresh setup, expected exception, message fragment).
Before each call the test snapshots every network's parameters and gradients, every random
generator, the optimizer's state and every file in the working folder; after the expected
error it asserts all of them are bit-for-bit the same.
"""

import contextlib
import io
import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

import tinynet as tn
from numeric import Scale
from tinynet.cli import main as cli_main


class CommandLineError(Exception):
    """The command line exited with a non-zero code; the message is what it printed to stderr."""


def cli(*argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli_main(list(argv))
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
    if code:
        raise CommandLineError(f"exit {code}: {err.getvalue()}")


# ---------------------------------------------------------------------------- the setup

def softmax_net(dtype=np.float64):
    return tn.Network([tn.Dense(3, 4), tn.ReLU(), tn.Dropout(keep_prob=0.8), tn.Dense(4, 3)],
                      loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(lambd=0.1), seed=0,
                      dtype=dtype)


def _write_model_with(path, params=None, change=None):
    """Save a good model to ``path``, then replace its params and/or edit its architecture."""
    softmax_net().save(path)
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    architecture = json.loads(str(arrays["architecture"]))
    if change is not None:
        change(architecture)
    arrays["architecture"] = np.array(json.dumps(architecture))
    if params is not None:
        arrays["params"] = params
    np.savez(path, allow_pickle=params is not None and params.dtype == object, **arrays)


def _object_params(size):
    array = np.empty(size, dtype=object)
    array[:] = 0.0
    return array


@pytest.fixture
def setup(tmp_path):
    rng = np.random.default_rng(42)
    c = SimpleNamespace(dir=tmp_path, rng=rng)
    c.X = rng.normal(size=(6, 3))
    c.y = np.array([0, 1, 2, 0, 1, 2])
    c.net = softmax_net()
    c.net.cost_and_grad(c.X, c.y)  # non-zero gradients, so that wiping them would show
    c.net32 = softmax_net(np.float32)
    c.sig = tn.Network([tn.Dense(3, 4), tn.Tanh(), tn.Dense(4, 1)], loss=tn.SigmoidCrossEntropy(),
                       seed=1)
    c.mse = tn.Network([tn.Dense(3, 2)], loss=tn.MeanSquaredError(), seed=2)
    c.nets = [c.net, c.net32, c.sig, c.mse]
    c.opt = tn.Adam(lr=0.01)
    c.opt.step(np.zeros(c.net.n_params), np.ones(c.net.n_params))  # the optimizer has state
    c.model = tmp_path / "model.npz"
    c.net.save(c.model)
    n = c.net.n_params
    bad = tmp_path / "bad"
    bad.mkdir()
    c.truncated = bad / "truncated.npz"
    c.truncated.write_bytes(c.model.read_bytes()[:300])
    c.object_array = bad / "object_array.npz"
    _write_model_with(c.object_array, params=_object_params(n))
    c.nan_params = bad / "nan_params.npz"
    _write_model_with(c.nan_params, params=np.full(n, np.nan))
    c.int_params = bad / "int_params.npz"
    _write_model_with(c.int_params, params=np.zeros(n, dtype=np.int64))
    c.newer = bad / "newer.npz"
    _write_model_with(c.newer, change=lambda a: a.update(format_version=99))
    c.no_version = bad / "no_version.npz"
    _write_model_with(c.no_version, change=lambda a: a.pop("format_version"))
    c.bad_config = bad / "bad_config.npz"
    _write_model_with(c.bad_config, change=lambda a: a["layers"][2]["config"].update(keep_prob=5))
    c.foreign = bad / "foreign.npz"
    np.savez(c.foreign, weights=np.zeros(3))
    c.text = bad / "notes.npz"
    c.text.write_text("these are my notes, not a model")
    return c


def _good_parameters(c, **replace):
    values = {name: view.copy() for name, view in c.net.parameters().items()}
    values.update(replace)
    return values


def _snapshot(c):
    files = {p.relative_to(c.dir): p.read_bytes() for p in sorted(c.dir.rglob("*")) if p.is_file()}
    nets = [(net.params.tobytes(), net.params.dtype, net.grads.tobytes(),
             net.rng.bit_generator.state, [layer.rng.bit_generator.state for layer in net.layers],
             [getattr(layer, "keep_prob", None) for layer in net.layers], net.penalty)
            for net in c.nets]
    optimizer = (c.opt.t, c.opt.lr, {k: v.tobytes() for k, v in c.opt._state.items()})
    return files, nets, optimizer


def _fit(c, **kwargs):
    return c.net.fit(c.X, c.y, **{"epochs": 2, "progress": False, **kwargs})


def _column(c):
    return c.y[:, None]


# ---------------------------------------------------------------------------- the table

ROWS = [
    # ---- constructors: layers, losses, penalties, networks, optimizers, callbacks
    ("Dense n_in 0", lambda c: tn.Dense(0, 3), ValueError, r"n_in must be a positive int, got 0"),
    ("Dense n_out float", lambda c: tn.Dense(3, 2.5), TypeError, r"n_out must be a positive int, got 2\.5"),
    ("Dense unknown init", lambda c: tn.Dense(3, 2, init="kaiming"), ValueError,
     r"unknown init 'kaiming'; expected one of 'he'"),
    ("Dense scale str", lambda c: tn.Dense(3, 2, scale="big"), TypeError,
     r"scale must be a finite number >= 0, got str 'big'"),
    ("Dense seed str", lambda c: tn.Dense(3, 2, seed="0"), TypeError,
     r"seed must be None or an int >= 0, got str '0'"),
    ("Dense init callable NaN", lambda c: tn.Dense(3, 2, init=lambda shape, rng: np.full(shape, np.nan)),
     ValueError, r"init callable returned NaN or inf"),
    ("Dropout keep_prob 0", lambda c: tn.Dropout(keep_prob=0), ValueError, r"keep_prob must be in \(0, 1\], got 0"),
    ("Dropout keep_prob str", lambda c: tn.Dropout(keep_prob="0.5"), TypeError, r"keep_prob must be a number"),
    ("LeakyReLU alpha 1", lambda c: tn.LeakyReLU(alpha=1.0), ValueError, r"alpha must be in \[0, 1\)"),
    ("L2 negative lambd", lambda c: tn.L2(lambd=-0.7), ValueError, r"lambd must be a finite number >= 0, got -0\.7"),
    ("Network sizes do not chain", lambda c: tn.Network([tn.Dense(3, 4), tn.ReLU(), tn.Dense(5, 2)],
                                                        loss=tn.SoftmaxCrossEntropy()),
     ValueError, r"Dense\(5 -> 2\) expects 5 input features but the layer before it produces 4"),
    ("Network loss class", lambda c: tn.Network([tn.Dense(3, 2)], loss=tn.SoftmaxCrossEntropy),
     TypeError, r"SoftmaxCrossEntropy\(\), not the class"),
    ("Network dtype int", lambda c: tn.Network([tn.Dense(3, 2)], loss=tn.SoftmaxCrossEntropy(), dtype=np.int32),
     ValueError, r"dtype must be np\.float32 or np\.float64, got int32"),
    ("Network dtype unknown name", lambda c: tn.Network([tn.Dense(3, 2)], loss=tn.SoftmaxCrossEntropy(),
                                                        dtype="float"+"65"),
     TypeError, r"dtype must be np\.float32 or np\.float64, got 'float65'"),
    ("Network seed negative", lambda c: tn.Network([tn.Dense(3, 2)], loss=tn.SoftmaxCrossEntropy(), seed=-1),
     ValueError, r"seed must be None or an int >= 0, got -1"),
    ("Network penalty str", lambda c: tn.Network([tn.Dense(3, 2)], loss=tn.SoftmaxCrossEntropy(), penalty="l2"),
     TypeError, r"penalty must be None or an object like L2\(lambd\), got 'l2'"),
    ("Adam beta1 1", lambda c: tn.Adam(beta1=1.0), ValueError, r"beta1 must be in \[0, 1\), got 1\.0"),
    ("SGD lr str", lambda c: tn.SGD(lr="0.1"), TypeError, r"lr must be a positive number, got '0\.1'"),
    ("EarlyStopping patience -1", lambda c: tn.EarlyStopping(patience=-1), ValueError,
     r"patience must be an int >= 0, got -1"),

    # ---- data given to cost / cost_and_grad / score / predict*
    ("cost X 1-D", lambda c: c.net.cost(c.X[0], c.y[:1]), ValueError,
     r"X must be 2-D \(m, 3\) .*got shape \(3,\).*X\.reshape\(1, -1\)"),
    ("cost X transposed", lambda c: c.net.cost(c.X.T, c.y[:3]), ValueError, r"did you pass X\.T\?"),
    ("cost X NaN", lambda c: c.net.cost(np.where(c.X > 1, np.nan, c.X), c.y), ValueError, r"X contains NaN or inf"),
    ("cost X strings", lambda c: c.net.cost(c.X.astype(str), c.y), TypeError, r"X must be numeric, got dtype <U"),
    ("cost X None", lambda c: c.net.cost(None, c.y), TypeError, r"X must be a 2-D numeric array \(m, 3\), got NoneType"),
    ("cost X empty", lambda c: c.net.cost(np.zeros((0, 3)), c.y[:0]), ValueError, r"X has no examples"),
    ("cost y too short", lambda c: c.net.cost(c.X, c.y[:5]), ValueError, r"X has 6 rows, y has 5"),
    ("cost label out of range", lambda c: c.net.cost(c.X, c.y + 1), ValueError,
     r"labels must be in 0\.\.2 for a network with 3 outputs, got values from 1 to 3"),
    ("cost fractional labels", lambda c: c.net.cost(c.X, c.y / 2), ValueError, r"labels y must be whole numbers"),
    ("cost labels as a column", lambda c: c.net.cost(c.X, _column(c)), ValueError,
     r"labels y must be 1-D \(m,\), got shape \(6, 1\)"),
    ("cost labels strings", lambda c: c.net.cost(c.X, np.array(list("abcabc"))), TypeError, r"y must be numeric"),
    ("cost_and_grad one-hot too wide", lambda c: c.net.cost_and_grad(c.X, np.eye(4)[c.y]), ValueError,
     r"one-hot y has 4 columns but the network has 3 outputs"),
    ("score NaN label", lambda c: c.net.score(c.X, np.where(c.y == 2, np.nan, c.y)), ValueError,
     r"y contains NaN or inf"),
    ("predict wrong feature count", lambda c: c.net.predict(c.X[:, :2]), ValueError,
     r"X has 2 features but the network expects 3"),
    ("predict_proba with MSE", lambda c: c.mse.predict_proba(c.X), TypeError,
     r"predict_proba needs a classification loss"),
    ("sigmoid label 2", lambda c: c.sig.cost(c.X, c.y), ValueError, r"SigmoidCrossEntropy labels must be 0 or 1"),
    ("MSE targets wrong width", lambda c: c.mse.cost(c.X, np.zeros((6, 3))), ValueError,
     r"MeanSquaredError targets must have shape \(m, 2\), got \(6, 3\)"),

    # ---- set_parameters
    ("set_parameters a list", lambda c: c.net.set_parameters(list(c.net.parameters().values())), TypeError,
     r"set_parameters expects a dict"),
    ("set_parameters missing b2", lambda c: c.net.set_parameters(
        {k: v for k, v in _good_parameters(c).items() if k != "b2"}), KeyError, r"missing \['b2'\]"),
    ("set_parameters unknown W3", lambda c: c.net.set_parameters(_good_parameters(c, W3=np.ones(2))),
     KeyError, r"unknown \['W3'\]"),
    ("set_parameters W1 transposed", lambda c: c.net.set_parameters(_good_parameters(c, W1=np.ones((3, 4)))),
     ValueError, r"W1 must have shape \(4, 3\), got \(3, 4\)"),
    ("set_parameters NaN", lambda c: c.net.set_parameters(_good_parameters(c, b2=np.full(3, np.nan))),
     ValueError, r"b2 contains NaN or inf"),
    ("set_parameters strings", lambda c: c.net.set_parameters(_good_parameters(c, b1=np.array(list("abcd")))),
     TypeError, r"b1 must be numeric"),
    ("set_parameters ragged", lambda c: c.net.set_parameters(_good_parameters(c, b2=[[1.0, 2.0], [3.0]])),
     ValueError, r"b2 must be a numeric array"),
    ("set_parameters float32 overflow", lambda c: c.net32.set_parameters(_good_parameters(c, b2=np.full(3, 1e300))),
     ValueError, r"b2 .*float32"),

    # ---- fit
    ("fit epochs 0", lambda c: _fit(c, epochs=0, optimizer=c.opt), ValueError, r"epochs must be a positive int, got 0"),
    ("fit batch_size float", lambda c: _fit(c, batch_size=2.0, optimizer=c.opt), TypeError,
     r"batch_size must be a positive int or None"),
    ("fit optimizer class", lambda c: _fit(c, optimizer=tn.Adam), TypeError, r"instance such as Adam\(lr=\.\.\.\)"),
    ("fit bad labels keep the optimizer", lambda c: c.net.fit(c.X, c.y + 1, optimizer=c.opt, progress=False),
     ValueError, r"labels must be in 0\.\.2"),
    ("fit validation_data wrong width", lambda c: _fit(c, optimizer=c.opt, validation_data=(c.X[:, :2], c.y)),
     ValueError, r"validation_data: X has 2 features"),
    ("fit callbacks a string", lambda c: _fit(c, callbacks="early"), TypeError,
     r"callbacks must be a list of Callback objects, got str"),
    ("fit progress str", lambda c: _fit(c, progress="no"), TypeError, r"progress must be True or False"),
    ("fit EarlyStopping without validation", lambda c: _fit(c, optimizer=c.opt, callbacks=[tn.EarlyStopping()]),
     ValueError, r"EarlyStopping monitors 'val_loss'.*pass validation_data"),

    # ---- check_gradients, check_layer, gradcheck
    ("check_gradients eps 0", lambda c: c.net.check_gradients(c.X, c.y, eps=0), ValueError,
     r"eps must be a positive finite number, got 0"),
    ("check_gradients unknown mode", lambda c: c.net.check_gradients(c.X, c.y, mode="fast"), ValueError,
     r"unknown mode 'fast'; expected one of"),
    ("check_gradients dropout True", lambda c: c.net.check_gradients(c.X, c.y, dropout=True), ValueError,
     r"unknown dropout True"),
    ("check_gradients bad labels", lambda c: c.net.check_gradients(c.X, c.y + 1), ValueError,
     r"labels must be in 0\.\.2"),
    ("check_gradients float32 wrong width", lambda c: c.net32.check_gradients(c.X[:, :2], c.y), ValueError,
     r"X has 2 features but the network expects 3"),
    ("check_layer not a layer", lambda c: tn.check_layer("Dense", c.X), TypeError,
     r"check_layer expects a tinynet Layer, got str"),
    ("check_layer x NaN", lambda c: tn.check_layer(c.net.layers[0], c.X * np.nan), ValueError,
     r"x must be a finite array"),
    ("check_layer on a network's layer, wrong width", lambda c: tn.check_layer(c.net.layers[0], c.X[:, :2]),
     ValueError, r"Dense\(3 -> 4\) got input with 2 features"),
    ("gradcheck cost not callable", lambda c: tn.gradcheck(3.0, {"W1": np.ones(2)}, {"dW1": np.ones(2)}),
     TypeError, r"cost must be a function cost\(params\) -> float, got float"),
    ("gradcheck missing gradient", lambda c: tn.gradcheck(lambda p: 0.0, {"W1": np.ones(2)}, {"db1": np.ones(2)}),
     KeyError, r"grads has no gradient for parameter 'W1'"),
    ("gradcheck gradient size", lambda c: tn.gradcheck(lambda p: 0.0, {"W1": np.ones(2)}, {"dW1": np.ones(3)}),
     ValueError, r"grads\['dW1'\] has shape \(3,\) but params\['W1'\] has shape \(2,\)"),
    ("gradcheck cost NaN", lambda c: tn.gradcheck(lambda p: np.nan, {"W1": np.ones(2)}, {"dW1": np.ones(2)}),
     ValueError, r"cost returned NaN or inf"),

    # ---- save / load
    ("save path None", lambda c: c.net.save(None), TypeError, r"path must be a file name .*got NoneType"),
    ("save into a missing folder", lambda c: c.net.save(c.dir / "nowhere" / "model.npz"), FileNotFoundError,
     r"No such file or directory"),
    ("load missing file", lambda c: tn.load(c.dir / "nothing.npz"), FileNotFoundError, r"no model file"),
    ("load path None", lambda c: tn.load(None), TypeError, r"path must be a file name"),
    ("load truncated", lambda c: tn.load(c.truncated), tn.ModelFileError, r"not a readable \.npz file"),
    ("load text file", lambda c: tn.load(c.text), tn.ModelFileError, r"not a readable \.npz file"),
    ("load foreign npz", lambda c: tn.load(c.foreign), tn.ModelFileError, r"not a tinynet model.*\['weights'\]"),
    ("load object array", lambda c: tn.load(c.object_array), tn.ModelFileError,
     r"object array \('params'\).*never unpickles"),
    ("load NaN parameters", lambda c: tn.load(c.nan_params), tn.ModelFileError, r"not finite floating point"),
    ("load integer parameters", lambda c: tn.load(c.int_params), tn.ModelFileError, r"not finite floating point"),
    ("load newer format", lambda c: tn.load(c.newer), tn.ModelFileError,
     r"newer tinynet \(file format 99\).*upgrade tinynet"),
    ("load without format version", lambda c: tn.load(c.no_version), tn.ModelFileError,
     r"unknown format version None"),
    ("load bad value in the file", lambda c: tn.load(c.bad_config), tn.ModelFileError,
     r"bad_config\.npz.*incomplete or invalid.*keep_prob"),
    ("load custom_layers str", lambda c: tn.load(c.model, custom_layers="Scale"), TypeError,
     r"custom_layers must be a dict"),
    ("load custom_layers not a Layer", lambda c: tn.load(c.model, custom_layers={"Scale": print}), TypeError,
     r"custom_layers\['Scale'\] must be a Layer subclass"),
    ("load custom_layers an instance", lambda c: tn.load(c.model, custom_layers={"Scale": Scale(3)}),
     TypeError, r"custom_layers\['Scale'\] must be a Layer subclass"),

    # ---- the command line
    ("cli epochs 0", lambda c: cli("train", "--epochs", "0", "--out", str(c.dir / "run")), CommandLineError,
     r"(?s)exit 2: .*--epochs: expected a positive integer, got '0'"),
    ("cli keep-prob 1.5", lambda c: cli("train", "--keep-prob", "1.5", "--out", str(c.dir / "run")),
     CommandLineError, r"(?s)exit 2: .*--keep-prob: expected a number in \(0, 1\]"),
    ("cli info missing model", lambda c: cli("info", str(c.dir / "nothing.npz")), CommandLineError,
     r"exit 2: tinynet: error: model file .*nothing\.npz' not found"),
    ("cli info not a model", lambda c: cli("info", str(c.text)), CommandLineError,
     r"exit 2: tinynet: error: cannot load model"),
    ("cli gradcheck data that do not fit", lambda c: cli("gradcheck", str(c.model), "--data", "moons"),
     CommandLineError, r"exit 2: tinynet: error: data set 'moons' does not fit this model"),
]


def test_the_table_has_at_least_40_rows_with_unique_ids():
    ids = [row[0] for row in ROWS]
    assert len(ROWS) >= 40
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("make_call, error, fragment", [row[1:] for row in ROWS],
                         ids=[row[0] for row in ROWS])
def test_bad_input_raises_a_clear_error_and_changes_nothing(setup, make_call, error, fragment):
    before = _snapshot(setup)
    with pytest.raises(error, match=fragment):
        make_call(setup)
    files, nets, optimizer = _snapshot(setup)
    assert files == before[0], "a file was created, changed or removed"
    assert nets == before[1], "a network's parameters, gradients or random state changed"
    assert optimizer == before[2], "the optimizer's state changed"
    assert not any(name.startswith(".tinynet-") for name in os.listdir(setup.dir))
