"""The command line: ``tinynet demo | train | gradcheck | info`` (also ``python -m tinynet``).

    tinynet demo --out tinynet-demo            # train on moons, check gradients, write plots
    tinynet train --data flower --hidden 8 --activation tanh --epochs 500 --out run
    tinynet train --data digits --hidden 32 --epochs 30 --out digits   # real 8x8 digits, 10 classes
    tinynet gradcheck run/model.npz            # on the data the model was trained on
    tinynet info run/model.npz

User errors (bad arguments included) print exactly one line ``tinynet: error: ...`` to stderr
and exit with code 2; ``gradcheck`` exits 1 when the check fails.
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from . import __version__, datasets
from .layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from .losses import SoftmaxCrossEntropy
from .network import Network
from .optim import SGD, Adam, Momentum, RMSProp
from .penalties import L2
from .serialization import ModelFileError
from .training import EarlyStopping

DATASETS = datasets.GENERATORS + ("digits",)
MIN_EXAMPLES = 10  # train holds a quarter out for testing: fewer leaves nothing to measure
ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "leaky_relu": LeakyReLU}
OPTIMIZERS = {"adam": Adam, "sgd": SGD, "momentum": Momentum, "rmsprop": RMSProp}


class UsageError(Exception):
    """A mistake of the user's (bad file, data that do not fit the model): one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (the usage is one --help away), exit code 2."""

    def error(self, message):
        self.exit(2, f"tinynet: error: {message} (see: {self.prog} --help)\n")


# ---------------------------------------------------------------------------- argument types

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _examples(text):
    value = _positive_int(text)
    if value < MIN_EXAMPLES:
        raise argparse.ArgumentTypeError(
            f"expected at least {MIN_EXAMPLES} examples (a quarter is held out for testing), "
            f"got {text!r}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _number(low, high=np.inf, low_open=True, high_open=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = np.nan
        ok = (value > low if low_open else value >= low) and \
            (value < high if high_open else value <= high)
        if not (ok and np.isfinite(value)):
            interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text!r}")
        return value
    return parse


def _hidden(text):
    try:
        sizes = [int(part) for part in text.split(",")]  # "16,,16": int("") refuses the gap
    except ValueError:
        sizes = [0]
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive layer widths such as 16,16, got {text!r}")
    return sizes


# ---------------------------------------------------------------------------- helpers

def make_data(name, m, seed):
    """-> X_train, X_test, y_train, y_test from a built-in data set (25% test).

    m: examples; None means 400 from a toy generator, all 1,797 of the digits."""
    if m is None and name != "digits":
        m = 400
    X, y = getattr(datasets, name)(m, seed=seed)
    return datasets.train_test_split(X, y, test_size=0.25, seed=seed)


def make_network(n_in, hidden, n_classes, activation="relu", keep_prob=1.0, l2=0.0, seed=0):
    """n_in -> hidden widths -> n_classes scores, softmax cross-entropy; He init for ReLU."""
    init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    layers, width = [], n_in
    for size in hidden:
        layers += [Dense(width, size, init=init), ACTIVATIONS[activation]()]
        if keep_prob < 1:
            layers.append(Dropout(keep_prob=keep_prob))
        width = size
    layers.append(Dense(width, n_classes, init=init))
    return Network(layers, loss=SoftmaxCrossEntropy(), penalty=L2(l2) if l2 else None, seed=seed)


def save_plots(out, net, X, y, history=None, report=None, data=None):
    """Write decision_boundary.png, history.png and gradcheck.png into ``out``; -> the paths."""
    from matplotlib.figure import Figure

    from . import plot
    title = f"decision boundary: {data}" if data else None
    jobs = []
    if X.shape[1] == 2:  # a boundary can only be drawn in the plane
        jobs.append(("decision_boundary.png",
                     lambda ax: plot.decision_boundary(net, X, y, ax=ax, title=title)))
    if history is not None:
        jobs.append(("history.png", lambda ax: plot.history(history, ax=ax)))
    if report is not None:
        jobs.append(("gradcheck.png", lambda ax: plot.gradcheck_report(report, ax=ax)))
    paths = []
    for name, draw in jobs:
        fig = Figure(figsize=(6.4, 4.8))
        draw(fig.subplots())
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        paths.append(out / name)
    return paths


def _out_dir(path):
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the output folder {str(out)!r}: {exc.strerror}") from None
    return out


def _load_model(path):
    from .serialization import load
    if Path(path).is_dir():
        inside = Path(path) / "model.npz"
        hint = f"; did you mean {str(inside)!r}?" if inside.is_file() else ""
        raise UsageError(f"{path!r} is a folder, not a model file{hint}")
    if not Path(path).exists():
        raise UsageError(f"model file {path!r} not found")
    try:
        return load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"cannot load model {path!r}: {exc}") from None


def _train_and_report(net, args, X_train, X_test, y_train, y_test, optimizer, callbacks=()):
    history = net.fit(X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                      optimizer=optimizer, validation_data=(X_test, y_test),
                      callbacks=list(callbacks), progress=not args.quiet)
    print(f"train accuracy {net.score(X_train, y_train):.3f} ({len(X_train)} examples)   "
          f"test accuracy {net.score(X_test, y_test):.3f} ({len(X_test)} examples)   "
          f"({history.epochs} epochs, last epoch's mean mini-batch loss "
          f"{history['loss'][-1]:.4g})")
    return history


# ---------------------------------------------------------------------------- commands

def cmd_demo(args):
    """Moons, 2-16-16-2 ReLU, Adam with early stopping: check at initialization, train, check
    again, plot."""
    out = _out_dir(args.out)
    X_train, X_test, y_train, y_test = make_data("moons", 400, args.seed)
    net = make_network(2, [16, 16], 2, seed=args.seed)
    print(net)
    X_small, y_small = X_train[:16], y_train[:16]
    print("\nGradient check at initialization:")
    report = net.check_gradients(X_small, y_small)
    print(report)
    print()
    # Good practice: watch the held-out loss and keep the weights of its best epoch. Trained
    # longer, this network starts to fit the noise of its 300 points (overfitting): the
    # training loss keeps falling while the validation loss turns up.
    stop = EarlyStopping(monitor="val_loss", patience=20, restore_best_weights=True)
    history = _train_and_report(net, args, X_train, X_test, y_train, y_test,
                                Adam(lr=0.01), callbacks=[stop])
    stopped = f"stopped after epoch {stop.stopped_epoch + 1}" if stop.stopped_epoch is not None \
        else f"ran all {history.epochs} epochs"
    print(f"early stopping: {stopped}; kept the weights of epoch {stop.best_epoch + 1}, "
          f"the lowest validation loss ({stop.best:.4g})")
    print("\nGradient check after training:")
    report = net.check_gradients(X_small, y_small)
    print(report)
    paths = save_plots(out, net, np.vstack([X_train, X_test]), np.concatenate([y_train, y_test]),
                       history, report, data="moons")
    print(f"\nwrote {', '.join(p.name for p in paths)} to {out}/")
    return 0


def cmd_train(args):
    out = _out_dir(args.out)
    X_train, X_test, y_train, y_test = make_data(args.data, args.m, args.seed)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    net = make_network(X_train.shape[1], args.hidden, n_classes, args.activation,
                       args.keep_prob, args.l2, args.seed)
    print(net)
    optimizer = OPTIMIZERS[args.optimizer](lr=args.lr)
    print(f"data {args.data}: {len(X_train)} train / {len(X_test)} test, {n_classes} classes; "
          f"optimizer {optimizer!r}, batch size {args.batch_size or 'full'}")
    history = _train_and_report(net, args, X_train, X_test, y_train, y_test, optimizer)
    net.trained_on = args.data  # gradcheck checks on it by default
    net.save(out / "model.npz")
    paths = save_plots(out, net, np.vstack([X_train, X_test]), np.concatenate([y_train, y_test]),
                       history, data=args.data)
    print(f"wrote model.npz, {', '.join(p.name for p in paths)} to {out}/")
    return 0


def cmd_gradcheck(args):
    net = _load_model(args.model)
    data, origin = args.data, "--data"
    if data is None:
        recorded = net.trained_on in DATASETS
        data = net.trained_on if recorded else "moons"
        origin = "the data the model was trained on" if recorded else \
            "the default: the model file does not name its training data"
    X, y = getattr(datasets, data)(args.m, seed=args.seed)
    try:
        net._check_data(X, y)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"data set {data!r} does not fit this model: {exc}") from None
    penalty = "without" if args.no_penalty else "with"
    print(f"checking on {data} ({origin}): {args.m} examples, seed {args.seed}, "
          f"{penalty} the penalty")
    report = net.check_gradients(X, y, penalty=not args.no_penalty)
    print(report)
    return 0 if report.passed else 1


def cmd_info(args):
    print(_load_model(args.model))
    return 0


# ---------------------------------------------------------------------------- parser

def build_parser():
    parser = _Parser(
        prog="tinynet", description="A from-scratch MLP in numpy with a gradient checker.")
    parser.add_argument("--version", action="version", version=f"tinynet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="train on moons, check gradients, write plots",
                               description=cmd_demo.__doc__)
    demo.add_argument("--out", default="tinynet-demo", help="output folder (default %(default)s)")
    demo.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    demo.add_argument("--epochs", type=_positive_int, default=200, help="default %(default)s")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=cmd_demo, batch_size=32)

    train = commands.add_parser("train", help="train a classifier on a built-in data set",
                                description="Train a classifier; save model.npz and plots.")
    train.add_argument("--data", choices=DATASETS, default="moons")
    train.add_argument("--m", type=_examples, default=None,
                       help=f"examples, at least {MIN_EXAMPLES} (default 400; digits: all 1,797)")
    train.add_argument("--hidden", type=_hidden, default=[16, 16],
                       help="hidden widths, e.g. 16,16 (default)")
    train.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    train.add_argument("--epochs", type=_positive_int, default=300, help="default %(default)s")
    train.add_argument("--lr", type=_number(0), default=0.01, help="learning rate (default 0.01)")
    train.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    train.add_argument("--batch-size", type=_positive_int, default=32,
                       help="rows per step (default 32)")
    train.add_argument("--l2", type=_number(0, low_open=False), default=0.0,
                       help="L2 strength lambd (default 0)")
    train.add_argument("--keep-prob", type=_number(0, 1), default=1.0,
                       help="dropout keep_prob in (0, 1] (default 1: no dropout)")
    train.add_argument("--seed", type=_non_negative_int, default=0)
    train.add_argument("--out", default="tinynet-run", help="output folder (default %(default)s)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=cmd_train)

    grad = commands.add_parser("gradcheck", help="check a saved model's gradients on data",
                               description="Exit code 0 if the check passes, 1 if not.")
    grad.add_argument("model", help="a model .npz written by net.save / tinynet train")
    grad.add_argument("--data", choices=DATASETS, default=None,
                      help="default: the data the model was trained on (moons if unrecorded)")
    grad.add_argument("--no-penalty", action="store_true",
                      help="check the data loss alone, without the L2 term")
    grad.add_argument("--m", type=_positive_int, default=64, help="examples (default 64)")
    grad.add_argument("--seed", type=_non_negative_int, default=0)
    grad.set_defaults(run=cmd_gradcheck)

    info = commands.add_parser("info", help="print a saved model's summary")
    info.add_argument("model", help="a model .npz")
    info.set_defaults(run=cmd_info)
    return parser


def main(argv=None):
    """Entry point of ``tinynet`` and ``python -m tinynet``; -> the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code = args.run(args)
        sys.stdout.flush()  # here, so that a closed pipe is caught below
        return code
    except (UsageError, ModelFileError) as exc:
        print(f"tinynet: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `tinynet info model.npz | head -1`: the reader left, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # cannot write the model or a plot: disk full, permissions
        print(f"tinynet: error: {exc}", file=sys.stderr)
        return 2
