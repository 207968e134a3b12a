"""gradcheck: the course's ``gradient_check_n`` for a learner's own hand-written functions.

``cost(params_dict) -> J`` and the grads dict that their backward propagation returned
(keys ``dW1`` or ``W1``; others such as ``dZ1`` ignored). Without layers there is no kink
detection here.
"""

import numpy as np

from ..validation import flag, positive_float, step_size
from .estimate import Kink, combine, round_off
from .policy import DEFAULT_TOL, difference
from .report import GradCheckReport, progress_bar, summarize_block


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
        values = np.empty((2, flat.size))      # J(θ + ε e_i), J(θ − ε e_i)
        for i in range(flat.size):
            saved = flat[i]
            for side, step in enumerate((eps, -eps)):
                flat[i] = saved + step
                values[side, i] = _call(cost, working)
            flat[i] = saved
        no_kinks = np.zeros(flat.size, dtype=bool)     # so J(θ) cancels: the values will do
        numeric, _ = combine(values[0], values[1], no_kinks, no_kinks, eps)
        if bar is not None:
            bar.update(flat.size)
        shape = np.squeeze(array).shape if array.ndim == 2 and 1 in array.shape[1:] else array.shape
        results.append(summarize_block(name, shape, analytic[name], numeric,
                                       np.full(flat.size, Kink.NONE, dtype=np.int8),
                                       np.arange(flat.size),
                                       floor_per_entry=noise, tol=tol))
        all_g.append(analytic[name])
        all_n.append(numeric)
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

