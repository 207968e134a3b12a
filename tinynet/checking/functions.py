"""gradcheck: the course's ``gradient_check_n`` for a learner's own hand-written functions.

``cost(params_dict) -> J`` and the grads dict that their backward propagation returned
(keys ``dW1`` or ``W1``; others such as ``dZ1`` ignored). Without layers there are no kink
hooks: a kink (a ReLU) is recognized from J itself and judged as a subgradient.
"""

from functools import partial

import numpy as np

from ..validation import flag, positive_float, step_size
from .estimate import DEFAULT_EPS, Kink, judge, round_off
from .opinion import climb, look, plain_estimate
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

    call = _Caller(cost, working)
    J0 = call()
    noise = round_off(abs(J0), eps)
    bar = progress_bar(progress, sum(a.size for a in working.values()))
    results, all_g, all_n = [], [], []
    for name, array in working.items():
        def estimate(scale, positions, name=name):
            step = eps * scale
            plus, minus, undeclared, _ = _changes(call, working[name], positions, step, J0)
            return judge(analytic[name][positions], plus, minus, undeclared, undeclared, step,
                         noise * eps / step, tol,
                         again=lambda picked, h: (*_changes(call, working[name], positions[picked],
                                                            h, J0), noise * eps / h))
        everything = np.arange(array.size)
        numeric, kink = estimate(1.0, everything)
        if bar is not None:
            bar.update(array.size)
        result = summarize_block(name, array.shape, analytic[name], numeric, kink, everything,
                                 floor_per_entry=noise, tol=tol, eps_excess=DEFAULT_EPS / eps)
        estimate.eps = eps
        look(estimate, analytic[name], numeric, kink, result, tol, J0)
        # J's round-off is unknown here: the error's slope over larger steps decides
        climb(plain_estimate(partial(_changes, call, working[name], J0=J0), eps),
              analytic[name], numeric, result, tol)
        results.append(result)
        all_g.append(analytic[name][kink == Kink.NONE])
        all_n.append(numeric[kink == Kink.NONE])
    if bar is not None:
        bar.close()
    overall = difference(np.concatenate(all_g), np.concatenate(all_n))
    notes = [] if not call.copying else [
        "cost writes into the params it is given, so every evaluation got a fresh copy of "
        "all of them (slow: the time grows with the square of the parameter count)"]
    return GradCheckReport(results, overall, eps, "gradcheck", tol, notes)


def _changes(call, array, entries, step, J0):
    """J(θ ± step e_i) − J(θ) for the flat ``entries`` of ``array``; no layers, no kink
    hooks: -> (plus, minus, and no declared kinks for either)."""
    flat = array.reshape(-1)
    plus, minus = np.empty(len(entries)), np.empty(len(entries))
    for k, i in enumerate(entries):
        saved = flat[i]
        flat[i] = saved + step
        plus[k] = call() - J0
        flat[i] = saved - step
        minus[k] = call() - J0
        flat[i] = saved
    undeclared = np.zeros(len(entries), dtype=np.uint8)
    return plus, minus, undeclared, undeclared


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


class _Caller:
    """``cost`` at the current working arrays, in O(1) per call instead of O(n).

    The cost gets a new dict of read-only views of the private working arrays (so the
    perturbation of one entry shows through without copying anything). A cost that writes
    into its input fails on the read-only view; from then on it gets fresh copies instead
    (``copying``), so it can never corrupt the working arrays either way.
    """

    def __init__(self, cost, working):
        self.cost, self.working, self.copying = cost, working, False
        self.views = {}
        for name, array in working.items():
            self.views[name] = view = array.view()
            view.flags.writeable = False

    def __call__(self):
        if not self.copying:
            try:
                return _value(self.cost(dict(self.views)))
            except ValueError as exc:
                if "read-only" not in str(exc):
                    raise
                self.copying = True
        return _value(self.cost({k: v.copy() for k, v in self.working.items()}))


def _value(value):
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

