"""The float64 sandbox: a check works on float64 copies and puts everything back on exit.

Whatever the model's dtype, θ and dθ are float64 copies bound into the layers for the
duration of the check. On exit (also when the check raises) the original buffers are bound
again and every attribute that the check changed on the network, its layers, its loss and
its penalty is put back bit for bit: arrays and dicts of arrays (running statistics,
buffers, caches) are copied back into the very objects they were, other attributes are
rebound, attributes the check created are removed, and random generators get their state
back.
"""

from contextlib import contextmanager

import numpy as np

# Restored separately: the flat parameter views (rebound) and the generators (their state).
_SKIP = ("_params", "_grads", "rng")


class ObjectState:
    """A snapshot of ``vars(obj)``: ``restore()`` undoes whatever a check did to ``obj``."""

    def __init__(self, obj):
        self.obj = obj
        self.attributes = dict(vars(obj))
        self.arrays = {}           # name -> copy of the array
        self.dicts = {}            # name -> (items, {key: copy of each array value})
        for name, value in self.attributes.items():
            if name in _SKIP:
                continue
            if isinstance(value, np.ndarray):
                self.arrays[name] = value.copy()
            elif isinstance(value, dict):
                self.dicts[name] = (dict(value), {key: v.copy() for key, v in value.items()
                                                  if isinstance(v, np.ndarray)})
        rng = getattr(obj, "rng", None)
        self.rng_state = rng.bit_generator.state if isinstance(rng, np.random.Generator) else None

    def restore(self):
        current = vars(self.obj)
        for name in [n for n in current if n not in self.attributes]:
            del current[name]                       # created by the check (a cache, a counter)
        for name, value in self.attributes.items():
            if name in _SKIP:
                continue
            current[name] = value
            if name in self.arrays:
                _copy_back(value, self.arrays[name])
            elif name in self.dicts:
                items, copies = self.dicts[name]
                dict.clear(value)                   # dict's own methods: no subclass hooks
                dict.update(value, items)
                for key, saved in copies.items():
                    _copy_back(items[key], saved)
        if self.rng_state is not None:
            self.obj.rng.bit_generator.state = self.rng_state


def _copy_back(array, saved):
    if array.flags.writeable:
        np.copyto(array, saved)


def _states(net):
    return [ObjectState(obj) for obj in [net, net.loss, net.penalty] + list(net.layers)
            if obj is not None and hasattr(obj, "__dict__")]


@contextmanager
def float64_network(net, use_penalty=True):
    """Bind float64 copies of θ and dθ into ``net``; yields (theta, dtheta).

    use_penalty=False leaves the penalty out of J and dθ for the duration.
    """
    saved_buffers = (net._params, net._grads)
    states = _states(net)
    theta = net.params.astype(np.float64)   # always a copy: the model's θ is never touched
    dtheta = np.zeros_like(theta)
    try:
        net._params, net._grads = theta, dtheta
        net._bind(theta, dtheta)
        if not use_penalty:
            net.penalty = None
        yield theta, dtheta
    finally:
        net._params, net._grads = saved_buffers
        net._bind(*saved_buffers)
        for state in states:
            state.restore()


@contextmanager
def float64_layer(layer):
    """Bind float64 copies of a lone layer's parameters (gradients zeroed); yields the params."""
    saved = {key: (layer.params[key], layer.grads[key]) for key in layer.params}
    state = ObjectState(layer)
    params = {key: p.astype(np.float64) for key, p in layer.params.items()}
    try:
        for key in params:
            layer.params._bind(key, params[key])
            layer.grads._bind(key, np.zeros_like(params[key]))
        yield params
    finally:
        for key, (p, g) in saved.items():
            layer.params._bind(key, p)
            layer.grads._bind(key, g)
        state.restore()
