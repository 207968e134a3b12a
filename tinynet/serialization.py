"""Saving and loading models: one ``.npz`` file, never a pickle.

The file holds three arrays, all readable with ``np.load(path, allow_pickle=False)``:

- ``params``: the flat parameter vector θ (float32 or float64);
- ``buffers``: every layer's buffers (running statistics), flattened one after the other
  in the order of the architecture's ``buffers`` list (format 2 on; format-1 files have
  none and load with each layer's initial buffers);
- ``architecture``: a JSON string naming the format version, the layers with their
  constructor arguments, the loss, the penalty, the dtype, the parameter blocks and the
  buffers as ``[layer index, name, shape]``.

Loading rebuilds the network from the JSON and copies θ in. It never unpickles:
a file with an object array in it is refused before anything from it is used.

Custom layers: give the class a ``get_config()`` that returns its constructor
arguments, then ``tn.register_layer(MyLayer)`` (also usable as a decorator), or
pass ``tn.load(path, custom_layers={"MyLayer": MyLayer})``.
"""

import json
import os
import uuid
import zipfile

import numpy as np

from . import layers as layers_module
from . import losses as losses_module
from . import normalization
from .penalties import L2

FORMAT_VERSION = 2                 # 2: the buffers array (BatchNorm's running statistics)

_LAYERS = {cls.__name__: cls for cls in (
    layers_module.Dense, layers_module.ReLU, layers_module.LeakyReLU, layers_module.Tanh,
    layers_module.Sigmoid, layers_module.Dropout, layers_module.Softmax,
    normalization.BatchNorm, normalization.LayerNorm)}
_LOSSES = {cls.__name__: cls for cls in (
    losses_module.SoftmaxCrossEntropy, losses_module.SigmoidCrossEntropy,
    losses_module.MeanSquaredError)}
_PENALTIES = {"L2": L2}


class ModelFileError(ValueError):
    """The file exists but is not a model tinynet can load."""


def register_layer(cls):
    """Make a custom Layer class known to ``tn.load`` by its class name; returns ``cls``."""
    if not (isinstance(cls, type) and issubclass(cls, layers_module.Layer)):
        raise TypeError(f"register_layer expects a Layer subclass, got {cls!r}")
    _LAYERS[cls.__name__] = cls
    return cls


def _describe(obj, kind):
    config = obj.get_config() if hasattr(obj, "get_config") else {}
    try:
        json.dumps(config)
    except TypeError as exc:
        raise TypeError(f"cannot save {kind} {obj!r}: its get_config() is not JSON-able ({exc})") \
            from None
    return {"type": type(obj).__name__, "config": config}


def _fspath(path):
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a file name (str or os.PathLike) such as 'model.npz', "
                        f"got {type(path).__name__} {path!r}") from None


def save(net, path):
    """Write ``net`` to ``path`` atomically: a temporary file in the same folder, then a rename."""
    path = _fspath(path)
    architecture = {
        "format": "tinynet",
        "format_version": FORMAT_VERSION,
        "layers": [_describe(layer, "layer") for layer in net.layers],
        "loss": _describe(net.loss, "loss"),
        "penalty": None if net.penalty is None else _describe(net.penalty, "penalty"),
        "dtype": net.dtype.name,
        "seed": net.seed,
        "blocks": [[b.name, list(b.shape)] for b in net.blocks],
        "buffers": _buffer_list(net),
    }
    folder = os.path.dirname(os.path.abspath(path))
    # Not tempfile.mkstemp: its files are 0600, so every saved model would be private.
    # os.open with 0o666 lets the umask decide, as for any file the user creates.
    tmp = os.path.join(folder, f".tinynet-{os.getpid()}-{uuid.uuid4().hex}.npz.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, params=net.params, buffers=_flat_buffers(net),
                     architecture=np.array(json.dumps(architecture)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _read(path):
    """-> (architecture dict, params array), or a clear error; never unpickles."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path!r}")
    try:
        data = np.load(path, allow_pickle=False)
        # checked before `with`: a plain array (a .npy file) is no context manager
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ModelFileError(f"{path!r} is a single .npy array, not a tinynet model (.npz)")
        with data:
            arrays = {}
            for key in data.files:
                try:
                    arrays[key] = data[key]
                except ValueError as exc:
                    if "allow_pickle" in str(exc):
                        raise ModelFileError(
                            f"{path!r} holds an object array ({key!r}), which could only be read "
                            "by unpickling; tinynet never unpickles, so the file is refused") from None
                    raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, (FileNotFoundError, ModelFileError)):
            raise
        raise ModelFileError(f"{path!r} is not a readable .npz file (truncated or corrupt?): "
                             f"{exc}") from None
    if "architecture" not in arrays or "params" not in arrays:
        raise ModelFileError(f"{path!r} is an .npz file but not a tinynet model "
                             f"(it holds {sorted(arrays)})")
    try:
        architecture = json.loads(str(arrays["architecture"]))
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path!r}: the architecture record is not valid JSON ({exc})") from None
    if not isinstance(architecture, dict) or architecture.get("format") != "tinynet":
        raise ModelFileError(f"{path!r} is an .npz file but not a tinynet model")
    version = architecture.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path!r}: unknown format version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path!r} was written by a newer tinynet (file format {version}); "
                             f"this tinynet reads formats up to {FORMAT_VERSION}: upgrade tinynet")
    return architecture, arrays["params"], arrays.get("buffers")


def _build(record, registry, kind, path):
    try:
        cls = registry[record["type"]]
    except KeyError:
        hint = (" Register custom layers with tn.register_layer(cls) or pass "
                "custom_layers={name: cls}." if kind == "layer" else "")
        raise ModelFileError(f"{path!r} uses an unknown {kind} {record.get('type')!r}.{hint}") \
            from None
    return cls(**record.get("config", {}))


def load(path, custom_layers=None):
    """Read a model written by ``save``; -> Network with identical parameters."""
    from .network import Network

    path = _fspath(path)
    _check_custom_layers(custom_layers)
    architecture, params, buffers = _read(path)
    registry = dict(_LAYERS, **(custom_layers or {}))
    try:
        layers = [_build(r, registry, "layer", path) for r in architecture["layers"]]
        loss = _build(architecture["loss"], _LOSSES, "loss", path)
        penalty = (None if architecture["penalty"] is None
                   else _build(architecture["penalty"], _PENALTIES, "penalty", path))
        net = Network(layers, loss=loss, penalty=penalty, seed=architecture.get("seed"),
                      dtype=np.dtype(architecture["dtype"]))
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # ValueError: a constructor refused a value
        raise ModelFileError(f"{path!r}: the architecture record is incomplete or invalid "
                             f"({exc!r})") from None
    expected = [[b.name, list(b.shape)] for b in net.blocks]
    if architecture.get("blocks", expected) != expected or params.shape != net.params.shape:
        raise ModelFileError(f"{path!r}: the parameter vector ({params.shape}) does not fit the "
                             f"architecture ({net.params.shape})")
    if params.dtype.kind != "f" or not np.all(np.isfinite(params)):
        raise ModelFileError(f"{path!r}: the parameter vector is not finite floating point")
    net.params[...] = params
    if architecture["format_version"] >= 2:      # format 1 had no buffers: keep the initial ones
        _load_buffers(net, architecture, buffers, path)
    return net


def _buffer_list(net):
    return [[i, name, list(array.shape)] for i, layer in enumerate(net.layers)
            for name, array in layer.buffers.items()]


def _flat_buffers(net):
    arrays = [array.ravel() for layer in net.layers for array in layer.buffers.values()]
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=net.dtype)


def _load_buffers(net, architecture, buffers, path):
    """Copy the saved buffers into the rebuilt layers, after checking that they fit."""
    expected = _buffer_list(net)
    if buffers is None:
        if not expected:
            return
        raise ModelFileError(f"{path!r}: the model has buffers {expected} but the file has no "
                             "buffers array")
    size = sum(int(np.prod(shape)) for _, _, shape in expected)
    if architecture.get("buffers") != expected or buffers.shape != (size,):
        raise ModelFileError(f"{path!r}: the buffers ({buffers.shape}) do not fit the "
                             f"architecture's {expected}")
    if buffers.dtype.kind != "f" or not np.all(np.isfinite(buffers)):
        raise ModelFileError(f"{path!r}: the buffers are not finite floating point")
    offset = 0
    for i, name, shape in expected:
        stop = offset + int(np.prod(shape))
        net.layers[i].buffers[name] = buffers[offset:stop].reshape(shape)
        offset = stop


def _check_custom_layers(custom_layers):
    if custom_layers is None:
        return
    if not isinstance(custom_layers, dict):
        raise TypeError("custom_layers must be a dict {class name: Layer subclass}, got "
                        f"{type(custom_layers).__name__} {custom_layers!r}")
    for name, cls in custom_layers.items():
        if not (isinstance(cls, type) and issubclass(cls, layers_module.Layer)):
            raise TypeError(f"custom_layers[{name!r}] must be a Layer subclass, got {cls!r}")
