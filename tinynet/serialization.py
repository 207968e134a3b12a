"""Saving and loading models: one ``.npz`` file, never a pickle, never trusted.

The file is a zip archive (numpy's ``.npz``) of uncompressed ``.npy`` arrays, all readable
with ``np.load(path, allow_pickle=False)``. Format 2 holds exactly three:

- ``params``: the flat parameter vector θ (float32 or float64, the model's dtype);
- ``buffers``: every layer's buffers (running statistics), flattened one after the other
  in the order of the architecture's ``buffers`` list, in the model's dtype;
- ``architecture``: a JSON string: the format and its version, the layers with their
  constructor arguments (``get_config()``), the loss, the penalty, the dtype, the seed,
  the parameter blocks ``[[name, shape], ...]``, the buffers ``[[layer index, name,
  shape], ...]`` and ``trained_on`` (the name of the training data, or null).

Format 1 (tinynet 0.1) had no ``buffers``; its files still load, with each layer's initial
buffers.

Saving refuses, before writing anything, a model that could not be loaded back: every
layer, loss and penalty class must be built in or registered (``tn.register(cls)``), and
rebuilding it from its ``get_config()`` must work. The file is written to a temporary
file in the same folder, then renamed over the target: an interrupted save leaves the
old file intact.

Loading trusts nothing in the file. It opens only a regular file (never waits on a FIFO),
reads only the members its format version has (two members with one name, an unknown
member, an object array, an unsupported compression or a size that disagrees with the
data are refused), reads the architecture first and checks it against the stored vector
before allocating anything, and builds the network without drawing initial weights,
which the stored vector replaces. Every failure is a ``ModelFileError`` naming the file.
"""

import contextlib
import json
import os
import stat
import struct
import uuid
import zipfile
import zlib

import numpy as np

from . import layers as layers_module
from . import losses as losses_module
from . import normalization
from .penalties import L2

FORMAT_VERSION = 2                 # 2: the buffers array (BatchNorm's running statistics)
# The arrays of each format version. A new version adds its own entry (and the size of its
# new arrays to _sizes); files of older versions keep loading with theirs.
MEMBERS = {1: ("architecture", "params"), 2: ("architecture", "params", "buffers")}
MAX_ARCHITECTURE_BYTES = 16 * 2 ** 20   # a JSON record of thousands of layers is well below
# The most that deflate can expand (about 1032:1), with room: a member that claims more
# data than its compressed bytes can hold is refused before it is read.
MAX_DEFLATE_RATIO = 1100

_BUILTINS = {cls.__name__: cls for cls in (
    layers_module.Dense, layers_module.ReLU, layers_module.LeakyReLU, layers_module.Tanh,
    layers_module.Sigmoid, layers_module.Dropout, layers_module.Softmax,
    normalization.BatchNorm, normalization.LayerNorm, losses_module.SoftmaxCrossEntropy,
    losses_module.SigmoidCrossEntropy, losses_module.MeanSquaredError, L2)}
_REGISTRY = dict(_BUILTINS)

# What a damaged or hostile archive can raise from zipfile, zlib and numpy's header parser.
# MemoryError is not here: sizes are checked before anything is allocated.
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
                   EOFError, OSError, ValueError, TypeError, KeyError, SyntaxError, zlib.error,
                   struct.error, UnicodeDecodeError, OverflowError)


class ModelFileError(ValueError):
    """The file exists but is not a model tinynet can load."""


# ---------------------------------------------------------------------------- registering

def register(cls):
    """Make a custom layer, loss or penalty class known to ``tn.load`` by its class name.

    Returns ``cls``, so it also works as a decorator. Register in the program that saves
    and in the one that loads. The class's ``get_config()`` must return its constructor
    arguments (JSON-able); ``save`` checks that it can rebuild the object from them.
    """
    if not (isinstance(cls, type) and callable(getattr(cls, "forward", None))
            and callable(getattr(cls, "backward", None))):
        raise TypeError("register expects a class: a Layer subclass, or a loss or penalty class "
                        f"with forward and backward, got {cls!r}")
    name = cls.__name__
    if name in _BUILTINS and _BUILTINS[name] is not cls:
        raise ValueError(f"{name} is the name of a built-in tinynet class; give your class "
                         "another name")
    _REGISTRY[name] = cls  # re-registering a name (a notebook cell run twice) replaces it
    return cls


register_layer = register  # the name in tinynet 0.1


# ---------------------------------------------------------------------------- saving

def _path(path):
    """``path`` as a str (str, bytes or os.PathLike accepted), or a TypeError."""
    try:
        return os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a file name (str or os.PathLike) such as 'model.npz', "
                        f"got {type(path).__name__} {path!r}") from None


def _output_path(path):
    """The path to write, checked before anything is created."""
    path = _path(path)
    if not path:
        raise ValueError("path must be a file name such as 'model.npz', got ''")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a folder; save to a file in it, such as "
                                f"{os.path.join(path, 'model.npz')!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path!r}: the folder {folder!r} does not exist")
    return path


def _describe(obj, where, check_shapes=False):
    """-> {"type", "config"} for ``obj``, or a TypeError saying why ``load`` could not rebuild it."""
    cls, name = type(obj), type(obj).__name__
    config = obj.get_config() if hasattr(obj, "get_config") else {}
    if not isinstance(config, dict):
        raise TypeError(f"cannot save {where} {obj!r}: get_config() must return a dict, "
                        f"got {type(config).__name__}")
    try:
        json.dumps(config)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot save {where} {obj!r}: its get_config() is not JSON-able ({exc})") \
            from None
    if _REGISTRY.get(name) is not cls:
        other = " (another class of that name is registered)" if name in _REGISTRY else ""
        raise TypeError(f"cannot save: {where} is a {name}, which tn.load would not know{other}; "
                        f"call tn.register({name}) first, in this program and in the one that loads")
    if _BUILTINS.get(name) is not cls:  # a custom class: check that load could rebuild it
        _check_rebuild(obj, cls, config, where, check_shapes)
    return {"type": name, "config": config}


def _check_rebuild(obj, cls, config, where, check_shapes):
    name = cls.__name__
    fix = (f"define {name}.get_config() to return the arguments of {name}.__init__ (JSON-able), "
           f"so that tn.load can call {name}(**config)")
    try:
        rebuilt = cls(**config)
    except Exception as exc:  # any failure of the user's constructor means load would fail too
        raise TypeError(f"cannot save {where} {obj!r}: {name}(**{config!r}) fails "
                        f"({type(exc).__name__}: {exc}); {fix}") from None
    if check_shapes:
        have = {key: array.shape for key, array in obj.params.items()}
        get = {key: array.shape for key, array in rebuilt.params.items()}
        if have != get:
            raise TypeError(f"cannot save {where} {obj!r}: rebuilt from get_config() {config!r} "
                            f"it has parameters {get}, not {have}; {fix}")


def _architecture(net):
    trained_on = getattr(net, "trained_on", None)
    if trained_on is not None and not isinstance(trained_on, str):
        raise TypeError(f"net.trained_on must be None or the name of a data set (str), "
                        f"got {trained_on!r}")
    return {
        "format": "tinynet",
        "format_version": FORMAT_VERSION,
        "layers": [_describe(layer, f"layers[{i}]", check_shapes=True)
                   for i, layer in enumerate(net.layers)],
        "loss": _describe(net.loss, "the loss"),
        "penalty": None if net.penalty is None else _describe(net.penalty, "the penalty"),
        "dtype": net.dtype.name,
        "seed": net.seed,
        "blocks": [[b.name, list(b.shape)] for b in net.blocks],
        "buffers": _buffer_list(net),
        "trained_on": trained_on,
    }


def _buffer_list(net):
    """-> [[layer index, buffer name, shape], ...] in the order of the flat buffers array."""
    return [[i, name, list(array.shape)] for i, layer in enumerate(net.layers)
            for name, array in layer.buffers.items()]


def _flat_buffers(net):
    arrays = [array.ravel() for layer in net.layers for array in layer.buffers.values()]
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=net.dtype)


def save(net, path):
    """Write ``net`` to ``path`` atomically: a temporary file in the same folder, then a rename.

    Everything is checked first (the path, and that ``tn.load`` could rebuild every layer,
    the loss and the penalty); a refused save creates no file.
    """
    path = _output_path(path)
    architecture = _architecture(net)
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


# ---------------------------------------------------------------------------- reading

@contextlib.contextmanager
def _open_regular(path):
    """Open ``path`` for reading only if it is a regular file (a FIFO would block forever)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {path!r}") from None
    except OSError as exc:
        raise ModelFileError(f"cannot open {path!r}: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a pipe" if stat.S_ISFIFO(mode) \
            else "a device or socket"
        raise ModelFileError(f"{path!r} is {kind}, not a model file (a .npz file written by "
                             "net.save)")
    with os.fdopen(fd, "rb") as f:
        yield f


def _read_npy(archive, member, path, size_limit=None, shape=None, record=None, dtype=None):
    """Read one ``.npy`` member, checking everything before the data is allocated."""
    key = member[:-4]
    info = archive.getinfo(member)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(f"{path!r}: the member {key!r} uses an unsupported zip compression "
                             f"method ({info.compress_type}); tinynet writes uncompressed members")
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise ModelFileError(f"{path!r}: the member {key!r} is a .npy array of version "
                                 f"{version}, which tinynet does not write")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
            else np.lib.format.read_array_header_2_0
        found_shape, fortran, found_dtype = read_header(f)
        if found_dtype.hasobject:
            raise ModelFileError(f"{path!r} holds an object array ({key!r}), which could only be "
                                 "read by unpickling; tinynet never unpickles, so the file is refused")
        if dtype is not None and found_dtype.newbyteorder("=") != np.dtype(dtype):
            raise ModelFileError(f"{path!r}: the {key!r} array is {found_dtype}, but the "
                                 f"architecture record declares a {np.dtype(dtype).name} model")
        if shape is not None and tuple(found_shape) != tuple(shape):
            raise ModelFileError(f"{path!r}: the {key!r} array has shape {tuple(found_shape)}, but "
                                 f"the architecture record's {record} need {tuple(shape)}")
        nbytes = found_dtype.itemsize * int(np.prod(found_shape, dtype=object))
        header_bytes = f.tell()
        if size_limit is not None and nbytes > size_limit:
            raise ModelFileError(f"{path!r}: the {key!r} member is {nbytes:,} bytes, over the "
                                 f"{size_limit:,} a model file's record may have")
        stored = info.compress_size if info.compress_type == zipfile.ZIP_STORED \
            else MAX_DEFLATE_RATIO * info.compress_size
        if info.file_size != header_bytes + nbytes or nbytes > stored:
            raise ModelFileError(f"{path!r}: the {key!r} member's size in the zip directory "
                                 f"({info.file_size:,} bytes) disagrees with its array "
                                 f"({header_bytes + nbytes:,} bytes): the file is damaged")
        data = f.read(nbytes)
        if len(data) != nbytes or f.read(1):
            raise ModelFileError(f"{path!r}: the {key!r} member is truncated")
    return np.frombuffer(data, dtype=found_dtype).reshape(found_shape,
                                                         order="F" if fortran else "C")


def _parse_architecture(text, path):
    try:
        architecture = json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError: bad JSON, or a 5,000-digit int
        raise ModelFileError(f"{path!r}: the architecture record is not valid JSON "
                             f"({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(architecture, dict) or architecture.get("format") != "tinynet":
        raise ModelFileError(f"{path!r} is an .npz file but not a tinynet model")
    version = architecture.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path!r}: unknown format version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path!r} was written by a newer tinynet (file format {version}); "
                             f"this tinynet reads formats up to {FORMAT_VERSION}: upgrade tinynet")
    if architecture.get("dtype") not in ("float32", "float64"):
        raise ModelFileError(f"{path!r}: the architecture record's dtype must be 'float32' or "
                             f"'float64', got {architecture.get('dtype')!r}")
    return architecture


def _is_count(value):
    """A JSON integer >= 0 (not a bool, which is an int in Python)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_shape(value):
    """A JSON list of counts, such as [16, 2]."""
    return isinstance(value, list) and all(_is_count(n) for n in value)


def _block_sizes(architecture, path):
    """The blocks record [[name, shape], ...] checked; -> the number of parameters it declares."""
    blocks = architecture.get("blocks")
    total = 0
    for block in blocks if isinstance(blocks, list) else [None]:
        if not (isinstance(block, list) and len(block) == 2 and isinstance(block[0], str)
                and _is_shape(block[1])):
            raise ModelFileError(f"{path!r}: the architecture record's blocks must be a list of "
                                 f"[name, shape] pairs, got {str(blocks)[:200]}")
        total += int(np.prod(block[1], dtype=object))
    return total


def _buffer_sizes(architecture, path):
    """The buffers record [[layer index, name, shape], ...] checked; -> the number of values."""
    buffers = architecture.get("buffers")
    total = 0
    for entry in buffers if isinstance(buffers, list) else [None]:
        if not (isinstance(entry, list) and len(entry) == 3 and _is_count(entry[0])
                and isinstance(entry[1], str) and _is_shape(entry[2])):
            raise ModelFileError(f"{path!r}: the architecture record's buffers must be a list of "
                                 f"[layer index, name, shape] triples, got {str(buffers)[:200]}")
        total += int(np.prod(entry[2], dtype=object))
    return total


def _sizes(architecture, path):
    """-> {array name: (its shape, the record that sets it)} for this format's numeric arrays."""
    sizes = {"params": ((_block_sizes(architecture, path),), "blocks")}
    if architecture["format_version"] >= 2:
        sizes["buffers"] = ((_buffer_sizes(architecture, path),), "buffers")
    return sizes


def _read(path):
    """-> (architecture dict, {"params": vector, "buffers": vector (format 2 on)}), or a clear
    error; never unpickles."""
    with _open_regular(path) as f:
        magic = f.read(6)
        f.seek(0)
        if magic == b"\x93NUMPY":
            raise ModelFileError(f"{path!r} is a single .npy array, not a tinynet model (.npz)")
        if magic[:2] != b"PK":
            raise ModelFileError(f"{path!r} is not a readable .npz file: it is not a zip archive, "
                                 "so not a tinynet model (net.save writes one .npz file)")
        try:
            with zipfile.ZipFile(f) as archive:
                return _read_archive(archive, path)
        except ModelFileError:
            raise
        except _ARCHIVE_ERRORS as exc:
            raise ModelFileError(f"{path!r} is not a readable .npz file (truncated or corrupt?): "
                                 f"{type(exc).__name__}: {str(exc)[:200]}") from None


def _read_archive(archive, path):
    names = archive.namelist()
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ModelFileError(f"{path!r} holds two members named {twice[0]!r}; a file written by "
                             "tinynet never does, so it is refused")
    keys = [name[:-4] if name.endswith(".npy") else name for name in names]
    if "architecture" not in keys or "params" not in keys:
        raise ModelFileError(f"{path!r} is an .npz file but not a tinynet model "
                             f"(it holds {sorted(keys)})")
    text = _read_npy(archive, "architecture.npy", path, size_limit=MAX_ARCHITECTURE_BYTES)
    if text.dtype.kind != "U" or text.shape != ():
        raise ModelFileError(f"{path!r}: the architecture member is not a JSON string")
    architecture = _parse_architecture(str(text), path)
    version = architecture["format_version"]
    unknown = sorted(set(keys) - set(MEMBERS[version]))
    if unknown:
        raise ModelFileError(f"{path!r} holds members a format-{version} model file does not "
                             f"have: {unknown}")
    missing = [name for name in MEMBERS[version] if name not in keys]
    if missing:
        raise ModelFileError(f"{path!r} is a format-{version} model file but has no "
                             f"{missing[0]} array")
    arrays = {name: _read_npy(archive, f"{name}.npy", path, shape=shape, record=record,
                              dtype=architecture["dtype"])
              for name, (shape, record) in _sizes(architecture, path).items()}
    return architecture, arrays


# ---------------------------------------------------------------------------- building

def _record(record, what, path):
    if not (isinstance(record, dict) and isinstance(record.get("type"), str)
            and isinstance(record.get("config", {}), dict)):
        raise ModelFileError(f"{path!r}: the architecture record's {what} must be "
                             f'{{"type": name, "config": {{...}}}}, got {str(record)[:200]}')
    return record["type"], record.get("config", {})


def _class(name, registry, what, path, is_layer):
    cls = registry.get(name)
    if cls is None or (isinstance(cls, type) and issubclass(cls, layers_module.Layer)) != is_layer:
        hint = (" Register custom layers with tn.register(cls) or pass custom_layers={name: cls}."
                if is_layer else " Register it with tn.register(cls).")
        raise ModelFileError(f"{path!r} uses an unknown {what} {name!r}.{hint}")
    return cls


def _check_before_building(records, n_params, path):
    """Refuse built-in layers that need more parameters than the file holds, before building
    them (a ``Dense(3, 10**8)`` record must not allocate gigabytes to find that out)."""
    for i, (cls, config) in enumerate(records):
        if cls is layers_module.Dense:
            sizes = config.get("n_in"), config.get("n_out")
            shown = f"Dense({sizes[0]} -> {sizes[1]})"
        elif cls in (normalization.BatchNorm, normalization.LayerNorm):
            sizes = (config.get("n"),)
            shown = f"{cls.__name__}({sizes[0]})"
        else:
            continue
        if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes):
            continue  # the constructor refuses it
        needed = sizes[1] * (sizes[0] + 1) if len(sizes) == 2 else 2 * sizes[0]  # W, b / γ, β
        if needed > n_params:
            raise ModelFileError(f"{path!r}: layers[{i}] {shown} needs {needed:,} parameters, "
                                 f"but the file's parameter vector holds {n_params:,}")


def _compare_blocks(net, architecture, path):
    made = [[b.name, list(b.shape)] for b in net.blocks]
    recorded = architecture["blocks"]
    if made == recorded:
        return
    for i, (a, b) in enumerate(zip(made, recorded)):
        if a != b:
            raise ModelFileError(
                f"{path!r}: the layers disagree with the blocks record at block {i}: the layers "
                f"make {a[0]} {tuple(a[1])}, the record says {b[0]} {tuple(b[1])}")
    raise ModelFileError(f"{path!r}: the layers make {len(made)} parameter blocks, the blocks "
                         f"record lists {len(recorded)}")


def load(path, custom_layers=None):
    """Read a model written by ``save``; -> Network with identical parameters.

    custom_layers: {class name: Layer subclass} for classes not registered with
    ``tn.register``. Raises FileNotFoundError for a missing file and ModelFileError for
    anything that is not a tinynet model.
    """
    from .network import Network

    path = _path(path)
    _check_custom_layers(custom_layers)
    architecture, arrays = _read(path)
    params = arrays["params"]
    registry = dict(_REGISTRY, **(custom_layers or {}))
    layer_records = architecture.get("layers")
    if not isinstance(layer_records, list) or not layer_records:
        raise ModelFileError(f"{path!r}: the architecture record has no list of layers")
    records = [_record(r, f"layers[{i}]", path) for i, r in enumerate(layer_records)]
    records = [(_class(name, registry, "layer", path, True), config) for name, config in records]
    loss_name, loss_config = _record(architecture.get("loss"), "loss", path)
    loss_cls = _class(loss_name, registry, "loss", path, False)
    penalty = architecture.get("penalty")
    if penalty is not None:
        penalty_name, penalty_config = _record(penalty, "penalty", path)
        penalty_cls = _class(penalty_name, registry, "penalty", path, False)
    _check_before_building(records, params.size, path)
    try:
        with layers_module.initial_draws_skipped():  # the stored vector replaces them
            net = Network([cls(**config) for cls, config in records], loss=loss_cls(**loss_config),
                          penalty=None if penalty is None else penalty_cls(**penalty_config),
                          seed=architecture.get("seed"), dtype=np.dtype(architecture["dtype"]))
    except (KeyError, TypeError, ValueError) as exc:  # ValueError: a constructor refused a value
        raise ModelFileError(f"{path!r}: the architecture record is incomplete or invalid "
                             f"({exc!r})") from None
    _compare_blocks(net, architecture, path)
    if not np.all(np.isfinite(params)):
        raise ModelFileError(f"{path!r}: the parameter vector is not finite (it holds NaN or inf)")
    net.params[...] = params
    if "buffers" in arrays:      # format 1 had none: the layers keep their initial buffers
        _load_buffers(net, architecture, arrays["buffers"], path)
    trained_on = architecture.get("trained_on")
    net.trained_on = trained_on if isinstance(trained_on, str) else None
    return net


def _load_buffers(net, architecture, buffers, path):
    """Copy the stored buffers into the rebuilt layers, after checking that they fit."""
    expected = _buffer_list(net)
    if architecture["buffers"] != expected:
        raise ModelFileError(f"{path!r}: the buffers record {str(architecture['buffers'])[:200]} "
                             f"does not fit the layers, whose buffers are {expected}")
    if not np.all(np.isfinite(buffers)):
        raise ModelFileError(f"{path!r}: the buffers are not finite (they hold NaN or inf)")
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
