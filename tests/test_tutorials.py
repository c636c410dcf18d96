"""The tutorial notebooks: run top to bottom, read in order, and show their warnings.

A tutorial must not hide a warning that a user running the same calls would see: no
warning filters in the notebooks. Every warning a notebook prints comes from another
package (scmodal's own causes are removed), and the text right after the cell that
printed it names it (its category, e.g. ``FutureWarning``) and says why it is there.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import scmodal

from .conftest import STANDIN, USE_STANDIN

ROOT = Path(__file__).parents[1]
TUTORIALS = ROOT / "tutorials"
EXPECTED = {"predict_proteins", "gaussrank", "reference_transfer", "gpu"}
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))
PACKAGE = Path(scmodal.__file__).resolve().parent
WARNING = re.compile(r"^(?P<file>.+?):\d+: (?P<category>\w+): (?P<message>.*)$")


def _reading_order() -> list[str]:
    """The notebooks as docs/tutorials.md lists them."""
    text = (ROOT / "docs" / "tutorials.md").read_text()
    toctree = text[text.index("```{toctree}") :].split("```")[1]
    return re.findall(r"^tutorials/(\w+)$", toctree, flags=re.MULTILINE)


def _unexplained_warnings(nb) -> list[str]:
    """Problems with what a notebook printed to stderr (see the module docstring)."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        stderr = "".join(
            out.text for out in cell.outputs if out.output_type == "stream" and out.name == "stderr"
        )
        after = next((c.source for c in nb.cells[i + 1 :] if c.cell_type == "markdown"), "")
        for line in stderr.splitlines():
            if not line.strip() or line.startswith(" "):  # the source line a warning quotes
                continue
            match = WARNING.match(line)
            if match is None:
                problems.append(f"cell {i} prints {line!r}, not a warning")
            elif Path(match["file"]).resolve().is_relative_to(PACKAGE):
                problems.append(f"cell {i}: scmodal warns: {line}")
            elif match["category"] not in after:
                problems.append(f"cell {i}: {match['category']} not explained after it: {line}")
    return problems


def test_the_tutorials_are_there():
    assert EXPECTED <= {nb.stem for nb in NOTEBOOKS}


def test_tutorials_are_listed_in_reading_order():
    """A first prediction first; every notebook once; each one's "Next" is the next one."""
    order = _reading_order()
    assert order[0] == "predict_proteins"
    assert sorted(order) == sorted(nb.stem for nb in NOTEBOOKS)
    for name, following in itertools.pairwise(order):
        nb = nbformat.read(TUTORIALS / f"{name}.ipynb", as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        link = re.search(r"\*\*Next:\*\*[^(]*\((\w+)\.ipynb\)", text)
        assert link and link[1] == following, f"{name}: **Next:** should lead to {following}"


def test_tutorials_do_not_silence_warnings():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                found = re.search(r"filterwarnings|simplefilter|catch_warnings", cell.source)
                assert not found, f"{path.name} silences warnings: {cell.source[:200]}"


def test_committed_notebooks_are_executed():
    """They read on the repository host without running: every code cell has run."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), f"{path.name} has cells not executed"
        assert any("image/png" in out.get("data", {}) for c in code for out in c.outputs), (
            f"{path.name} shows no figure"
        )
        assert not _unexplained_warnings(nb), f"{path.name}: {_unexplained_warnings(nb)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_tutorial_runs(path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the notebooks draw inline
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(TUTORIALS)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [
        out.get("evalue")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors, f"{path.name}: {errors}"
    problems = _unexplained_warnings(nb)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.gpu
def test_gpu_tutorial_runs_its_gpu_cells(monkeypatch):
    """The GPU tutorial with a GPU: real cupy where there is one, else the strict stand-in
    (tests/standin), which refuses what cupy refuses; the GPU must match the CPU."""
    if USE_STANDIN:  # the notebook's kernel is another process: give it the stand-in too
        monkeypatch.setenv("PYTHONPATH", str(STANDIN))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(TUTORIALS / "gpu.ipynb", as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(TUTORIALS)}}
    )
    client.execute()
    printed = "\n".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
    )
    assert "skipped: no GPU" not in printed
    difference = re.search(r"largest difference CPU vs GPU: (\S+)", printed)
    assert difference and float(difference[1]) < 1e-2, printed
