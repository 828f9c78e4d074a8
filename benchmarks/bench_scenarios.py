"""Speed of the scenario engine: forward-simulation cells per second, and sweep scaling.

1. Cells per second (one process, one thread): each cell applies the interventions of the
   demo sweep (chat reach x m, then referral r) to every posterior draw and summarises five
   outcomes (mean, median, 95% interval, sd) for the scenario and its change vs baseline.
   Six lists (64 capture patterns, the Dutch shape), 1,000 and 10,000 posterior draws,
   unstratified and with 4 strata.
2. Sweep scaling: the 400-cell demo grid (20 x 20) at 4,000 draws (4 chains x 1,000, the demo
   default, one stratum) and at 10,000 draws with 4 strata, in this process and on a warm Dask
   LocalCluster with 1 and with 2 workers (processes, 1 thread each; starting a cluster is
   timed separately). All runs must give identical numbers.
3. End to end: `scenario run scenarios/sweep-chat-reach-referral.toml` (fit + 400 cells on
   2 workers + writing results).

The machine's load average is recorded: other work on the same cores slows every figure.

Run: .venv/bin/python benchmarks/bench_scenarios.py  (writes benchmarks/results/scenarios.json)
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _results import RESULTS

warnings.filterwarnings("ignore")

from hiddenvictims.core.testing import dutch_like_capture_draws  # noqa: E402
from hiddenvictims.scenarios.forward import Engine  # noqa: E402
from hiddenvictims.scenarios.sweep import Grid, compute_chunk, dask_client, run_grid  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = RESULTS / "scenarios.json"
STEPS = [
    {"kind": "chat_reach", "multiplier": 1.0},
    {"kind": "referral", "probability": 0.0, "to": "P"},
]
PATHS = ("interventions.0.multiplier", "interventions.1.probability")
STRATA = {"age": ["adult", "minor"], "year": ["2020", "2021"]}
GRID = Grid(("chat_reach", "referral"), PATHS, (np.linspace(1, 3, 20), np.linspace(0, 0.6, 20)))


def cells_per_second(n_draws: int, strata: dict | None, cells: int = 100, repeats: int = 3) -> float:
    engine = Engine.from_draws(dutch_like_capture_draws(n_draws, strata=strata, seed=1))
    baseline = engine.flat(engine.evaluate(None))
    values = GRID.cell_values(np.arange(cells) * 4 % GRID.n_cells)
    compute_chunk(engine, baseline, STEPS, PATHS, values[:5])  # warm up
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        compute_chunk(engine, baseline, STEPS, PATHS, values)
        best = min(best, time.perf_counter() - start)
    return cells / best


def _best(run, repeats: int = 3) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def sweep_timings(n_draws: int, strata: dict | None, repeats: int = 3) -> dict:
    """The 400-cell grid in this process and on warm Dask clusters of 1 and 2 workers (best of
    ``repeats``: other work on the machine only ever adds time)."""
    engine = Engine.from_draws(dutch_like_capture_draws(n_draws, strata=strata, seed=2))
    out: dict = {
        "cells": GRID.n_cells,
        "draws": n_draws,
        "strata": len(engine.stratum_labels),
        "chunk_size": 20,
        "repeats": repeats,
    }
    seconds, (serial, _) = _best(lambda: run_grid(engine, STEPS, GRID, chunk_size=20, workers=0), repeats)
    out["in_process_s"] = round(seconds, 2)
    identical = True
    for workers in (1, 2):
        start = time.perf_counter()
        with dask_client(workers, None) as client:
            out[f"workers_{workers}_cluster_start_s"] = round(time.perf_counter() - start, 2)
            client.run(lambda: __import__("hiddenvictims.scenarios.sweep"))  # warm imports
            seconds, (ds, _) = _best(lambda c=client: run_grid(engine, STEPS, GRID, chunk_size=20, client=c), repeats)
        out[f"workers_{workers}_s"] = round(seconds, 2)
        identical &= bool(ds.identical(serial))
    out["identical_numbers"] = identical
    out["speedup_2_vs_1_workers"] = round(out["workers_1_s"] / out["workers_2_s"], 2)
    return out


def end_to_end() -> dict:
    from hiddenvictims.scenario_runner import run_scenario

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_scenario(ROOT / "scenarios" / "sweep-chat-reach-referral.toml", out=Path(tmp) / "sweep")
        wall = time.perf_counter() - start
        record = json.loads((Path(tmp) / "sweep" / "manifest.json").read_text())["sweep"]
    return {
        "config": "scenarios/sweep-chat-reach-referral.toml",
        "wall_s": round(wall, 1),
        "sweep_s": record["seconds"],
        "where": record["where"],
    }


def main() -> None:
    load = [round(x, 2) for x in os.getloadavg()]
    results: dict = {"cores": os.cpu_count(), "load_average_at_start": load}
    rows = []
    for n_draws in (1000, 10_000):
        for label, strata in (("1 stratum", None), ("4 strata", STRATA)):
            rate = cells_per_second(n_draws, strata, cells=100 if n_draws == 1000 else 40)
            rows.append({"draws": n_draws, "strata": label, "cells_per_s": round(rate, 1)})
            print(f"forward simulation  {n_draws:>6,} draws  {label:9s}  {rate:8.1f} cells/s")
    results["cells_per_second"] = rows
    results["sweeps"] = []
    for n_draws, strata in ((4000, None), (10_000, STRATA)):
        sweep = sweep_timings(n_draws, strata)
        results["sweeps"].append(sweep)
        print(
            f"sweep 400 cells x {n_draws:,} draws x {sweep['strata']} stratum rows: "
            f"in process {sweep['in_process_s']:.1f} s, 1 worker {sweep['workers_1_s']:.1f} s, "
            f"2 workers {sweep['workers_2_s']:.1f} s "
            f"(speed-up {sweep['speedup_2_vs_1_workers']}x; "
            f"cluster start {sweep['workers_2_cluster_start_s']:.1f} s; "
            f"identical: {sweep['identical_numbers']})"
        )
    results["end_to_end_demo_sweep"] = end_to_end()
    print(f"end to end (fit + 400-cell sweep on 2 workers + results): {results['end_to_end_demo_sweep']['wall_s']} s")
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
