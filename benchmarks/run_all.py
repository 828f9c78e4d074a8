"""Run every benchmark in turn (`make bench`), each in its own process so that each measures a
cold start honestly. Results land in results/bench/ (untracked); with --record (`make
bench-record`) in benchmarks/results/, the committed record the docs quote. A failing benchmark
is reported and the others still run; the exit code is non-zero if any failed.

Run: .venv/bin/python benchmarks/run_all.py [--record] [name ...]   (default: all)
"""

from __future__ import annotations

import argparse
import os
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
    "bench_latent_class_seeds",
    "bench_scenarios",
    "bench_people",
    "bench_netherlands",
    "bench_synthesis",
    "anonymous_price",
    "validation_table",
]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run_all.py",
        description="Run the speed and validation benchmarks, each in a fresh process.",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all): {', '.join(SCRIPTS)}"
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the committed record benchmarks/results/ instead of the untracked results/bench/",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(SCRIPTS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(SCRIPTS)})")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    env = {**os.environ, "BENCH_RECORD": "1" if args.record else "0"}
    failed = []
    for name in args.names or SCRIPTS:
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py")], cwd=HERE.parent, env=env)
        print(f"== {name}: exit {code} after {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
