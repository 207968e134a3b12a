"""The command line, run the way users run it."""

import os
import subprocess
import sys

import pytest

import tinynet
import tinynet as tn

from tinynet.cli import main


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinynet", *args], capture_output=True,
                          text=True, cwd=cwd, env={**__import__("os").environ, "MPLBACKEND": "Agg"})


@pytest.mark.parametrize("command", [[], ["demo"], ["train"], ["gradcheck"], ["info"]])
def test_help_exits_0(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: tinynet" in capsys.readouterr().out


def test_python_dash_m_help():
    result = run("--help")
    assert result.returncode == 0 and "demo" in result.stdout


def test_demo_writes_the_plots(tmp_path):
    result = run("demo", "--out", str(tmp_path / "demo"), "--epochs", "20", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    for name in ("decision_boundary.png", "history.png"):
        assert (tmp_path / "demo" / name).stat().st_size > 1000
    assert "Traceback" not in result.stderr


def test_train_then_info_then_gradcheck(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "flower", "--hidden", "6", "--activation", "tanh",
                 "--epochs", "5", "--out", str(out), "--quiet", "--l2", "0.1"]) == 0
    assert (out / "model.npz").is_file() and (out / "decision_boundary.png").is_file()
    assert "test accuracy" in capsys.readouterr().out
    assert main(["info", str(out / "model.npz")]) == 0
    assert "Dense(2 -> 6)" in capsys.readouterr().out
    result = run("gradcheck", str(out / "model.npz"), "--data", "flower", "--m", "16")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "W1" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--epochs", "0"], "--epochs: expected a positive integer"),
    (["train", "--lr", "-1"], "--lr"),
    (["train", "--hidden", "16,x"], "--hidden"),
    (["train", "--hidden", "16,,16"], "--hidden: expected comma-separated positive layer widths"),
    (["train", "--data", "mnist"], "invalid choice"),
    (["train", "--keep-prob", "1.5"], "--keep-prob"),
    (["train", "--m", "1"], "--m: expected at least 10 examples (a quarter is held out"),
    (["train", "--m", "3"], "--m: expected at least 10 examples"),
    (["info", "missing.npz"], "tinynet: error: model file 'missing.npz' not found"),
    (["info", "."], "tinynet: error: '.' is a folder, not a model file"),
    (["gradcheck", "model.npz", "--no-penalty", "--data", "mnist"], "--data: invalid choice"),
    (["frobnicate"], "invalid choice"),
    ([], "the following arguments are required: COMMAND"),
])
def test_bad_arguments_exit_2_with_exactly_one_line_on_stderr(args, message, tmp_path):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr    # no usage block, no traceback
    assert result.stderr.startswith("tinynet") and message in result.stderr


def test_info_on_a_run_folder_points_at_its_model(tmp_path):
    (tmp_path / "run").mkdir()
    tn_net().save(tmp_path / "run" / "model.npz")
    result = run("info", "run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == ("tinynet: error: 'run' is a folder, not a model file; did you mean "
                             "'run/model.npz'?\n")


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"tinynet {tinynet.__version__}"


def test_a_closed_pipe_ends_quietly(tmp_path):
    tn_net().save(tmp_path / "model.npz")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`| head -1`) is gone before tinynet writes
    try:
        result = subprocess.run([sys.executable, "-m", "tinynet", "info", "model.npz"],
                                stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                                timeout=120)
    finally:
        os.close(write_end)
    assert result.stderr == "" and result.returncode == 1


def test_gradcheck_uses_the_recorded_training_data_and_says_so(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--data", "spirals", "--hidden", "8", "--epochs", "2", "--l2", "0.5",
                 "--out", str(out), "--quiet"]) == 0
    result = run("gradcheck", str(out / "model.npz"), "--m", "12")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("checking on spirals (the data the model was trained on): "
                                    "12 examples, seed 0, with the penalty")
    result = run("gradcheck", str(out / "model.npz"), "--m", "12", "--no-penalty")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "without the penalty" in result.stdout.splitlines()[0]


def test_gradcheck_says_when_it_falls_back_to_moons(tmp_path):
    net = tn_net()
    net.save(tmp_path / "model.npz")  # saved from Python: no training data recorded
    result = run("gradcheck", "model.npz", "--m", "8", cwd=tmp_path)
    assert result.stdout.startswith("checking on moons (the default: the model file does not "
                                    "name its training data)")


def tn_net():
    return tinynet.Network([tinynet.Dense(2, 3), tinynet.Tanh(), tinynet.Dense(3, 2)],
                           loss=tinynet.SoftmaxCrossEntropy(), seed=0)


def test_gradcheck_on_data_that_does_not_fit_the_model_exits_2(tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--epochs", "1", "--out", str(out), "--quiet"])
    capsys.readouterr()
    assert main(["gradcheck", str(out / "model.npz"), "--data", "spirals"]) == 2
    assert capsys.readouterr().err.startswith("tinynet: error: data set 'spirals' does not fit")


def test_a_file_that_is_not_a_model_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a model")
    assert main(["info", str(bad)]) == 2
    assert "tinynet: error: cannot load model" in capsys.readouterr().err


@pytest.mark.parametrize("make, message", [
    (lambda path: path.write_text("not a model"), "tinynet: error: cannot load model 'model.npz': "),
    (lambda path: os.mkfifo(path), "is a pipe, not a model file"),
    (lambda path: tn_net().save(path), "data set 'spirals' does not fit this model"),
], ids=["text file", "fifo", "data that do not fit"])
def test_file_errors_exit_2_with_exactly_one_line_on_stderr(tmp_path, make, message):
    if not hasattr(os, "mkfifo") and "pipe" in message:
        pytest.skip("no FIFOs here")
    make(tmp_path / "model.npz")
    result = subprocess.run([sys.executable, "-m", "tinynet", "gradcheck", "model.npz", "--data",
                             "spirals", "--m", "9"], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


@tn.register_layer
class CliTanhTwiceTooSteep(tn.Tanh):
    """A registered custom activation whose backward is twice too large."""

    def backward(self, dout):
        return 2 * dout * (1 - self.out ** 2)


def test_gradcheck_prints_the_culprit_and_exits_1(tmp_path, capsys):
    net = tn.Network([tn.Dense(2, 5), CliTanhTwiceTooSteep(), tn.Dense(5, 2)],
                     loss=tn.SoftmaxCrossEntropy(), seed=0)
    net.save(tmp_path / "model.npz")
    capsys.readouterr()
    assert main(["gradcheck", str(tmp_path / "model.npz"), "--data", "flower"]) == 1
    out = capsys.readouterr().out
    assert "<-- FAIL (because of layers[1])" in out
    assert out.rstrip().splitlines()[-1].strip().startswith(
        "layers[1] CliTanhTwiceTooSteep(): backward returns a wrong input gradient dx")
    assert "analytic = 2 x numeric" in out.rstrip().splitlines()[-1]
