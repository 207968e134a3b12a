"""Weight initializers for Dense layers, side by side for teaching.

Each draws W of shape (n_out, n_in) from N(0, std²):

==========  ======================  ===========================================
name        std                     reference
==========  ======================  ===========================================
"he"        sqrt(2 / n_in)          He et al. 2015; the course's He init (ReLU)
"xavier"    sqrt(1 / n_in)          the course's "Xavier" (tanh)
"glorot"    sqrt(2 / (n_in+n_out))  Glorot & Bengio 2010 (normal form)
"zeros"     0                       fails to break symmetry (the course's lesson)
"normal"    scale                   the course's "large random" is scale=10
==========  ======================  ===========================================

A callable ``init(shape, rng) -> array`` is accepted as well.
"""

import numpy as np

NAMES = ("he", "xavier", "glorot", "zeros", "normal")
DEFAULT_SCALE = 0.01   # the std of init="normal" when no scale is given


def validate(init, scale=None):
    """Return ``init`` if it is a known name or a callable; raise a clear error otherwise.

    ``scale`` (None or a number >= 0) belongs to "normal" only: any other init sets its own
    std, so a scale given with it would be silently ignored, and is refused instead.
    """
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)):
            raise TypeError(f"scale must be a finite number >= 0, got {type(scale).__name__} "
                            f"{scale!r}")
        if not np.isfinite(scale) or scale < 0:
            raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
    if not callable(init) and init not in NAMES:
        raise ValueError(f"unknown init {init!r}; expected one of {', '.join(map(repr, NAMES))} "
                         "or a callable f(shape, rng)")
    if scale is not None and init != "normal":
        own = "the callable draws its own values" if callable(init) else \
            f"init={init!r} sets its own std"
        raise ValueError(f"scale={scale!r} is used only with init='normal' (std = scale); {own}, "
                         "so leave scale out or use init='normal'")
    return init


def draw(init, shape, rng, scale=DEFAULT_SCALE):
    """Draw an array of ``shape = (n_out, n_in)`` with ``init`` from the Generator ``rng``."""
    n_out, n_in = shape
    if callable(init):
        values = np.asarray(init(shape, rng), dtype=np.float64)
        if values.shape != tuple(shape):
            raise ValueError(f"init callable returned shape {values.shape}, expected {tuple(shape)}")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"init callable returned NaN or inf values for shape {tuple(shape)}")
        return values
    if init == "zeros":
        return np.zeros(shape)
    std = {"he": np.sqrt(2.0 / n_in),
           "xavier": np.sqrt(1.0 / n_in),
           "glorot": np.sqrt(2.0 / (n_in + n_out)),
           "normal": scale}[init]
    return rng.standard_normal(shape) * std
