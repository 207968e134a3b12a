"""Packaging habits: a licence file that matches setup.cfg, the version in one place, a
changelog, lint in the test extra, and docs that the code's references point to."""

import configparser
import re
from pathlib import Path

import tinynet

ROOT = Path(__file__).resolve().parent.parent


def setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def test_the_licence_file_is_the_mit_licence_that_setup_cfg_declares():
    assert setup_cfg()["metadata"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


def test_the_version_is_written_once_in_tinynet_init():
    assert setup_cfg()["metadata"]["version"] == "attr: tinynet.__version__"
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", tinynet.__version__)
    for name in ("setup.cfg", "pyproject.toml"):
        assert tinynet.__version__ not in (ROOT / name).read_text(), f"{name} repeats the version"


def test_the_changelog_has_an_unreleased_section():
    assert "## Unreleased" in (ROOT / "CHANGELOG.md").read_text()


def test_ruff_is_in_the_test_extra_and_ci_runs_exactly_the_readme_command():
    assert "ruff" in setup_cfg()["options.extras_require"]["test"]
    command = 'pip install -e ".[test]" && pytest'
    assert command in (ROOT / "README.md").read_text()
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == command


def test_the_code_points_to_docs_architecture_which_exists():
    architecture = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    for heading in ("## Modules", "## The layer protocol", "## Data flow",
                    "## Serialization format", "## The layering rule"):
        assert heading in architecture
    stale = [str(p.relative_to(ROOT)) for folder in ("tinynet", "tests", "benchmarks", "notebooks/_build")
             for p in (ROOT / folder).rglob("*.py") if "DESIGN" + ".md" in p.read_text()]
    assert not stale, f"these cite a design file that is not in the repository (use docs/ARCHITECTURE.md): {stale}"
