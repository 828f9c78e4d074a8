"""Speed of the Dutch evidence synthesis' sampler (the main fit of `make run`).

Compares, on the shipped config (scenarios/netherlands-baseline.toml: 8 chains x 5,000 draws
after 1,000 warm-up, target_accept 0.97) and the same seeds, the two ways the vectorised chains
can draw after warm-up:

* ``per-chain``: each chain keeps the step size and mass matrix it adapted on its own (Stan's
  way, and this package's before);
* ``pooled``: the chains pool their mass matrices and tune one step size together (shipped).

Vectorised chains move in lockstep, so a draw costs the longest trajectory among the chains:
per-chain kernels differ in step size and the slowest sets the pace. For each: wall time of the
fit (compiled beforehand), leapfrog steps per draw per chain, effective sample size of N (the
minimum of bulk and tail over Dutch victims and minors, 2019-2021), ESS per second, divergences.

Run: .venv/bin/python benchmarks/bench_synthesis.py [seed ...]   (writes results/synthesis.json)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from _results import RESULTS

from hiddenvictims.inference.jax_nuts import make_sampler
from hiddenvictims.studies.netherlands.synthesis import make_logdensity
from hiddenvictims.studies.netherlands.synthesis_fit import expected_n, prepare
from hiddenvictims.studies.netherlands.synthesis_run import load_config

ROOT = Path(__file__).resolve().parents[1]
OUT = RESULTS / "synthesis.json"
CFG = load_config(ROOT / "scenarios" / "netherlands-baseline.toml")


def min_ess(draws: dict) -> float:
    """Smallest bulk or tail ESS over populations and years of :func:`expected_n`'s draws."""
    import arviz as az

    return min(
        min(float(az.ess(v[..., j], method="bulk")), float(az.ess(v[..., j], method="tail")))
        for v in draws.values()
        for j in range(v.shape[-1])
    )


def main(seeds: list[int]) -> None:
    load_before = os.getloadavg()
    s = CFG.sampler
    prep = prepare(CFG.model, tuple(CFG.years))
    data = prep.data.as_dict()
    rows = []
    for pooled in (False, True):
        run = make_sampler(
            make_logdensity(prep.layout, prep.spec.priors),
            prep.layout.dim,
            chains=s.chains,
            tune=s.tune,
            draws=s.draws,
            target_accept=s.target_accept,
            pooled=pooled,
        )
        start = time.perf_counter()
        run(data, 0)
        compile_and_first = time.perf_counter() - start
        for seed in seeds:
            start = time.perf_counter()
            result = run(data, seed)
            wall = time.perf_counter() - start
            draws = expected_n(prep, result.position, prep.data, tuple(CFG.years))
            ess = min_ess(draws)
            row = {
                "kernel": "pooled" if pooled else "per-chain",
                "seed": seed,
                "wall_s": round(wall, 1),
                "compile_and_first_fit_s": round(compile_and_first, 1),
                "steps_per_draw_by_chain": [round(float(x), 1) for x in result.n_steps.mean(axis=1)],
                "min_ess_N": round(ess),
                "ess_N_per_s": round(ess / wall, 1),
                "divergences": int(result.diverging.sum()),
                "median_N_dutch_victims_2020": float(
                    np.median(draws["Dutch victims"][..., list(CFG.years).index(2020)])
                ),
            }
            rows.append(row)
            print(
                f"{row['kernel']:9s} seed {seed}: wall {row['wall_s']} s, steps/draw by chain "
                f"{row['steps_per_draw_by_chain']}, min ESS(N) {row['min_ess_N']}, {row['ess_N_per_s']} ESS/s, "
                f"{row['divergences']} divergent",
                flush=True,
            )
    mean = {k: np.mean([r["wall_s"] for r in rows if r["kernel"] == k]) for k in ("per-chain", "pooled")}
    ess_s = {k: np.mean([r["ess_N_per_s"] for r in rows if r["kernel"] == k]) for k in ("per-chain", "pooled")}
    print(
        f"pooled / per-chain: wall {mean['pooled'] / mean['per-chain']:.2f}x, "
        f"ESS(N) per second {ess_s['pooled'] / ess_s['per-chain']:.2f}x"
    )
    results = {
        "config": "scenarios/netherlands-baseline.toml",
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "chains": s.chains,
        "tune": s.tune,
        "draws": s.draws,
        "target_accept": s.target_accept,
        "fits": rows,
        "wall_ratio_pooled_over_per_chain": round(mean["pooled"] / mean["per-chain"], 2),
        "ess_per_s_ratio_pooled_over_per_chain": round(ess_s["pooled"] / ess_s["per-chain"], 2),
    }
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(OUT)
    print(f"written {OUT}")


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:]] or [20191231, 7, 3])
