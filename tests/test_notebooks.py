"""The course notebooks: every notebooks/*.ipynb runs top to bottom in a fresh kernel, and
follows the notebook rules (imports, a "What you should see" cell, stored figures, and no number
in the prose that the code above it did not print).

The notebooks are built and executed from their sources with ``python notebooks/_build/build.py``.
"""

import ast
import os
import re
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from notebook_claims import CLAIMS

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
ALLOWED_IMPORTS = {"tinynet", "numpy", "matplotlib"}
TIME_LIMIT = 120          # seconds per notebook, top to bottom (they aim at well under 30 s)
CELL_TIMEOUT = 600

parametrize = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])


def read(path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def text_of(outputs):
    """The text a code cell showed: streams, results and displays (text/plain), errors."""
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
        elif out.get("output_type") == "error":
            parts.append(out.get("evalue", ""))
    return "".join(parts)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4, f"expected the course notebooks in {NOTEBOOK_DIR}"


# ---------------------------------------------------------------------------- execution

@pytest.fixture(scope="session")
def python3_kernel():
    """Make sure a "python3" kernel spec exists; on a machine without one, install ipykernel's."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:   # ipykernel is installed (test extras) but no spec is registered
        from ipykernel.kernelspec import install
        install(user=True)
    return "python3"


_EXECUTED = {}   # path -> (executed notebook, seconds, {claim: True or what went wrong})

CLAIM_CELL = """\
def _holds(expression):
    try:
        return bool(eval(expression, globals()))
    except Exception as error:
        return f"{{type(error).__name__}}: {{error}}"
print("CLAIMS:", repr({{expression: _holds(expression) for expression in {expressions!r}}}))
"""


def execute(path, kernel_name):
    """Run the notebook top to bottom in a fresh kernel, once per session, then evaluate its
    CLAIMS in the same kernel (an extra last cell that is not part of the notebook)."""
    if path not in _EXECUTED:
        nb = read(path)
        expressions = [expression for _, expression in CLAIMS.get(path.stem, ())]
        nb.cells.append(nbformat.v4.new_code_cell(CLAIM_CELL.format(expressions=expressions)))
        client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name=kernel_name,
                                         resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
        # The kernel inherits this environment: without MPLBACKEND (CI sets Agg) ipykernel picks
        # the inline backend, as in a browser session.
        with pytest.MonkeyPatch.context() as env:
            env.delenv("MPLBACKEND", raising=False)
            env.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")   # quiet debugger warning
            start = time.perf_counter()
            client.execute()      # a failing cell raises CellExecutionError with its source
            seconds = time.perf_counter() - start
        printed = text_of(nb.cells[-1].outputs)
        results = ast.literal_eval(printed.split("CLAIMS:", 1)[1].strip())
        nb.cells.pop()
        _EXECUTED[path] = (nb, seconds, results)
    return _EXECUTED[path]


@parametrize
def test_notebook_runs_top_to_bottom(path, python3_kernel):
    nb, seconds, _ = execute(path, python3_kernel)
    assert seconds < TIME_LIMIT, f"{path.name} took {seconds:.0f} s, over the {TIME_LIMIT} s budget"
    assert any(out.get("output_type") == "display_data" and "image/png" in out.get("data", {})
               for cell in code_cells(nb) for out in cell.outputs), \
        f"{path.name} drew no inline figure when executed"


@parametrize
def test_notebook_lessons_hold_when_executed_here(path, python3_kernel):
    """Every conclusion a notebook states holds on this machine, in a fresh run (see CLAIMS)."""
    assert path.stem in CLAIMS, f"{path.name}: list the conclusions its prose states in CLAIMS"
    _, _, results = execute(path, python3_kernel)
    broken = [f"{text}: {expression}  ->  {results[expression]}"
              for text, expression in CLAIMS[path.stem] if results[expression] is not True]
    assert not broken, (f"{path.name}: a lesson does not hold in this run (OPENBLAS_CORETYPE="
                        f"{os.environ.get('OPENBLAS_CORETYPE', 'default')}):\n  "
                        + "\n  ".join(broken))


# ---------------------------------------------------------------------------- static rules

def imported_modules(source):
    """Top-level module names imported by a code cell (IPython magics and shell lines skipped)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." if node.level else node.module.split(".")[0])
    return names


def test_import_parser_sees_every_import_form():
    source = "%matplotlib inline\nimport numpy as np, os\nfrom tinynet import plot\n" \
             "import matplotlib.pyplot as plt\ndef f():\n    import json\n"
    assert imported_modules(source) == {"numpy", "os", "tinynet", "matplotlib", "json"}


@parametrize
def test_notebook_imports_only_tinynet_numpy_matplotlib(path):
    used = set()
    for cell in code_cells(read(path)):
        used |= imported_modules(cell.source)
    assert used <= ALLOWED_IMPORTS, f"{path.name} imports {sorted(used - ALLOWED_IMPORTS)}"


@parametrize
def test_notebook_has_a_what_you_should_see_cell(path):
    assert any(cell.cell_type == "markdown" and "what you should see" in cell.source.lower()
               for cell in read(path).cells), f'{path.name} has no "What you should see" cell'


@parametrize
def test_notebook_is_stored_executed_with_a_figure(path):
    cells = code_cells(read(path))
    unexecuted = [i for i, cell in enumerate(cells) if cell.source.strip()
                  and cell.execution_count is None]
    assert not unexecuted, f"{path.name}: code cells {unexecuted} have no stored outputs; " \
                           "rebuild with python notebooks/_build/build.py"
    assert not [cell for cell in cells for out in cell.outputs
                if out.get("output_type") == "error"], f"{path.name} stores an error output"
    assert any("image/png" in out.get("data", {}) for cell in cells for out in cell.outputs), \
        f"{path.name} stores no PNG figure"


# A decimal number in prose: 0.2850, 93.5%, 2.851e-01. Digits glued to letters (float32, x2,
# Python 3.11 in a word) and numbers inside `code` are not prose numbers.
NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+)(?:[eE][-+]?\d+)?(%?)(?![\w.]*\d)")


def significant_digits(literal):
    digits = literal.replace(".", "").lstrip("0")
    return len(digits)


def quoted_numbers(line):
    """(literal, is_percent) for each decimal number worth checking on a markdown line."""
    line = re.sub(r"`[^`]*`", " ", line)                   # inline code is code, not a claim
    found = []
    for match in NUMBER.finditer(line):
        literal, percent = match.group(1), bool(match.group(2))
        if significant_digits(literal) >= 4 or (percent and significant_digits(literal) >= 3):
            found.append((match.group(0), literal, percent))
    return found


def printed_forms(literal, percent):
    """The ways the code may have printed this number: as written, or as a fraction for a %."""
    forms = [literal]
    if percent:
        try:
            forms.append(format(Decimal(literal) / 100, "f"))
        except InvalidOperation:
            pass
    return forms


def test_quoted_number_detection():
    assert [q[1] for q in quoted_numbers("difference 0.2850931, accuracy 93.5%, 1e-7, 0.86")] \
        == ["0.2850931", "93.5"]
    assert quoted_numbers("float32 `net.fit(lr=0.0075)` Python 3.11") == []
    assert printed_forms("93.5", True) == ["93.5", "0.935"]


@parametrize
def test_every_number_in_the_prose_was_printed_above(path):
    """Each decimal number with >= 4 significant digits (>= 3 for a percentage) in a markdown
    cell appears in the text output of an earlier code cell, unless its line says it is the
    course's number ("the course prints 0.2850931567761623")."""
    printed, problems = "", []
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            printed += text_of(cell.outputs)
            continue
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if "course" in line.lower():
                continue
            for shown, literal, percent in quoted_numbers(line):
                if not any(form in printed for form in printed_forms(literal, percent)):
                    problems.append(f"cell {index}: {shown!r} in {line.strip()!r}")
    assert not problems, (f"{path.name}: numbers in the prose that no code cell above printed "
                          "(print them, or say on that line that they are the course's):\n  "
                          + "\n  ".join(problems))
