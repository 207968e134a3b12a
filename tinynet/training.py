"""The training loop: real epochs of mini-batches, a Keras-style History, and callbacks.

    history = net.fit(X, y, epochs=300, batch_size=64, optimizer=tn.Adam(lr=1e-3),
                      validation_data=(Xv, yv), callbacks=[EarlyStopping(patience=20)])
    history["loss"], history["val_accuracy"], history.plot()

One epoch = one pass over the training set: a fresh permutation of the rows drawn from
``net.rng`` (never numpy's global state), cut into batches of ``batch_size`` rows, the last
partial batch kept. Per batch: forward + backward into ``net.grads``, then one
``optimizer.step(net.params, net.grads)`` on the flat parameter vector.

Epoch metrics (the keys of ``history.history``):

- ``loss``: the mean of the batch losses weighted by batch size, each taken on the forward
  pass of its batch (before that batch's update, dropout on): cheap, and for a full batch
  exactly the course's J at the start of the epoch.
- ``accuracy`` (classification losses): like ``loss``, a running value over the epoch's batches,
  taken from the scores of each batch's own forward pass (as Keras does): free, since it needs
  no extra forward pass. ``net.score(X, y)`` gives the accuracy of the final model.
  With ``MeanSquaredError`` the key is ``r2`` (the coefficient of determination, batch-weighted)
  instead.
- ``val_loss`` / ``val_accuracy`` (or ``val_r2``), with ``validation_data``: the course's J on
  the validation set in inference mode (no dropout, the L2 penalty included, with m = the number
  of validation rows), and the accuracy there.
- ``lr``: the optimizer's learning rate during the epoch (after ``optimizer.set_epoch``).
"""

import math
import numbers
import time
import warnings

import numpy as np

from .optim import Adam, Optimizer
from .validation import positive_int

__all__ = ["fit", "History", "Callback", "EarlyStopping", "GradientNormMonitor",
           "GradientCheck", "GradientCheckFailed"]

# Training accuracy is evaluated on at most this many (evenly spaced) training rows per epoch.
# The progress bar's postfix (loss, accuracy) is refreshed at most this often, in seconds.
PROGRESS_INTERVAL = 0.25


# ---------------------------------------------------------------------------- History

class History:
    """What ``fit`` returns: one value per epoch for each metric.

    ``history.history``: {"loss": [...], "accuracy": [...], "val_loss": [...], ..., "lr": [...]}
    (Keras' layout); ``history["loss"]`` is the same list; ``history.epochs`` is the number of
    completed epochs; ``history.plot(ax=None)`` draws the curves (see ``tinynet.plot.history``).
    """

    def __init__(self, keys=()):
        self.history = {key: [] for key in keys}

    @property
    def epochs(self):
        """The number of epochs completed."""
        return len(self.history.get("loss", ()))

    def __getitem__(self, key):
        try:
            return self.history[key]
        except KeyError:
            raise KeyError(f"History has no metric {key!r}; it has {list(self.history)}") from None

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return self.epochs

    def _append(self, logs):
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def plot(self, ax=None, **options):
        """Draw loss (and accuracy) per epoch; -> the matplotlib Figure."""
        from .plot import history as plot_history
        return plot_history(self, ax=ax, **options)

    def __repr__(self):
        if not self.epochs:
            return "History(0 epochs)"
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History({self.epochs} epochs; last: {last})"


# ---------------------------------------------------------------------------- callbacks

class Callback:
    """Base class for callbacks: override the hooks you need.

    ``on_train_begin(net, history)``: before the first epoch (after every argument is checked).
    ``on_batch_begin(net, step)``: before the forward pass of training step ``step`` (0-based,
    counted across epochs). ``on_batch_end(net, step, logs)``: after that step's optimizer
    update; ``logs`` is {"loss": the batch's J}. ``fit`` calls the two batch hooks only on
    callbacks that override one of them, so the others cost nothing per step.
    ``on_epoch_end(net, epoch, logs)``: after epoch ``epoch`` (0-based); ``logs`` is that
    epoch's metrics {"loss": ..., ...}; return True to stop training.
    ``on_train_end(net, history)``: after the last epoch (not called when training fails).
    """

    def on_train_begin(self, net, history):
        pass

    def on_batch_begin(self, net, step):
        pass

    def on_batch_end(self, net, step, logs):
        pass

    def on_epoch_end(self, net, epoch, logs):
        return None

    def on_train_end(self, net, history):
        pass

    def __repr__(self):
        return f"{type(self).__name__}()"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    mode: "min" (losses), "max" (accuracy, r2) or "auto" (max for names containing "acc" or
    "r2", else min). With ``restore_best_weights`` the network ends training holding a copy of
    the parameters of its best epoch (also when training ran to the end without stopping).
    After training: ``best`` (the best value), ``best_epoch`` (0-based), ``stopped_epoch``
    (0-based, None if it did not stop early).
    """

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, restore_best_weights=True,
                 mode="auto"):
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a metric name such as 'val_loss', got {monitor!r}")
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) \
                or not math.isfinite(min_delta) or min_delta < 0:
            raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or "r2" in monitor) else "min"
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.restore_best_weights, self.mode = bool(restore_best_weights), mode

    def on_train_begin(self, net, history):
        if self.monitor not in history:
            hint = " (pass validation_data to fit)" if self.monitor.startswith("val_") else ""
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which this training does "
                             f"not record{hint}; recorded: {list(history.history)}")
        self.best, self.best_epoch, self.stopped_epoch, self._wait = None, None, None, 0
        self._best_params = net.params.copy() if self.restore_best_weights else None

    def on_epoch_end(self, net, epoch, logs):
        value = logs[self.monitor]
        sign = 1.0 if self.mode == "min" else -1.0
        if self.best is None or sign * (self.best - value) > self.min_delta:
            self.best, self.best_epoch, self._wait = value, epoch, 0
            if self._best_params is not None:
                np.copyto(self._best_params, net.params)
            return None
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return None

    def on_train_end(self, net, history):
        if self._best_params is not None and self.best_epoch is not None:
            np.copyto(net.params, self._best_params)

    def __repr__(self):
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, restore_best_weights={self.restore_best_weights})")


class GradientNormMonitor(Callback):
    """Record the L2 norm of each parameter block's gradient, every ``every`` epochs.

    ``norms``: {"W1": [...], "b1": [...], ...}, one value per recorded epoch, taken from
    ``net.grads`` as the epoch's last batch left it; ``epochs``: the 0-based epochs recorded.
    Vanishing gradients show as the first layers' norms falling decades below the last ones';
    exploding ones as norms growing epoch after epoch (deeplearning.ai Course 2, week 1).
    Plot with ``tinynet.plot.gradient_norms(monitor)``.
    """

    def __init__(self, every=1):
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"every must be a positive int, got {every!r}")
        self.every = int(every)
        self.norms, self.epochs = {}, []

    def on_train_begin(self, net, history):
        self.norms = {block.name: [] for block in net.blocks}
        self.epochs = []
        self._starts = np.array([block.start for block in net.blocks], dtype=np.intp)

    def on_epoch_end(self, net, epoch, logs):
        if epoch % self.every or not len(self._starts):
            return None
        g = net.grads.astype(np.float64)
        norms = np.sqrt(np.add.reduceat(g * g, self._starts))
        for name, value in zip(self.norms, norms.tolist()):
            self.norms[name].append(value)
        self.epochs.append(epoch)
        return None

    def __repr__(self):
        return f"GradientNormMonitor(every={self.every})"


class GradientCheckFailed(RuntimeError):
    """A gradient check during training did not pass; ``.report`` is the GradCheckReport."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


class GradientCheck(Callback):
    """Run ``net.check_gradients(X, y, **check_options)`` at initialization and during training.

    at_start: check before the first epoch (recorded as epoch 0). every: check after every
    ``every``-th epoch; None checks once more at the end of training only. ``reports``: the
    list of (epochs completed, GradCheckReport) pairs. on_fail: "raise" (GradientCheckFailed)
    or "warn" (a RuntimeWarning) when a report has ``passed == False``.
    The checker restores the model bit for bit, so checking does not change training.
    """

    def __init__(self, X, y, every=None, at_start=True, on_fail="raise", **check_options):
        if every is not None and (isinstance(every, bool) or not isinstance(every, numbers.Integral)
                                  or every < 1):
            raise ValueError(f"every must be None or a positive int, got {every!r}")
        if on_fail not in ("raise", "warn"):
            raise ValueError(f"on_fail must be 'raise' or 'warn', got {on_fail!r}")
        self.X, self.y = X, y
        self.every, self.at_start, self.on_fail = every, bool(at_start), on_fail
        self.check_options = check_options
        self.reports = []

    def on_train_begin(self, net, history):
        self.X, self.y = net._check_data(self.X, self.y)
        self.reports = []
        self._last = None
        if self.at_start:
            self._check(net, 0)

    def on_epoch_end(self, net, epoch, logs):
        if self.every is not None and (epoch + 1) % self.every == 0:
            self._check(net, epoch + 1)

    def on_train_end(self, net, history):
        if history.epochs and self._last != history.epochs:
            self._check(net, history.epochs)

    def _check(self, net, epochs_done):
        report = net.check_gradients(self.X, self.y, **self.check_options)
        self.reports.append((epochs_done, report))
        self._last = epochs_done
        if not report.passed:
            message = (f"gradient check failed after {epochs_done} epoch(s): difference "
                       f"{report.difference:.3g}\n{report}")
            if self.on_fail == "raise":
                raise GradientCheckFailed(message, report)
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    def __repr__(self):
        return f"GradientCheck(every={self.every}, at_start={self.at_start}, on_fail={self.on_fail!r})"


# ---------------------------------------------------------------------------- fit

def fit(net, X, y, epochs=1, batch_size=None, optimizer=None, shuffle=True,
        validation_data=None, callbacks=(), progress=True):
    """Train ``net`` with mini-batch gradient descent; -> History.

    X: (m, n_inputs); y: labels (m,) or targets as the loss expects. epochs: passes over the
    data. batch_size: rows per step; None = the full batch (the course's batch gradient
    descent); larger than m is clamped to m. optimizer: a ``tinynet.optim.Optimizer``;
    default ``Adam()`` (lr 0.001), which trains the toy problems without tuning. Pass your own
    to keep its state across calls or to set the learning rate. shuffle: a new permutation
    of the rows every epoch, from ``net.rng`` (a single full batch is never permuted: same
    set, same gradient). validation_data: (X_val, y_val). callbacks: Callback objects.
    progress: a tqdm progress bar over the epochs.

    Every argument is checked before anything changes: a rejected call leaves the model, its
    random generator and the optimizer as they were.

    If the loss becomes NaN or inf, training stops with FloatingPointError naming the epoch and
    batch; the parameters are first restored to their values at the START of that epoch (and
    the optimizer's state is reset, its moments being poisoned), so the model holds the last
    finite parameters seen at an epoch boundary. The partial History is ``error.history``.
    """
    X, y, batch_size, optimizer, validation_data, callbacks = _check_fit_args(
        net, X, y, epochs, batch_size, optimizer, shuffle, validation_data, callbacks, progress)
    m = X.shape[0]
    sizes = [min(batch_size, m - start) for start in range(0, m, batch_size)]
    slices = [slice(start, start + size) for start, size in zip(range(0, m, batch_size), sizes)]
    shuffle = shuffle and len(slices) > 1

    classify = hasattr(net.loss, "probabilities")
    metric = "accuracy" if classify else "r2"
    keys = ["loss", metric] + (["val_loss", f"val_{metric}"] if validation_data else []) + ["lr"]
    history = History(keys)

    for callback in callbacks:
        callback.on_train_begin(net, history)

    per_batch = [c for c in callbacks if _overrides(c, "on_batch_begin")
                 or _overrides(c, "on_batch_end")]
    step_count = 0
    params, grads = net.params, net.grads
    optimizer._check(params, grads)  # once: the buffers are the same for every batch
    cost_and_grad, step, score = net._cost_and_grad, optimizer._step_checked, net.loss.score
    start_params = np.empty_like(params)
    from tqdm.auto import tqdm  # imported here: tqdm.auto warns at import time without ipywidgets
    bar = tqdm(total=epochs, unit="epoch", disable=not progress, leave=True,
               mininterval=PROGRESS_INTERVAL, dynamic_ncols=True)
    last_postfix = 0.0
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(epochs):
                optimizer.set_epoch(epoch)
                np.copyto(start_params, params)
                if shuffle:
                    order = net.rng.permutation(m)
                    Xs, ys = X[order], y[order]
                else:
                    Xs, ys = X, y
                total = correct = 0.0
                for b, (s, size) in enumerate(zip(slices, sizes)):
                    yb = ys[s]
                    for callback in per_batch:
                        callback.on_batch_begin(net, step_count)
                    J = cost_and_grad(Xs[s], yb)
                    if not math.isfinite(J):
                        _diverged(net, optimizer, start_params, history, epoch, b, len(slices), J)
                    total += J * size
                    correct += score(net.last_scores, yb) * size
                    step(params, grads)
                    for callback in per_batch:
                        callback.on_batch_end(net, step_count, {"loss": J})
                    step_count += 1
                if not np.isfinite(params).all():
                    _diverged(net, optimizer, start_params, history, epoch, len(slices) - 1,
                              len(slices), math.nan)

                logs = {"loss": total / m, metric: correct / m}
                if validation_data:
                    Xv, yv = validation_data
                    scores = net._forward(Xv, False)
                    logs["val_loss"] = net._cost(Xv, yv, training=False)
                    logs[f"val_{metric}"] = net.loss.score(scores, yv)
                logs["lr"] = optimizer.lr
                history._append(logs)

                stop = False
                for callback in callbacks:
                    stop = bool(callback.on_epoch_end(net, epoch, logs)) or stop
                now = time.monotonic()
                if progress and (now - last_postfix >= PROGRESS_INTERVAL or stop
                                 or epoch == epochs - 1):
                    bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k != "lr"},
                                    refresh=False)
                    last_postfix = now
                bar.update(1)
                if stop:
                    break
    finally:
        bar.close()
        net._tap = None  # an ActivationMonitor's recording never outlives a failed step

    for callback in callbacks:
        callback.on_train_end(net, history)
    return history


def _overrides(callback, hook):
    return getattr(type(callback), hook) is not getattr(Callback, hook)


def _diverged(net, optimizer, start_params, history, epoch, batch, n_batches, J):
    np.copyto(net.params, start_params)
    optimizer.reset()
    error = FloatingPointError(
        f"training diverged: the loss became {J} at epoch {epoch} (0-based), batch {batch} of "
        f"{n_batches} (optimizer {optimizer!r}). Likely causes: a learning rate that is too "
        "large, or inputs that are not scaled (standardize X, e.g. with "
        "tinynet.datasets.Standardizer). The parameters were restored to their values at the "
        f"start of epoch {epoch} and the optimizer's state was reset.")
    error.history = history
    raise error


def _check_fit_args(net, X, y, epochs, batch_size, optimizer, shuffle, validation_data,
                    callbacks, progress):
    """Validate every argument of ``fit`` (nothing is changed here); -> the prepared values."""
    X, y = net._check_data(X, y)
    y = _as_dtype(y, net.dtype)
    positive_int(epochs, "epochs")
    if batch_size is None:
        batch_size = X.shape[0]
    else:
        positive_int(batch_size, "batch_size", " or None (the full batch)")
    batch_size = min(int(batch_size), X.shape[0])
    if optimizer is None:
        optimizer = Adam()
    elif isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an instance such as {optimizer.__name__}(lr=...), "
                        "not the class")
    elif not isinstance(optimizer, Optimizer):
        raise TypeError("optimizer must be a tinynet.optim.Optimizer such as Adam(lr=1e-3), "
                        f"got {type(optimizer).__name__} {optimizer!r}")
    for value, name in ((shuffle, "shuffle"), (progress, "progress")):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("validation_data must be a pair (X_val, y_val), got "
                            f"{type(validation_data).__name__} of length "
                            f"{len(validation_data) if hasattr(validation_data, '__len__') else '?'}")
        try:
            Xv, yv = net._check_data(*validation_data)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"validation_data: {exc}") from None
        validation_data = (Xv, _as_dtype(yv, net.dtype))
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of Callback objects, got "
                        f"{type(callbacks).__name__}")
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            what = f"the class {callback.__name__}" if isinstance(callback, type) else \
                f"{type(callback).__name__} {callback!r}"
            raise TypeError(f"callbacks[{i}] must be a tinynet.training.Callback instance "
                            f"(e.g. EarlyStopping()), got {what}")
    return X, y, batch_size, optimizer, validation_data, list(callbacks)


def _as_dtype(y, dtype):
    """Float targets in the network's dtype (so a float32 network stays float32); labels as is."""
    return y.astype(dtype, copy=False) if y.dtype.kind == "f" else y
