"""Speed of the forward model of people (Dutch scenarios): cells per second and Dask scaling.

1. Cells per second at 1,000 posterior draws, one process: each cell moves every draw and
   stratum through chat findability x m and referral r and summarises the four outcomes and
   their changes (median, 95% interval, mean, P(improvement)) for every report row. Layouts:
   one stratum (the layout of the old engine's 960 cells/s figure), year x age (6 strata, 10
   report rows), year x age x group (12 strata). Wall-clock and CPU time are both recorded:
   on a shared machine CPU time is what the code costs, wall time what the load adds. The old
   pattern engine is measured in the same run, one stratum, for a like-for-like comparison.
2. Dask: a 4,000-cell grid (year x age, 1,000 draws) on warm LocalClusters of 1 and 2
   workers (processes, 1 thread), the posterior shipped once per worker, a few large chunks per
   worker; best of 3 (other work only ever adds time); numbers identical to the in-process run.

Run: .venv/bin/python benchmarks/bench_people.py  (writes benchmarks/results/people.json)
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")

from hiddenvictims.core.testing import fake_dutch_posterior  # noqa: E402
from hiddenvictims.scenarios import people as pp  # noqa: E402
from hiddenvictims.scenarios import people_engine as pe  # noqa: E402
from hiddenvictims.scenarios.people_sweep import run_cells  # noqa: E402
from hiddenvictims.scenarios.sweep import dask_client  # noqa: E402

OUT = Path(__file__).parent / "results" / "people.json"


def grid_params(people: pp.PeopleDraws, n_cells: int) -> tuple[np.ndarray, ...]:
    """A chat x referral grid in C order (referral fastest), like a sweep."""
    m = int(np.prod(people.shape))
    n_ref = 20
    chat, ref = np.meshgrid(np.linspace(1, 3, n_cells // n_ref), np.linspace(0, 0.6, n_ref), indexing="ij")
    return (np.repeat(chat.reshape(-1, 1), m, 1), np.ones((n_cells, m)), np.repeat(ref.reshape(-1, 1), m, 1))


def layouts() -> dict[str, pp.PeopleDraws]:
    full = pp.from_posterior(fake_dutch_posterior(1000, seed=1))
    one = pp.PeopleDraws(full.cells[:, :, :1, :1], {"year": ("2019",), "age": ("minor",)})
    s = np.full(full.n_draws, 0.15)
    grouped = pp.split_groups(full, "parents", s, s * 1.3)
    return {"1 stratum": one, "year x age (6 strata)": full, "year x age x group (12 strata)": grouped}


def cells_per_second(people: pp.PeopleDraws, n_cells: int = 2000, repeats: int = 3) -> dict:
    params = grid_params(people, n_cells)
    prepared = pe.prepare_sweep(people, 0.0)
    pe.sweep_stats_compiled(people, *(p[:2] for p in params), 0.0, prepared=prepared)  # compile
    wall = cpu = np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        pe.sweep_stats_compiled(people, *params, 0.0, prepared=prepared)
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return {
        "cells": n_cells,
        "draws": people.n_draws,
        "report_rows": len(pe.row_labels(people.strata)),
        "cells_per_s_wall": round(n_cells / wall),
        "cells_per_s_cpu": round(n_cells / cpu),
    }


def old_engine_cells_per_second(cells: int = 100, repeats: int = 3) -> dict:
    """The pattern engine (log-linear configs), as benchmarks/bench_scenarios.py measures it."""
    from hiddenvictims.core.testing import dutch_like_capture_draws
    from hiddenvictims.scenarios.forward import Engine
    from hiddenvictims.scenarios.sweep import Grid, compute_chunk

    steps = [{"kind": "chat_reach", "multiplier": 1.0}, {"kind": "referral", "probability": 0.0, "to": "P"}]
    paths = ("interventions.0.multiplier", "interventions.1.probability")
    grid = Grid(("c", "r"), paths, (np.linspace(1, 3, 20), np.linspace(0, 0.6, 20)))
    engine = Engine.from_draws(dutch_like_capture_draws(1000, seed=1))
    baseline = engine.flat(engine.evaluate(None))
    values = grid.cell_values(np.arange(cells) * 4 % grid.n_cells)
    compute_chunk(engine, baseline, steps, paths, values[:5])
    wall = cpu = np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        compute_chunk(engine, baseline, steps, paths, values)
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return {
        "cells": cells,
        "draws": 1000,
        "cells_per_s_wall": round(cells / wall),
        "cells_per_s_cpu": round(cells / cpu),
    }


def dask_scaling(people: pp.PeopleDraws, n_cells: int = 4000, repeats: int = 3) -> dict:
    params = grid_params(people, n_cells)
    serial, _ = run_cells(people, params, 0.0, workers=0)
    out: dict = {"cells": n_cells, "draws": people.n_draws, "strata": int(np.prod(people.shape)), "repeats": repeats}
    t0 = time.perf_counter()
    run_cells(people, params, 0.0, workers=0)
    out["in_process_s"] = round(time.perf_counter() - t0, 2)
    identical = True
    for workers in (1, 2):
        with dask_client(workers, None) as client:
            client.run(lambda: __import__("hiddenvictims.scenarios.people_kernel"))
            run_cells(people, tuple(p[:40] for p in params), 0.0, client=client)  # warm, compile
            best, busiest, total = np.inf, np.inf, np.inf
            for _ in range(repeats):
                t0 = time.perf_counter()
                stats, rec = run_cells(people, params, 0.0, client=client)
                best = min(best, time.perf_counter() - t0)
                busiest = min(busiest, max(rec["worker_cpu_s"]))
                total = min(total, sum(rec["worker_cpu_s"]))
                identical &= bool(np.array_equal(stats, serial, equal_nan=True))
        out[f"workers_{workers}_s"] = round(best, 2)
        out[f"workers_{workers}_chunks"] = rec["chunks"]
        out[f"workers_{workers}_busiest_worker_cpu_s"] = round(busiest, 2)
        out[f"workers_{workers}_total_cpu_s"] = round(total, 2)
    out["identical_numbers"] = identical
    out["speedup_2_vs_1_workers"] = round(out["workers_1_s"] / out["workers_2_s"], 2)
    # the speed-up two idle cores would give: one worker's CPU time over the busier of two
    # (the work's split and each task's own cost; shipping and scheduling are in the wall time)
    out["speedup_2_vs_1_workers_cpu"] = round(out["workers_1_total_cpu_s"] / out["workers_2_busiest_worker_cpu_s"], 2)
    return out


def main() -> None:
    import sys

    if sys.argv[1:] == ["dask"]:
        old = json.loads(OUT.read_text()) if OUT.exists() else {}
        old["load_average_dask"] = [round(x, 2) for x in os.getloadavg()]
        old["dask"] = dask_scaling(layouts()["year x age (6 strata)"])
        OUT.write_text(json.dumps(old, indent=2) + "\n")
        print(old["dask"])
        return
    results: dict = {"cores": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    results["old_pattern_engine_1_stratum"] = old_engine_cells_per_second()
    print("old pattern engine, 1 stratum, 1,000 draws:", results["old_pattern_engine_1_stratum"])
    rows = []
    for label, people in layouts().items():
        rec = {"layout": label, **cells_per_second(people)}
        rows.append(rec)
        print(
            f"people model {label:32s} {rec['cells_per_s_wall']:>7,} cells/s wall, "
            f"{rec['cells_per_s_cpu']:>7,} per CPU second ({rec['report_rows']} report rows)"
        )
    results["people_cells_per_second"] = rows
    results["dask"] = dask_scaling(layouts()["year x age (6 strata)"])
    d = results["dask"]
    print(
        f"dask {d['cells']} cells: in process {d['in_process_s']} s, 1 worker "
        f"{d['workers_1_s']} s, 2 workers {d['workers_2_s']} s: wall speed-up "
        f"{d['speedup_2_vs_1_workers']}x; CPU: one worker {d['workers_1_total_cpu_s']} s, "
        f"busier of two {d['workers_2_busiest_worker_cpu_s']} s: "
        f"{d['speedup_2_vs_1_workers_cpu']}x (identical: {d['identical_numbers']})"
    )
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
