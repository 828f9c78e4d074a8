"""Convergence diagnostics on the quantities that matter: N first, then key parameters.

A fit passes when every checked variable has R-hat <= RHAT_MAX, bulk and tail ESS >= ESS_MIN
and there are no divergent transitions. Failures become plain-language warnings that the CLI
prints and the summary files carry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .constants import ESS_MIN, RHAT_MAX

if TYPE_CHECKING:
    import arviz as az

    from .estimate import Estimate

DIAG_COLUMNS = ["variable", "element", "rhat", "ess_bulk", "ess_tail"]


def quantile_mcse(draws: np.ndarray, probs: tuple[float, ...]) -> list[float]:
    """Monte Carlo standard errors of quantiles of (chain, draw) draws (ArviZ's ESS-based
    method): how far a reported median or interval end may be from the exact posterior's. NaN
    where a draw is not finite or there is a single chain."""
    if draws.ndim != 2 or draws.shape[0] < 2 or not np.isfinite(draws).all():
        return [float("nan")] * len(probs)
    import arviz as az  # here, not at import: importing ArviZ takes seconds (--dry-run)

    return [float(az.mcse(draws, method="quantile", prob=p)) for p in probs]


def diagnose(estimate: Estimate) -> pd.DataFrame:
    """R-hat and ESS (bulk, tail) for every element of the estimate's diagnostic variables."""
    post = estimate.posterior
    names = [v for v in estimate.diagnostic_vars if v in post]
    if not names:
        return pd.DataFrame(columns=DIAG_COLUMNS)
    ds = post[names]
    import arviz as az

    rhat = az.rhat(ds)
    bulk = az.ess(ds, method="bulk")
    tail = az.ess(ds, method="tail")
    rows = []
    for name in names:
        r = rhat[name].values.ravel()
        b = bulk[name].values.ravel()
        t = tail[name].values.ravel()
        for i in range(r.size):
            rows.append(
                {"variable": name, "element": i, "rhat": float(r[i]), "ess_bulk": float(b[i]), "ess_tail": float(t[i])}
            )
    return pd.DataFrame(rows, columns=DIAG_COLUMNS)


def n_divergent(idata: az.InferenceData) -> int:
    stats = getattr(idata, "sample_stats", None)
    if stats is None or "diverging" not in stats:
        return 0
    return int(np.asarray(stats["diverging"]).sum())


def convergence_warnings(table: pd.DataFrame, idata: az.InferenceData) -> list[str]:
    """Warnings for R-hat > RHAT_MAX, ESS < ESS_MIN (bulk or tail) and divergences."""
    out = []
    if len(table):
        rhat = table["rhat"].max()
        if not np.isfinite(rhat) or rhat > RHAT_MAX:
            worst = table.loc[table["rhat"].fillna(np.inf).idxmax()]
            out.append(
                f"R-hat {rhat:.3f} > {RHAT_MAX} for {worst['variable']}: chains disagree; run longer or check the model"
            )
        ess = table[["ess_bulk", "ess_tail"]].min().min()
        if not np.isfinite(ess) or ess < ESS_MIN:
            out.append(f"effective sample size {ess:.0f} < {ESS_MIN:.0f}: increase draws")
    div = n_divergent(idata)
    if div:
        out.append(f"{div} divergent transitions: the posterior may be biased; raise target_accept")
    return out
