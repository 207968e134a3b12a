"""Build the course notebooks 01-04 from their sources here, execute them, save them with outputs.

    python notebooks/_build/build.py            # all sources
    python notebooks/_build/build.py 02 04      # only those whose name starts with 02 or 04

A source is a Python file in the "percent" format: a line ``# %%`` starts a code cell and
``# %% [markdown]`` a markdown cell, whose lines are written as comments (``# text``). The
notebook ``notebooks/<source name>.ipynb`` is executed top to bottom in a fresh kernel (working
directory ``notebooks/``) and saved with its outputs, so that it renders when browsed.
"""

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent


def parse(text):
    """Percent-format source -> list of (kind, source) with kind "code" or "markdown"."""
    cells, kind, lines = [], None, []

    def flush():
        if kind is not None:
            body = "\n".join(lines).strip("\n")
            if body:
                cells.append((kind, body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind == "markdown":
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        elif kind == "code":
            lines.append(line)
    flush()
    return cells


def build(source):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, body in parse(source.read_text(encoding="utf-8")):
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(make(body))
    env_backend = os.environ.pop("MPLBACKEND", None)   # let the kernel use the inline backend
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        seconds = time.perf_counter() - start
    finally:
        if env_backend is not None:
            os.environ["MPLBACKEND"] = env_backend
    for i, cell in enumerate(nb.cells):   # stable ids, so a rebuild only changes what changed
        cell["id"] = f"{source.stem[:2]}-{i:03d}"
        if cell.cell_type == "code":
            cell.metadata.pop("execution", None)
            # tqdm.auto warns "IProgress not found" when ipywidgets is missing: noise, not lesson
            cell.outputs = [o for o in cell.outputs if not (
                o.output_type == "stream" and o.name == "stderr" and "IProgress not found" in o.text)]
    target = NOTEBOOKS / f"{source.stem}.ipynb"
    nbformat.write(nb, target)
    return target, seconds


def main(prefixes):
    sources = sorted(p for p in HERE.glob("[0-9][0-9]_*.py")
                     if not prefixes or p.name.startswith(tuple(prefixes)))
    for source in sources:
        target, seconds = build(source)
        print(f"{target.relative_to(NOTEBOOKS.parent)}: executed in {seconds:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
