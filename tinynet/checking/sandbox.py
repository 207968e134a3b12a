"""The float64 sandbox: a check works on float64 copies and puts everything back on exit.

Whatever the model's dtype, θ and dθ are float64 copies bound into the layers for the
duration of the check; on exit the original buffers are bound again and every piece of
layer state a check may change (random generators, dropout's keep_prob and masks, the
flags the checker sets, the buffers that a training-mode forward updates such as
BatchNorm's running statistics) is restored bit for bit, also when the check raises.
"""

from contextlib import contextmanager

import numpy as np

# Attributes a check may set on a layer (the Dense input-gradient flag, dropout's state).
FLAGS = ("need_input_grad", "frozen_mask", "keep_prob", "mask")


class LayerState:
    """What a check may change on one layer, saved so that ``restore`` puts it back."""

    def __init__(self, layer):
        self.layer = layer
        self.rng = layer.rng.bit_generator.state
        self.flags = {name: getattr(layer, name) for name in FLAGS if hasattr(layer, name)}
        # (the array itself, a copy of its values): every perturbed forward updates them
        self.buffers = {name: (array, array.copy()) for name, array in layer.buffers.items()}

    def restore(self):
        self.layer.rng.bit_generator.state = self.rng
        for name, value in self.flags.items():
            setattr(self.layer, name, value)
        for name, (array, values) in self.buffers.items():
            self.layer.buffers._bind(name, array)
            array[...] = values


@contextmanager
def float64_network(net, use_penalty=True):
    """Bind float64 copies of θ and dθ into ``net``; yields (theta, dtheta).

    use_penalty=False leaves the penalty out of J and dθ for the duration.
    """
    saved_buffers = (net._params, net._grads)
    saved_penalty = net.penalty
    saved_rng = net.rng.bit_generator.state
    states = [LayerState(layer) for layer in net.layers]
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
        net.penalty = saved_penalty
        net.rng.bit_generator.state = saved_rng
        for state in states:
            state.restore()


@contextmanager
def float64_layer(layer):
    """Bind float64 copies of a lone layer's parameters (gradients zeroed); yields the params."""
    saved = {key: (layer.params[key], layer.grads[key]) for key in layer.params}
    state = LayerState(layer)
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
