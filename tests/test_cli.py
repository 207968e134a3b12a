"""The command line, run the way users run it."""

import subprocess
import sys

import pytest

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
    pytest.importorskip("tinynet.checking")
    result = run("gradcheck", str(out / "model.npz"), "--data", "flower", "--m", "16")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "W1" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--epochs", "0"], "--epochs: expected a positive integer"),
    (["train", "--lr", "-1"], "--lr"),
    (["train", "--hidden", "16,x"], "--hidden"),
    (["train", "--data", "mnist"], "invalid choice"),
    (["train", "--keep-prob", "1.5"], "--keep-prob"),
    (["info", "missing.npz"], "tinynet: error: model file 'missing.npz' not found"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_error_line_and_no_traceback(args, message, tmp_path):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in result.stderr


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
