"""The float64 sandbox: a check works on float64 copies and puts everything back on exit.

Whatever the model's dtype, θ and dθ are float64 copies bound into the layers for the
duration of the check. On exit (also when the check raises) the original buffers are bound
again and everything reachable from the network, its layers, its loss and its penalty
(objects nested inside layers, lists a forward appends to, running statistics, caches) is
put back bit for bit: arrays are copied back into the very objects they were, containers
get their items back, attributes are rebound, attributes the check created are removed,
and random generators get their state back.
"""

import functools
import random
import types
import weakref
from contextlib import contextmanager

import numpy as np

# Never walked into: code, not state (and a layer's weak reference to its network).
_OPAQUE = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType,
           types.MethodType, weakref.ref, str, bytes, np.dtype)


class ObjectState:
    """A snapshot of everything reachable from ``roots`` through attributes (``__dict__``),
    lists, tuples, dicts and sets; ``restore()`` undoes whatever a check did to it.

    Containers get their items back in place, objects their attributes (attributes the
    check created are removed), arrays their values (copied into the same array objects),
    random generators their state. ``buffers``: arrays (the network's flat buffers) that
    are neither copied nor walked, nor their views. Cost: one copy of the state, once.
    """

    def __init__(self, roots, buffers=()):
        self.buffers = {id(b) for b in buffers}
        self.objects, self.lists, self.dicts, self.sets = [], [], [], []
        self.arrays, self.generators = [], []
        seen, stack = set(), list(roots)
        while stack:
            obj = stack.pop()
            if obj is None or id(obj) in seen or isinstance(obj, _OPAQUE):
                continue
            seen.add(id(obj))
            if isinstance(obj, np.ndarray):
                if id(obj) not in self.buffers and id(obj.base) not in self.buffers \
                        and obj.flags.writeable:
                    self.arrays.append((obj, obj.copy()))
                continue
            if isinstance(obj, np.random.Generator):
                self.generators.append((obj, obj.bit_generator.state))
                continue
            if isinstance(obj, (random.Random, np.random.RandomState)):
                self.generators.append((obj, obj.getstate() if isinstance(obj, random.Random)
                                        else obj.get_state()))
                continue
            if isinstance(obj, list):
                self.lists.append((obj, list(obj)))
                stack.extend(obj)
            elif isinstance(obj, dict):
                self.dicts.append((obj, dict(obj)))
                stack.extend(obj.values())
            elif isinstance(obj, (set, tuple)):
                if isinstance(obj, set):
                    self.sets.append((obj, set(obj)))
                stack.extend(obj)
            attributes = getattr(obj, "__dict__", None)
            if isinstance(attributes, dict):
                self.objects.append((obj, dict(attributes)))
                stack.extend(attributes.values())

    def restore(self):
        # the containers' own methods: no subclass hooks (ParamDict copies into its arrays)
        for obj, attributes in self.objects:
            current = vars(obj)
            dict.clear(current)
            dict.update(current, attributes)
        for obj, items in self.lists:
            list.__setitem__(obj, slice(None), items)
        for obj, items in self.dicts:
            dict.clear(obj)
            dict.update(obj, items)
        for obj, items in self.sets:
            set.clear(obj)
            set.update(obj, items)
        for array, saved in self.arrays:
            if array.flags.writeable and array.shape == saved.shape:
                np.copyto(array, saved)
        for generator, state in self.generators:
            if isinstance(generator, np.random.Generator):
                generator.bit_generator.state = state
            elif isinstance(generator, random.Random):
                generator.setstate(state)
            else:
                generator.set_state(state)


def _states(net):
    return ObjectState([net, net.loss, net.penalty] + list(net.layers),
                       buffers=(net._params, net._grads))


@contextmanager
def float64_network(net, use_penalty=True):
    """Bind float64 copies of θ and dθ into ``net``; yields (theta, dtheta).

    use_penalty=False leaves the penalty out of J and dθ for the duration.
    """
    saved_buffers = (net._params, net._grads)
    state = _states(net)
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
        state.restore()


@contextmanager
def float64_layer(layer):
    """Bind float64 copies of a lone layer's parameters (gradients zeroed); yields the params."""
    saved = {key: (layer.params[key], layer.grads[key]) for key in layer.params}
    net = layer._network() if getattr(layer, "_network", None) is not None else None
    state = ObjectState([layer], () if net is None else (net._params, net._grads))
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


def restoring_first_argument(check):
    """Decorator for a check whose first argument (a loss) it must leave as it found it."""
    @functools.wraps(check)
    def wrapper(obj, *args, **kwargs):
        state = ObjectState([obj])
        try:
            return check(obj, *args, **kwargs)
        finally:
            state.restore()
    return wrapper
