"""check_layer: one layer alone, the way CS231n checks every layer before it is used.

With a fixed random upstream gradient G, the scalar J = Σ out·G has dJ/dout = G, so
``backward(G)`` must return dJ/dx and fill dJ/dparams. Every entry of x and of every
parameter is perturbed by ±ε; a layer's ``kinks`` hook tells a kink from a bug.
"""

import numpy as np

from ..layers import Dropout, Layer
from ..validation import check_seed, flag, positive_float, step_size
from .estimate import DEFAULT_EPS, Kink, combine, round_off
from .functions import numeric_array
from .policy import DEFAULT_TOL, difference
from .report import GradCheckReport, progress_bar, summarize_block
from .sandbox import float64_layer


def check_layer(layer, x, eps=DEFAULT_EPS, tol=DEFAULT_TOL, seed=0, training=True, progress=None):
    """Check ``layer.backward`` against numeric gradients of J = Σ forward(x)·G.

    layer: any Layer; x: (m, n_in) input; G is drawn from ``default_rng(seed)``.
    Blocks: the layer's parameter names plus "x" for the input gradient. A Dropout layer
    is checked with one frozen mask. The layer is left as it was (float64 copies are used).
    -> GradCheckReport
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"check_layer expects a tinynet Layer, got {type(layer).__name__}")
    eps = step_size(eps)
    tol = positive_float(tol, "tol")
    flag(training, "training")
    if progress is not None:
        flag(progress, "progress")
    rng = np.random.default_rng(check_seed(seed))
    x = numeric_array(x, "x")  # a copy: entries are perturbed in place
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"x must be a non-empty array of inputs (m, n_in), got shape {x.shape}")

    with float64_layer(layer) as params:
        if hasattr(layer, "need_input_grad"):
            layer.need_input_grad = True
        if isinstance(layer, Dropout) and training and layer.keep_prob < 1:
            layer.frozen_mask = (rng.random(x.shape) < layer.keep_prob) / layer.keep_prob

        out = np.asarray(layer.forward(x, training=training), dtype=np.float64)
        G = rng.standard_normal(out.shape)
        dx = layer.backward(G.copy())
        if dx is None or np.shape(dx) != x.shape:
            raise ValueError(f"{layer!r}.backward returned {None if dx is None else np.shape(dx)}; "
                             f"it must return dJ/dx with the input's shape {x.shape}")
        analytic = {"x": np.asarray(dx, dtype=np.float64).ravel()}
        analytic.update({key: layer.grads[key].ravel().copy() for key in params})
        J0 = float(np.vdot(out, G))
        noise = round_off(float(np.abs(out * G).sum()), eps)
        kinks0 = layer.kinks(x)
        if kinks0 is not None:
            kinks0 = np.array(kinks0)  # a copy: ReLU.kinks returns x itself, perturbed below

        def delta_J():
            return float(np.vdot(layer.forward(x, training=training), G)) - J0

        arrays = dict(params, x=x)
        bar = progress_bar(progress, sum(a.size for a in arrays.values()))
        results, all_g, all_n = [], [], []
        for name in list(params) + ["x"]:
            array = arrays[name].reshape(-1)  # a view: perturbing it perturbs the layer's input
            changes = np.empty((2, array.size))
            crossed = np.zeros((2, array.size), dtype=bool)
            for i in range(array.size):
                saved_value = array[i]
                for side, step in enumerate((eps, -eps)):
                    array[i] = saved_value + step
                    changes[side, i], crossed[side, i] = delta_J(), _crossed(layer, kinks0, x)
                array[i] = saved_value
            numeric, kink = combine(changes[0], changes[1], crossed[0], crossed[1], eps)
            if bar is not None:
                bar.update(array.size)
            results.append(summarize_block(name, arrays[name].shape, analytic[name], numeric, kink,
                                           np.arange(array.size), floor_per_entry=noise, tol=tol))
            all_g.append(analytic[name][kink == Kink.NONE])
            all_n.append(numeric[kink == Kink.NONE])
        if bar is not None:
            bar.close()
    overall = difference(np.concatenate(all_g), np.concatenate(all_n))
    return GradCheckReport(results, overall, eps, "layer", tol)


def _crossed(layer, kinks0, x):
    # Checked for every block: a step in x moves the input, a step in a parameter may move
    # the kink itself (a learnable threshold: kinks(x) = x − t).
    if kinks0 is None:
        return False
    return bool(np.any(np.sign(layer.kinks(x)) != np.sign(kinks0)))
