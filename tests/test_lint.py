"""The lint rules of pyproject.toml ([tool.ruff]) hold for the whole repository, so that the
README's one test command (pip install -e ".[test]" && pytest) also lints."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def ruff_command():
    if shutil.which("ruff"):
        return ["ruff"]
    try:
        import ruff  # noqa: F401  (the pip package; its binary may not be on PATH)
    except ImportError:
        pytest.skip("ruff is not installed (it comes with the test extra: pip install -e '.[test]')")
    return [sys.executable, "-m", "ruff"]


def test_ruff_finds_nothing():
    result = subprocess.run([*ruff_command(), "check", "--no-cache", "--output-format", "concise",
                             str(ROOT)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"
