"""Notebook 09's lessons, asserted: what its "What you should see" cells conclude holds on re-execution.

The notebook is executed from its source (``notebooks/_build/09_batch_normalization.py``) in a
fresh kernel, then each claim below, a Python expression over the notebook's own variables, is
evaluated in that kernel. The claims compare with margins and over the notebook's three seeds,
so that another CPU's rounding (try ``OPENBLAS_CORETYPE=Sandybridge`` or ``Prescott``) cannot
flip a conclusion. The format is that of a list of (what the prose says, expression) pairs.
"""

import ast
import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCE = NOTEBOOKS / "_build" / "09_batch_normalization.py"

CLAIMS = [
    ("section 1: tn.BatchNorm computes the hand-written forward",
     "np.abs(out - z_tilde).max() < 1e-12 and np.abs(z_hat.mean(axis=0)).max() < 1e-12"),
    ("section 2: staged and compact backward agree; dz sums to 0 per unit",
     "np.abs(dz_staged - dz_compact).max() < 1e-10 and np.abs(dz_compact.sum(axis=0)).max() < 1e-12"),
    ("section 2: check_layer passes on the hand-written layer and on tn.BatchNorm",
     "tn.check_layer(MyBatchNorm(3), z).passed and tn.check_layer(tn.BatchNorm(3), z).passed"),
    ("section 3: the constant-statistics bug fails exactly the x block alone, W1 and b1 in a network",
     "layer_report.failed == ['x'] and good_report.passed and buggy_report.failed == ['W1', 'b1']"),
    ("section 4: without batch norm about half the tanh units saturate from the first step on",
     ("all(0.35 < saturation[False, s][0] and saturation[False, s][-1] > saturation[False, s][0]"
      " - 0.05 for s in seeds)")),
    ("section 4: with batch norm only a few percent saturate, at every recorded step",
     "all(saturation[True, s].max() < 0.1 for s in seeds)"),
    ("section 4: with large weights every seed trains with batch norm; without, far worse on average",
     ("min(large_init_accuracy[True, s] for s in seeds) > 0.9 and"
      " np.mean([large_init_accuracy[False, s] for s in seeds])"
      " < np.mean([large_init_accuracy[True, s] for s in seeds]) - 0.2")),
    ("section 4: with batch norm every learning rate from 0.003 to 1 trains on every seed",
     "min(accuracy[True, lr, s] for lr in learning_rates for s in seeds) > 0.9"),
    ("section 4: without batch norm only 0.03 to 0.3 train, 0.003 learns little, 1 breaks down",
     ("min(accuracy[False, lr, s] for lr in (0.03, 0.1, 0.3) for s in seeds) > 0.9"
      " and max(accuracy[False, 0.003, s] for s in seeds) < 0.75"
      " and np.mean([accuracy[False, 1.0, s] for s in seeds]) < 0.7"
      " and min(accuracy[False, 1.0, s] for s in seeds) < 0.4")),
    ("section 5: training mode depends on the batch, inference mode does not",
     "np.abs(out_a - out_b).max() > 0.1 and np.abs(out_c - out_d).max() < 1e-9"),
    ("section 5: running statistics close to the training set's; accuracies close",
     "gap.max() < 0.5 and abs(train_mode_accuracy - inference_accuracy) < 0.05"),
]


CLAIM_CELL = """\
def _holds(expression):
    try:
        return bool(eval(expression, globals()))
    except Exception as error:
        return f"{type(error).__name__}: {error}"
print("CLAIMS:", repr([_holds(expression) for expression in EXPRESSIONS]))
"""


def build_module():
    spec = importlib.util.spec_from_file_location("notebook_build", NOTEBOOKS / "_build" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebook_09_claims_hold_when_executed(monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.v4.new_notebook()
    for kind, body in build_module().parse(SOURCE.read_text(encoding="utf-8")):
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(make(body))
    expressions = [expression for _, expression in CLAIMS]
    nb.cells.append(nbformat.v4.new_code_cell(f"EXPRESSIONS = {expressions!r}\n" + CLAIM_CELL))
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    printed = "".join(out.get("text", "") for out in nb.cells[-1].outputs)
    results = ast.literal_eval(printed.split("CLAIMS:", 1)[1].strip())
    failed = [f"{what}: {expression} -> {result}"
              for (what, expression), result in zip(CLAIMS, results) if result is not True]
    assert not failed, "notebook 09's prose no longer holds:\n  " + "\n  ".join(failed)
