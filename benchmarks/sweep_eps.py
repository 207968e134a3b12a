"""The measurements behind eps = 1e-6, the pass rule, the second opinion and blame.

(a) the overall difference of correct random networks for eps = 1e-3 ... 1e-9, and how many
    of them the per-block rule would fail at that eps (-> benchmarks/results/eps_sweep.txt);
(b) false alarms over N random correct networks (the generator of tests/test_checker_sweep.py,
    custom layers included), over networks trained to a small loss, deeper networks and MSE
    networks that fit their targets exactly, in full and screen mode; and detections over the
    planted bugs of tests/test_checker_selftest.py and a doubled activation derivative in
    partly trained networks, full and screen, on several seeds
    (-> benchmarks/results/false_alarm_sweep.txt);
(c) sensitivity: a loss backward off by a factor (1 + δ) on random networks, untrained and
    trained, flagged / networks where the arithmetic allows it, next to the false alarms on
    the same networks without the factor, and how often the loss is named as the culprit
    (-> benchmarks/results/sensitivity.txt);
(d) blame: planted bugs (each alone, and two at once) whose culprits are named exactly, in
    full, sample and screen mode (-> benchmarks/results/blame.txt).

    python benchmarks/sweep_eps.py [--nets 1000] [--eps-nets 40] [--hard 80,150,100]
                                   [--sensitivity-nets 200]
"""

import argparse
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import tinynet as tn  # noqa: E402
from custom_layers import (BatchNormConstantStats, InPlaceReLUForgetsMask,  # noqa: E402
                           LeakyReLUWithWrongSlopes, NoisyKinksTanhWrong,
                           PlainDropoutForgetsMask, SelfRngDropoutForgetsScale)
from test_blame import CULPRITS, TWO_AT_ONCE  # noqa: E402
from test_checker_selftest import BUGS, build, data  # noqa: E402
from test_checker_sweep import (Doubled, alarms, deep_case, exact_fit_case,  # noqa: E402
                                factor_shows, off_by, random_case, trained_case)

DELTAS = (1e-4, 1e-5, 1e-6, 3e-7, 1e-7)

# custom layers whose wrong dx breaks every block below them (tests/custom_layers.py)
CUSTOM_BUGS = (("batchnorm-constant-stats", lambda: BatchNormConstantStats(5)),
               ("in-place-relu-forgets-mask", InPlaceReLUForgetsMask),
               ("leakyrelu-wrong-slopes", LeakyReLUWithWrongSlopes),
               ("tanh-wrong-noisy-kinks", NoisyKinksTanhWrong),
               ("dropout-subclass-forgets-mask", lambda: PlainDropoutForgetsMask(0.6)),
               ("self-rng-dropout-forgets-scale", SelfRngDropoutForgetsScale))
EPSILONS = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9)
RESULTS = ROOT / "benchmarks" / "results"


def eps_sweep(n_nets):
    lines = [f"(a) overall difference of {n_nets} random correct networks (full check) per eps",
             f"{'eps':>8} {'median':>10} {'90%':>10} {'max':>10} {'false alarms':>13} "
             f"{'inconclusive':>13}"]
    for eps in EPSILONS:
        diffs, alarms, unsure = [], 0, 0
        for seed in range(n_nets):
            net, X, y, options, _ = random_case(10_000 + seed)
            report = net.check_gradients(X, y, eps=eps, mode="full", dropout=options["dropout"])
            diffs.append(report.difference)
            verdicts = {r.verdict for r in report.results.values() if not r.passed}
            alarms += bool(verdicts - {"inconclusive"})
            unsure += verdicts == {"inconclusive"}
        d = np.array(diffs)
        lines.append(f"{eps:>8.0e} {np.median(d):>10.2e} {np.quantile(d, 0.9):>10.2e} "
                     f"{d.max():>10.2e} {alarms:>6}/{n_nets:<6} {unsure:>6}/{n_nets}")
    return lines


def false_alarms(n_nets):
    found, kinks, inconclusive, custom = [], 0, 0, 0
    forced = {"full": [], "screen": []}         # the same networks in each mode
    for seed in range(n_nets):
        net, X, y, options, description = random_case(20_000 + seed)
        report = net.check_gradients(X, y, **options)
        kinks += sum(r.kinks for r in report.results.values())
        custom += "custom=None" not in description
        if alarms(report):
            found.append(description)
        elif not report.passed:
            inconclusive += 1
        for mode, failed in forced.items():
            again = net.check_gradients(X, y, mode=mode, dropout=options["dropout"])
            if alarms(again) or again.culprits:
                failed.append(f"{mode}: {description}")
    lines = [f"(b) false alarms: {len(found)} of {n_nets} random correct networks, {custom} of "
             f"them with custom layers (default eps=1e-6, tol=1e-5; {kinks} kink entries "
             f"handled; {inconclusive} inconclusive: a block whose every entry sits exactly on "
             f"a kink); the same networks all in full mode: {len(forced['full'])}, all in "
             f"screen mode: {len(forced['screen'])} (a failed block or a culprit)"]
    return lines + [f"    {a}" for a in found + forced["full"] + forced["screen"]]


def hard_false_alarms(counts):
    lines = ["(b) false alarms on networks where a floor from |J| failed, full / screen",
             f"{'networks':<44} {'full':>9} {'screen':>9}  median J"]
    for (name, make), n in zip((("trained to a small loss", trained_case),
                                ("deep: 4-8 layers, widths 8-40", deep_case),
                                ("MSE fitting its targets exactly", exact_fit_case)), counts):
        failed = {"full": [], "screen": []}
        costs = []
        for seed in range(n):
            net, X, y, description = make(seed)
            costs.append(net.cost(X, y))
            for mode in failed:
                if not net.check_gradients(X, y, mode=mode).passed:
                    failed[mode].append(description)
        lines.append(f"{name:<44} {len(failed['full']):>4}/{n:<4} {len(failed['screen']):>4}/{n:<4}"
                     f"  {np.median(costs):.1e}")
        lines += [f"    {mode}: {d}" for mode, ds in failed.items() for d in ds]
    return lines


def detections(data_seeds=5):
    lines = ["(b) planted bugs: flagged / blamed on exactly the right blocks, over "
             f"{data_seeds} data seeds",
             f"{'bug':<30} {'full':>11} {'screen':>11}"]
    total = {"full": [0, 0], "screen": [0, 0]}
    for name, kwargs, options, expected, _ in BUGS:
        cells = []
        for mode in ("full", "screen"):
            flagged = exact = 0
            for seed in range(data_seeds):
                X, y = data(seed)
                report = build(seed=seed, **kwargs).check_gradients(X, y, mode=mode, **options)
                flagged += not report.passed
                exact += set(report.failed) == expected
            total[mode][0] += flagged
            total[mode][1] += exact
            cells.append(f"{flagged}/{exact}")
        lines.append(f"{name:<30} {cells[0]:>11} {cells[1]:>11}")
    for name, bug in CUSTOM_BUGS:
        cells = []
        for mode in ("full", "screen"):
            flagged = exact = 0
            for seed in range(data_seeds):
                X, y = data(seed)
                net = tn.Network([tn.Dense(4, 6), tn.Tanh(), tn.Dense(6, 5), bug(),
                                  tn.Dense(5, 3)], loss=tn.SoftmaxCrossEntropy(), seed=seed)
                report = net.check_gradients(X, y, mode=mode, dropout="frozen")
                flagged += not report.passed
                exact += report.failed == ["W1", "b1", "W2", "b2"]
            total[mode][0] += flagged
            total[mode][1] += exact
            cells.append(f"{flagged}/{exact}")
        lines.append(f"{name:<30} {cells[0]:>11} {cells[1]:>11}")
    cells = []
    for mode in ("full", "screen"):
        flagged = exact = 0
        for seed in range(data_seeds):
            net, X, y, _ = trained_case(seed, activation=Doubled)
            report = net.check_gradients(X, y, mode=mode)
            below = {b.name for b in net.blocks if b.layer_index < len(net.layers) - 2}
            flagged += not report.passed
            exact += set(report.failed) == below
        total[mode][0] += flagged
        total[mode][1] += exact
        cells.append(f"{flagged}/{exact}")
    lines.append(f"{'activation doubled, trained':<30} {cells[0]:>11} {cells[1]:>11}")
    n = (len(BUGS) + len(CUSTOM_BUGS) + 1) * data_seeds
    lines.append(f"{'total (of ' + str(n) + ')':<30} {total['full'][0]:>5}/{total['full'][1]:<5} "
                 f"{total['screen'][0]:>5}/{total['screen'][1]:<5}")
    return lines


def sensitivity(n_nets, trained):
    """(c): per δ, flagged / networks where the factor shows; false alarms without it."""
    cases = []
    for seed in range(n_nets):
        net, X, y, options, _ = random_case((50_000 if trained else 40_000) + seed)
        if trained:
            net.fit(X, y, epochs=200, optimizer=tn.Adam(lr=0.01), progress=False)
        cases.append((net, X, y, options))
    alarm = {mode: sum(bool(alarms(net.check_gradients(X, y, mode=mode)))
                       for net, X, y, _ in cases) for mode in ("full", "screen")}
    what = "trained (200 Adam steps)" if trained else "untrained"
    lines = [f"(c) {n_nets} random {what} networks, dropout off: false alarms {alarm['full']}/"
             f"{n_nets} full, {alarm['screen']}/{n_nets} screen; a loss backward off by "
             "(1 + delta), full check: flagged / networks where "
             "the arithmetic allows it (in some block, delta·‖data gradient‖ (float64) > 3x the "
             "largest ‖dθ − dθ_approx‖ of the correct network at eps 5e-7, 1e-6, 2e-6), and the "
             "loss named as the only culprit / flagged",
             f"{'delta':>8} {'flagged / shows':>16} {'loss blamed':>12}"]
    correct = [net.loss for net, *_ in cases]
    for delta in DELTAS:
        flagged = shows = blamed = 0
        for (net, X, y, _), loss in zip(cases, correct):
            net.loss = loss
            if not factor_shows(net, X, y, delta):
                continue
            shows += 1
            net.loss = off_by(loss, delta)
            report = net.check_gradients(X, y, mode="full")
            flagged += not report.passed
            blamed += [(c.where, c.part) for c in report.culprits] == [("loss", "scores")]
            net.loss = loss
        lines.append(f"{delta:>8.0e} {f'{flagged}/{shows}':>16} {f'{blamed}/{flagged}':>12}")
    return lines


def blame_accuracy(data_seeds=5):
    """(d): planted bugs whose culprits are named exactly / total, per mode."""
    modes = ("full", "sample", "screen")
    lines = [f"(d) blame: culprits named exactly (and nothing else) / checks, over {data_seeds} "
             "data seeds", f"{'bug':<30} " + " ".join(f"{m:>7}" for m in modes)]

    def planted(kwargs):
        return lambda seed: build(seed=seed, **kwargs)

    def custom(bug):
        return lambda seed: tn.Network([tn.Dense(4, 6), tn.Tanh(), tn.Dense(6, 5), bug(),
                                        tn.Dense(5, 3)], loss=tn.SoftmaxCrossEntropy(), seed=seed)
    cases = [(name, planted(kwargs), options, CULPRITS[name])
             for name, kwargs, options, *_ in BUGS]
    cases += [(" + ".join(sorted(f"{w} {p}" for w, p in expected)), planted(kwargs), {}, expected)
              for kwargs, expected in TWO_AT_ONCE]
    cases += [(name, custom(bug), {"dropout": "frozen"}, {("layers[3]", "x")})
              for name, bug in CUSTOM_BUGS]
    total = dict.fromkeys(modes, 0)
    for name, make, options, expected in cases:
        cells = []
        for mode in modes:
            exact = 0
            for seed in range(data_seeds):
                X, y = data(seed)
                report = make(seed).check_gradients(X, y, mode=mode, **options)
                exact += {(c.where, c.part) for c in report.culprits} == expected
            total[mode] += exact
            cells.append(f"{exact}/{data_seeds}")
        lines.append(f"{name[:30]:<30} " + " ".join(f"{c:>7}" for c in cells))
    n = len(cases) * data_seeds
    lines.append(f"{'total (of ' + str(n) + ')':<30} " + " ".join(f"{total[m]:>7}" for m in modes))
    lines.append("(sample mode checks a few entries per block: a one-entry bug it does not sample "
                 "passes, and nothing is blamed)")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", type=int, default=1000)
    parser.add_argument("--eps-nets", type=int, default=40)
    parser.add_argument("--hard", default="80,150,100",
                        help="how many trained, deep and exactly fitting networks")
    parser.add_argument("--sensitivity-nets", type=int, default=200)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    a = eps_sweep(args.eps_nets)
    (RESULTS / "eps_sweep.txt").write_text("\n".join(a) + "\n")
    print("\n".join(a), "\n")
    hard = [int(n) for n in args.hard.split(",")]
    b = false_alarms(args.nets) + [""] + hard_false_alarms(hard) + [""] + detections(20)
    (RESULTS / "false_alarm_sweep.txt").write_text("\n".join(b) + "\n")
    print("\n".join(b), "\n")
    c = sensitivity(args.sensitivity_nets, False) + [""] + sensitivity(args.sensitivity_nets, True)
    (RESULTS / "sensitivity.txt").write_text("\n".join(c) + "\n")
    print("\n".join(c), "\n")
    d = blame_accuracy()
    (RESULTS / "blame.txt").write_text("\n".join(d) + "\n")
    print("\n".join(d))


if __name__ == "__main__":
    main()
