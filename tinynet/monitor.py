"""ActivationMonitor: what a network's layers and updates look like while it trains.

The diagnostics of Karpathy's makemore part 3 ("Activations & Gradients, BatchNorm"), as a
``fit`` callback. Every ``every``-th training step it records, for each watched layer, the
statistics of that step's forward pass (the layer's output) and backward pass (the gradient
reaching that output), and for each parameter block the size of the optimizer's update:

    monitor = tn.ActivationMonitor(every=10)
    net.fit(X, y, epochs=50, callbacks=[monitor])
    monitor.saturated[1]       # share of saturated units of layer 1 (a Tanh), one value per sample
    monitor.update_ratio["W1"] # ‖ΔW1‖ / ‖W1‖ per sample
    tn.plot.activations(monitor)

Between samples nothing is recorded and nothing is computed: the network's forward and
backward passes run exactly as without the monitor.
"""

import numbers

import numpy as np

from .layers import Activation, Dropout, ReLU, Sigmoid, Tanh
from .training import Callback
from .validation import check_X

__all__ = ["ActivationMonitor"]


class ActivationMonitor(Callback):
    """Record activation and gradient statistics per layer and update ratios per block.

    every: sample training steps 0, every, 2·every, ... (steps count batches across epochs).
    layers: indices into ``net.layers`` of the layers whose outputs are watched; default: every
    activation layer (``tn.Activation`` subclasses, Dropout excepted). saturation: a Tanh output
    ``a`` is saturated when ``|a| > saturation`` (makemore's 0.97: there ``1 − a²``, the factor
    backprop multiplies by, is below 0.06); a Sigmoid output when ``|2a − 1| > saturation``
    (the same point, since sigmoid(z) = (1 + tanh(z/2)) / 2).

    Recorded, one value per sample (the sampled steps are in ``steps``), in dicts keyed by the
    layer index (``update_ratio`` by block name "W1", "b1", ...):

    - ``mean[i]``, ``std[i]``: of layer i's output over the batch;
    - ``saturated[i]`` (Tanh and Sigmoid layers): the share of outputs that are saturated;
    - ``dead[i]`` (ReLU layers): the share of units that output 0 for every row of the batch;
    - ``grad_std[i]``: the std of dJ/d(output of layer i), where backprop reaches layer i;
    - ``update_ratio[name]``: ‖Δθ‖ / ‖θ‖ for the block, Δθ being the optimizer's actual step
      (for SGD, lr·‖g‖/‖θ‖) and θ its value before the step; NaN while ‖θ‖ = 0. Karpathy's rule
      of thumb: around 1e-3; far below, the block learns slowly; far above, it jumps around.

    ``values[i]`` and ``grads[i]`` keep layer i's output and its gradient at the latest sample,
    for histograms (``tn.plot.activations``). ``names[i]`` labels the layers, e.g. "1 Tanh";
    ``shapes[name]`` is the shape of each parameter block.
    """

    def __init__(self, every=1, layers=None, saturation=0.97):
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"every must be a positive int, got {every!r}")
        if layers is not None and (not isinstance(layers, (list, tuple)) or not all(
                isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in layers)):
            raise TypeError(f"layers must be None or a list of layer indices, got {layers!r}")
        if isinstance(saturation, bool) or not isinstance(saturation, numbers.Real) \
                or not 0 < saturation < 1:
            raise ValueError(f"saturation must be a number in (0, 1), got {saturation!r}")
        self.every = int(every)
        self.watch = None if layers is None else [int(i) for i in layers]
        self.saturation = float(saturation)
        self._clear()

    def _clear(self):
        self.steps, self.names = [], {}
        self.mean, self.std, self.grad_std = {}, {}, {}
        self.saturated, self.dead, self.update_ratio, self.shapes = {}, {}, {}, {}
        self.values, self.grads = {}, {}

    # ---- set up --------------------------------------------------------------------------
    def _start(self, net):
        """Resolve the watched layers and allocate the per-block buffers for ``net``."""
        n = len(net.layers)
        if self.watch is None:
            indices = [i for i, layer in enumerate(net.layers)
                       if isinstance(layer, Activation) and not isinstance(layer, Dropout)]
        else:
            bad = [i for i in self.watch if not -n <= i < n]
            if bad:
                raise ValueError(f"ActivationMonitor layers {bad} are not indices into "
                                 f"net.layers (0 to {n - 1})")
            indices = sorted({i % n for i in self.watch})
        self._clear()
        self.names = {i: f"{i} {type(net.layers[i]).__name__}" for i in indices}
        for i in indices:
            self.mean[i], self.std[i], self.grad_std[i] = [], [], []
            if isinstance(net.layers[i], (Tanh, Sigmoid)):
                self.saturated[i] = []
            elif isinstance(net.layers[i], ReLU):
                self.dead[i] = []
        self.update_ratio = {block.name: [] for block in net.blocks}
        self.shapes = {block.name: block.shape for block in net.blocks}
        self._starts = np.array([block.start for block in net.blocks], dtype=np.intp)
        self._before = np.empty_like(net.params)
        self._tap = None

    # ---- the training hooks --------------------------------------------------------------
    def on_train_begin(self, net, history):
        self._start(net)

    def on_batch_begin(self, net, step):
        if step % self.every == 0:
            np.copyto(self._before, net.params)
            if net._tap is None:   # another monitor sampling this step has set it up already
                net._tap = {"out": {}, "grad": {}}
            self._tap = net._tap

    def on_batch_end(self, net, step, logs):
        if self._tap is None:
            return
        tap, self._tap, net._tap = self._tap, None, None
        self._record(net, tap, step)
        if len(self._starts):
            delta = (net.params - self._before).astype(np.float64)
            before = self._before.astype(np.float64)
            moved = np.sqrt(np.add.reduceat(delta * delta, self._starts))
            size = np.sqrt(np.add.reduceat(before * before, self._starts))
            with np.errstate(invalid="ignore", divide="ignore"):
                ratios = np.where(size > 0, moved / size, np.nan)
            for name, value in zip(self.update_ratio, ratios.tolist()):
                self.update_ratio[name].append(value)

    # ---- one measurement without training ------------------------------------------------
    def measure(self, net, X, y=None):
        """Record one sample from ``net`` on ``X`` (and, given ``y``, its gradients); -> self.

        A forward pass in inference mode (no dropout, no running statistics touched), then with
        ``y`` a backward pass from the loss; ``net.grads`` is left as it was. No update happens,
        so ``update_ratio`` gets nothing. Clears what was recorded before.
        """
        if y is None:
            X = check_X(X, net.n_inputs, net.dtype)
        else:
            X, y = net._check_data(X, y)
        self._start(net)
        saved = net.grads.copy()
        tap = net._tap = {"out": {}, "grad": {}}
        try:
            scores = net._forward(X, training=False)
            if y is not None:
                net.loss.forward(scores, y)
                net._backward(X.shape[0])
        finally:
            net._tap = None
            np.copyto(net.grads, saved)
        self._record(net, tap, None)
        return self

    def _record(self, net, tap, step):
        self.steps.append(step)
        out, grad = tap["out"], tap["grad"]
        for i in self.names:
            a = out[i]
            self.values[i] = a
            self.mean[i].append(float(a.mean()))
            self.std[i].append(float(a.std()))
            if i in self.saturated:
                shifted = a if isinstance(net.layers[i], Tanh) else 2 * a - 1
                self.saturated[i].append(float(np.mean(np.abs(shifted) > self.saturation)))
            elif i in self.dead:
                self.dead[i].append(float(np.mean(~(a > 0).any(axis=0))))
            g = grad.get(i)  # none before the first layer with parameters, or without y
            self.grads[i] = g
            self.grad_std[i].append(float(g.std()) if g is not None else np.nan)

    def __repr__(self):
        return f"ActivationMonitor(every={self.every})"
