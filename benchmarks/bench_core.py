"""Speed of the core log-linear fit: UK 2013 six lists, all two-way interactions.

Reports wall time and ESS of N per second, cold (first fit in a process: model compilation)
and warm (the same structure again), for PyMC's NUTS and nutpie; then how the warm cost grows
with the number of lists and of strata. Target: a warm fit with ESS(N) >= 1,000 and
R-hat <= 1.01 in under 2 s on 2 cores (conting: 16.7 s; Rcapture's two-way search: 123 s).

Run: .venv/bin/python benchmarks/bench_core.py   (writes benchmarks/results/core.json)
"""

from __future__ import annotations

import json
import os
import time
import warnings

import numpy as np
from _results import RESULTS

warnings.filterwarnings("ignore")

from hiddenvictims.core.io import read_table  # noqa: E402
from hiddenvictims.core.spec import LoglinearSpec, SamplerSettings  # noqa: E402
from hiddenvictims.core.table import make_table  # noqa: E402
from hiddenvictims.data import benchmark_path  # noqa: E402
from hiddenvictims.families import fit  # noqa: E402

OUT = RESULTS / "core.json"
TWO_WAY = LoglinearSpec(interactions=["all-two-way"])


def timed_fit(table, spec, settings) -> dict:
    start = time.perf_counter()
    est = fit(table, spec, settings)
    wall = time.perf_counter() - start
    diag = est.diagnostics()
    diag = diag[diag["variable"] == "N"]
    ess = float(min(diag["ess_bulk"].min(), diag["ess_tail"].min()))
    rows = est.summary()
    rows = rows[rows["quantity"] == "N"]
    med = float(rows["median"].iloc[-1])  # the total when stratified
    return {
        "wall_s": round(wall, 3),
        "ess_N": round(ess),
        "ess_N_per_s": round(ess / wall, 1),
        "rhat_N": round(float(diag["rhat"].max()), 4),
        "median_N": med,
    }


def main() -> None:
    uk6 = read_table(benchmark_path("uk_2013_6lists"))
    results: dict = {"table": "uk_2013_6lists", "model": "all two-way", "cores": os.cpu_count()}
    for backend in ("pymc", "nutpie"):
        settings = SamplerSettings(chains=2, draws=1000, tune=1000, seed=1, backend=backend)
        cold = timed_fit(uk6, TWO_WAY, settings)
        warm = [timed_fit(uk6, TWO_WAY, settings.model_copy(update={"seed": s})) for s in (2, 3, 4)]
        best = min(warm, key=lambda r: r["wall_s"])
        median_wall = float(np.median([w["wall_s"] for w in warm]))
        results[backend] = {"cold": cold, "warm": warm, "warm_median_wall_s": median_wall}
        print(
            f"{backend:7s} cold {cold['wall_s']:6.2f} s   warm {best['wall_s']:5.2f} s   "
            f"ESS(N) {best['ess_N']}   ESS(N)/s {best['ess_N_per_s']:8.0f}   R-hat {best['rhat_N']}"
        )

    # Growth with the number of lists (warm, nutpie, all two-way, UK tables).
    growth = []
    for name in ("uk_2013_4lists_noGP", "uk_2013_5lists", "uk_2013_6lists"):
        t = read_table(benchmark_path(name))
        s = SamplerSettings(chains=2, draws=1000, tune=1000, seed=1, backend="nutpie")
        timed_fit(t, TWO_WAY, s)
        r = timed_fit(t, TWO_WAY, s.model_copy(update={"seed": 2}))
        growth.append({"lists": t.n_lists, **r})
        print(f"lists {t.n_lists}: warm {r['wall_s']:.2f} s, ESS(N)/s {r['ess_N_per_s']:.0f}")
    results["by_lists"] = growth

    # Growth with the number of strata: the UK 6-list table replicated S times (one joint model).
    strata = []
    base = uk6.flat_counts()[0]
    for n_strata in (1, 2, 4, 8):
        t = make_table(uk6.lists, np.tile(base, (n_strata, 1)), strata={"stratum_id": list(range(n_strata))})
        s = SamplerSettings(chains=2, draws=1000, tune=1000, seed=1, backend="nutpie")
        timed_fit(t, TWO_WAY, s)
        r = timed_fit(t, TWO_WAY, s.model_copy(update={"seed": 2}))
        strata.append({"strata": n_strata, **r})
        print(f"strata {n_strata}: warm {r['wall_s']:.2f} s, ESS(N)/s {r['ess_N_per_s']:.0f}")
    results["by_strata"] = strata

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
