"""Speed of exact Bayesian model averaging over decomposable graphs (the ``averaging`` family).

For the UK 2013 tables (4, 5, 6 lists) and the Netherlands 2010-2015 tables (5, 6 lists), on
dga's default grid N = n_obs .. 16 n_obs (step 1): wall time cold (graph enumeration caches
cleared; imports excluded) and warm (best and median of repeats), the size of the problem
(graphs x grid cells) and how many cells the certified pruning actually evaluated. Also: the
MC3 search on 6 lists and a whole ``fit`` (draws, InferenceData) for comparison.
Targets: UK 5 lists under 0.2 s (dga's bma.cr: 1.9 s), 6 lists under 10 s (dga stops at 5).

Run: .venv/bin/python benchmarks/bench_averaging.py   (writes benchmarks/results/averaging.json)
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

from _results import RESULTS

warnings.filterwarnings("ignore")

import pandas as pd  # noqa: E402

from hiddenvictims.core import graphs  # noqa: E402
from hiddenvictims.core.io import read_table  # noqa: E402
from hiddenvictims.core.spec import AveragingSpec, SamplerSettings  # noqa: E402
from hiddenvictims.data import benchmark_path  # noqa: E402
from hiddenvictims.families import fit  # noqa: E402
from hiddenvictims.families.averaging import average_counts  # noqa: E402

OUT = RESULTS / "averaging.json"
#: dga's own timings and results (copied into the repository with their provenance).
DGA = Path(__file__).resolve().parents[1] / "tests" / "data" / "peer_reference" / "dga.csv"
TABLES = (
    "uk_2013_4lists_noGP",
    "uk_2013_5lists",
    "uk_2013_6lists",
    "netherlands_2010_2015_5lists",
    "netherlands_2010_2015_6lists",
)
REPEATS = 5


def clear_caches() -> None:
    cached = (graphs.decomposable_graphs, graphs.pair_masks, graphs.induced_cycle_patterns, graphs.edge_pairs)
    for fn in cached:
        fn.cache_clear()


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    dga = pd.read_csv(DGA).set_index("file")["dga_seconds"].to_dict() if DGA.is_file() else {}
    spec = AveragingSpec()
    results: dict = {
        "grid": "N = n_obs .. 16 n_obs, step 1",
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
        "python": platform.python_version(),
        "enumeration_s": {},
        "tables": [],
    }
    for k in range(3, 7):
        clear_caches()
        wall, gs = timed(lambda k=k: graphs.decomposable_graphs(k))
        results["enumeration_s"][k] = round(wall, 5)
        print(f"enumerate K={k}: {gs.n_graphs:6,d} graphs in {wall * 1000:7.1f} ms")

    print(
        f"{'table':30s} {'K':>2s} {'graphs':>7s} {'grid':>7s} {'cells':>13s} {'evaluated':>9s} "
        f"{'cold s':>7s} {'warm s':>7s} {'median':>7s} {'ns/cell':>7s} {'dga s':>6s}"
    )
    for name in TABLES:
        t = read_table(benchmark_path(name))
        counts = t.flat_counts()[0]
        clear_caches()
        cold, res = timed(lambda t=t, counts=counts: average_counts(t.lists, counts, spec))
        warm = [timed(lambda t=t, counts=counts: average_counts(t.lists, counts, spec))[0] for _ in range(REPEATS)]
        cells = res.n_graphs * res.N.size
        row = {
            "table": name,
            "lists": t.n_lists,
            "n_observed": t.n_observed,
            "graphs": res.n_graphs,
            "grid_points": int(res.N.size),
            "graph_grid_cells": cells,
            "cells_evaluated": res.cells_evaluated,
            "fraction_evaluated": round(res.cells_evaluated / cells, 4),
            "cold_s": round(cold, 4),
            "warm_best_s": round(min(warm), 4),
            "warm_median_s": round(statistics.median(warm), 4),
            "ns_per_graph_grid_cell": round(min(warm) / cells * 1e9, 3),
            "median_N": res.summary()["median"],
            "dga_seconds": dga.get(f"{name}.csv"),
        }
        results["tables"].append(row)
        dga_s = row["dga_seconds"] if row["dga_seconds"] else "-"
        print(
            f"{name:30s} {t.n_lists:2d} {res.n_graphs:7,d} {res.N.size:7,d} {cells:13,d} "
            f"{row['fraction_evaluated']:9.3f} {cold:7.3f} {min(warm):7.3f} "
            f"{statistics.median(warm):7.3f} {row['ns_per_graph_grid_cell']:7.3f} {dga_s:>6}"
        )

    # MC3 on 6 lists (4 chains x 20,000 steps) against the exhaustive answer
    t = read_table(benchmark_path("uk_2013_6lists"))
    mc3_spec = AveragingSpec(search="mc3")
    wall, res = timed(lambda: average_counts(t.lists, t.flat_counts()[0], mc3_spec, seed=1, chains=4))
    results["mc3_uk_2013_6lists"] = {
        "wall_s": round(wall, 3),
        "graphs_scored": res.n_graphs,
        "acceptance": round(res.mc3.acceptance, 4),
        "median_N": res.summary()["median"],
        "top_probability": float(res.probs.max()),
    }
    print(
        f"MC3 uk_2013_6lists, 4 x 20,000 steps: {wall:.2f} s, {res.n_graphs} graphs scored, "
        f"median N {res.summary()['median']:.0f}"
    )

    # A whole fit (exact pmf, 4,000 iid draws, InferenceData, notes), warm
    t = read_table(benchmark_path("uk_2013_5lists"))
    fit(t, spec, SamplerSettings())
    wall, _ = timed(lambda: fit(t, spec, SamplerSettings()))
    results["fit_uk_2013_5lists_warm_s"] = round(wall, 3)
    print(f"fit() uk_2013_5lists warm: {wall:.3f} s")

    results["load_average_at_end"] = os.getloadavg()[0]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
