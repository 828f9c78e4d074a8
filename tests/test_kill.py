"""Killed runs and racing runs cannot lose or half-write a results folder.

A run is SIGKILLed while sampling, while writing and between the two renames of a --force
replacement (``HIDDENVICTIMS_TEST_PAUSE`` makes the writer wait at those points); afterwards
the target is absent or complete, no worker process is left after 5 s, and the next run at the
same target leaves no litter (temp folders, lock). Two writers at one target: exactly one wins.
The kill tests run several fits each (about 5 minutes together on 2 busy cores): ``slow``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "hiddenvictims" / "data" / "benchmarks" / "korea_palembang_3lists.csv"
MODEL = ROOT / "models" / "independence.toml"
CLI = Path(sys.executable).parent / "hiddenvictims"


def command(out: Path, *extra: str, draws: int = 200) -> list[str]:
    return [
        str(CLI),
        "fit",
        str(DATA),
        "--model",
        str(MODEL),
        "--out",
        str(out),
        "--chains",
        "2",
        "--draws",
        str(draws),
        "--tune",
        "200",
        "--backend",
        "pymc",
        "--allow-unconverged",
        *extra,
    ]


def start(args: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    """Start the CLI with stderr to ``log`` (no pipe left open if the process is killed)."""
    with log.open("wb") as err:
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **(env or {})})


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # forked sampler workers carry the parent's command line (a compiler would not)
            if int(fields[1]) == pid and b"hiddenvictims" in _cmdline(entry):
                out.append(int(entry.name))
    return out


def _cmdline(entry: Path) -> bytes:
    try:
        return (entry / "cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def complete(folder: Path) -> bool:
    names = {p.name for p in folder.iterdir()}
    return {"idata.nc", "summary.json", "summary.csv", "manifest.json"} <= names and bool(
        json.loads((folder / "summary.json").read_text())["rows"]
    )


def litter(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def kill_and_check(proc: subprocess.Popen, workers: list[int], out: Path) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(5)
    assert not [w for w in workers if alive(w)], "sampler workers outlived the killed run"
    assert not out.exists() or complete(out)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and PR_SET_PDEATHSIG")
def test_killed_while_sampling_leaves_no_workers_and_no_folder(tmp_path):
    out = tmp_path / "res"
    proc = start(command(out, draws=200_000), tmp_path / "log")
    assert wait_for(lambda: len(children(proc.pid)) >= 2, 120), "sampling never started"
    workers = children(proc.pid)
    kill_and_check(proc, workers, out)
    assert not out.exists()
    done = subprocess.run(command(out), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert complete(out) and litter(tmp_path, "res") == []


@pytest.mark.slow
@pytest.mark.parametrize("point", ["writing", "renames"])
def test_killed_while_writing_or_between_renames_leaves_target_absent_or_complete(tmp_path, point):
    out = tmp_path / "res"
    first = subprocess.run(command(out), capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    before = (out / "summary.json").read_bytes()
    flag = tmp_path / "paused"
    proc = start(
        command(out, "--force", "--seed", "5"), tmp_path / "log", env={"HIDDENVICTIMS_TEST_PAUSE": f"{point}:{flag}"}
    )
    assert wait_for(flag.exists, 300), (tmp_path / "log").read_text()
    kill_and_check(proc, [], out)
    if point == "writing":  # the old folder was never touched
        assert (out / "summary.json").read_bytes() == before
    else:  # killed with the old folder moved aside: absent now, restored by the next run
        assert not out.exists()
    again = subprocess.run(command(out), capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "--force" in again.stderr  # recovered, so it exists again
    assert (out / "summary.json").read_bytes() == before
    assert litter(tmp_path, "res") == []
    forced = subprocess.run(command(out, "--force", "--seed", "5"), capture_output=True, text=True, timeout=300)
    assert forced.returncode == 0, forced.stderr
    assert complete(out) and litter(tmp_path, "res") == []
    assert (out / "summary.json").read_bytes() != before


def test_two_writers_at_one_target_exactly_one_wins(tmp_path):
    out = tmp_path / "res"
    logs = [tmp_path / f"log{i}" for i in range(2)]
    procs = [start(command(out), log) for log in logs]
    codes = sorted(p.wait(timeout=300) for p in procs)
    assert codes == [0, 2], codes
    loser = next(i for i, p in enumerate(procs) if p.returncode == 2)
    message = logs[loser].read_text().strip()
    assert len(message.splitlines()) == 1 and str(out) in message
    assert complete(out) and litter(tmp_path, "res") == []
