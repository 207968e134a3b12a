"""The measurements behind eps = 1e-6 and the pass rule.

(a) the overall difference of correct random networks for eps = 1e-3 ... 1e-9, and how many
    of them the per-block rule would fail at that eps (-> benchmarks/results/eps_sweep.txt);
(b) false alarms over N random correct networks (the generator of tests/test_checker_sweep.py)
    and detections over the planted bugs of tests/test_checker_selftest.py, full and screen,
    on several data seeds (-> benchmarks/results/false_alarm_sweep.txt).

    python benchmarks/sweep_eps.py [--nets 1000] [--eps-nets 40]
"""

import argparse
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_checker_selftest import BUGS, build, data  # noqa: E402
from test_checker_sweep import random_case  # noqa: E402

EPSILONS = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9)
RESULTS = ROOT / "benchmarks" / "results"


def eps_sweep(n_nets):
    lines = [f"(a) overall difference of {n_nets} random correct networks (full check) per eps",
             f"{'eps':>8} {'median':>10} {'90%':>10} {'max':>10} {'false alarms':>13}"]
    for eps in EPSILONS:
        diffs, alarms = [], 0
        for seed in range(n_nets):
            net, X, y, options, _ = random_case(10_000 + seed)
            report = net.check_gradients(X, y, eps=eps, mode="full", dropout=options["dropout"])
            diffs.append(report.difference)
            alarms += not report.passed
        d = np.array(diffs)
        lines.append(f"{eps:>8.0e} {np.median(d):>10.2e} {np.quantile(d, 0.9):>10.2e} "
                     f"{d.max():>10.2e} {alarms:>6}/{n_nets}")
    return lines


def false_alarms(n_nets):
    alarms, kinks = [], 0
    for seed in range(n_nets):
        net, X, y, options, description = random_case(20_000 + seed)
        report = net.check_gradients(X, y, **options)
        kinks += sum(r.kinks for r in report.results.values())
        if not report.passed:
            alarms.append(description)
    lines = [f"(b) false alarms: {len(alarms)} of {n_nets} random correct networks "
             f"(default eps=1e-6, tol=1e-5; {kinks} kink entries handled)"]
    return lines + [f"    {a}" for a in alarms]


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
    n = len(BUGS) * data_seeds
    lines.append(f"{'total (of ' + str(n) + ')':<30} {total['full'][0]:>5}/{total['full'][1]:<5} "
                 f"{total['screen'][0]:>5}/{total['screen'][1]:<5}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", type=int, default=1000)
    parser.add_argument("--eps-nets", type=int, default=40)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    a = eps_sweep(args.eps_nets)
    (RESULTS / "eps_sweep.txt").write_text("\n".join(a) + "\n")
    print("\n".join(a), "\n")
    b = false_alarms(args.nets) + [""] + detections()
    (RESULTS / "false_alarm_sweep.txt").write_text("\n".join(b) + "\n")
    print("\n".join(b))


if __name__ == "__main__":
    main()
