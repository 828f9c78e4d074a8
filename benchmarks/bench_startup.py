"""How fast the command line answers: CPU time of short commands, each in a fresh process.

A user who mistypes a file name or asks for ``--help`` should get an answer at once, so the CLI
imports the heavy libraries (ArviZ, PyMC, PyTensor, Dask, matplotlib) only inside the commands
that need them. Measured: user + system CPU seconds of the child process (less sensitive to a
busy machine than wall time), median of ``--repeat`` runs, for

* ``import hiddenvictims`` (the package alone),
* ``import hiddenvictims.cli`` (what every command pays before it runs),
* ``hiddenvictims --help``,
* ``hiddenvictims fit missing.csv`` (a bad-input error: one line, exit 2).

Target: the last two under 0.5 s of CPU. ``--src DIR`` measures another checkout's ``src/``
(e.g. an older commit, to compare before and after).

Run: .venv/bin/python benchmarks/bench_startup.py [--repeat 5] [--src DIR]
     (writes benchmarks/results/startup.json)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "results" / "startup.json"
CLI = "import sys; from hiddenvictims.cli import main; sys.argv = ['hiddenvictims', *sys.argv[1:]]; main()"
COMMANDS = {
    "import hiddenvictims": ["-c", "import hiddenvictims"],
    "import hiddenvictims.cli": ["-c", "import hiddenvictims.cli"],
    "hiddenvictims --help": ["-c", CLI, "--help"],
    "hiddenvictims fit missing.csv": ["-c", CLI, "fit", "missing-file.csv"],
}
TARGET_CPU_S = 0.5


def cpu_of(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, exit code) of one fresh Python process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--src", type=Path, default=None, help="measure this src/ instead")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    env = dict(os.environ)
    if args.src is not None:
        env["PYTHONPATH"] = str(args.src.resolve())
    cpu_of(["-c", "import hiddenvictims.cli"], env)  # warm the file cache and bytecode
    rows = {}
    for name, cmd in COMMANDS.items():
        runs = [cpu_of(cmd, env) for _ in range(args.repeat)]
        cpu = statistics.median(r[0] for r in runs)
        rows[name] = {
            "cpu_s": round(cpu, 3),
            "wall_s": round(statistics.median(r[1] for r in runs), 3),
            "exit_code": runs[0][2],
        }
        print(f"{name:32s} CPU {cpu:6.2f} s   wall {rows[name]['wall_s']:6.2f} s   exit {runs[0][2]}")
    result = {
        "what": "CPU seconds (user + system, median) of a fresh process per command",
        "target_cpu_s": TARGET_CPU_S,
        "repeat": args.repeat,
        "src": str(args.src) if args.src else "installed package",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "commands": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
