"""Posterior summaries: median, mean, sd and the equal-tailed INTERVAL_PROB interval.

Pure functions of an Estimate (or of draws), so they can be tested on fake posteriors with
known quantiles, without sampling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from .constants import INTERVAL_PROB, interval_quantiles

if TYPE_CHECKING:
    from .estimate import Estimate

SUMMARY_COLUMNS = [
    "quantity",
    "stratum",
    "median",
    "mean",
    "sd",
    "lower",
    "upper",
    "mcse_median",
    "mcse_lower",
    "mcse_upper",
]


def summary_mcse(draws: np.ndarray, prob: float = INTERVAL_PROB) -> dict[str, float]:
    """Monte Carlo standard errors of the median and interval ends of (chain, draw) draws: what
    ``hiddenvictims check`` needs to tell a moved estimate from sampling noise."""
    from .diagnostics import quantile_mcse

    lo, hi = interval_quantiles(prob)
    se = quantile_mcse(np.asarray(draws, dtype=np.float64), (0.5, lo, hi))
    return {"mcse_median": se[0], "mcse_lower": se[1], "mcse_upper": se[2]}


def summarise_draws(draws: np.ndarray, prob: float = INTERVAL_PROB) -> dict[str, float]:
    """Median, mean, sd and equal-tailed interval of a flat array of draws."""
    draws = np.asarray(draws, dtype=np.float64).ravel()
    draws = draws[np.isfinite(draws)]
    lo, hi = interval_quantiles(prob)
    q = np.quantile(draws, [0.5, lo, hi])
    return {
        "median": float(q[0]),
        "mean": float(draws.mean()),
        "sd": float(draws.std(ddof=1)) if draws.size > 1 else 0.0,
        "lower": float(q[1]),
        "upper": float(q[2]),
    }


def pmf_quantile(values: np.ndarray, pmf: np.ndarray, level: float) -> float:
    """Smallest grid value whose cumulative probability reaches ``level`` (dga's convention)."""
    cdf = np.cumsum(pmf) / np.sum(pmf)
    return float(values[np.searchsorted(cdf, level - 1e-12)])


def summarise_pmf(values: np.ndarray, pmf: np.ndarray, prob: float = INTERVAL_PROB) -> dict[str, float]:
    """Exact summary of a discrete posterior given on a grid."""
    values = np.asarray(values, dtype=np.float64)
    pmf = np.asarray(pmf, dtype=np.float64) / np.sum(pmf)
    lo, hi = interval_quantiles(prob)
    mean = float(np.sum(values * pmf))
    return {
        "median": pmf_quantile(values, pmf, 0.5),
        "mean": mean,
        "sd": float(np.sqrt(np.sum((values - mean) ** 2 * pmf))),
        "lower": pmf_quantile(values, pmf, lo),
        "upper": pmf_quantile(values, pmf, hi),
    }


def _stratum_rows(name: str, da: xr.DataArray, label: str | None = None) -> list[dict]:
    extra = [d for d in da.dims if d not in ("chain", "draw")]
    if not extra:
        return [
            {
                "quantity": name,
                "stratum": label or "all",
                **summarise_draws(da.values),
                **summary_mcse(da.transpose("chain", "draw").values),
            }
        ]
    stacked = da.stack(_s=extra)
    rows = []
    for i in range(stacked.sizes["_s"]):
        key = stacked["_s"].values[i]
        key = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                "quantity": name,
                "stratum": "|".join(str(k) for k in key),
                **summarise_draws(stacked.isel(_s=i).values),
                **summary_mcse(stacked.isel(_s=i).transpose("chain", "draw").values),
            }
        )
    return rows


def summarise(estimate: Estimate, prob: float = INTERVAL_PROB) -> pd.DataFrame:
    """One row per (quantity, stratum): N, N_hidden, observed_share (and their totals)."""
    post = estimate.posterior
    rows: list[dict] = []
    names = ["N", "N_hidden", "observed_share"]
    if estimate.table.is_stratified:
        names += ["N_total", "N_hidden_total", "observed_share_total"]
    names += [v for v in estimate.extra_summary_vars if v in post]
    for name in names:
        label = "total" if name.endswith("_total") else None
        rows.extend(_stratum_rows(name.removesuffix("_total"), post[name], label))
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    if estimate.pmf_N is not None and not estimate.table.is_stratified:
        frame = _exact_rows(frame, estimate, prob)
    return frame


def _exact_rows(frame: pd.DataFrame, estimate: Estimate, prob: float) -> pd.DataFrame:
    """Replace the draw-based rows by exact ones where a closed-form pmf of N exists."""
    pmf = estimate.pmf_N
    grid = pmf["N"].values.astype(np.float64)
    n_obs = float(estimate.table.n_observed)
    exact = {
        "N": summarise_pmf(grid, pmf.values, prob),
        "N_hidden": summarise_pmf(grid - n_obs, pmf.values, prob),
    }
    share = summarise_pmf(n_obs / grid[::-1], pmf.values[::-1], prob)
    exact["observed_share"] = share
    for name, stats in exact.items():
        # Exact from the pmf: no Monte Carlo error.
        stats = {**stats, "mcse_median": 0.0, "mcse_lower": 0.0, "mcse_upper": 0.0}
        mask = frame["quantity"] == name
        for key, value in stats.items():
            frame.loc[mask, key] = value
    return frame
