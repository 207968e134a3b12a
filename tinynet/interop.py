"""The bridge to PyTorch: state dicts, ``to_torch`` and ``from_torch``.

tinynet's layout already is PyTorch's: ``Dense.W`` is ``Linear.weight`` (out, in), ``Dense.b`` is
``Linear.bias``, and a Network is a ``torch.nn.Sequential`` whose index is the index in
``net.layers``. So the state dict of a network holds exactly the keys of the equivalent
Sequential (``"0.weight"``, ``"0.bias"``, ``"3.running_mean"``, ...) and crossing over is a copy.

One row of ``BRIDGES`` per built-in layer says how it crosses: the torch class, the names of
its arrays on both sides, and how to build each side from the other. torch is imported only
when a torch object must be built.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .normalization import BatchNorm, LayerNorm

TORCH_INSTALL = ("pip install torch --index-url https://download.pytorch.org/whl/cpu "
                 "(the CPU-only wheel: the default one pulls several GB of CUDA libraries)")


def import_torch(what):
    """``torch``, or an ImportError that says how to install the CPU-only wheel."""
    try:
        import torch
    except ImportError:
        raise ImportError(f"{what} needs PyTorch, which is not installed: {TORCH_INSTALL}") \
            from None
    return torch


# ---------------------------------------------------------------------------- the table

@dataclass(frozen=True)
class Bridge:
    """How one built-in tinynet layer crosses to PyTorch and back.

    layer: the exact tinynet class (a subclass may compute something else, so it does not
    cross). module: the ``torch.nn`` class name (its exact class, likewise). names: (tinynet
    array name, torch state key) where the two differ. make_module(layer, nn,
    dtype) -> torch module. make_layer(module) -> tinynet layer, or ValueError for a setting
    tinynet does not have. torch_only: (torch key suffix, value) for state torch keeps and
    tinynet has no use for: exported as that value, accepted and ignored on load.
    """
    layer: type
    module: str
    make_module: Callable
    make_layer: Callable
    names: tuple = ()
    torch_only: tuple = ()


def _linear_to_dense(module):
    if module.bias is None:
        raise ValueError("Linear(bias=False) has no tinynet equivalent (Dense always has b)")
    return Dense(module.in_features, module.out_features)


def _batch_norm(module):
    if not (module.affine and module.track_running_stats):
        raise ValueError("BatchNorm1d needs affine=True and track_running_stats=True "
                         "(tinynet's BatchNorm always has gamma, beta and running statistics)")
    if module.momentum is None:
        raise ValueError("BatchNorm1d(momentum=None) (a cumulative average) has no tinynet "
                         "equivalent: give a momentum such as 0.1")
    return BatchNorm(module.num_features, momentum=module.momentum, eps=module.eps)


def _layer_norm(module):
    if len(module.normalized_shape) != 1 or not module.elementwise_affine \
            or module.bias is None:
        raise ValueError("tinynet's LayerNorm normalizes one axis of features with a weight and "
                         "a bias: LayerNorm(n) with elementwise_affine=True, bias=True")
    return LayerNorm(module.normalized_shape[0], eps=module.eps)


def _softmax(module):
    if module.dim not in (1, -1):
        raise ValueError(f"Softmax(dim={module.dim}): tinynet's Softmax works on the features "
                         "of each row, Softmax(dim=1)")
    return Softmax()


def _dropout(module):
    if module.p >= 1:
        raise ValueError(f"Dropout(p={module.p}) drops everything (keep_prob = 1 - p must be > 0)")
    return Dropout(keep_prob=1.0 - module.p)


BRIDGES = (
    Bridge(Dense, "Linear",
           lambda layer, nn, dtype: nn.Linear(layer.n_in, layer.n_out, dtype=dtype),
           _linear_to_dense, names=(("W", "weight"), ("b", "bias"))),
    Bridge(ReLU, "ReLU", lambda layer, nn, dtype: nn.ReLU(), lambda module: ReLU()),
    Bridge(Tanh, "Tanh", lambda layer, nn, dtype: nn.Tanh(), lambda module: Tanh()),
    Bridge(Sigmoid, "Sigmoid", lambda layer, nn, dtype: nn.Sigmoid(), lambda module: Sigmoid()),
    Bridge(LeakyReLU, "LeakyReLU", lambda layer, nn, dtype: nn.LeakyReLU(layer.alpha),
           lambda module: LeakyReLU(alpha=module.negative_slope)),
    # torch's p is the probability of dropping a unit, tinynet's keep_prob that of keeping it.
    Bridge(Dropout, "Dropout", lambda layer, nn, dtype: nn.Dropout(p=round(1.0 - layer.keep_prob, 12)),
           _dropout),
    # torch counts batches only to average with momentum=None, which tinynet does not offer.
    Bridge(BatchNorm, "BatchNorm1d",
           lambda layer, nn, dtype: nn.BatchNorm1d(layer.n, eps=layer.eps,
                                                   momentum=layer.momentum, dtype=dtype),
           _batch_norm, names=(("gamma", "weight"), ("beta", "bias")),
           torch_only=(("num_batches_tracked", np.array(0, dtype=np.int64)),)),
    Bridge(LayerNorm, "LayerNorm",
           lambda layer, nn, dtype: nn.LayerNorm(layer.n, eps=layer.eps, dtype=dtype),
           _layer_norm, names=(("gamma", "weight"), ("beta", "bias"))),
    Bridge(Softmax, "Softmax", lambda layer, nn, dtype: nn.Softmax(dim=1), _softmax),
)
_BY_LAYER = {bridge.layer: bridge for bridge in BRIDGES}
_BY_MODULE = {bridge.module: bridge for bridge in BRIDGES}


def _names(layer):
    """[(tinynet name, torch key suffix, "params" or "buffers")] of one layer, in torch's order.

    A built-in layer uses its row's names; any other layer keeps its own names (a torch module
    holding a parameter ``gamma`` has the state key ``"i.gamma"`` too).
    """
    bridge = _BY_LAYER.get(type(layer))
    renamed = dict(bridge.names) if bridge else {}
    return ([(key, renamed.get(key, key), "params") for key in layer.params]
            + [(key, renamed.get(key, key), "buffers") for key in layer.buffers])


def _torch_only(layer):
    bridge = _BY_LAYER.get(type(layer))
    return bridge.torch_only if bridge else ()


# ---------------------------------------------------------------------------- state dicts

def state_dict(net):
    """{"0.weight": W, "0.bias": b, ...}: copies of every parameter and buffer, torch's keys."""
    state = {}
    for i, layer in enumerate(net.layers):
        for key, torch_key, kind in _names(layer):
            state[f"{i}.{torch_key}"] = np.array(getattr(layer, kind)[key])
        for torch_key, value in _torch_only(layer):
            state[f"{i}.{torch_key}"] = value.copy()
    return state


def _as_numpy(value, key):
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"state[{key!r}] must be a numeric array: {exc}") from None


def load_state_dict(net, state):
    """Copy ``state`` (numpy arrays or torch tensors, keyed like ``state_dict``) into ``net``.

    Every key must be present, none extra, every shape right and every value finite; nothing
    is written unless all are.
    """
    if not hasattr(state, "keys"):
        raise TypeError(f"load_state_dict expects a dict like net.state_dict() or "
                        f"module.state_dict(), got {type(state).__name__}")
    targets, ignored = {}, {}
    for i, layer in enumerate(net.layers):
        for key, torch_key, kind in _names(layer):
            targets[f"{i}.{torch_key}"] = getattr(layer, kind)[key]
        for torch_key, value in _torch_only(layer):
            ignored[f"{i}.{torch_key}"] = value
    expected = {**targets, **ignored}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}; "
                       f"this network's keys are {list(expected)}")
    for key, value in ignored.items():
        if _as_numpy(state[key], key).shape != value.shape:
            raise ValueError(f"state[{key!r}] must have shape {value.shape}, "
                             f"got {_as_numpy(state[key], key).shape}")
    limit = float(np.finfo(net.dtype).max)
    staged = []
    for key, target in targets.items():
        value = _as_numpy(state[key], key)
        if value.dtype.kind not in "biuf":
            raise TypeError(f"state[{key!r}] must be numeric, got dtype {value.dtype}")
        if value.shape != target.shape:
            raise ValueError(f"state[{key!r}] must have shape {target.shape}, got {value.shape}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"state[{key!r}] contains NaN or inf")
        if value.size and float(np.abs(value).max()) > limit:
            raise ValueError(f"state[{key!r}] has values beyond the range of this "
                             f"{net.dtype.name} network")
        staged.append((target, value))
    for target, value in staged:
        target[...] = value


# ---------------------------------------------------------------------------- torch modules

def to_torch(net):
    """A ``torch.nn.Sequential`` computing what ``net`` computes, with copies of its weights
    and buffers, in the network's dtype. Like every new torch module it is in training mode."""
    torch = import_torch("Network.to_torch")
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    modules = []
    for i, layer in enumerate(net.layers):
        bridge = _BY_LAYER.get(type(layer))
        if bridge is None:
            raise TypeError(f"layers[{i}] ({layer!r}) has no PyTorch equivalent; to_torch "
                            f"handles the built-in layers {_supported('layer')} (exact classes, "
                            "not subclasses, which may compute something else)")
        modules.append(bridge.make_module(layer, torch.nn, dtype))
    model = torch.nn.Sequential(*modules)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state_dict(net).items()})
    return model


def from_torch(network_class, module, loss, penalty=None, seed=None, dtype=None):
    """A tinynet Network equivalent to the ``torch.nn.Sequential`` ``module``, weights copied.

    dtype: None follows the module's parameters (float32 or float64). The torch module is only
    read, never changed.
    """
    torch = import_torch("Network.from_torch")
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"from_torch expects a torch.nn.Sequential of {_supported('module')}, "
                        f"got {type(module).__name__}")
    layers = []
    for i, child in enumerate(module):
        bridge = _BY_MODULE.get(type(child).__name__)
        if bridge is None or type(child) is not getattr(torch.nn, bridge.module):
            raise TypeError(f"module[{i}] ({child!r}) has no tinynet equivalent; from_torch "
                            f"handles {_supported('module')}")
        try:
            layers.append(bridge.make_layer(child))
        except ValueError as exc:
            raise ValueError(f"module[{i}] ({child!r}): {exc}") from None
    if dtype is None:
        floats = [p.dtype for p in module.parameters()]
        dtype = np.float32 if floats and floats[0] == torch.float32 else np.float64
    net = network_class(layers, loss=loss, penalty=penalty, seed=seed, dtype=dtype)
    net.load_state_dict(module.state_dict())
    return net


def _supported(side):
    names = [b.layer.__name__ if side == "layer" else b.module for b in BRIDGES]
    return ", ".join(names)
