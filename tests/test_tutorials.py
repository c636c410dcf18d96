"""Every tutorial notebook runs top to bottom without an error (nbclient, python3 kernel)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

TUTORIALS = Path(__file__).parents[1] / "tutorials"
EXPECTED = {"predict_proteins", "gaussrank", "reference_transfer", "gpu"}
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))


def test_the_tutorials_are_there():
    assert EXPECTED <= {nb.stem for nb in NOTEBOOKS}


def test_committed_notebooks_are_executed():
    """They read on the repository host without running: every code cell has run."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), f"{path.name} has cells not executed"
        assert any("image/png" in out.get("data", {}) for c in code for out in c.outputs), (
            f"{path.name} shows no figure"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_tutorial_runs(path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the notebooks draw inline
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(TUTORIALS)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr")
    ]
    assert not errors, f"{path.name}: {[e.get('text', e.get('evalue')) for e in errors]}"
