"""The notebooks in notebooks/ run top to bottom (reduced draws through HV_NOTEBOOK_DRAWS), so
they cannot rot. The Dutch one fits the evidence synthesis with 4 chains x 200 draws after the
full warm-up and its nine check fits (about 1 min): slow marker, to keep the default suite under
10 minutes on 2 cores (it took 480 to 604 s with this notebook in it)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CASES = [
    ("benchmark-compare", 200),
    ("scenario-sweep", 200),
    pytest.param("dutch-case", 200, marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("name", "draws"), CASES)
def test_notebook_runs(name, draws, monkeypatch):
    monkeypatch.setenv("HV_NOTEBOOK_DRAWS", str(draws))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute(env=dict(os.environ))
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
