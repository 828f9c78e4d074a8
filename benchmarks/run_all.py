"""Run every benchmark in turn (`make bench`), each in its own process so that each measures a
cold start honestly; results land in benchmarks/results/. A failing benchmark is reported and
the others still run; the exit code is non-zero if any failed.

Run: .venv/bin/python benchmarks/run_all.py [name ...]   (names without .py; default: all)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: In order of cost; validation_table refits every model on every benchmark table (minutes).
SCRIPTS = [
    "bench_core",
    "bench_averaging",
    "bench_latent_class",
    "bench_scenarios",
    "bench_people",
    "bench_netherlands",
    "anonymous_price",
    "validation_table",
]


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(SCRIPTS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(SCRIPTS)})")
        return 2
    failed = []
    for name in names or SCRIPTS:
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py")], cwd=HERE.parent)
        print(f"== {name}: exit {code} after {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
