"""Speed of the Dutch anonymous-list model (register + chat, year x age): what `make run` pays.

Reports, on the shipped baseline (scenarios/netherlands-chat-only.toml):

* microseconds per log density + gradient, C backend against Numba (one core), and how it grows
  with the number of years (strata = years x 2 age groups; each year adds its own latent-overlap
  sum, the 2020 one a convolution over age groups);
* whole fits, each in this process: the old setting (C backend, 4 x 1,500 draws) and the shipped
  one (Numba, 4 x 3,000 draws): wall time including compilation, sampling time, ESS of N (min of
  bulk and tail over strata), ESS/s, R-hat, divergences, leapfrog steps per draw. Extra seeds of
  the shipped setting show the seed-to-seed spread (``python bench_netherlands.py 1 2``).

Target (ours): tail ESS of N >= 400 with no divergences, `make run` under 5 minutes on 2 cores.
The machine may be shared: the load average before is recorded with the results.

Run: .venv/bin/python benchmarks/bench_netherlands.py [extra seeds...]   (writes results/netherlands.json)
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _results import RESULTS

warnings.filterwarnings("ignore")

import pymc as pm  # noqa: E402

from hiddenvictims.families import anonymous as an  # noqa: E402
from hiddenvictims.studies.netherlands import pipeline as nl  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = RESULTS / "netherlands.json"
CFG = nl.load_config(ROOT / "scenarios" / "netherlands-chat-only.toml")
OLD = CFG.sampler.model_copy(update={"draws": 1500, "compile_mode": "c"})
SHIPPED = CFG.sampler


def gradient_us(years: tuple[int, ...], mode: str, repeats: int = 2000) -> float:
    """Microseconds per log density + gradient at points near the mode (one core)."""
    prepared = an.prepare(nl.dutch_data(years), CFG.model)
    mode_x, hess = an.posterior_mode(prepared.logp_sampled, prepared.sample_dim)
    model, values = an.build_model(prepared, mode_x, an.whitening(hess))
    with model:
        pm.set_data(values)
    f = model.logp_dlogp_function(ravel_inputs=True, mode=mode)
    f.set_extra_values({})
    z = np.random.default_rng(0).normal(0.0, 0.5, (repeats, prepared.sample_dim))
    f(z[0])
    start = time.perf_counter()
    for x in z:
        f(x)
    return (time.perf_counter() - start) / repeats * 1e6


def timed_fit(settings) -> dict:
    data = nl.dutch_data(tuple(CFG.years))
    start = time.perf_counter()
    est = an.fit(data, CFG.model, settings)
    wall = time.perf_counter() - start
    diag = est.diagnostics().set_index("variable").loc[["N"]]
    ess_bulk, ess_tail = float(diag["ess_bulk"].min()), float(diag["ess_tail"].min())
    stats = est.idata.sample_stats
    sampling = float(stats.attrs.get("sampling_time", np.nan))
    return {
        "compile_mode": settings.compile_mode,
        "draws": settings.draws,
        "seed": settings.seed,
        "wall_s": round(wall, 1),
        "sampling_s": round(sampling, 1),
        "ess_N_bulk": round(ess_bulk),
        "ess_N_tail": round(ess_tail),
        "ess_N_per_s": round(min(ess_bulk, ess_tail) / wall, 2),
        "rhat_N": round(float(diag["rhat"].max()), 4),
        "divergences": int(stats["diverging"].sum()),
        "steps_per_draw": round(float(stats["n_steps"].mean()), 1),
        "median_N_dutch_victims": [
            float(v) for v in nl.population_draws(est.posterior)["Dutch victims"]["N"].median(("chain", "draw")).values
        ],
        "meets_target": bool(min(ess_bulk, ess_tail) >= 400 and int(stats["diverging"].sum()) == 0),
    }


def main(extra_seeds: list[int]) -> None:
    load_before = os.getloadavg()
    years = tuple(CFG.years)
    grads = {}
    for n in range(1, len(years) + 1):
        for mode in ("FAST_RUN", "NUMBA"):
            key = f"{n} year(s), {'C' if mode == 'FAST_RUN' else 'Numba'}"
            grads[key] = round(gradient_us(years[:n], mode), 1)
            print(f"log density + gradient, {key}: {grads[key]:.0f} us", flush=True)
    fits = []
    for settings in (OLD, SHIPPED, *[SHIPPED.model_copy(update={"seed": s}) for s in extra_seeds]):
        r = timed_fit(settings)
        fits.append(r)
        print(
            f"{r['compile_mode']:5s} {r['draws']} draws seed {r['seed']}: wall {r['wall_s']} s "
            f"(sampling {r['sampling_s']} s), ESS(N) bulk {r['ess_N_bulk']} tail {r['ess_N_tail']}, "
            f"{r['ess_N_per_s']} ESS/s, R-hat {r['rhat_N']:.3f}, {r['divergences']} divergent, "
            f"{r['steps_per_draw']} steps/draw, target met: {r['meets_target']}",
            flush=True,
        )
    ratio = fits[1]["ess_N_per_s"] / fits[0]["ess_N_per_s"] if fits[0]["ess_N_per_s"] else float("nan")
    print(f"shipped / old ESS(N) per second: {ratio:.1f}x")
    results = {
        "config": "scenarios/netherlands-chat-only.toml",
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "gradient_us": grads,
        "fits": fits,
        "ess_per_s_ratio_shipped_over_old": round(ratio, 2),
    }
    OUT.parent.mkdir(exist_ok=True)
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(OUT)
    print(f"written {OUT}")


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]])
