"""The command line answers at once: --help and a mistyped file name load no heavy library.

Speed itself is measured in benchmarks/bench_startup.py (CPU seconds); this test checks the
structural reason for it, which does not depend on how busy the machine is.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("arviz", "pymc", "pytensor", "dask", "distributed", "matplotlib", "xarray", "numba", "pandas")

PROBE = """
import json, sys
from hiddenvictims.cli import main
sys.argv = ["hiddenvictims", *ARGS]
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = [m for m in HEAVY if m in sys.modules]
print(json.dumps({"code": code, "heavy": heavy}), file=sys.__stderr__)
"""


def loaded_after(args: list[str], tmp_path) -> dict:
    code = PROBE.replace("ARGS", repr(args)).replace("HEAVY", repr(HEAVY))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False)
    return json.loads(proc.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["fit", "missing.csv"], 2),
        (["compare", "missing.csv"], 2),
        (["run", "missing.toml"], 2),
        (["scenario", "run", "missing.toml"], 2),
    ],
)
def test_quick_answers_load_no_heavy_library(args, code, tmp_path):
    result = loaded_after(args, tmp_path)
    assert result["code"] == code
    assert result["heavy"] == [], f"{' '.join(args)} loaded {result['heavy']}"


def test_probe_sees_a_heavy_import(tmp_path):
    """The probe can fail: reading a real table loads pandas."""
    table = tmp_path / "t.csv"
    table.write_text("A,B,count\n1,0,5\n0,1,7\n1,1,3\n")
    result = loaded_after(["fit", str(table), "--format", "nonsense"], tmp_path)
    assert result["code"] == 2 and result["heavy"] == []
    result = loaded_after(["datasets"], tmp_path)
    assert "pandas" in result["heavy"]
