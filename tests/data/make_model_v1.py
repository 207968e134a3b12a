"""Regenerate ``tests/data/model_v1.npz``: a model file in tinynet's file format version 1.

The file is checked in so that every later tinynet proves it still loads files written by
format version 1 (``tests/test_model_files.py``). Do NOT regenerate it after the format
version changes: it must stay a version-1 file. To regenerate it (with a tinynet whose
``tinynet.serialization.FORMAT_VERSION`` is 1), from the repository root:

    python tests/data/make_model_v1.py

The parameters are a fixed formula, ``theta[i] = sin(i + 1) / 2``, not random draws, so the
test can rebuild the expected values without tinynet.
"""

from pathlib import Path

import numpy as np

import tinynet as tn
from tinynet.serialization import FORMAT_VERSION

PATH = Path(__file__).with_name("model_v1.npz")


def theta(size):
    return np.sin(np.arange(1, size + 1)) / 2


def build():
    net = tn.Network([tn.Dense(3, 4, init="glorot"), tn.ReLU(), tn.Dropout(keep_prob=0.8),
                      tn.Dense(4, 5, init="normal", scale=0.5), tn.LeakyReLU(alpha=0.2),
                      tn.Dense(5, 2)],
                     loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(lambd=0.5), seed=7)
    net.params[...] = theta(net.n_params)
    return net


if __name__ == "__main__":
    assert FORMAT_VERSION == 1, "model_v1.npz must stay a format-version-1 file; do not regenerate"
    build().save(PATH)
    print(f"wrote {PATH}")
