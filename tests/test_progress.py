"""Progress of long steps: plain lines when stdout is not a terminal, nothing when quiet."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hiddenvictims.cli import app
from hiddenvictims.core import progress

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^sampling: +(\d+)% \(([\d,]+)/([\d,]+) draws\), elapsed \S+, about \S+ left$")


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    """The UK six-list two-way model with 2 chains x (200 tune + 200 draws)."""
    path = tmp_path / "small.toml"
    path.write_text(
        'name = "UK two-way, small"\n'
        '[data]\nbundled = "uk_2013_6lists"\n'
        f'[model]\nspec = "{(ROOT / "models" / "two-way.toml").as_posix()}"\n'
        '[sampler]\nseed = 3\nchains = 2\ndraws = 200\ntune = 200\nbackend = "pymc"\n'
        f'[output]\ndir = "{(tmp_path / "out").as_posix()}"\n'
    )
    return path


def test_run_prints_progress_lines_while_fitting_when_stdout_is_not_a_terminal(small_config):
    """`hiddenvictims run` with stdout in a pipe: start line, 10% steps in increasing order with
    counts that add up, an end line, all before the results table."""
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.run(
        [sys.executable, "-m", "hiddenvictims.cli", "run", str(small_config), "--allow-unconverged"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    start = lines.index("sampling: started (2 x 400 draws)")
    end = next(i for i, line in enumerate(lines) if line.startswith("sampling: done in "))
    table = next(i for i, line in enumerate(lines) if "observed on 6 lists" in line)
    steps = [LINE.match(line) for line in lines[start + 1 : end]]
    assert steps and all(steps), lines[start:end]
    shares = [int(m.group(1)) for m in steps]
    assert shares == sorted(shares) and len(shares) >= 5
    assert all(m.group(3) == "800" for m in steps)
    assert start < end < table


def test_quiet_prints_no_progress(small_config):
    result = CliRunner().invoke(app, ["--quiet", "run", str(small_config), "--allow-unconverged"])
    assert result.exit_code == 0, result.output
    assert "sampling:" not in result.output
    assert "observed on 6 lists" in result.output
    assert progress.mode() == "off"  # the CLI leaves the library silent again


def test_lines_every_tenth_and_nested_steps_silent(capsys):
    progress.configure("lines")
    try:
        with progress.task("refits", 20, unit="refits") as outer:
            for _ in range(20):
                with progress.task("sampling", 5, parts=2, unit="draws") as inner:
                    inner.advance(5, part=0)
                    inner.advance(5, part=1)
                outer.advance()
    finally:
        progress.configure("off")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "refits: started (20 refits)"
    assert [line.split("%")[0].split(":")[1].strip() for line in out[1:-1]] == [str(p) for p in range(10, 100, 10)]
    assert out[-1].startswith("refits: done in ")
    assert not any(line.startswith("sampling") for line in out)


def test_off_by_default_prints_nothing(capsys):
    with progress.task("sampling", 10) as t:
        for _ in range(10):
            t.advance()
    with progress.phase("compiling"):
        pass
    assert capsys.readouterr().out == ""
