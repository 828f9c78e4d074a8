"""--dry-run: every shipped config is checked completely in seconds, fitting and writing nothing."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from hiddenvictims.core.runconfig import SCENARIO_KEYS

ROOT = Path(__file__).resolve().parents[1]


def _is_study(path: Path) -> bool:
    """A simulation study config (``hiddenvictims study``, top-level ``replicates``) is not a run
    config and has no dry run."""
    import tomllib

    return "replicates" in tomllib.loads(path.read_text())


CONFIGS = sorted(p for p in (ROOT / "scenarios").glob("*.toml") if not _is_study(p))
#: CPU seconds (user + system) of the whole command: imports, config chain, data, plan. CPU time,
#: not wall time, so that a busy machine does not fail the test; quiet machines take ~2 s.
CPU_LIMIT_S = 5.0


def cli(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    """Run the command in a fresh process; returns it and the CPU seconds it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-m", "hiddenvictims.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc, cpu


def command_for(path: Path) -> list[str]:
    import tomllib

    raw = tomllib.loads(path.read_text())
    return ["scenario", "run"] if any(k in raw for k in SCENARIO_KEYS) else ["run"]


@pytest.mark.parametrize("config", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_dry_run_of_every_shipped_config(config, tmp_path):
    proc, cpu = cli(*command_for(config), str(config), "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("dry run: ") and "nothing fitted, nothing written" in out
    assert "- fit " in out and "expected time: about " in out and "results folder: " in out
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert cpu < CPU_LIMIT_S, f"{config.name}: {cpu:.1f} CPU seconds"


def test_dry_run_of_compare_and_the_same_config_through_run(tmp_path):
    proc, _ = cli("scenario", "compare", "chat-referral", "chat-twice-findable", "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("- fit ") == 1  # both scenarios share the baseline fit
    assert "results folder: results/compare-chat-referral-chat-twice-findable" in proc.stdout
    proc, _ = cli("run", "chat-referral", "--dry-run", cwd=tmp_path)  # run hands it on
    assert proc.returncode == 0 and "- scenario: " in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_broken_config_exits_2_naming_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "netherlands-chat-only"\nname = "x"\n[sampler]\ndrawz = 10\n')
    proc, _ = cli("scenario", "run", str(bad), "--dry-run", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: {bad}: unknown key 'sampler.drawz' (did you mean 'draws'?)")
    assert "Traceback" not in proc.stderr
    exists = tmp_path / "taken"  # a user's folder with data in it: never ours to replace
    exists.mkdir()
    (exists / "t.csv").write_text("A,B,count\n1,0,3\n")
    proc, _ = cli("run", "uk-2013-two-way", "--out", str(exists), "--dry-run", cwd=tmp_path)
    assert proc.returncode == 2 and "is not a results folder written by hiddenvictims" in proc.stderr


def test_reading_the_family_registry_loads_no_sampler():
    """Dry runs and scenario checks read the registry (can a family refit? its list roles?);
    that must not import PyMC or ArviZ, seconds of CPU a dry run must not pay."""
    code = (
        "import sys; from hiddenvictims.families import FAMILIES; "
        "assert FAMILIES['anonymous'].refit is not None and FAMILIES['averaging'].refit is None; "
        "heavy = {'pymc', 'arviz', 'pytensor'} & set(sys.modules); assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
