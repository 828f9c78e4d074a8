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


#: The chains' own quantiles replace the ESS-based standard error when their spread exceeds it
#: by more than chance allows for chains that mix well: the 95% point of chi-square(m - 1) / (m - 1)
#: for m chains, on the variance scale.
CHAIN_SPREAD_LEVEL = 0.95


def quantile_mcse(draws: np.ndarray, probs: tuple[float, ...]) -> list[float]:
    """Monte Carlo standard errors of quantiles of (chain, draw) draws: how far a reported median
    or interval end may be from the exact posterior's. NaN where a draw is not finite or there is
    a single chain.

    ArviZ's ESS-based error, unless the chains' own quantiles spread more than it allows. Why:
    when chains move between posterior modes (mixture configurations) only every several
    thousand iterations or more, each chain spends its run mostly in one of them; N's
    autocorrelation within a chain is then short and its ESS large, but the chains' medians
    differ, and so would the medians of repeated runs. The spread of the m chains' quantiles,
    sd / sqrt(m), estimates the error of the pooled quantile directly (batch means with chains
    as batches). For chains that mix well its square is the ESS-based variance times
    chi-square(m - 1) / (m - 1), so it is used only when it exceeds that variance by more than
    the 95% point of that ratio (about 5% of well-mixed runs, where it is then an unbiased
    estimate too)."""
    if draws.ndim != 2 or draws.shape[0] < 2 or not np.isfinite(draws).all():
        return [float("nan")] * len(probs)
    import arviz as az  # here, not at import: importing ArviZ takes seconds (--dry-run)
    from scipy import stats

    m = draws.shape[0]
    limit = stats.chi2.ppf(CHAIN_SPREAD_LEVEL, m - 1) / (m - 1)
    out = []
    for p in probs:
        ess_based = float(az.mcse(draws, method="quantile", prob=p))
        between = float(np.std(np.quantile(draws, p, axis=1), ddof=1) / np.sqrt(m))
        out.append(between if between**2 > limit * ess_based**2 else ess_based)
    return out


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
