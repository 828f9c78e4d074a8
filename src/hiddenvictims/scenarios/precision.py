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

import numpy as np
import pandas as pd

from ..core.capture import CaptureDraws
from ..core.constants import INTERVAL_PERCENT, INTERVAL_PROB, interval_quantiles
from ..core.errors import InputError
from ..core.estimate import Estimate
from ..core.spec import SamplerSettings
from .forward import Engine


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
    replicates: int = 10,
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
    for r, d in enumerate(pick):
        n = np.rint(engine.N[d]).astype(np.int64)
        n_true = float(n.sum())
        for variant, p in prob.items():
            counts = np.random.default_rng([seed, 0x5EED, r]).multinomial(
                n, p[d] / p[d].sum(-1, keepdims=True)
            )
            settings = sampler.model_copy(
                update={"seed": int(sampler.seed + r), "progressbar": False}
            )
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


def precision_summary(frame: pd.DataFrame) -> dict:
    """Mean widths with Monte Carlo standard errors, and the scenario/baseline width ratio."""
    out: dict = {"replicates": int(frame["replicate"].nunique()), "interval_prob": INTERVAL_PROB}
    for variant, part in frame.groupby("variant"):
        k = len(part)
        out[variant] = {
            "mean_width": float(part["width"].mean()),
            "mc_se_width": float(part["width"].std(ddof=1) / np.sqrt(k)) if k > 1 else None,
            "mean_relative_width": float(part["relative_width"].mean()),
            "mean_relative_error": float(part["relative_error"].mean()),
            "coverage": float(part["covered"].mean()),
        }
    wide = frame.pivot(index="replicate", columns="variant", values="width")
    ratio = wide["scenario"] / wide["baseline"]
    out["width_ratio"] = {
        "mean": float(ratio.mean()),
        "mc_se": float(ratio.std(ddof=1) / np.sqrt(len(ratio))) if len(ratio) > 1 else None,
    }
    out["warnings"] = precision_warnings(out)
    return out


def precision_warnings(summary: dict) -> list[str]:
    """Plain words when refitted intervals missed the truth: narrowness is then no gain."""
    out = []
    for variant in ("baseline", "scenario"):
        v = summary.get(variant)
        if v and summary["replicates"] >= 5 and v["coverage"] < 0.5:
            out.append(
                f"{variant}: the refitted {INTERVAL_PERCENT}% intervals missed next "
                f"year's true N in {100 * (1 - v['coverage']):.0f}% of replicates (mean relative "
                f"error of the median {100 * v['mean_relative_error']:+.0f}%). The model would be "
                "misled by the capture process under this scenario (e.g. referral makes chat and "
                "register dependent in a way the model does not describe), so its narrower "
                "interval is not a real gain in precision."
            )
    return out
