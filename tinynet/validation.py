"""Checks at the public boundary: clear errors before any state changes.

Internals trust what passed through here and stay free of repeated checks.
"""

import numbers

import numpy as np


def check_X(X, n_features, dtype=np.float64, name="X"):
    """Return X as a C-contiguous ``dtype`` array of shape (m, n_features), or raise."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{name} must be a 2-D numeric array (m, {n_features}), got {type(X).__name__}")
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be a 2-D numeric array (m, {n_features}): {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim != 2:
        hint = " (one example? use X.reshape(1, -1); one feature? X.reshape(-1, 1))" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (m, {n_features}) with examples as rows, "
                         f"got shape {arr.shape}{hint}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no examples (shape {arr.shape})")
    if n_features is not None and arr.shape[1] != n_features:
        transposed = " (examples must be rows: did you pass X.T?)" if arr.shape[0] == n_features else ""
        raise ValueError(f"{name} has {arr.shape[1]} features but the network expects "
                         f"{n_features} (X.shape == {arr.shape}){transposed}")
    if arr.dtype.kind != "f":  # integers and booleans are finite and within float32's range
        return np.ascontiguousarray(arr, dtype=dtype)
    with np.errstate(over="ignore"):  # a value beyond dtype's range becomes inf: found below
        out = np.ascontiguousarray(arr, dtype=dtype)
    # A sum is finite only if every entry is: one pass over X and no temporary its size. The
    # entry-by-entry search (or a sum that merely overflowed) happens only when it is not.
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(out, axis=None)
    if not np.isfinite(total):
        _check_finite_entries(arr, out, dtype, name)
    return out


def _check_finite_entries(arr, out, dtype, name):
    """Raise for the first NaN / inf in ``arr``, or for a value that became inf in ``out``."""
    for original in (arr, out):
        rows = max(1, 2 ** 20 // max(1, arr.shape[1]))  # about a million entries at a time
        for start in range(0, arr.shape[0], rows):
            bad = np.argwhere(~np.isfinite(original[start:start + rows]))
            if bad.size:
                i, j = bad[0]
                i += start
                if original is arr:
                    raise ValueError(f"{name} contains NaN or inf values (the first at row {i}, "
                                     f"column {j}: {arr[i, j]})")
                largest = max(-float(arr.min()), float(arr.max()))
                raise ValueError(f"{name} has values up to {largest:.3g}, beyond the range of "
                                 f"this {np.dtype(dtype).name} network (max "
                                 f"{np.finfo(dtype).max:.3g}; row {i}, column {j})")


def positive_int(value, name, alternative=""):
    """``value`` as an int > 0; ``alternative`` completes the message (" or None ...")."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int{alternative}, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int{alternative}, got {value}")
    return int(value)


def finite_float(value, name):
    """``value`` as a finite float; TypeError for a non-number, ValueError for NaN or inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def flag(value, name):
    """``value`` as a bool; a TypeError for anything but True/False."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def step_size(eps):
    """The finite-difference step ε: a positive number below 1."""
    eps = positive_float(eps, "eps")
    if eps >= 1:
        raise ValueError(f"eps must be a small step (0 < eps < 1; 1e-6 is the default), got {eps}")
    return eps


def positive_float(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def check_seed(value, name="seed"):
    """Return ``value`` if it is None or an int >= 0 (a seed for numpy.random.default_rng), or raise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be None or an int >= 0, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be None or an int >= 0, got {value}")
    return int(value)


def choice(value, name, options):
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}; expected one of "
                         f"{', '.join(map(repr, options))}")
    return value
