"""Real data: the shipped UCI digits and MNIST-format IDX files."""

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet import datasets

DATA = Path(__file__).resolve().parent.parent / "data"


def test_digits_is_the_uci_test_set():
    X, y = datasets.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    # Class sizes of the UCI "optdigits" test set (optdigits.names, "Class Distribution").
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_equals_scikit_learns_copy_and_the_script_reproduces_the_file(tmp_path):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.digits()
    reference = sklearn_datasets.load_digits()
    np.testing.assert_array_equal(X, reference.data)
    np.testing.assert_array_equal(y, reference.target)
    spec = importlib.util.spec_from_file_location("make_digits", DATA / "make_digits.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(tmp_path)
    assert (tmp_path / "digits.csv.gz").read_bytes() == (DATA / "digits.csv.gz").read_bytes()


def test_digits_subset_is_seeded_and_drawn_from_the_full_set():
    X, y = datasets.digits(200, seed=3)
    X2, y2 = datasets.digits(200, seed=3)
    assert X.shape == (200, 64)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    full = {tuple(row) + (label,) for row, label in zip(*datasets.digits())}
    assert all(tuple(row) + (label,) in full for row, label in zip(X, y))
    assert not np.array_equal(datasets.digits(200, seed=4)[0], X)
    with pytest.raises(ValueError, match="at most 1797"):
        datasets.digits(1798)
    with pytest.raises(TypeError, match="m must be a positive int or None"):
        datasets.digits(2.5)


def test_a_small_network_classifies_digits_above_93_percent():
    X, y = datasets.digits()
    X_train, X_test, y_train, y_test = datasets.train_test_split(X / 16, y, test_size=0.25, seed=0)
    net = tn.Network([tn.Dense(64, 32), tn.ReLU(), tn.Dense(32, 10)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    net.fit(X_train, y_train, epochs=10, batch_size=32, optimizer=tn.Adam(lr=0.01), progress=False)
    assert net.score(X_test, y_test) > 0.93


# ---------------------------------------------------------------------------- IDX files

def idx_bytes(array, type_byte):
    """An IDX file written from the format's description: header, big-endian dims, data."""
    header = bytes([0, 0, type_byte, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("array, type_byte", [
    (np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10, 0x08),   # MNIST's images
    (np.array([5, 0, 4, 1, 9], dtype=np.uint8), 0x08),                    # MNIST's labels
    (np.array([[-7, 300], [70000, -1]], dtype=np.int32), 0x0C),
    (np.array([[0.5, -1.25, 1e300]]), 0x0E),
    (np.array([-3, 100], dtype=np.int16), 0x0B),
    (np.array([1.5, -2.0], dtype=np.float32), 0x0D),
])
def test_load_idx_reads_what_the_format_describes(tmp_path, array, type_byte):
    path = tmp_path / "data.idx"
    path.write_bytes(idx_bytes(array, type_byte))
    loaded = datasets.load_idx(path)
    assert loaded.shape == array.shape and loaded.dtype == array.dtype
    assert loaded.dtype.isnative and loaded.flags.writeable
    np.testing.assert_array_equal(loaded, array)
    gz = tmp_path / "data.idx.gz"
    gz.write_bytes(gzip.compress(idx_bytes(array, type_byte)))
    np.testing.assert_array_equal(datasets.load_idx(str(gz)), array)


@pytest.mark.parametrize("content, message", [
    (b"", "is not an IDX file"),
    (b"\x00\x01\x08\x01", "is not an IDX file"),                         # not two zero bytes
    (b"\x00\x00\x07\x01" + (1).to_bytes(4, "big") + b"\x00", "type byte"),
    (b"\x00\x00\x08\x00", "number of dimensions >= 1"),
    (b"\x00\x00\x08\x02" + (3).to_bytes(4, "big"), "announces 2 dimensions"),
    (b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"\x01\x02", r"shape \(3,\).*holds 2"),
    (b"\x00\x00\x0c\x01" + (1).to_bytes(4, "big") + b"\x00" * 5, "holds 5"),
    (b"\x1f\x8b\x08\x00garbage", "damaged gzip"),
])
def test_load_idx_validates_the_header(tmp_path, content, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        datasets.load_idx(path)


def test_load_idx_missing_file_and_bad_path():
    with pytest.raises(FileNotFoundError):
        datasets.load_idx("no-such-file-idx3-ubyte")
    with pytest.raises(TypeError, match="path must be a file name"):
        datasets.load_idx(3.5)


def test_cli_trains_a_real_digit_classifier(tmp_path, capsys):
    from tinynet.cli import main
    out = tmp_path / "digits"
    assert main(["train", "--data", "digits", "--hidden", "32", "--epochs", "30", "--quiet",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1347 train / 450 test, 10 classes" in printed  # all 1,797 digits by default
    accuracy = float(printed.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.93
    assert (out / "model.npz").is_file() and (out / "history.png").is_file()
    assert not (out / "decision_boundary.png").exists()  # 64 inputs: no plane to draw
