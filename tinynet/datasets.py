"""Toy 2-D data sets, splitting, one-hot labels, standardization, the shipped CSV snapshots, and
real data: the UCI 8x8 digits (``digits()``) and MNIST-format IDX files (``load_idx``).

Every generator returns ``(X, y)``: ``X`` float64 of shape ``(m, 2)`` (examples are rows) and
``y`` int64 labels of shape ``(m,)``. Randomness comes only from
``np.random.default_rng(seed)``; numpy's global random state is never touched. Rows are
shuffled (with the same generator), so ``X[:k]`` is not one class only. Classes get ``m // C``
points each, the first ``m % C`` classes one more.
"""

import gzip
import numbers
import os
from importlib import resources
from pathlib import Path

import numpy as np

from .validation import check_seed, positive_int

__all__ = [
    "flower", "moons", "circles", "spirals", "blobs", "football", "GENERATORS",
    "train_test_split", "one_hot", "Standardizer", "load", "available", "digits", "load_idx",
]

# The generators name(m, seed=...) -> (X, y) that the command line offers as --data.
GENERATORS = ("moons", "circles", "flower", "spirals", "blobs", "football")


def __dir__():
    """Only the public names: not numpy, pathlib or the private helpers (PEP 562)."""
    return list(__all__)


# ---------------------------------------------------------------------------- argument checks

def _real(name, value, low=0.0, high=np.inf, low_open=False, high_open=False):
    """``value`` as a float in the interval [low, high] (ends open where asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok or not np.isfinite(value):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return value


def _rng(seed):
    return np.random.default_rng(check_seed(seed))


def _class_sizes(m, n_classes):
    """Sizes of ``n_classes`` classes sharing ``m`` points as evenly as possible."""
    return [m // n_classes + (k < m % n_classes) for k in range(n_classes)]


def _finish(rng, parts):
    """Stack ``[(X_k, label_k), ...]``, shuffle the rows, return ``(X, y)``."""
    X = np.concatenate([x for x, _ in parts]).astype(np.float64, copy=False)
    y = np.concatenate([np.full(len(x), k, dtype=np.int64) for x, k in parts])
    order = rng.permutation(len(y))
    return X[order], y[order]


# ---------------------------------------------------------------------------- generators

def flower(m=400, *, noise=0.2, seed=0):
    """The planar "flower": two classes on the petals of ``r = a sin(4t)``, ``a = 4``.

    After deeplearning.ai Course 1 week 3 (``load_planar_dataset``): class k takes angles
    ``t`` evenly spaced in ``[3.12 k, 3.12 (k + 1)]``, and Gaussian noise of std ``noise`` is
    added to both the angle and the radius; the point is ``(r sin t, r cos t)``.
    Returns X (m, 2), y (m,) in {0, 1}, half of each.
    """
    m, noise, rng = positive_int(m, "m"), _real("noise", noise), _rng(seed)
    parts = []
    for k, n in enumerate(_class_sizes(m, 2)):
        t = np.linspace(3.12 * k, 3.12 * (k + 1), n) + noise * rng.standard_normal(n)
        r = 4.0 * np.sin(4.0 * t) + noise * rng.standard_normal(n)
        parts.append((np.column_stack([r * np.sin(t), r * np.cos(t)]), k))
    return _finish(rng, parts)


def moons(m=300, *, noise=0.2, seed=0):
    """Two interleaving half circles (like scikit-learn's ``make_moons``).

    Class 0: ``(cos t, sin t)``; class 1: ``(1 − cos t, 0.5 − sin t)``; ``t`` in ``[0, π]``;
    Gaussian noise of std ``noise`` on both coordinates. Returns X (m, 2), y (m,) in {0, 1}.
    """
    m, noise, rng = positive_int(m, "m"), _real("noise", noise), _rng(seed)
    n0, n1 = _class_sizes(m, 2)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])
    upper += noise * rng.standard_normal(upper.shape)
    lower += noise * rng.standard_normal(lower.shape)
    return _finish(rng, [(upper, 0), (lower, 1)])


def circles(m=300, *, noise=0.05, factor=0.5, seed=0):
    """A circle of radius ``factor`` (class 1) inside a circle of radius 1 (class 0).

    Like scikit-learn's ``make_circles``; the course's initialization lesson uses
    ``noise=0.05`` with 300 training and 100 test points. Returns X (m, 2), y (m,) in {0, 1}.
    """
    m, noise, rng = positive_int(m, "m"), _real("noise", noise), _rng(seed)
    factor = _real("factor", factor, 0.0, 1.0, low_open=True, high_open=True)
    parts = []
    for k, (n, radius) in enumerate(zip(_class_sizes(m, 2), (1.0, factor))):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        ring = radius * np.column_stack([np.cos(t), np.sin(t)])
        parts.append((ring + noise * rng.standard_normal(ring.shape), k))
    return _finish(rng, parts)


def spirals(m=300, *, n_classes=3, noise=0.2, seed=0):
    """``n_classes`` interleaved spiral arms (the CS231n "spiral" data).

    Arm k: radius from 0 to 1, angle ``linspace(4k, 4(k + 1))`` plus Gaussian noise of std
    ``noise``; the point is ``(r sin t, r cos t)``. Returns X (m, 2), y (m,) in {0 .. C−1}.
    """
    m, noise, rng = positive_int(m, "m"), _real("noise", noise), _rng(seed)
    n_classes = positive_int(n_classes, "n_classes")
    parts = []
    for k, n in enumerate(_class_sizes(m, n_classes)):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), n) + noise * rng.standard_normal(n)
        parts.append((np.column_stack([r * np.sin(t), r * np.cos(t)]), k))
    return _finish(rng, parts)


def blobs(m=300, *, centers=3, std=1.0, seed=0):
    """Isotropic Gaussian blobs.

    centers: an int C (centers drawn uniformly in ``[-10, 10]²``) or an array (C, 2) of centers.
    std: the standard deviation of every blob. Returns X (m, 2), y (m,) in {0 .. C−1}.
    """
    m, std, rng = positive_int(m, "m"), _real("std", std), _rng(seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        centers = rng.uniform(-10.0, 10.0, size=(positive_int(centers, "centers"), 2))
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or centers.shape[1] != 2 or len(centers) == 0:
            raise ValueError(
                f"centers must be a positive int or an array of shape (C, 2), got shape "
                f"{centers.shape}")
    parts = [(c + std * rng.standard_normal((n, 2)), k)
             for k, (c, n) in enumerate(zip(centers, _class_sizes(m, len(centers))))]
    return _finish(rng, parts)


def football(m=300, *, noise=0.1, seed=0):
    """Where the goalkeeper should kick to: two teams on either side of a wavy diagonal.

    In the spirit of the course's regularization lesson (Course 2 week 1). Points are uniform
    on the field ``[-0.75, 0.75]²``; label 1 where ``x1 + x2 > 0.25 sin(3 (x1 − x2))``, else 0;
    then each label is flipped with probability ``noise`` (in [0, 0.5]), so that a large
    unregularized network overfits the flipped points. Returns X (m, 2), y (m,) in {0, 1}.
    """
    m, rng = positive_int(m, "m"), _rng(seed)
    noise = _real("noise", noise, 0.0, 0.5)
    X = rng.uniform(-0.75, 0.75, size=(m, 2))
    y = (X[:, 0] + X[:, 1] > 0.25 * np.sin(3.0 * (X[:, 0] - X[:, 1]))).astype(np.int64)
    flip = rng.random(m) < noise
    y[flip] = 1 - y[flip]
    return X, y


# ---------------------------------------------------------------------------- preprocessing

def train_test_split(X, y, *, test_size=0.25, seed=0, shuffle=True):
    """Split rows into a training and a test set.

    X: (m, ...); y: (m, ...); test_size: a fraction in (0, 1) (the test set gets
    ``ceil(test_size * m)`` rows) or a number of rows in [1, m − 1]. Without ``shuffle`` the
    last rows are the test set. Returns ``X_train, X_test, y_train, y_test`` (copies).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(
            f"X and y must have the same number of rows (examples are rows), got "
            f"X.shape == {X.shape} and y.shape == {y.shape}")
    m = len(X)
    if m < 2:
        raise ValueError(f"need at least 2 examples to split, got {m}")
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        if not 1 <= test_size <= m - 1:
            raise ValueError(f"test_size as a number of rows must be in [1, {m - 1}], got {test_size}")
        n_test = int(test_size)
    else:
        test_size = _real("test_size", test_size, 0.0, 1.0, low_open=True, high_open=True)
        n_test = min(max(int(np.ceil(test_size * m)), 1), m - 1)
    order = _rng(seed).permutation(m) if shuffle else np.arange(m)
    train, test = order[:m - n_test], order[m - n_test:]
    return X[train], X[test], y[train], y[test]


def one_hot(y, n_classes=None):
    """Integer labels y (m,) -> one-hot matrix (m, C) float64; C = ``max(y) + 1`` if not given.

    ``np.argmax(one_hot(y), axis=1)`` gives ``y`` back.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels (m,), got y.shape == {y.shape}")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise TypeError(f"y must hold integer labels, got dtype {y.dtype}")
    if y.size and not np.all(np.isfinite(y) & (y == np.round(y))):
        bad = y[~(np.isfinite(y) & (y == np.round(y)))][0].item()
        raise ValueError(f"y must hold integer labels, got {bad!r}")
    labels = y.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"labels must be >= 0, got {labels.min()}")
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size else 0
    else:
        n_classes = positive_int(n_classes, "n_classes")
        if labels.size and labels.max() >= n_classes:
            raise ValueError(
                f"labels must be < n_classes={n_classes}, got label {labels.max()}")
    out = np.zeros((len(labels), n_classes), dtype=np.float64)
    out[np.arange(len(labels)), labels] = 1.0
    return out


class Standardizer:
    """Rescale each feature to mean 0 and standard deviation 1, with the TRAINING set's statistics.

    ``fit(X_train)`` stores ``mean_`` (n,) and ``std_`` (n,) (a constant feature gets
    ``std_ = 1``, so nothing is divided by zero); ``transform(X)`` computes
    ``(X − mean_) / std_`` with those stored values, for the test set too: the course's point
    that the test set is normalized with the training set's μ and σ (Course 2 week 1,
    "Normalizing inputs"; the course divides by σ², here we divide by σ).
    """

    def __init__(self):
        self.mean_ = None
        self.std_ = None

    def fit(self, X):
        """X: (m, n) training data. Returns self."""
        X = self._as_2d(X, "fit")
        if len(X) == 0:
            raise ValueError("X must have at least one row to fit, got X.shape == (0, ...)")
        mean = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        # A constant feature can give a round-off std (~1e-17) instead of 0: treat both as 0.
        constant = std <= 1e3 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))
        std[constant] = 1.0
        self.mean_, self.std_ = mean, std
        return self

    def transform(self, X):
        """X: (m, n) -> (m, n) standardized with the fitted ``mean_`` and ``std_``."""
        X = self._check_fitted(X, "transform")
        return self._cast((X - self.mean_) / self.std_, X)

    def fit_transform(self, X):
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """Z: (m, n) standardized -> (m, n) in the original units: ``Z std_ + mean_``."""
        Z = self._check_fitted(Z, "inverse_transform")
        return self._cast(Z * self.std_ + self.mean_, Z)

    @staticmethod
    def _cast(out, X):
        return out.astype(X.dtype, copy=False) if np.issubdtype(X.dtype, np.floating) else out

    @staticmethod
    def _as_2d(X, method):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(
                f"Standardizer.{method}: X must be 2-D (m, n_features) with examples as rows, "
                f"got X.shape == {X.shape}")
        if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
            raise TypeError(f"Standardizer.{method}: X must be numeric, got dtype {X.dtype}")
        return X

    def _check_fitted(self, X, method):
        if self.mean_ is None:
            raise RuntimeError(
                f"Standardizer.{method} called before fit: call fit(X_train) first")
        X = self._as_2d(X, method)
        if X.shape[1] != len(self.mean_):
            raise ValueError(
                f"Standardizer.{method}: fitted on {len(self.mean_)} features, got X with "
                f"{X.shape[1]} (X.shape == {X.shape})")
        return X

    def __repr__(self):
        if self.mean_ is None:
            return "Standardizer()"
        return f"Standardizer(fitted on {len(self.mean_)} features)"


# ---------------------------------------------------------------------------- shipped snapshots

def _data_dir():
    """The folder of the shipped CSVs: the package ``tinynet.data`` (the repository's ``data/``).

    Installed (editable or not), ``setup.cfg`` maps ``data/`` to ``tinynet.data``. When the
    source tree is used without installing, fall back to ``data/`` next to ``tinynet/``.
    """
    try:
        return resources.files("tinynet.data")
    except ModuleNotFoundError:
        source = Path(__file__).resolve().parent.parent / "data"
        if source.is_dir():
            return source
        raise FileNotFoundError(
            "the shipped data sets were not found: the package tinynet.data is missing "
            "(reinstall tinynet)") from None


def available():
    """Names of the shipped data sets, sorted (``load(name)`` accepts each)."""
    return sorted(f.name[:-4] for f in _data_dir().iterdir() if f.name.endswith(".csv"))


def load(name):
    """Load a shipped CSV snapshot (columns ``x1,x2,label``) -> X (m, 2) float64, y (m,) int64."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    names = available()
    if name not in names:
        raise ValueError(f"unknown data set {name!r}; available: {', '.join(names)}")
    with (_data_dir() / f"{name}.csv").open("r", encoding="utf-8") as f:
        table = np.loadtxt(f, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    return table[:, :2].copy(), table[:, 2].astype(np.int64)


# ---------------------------------------------------------------------------- real data

DIGITS_ROWS = 1797


def digits(m=None, *, seed=0):
    """The UCI optical-recognition digits: 8x8 images of pixel counts 0..16, labels 0..9.

    1,797 examples (the UCI test set, as scikit-learn ships it; licence CC BY 4.0, see
    data/README.md). m: None for all rows in the file's order, or an int: that many rows drawn
    without replacement with ``seed``. Returns X (m, 64) float64 with values 0..16 (row-major
    pixels: ``X[i].reshape(8, 8)`` is the image) and y (m,) int64. Scale X (``X / 16``) or
    standardize it before training.
    """
    if m is not None:
        m = positive_int(m, "m", " or None (all rows)")
        if m > DIGITS_ROWS:
            raise ValueError(f"m must be at most {DIGITS_ROWS} (the number of digits), got {m}")
    with (_data_dir() / "digits.csv.gz").open("rb") as raw, \
            gzip.open(raw, "rt", encoding="ascii") as f:
        table = np.loadtxt(f, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    X, y = table[:, :-1].astype(np.float64), table[:, -1]
    if m is None:
        return X, y
    rows = _rng(seed).choice(DIGITS_ROWS, size=m, replace=False)
    return X[rows], y[rows]


# IDX type byte -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/, "file formats")
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_idx(path):
    """Read an IDX file, the format of MNIST's files, plain or gzipped (``.gz``); -> ndarray.

    The header is two zero bytes, a type byte (0x08 unsigned byte, 0x09 signed byte, 0x0B
    int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then each
    dimension as a big-endian uint32. The array comes back with those dimensions in native byte
    order: MNIST's images are (60000, 28, 28) uint8, its labels (60000,) uint8, so
    ``X = load_idx(images).reshape(len(images), -1) / 255`` gives tinynet's rows.
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a file name (str or os.PathLike), got "
                        f"{type(path).__name__} {path!r}") from None
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":  # gzip's magic number
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path!r} is a damaged gzip file: {exc}") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_TYPES or data[3] == 0:
        raise ValueError(f"{path!r} is not an IDX file: it must start with two zero bytes, a type "
                         f"byte in {[hex(t) for t in _IDX_TYPES]} and a number of dimensions >= 1; "
                         f"it starts with {data[:4].hex(' ') or 'nothing'}")
    dtype, ndim = np.dtype(_IDX_TYPES[data[2]]), data[3]
    start = 4 + 4 * ndim
    if len(data) < start:
        raise ValueError(f"{path!r}: the header announces {ndim} dimensions but the file ends "
                         f"after {len(data)} bytes")
    shape = tuple(int(n) for n in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - start != expected:
        raise ValueError(f"{path!r}: the header says shape {shape} of {dtype.name} "
                         f"({expected} bytes of data) but the file holds {len(data) - start}")
    array = np.frombuffer(data, dtype=dtype, offset=start).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
