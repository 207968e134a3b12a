"""check_layer: one layer alone, the way CS231n checks every layer before it is used.

With a fixed random upstream gradient G, the scalar J = Σ out·G has dJ/dout = G, so
``backward(G)`` must return dJ/dx and fill dJ/dparams. Every entry of x and of every
parameter is perturbed by ±ε; a layer's ``kinks`` hook tells a kink from a bug. Each block
then gets the network check's second opinion (opinion.py): a constant error fails it even
inside the "fine" band, and entries failing at several kinks are judged at smaller steps.
"""

from functools import partial

import numpy as np

from ..layers import Dropout, Layer, require_init
from ..validation import check_seed, flag, positive_float, step_size
from .estimate import DEFAULT_EPS, Kink, judge, kink_code, round_off
from .functions import numeric_array
from .opinion import finer_look, look, plain_estimate
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
    require_init(layer, "layer")
    eps = step_size(eps)
    tol = positive_float(tol, "tol")
    flag(training, "training")
    if progress is not None:
        flag(progress, "progress")
    rng = np.random.default_rng(check_seed(seed))
    x = numeric_array(x, "x")  # a copy: entries are perturbed in place
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"x must be a non-empty array of inputs (m, n_in), got shape {x.shape}")

    with float64_layer(layer) as params, np.errstate(all="ignore"):     # NaN: "not finite"
        if hasattr(layer, "need_input_grad"):
            layer.need_input_grad = True
        if isinstance(layer, Dropout) and training and layer.keep_prob < 1:
            layer.frozen_mask = (rng.random(x.shape) < layer.keep_prob) / layer.keep_prob
        frozen = layer.rng.bit_generator.state     # restored before every call: self.rng frozen
        notes = []

        def forward(protect):
            layer.rng.bit_generator.state = frozen
            given = x.copy() if protect else x
            return checked_output(repr(layer), layer.forward(given, training=training),
                                  x.shape[0] if x.ndim == 2 else None), given

        out, given = forward(protect=True)
        in_place = not np.array_equal(given, x)
        if in_place:
            notes.append(f"{layer!r}.forward writes into its input x; the check gave it copies, "
                         "but in a Network that overwrites what the layer before it cached "
                         "(copy x first, or use np.where)")
        if not np.array_equal(forward(protect=True)[0], out, equal_nan=True):
            raise RuntimeError(nondeterministic(repr(layer)))
        G = rng.standard_normal(out.shape)
        dx = checked_input_grad(repr(layer), layer.backward(G.copy()), x.shape)
        analytic = {"x": dx.ravel()}
        analytic.update({key: layer.grads[key].ravel().copy() for key in params})
        J0 = float(np.vdot(out, G))
        scale = float(np.abs(out * G).sum())       # the terms J sums: its round-off
        noise = round_off(scale, eps)
        kinks0 = layer.kinks(x)
        if kinks0 is not None:
            kinks0 = np.array(kinks0)  # a copy: ReLU.kinks returns x itself, perturbed below

        def delta_J():
            return float(np.vdot(forward(in_place)[0], G)) - J0

        arrays = dict(params, x=x)

        def changes(array, positions, step):
            """J(a ± step e_i) − J(a) for the entries at ``positions`` of the flat ``array``
            (a view: perturbing it perturbs the layer's input or parameter); -> (plus, minus,
            and what each step did to the declared kinks)."""
            plus, minus = np.empty(len(positions)), np.empty(len(positions))
            up = np.zeros(len(positions), dtype=np.uint8)
            down = up.copy()
            for k, i in enumerate(positions):
                saved_value = array[i]
                array[i] = saved_value + step
                plus[k], up[k] = delta_J(), _crossed(layer, kinks0, x)
                array[i] = saved_value - step
                minus[k], down[k] = delta_J(), _crossed(layer, kinks0, x)
                array[i] = saved_value
            return plus, minus, up, down

        bar = progress_bar(progress, sum(a.size for a in arrays.values()))
        results, all_g, all_n = [], [], []
        for name in list(params) + ["x"]:
            array = arrays[name].reshape(-1)
            everything = np.arange(array.size)
            plus, minus, up, down = changes(array, everything, eps)
            numeric, kink = judge(analytic[name], plus, minus, up, down, eps, noise, tol,
                                  again=lambda positions, h, array=array: (
                                      *changes(array, positions, h), noise * eps / h))
            if bar is not None:
                bar.update(array.size)
            result = summarize_block(name, arrays[name].shape, analytic[name], numeric, kink,
                                     everything, floor_per_entry=noise, tol=tol,
                                     eps_excess=DEFAULT_EPS / eps)
            estimate = plain_estimate(partial(changes, array), eps)
            look(estimate, analytic[name], numeric, kink, result, tol, J0, scale)
            finer_look(estimate, analytic[name], numeric, kink, result, tol, noise)
            results.append(result)
            all_g.append(analytic[name][kink == Kink.NONE])
            all_n.append(numeric[kink == Kink.NONE])
        if bar is not None:
            bar.close()
    overall = difference(np.concatenate(all_g), np.concatenate(all_n))
    return GradCheckReport(results, overall, eps, "layer", tol, notes)


def _crossed(layer, kinks0, x):
    # Checked for every block: a step in x moves the input, a step in a parameter may move
    # the kink itself (a learnable threshold: kinks(x) = x − t).
    if kinks0 is None:
        return 0
    return kink_code(kinks0, layer.kinks(x), axes=None)


# ---- what every layer must return (also checked inside a Network by engine.py) ------------

def checked_output(name, out, m):
    """forward's result as a float64 (m, n) array, or a clear error naming the layer ``name``."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: forward returned a {type(out).__name__}; it must "
                        "return a numpy array of shape (m, n_out)")
    if m is not None and (out.ndim != 2 or out.shape[0] != m):
        raise ValueError(f"{name}: forward returned shape {out.shape}; it must "
                         f"return (m, n_out), one row per example (m = {m})")
    return out.astype(np.float64, copy=False)


def checked_input_grad(name, dx, shape):
    """backward's result dJ/dx as a float64 array shaped like the input, or a clear error."""
    if not isinstance(dx, np.ndarray) or dx.shape != shape:
        got = "None" if dx is None else (f"shape {dx.shape}" if isinstance(dx, np.ndarray)
                                         else f"a {type(dx).__name__}")
        raise ValueError(f"{name}: backward returned {got}; it must return dJ/dx "
                         f"with the input's shape {shape}")
    return dx.astype(np.float64, copy=False)


def nondeterministic(name):
    """The message for a layer whose output changes between two calls with the same input."""
    return (f"{name} gives a different output each time forward is called with the same input, "
            "so J itself changes between evaluations and no finite difference means anything. "
            "Draw random numbers from self.rng (the layer's numpy Generator, which the checker "
            "freezes), not from np.random.* or the clock, and keep no state that changes the "
            "output from one call to the next")
