"""Toy data sets, splitting, one-hot labels, standardization and the shipped snapshots."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tinynet import datasets as ds

GENERATORS = {
    "flower": (ds.flower, 400, {0, 1}),
    "moons": (ds.moons, 300, {0, 1}),
    "circles": (ds.circles, 300, {0, 1}),
    "spirals": (ds.spirals, 300, {0, 1, 2}),
    "blobs": (ds.blobs, 300, {0, 1, 2}),
    "football": (ds.football, 300, {0, 1}),
}


def load_script():
    """The snapshot script data/make_datasets.py, imported from the repository."""
    path = Path(__file__).resolve().parent.parent / "data" / "make_datasets.py"
    spec = importlib.util.spec_from_file_location("make_datasets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_shapes_dtypes_and_labels(name):
    make, m, labels = GENERATORS[name]
    X, y = make()
    assert X.shape == (m, 2) and X.dtype == np.float64
    assert y.shape == (m,) and y.dtype == np.int64
    assert set(np.unique(y)) == labels
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(name):
    make = GENERATORS[name][0]
    X1, y1 = make(m=50, seed=7)
    X2, y2 = make(m=50, seed=7)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make(m=50, seed=8)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_leave_numpy_global_random_state_alone(name):
    make = GENERATORS[name][0]
    np.random.seed(123)
    before = np.random.get_state()
    make(m=40, seed=None)
    make(m=40, seed=3)
    after = np.random.get_state()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


def test_flower_has_two_classes_of_equal_size():
    _, y = ds.flower()
    assert np.bincount(y).tolist() == [200, 200]


def test_flower_points_lie_near_the_petal_curve_without_noise():
    X, _ = ds.flower(m=200, noise=0.0)
    r = np.hypot(X[:, 0], X[:, 1])
    t = np.arctan2(X[:, 0], X[:, 1])        # the point is (r sin t, r cos t)
    np.testing.assert_allclose(r, np.abs(4 * np.sin(4 * t)), atol=1e-9)


def test_classes_are_balanced_and_rows_shuffled():
    _, y = ds.spirals(m=301, n_classes=3)
    assert np.bincount(y).tolist() == [101, 100, 100]
    _, y = ds.moons()
    assert 0 < y[:30].sum() < 30           # not all of one class at the top


def test_circles_radii_follow_factor_without_noise():
    X, y = ds.circles(m=100, noise=0.0, factor=0.3)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.3)


def test_blobs_accept_explicit_centers():
    X, y = ds.blobs(m=400, centers=[[0, 0], [10, 10]], std=0.5, seed=1)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [10, 10], atol=0.2)


def test_football_stays_on_the_field_and_flips_labels_with_noise():
    X, y_clean = ds.football(m=2000, noise=0.0, seed=4)
    assert X.min() >= -0.75 and X.max() <= 0.75
    _, y_noisy = ds.football(m=2000, noise=0.2, seed=4)
    assert 0.15 < np.mean(y_noisy != y_clean) < 0.25


@pytest.mark.parametrize("call, error, message", [
    (lambda: ds.moons(m=0), ValueError, "m must be a positive int, got 0"),
    (lambda: ds.moons(m=10.0), TypeError, "m must be a positive int, got 10.0"),
    (lambda: ds.flower(noise=-0.1), ValueError, r"noise must be in \[0, inf\], got -0.1"),
    (lambda: ds.circles(factor=1.0), ValueError, r"factor must be in \(0, 1\)"),
    (lambda: ds.spirals(n_classes=0), ValueError, "n_classes must be a positive int"),
    (lambda: ds.blobs(centers=np.zeros((3, 3))), ValueError, r"centers must be .* \(C, 2\)"),
    (lambda: ds.blobs(std="1"), TypeError, "std must be a number"),
    (lambda: ds.football(noise=0.7), ValueError, r"noise must be in \[0, 0.5\]"),
    (lambda: ds.moons(seed=1.5), TypeError, "seed must be None or an int >= 0"),
    (lambda: ds.moons(300, 0.1), TypeError, "positional"),   # noise and seed are keyword-only
])
def test_bad_generator_arguments_raise_naming_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_train_test_split_sizes_and_disjointness():
    X = np.arange(200, dtype=float).reshape(100, 2)
    y = np.arange(100)
    X_tr, X_te, y_tr, y_te = ds.train_test_split(X, y, test_size=0.25, seed=0)
    assert X_tr.shape == (75, 2) and X_te.shape == (25, 2)
    assert y_tr.shape == (75,) and y_te.shape == (25,)
    assert set(y_tr).isdisjoint(y_te) and set(y_tr) | set(y_te) == set(range(100))
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)            # rows stay paired
    assert not np.array_equal(y_te, np.arange(75, 100))            # shuffled


def test_train_test_split_without_shuffle_keeps_the_last_rows_for_test():
    X, y = np.zeros((10, 2)), np.arange(10)
    _, _, y_tr, y_te = ds.train_test_split(X, y, test_size=3, shuffle=False)
    assert y_tr.tolist() == list(range(7)) and y_te.tolist() == [7, 8, 9]


def test_train_test_split_is_reproducible():
    X, y = ds.moons(m=40)
    a = ds.train_test_split(X, y, seed=5)
    b = ds.train_test_split(X, y, seed=5)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("kwargs, message", [
    (dict(test_size=0.0), r"test_size must be in \(0, 1\)"),
    (dict(test_size=1.5), r"test_size must be in \(0, 1\)"),
    (dict(test_size=10), r"test_size as a number of rows must be in \[1, 9\]"),
])
def test_train_test_split_rejects_bad_test_size(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ds.train_test_split(np.zeros((10, 2)), np.zeros(10), **kwargs)


def test_train_test_split_rejects_mismatched_rows():
    with pytest.raises(ValueError, match=r"same number of rows.*\(10, 2\).*\(9,\)"):
        ds.train_test_split(np.zeros((10, 2)), np.zeros(9))


def test_one_hot_round_trip():
    y = np.array([2, 0, 1, 2])
    Y = ds.one_hot(y)
    assert Y.shape == (4, 3) and Y.dtype == np.float64
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.argmax(Y, axis=1), y)
    assert ds.one_hot(y, n_classes=5).shape == (4, 5)
    np.testing.assert_array_equal(ds.one_hot(np.array([1.0, 0.0])), [[0, 1], [1, 0]])


@pytest.mark.parametrize("y, n_classes, error, message", [
    (np.array([0.5, 1.0]), None, ValueError, "integer labels, got 0.5"),
    (np.array([0, -1]), None, ValueError, "labels must be >= 0, got -1"),
    (np.array([0, 3]), 3, ValueError, "labels must be < n_classes=3, got label 3"),
    (np.array([[0, 1]]), None, ValueError, r"1-D array of labels .* \(1, 2\)"),
    (np.array(["a", "b"]), None, TypeError, "integer labels"),
    (np.array([0, 1]), 0, ValueError, "n_classes must be a positive int"),
])
def test_one_hot_errors(y, n_classes, error, message):
    with pytest.raises(error, match=message):
        ds.one_hot(y, n_classes)


def test_standardizer_uses_training_statistics_on_the_test_set():
    rng = np.random.default_rng(0)
    X_train = rng.normal(loc=[5.0, -3.0], scale=[2.0, 0.5], size=(500, 2))
    X_test = rng.normal(loc=[6.0, -3.0], scale=[2.0, 0.5], size=(200, 2))
    scaler = ds.Standardizer().fit(X_train)
    Z_train = scaler.transform(X_train)
    np.testing.assert_allclose(Z_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z_train.std(axis=0), 1.0, rtol=1e-12)
    Z_test = scaler.transform(X_test)
    np.testing.assert_allclose(Z_test, (X_test - X_train.mean(0)) / X_train.std(0))
    assert Z_test.mean(axis=0)[0] > 0.3          # the test mean is not forced to 0
    np.testing.assert_allclose(scaler.inverse_transform(Z_test), X_test)
    np.testing.assert_array_equal(ds.Standardizer().fit_transform(X_train), Z_train)


def test_standardizer_leaves_constant_features_finite():
    X = np.column_stack([np.full(7, 0.1), np.arange(7.0), np.zeros(7)])
    scaler = ds.Standardizer().fit(X)
    np.testing.assert_array_equal(scaler.std_[[0, 2]], 1.0)
    Z = scaler.transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(Z[:, [0, 2]], 0.0, atol=1e-15)


def test_standardizer_keeps_float32():
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    assert ds.Standardizer().fit_transform(X).dtype == np.float32


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="before fit"):
        ds.Standardizer().transform(np.zeros((3, 2)))
    scaler = ds.Standardizer().fit(np.ones((4, 2)))
    with pytest.raises(ValueError, match="fitted on 2 features, got X with 3"):
        scaler.transform(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"must be 2-D .* \(4,\)"):
        ds.Standardizer().fit(np.zeros(4))


def test_available_lists_the_shipped_snapshots():
    names = ds.available()
    for name in ("flower", "moons", "circles", "circles_train", "circles_test", "spirals",
                 "blobs", "football", "football_train", "football_test"):
        assert name in names


@pytest.mark.parametrize("name", load_script().SPECS)
def test_shipped_csv_matches_the_script_that_made_it(name):
    X, y = ds.load(name)
    X_new, y_new = load_script().generate(name)
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, X_new)
    np.testing.assert_array_equal(y, y_new)


def test_script_covers_every_shipped_snapshot():
    assert set(load_script().SPECS) == set(ds.available())


def test_load_unknown_name_lists_what_is_available():
    with pytest.raises(ValueError, match=r"unknown data set 'petals'; available: .*moons"):
        ds.load("petals")
    with pytest.raises(TypeError, match="name must be a str"):
        ds.load(3)
