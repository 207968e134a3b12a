"""tinynet.sklearn: drop-ins for scikit-learn's MLPClassifier / MLPRegressor.

The expectations come from scikit-learn itself: its check_estimator, its estimators' defaults,
its Pipeline / GridSearchCV / cross_val_score. Skipped without scikit-learn.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import tinynet as tn

pytest.importorskip("sklearn")
from sklearn import neural_network  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from tinynet.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(autouse=True)
def quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.mark.parametrize("estimator", [MLPClassifier(), MLPRegressor()],
                         ids=["MLPClassifier", "MLPRegressor"])
def test_check_estimator_passes(estimator):
    check_estimator(estimator, on_skip=None)  # skips only what needs pandas or array-api


@pytest.mark.parametrize("ours, theirs", [(MLPClassifier, neural_network.MLPClassifier),
                                          (MLPRegressor, neural_network.MLPRegressor)])
def test_parameters_have_scikit_learns_names_and_defaults(ours, theirs):
    mine, reference = ours().get_params(), theirs().get_params()
    assert set(mine) - set(reference) == {"keep_prob"}
    shared = set(mine) & set(reference)
    assert {name: mine[name] for name in shared} == {name: reference[name] for name in shared}
    assert len(shared) == 18


def test_pipeline_and_grid_search_over_learning_rate_and_alpha_on_the_moons():
    X, y = tn.datasets.moons(240, noise=0.2, seed=0)
    pipeline = make_pipeline(StandardScaler(),
                             MLPClassifier(hidden_layer_sizes=(16,), max_iter=150, random_state=0))
    grid = {"mlpclassifier__learning_rate_init": [1e-3, 1e-2],
            "mlpclassifier__alpha": [1e-4, 1.0]}
    search = GridSearchCV(pipeline, grid, cv=3).fit(X, y)
    assert search.cv_results_["mean_test_score"].shape == (4,)
    assert search.best_params_["mlpclassifier__learning_rate_init"] == 1e-2
    assert search.best_score_ > 0.9
    fitted = search.best_estimator_[-1]
    assert fitted.network_.penalty.lambd == search.best_params_["mlpclassifier__alpha"]
    scores = cross_val_score(make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(16,), learning_rate_init=1e-2, max_iter=300, random_state=0)), X, y,
        cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85


def test_string_labels_fitted_attributes_and_the_network_inside():
    X, y = tn.datasets.spirals(150, n_classes=3, seed=1)
    names = np.array(["zebra", "ant", "moth"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(32, 32), learning_rate_init=0.01, max_iter=200,
                        random_state=0).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["ant", "moth", "zebra"])
    assert clf.n_features_in_ == 2 and clf.n_iter_ == len(clf.loss_curve_) <= 200
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert set(clf.predict(X)) <= set(names) and clf.score(X, names) > 0.8
    proba = clf.predict_proba(X[:5])
    assert proba.shape == (5, 3)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X[:5]))
    assert isinstance(clf.network_, tn.Network) and clf.network_.n_outputs == 3
    np.testing.assert_array_equal(clf.coefs_[0], clf.network_.layers[0].params["W"].T)
    report = clf.network_.check_gradients(X[:10], clf.encode(names[:10]))
    assert report.passed


def test_binary_integer_labels_use_one_sigmoid_output():
    X, y = tn.datasets.moons(200, seed=2)
    labels = np.where(y == 1, 7, -3)
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    clf.fit(X, labels)
    assert clf.network_.n_outputs == 1 and isinstance(clf.network_.loss, tn.SigmoidCrossEntropy)
    assert clf.predict_proba(X).shape == (200, 2) and set(clf.predict(X)) == {-3, 7}
    assert clf.score(X, labels) > 0.85


def test_random_state_makes_fits_repeatable_and_keep_prob_adds_dropout():
    X, y = tn.datasets.blobs(90, seed=0)
    make = lambda seed: MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, keep_prob=0.8,
                                      random_state=seed).fit(X, y)
    a, b, c = make(0), make(0), make(1)
    np.testing.assert_array_equal(a.network_.params, b.network_.params)
    assert not np.array_equal(a.network_.params, c.network_.params)
    assert [type(layer).__name__ for layer in a.network_.layers] == ["Dense", "ReLU", "Dropout",
                                                                      "Dense"]
    assert a.network_.layers[2].keep_prob == 0.8


def test_early_stopping_watches_a_held_out_score_and_restores_the_best():
    X, y = tn.datasets.blobs(300, std=1.0, seed=0)
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=500,
                        early_stopping=True, n_iter_no_change=5, random_state=0).fit(X, y)
    assert clf.n_iter_ < 500 and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_convergence_warning_when_max_iter_is_reached():
    X, y = tn.datasets.moons(60, seed=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        MLPClassifier(max_iter=3, random_state=0).fit(X, y)


def test_regressor_single_and_multi_output():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(300, 2))
    y = np.column_stack([np.sin(X[:, 0]) + X[:, 1] ** 2 / 4, X[:, 0] * X[:, 1] / 4])
    reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=300,
                       random_state=0)
    assert reg.fit(X, y[:, 0]).predict(X).shape == (300,)
    assert reg.score(X, y[:, 0]) > 0.9
    assert reg.fit(X, y).predict(X[:4]).shape == (4, 2)
    assert isinstance(reg.network_.loss, tn.MeanSquaredError) and reg.network_.n_outputs == 2


@pytest.mark.parametrize("params, words", [
    ({"solver": "lbfgs"}, "solver must be 'sgd' or 'adam'"),
    ({"activation": "gelu"}, "activation must be one of"),
    ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes must be positive ints"),
    ({"alpha": -1.0}, "alpha must be a number in [0, inf)"),
    ({"batch_size": 0}, "batch_size must be 'auto' or a positive int"),
    ({"max_iter": 0}, "max_iter must be a positive int"),
    ({"keep_prob": 0.0}, "keep_prob must be a number in (0, 1]"),
    ({"learning_rate_init": 0}, "learning_rate_init must be a number in (0, inf)"),
    ({"alpha": "0.1"}, "alpha must be a number in [0, inf)"),
    ({"early_stopping": True, "validation_fraction": 0.0}, "validation_fraction"),
])
def test_bad_parameters_are_named_at_fit_not_at_construction(params, words):
    clf = MLPClassifier(**params)  # scikit-learn's rule: __init__ only stores
    with pytest.raises(ValueError) as info:
        clf.fit(np.zeros((4, 2)), [0, 1, 0, 1])
    assert words in str(info.value)
    assert not hasattr(clf, "network_") and not hasattr(clf, "n_features_in_")


def test_sgd_solver_uses_momentum_with_scikit_learns_velocity():
    # scikit-learn (and torch) step by lr · Σ μ^k g; tinynet's Momentum carries 1 − μ.
    optimizer = MLPClassifier(solver="sgd", learning_rate_init=0.02, momentum=0.75)._optimizer()
    assert isinstance(optimizer, tn.Momentum) and optimizer.beta == 0.75
    assert optimizer.lr * (1 - optimizer.beta) == pytest.approx(0.02)
    assert isinstance(MLPClassifier(solver="sgd", momentum=0)._optimizer(), tn.SGD)


def test_import_tinynet_does_not_import_scikit_learn():
    code = "import sys, tinynet; print('sklearn' in sys.modules, 'tinynet.sklearn' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False"], result.stderr


def test_without_scikit_learn_the_import_error_says_what_to_install(monkeypatch):
    monkeypatch.delitem(sys.modules, "tinynet.sklearn")
    monkeypatch.setitem(sys.modules, "sklearn.base", None)
    with pytest.raises(ImportError, match=r"pip install 'scikit-learn>=1.6'"):
        import tinynet.sklearn  # noqa: F401
