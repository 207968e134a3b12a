"""Hostile and damaged model files: each is refused with a ModelFileError that says what is
wrong, before anything large is allocated; never a hang, a raw exception or numpy's advice to
unpickle. (Ordinary mistakes are rows of tests/test_bad_inputs.py.)"""

import io
import json
import os
import sys
import threading
import zipfile

import numpy as np
import pytest

import tinynet as tn
import tinynet.initializers


def small_net(dtype=np.float64):
    return tn.Network([tn.Dense(3, 4), tn.ReLU(), tn.Dense(4, 2)], loss=tn.SoftmaxCrossEntropy(),
                      seed=0, dtype=dtype)


def members(net):
    """The two .npy members a good file holds, as bytes."""
    out = {}
    for name, array in (("params", net.params), ("architecture", np.array(_json(net)))):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, allow_pickle=False)
        out[f"{name}.npy"] = buffer.getvalue()
    return out


def _json(net, change=None):
    architecture = {"format": "tinynet", "format_version": 1,
                    "layers": [{"type": "Dense", "config": {"n_in": 3, "n_out": 4}},
                               {"type": "ReLU", "config": {}},
                               {"type": "Dense", "config": {"n_in": 4, "n_out": 2}}],
                    "loss": {"type": "SoftmaxCrossEntropy", "config": {}}, "penalty": None,
                    "dtype": net.dtype.name, "seed": 0,
                    "blocks": [[b.name, list(b.shape)] for b in net.blocks]}
    if change:
        change(architecture)
    return json.dumps(architecture)


def npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def write_zip(path, entries, compression=zipfile.ZIP_STORED):
    """entries: [(name or ZipInfo, bytes)]; the same name may appear twice."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


def with_architecture(tmp_path, text, params=None):
    net = small_net()
    return write_zip(tmp_path / "model.npz",
                     [("architecture.npy", npy(np.array(text))),
                      ("params.npy", npy(net.params if params is None else params))])


def refused(path, fragment):
    with pytest.raises(tn.ModelFileError, match=fragment) as info:
        tn.load(path)
    assert "allow_pickle" not in str(info.value)
    return info.value


def test_the_hand_made_good_file_loads(tmp_path):
    """The helpers above write what net.save writes: the refusals below are about one change."""
    net = small_net()
    path = write_zip(tmp_path / "good.npz", list(members(net).items()))
    assert tn.load(path).params.tobytes() == net.params.tobytes()


# ---------------------------------------------------------------------------- not a file

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(_load_error(fifo)), daemon=True)
    thread.start()
    thread.join(timeout=20)
    if thread.is_alive():  # unblock the reader so that the suite goes on, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(timeout=5)
        pytest.fail("tn.load blocked on a FIFO")
    assert isinstance(outcome[0], tn.ModelFileError) and "is a pipe, not a model file" in \
        str(outcome[0])


def _load_error(path):
    try:
        tn.load(path)
    except Exception as exc:  # the test inspects whatever was raised
        return exc
    return None


def test_a_folder_is_refused_as_a_folder(tmp_path):
    refused(tmp_path, "is a folder, not a model file")


@pytest.mark.parametrize("content", [b"these are my notes", b"x1,x2,label\n0.5,0.25,1\n",
                                     b"root:x:0:0:root:/root:/bin/bash\n", b""])
def test_a_file_that_is_not_a_zip_archive_says_so_and_never_mentions_unpickling(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    refused(path, "not a readable .npz file: it is not a zip archive")


@pytest.mark.skipif(not os.path.isfile("/etc/passwd"), reason="no /etc/passwd")
def test_etc_passwd_is_not_a_model():
    refused("/etc/passwd", "not a zip archive")


# ---------------------------------------------------------------------------- sizes

@pytest.mark.parametrize("n_in, n_out", [(3, 10 ** 8), (10 ** 9, 10 ** 9)])
def test_a_huge_declared_layer_is_refused_before_it_is_built(tmp_path, n_in, n_out):
    text = _json(small_net(), lambda a: a["layers"][0]["config"].update(n_in=n_in, n_out=n_out))
    path = with_architecture(tmp_path, text)
    assert path.stat().st_size < 5000
    refused(path, rf"layers\[0\] Dense\({n_in} -> {n_out}\) needs {n_out * (n_in + 1):,} "
                  r"parameters, but the file's parameter vector holds 26")


def test_a_huge_declared_batchnorm_is_refused_before_it_is_built(tmp_path):
    text = _json(small_net(), lambda a: a["layers"].insert(1, {"type": "BatchNorm",
                                                               "config": {"n": 10 ** 9}}))
    refused(with_architecture(tmp_path, text), r"layers\[1\] BatchNorm\(1000000000\) needs "
            r"2,000,000,000 parameters, but the file's parameter vector holds 26")


def test_a_huge_blocks_record_is_refused_before_the_vector_is_read(tmp_path):
    text = _json(small_net(), lambda a: a["blocks"][0].__setitem__(1, [10 ** 8, 3]))
    refused(with_architecture(tmp_path, text),
            r"'params' array has shape \(26,\), but the architecture record's blocks need "
            r"\(300000014,\)")  # W1 (10**8, 3), b1 (4,), W2 (2, 4), b2 (2,)


def test_an_npy_header_claiming_a_huge_array_is_refused(tmp_path):
    net = small_net()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (2 ** 40,)})
    text = _json(net, lambda a: a.update(blocks=[["W1", [2 ** 40]]]))
    path = write_zip(tmp_path / "model.npz", [("architecture.npy", npy(np.array(text))),
                                              ("params.npy", header.getvalue() + b"\0" * 64)])
    refused(path, r"size in the zip directory .* disagrees with its array")


def test_a_zip_directory_claiming_a_huge_member_is_refused(tmp_path):
    path = write_zip(tmp_path / "model.npz", list(members(small_net()).items()))
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02params.npy"[:4], 0, data.rindex(b"params.npy"))
    data[central + 24:central + 28] = (2 ** 32 - 1).to_bytes(4, "little")  # uncompressed size
    path.write_bytes(bytes(data))
    refused(path, r"the 'params' member's size in the zip directory \(4,294,967,295 bytes\)")


def test_loading_never_draws_initial_weights(tmp_path, monkeypatch):
    net = small_net()
    net.save(tmp_path / "model.npz")

    def no_drawing(*args, **kwargs):
        raise AssertionError("initial weights were drawn for a model about to be overwritten")

    monkeypatch.setattr(tinynet.initializers, "draw", no_drawing)
    assert tn.load(tmp_path / "model.npz").params.tobytes() == net.params.tobytes()


# ---------------------------------------------------------------------------- values

def test_values_beyond_a_float32_model_are_refused(tmp_path):
    net = small_net(np.float32)
    params = np.full(net.n_params, 1e300)  # float64 values in a model that declares float32
    refused(with_architecture(tmp_path, _json(net), params),
            r"'params' array is float64, but the architecture record declares a float32 model")


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8, reason="long double is float64 here")
def test_long_double_values_are_refused(tmp_path):
    params = np.full(small_net().n_params, np.longdouble(10) ** 400)
    refused(with_architecture(tmp_path, _json(small_net()), params),
            r"'params' array is float128, but the architecture record declares a float64 model")


def test_a_blocks_record_that_disagrees_with_the_layers_says_what_disagrees(tmp_path):
    text = _json(small_net(), lambda a: a["blocks"][0].__setitem__(1, [3, 4]))
    refused(with_architecture(tmp_path, text),
            r"the layers disagree with the blocks record at block 0: the layers make W1 \(4, 3\), "
            r"the record says W1 \(3, 4\)")


# ---------------------------------------------------------------------------- odd archives

def test_an_unsupported_compression_method_is_refused(tmp_path):
    path = write_zip(tmp_path / "model.npz", list(members(small_net()).items()),
                     compression=zipfile.ZIP_BZIP2)
    refused(path, r"unsupported zip compression method \(12\)")


def test_a_deflated_file_still_loads(tmp_path):
    net = small_net()
    path = write_zip(tmp_path / "model.npz", list(members(net).items()),
                     compression=zipfile.ZIP_DEFLATED)
    assert tn.load(path).params.tobytes() == net.params.tobytes()


def test_an_encrypted_member_flag_is_refused(tmp_path):
    path = write_zip(tmp_path / "model.npz", list(members(small_net()).items()))
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local and central flags
        start = 0
        while (start := data.find(signature, start)) >= 0:
            data[start + offset] |= 1
            start += 4
    path.write_bytes(bytes(data))
    refused(path, "not a readable .npz file .*encrypted")


def test_a_zip_version_needed_of_25_5_is_refused(tmp_path):
    entries = []
    for name, data in members(small_net()).items():
        info = zipfile.ZipInfo(name)
        info.extract_version = 255
        entries.append((info, data))
    refused(write_zip(tmp_path / "model.npz", entries), r"zip file version 25\.5")


def test_two_members_with_the_same_name_are_refused(tmp_path):
    net = small_net()
    other = small_net()
    other.params[...] = 1.0
    entries = list(members(net).items()) + [("params.npy", npy(other.params))]
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = write_zip(tmp_path / "model.npz", entries)
    refused(path, "holds two members named 'params.npy'")


def test_json_nested_too_deep_is_refused(tmp_path):
    depth = sys.getrecursionlimit() * 20
    refused(with_architecture(tmp_path, "[" * depth + "]" * depth),
            r"architecture record is not valid JSON \(RecursionError")


def test_an_integer_with_5000_digits_is_refused_with_the_file_name(tmp_path):
    text = _json(small_net())[:-1] + ', "seed": ' + "7" * 5000 + "}"
    error = refused(with_architecture(tmp_path, text), "architecture record is not valid JSON")
    assert str(tmp_path / "model.npz") in str(error)


def test_a_member_that_is_not_an_npy_array_is_refused(tmp_path):
    entries = list(members(small_net()).items())
    entries[0] = ("params.npy", b"definitely not an npy header")
    refused(write_zip(tmp_path / "model.npz", entries), "not a readable .npz file")


# ---------------------------------------------------------------------------- save's paths

def test_save_and_load_accept_bytes_paths(tmp_path):
    net = small_net()
    path = os.fsencode(tmp_path / "model.npz")
    net.save(path)
    assert tn.load(path).params.tobytes() == net.params.tobytes()


def test_save_to_an_empty_path_or_a_folder_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="path must be a file name such as 'model.npz', got ''"):
        small_net().save("")
    with pytest.raises(IsADirectoryError, match="is a folder; save to a file in it"):
        small_net().save(tmp_path)
    assert os.listdir(tmp_path) == [] and os.listdir(tmp_path.parent).count(tmp_path.name) == 1
