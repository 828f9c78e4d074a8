"""The notebooks in notebooks/ run top to bottom (reduced draws through HV_NOTEBOOK_DRAWS), so
they cannot rot. The Dutch one runs in tests/test_synthesis_run.py, on the reduced synthesis
run that module has already made (HV_NOTEBOOK_RESULTS), instead of fitting it again."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CASES = [("benchmark-compare", 200), ("scenario-sweep", 200), ("quickstart", 200)]


def test_every_notebook_is_executed_by_a_test():
    assert {p.stem for p in NOTEBOOKS.glob("*.ipynb")} == {name for name, _ in CASES} | {"dutch-case"}


@pytest.mark.parametrize(("name", "draws"), CASES)
def test_notebook_runs(name, draws, monkeypatch):
    run_notebook(name, draws, monkeypatch)


def run_notebook(name: str, draws: int, monkeypatch) -> None:
    """Execute notebooks/<name>.ipynb with reduced draws; fails on any cell's error."""
    monkeypatch.setenv("HV_NOTEBOOK_DRAWS", str(draws))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute(env=dict(os.environ))
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
