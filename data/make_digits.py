"""Write digits.csv.gz, tinynet's copy of the UCI 8x8 optical digits, from scikit-learn's copy.

Run once from the repository root:  python data/make_digits.py [OUT_DIR]   (needs scikit-learn)

The source is ``sklearn/datasets/data/digits.csv.gz``: the test set of the UCI data set
"Optical Recognition of Handwritten Digits" (Alpaydin and Kaynak, 1998; licence CC BY 4.0),
1,797 rows of 64 pixel counts 0..16 and the digit 0..9. This script checks that and rewrites
it with a header line (``r0c0, ..., r7c7, label``: row and column of each pixel), gzipped with
a fixed timestamp so that running it again gives the same bytes.
"""

import gzip
import sys
from importlib import resources
from pathlib import Path

import numpy as np

ROWS, PIXELS = 1797, 64


def read_source():
    """-> X (1797, 64) int64 in 0..16, y (1797,) int64 in 0..9, from scikit-learn's file."""
    source = resources.files("sklearn.datasets.data") / "digits.csv.gz"
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape != (ROWS, PIXELS + 1):
        raise ValueError(f"expected {ROWS} rows of {PIXELS + 1} columns, got {table.shape}")
    X, y = table[:, :PIXELS], table[:, PIXELS]
    if X.min() < 0 or X.max() > 16 or set(np.unique(y)) != set(range(10)):
        raise ValueError("pixels must be in 0..16 and labels cover 0..9")
    return X, y


def write(path, X, y):
    header = ",".join(f"r{i // 8}c{i % 8}" for i in range(PIXELS)) + ",label"
    lines = [header] + [",".join(map(str, row)) + f",{label}" for row, label in zip(X, y)]
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                filename="") as f:
        f.write(("\n".join(lines) + "\n").encode("ascii"))


def main(out_dir=None):
    X, y = read_source()
    write(Path(out_dir or Path(__file__).resolve().parent) / "digits.csv.gz", X, y)
    print(f"digits.csv.gz: {len(y)} rows, {X.shape[1]} pixels, labels {sorted(set(y.tolist()))}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
