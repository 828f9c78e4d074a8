"""How far apart are repeated runs of the latent-class model, and does the stated Monte Carlo
error say so? UK 2013 six lists, the default settings, many seeds.

Per seed this records the median of N, the Monte Carlo error of the median that the summary
states (``diagnostics.quantile_mcse``: ESS-based unless the chains' own medians spread more),
the ESS-based error alone, the per-chain medians, and R-hat of the third-largest class weight
(a label-free view of the mixture configuration). Across seeds: the sd of the medians (the
real Monte Carlo error of one run's median) against the root-mean-square of the stated
errors; and an F test of whether chains of one run are more alike than chains of different
runs (they share no random numbers, so they should not be). Before the sampler exchanged
class labels (families/latent_class_relabel.py) each chain kept the class order its warm-up
ended in, and this benchmark measured sd 368 against a stated 227 (docs/validation.md).

Run: .venv/bin/python benchmarks/bench_latent_class_seeds.py [number of seeds, default 25]
(writes results/latent_class_seeds.json; about 18 s per seed on 2 cores)
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import arviz as az
import numpy as np
from _results import RESULTS
from bench_latent_class import third_largest_weight
from scipy import stats

warnings.filterwarnings("ignore")

from hiddenvictims.core.io import read_table  # noqa: E402
from hiddenvictims.core.spec import LatentClassSpec, SamplerSettings  # noqa: E402
from hiddenvictims.data import benchmark_path  # noqa: E402
from hiddenvictims.families import fit  # noqa: E402

OUT = RESULTS / "latent_class_seeds.json"


def one_seed(table, seed: int) -> dict:
    start = time.perf_counter()
    est = fit(table, LatentClassSpec(), SamplerSettings(cores=2, seed=seed))
    wall = time.perf_counter() - start
    draws = est.posterior["N"].values.reshape(est.posterior.sizes["chain"], -1)
    row = est.summary().set_index("quantity").loc["N"]
    diag = est.diagnostics().set_index("variable")
    return {
        "seed": seed,
        "wall_s": round(wall, 1),
        "median_N": float(row["median"]),
        "stated_mcse_median": round(float(row["mcse_median"]), 1),
        "ess_based_mcse_median": round(float(az.mcse(draws, method="quantile", prob=0.5)), 1),
        "per_chain_median_N": [float(m) for m in np.median(draws, axis=1)],
        "rhat_N": round(float(diag.loc["N", "rhat"]), 4),
        "rhat_third_largest_weight": round(float(az.rhat(third_largest_weight(est))), 4),
        "divergences": int(est.idata.sample_stats["diverging"].sum()),
        "configuration_note": any("mixes slowly" in n for n in est.notes),
    }


def summarise(rows: list[dict]) -> dict:
    medians = np.array([r["median_N"] for r in rows])
    chains = np.array([r["per_chain_median_N"] for r in rows])
    within = float(chains.var(axis=1, ddof=1).mean())
    between = float(chains.mean(axis=1).var(ddof=1))
    k, m = chains.shape
    f = m * between / within
    rms = {
        key: float(np.sqrt(np.mean([r[key] ** 2 for r in rows])))
        for key in ("stated_mcse_median", "ess_based_mcse_median")
    }
    return {
        "seeds": k,
        "sd_of_seed_medians": round(float(medians.std(ddof=1)), 1),
        "rms_stated_mcse_median": round(rms["stated_mcse_median"], 1),
        "rms_ess_based_mcse_median": round(rms["ess_based_mcse_median"], 1),
        "share_stated_from_chain_spread": round(
            float(np.mean([r["stated_mcse_median"] != r["ess_based_mcse_median"] for r in rows])), 2
        ),
        "sd_of_chain_medians_within_a_run": round(float(np.sqrt(within)), 1),
        "chains_alike_within_runs_F": round(f, 2),
        "chains_alike_within_runs_p": round(float(stats.f.sf(f, k - 1, k * (m - 1))), 4),
        "median_N_pooled": float(np.median(medians)),
        "configuration_notes": int(sum(r["configuration_note"] for r in rows)),
        "rhat_third_largest_weight_range": [
            min(r["rhat_third_largest_weight"] for r in rows),
            max(r["rhat_third_largest_weight"] for r in rows),
        ],
        "all_meet_gate": all(r["rhat_N"] <= 1.01 and r["divergences"] == 0 for r in rows),
    }


def main(n_seeds: int) -> None:
    table = read_table(benchmark_path("uk_2013_6lists"))
    rows = []
    for seed in range(1, n_seeds + 1):
        rows.append(one_seed(table, seed))
        r = rows[-1]
        print(
            f"seed {seed:3d}: {r['wall_s']:5.1f} s  median {r['median_N']:8,.0f}  stated MCSE "
            f"{r['stated_mcse_median']:6.1f} (ESS-based {r['ess_based_mcse_median']:6.1f})  chains "
            f"{[round(c) for c in r['per_chain_median_N']]}",
            flush=True,
        )
    results = {"table": "uk_2013_6lists", "settings": "defaults (4 chains x 1,000 draws, 2 cores)", "by_seed": rows}
    results["summary"] = summarise(rows)
    print(json.dumps(results["summary"], indent=2))
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {OUT}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 25)
