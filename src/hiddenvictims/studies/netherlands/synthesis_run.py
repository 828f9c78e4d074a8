"""``kind = "netherlands-synthesis"``: the Dutch default run from all the public evidence.

One compiled sampler serves every fit: the main fit, one fit per evidence group left out (what
each source contributes, and the data for its conflict check), and the variants in which the
Rapporteur's estimates are wrong by a factor (``sensitivity.estimate_factors``).
:func:`fit_synthesis` computes everything and returns it; writing the results folder (atomically,
with a manifest) and printing are the report layer's (:mod:`hiddenvictims.report.synthesis`),
called by :func:`hiddenvictims.runner.run_synthesis`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ...core import config
from ...core.config import Strict
from .synthesis import ModelData, SynthesisSpec
from .synthesis_baseline import main_fit
from .synthesis_fit import (
    Prepared,
    compile_fit,
    conflict_rows,
    expected_n,
    interval_rows,
    prepare,
    variant_data,
)

if TYPE_CHECKING:
    import xarray as xr

    from ...inference.jax_nuts import NutsResult

YEAR = "year"
ESTIMATE_GROUPS_PREFIX = "rapporteur"


class SynthesisSampler(Strict):
    seed: int = Field(20191231, ge=0, lt=2**32)
    chains: int = Field(4, ge=2, le=16)
    tune: int = Field(1000, ge=100, le=100_000)
    draws: int = Field(2500, ge=100, le=1_000_000)
    check_draws: int = Field(1000, ge=100, le=1_000_000, description="draws per chain of each check fit")
    check_burn: int = Field(200, ge=50, le=100_000, description="burn-in of each check fit (kernel reused)")
    target_accept: float = Field(0.9, gt=0.5, lt=1.0)


class SynthesisChecks(Strict):
    leave_one_out: bool = True
    estimate_factors: list[float] = Field(default_factory=lambda: [0.5, 2.0])
    conflict_alpha: float = Field(0.05, gt=0, lt=1)


class OutputDir(Strict):
    dir: str = "results/netherlands-baseline"


class SynthesisConfig(Strict):
    """``kind = "netherlands-synthesis"`` run config (scenarios/netherlands-baseline.toml)."""

    kind: Literal["netherlands-synthesis"]
    name: str
    title_nl: str | None = Field(None, description="the Dutch report's title (default: name)")
    description: str = ""
    years: list[int] = Field(default_factory=lambda: [2019, 2020, 2021], min_length=1)
    model: SynthesisSpec = Field(default_factory=SynthesisSpec)
    checks: SynthesisChecks = Field(default_factory=SynthesisChecks)
    sampler: SynthesisSampler = Field(default_factory=SynthesisSampler)
    output: OutputDir = Field(default_factory=OutputDir)


def load_config(path: str | Path) -> SynthesisConfig:
    return config.load(SynthesisConfig, path)


# ------------------------------------------------------------------------------ steps
def check_variants(prep: Prepared, cfg: SynthesisConfig) -> list[tuple[str, str, ModelData]]:
    """(label, group left out, data) of every check fit: each evidence group left out in turn,
    all published estimates left out, and the published estimates scaled by each factor."""
    active = [g for g in prep.groups if g not in prep.spec.leave_out]
    estimates = [g for g in active if g.startswith(ESTIMATE_GROUPS_PREFIX)]
    out = []
    if cfg.checks.leave_one_out:
        out += [(f"without {g}", g, variant_data(prep, leave_out=(g,))) for g in active]
        if len(estimates) > 1:
            out.append(
                ("without published estimates", "+".join(estimates), variant_data(prep, leave_out=tuple(estimates)))
            )
    out += [
        (f"published estimates x {f:g}", "", variant_data(prep, scale={g: f for g in estimates}))
        for f in cfg.checks.estimate_factors
    ]
    return out


def contribution_and_conflicts(prep: Prepared, run, cfg: SynthesisConfig, report_years, start: dict, progress=None):
    """The check fits, one after the other on one compiled sampler (fitting them side by side
    in one vectorised program was slower: every NUTS step waits for the longest trajectory of
    all chains): contributions (N with each source left out, and the factor variants) and the
    cross-validation conflict check of each source. Each check fit starts from the main fit's
    adapted kernel (``start``): the variants' posteriors are close relatives of the main one, so
    a short burn-in replaces a full adaptation."""
    variants = check_variants(prep, cfg)
    rows, conflicts = [], []
    for k, (label, group, data) in enumerate(variants):
        result = run(data, cfg.sampler.seed + 1 + k, start=start)
        rows += interval_rows(
            expected_n(prep, result.position, data, report_years),
            report_years,
            variant=label,
            left_out=group,
            divergent=int(result.diverging.sum()),
        )
        if label == f"without {group}":
            conflicts += conflict_rows(prep, group, result.position, data, cfg.sampler.seed + 101 + k)
        if progress is not None:
            progress(f"check fit {k + 1}/{len(variants)}: {label}")
    conflict = pd.DataFrame(conflicts)
    if len(conflict):
        per_group = conflict.groupby("group")["p_value"].agg(["min", "size"])
        adjusted = (per_group["min"] * per_group["size"]).clip(upper=1.0)
        conflict["group_p_value"] = conflict["group"].map(adjusted)
        conflict["flagged"] = conflict["group_p_value"] < cfg.checks.conflict_alpha
    return pd.DataFrame(rows), conflict


def diagnostics_table(ds) -> pd.DataFrame:
    """R-hat and bulk/tail ESS of N (Dutch victims and minors, per report year) and theta."""
    import arviz as az

    from .pipeline import population_draws

    rows = []
    for label, pop in population_draws(ds).items():
        for year in pop[YEAR].values:
            arr = pop["N"].sel({YEAR: year}).transpose("chain", "draw").values
            rows.append(
                {
                    "variable": f"N {label} {int(year)}",
                    "rhat": float(az.rhat(arr)),
                    "ess_bulk": float(az.ess(arr, method="bulk")),
                    "ess_tail": float(az.ess(arr, method="tail")),
                }
            )
    arr = ds["theta"].transpose("chain", "draw").values
    rows.append(
        {
            "variable": "theta",
            "rhat": float(az.rhat(arr)),
            "ess_bulk": float(az.ess(arr, method="bulk")),
            "ess_tail": float(az.ess(arr, method="tail")),
        }
    )
    return pd.DataFrame(rows)


def bound_violations(ds, figures: pd.DataFrame) -> pd.DataFrame:
    """Per report year: registered Dutch minors against the registered minors of any
    nationality; share of draws above the bound (must be 0)."""
    rows = []
    for _, fig in figures.iterrows():
        bound = fig["register_minor_any_nationality"]
        if not np.isfinite(bound):
            continue
        reg = ds["N_registered"].sel({YEAR: int(fig[YEAR]), "age": "minor"}).values.ravel()
        rows.append(
            {
                YEAR: int(fig[YEAR]),
                "bound": bound,
                "max_registered_minors": float(reg.max()),
                "share_above": float(np.mean(reg > bound)),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class SynthesisRun:
    """Everything one run of the synthesis computes: what the report layer writes and prints."""

    cfg: SynthesisConfig
    config_path: Path
    prep: Prepared
    result: NutsResult
    ds: xr.Dataset
    figures: pd.DataFrame
    table: pd.DataFrame
    contributions: pd.DataFrame
    conflicts: pd.DataFrame
    diagnostics: pd.DataFrame
    bounds: pd.DataFrame
    fit_info: dict


def fit_synthesis(
    cfg: SynthesisConfig, config_path: str | Path, progress: Callable[[str], None] | None = None
) -> SynthesisRun:
    """Fit the evidence synthesis and run its checks; ``progress`` hears each step as it ends.
    Nothing is written: the caller checks the bounds and writes the results folder."""
    from .pipeline import dutch_figures, year_table

    years = tuple(cfg.years)
    figures = dutch_figures(years)
    clock = time.perf_counter()

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    s = cfg.sampler
    say(f"compiling and running the main fit: {s.chains} chains x {s.draws} draws")
    prep = prepare(cfg.model, years)
    run_check = compile_fit(prep, s.chains, s.check_burn, s.check_draws, s.target_accept)
    # The check fits' program compiles on the second core while the main fit samples.
    ahead = threading.Thread(target=run_check.precompile_warm, args=(prep.data,), daemon=True)
    ahead.start()
    prep, result, ds = main_fit(cfg, prep=prep)
    ahead.join()
    say(
        f"main fit done ({prep.layout.dim} parameters, {len(prep.layout.evidence.ids)} evidence rows in "
        f"{len(prep.groups)} groups)"
    )
    contributions, conflicts = contribution_and_conflicts(prep, run_check, cfg, years, result.adapted(), progress=say)
    full = interval_rows(
        expected_n(prep, result.position, prep.data, years),
        years,
        variant="all evidence",
        left_out="",
        divergent=int(result.diverging.sum()),
    )
    contributions = pd.concat([pd.DataFrame(full), contributions], ignore_index=True)
    table = year_table(ds)
    diag = diagnostics_table(ds)
    bounds = bound_violations(ds, figures)
    fit_info = {
        "divergent": int(result.diverging.sum()),
        "mean_leapfrog_steps": float(result.n_steps.mean()),
        "seconds": time.perf_counter() - clock,
    }
    return SynthesisRun(
        cfg=cfg,
        config_path=Path(config_path),
        prep=prep,
        result=result,
        ds=ds,
        figures=figures,
        table=table,
        contributions=contributions,
        conflicts=conflicts,
        diagnostics=diag,
        bounds=bounds,
        fit_info=fit_info,
    )
