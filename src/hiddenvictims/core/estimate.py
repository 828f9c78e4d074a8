"""Estimate: the one result object every model family returns.

It holds an ArviZ InferenceData whose ``posterior`` group carries, for every family:

* ``N``               population size, dims (chain, draw, *strata)
* ``N_hidden``        N minus the number observed (the never-listed)
* ``observed_share``  observed / N
* ``N_total`` etc.    the same summed over strata, when the table is stratified

plus family-specific parameters. ``pmf_N`` (optional) is an exact posterior over a grid of N
for families that have one in closed form (model averaging); summaries then use it instead
of draws. The object does no fitting: families build it with :func:`make_estimate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from .table import CaptureTable

POPULATION_VARS = ("N", "N_hidden", "observed_share")


@dataclass(frozen=True)
class Estimate:
    """Posterior of a hidden population from one model fit (see module docstring)."""

    idata: az.InferenceData
    table: CaptureTable
    family: str
    model: dict[str, Any]
    sampler: dict[str, Any]
    seed: int
    notes: tuple[str, ...] = ()
    pmf_N: xr.DataArray | None = None
    extra_summary_vars: tuple[str, ...] = field(default=())
    diagnostic_vars: tuple[str, ...] = field(default=("N",))
    #: Machine-readable caveats for reports and checks (the notes say them in words), e.g.
    #: ``"grid_cut"``: a grid-based posterior of N is cut off by the top of its grid.
    flags: tuple[str, ...] = field(default=())

    @property
    def posterior(self) -> xr.Dataset:
        return self.idata.posterior

    def summary(self) -> pd.DataFrame:
        """Median, mean, sd and the INTERVAL_PROB interval of N, N_hidden, observed share."""
        from .summary import summarise

        return summarise(self)

    def diagnostics(self) -> pd.DataFrame:
        """R-hat, bulk/tail ESS and divergences of N and the key parameters."""
        from .diagnostics import diagnose

        return diagnose(self)

    def warnings(self) -> list[str]:
        """Plain-language convergence warnings (empty when all checks pass)."""
        from . import gate
        from .diagnostics import convergence_warnings

        found = convergence_warnings(self.diagnostics(), self.idata)
        gate.record(str(self.model.get("name", self.family)), found)
        return found

    def save(self, out_dir: str, force: bool = False, config: dict | None = None) -> None:
        """Write idata.nc, summary.csv/json and manifest.json atomically into ``out_dir``."""
        from .results import save_estimate

        save_estimate(self, out_dir, force=force, config=config)


def population_draws(n0: np.ndarray, observed: np.ndarray) -> dict[str, np.ndarray]:
    """N, N_hidden and observed share from draws of the hidden count (chain, draw, *strata)."""
    n0 = np.asarray(n0, dtype=np.float64)
    total = n0 + observed
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, observed / total, np.nan)
    return {"N": total, "N_hidden": n0, "observed_share": share}


def make_estimate(
    *,
    family: str,
    table: CaptureTable,
    hidden: np.ndarray,
    model: dict[str, Any],
    sampler: dict[str, Any],
    seed: int,
    idata: az.InferenceData | None = None,
    notes: tuple[str, ...] | list[str] = (),
    pmf_N: xr.DataArray | None = None,
    extra_summary_vars: tuple[str, ...] = (),
    diagnostic_vars: tuple[str, ...] = ("N",),
    flags: tuple[str, ...] = (),
) -> Estimate:
    """Assemble an Estimate from draws of the hidden count.

    ``hidden`` has shape (chain, draw, *strata sizes) in the table's stratum order. The
    population variables are added to ``idata.posterior`` (created if ``idata`` is None) with
    the table's named stratum dims; stratified tables also get ``*_total`` over all strata.
    """
    strata = table.strata
    hidden = np.asarray(hidden)
    if hidden.ndim != 2 + len(strata):
        raise ValueError(f"hidden draws have shape {hidden.shape}; expected (chain, draw, *strata)")
    chains, draws = hidden.shape[:2]
    coords: dict[str, Any] = {"chain": np.arange(chains), "draw": np.arange(draws)}
    coords.update(table.strata_coords())
    dims = ("chain", "draw", *strata)
    observed = table.observed.transpose(*strata).values if strata else table.observed.values
    data_vars = {
        name: xr.DataArray(values, dims=dims, coords=coords)
        for name, values in population_draws(hidden, observed).items()
    }
    if strata:
        axes = tuple(range(2, 2 + len(strata)))
        totals = population_draws(hidden.sum(axis=axes), float(np.sum(observed)))
        for name, values in totals.items():
            data_vars[f"{name}_total"] = xr.DataArray(
                values, dims=("chain", "draw"), coords={"chain": coords["chain"], "draw": coords["draw"]}
            )
    population = xr.Dataset(data_vars)
    if idata is None:
        idata = az.InferenceData(posterior=population)
    else:
        posterior = idata.posterior.drop_vars([v for v in population.data_vars if v in idata.posterior])
        idata = idata.copy()
        idata.posterior = xr.merge([posterior, population], compat="override", join="override")
    return Estimate(
        idata=idata,
        table=table,
        family=family,
        model=model,
        sampler=sampler,
        seed=seed,
        notes=tuple(notes),
        pmf_N=pmf_N,
        extra_summary_vars=extra_summary_vars,
        diagnostic_vars=diagnostic_vars,
        flags=tuple(flags),
    )
