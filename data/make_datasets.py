"""Regenerate the CSV snapshots in this folder from tinynet.datasets with fixed seeds.

Run from the repository root:  python data/make_datasets.py [OUT_DIR]   (default: this folder)
Each file has a header line ``x1,x2,label`` and one example per row; floats are written with
Python's shortest round-trip repr, so loading a file gives exactly the generated arrays.
"""

import sys
from pathlib import Path

from tinynet import datasets

HERE = Path(__file__).resolve().parent

# name -> (generator, keyword arguments). Train and test sets are drawn separately with seeds
# 1 and 2, as the course's notebooks do for their circles and football data.
SPECS = {
    "flower": (datasets.flower, dict(m=400, noise=0.2, seed=0)),
    "moons": (datasets.moons, dict(m=300, noise=0.2, seed=0)),
    "circles": (datasets.circles, dict(m=300, noise=0.05, factor=0.5, seed=0)),
    "circles_train": (datasets.circles, dict(m=300, noise=0.05, factor=0.5, seed=1)),
    "circles_test": (datasets.circles, dict(m=100, noise=0.05, factor=0.5, seed=2)),
    "spirals": (datasets.spirals, dict(m=300, n_classes=3, noise=0.2, seed=0)),
    "blobs": (datasets.blobs, dict(m=300, centers=3, std=1.0, seed=0)),
    "football": (datasets.football, dict(m=300, noise=0.1, seed=0)),
    "football_train": (datasets.football, dict(m=300, noise=0.1, seed=1)),
    "football_test": (datasets.football, dict(m=200, noise=0.1, seed=2)),
}


def generate(name):
    """The arrays ``(X, y)`` of the snapshot ``name``, made afresh."""
    make, kwargs = SPECS[name]
    return make(**kwargs)


def write_csv(path, X, y):
    """Write X (m, 2) and y (m,) as ``x1,x2,label`` rows."""
    lines = ["x1,x2,label"]
    lines += [f"{float(a)!r},{float(b)!r},{int(c)}" for (a, b), c in zip(X, y)]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(out_dir=HERE):
    for name in SPECS:
        X, y = generate(name)
        write_csv(Path(out_dir) / f"{name}.csv", X, y)
        print(f"{name}.csv: {len(y)} rows")


if __name__ == "__main__":
    main(*sys.argv[1:2])
