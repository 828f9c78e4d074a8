"""Speed and stability of the latent-class model (LCMCR's model) on the UK 2013 six-list table.

Reports, for K = 10 classes and LCMCR's priors, with the default sampler (parallel tempering,
10 temperatures, beta down to 0.03) and, for contrast, NUTS (nutpie): wall time, ESS of N per
second, R-hat of N and p0, the median and 95% interval of N and the per-chain medians (they
show whether chains settled in different mixture configurations), for several seeds. The
first fit in the process is reported separately (numba kernel loaded from its cache, or
compiled). Then how the cost grows with the number of lists (UK 4, 5, 6 lists): wall time of
a fit and microseconds per evaluation of the log density and gradient of one parameter vector
(the unit cost of the sampler, independent of how well the chains mix).

Settings: the defaults a user gets (4 chains x 1,000 draws after 1,000 warm-up, target_accept
0.9, 2 cores). Gate: no divergent transition and R-hat of N and p0 <= 1.01 on each of five seeds,
the seeds' medians agreeing within Monte Carlo error. Peer: LCMCR 0.4.14 (Gibbs sampler, same
model and priors, K = 10; ESS of N from its trace with coda::effectiveSize): compare ESS of N per
second. When Rscript can load LCMCR and coda (``R_LIBS_USER``), each seed's LCMCR run
(``peers/lcmcr_ess.R``, 100,000 burn-in, 100,000 iterations kept every 10th) is made just
before ours, so both see the same machine: its speed drifts by up to 1.5x over an hour here,
which would swamp a ratio measured at different times. Otherwise the recorded LCMCR figures
below are used.

The machine may be shared: the load average before and after is recorded with the results.

Run: .venv/bin/python benchmarks/bench_latent_class.py [seeds...]   (writes results/latent_class.json;
BENCH_QUICK=1 runs only the tempering seeds)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import arviz as az
import numpy as np
from _results import RESULTS

warnings.filterwarnings("ignore")

from hiddenvictims.core.diagnostics import quantile_mcse  # noqa: E402
from hiddenvictims.core.io import read_table  # noqa: E402
from hiddenvictims.core.spec import LatentClassSpec, SamplerSettings  # noqa: E402
from hiddenvictims.data import benchmark_path  # noqa: E402
from hiddenvictims.families import fit  # noqa: E402
from hiddenvictims.families.latent_class import model_data, ranked_weights  # noqa: E402
from hiddenvictims.families.latent_class_kernel import LatentClassDensity  # noqa: E402

OUT = RESULTS / "latent_class.json"
SPEC = LatentClassSpec()
SETTINGS = SamplerSettings(cores=2, seed=1)
NUTS = (
    SPEC.model_copy(update={"sampler": "nuts", "target_accept": 0.99}),
    SamplerSettings(chains=4, cores=2, draws=1500, tune=1000, seed=1, backend="nutpie"),
)
#: LCMCR 0.4.14 on this machine (R 4.2.2, one thread), K = 10, a = b = 0.25: lcmCR_PostSampl with
#: 100,000 burn-in and 100,000 iterations kept every 10th; seconds of the sampling call
#: (burn-in included); ESS of N by coda::effectiveSize. With LCMCR's default 10,000 burn-in,
#: seeds 1 and 4 had not reached the posterior (their traces start near N = 12,000).
LCMCR = {
    "version": "LCMCR 0.4.14, R 4.2.2",
    "settings": "K = 10, a_alpha = b_alpha = 0.25, burn-in 100,000, 100,000 iterations, thin 10",
    "by_seed": {
        "1": {"seconds": 3.78, "median": 21045, "interval": [14929, 31187], "ess_N": 344, "ess_N_per_s": 91.0},
        "2": {"seconds": 3.60, "median": 23014, "interval": [17057, 34923], "ess_N": 328, "ess_N_per_s": 91.0},
        "3": {"seconds": 3.58, "median": 22870, "interval": [17057, 33409], "ess_N": 374, "ess_N_per_s": 104.6},
        "4": {"seconds": 3.79, "median": 22393, "interval": [16465, 33756], "ess_N": 357, "ess_N_per_s": 94.2},
        "5": {"seconds": 3.53, "median": 22737, "interval": [16602, 34677], "ess_N": 387, "ess_N_per_s": 109.5},
    },
    "default_burn_in_10000": {
        "ess_N": {"1": 68, "2": 408, "3": 313, "4": 89, "5": 369},
        "median": {"1": 20100, "2": 22604, "3": 22590, "4": 21756, "5": 22984},
    },
}


PEER_SCRIPT = Path(__file__).resolve().parent / "peers" / "lcmcr_ess.R"


def lcmcr_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "library(LCMCR); library(coda)"], capture_output=True)
    return probe.returncode == 0


def lcmcr_run(seed: int) -> dict:
    """One LCMCR run on UK 2013 six lists, timed by R around the sampling call."""
    out = subprocess.run(
        ["Rscript", str(PEER_SCRIPT), str(benchmark_path("uk_2013_6lists")), f"seed={seed}", "K=10"]
        + ["burnin=100000", "iters=100000", "thin=10"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    version = next(line for line in out.splitlines() if line.startswith("LCMCR"))
    f = next(line for line in out.splitlines() if line.startswith("RESULT")).split("\t")
    seconds, ess = float(f[10]), float(f[15])
    return {
        "version": version.split("|")[0].strip(),
        "seconds": seconds,
        "median": float(f[11]),
        "ess_N": round(ess),
        "ess_N_per_s": round(ess / seconds, 1),
    }


def third_largest_weight(est) -> np.ndarray:
    """(chain, draw) draws of the third-largest class weight: a label-free view of the mixture
    configuration (see latent_class.configuration_note)."""
    weights = est.idata.posterior["class_weight"].isel(stratum=0).transpose("chain", "draw", ...).values
    return ranked_weights(weights)[..., 2]


def timed_fit(table, settings: SamplerSettings, spec: LatentClassSpec = SPEC) -> dict:
    start = time.perf_counter()
    est = fit(table, spec, settings)
    wall = time.perf_counter() - start
    diag = est.diagnostics().set_index("variable")
    ess = float(min(diag.loc["N", "ess_bulk"], diag.loc["N", "ess_tail"]))
    row = est.summary().set_index("quantity").loc["N"]
    n_draws = est.posterior["N"].values
    stats = est.idata.sample_stats
    third = third_largest_weight(est)
    return {
        "seed": settings.seed,
        "wall_s": round(wall, 2),
        "ess_N": round(ess),
        "ess_N_per_s": round(ess / wall, 1),
        "rhat_N": round(float(diag.loc["N", "rhat"]), 4),
        "rhat_p0": round(float(diag.loc["p0", "rhat"]), 4),
        # label-free view of the mixture configuration (see latent_class.configuration_note)
        "rhat_third_largest_weight": round(float(az.rhat(third)), 4),
        "ess_third_largest_weight": round(float(az.ess(third))),
        "configuration_note": any("mixes slowly" in n for n in est.notes),
        "median_N": float(row["median"]),
        "interval_N": [float(row["lower"]), float(row["upper"])],
        "per_chain_median_N": [float(m) for m in np.median(n_draws, axis=1)],
        "divergences": int(stats["diverging"].sum()),
        "first_attempt_divergences": int(stats["diverging_first"].sum()) if "diverging_first" in stats else None,
        "retries_accepted": int(stats["retry_accepted"].sum()) if "retry_accepted" in stats else None,
        "mean_steps_per_draw": round(float(stats["n_steps"].mean()), 1),
        "swap_rate": [round(x, 2) for x in stats.attrs.get("swap_rate", [])],
        "mcse_median_N": round(float(quantile_mcse(n_draws.reshape(n_draws.shape[0], -1), (0.5,))[0]), 1),
        "meets_target": bool(diag["rhat"].max() <= 1.01 and int(stats["diverging"].sum()) == 0),
        "_draws": n_draws,
    }


def seed_agreement(medians: list[float], mcse: list[float]) -> dict:
    """Do the seeds' medians agree within their stated Monte Carlo errors? Sum of squared
    deviations from their mean in units of the root-mean-square stated error, against
    chi-square with (seeds - 1) degrees of freedom (p-value; small means the stated errors are
    too small for the spread actually seen)."""
    from scipy import stats

    if len(medians) < 2:
        return {}
    m = np.asarray(medians)
    scale2 = float(np.mean(np.square(mcse)))
    statistic = float(np.sum((m - m.mean()) ** 2) / scale2)
    return {
        "seed_agreement_chi2": round(statistic, 2),
        "seed_agreement_df": len(m) - 1,
        "seed_agreement_p": round(float(stats.chi2.sf(statistic, len(m) - 1)), 4),
    }


def public(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def kernel_us(table, repeats: int = 300, batch: int = 40) -> float:
    """Microseconds per log density + gradient of one parameter vector (one core)."""
    (data,) = model_data(table, SPEC)
    dens = LatentClassDensity(
        table.n_lists,
        SPEC.n_classes,
        data["counts"],
        data["active"],
        SPEC.alpha_shape,
        SPEC.alpha_rate,
        SPEC.capture_a,
        SPEC.capture_b,
    )
    x = dens.initial_points(np.random.default_rng(0), batch)
    beta = np.ones(batch)
    dens(x, beta)
    start = time.perf_counter()
    for _ in range(repeats):
        dens(x, beta)
    return (time.perf_counter() - start) / (repeats * batch) * 1e6


def report(label: str, r: dict, peer: dict | None = None) -> None:
    peer = peer or LCMCR["by_seed"].get(str(r["seed"]))
    print(
        f"{label} seed {r['seed']}: {r['wall_s']:5.1f} s  ESS(N) {r['ess_N']:5d}  "
        f"ESS/s {r['ess_N_per_s']:6.1f}  R-hat N {r['rhat_N']:.3f} p0 {r['rhat_p0']:.3f} "
        f"3rd weight {r['rhat_third_largest_weight']:.3f}  "
        f"median {r['median_N']:,.0f} ({r['interval_N'][0]:,.0f}-{r['interval_N'][1]:,.0f})  "
        f"chains {[round(m) for m in r['per_chain_median_N']]}  divergences {r['divergences']} "
        f"(first attempts {r['first_attempt_divergences']}, retries accepted {r['retries_accepted']})  "
        f"gate met: {r['meets_target']}" + (f"  LCMCR ESS/s {peer['ess_N_per_s']}" if peer else "")
    )


def main(seeds: list[int]) -> None:
    load_before = os.getloadavg()
    uk6 = read_table(benchmark_path("uk_2013_6lists"))
    live = lcmcr_available()
    peers: dict[str, dict] = {}
    runs = []
    for k, seed in enumerate(seeds):
        if live:
            peers[str(seed)] = lcmcr_run(seed)
        runs.append(timed_fit(uk6, SETTINGS.model_copy(update={"seed": seed})))
        report("first fit in process" if k == 0 else "tempering", runs[-1], peers.get(str(seed)))
    peer_by_seed = peers if live else LCMCR["by_seed"]
    quick = os.environ.get("BENCH_QUICK") == "1"  # tempering seeds only
    nuts = None if quick else timed_fit(uk6, NUTS[1], NUTS[0])
    if nuts:
        report("NUTS (nutpie, incl. compile)", nuts)
    pooled = np.concatenate([r["_draws"].ravel() for r in runs])
    results: dict = {
        "table": "uk_2013_6lists",
        "model": "latent classes, K = 10, alpha ~ Gamma(0.25, 0.25), Beta(1, 1) capture",
        "settings": SETTINGS.model_dump(mode="json"),
        "spec": SPEC.model_dump(mode="json"),
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "tempering": [public(r) for r in runs],
        "seeds_meeting_target": sum(r["meets_target"] for r in runs),
        "median_N_by_seed": {str(r["seed"]): r["median_N"] for r in runs},
        "median_N_pooled_over_seeds": float(np.median(pooled)),
        # do the seeds agree? spread of the medians against each seed's Monte Carlo error
        "sd_of_seed_medians": round(float(np.std([r["median_N"] for r in runs], ddof=1)), 1) if len(runs) > 1 else None,
        "mean_mcse_median_N": round(float(np.mean([r["mcse_median_N"] for r in runs])), 1),
        "rms_mcse_median_N": round(float(np.sqrt(np.mean([r["mcse_median_N"] ** 2 for r in runs]))), 1),
        **seed_agreement([r["median_N"] for r in runs], [r["mcse_median_N"] for r in runs]),
        "ess_per_s_ratio_to_lcmcr": {
            str(r["seed"]): round(r["ess_N_per_s"] / peer_by_seed[str(r["seed"])]["ess_N_per_s"], 2)
            for r in runs
            if str(r["seed"]) in peer_by_seed
        },
        "lcmcr_side_by_side": peers or None,  # run just before each of our fits (same machine state)
        "sd_of_lcmcr_seed_medians": round(float(np.std([p["median"] for p in peer_by_seed.values()], ddof=1)), 1),
        "nuts_nutpie": public(nuts) if nuts else None,
        "lcmcr": LCMCR,
    }

    # Cost growth with the number of lists (UK tables with 4, 5, 6 lists).
    growth = []
    for name in () if quick else ("uk_2013_4lists_noGP", "uk_2013_5lists", "uk_2013_6lists"):
        table = read_table(benchmark_path(name))
        r = public(timed_fit(table, SETTINGS.model_copy(update={"seed": seeds[0]})))
        us = round(kernel_us(table), 2)
        growth.append(
            {
                "table": name,
                "lists": table.n_lists,
                "patterns": 2**table.n_lists - 1,
                "us_per_density_gradient": us,
                **r,
            }
        )
        print(
            f"lists {table.n_lists}: {r['wall_s']:.1f} s, {us} us per density+gradient, "
            f"ESS(N)/s {r['ess_N_per_s']}, R-hat {r['rhat_N']}, median {r['median_N']:,.0f}"
        )
    results["by_lists"] = growth
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {OUT}")


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [1, 2, 3, 4, 5])
