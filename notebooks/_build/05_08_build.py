"""Build, execute and save notebooks 05-08 from their sources in this folder.

Each source ``notebooks/_build/0N_<name>.py`` defines ``CELLS``: a list of
("md", text) and ("code", text) pairs, in order. This script turns it into
``notebooks/0N_<name>.ipynb``, runs it top to bottom in a fresh kernel (with
nbclient, from the notebooks folder) and saves it with its outputs.

    python notebooks/_build/05_08_build.py            # all four
    python notebooks/_build/05_08_build.py 06 08      # some of them
"""

import runpy
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent
NUMBERS = ("05", "06", "07", "08")


def source_files(numbers):
    files = []
    for number in numbers:
        found = sorted(p for p in HERE.glob(f"{number}_*.py") if p.name != Path(__file__).name)
        if len(found) != 1:
            raise SystemExit(f"expected one source {number}_*.py in {HERE}, found {found}")
        files.append(found[0])
    return files


def make_notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, text in cells:
        text = text.strip("\n")
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
        elif kind == "code":
            nb.cells.append(nbformat.v4.new_code_cell(text))
        else:
            raise ValueError(f"unknown cell kind {kind!r}")
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: rebuilding does not churn the diff
    return nb


def build(path):
    cells = runpy.run_path(str(path))["CELLS"]
    nb = make_notebook(cells)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    seconds = time.perf_counter() - start
    target = NOTEBOOKS / (path.stem + ".ipynb")
    nbformat.write(nb, str(target))
    return target, seconds


def main(argv):
    numbers = argv or NUMBERS
    for path in source_files(numbers):
        target, seconds = build(path)
        print(f"{target.relative_to(NOTEBOOKS.parent)}: executed in {seconds:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
