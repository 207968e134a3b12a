"""Checks without a Network: one layer alone, or the course's own hand-written functions.

``check_layer(layer, x)`` is how you verify a custom layer before training it
(CS231n checks every layer this way): with a fixed random upstream gradient G,
the scalar J = Σ out·G has dJ/dout = G, so ``backward(G)`` must return dJ/dx and
fill dJ/dparams. Every entry of x and of every parameter is perturbed by ±ε.

``gradcheck(cost, params, grads)`` is the course's ``gradient_check_n`` for a
learner's own functions: ``cost(params_dict) -> J`` and the grads dict that their
backward propagation returned (keys ``dW1`` or ``W1``; others such as ``dZ1`` ignored).
"""

import numpy as np

from .checking import DEFAULT_EPS, DEFAULT_TOL, NOISE_FACTOR, UNIT_ROUNDOFF, _difference, _progress
from .layers import Dropout, Layer
from .report import GradCheckReport, summarize_block
from .validation import check_seed, flag, positive_float, step_size


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
    x = _numeric_array(x, "x")  # a copy: entries are perturbed in place
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"x must be a non-empty array of inputs (m, n_in), got shape {x.shape}")

    saved = {key: (layer.params[key], layer.grads[key]) for key in layer.params}
    saved_rng = layer.rng.bit_generator.state
    saved_flags = {name: getattr(layer, name) for name in ("need_input_grad", "frozen_mask")
                   if hasattr(layer, name)}
    try:
        params = {key: p.astype(np.float64) for key, p in layer.params.items()}
        for key in params:
            layer.params._bind(key, params[key])
            layer.grads._bind(key, np.zeros_like(params[key]))
        if hasattr(layer, "need_input_grad"):
            layer.need_input_grad = True
        if isinstance(layer, Dropout) and training and layer.keep_prob < 1:
            out_shape = x.shape
            layer.frozen_mask = (rng.random(out_shape) < layer.keep_prob) / layer.keep_prob

        out = np.asarray(layer.forward(x, training=training), dtype=np.float64)
        G = rng.standard_normal(out.shape)
        dx = layer.backward(G.copy())
        if dx is None or np.shape(dx) != x.shape:
            raise ValueError(f"{layer!r}.backward returned {None if dx is None else np.shape(dx)}; "
                             f"it must return dJ/dx with the input's shape {x.shape}")
        analytic = {"x": np.asarray(dx, dtype=np.float64).ravel()}
        analytic.update({key: layer.grads[key].ravel().copy() for key in params})
        J0 = float(np.vdot(out, G))
        noise = NOISE_FACTOR * UNIT_ROUNDOFF * max(float(np.abs(out * G).sum()), 1e-300) / eps
        kinks0 = layer.kinks(x)
        if kinks0 is not None:
            kinks0 = np.array(kinks0)  # a copy: ReLU.kinks returns x itself, perturbed below

        def cost():
            return float(np.vdot(layer.forward(x, training=training), G))

        arrays = dict({key: params[key] for key in params}, x=x)
        todo = sum(a.size for a in arrays.values())
        bar = _progress(progress, todo)
        results, all_g, all_n = [], [], []
        for name in list(params) + ["x"]:
            array = arrays[name].reshape(-1)  # a view: perturbing it perturbs the layer's input
            numeric = np.empty(array.size)
            kink = np.zeros(array.size, dtype=np.int8)
            for i in range(array.size):
                saved_value = array[i]
                array[i] = saved_value + eps
                J_plus, up = cost(), _crossed(layer, kinks0, x, name)
                array[i] = saved_value - eps
                J_minus, down = cost(), _crossed(layer, kinks0, x, name)
                array[i] = saved_value
                numeric[i], kink[i] = _estimate(J_plus, J_minus, J0, eps, up, down)
            if bar is not None:
                bar.update(array.size)
            results.append(summarize_block(name, arrays[name].shape, analytic[name], numeric, kink,
                                           np.arange(array.size), floor_per_entry=noise, tol=tol))
            all_g.append(analytic[name][kink == 0])
            all_n.append(numeric[kink == 0])
        if bar is not None:
            bar.close()
    finally:
        for key, (p, g) in saved.items():
            layer.params._bind(key, p)
            layer.grads._bind(key, g)
        for name, value in saved_flags.items():
            setattr(layer, name, value)
        layer.rng.bit_generator.state = saved_rng
    difference = _difference(np.concatenate(all_g), np.concatenate(all_n))
    return GradCheckReport(results, difference, eps, "layer", tol)


def _crossed(layer, kinks0, x, name):
    # Checked for every block: a step in x moves the input, a step in a parameter may move
    # the kink itself (a learnable threshold: kinks(x) = x − t).
    if kinks0 is None:
        return False
    return bool(np.any(np.sign(layer.kinks(x)) != np.sign(kinks0)))


def _estimate(J_plus, J_minus, J0, eps, up, down):
    """Two-sided difference, or one-sided from the side that did not cross a kink."""
    if up and down:
        return np.nan, 2
    if up:
        return (J0 - J_minus) / eps, 1
    if down:
        return (J_plus - J0) / eps, 1
    return (J_plus - J_minus) / (2 * eps), 0


def gradcheck(cost, params, grads, eps=1e-7, tol=DEFAULT_TOL, progress=None):
    """The course's gradient check for hand-written functions; -> GradCheckReport.

    cost: cost(params_dict) -> J (a float); params: {"W1": ..., "b1": ..., ...} (b may be
    (n, 1)); grads: what your backward returned, keyed "dW1" or "W1" (other keys such as
    "dZ1" and "dA1" are ignored). eps defaults to the course's 1e-7. Without layers there is
    no kink detection here: a single stray entry next to a ReLU may be a kink.
    """
    if not callable(cost):
        raise TypeError(f"cost must be a function cost(params) -> float, got {type(cost).__name__}")
    if not isinstance(params, dict) or not params:
        raise TypeError("params must be a non-empty dict like {'W1': array, 'b1': array, ...}")
    if not isinstance(grads, dict):
        raise TypeError("grads must be a dict like {'dW1': array, 'db1': array, ...}")
    eps = step_size(eps)
    tol = positive_float(tol, "tol")
    if progress is not None:
        flag(progress, "progress")
    working, analytic = {}, {}
    for name, value in params.items():
        array = _numeric_array(value, f"params[{name!r}]")
        key = name if name in grads else "d" + name
        if key not in grads:
            raise KeyError(f"grads has no gradient for parameter {name!r} (looked for "
                           f"{name!r} and {'d' + name!r}); it has {sorted(grads)}")
        g = _numeric_array(grads[key], f"grads[{key!r}]")
        # Equal shapes, up to the course's (n, 1) columns: a transposed dW is a bug, not a match.
        if g.size != array.size or _squeezed(g.shape) != _squeezed(array.shape):
            raise ValueError(f"grads[{key!r}] has shape {g.shape} but params[{name!r}] has "
                             f"shape {array.shape}")
        working[name], analytic[name] = array, g.ravel()

    J0 = _call(cost, working)
    noise = NOISE_FACTOR * UNIT_ROUNDOFF * max(abs(J0), 1e-300) / eps
    bar = _progress(progress, sum(a.size for a in working.values()))
    results, all_g, all_n = [], [], []
    for name, array in working.items():
        flat = array.reshape(-1)
        numeric = np.empty(flat.size)
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + eps
            J_plus = _call(cost, working)
            flat[i] = saved - eps
            J_minus = _call(cost, working)
            flat[i] = saved
            numeric[i] = (J_plus - J_minus) / (2 * eps)
        if bar is not None:
            bar.update(flat.size)
        shape = np.squeeze(array).shape if array.ndim == 2 and 1 in array.shape[1:] else array.shape
        results.append(summarize_block(name, shape, analytic[name], numeric,
                                       np.zeros(flat.size, dtype=np.int8), np.arange(flat.size),
                                       floor_per_entry=noise, tol=tol))
        all_g.append(analytic[name])
        all_n.append(numeric)
    if bar is not None:
        bar.close()
    difference = _difference(np.concatenate(all_g), np.concatenate(all_n))
    return GradCheckReport(results, difference, eps, "gradcheck", tol)


def _squeezed(shape):
    return tuple(n for n in shape if n != 1)


def _numeric_array(value, name):
    """A float64 copy of ``value``, or a clear error naming ``name``."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    array = np.array(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be a finite array; it contains NaN or inf")
    return array


def _call(cost, params):
    value = cost({k: v.copy() for k, v in params.items()})
    if isinstance(value, tuple):  # the course's forward_propagation_n returns (cost, cache)
        value = value[0]
    value = np.asarray(value)
    if value.dtype.kind not in "biuf":
        raise TypeError(f"cost must return a number, got {value!r}")
    if value.size != 1:
        raise ValueError(f"cost must return one number, got an array of shape {value.shape}")
    value = float(value.reshape(()))
    if not np.isfinite(value):
        raise ValueError("cost returned NaN or inf")
    return value

