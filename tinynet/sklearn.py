"""scikit-learn estimators backed by a tinynet Network: drop-ins for ``sklearn.neural_network``.

    from tinynet.sklearn import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(32,), alpha=1e-3, random_state=0).fit(X, y)
    clf.predict(X); clf.network_.check_gradients(X[:10], clf.encode(y[:10]))

The parameters have scikit-learn's names and defaults wherever they mean the same thing:
``hidden_layer_sizes``, ``activation`` ("identity", "logistic", "tanh", "relu"), ``solver``
("sgd", "adam"), ``alpha`` (= tinynet's ``L2(lambd)``: ``alpha/(2m) Σ‖W‖²``), ``batch_size``,
``learning_rate_init``, ``max_iter`` (epochs), ``shuffle``, ``random_state``, ``tol``,
``verbose`` (a progress bar), ``momentum``, ``early_stopping``, ``validation_fraction``,
``beta_1``, ``beta_2``, ``epsilon``, ``n_iter_no_change``; plus tinynet's ``keep_prob``
(inverted dropout after every hidden activation; 1 = none). Not offered, because tinynet has no
equivalent: ``solver="lbfgs"``, ``learning_rate`` schedules, ``power_t``, ``nesterovs_momentum``
(``solver="sgd"`` uses plain momentum), ``warm_start``, ``max_fun``, ``partial_fit``.

Differences that remain: weights start with tinynet's initializers (He for ReLU, Glorot
otherwise); ``MLPRegressor`` minimizes tinynet's mean squared error, twice scikit-learn's
halved one, so its ``loss_curve_`` is twice as high for the same fit.

This module needs scikit-learn; ``import tinynet`` never imports it.
"""

import numbers
import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError:  # scikit-learn missing, or older than 1.6 (no validate_data)
    raise ImportError("tinynet.sklearn needs scikit-learn >= 1.6: pip install 'scikit-learn>=1.6' "
                      "(or pip install 'tinynet[sklearn]')") from None

from .layers import Dense, Dropout, ReLU, Sigmoid, Tanh
from .losses import MeanSquaredError, SigmoidCrossEntropy, SoftmaxCrossEntropy
from .network import Network
from .optim import SGD, Adam, Momentum
from .penalties import L2
from .training import EarlyStopping

__all__ = ["MLPClassifier", "MLPRegressor"]

ACTIVATIONS = {"identity": None, "logistic": Sigmoid, "tanh": Tanh, "relu": ReLU}
# The real-valued hyper-parameters: name -> (low, high, which ends are included).
NUMBERS = {"alpha": (0, np.inf, "[)"), "tol": (0, np.inf, "[)"), "momentum": (0, 1, "[)"),
           "beta_1": (0, 1, "[)"), "beta_2": (0, 1, "[)"), "validation_fraction": (0, 1, "[)"),
           "learning_rate_init": (0, np.inf, "()"), "epsilon": (0, np.inf, "()"),
           "keep_prob": (0, 1, "(]")}


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, the network, the training."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, momentum=0.9,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, keep_prob=1.0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.keep_prob = keep_prob

    # ---- the network and its training ---------------------------------------------------
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
                   for n in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive ints, got "
                             f"{self.hidden_layer_sizes!r}")
        return [int(n) for n in sizes]

    def _check_params(self):
        """Every hyper-parameter, checked at the start of fit (scikit-learn's rule: __init__
        only stores), before anything is set."""
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, "
                             f"got {self.activation!r}")
        if self.solver not in ("sgd", "adam"):
            raise ValueError(f"solver must be 'sgd' or 'adam' (tinynet has no 'lbfgs'), "
                             f"got {self.solver!r}")
        if not (self.batch_size == "auto" or isinstance(self.batch_size, numbers.Integral)
                and not isinstance(self.batch_size, bool) and self.batch_size > 0):
            raise ValueError(f"batch_size must be 'auto' or a positive int, got {self.batch_size!r}")
        for name in ("max_iter", "n_iter_no_change"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name, (low, high, closed) in NUMBERS.items():
            value = getattr(self, name)
            number = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not number or not ((low <= value if "[" in closed else low < value)
                                  and (value <= high if "]" in closed else value < high)):
                interval = f"{closed[0]}{low}, {high}{closed[1]}"
                raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
        if self.early_stopping and self.validation_fraction == 0:
            raise ValueError("validation_fraction must be > 0 with early_stopping=True")
        self._hidden_sizes()

    def _network(self, n_in, n_out, loss, seed):
        hidden = self._hidden_sizes()
        activation = ACTIVATIONS[self.activation]
        init = "he" if self.activation == "relu" else "glorot"
        layers, width = [], n_in
        for size in hidden:
            layers.append(Dense(width, size, init=init))
            if activation is not None:
                layers.append(activation())
            if self.keep_prob != 1:
                layers.append(Dropout(keep_prob=self.keep_prob))
            width = size
        layers.append(Dense(width, n_out, init=init))
        return Network(layers, loss=loss, penalty=L2(self.alpha) if self.alpha else None,
                       seed=seed)

    def _optimizer(self):
        lr = self.learning_rate_init
        if self.solver == "adam":
            return Adam(lr=lr, beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon)
        if self.momentum == 0:
            return SGD(lr=lr)
        # scikit-learn's (and torch's) velocity is Σ μ^k·lr·g, tinynet's carries a factor 1 − μ.
        return Momentum(lr=lr / (1 - self.momentum), beta=self.momentum)

    def _train(self, X, targets, n_out, loss, metric, stratify):
        """Build ``network_``, train it, set the fitted attributes; ``targets``: what the loss
        takes, ``metric``: the History key early stopping watches."""
        rng = check_random_state(self.random_state)
        self.network_ = self._network(X.shape[1], n_out, loss, int(rng.randint(2 ** 31 - 1)))
        validation_data = None
        if self.early_stopping:
            X, X_val, targets, y_val = train_test_split(
                X, targets, test_size=self.validation_fraction, random_state=rng,
                stratify=stratify)
            validation_data = (X_val, y_val)
            stopper = EarlyStopping(f"val_{metric}", patience=self.n_iter_no_change,
                                    min_delta=self.tol, restore_best_weights=True, mode="max")
        else:
            stopper = EarlyStopping("loss", patience=self.n_iter_no_change, min_delta=self.tol,
                                    restore_best_weights=False, mode="min")
        batch_size = min(200, len(X)) if self.batch_size == "auto" else self.batch_size
        history = self.network_.fit(
            X, targets, epochs=self.max_iter, batch_size=batch_size, optimizer=self._optimizer(),
            shuffle=bool(self.shuffle), validation_data=validation_data, callbacks=[stopper],
            progress=bool(self.verbose))
        self.loss_curve_ = list(history["loss"])
        self.n_iter_ = history.epochs
        self.best_loss_ = None if self.early_stopping else min(self.loss_curve_)
        self.validation_scores_ = list(history[f"val_{metric}"]) if self.early_stopping else None
        self.best_validation_score_ = stopper.best if self.early_stopping else None
        if stopper.stopped_epoch is None:
            warnings.warn(f"{type(self).__name__}: max_iter={self.max_iter} epochs reached and "
                          "the optimization has not converged yet", ConvergenceWarning,
                          stacklevel=2)
        return self

    def _scores(self, X):
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.network_.forward(X)

    # ---- scikit-learn's view of the weights -------------------------------------------------
    @property
    def coefs_(self):
        """[W.T for each Dense]: scikit-learn's layout (n_in, n_out); tinynet's W is (n_out, n_in)."""
        return [layer.params["W"].T for layer in self.network_.layers if isinstance(layer, Dense)]

    @property
    def intercepts_(self):
        return [layer.params["b"] for layer in self.network_.layers if isinstance(layer, Dense)]


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier trained by tinynet, with scikit-learn's interface.

    Any labels (ints, strings, ...): ``classes_`` holds them sorted. Two classes: one output unit
    and ``SigmoidCrossEntropy``; more: ``SoftmaxCrossEntropy``. After ``fit``: ``classes_``,
    ``n_features_in_``, ``loss_curve_``, ``n_iter_``, ``network_`` (the trained tinynet
    Network; its labels are ``encode(y)``, the positions in ``classes_``).
    """

    def fit(self, X, y):
        """X: (m, n_features); y: (m,) labels. Returns self."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"MLPClassifier needs examples of at least 2 classes; y holds one "
                             f"class only: {self.classes_[0]!r}")
        binary = len(self.classes_) == 2
        loss = SigmoidCrossEntropy() if binary else SoftmaxCrossEntropy()
        return self._train(X, encoded, 1 if binary else len(self.classes_), loss,
                           "accuracy", stratify=encoded)

    def encode(self, y):
        """Labels -> their positions in ``classes_`` (what ``network_`` is trained on)."""
        check_is_fitted(self, "classes_")
        y = np.asarray(y)
        positions = np.searchsorted(self.classes_, y)
        if np.any(positions >= len(self.classes_)) or np.any(self.classes_[
                np.minimum(positions, len(self.classes_) - 1)] != y):
            raise ValueError(f"y holds labels that are not in classes_ {list(self.classes_)}")
        return positions

    def predict_proba(self, X):
        """X: (m, n_features) -> (m, n_classes), columns in the order of ``classes_``."""
        scores = self._scores(X)
        return self.network_.loss.probabilities(scores)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """X: (m, n_features) -> (m,) labels from ``classes_``."""
        scores = self._scores(X)
        return self.classes_[self.network_.loss.predict(scores)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor trained by tinynet, with scikit-learn's interface.

    y: (m,) or (m, k) targets; the network has k linear outputs and ``MeanSquaredError``.
    After ``fit``: ``n_features_in_``, ``loss_curve_``, ``n_iter_``, ``network_``.
    """

    def fit(self, X, y):
        """X: (m, n_features); y: (m,) or (m, k). Returns self."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        targets = y.reshape(len(y), -1)
        return self._train(X, targets, targets.shape[1], MeanSquaredError(), "r2",
                           stratify=None)

    def predict(self, X):
        """X: (m, n_features) -> (m,) for one target, (m, k) for k."""
        scores = self._scores(X)
        return self.network_.loss.predict(scores)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
