"""The README's Python blocks run as written, from a directory outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def python_blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text())


def test_readme_python_blocks_run_as_written(tmp_path, monkeypatch):
    blocks = python_blocks()
    assert blocks, "the README has no python block"
    monkeypatch.chdir(tmp_path)  # names of bundled data and models work from any directory
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    assert (tmp_path / "results" / "uk" / "summary.json").is_file()
    summary = namespace["est"].summary()
    n = summary[summary["quantity"] == "N"].iloc[0]
    # UK 2013 two-way: published central estimate about 11,300 (Home Office 2014).
    assert n["lower"] < 11_300 < n["upper"]
