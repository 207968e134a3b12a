"""gradcheck: the course's ``gradient_check_n`` for a learner's own hand-written functions.

``cost(params_dict) -> J`` and the grads dict that their backward propagation returned
(keys ``dW1`` or ``W1``; others such as ``dZ1`` ignored). Without layers there are no kink
hooks: a kink (a ReLU) is recognized from J itself and judged as a subgradient.
"""

import numpy as np

from ..validation import flag, positive_float, step_size
from .estimate import DEFAULT_EPS, Kink, judge, round_off
from .policy import DEFAULT_TOL, difference
from .report import GradCheckReport, progress_bar, summarize_block


def gradcheck(cost, params, grads, eps=1e-7, tol=DEFAULT_TOL, progress=None):
    """The course's gradient check for hand-written functions; -> GradCheckReport.

    cost: cost(params_dict) -> J (a float); params: {"W1": ..., "b1": ..., ...} (b may be
    (n, 1)); grads: what your backward returned, keyed "dW1" or "W1" (other keys such as
    "dZ1" and "dA1" are ignored). eps defaults to the course's 1e-7. An entry whose step
    crosses a kink (a ReLU) is recognized from J itself and passes when backprop's value lies
    between the two one-sided slopes.
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
        array = numeric_array(value, f"params[{name!r}]")
        key = name if name in grads else "d" + name
        if key not in grads:
            raise KeyError(f"grads has no gradient for parameter {name!r} (looked for "
                           f"{name!r} and {'d' + name!r}); it has {sorted(grads)}")
        g = numeric_array(grads[key], f"grads[{key!r}]")
        # Equal shapes, up to the course's (n, 1) columns: a transposed dW is a bug, not a match.
        if g.size != array.size or _squeezed(g.shape) != _squeezed(array.shape):
            raise ValueError(f"grads[{key!r}] has shape {g.shape} but params[{name!r}] has "
                             f"shape {array.shape}")
        working[name], analytic[name] = array, g.ravel()

    J0 = _call(cost, working)
    noise = round_off(abs(J0), eps)
    bar = progress_bar(progress, sum(a.size for a in working.values()))
    results, all_g, all_n = [], [], []
    for name, array in working.items():
        flat = array.reshape(-1)
        changes = np.empty((2, flat.size))     # J(θ + ε e_i) − J(θ), J(θ − ε e_i) − J(θ)
        for i in range(flat.size):
            saved = flat[i]
            for side, step in enumerate((eps, -eps)):
                flat[i] = saved + step
                changes[side, i] = _call(cost, working) - J0
            flat[i] = saved
        undeclared = np.zeros(flat.size, dtype=bool)   # no layers, no kink hooks: judged from J
        numeric, kink = judge(analytic[name], changes[0], changes[1], undeclared, undeclared,
                              eps, noise, tol)
        if bar is not None:
            bar.update(flat.size)
        shape = np.squeeze(array).shape if array.ndim == 2 and 1 in array.shape[1:] else array.shape
        results.append(summarize_block(name, shape, analytic[name], numeric, kink,
                                       np.arange(flat.size), floor_per_entry=noise, tol=tol,
                                       eps_excess=DEFAULT_EPS / eps))
        all_g.append(analytic[name][kink == Kink.NONE])
        all_n.append(numeric[kink == Kink.NONE])
    if bar is not None:
        bar.close()
    overall = difference(np.concatenate(all_g), np.concatenate(all_n))
    return GradCheckReport(results, overall, eps, "gradcheck", tol)


def _squeezed(shape):
    return tuple(n for n in shape if n != 1)


def numeric_array(value, name):
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

