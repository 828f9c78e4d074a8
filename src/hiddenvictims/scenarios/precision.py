"""Monitoring precision: how sharp would next year's estimate be under a scenario?

For each replicate, one posterior draw is taken as next year's truth: its population N and
capture probabilities, changed by the scenario, give the lists one would observe (a
multinomial draw of every capture pattern, per stratum). The same model is refitted to those
lists and the width of its INTERVAL_PROB interval for N recorded. The baseline is refitted on
lists drawn with the same random numbers from the same posterior draws (common random
numbers), so the ratio of widths isolates the scenario.

Each replicate is a full fit, so the number of replicates is small (``[precision]
replicates``, 10 by default) and is stated with every result, with the Monte Carlo standard
error of the mean width. Refits reuse the compiled model: the family's fit goes through
``sampling.sample`` with the same structure key every time (choose ``backend = "nutpie"`` to
compile once per process).

"Next year" assumes the population and the capture process (apart from the intervention) stay
as the posterior describes them; for a table pooled over several years it means "the next
period of the same length".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core import progress
from ..core.capture import CaptureDraws
from ..core.constants import INTERVAL_PERCENT, INTERVAL_PROB, interval_quantiles
from ..core.errors import InputError
from ..core.spec import SamplerSettings
from .forward import Engine

if TYPE_CHECKING:
    from ..core.estimate import Estimate


#: Fewest replicates for which precision statements are printed: with 20, the median width's
#: Monte Carlo error (order statistics) is about a quarter of the widths' interquartile range,
#: and a coverage below 80% is told from 95% (binomial s.e. at most 0.11).
MIN_REPLICATES = 20


def unavailable(family: str) -> str | None:
    """Why monitoring precision cannot be measured for ``family`` (None: it can)."""
    from ..families import FAMILIES

    record = FAMILIES.get(family)
    if record is None or record.refit is None:
        return f"monitoring precision is not available for model family '{family}'"
    return None


def caveats(family: str) -> tuple[str, ...]:
    """What the family's simulated "next year" leaves out (stated with every result)."""
    from ..families import FAMILIES

    record = FAMILIES.get(family)
    return record.precision_caveats if record is not None else ()


def monitoring_precision(
    estimate: Estimate,
    draws: CaptureDraws,
    steps: Sequence = (),
    *,
    replicates: int = MIN_REPLICATES,
    sampler: SamplerSettings | None = None,
    seed: int = 0,
    referral_to: str | None = None,
    source: str = "scenario",
) -> pd.DataFrame:
    """One row per (replicate, variant): true N of the replicate, the refit's interval and width.

    ``variant`` is 'baseline' or 'scenario'; with no ``steps`` only the baseline is refitted.
    """
    reason = unavailable(estimate.family)
    if reason is not None:
        raise InputError(reason)
    from ..families import FAMILIES

    refit = FAMILIES[estimate.family].refit
    sampler = sampler or SamplerSettings(draws=500, tune=500, chains=2)
    engine = Engine.from_draws(draws, referral_to=referral_to)
    prob = {"baseline": engine.prob}
    if steps:
        prob["scenario"] = engine.probabilities(engine.compile(steps, source))
    rng = np.random.default_rng([seed, 0x9EC1])
    n_draws = engine.N.shape[0]
    pick = rng.choice(n_draws, size=min(replicates, n_draws), replace=False)
    lo, hi = interval_quantiles(INTERVAL_PROB)
    rows = []
    replicates_shown = progress.track(enumerate(pick), "monitoring precision", len(pick), "refits")
    for r, d in replicates_shown:
        n = np.rint(engine.N[d]).astype(np.int64)
        n_true = float(n.sum())
        for variant, p in prob.items():
            counts = np.random.default_rng([seed, 0x5EED, r]).multinomial(n, p[d] / p[d].sum(-1, keepdims=True))
            settings = sampler.model_copy(update={"seed": int(sampler.seed + r), "progressbar": False})
            n_draws_refit = refit(estimate, counts, settings)
            q = np.quantile(n_draws_refit, [lo, 0.5, hi])
            rows.append(
                {
                    "replicate": r,
                    "posterior_draw": int(d),
                    "variant": variant,
                    "N_true": n_true,
                    "observed": float(n_true - counts[..., 0].sum()),
                    "lower": q[0],
                    "median": q[1],
                    "upper": q[2],
                    "width": q[2] - q[0],
                    "relative_width": (q[2] - q[0]) / n_true,
                    "relative_error": (q[1] - n_true) / n_true,
                    "covered": bool(q[0] <= n_true <= q[2]),
                }
            )
    frame = pd.DataFrame(rows)
    if "scenario" not in prob:
        frame = pd.concat([frame, frame.assign(variant="scenario")], ignore_index=True)
    return frame


def median_mcse(values: np.ndarray) -> float | None:
    """Monte Carlo standard error of a sample median, from the order statistics that bound a
    95% binomial interval for it (distribution-free: widths are heavy-tailed)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    k = len(x)
    if k < 5:
        return None
    half = 1.96 * np.sqrt(k) / 2
    lo, hi = int(np.floor(k / 2 - half)), int(np.ceil(k / 2 + half))
    lo, hi = max(lo, 0), min(hi, k - 1)
    return float((x[hi] - x[lo]) / (2 * 1.96))


def changes_priors(steps: Sequence) -> bool:
    """Does the scenario change what the refit's priors assume? Referral makes chat and register
    dependent, which a refit with the baseline's priors does not describe."""
    for step in steps:
        if getattr(step, "kind", None) == "referral" and step.probability > 0:
            return True
        if getattr(step, "kind", None) == "combination" and changes_priors(step.steps):
            return True
    return False


def precision_summary(frame: pd.DataFrame, steps: Sequence = ()) -> dict:
    """Median and quartiles of the refits' interval widths, with the Monte Carlo error of the
    median; the scenario/baseline ratio of widths. Questions that cannot be answered honestly
    are dropped with the reason: fewer than MIN_REPLICATES replicates, or a scenario that
    changes what the refit's priors assume (its variant is left out)."""
    k = int(frame["replicate"].nunique())
    out: dict = {"replicates": k, "min_replicates": MIN_REPLICATES, "interval_prob": INTERVAL_PROB, "dropped": []}
    if k < MIN_REPLICATES:
        out["dropped"].append(
            f"all statements: {k} replicates, fewer than the {MIN_REPLICATES} needed for the "
            "median width and the coverage to hold"
        )
        out["warnings"] = []
        return out
    variants = ["baseline", "scenario"]
    if changes_priors(steps):
        variants = ["baseline"]
        out["dropped"].append(
            "scenario: referral makes chat and register dependent beyond what the refit's "
            "priors assume, so the refitted width would not be an analyst's next-year width"
        )
    for variant in variants:
        part = frame[frame["variant"] == variant]
        w = part["width"].to_numpy()
        cov = float(part["covered"].mean())
        out[variant] = {
            "median_width": float(np.median(w)),
            "width_q25": float(np.quantile(w, 0.25)),
            "width_q75": float(np.quantile(w, 0.75)),
            "mc_se_median_width": median_mcse(w),
            "median_relative_width": float(part["relative_width"].median()),
            "median_relative_error": float(part["relative_error"].median()),
            "coverage": cov,
            "coverage_se": float(np.sqrt(max(cov * (1 - cov), 0.25 / len(part)) / len(part))),
        }
    if "scenario" in out:
        wide = frame.pivot(index="replicate", columns="variant", values="width")
        ratio = (wide["scenario"] / wide["baseline"]).to_numpy()
        out["width_ratio"] = {"median": float(np.median(ratio)), "mc_se": median_mcse(ratio)}
    out["warnings"] = precision_warnings(out)
    return out


def precision_warnings(summary: dict) -> list[str]:
    """Plain words when refitted intervals missed the truth: narrowness is then no gain."""
    out = []
    for variant in ("baseline", "scenario"):
        v = summary.get(variant)
        if v and summary["replicates"] >= MIN_REPLICATES and v["coverage"] < 0.8:
            out.append(
                f"{variant}: the refitted {INTERVAL_PERCENT}% intervals missed next "
                f"year's true N in {100 * (1 - v['coverage']):.0f}% of replicates (median "
                f"relative error {100 * v['median_relative_error']:+.0f}%): a narrower interval "
                "from this model would not be a real gain in precision."
            )
    return out


def people_precision_reason(cfg) -> str:
    """Why monitoring precision is not printed for a Dutch scenario (the question is dropped
    rather than answered with a number that would not hold)."""
    from .people_run import has_referral

    if has_referral(cfg.interventions):
        return (
            "monitoring precision is not reported for scenarios with referral: referral makes "
            "chat and register dependent (theta shifts by about +1.6 in simulation) while the "
            "refit keeps the baseline's dependence prior, so its intervals cover the truth "
            "about half the time; which prior an analyst would use instead is not known. "
            "Run with --no-precision"
        )
    return (
        f"monitoring precision needs at least {MIN_REPLICATES} replicates, each two full refits "
        "of the Dutch model (hours on a shared machine); fewer replicates give widths whose "
        "Monte Carlo error is as large as the widths, so the question is dropped rather than "
        "answered. Run with --no-precision"
    )
