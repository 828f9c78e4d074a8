"""Dutch victims of trafficking out of sight of the CoMensha register, using Chat met Fier.

Bundled public figures (``data/netherlands``, sources in its SOURCES.md) -> an
:class:`~hiddenvictims.core.anonymous_data.AnonymousData` over (year x age) with the register as the
one linked list and the chat as the anonymous list -> the anonymous-list model with partial
pooling across age groups and a random walk across years -> per-year table, sensitivity table
and plot, English and Dutch reports, written atomically to a results folder.

What is used: Dutch registered victims per year (pooled over age: no public Dutch-minor count),
the chat's victims per year, its minors where counted, and the 2020 first-disclosure share as a
self-reported "known to police or care" count (87 or 88 of 250, from the rounded 65%).
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import Field

from ...core import config
from ...core.anonymous_data import AnonymousData, AnonymousSource, known_range
from ...core.config import Strict
from ...core.constants import INTERVAL_PROB, PATTERN_DIM, SMALL_COUNT_SUPPRESS, interval_quantiles
from ...core.diagnostics import quantile_mcse
from ...core.errors import InputError
from ...core.spec import (
    AnonymousSpec,
    DependencePrior,
    InformativePrior,
    MismatchPrior,
    SamplerSettings,
)

YEAR, AGE = "year", "age"
AGES = ("minor", "adult")
DATA_FILES = ("comensha_registrations.csv", "chat_met_fier.csv", "rapporteur_estimates.csv")


# ------------------------------------------------------------------------------ bundled data
def data_path(name: str) -> Path:
    """Path of a bundled Netherlands file (``comensha_registrations.csv`` ...)."""
    if name not in (*DATA_FILES, "SOURCES.md"):
        raise InputError(f"no bundled Netherlands file '{name}' (files: {', '.join(DATA_FILES)})")
    return Path(str(resources.files("hiddenvictims.data") / "netherlands" / name))


def _read(name: str) -> pd.DataFrame:
    frame = pd.read_csv(
        data_path(name),
        dtype={"source": str, "note": str},
        keep_default_na=False,
        na_values={"count": [""], "value": [""]},
    )
    return frame


def load_registrations() -> pd.DataFrame:
    """CoMensha registrations (year, population, age, exploitation, series, count, source, note)."""
    frame = _read("comensha_registrations.csv")
    frame["count"] = pd.to_numeric(frame["count"], errors="raise").astype(float)
    return frame


def load_chat() -> pd.DataFrame:
    """Chat met Fier figures (year, quantity, value, source, note); missing values are NaN."""
    frame = _read("chat_met_fier.csv")
    frame["value"] = pd.to_numeric(frame["value"], errors="raise").astype(float)
    return frame


def load_rapporteur() -> pd.DataFrame:
    """Earlier estimates (quantity, value, period, source, note) that may serve as priors."""
    frame = _read("rapporteur_estimates.csv")
    frame["value"] = pd.to_numeric(frame["value"], errors="raise").astype(float)
    return frame


def _one(frame: pd.DataFrame, what: str, **match) -> float:
    sub = frame
    for key, value in match.items():
        sub = sub[sub[key] == value]
    if len(sub) == 0:
        return math.nan
    if len(sub) > 1:
        raise InputError(f"bundled Netherlands data: {len(sub)} rows for {what} {match}")
    return float(sub.iloc[0]["count" if "count" in sub.columns else "value"])


def dutch_figures(years: tuple[int, ...] = (2019, 2020, 2021)) -> pd.DataFrame:
    """The figures the model uses, one row per year (NaN = not published)."""
    reg, chat = load_registrations(), load_chat()
    rows = []
    for year in years:
        fd = _one(chat, "first disclosure", year=year, quantity="first_disclosure_pct")
        victims = _one(chat, "chat victims", year=year, quantity="victims")
        rows.append(
            {
                YEAR: year,
                "register_dutch": _one(
                    reg, "Dutch registered", year=year, population="dutch", age="all", exploitation="all"
                ),
                "register_dutch_minor": _one(
                    reg, "Dutch minors registered", year=year, population="dutch", age="minor", exploitation="all"
                ),
                "register_minor_any_nationality": _one(
                    reg, "registered minors", year=year, population="all", age="minor", exploitation="all"
                ),
                "chat_victims": victims,
                "chat_minors": _one(chat, "chat minors", year=year, quantity="minors"),
                "first_disclosure_pct": fd,
            }
        )
    return pd.DataFrame(rows)


def dutch_data(years: tuple[int, ...] = (2019, 2020, 2021)) -> AnonymousData:
    """AnonymousData over (year, age): register pooled over age, chat by age where counted."""
    fig = dutch_figures(years)
    coords = {YEAR: list(years), AGE: list(AGES)}
    nan = np.full((len(years), len(AGES)), np.nan)
    reg_split = nan.copy()
    reg_split[:, 0] = fig["register_dutch_minor"].to_numpy()
    linked = xr.DataArray(reg_split[..., None], dims=(YEAR, AGE, PATTERN_DIM), coords={**coords, PATTERN_DIM: ["1"]})
    linked_pooled = xr.DataArray(
        fig["register_dutch"].to_numpy()[:, None],
        dims=(YEAR, PATTERN_DIM),
        coords={YEAR: list(years), PATTERN_DIM: ["1"]},
    )
    chat_split = nan.copy()
    chat_split[:, 0] = fig["chat_minors"].to_numpy()
    lows, highs = zip(
        *[known_range(v, p) for v, p in zip(fig["chat_victims"], fig["first_disclosure_pct"], strict=True)], strict=True
    )
    source = AnonymousSource(
        name="chat",
        totals=xr.DataArray(chat_split, dims=(YEAR, AGE), coords=coords),
        pooled_totals=xr.DataArray(fig["chat_victims"].to_numpy(), dims=(YEAR,), coords={YEAR: list(years)}),
        known_low=xr.DataArray(np.array(lows), dims=(YEAR,), coords={YEAR: list(years)}),
        known_high=xr.DataArray(np.array(highs), dims=(YEAR,), coords={YEAR: list(years)}),
        known_kind="self-report",
        compared_to=("register",),
    )
    return AnonymousData(
        linked_lists=("register",),
        linked=linked,
        anonymous=source,
        linked_pooled=linked_pooled,
        group_dim=AGE,
        source="hiddenvictims.data/netherlands (bundled public figures)",
    )


# ------------------------------------------------------------------------------ config
class LabelledDependence(DependencePrior):
    label: str


class LabelledMismatch(MismatchPrior):
    label: str


class EvidenceVariant(Strict):
    label: str
    priors: list[InformativePrior] = Field(default_factory=list)


class SensitivitySection(Strict):
    """Prior settings under which the baseline fit is re-expressed (see :mod:`.sensitivity`)."""

    dependence: list[LabelledDependence] = Field(default_factory=list)
    mismatch: list[LabelledMismatch] = Field(default_factory=list)
    evidence: list[EvidenceVariant] = Field(default_factory=list)


class OutputDir(Strict):
    dir: str = "results/netherlands-baseline"


class ReportSection(Strict):
    """What the reports show: counts from 1 to suppress_below - 1 appear as '<suppress_below'."""

    suppress_below: int = Field(SMALL_COUNT_SUPPRESS, ge=1, le=100)


class NetherlandsConfig(Strict):
    """``kind = "netherlands"`` run config (scenarios/netherlands-baseline.toml)."""

    kind: Literal["netherlands"]
    name: str
    description: str = ""
    years: list[int] = Field(default_factory=lambda: [2019, 2020, 2021], min_length=1)
    model: AnonymousSpec
    sensitivity: SensitivitySection = Field(default_factory=SensitivitySection)
    sampler: SamplerSettings = Field(default_factory=SamplerSettings)
    output: OutputDir = Field(default_factory=OutputDir)
    report: ReportSection = Field(default_factory=ReportSection)


def load_config(path: str | Path) -> NetherlandsConfig:
    cfg = config.load(NetherlandsConfig, path)
    if cfg.model.pooling is not None and (
        cfg.model.pooling.group_dim not in (None, AGE) or cfg.model.pooling.time_dim not in (None, YEAR)
    ):
        raise InputError(f"{path}: key 'model.pooling': group_dim must be '{AGE}' and time_dim '{YEAR}'")
    if len(set(cfg.years)) != len(cfg.years):
        raise InputError(f"{path}: key 'years': a year is listed twice ({cfg.years})")
    # Checked here, before the fit: a year with neither a register nor a chat figure has no
    # data (one of the two is enough: the random walk carries the other, as for 2021's register).
    fig = dutch_figures(tuple(cfg.years))
    usable = fig[["register_dutch", "chat_victims"]].notna().any(axis=1).to_numpy()
    if not usable.all():
        bad = [y for y, ok in zip(cfg.years, usable, strict=True) if not ok]
        raise InputError(f"{path}: key 'years': no register or chat figure for {bad} in the bundled data")
    return cfg


# ------------------------------------------------------------------------------ summaries
def population_draws(post: xr.Dataset) -> dict[str, xr.Dataset]:
    """Draws per year for 'Dutch victims' (all ages) and 'Dutch minors' (chain, draw, year)."""
    out = {}
    for label, sel in (("Dutch victims", None), ("Dutch minors", "minor")):

        def pick(name, sel=sel):
            da = post[name]
            return da.sum(AGE) if sel is None else da.sel({AGE: sel}, drop=True)

        n, reg, chat = pick("N"), pick("N_registered"), pick("N_anonymous")
        out[label] = xr.Dataset(
            {
                "N": n,
                "hidden": n - reg,
                "share_registered": reg / n,
                "share_chat": chat / n,
                "registered": reg,
                "unseen": pick("N_unseen"),
            }
        )
    return out


def year_table(post: xr.Dataset, prob: float = INTERVAL_PROB) -> pd.DataFrame:
    """One row per population x year x quantity: median and equal-tailed interval, each with its
    Monte Carlo standard error (the upper ends of N rest on few draws far in the tail)."""
    lo, hi = interval_quantiles(prob)
    rows = []
    for label, ds in population_draws(post).items():
        for quantity in ("N", "hidden", "share_registered", "share_chat"):
            da = ds[quantity].transpose("chain", "draw", ...)
            for year in da[YEAR].values:
                arr = da.sel({YEAR: year}).values
                v = arr.ravel()
                q = np.quantile(v[np.isfinite(v)], [0.5, lo, hi])
                se = quantile_mcse(arr, (0.5, lo, hi))
                rows.append(
                    {
                        "population": label,
                        YEAR: int(year),
                        "quantity": quantity,
                        "median": q[0],
                        "lower": q[1],
                        "upper": q[2],
                        "mcse_median": se[0],
                        "mcse_lower": se[1],
                        "mcse_upper": se[2],
                    }
                )
    return pd.DataFrame(rows)


def mc_error_summary(table: pd.DataFrame) -> dict[str, float]:
    """Largest relative Monte Carlo error (1 s.e. / value) of N's median, lower and upper end
    over the populations and years of :func:`year_table`."""
    n = table[table["quantity"] == "N"]
    return {end: float((n[f"mcse_{end}"] / n[end]).max()) for end in ("median", "lower", "upper")}


def change_summary(post: xr.Dataset, first: int, last: int) -> dict[str, float]:
    """Relative change of Dutch victims' N from ``first`` to ``last`` and P(fell)."""
    n = population_draws(post)["Dutch victims"]["N"]
    ratio = (n.sel({YEAR: last}) / n.sel({YEAR: first})).values.ravel()
    lo, hi = interval_quantiles()
    q = np.quantile(ratio, [0.5, lo, hi])
    return {"median": q[0] - 1, "lower": q[1] - 1, "upper": q[2] - 1, "p_fell": float(np.mean(ratio < 1))}


def prior_posterior_table(estimate, prob: float = INTERVAL_PROB) -> pd.DataFrame:
    """Prior against posterior for N per year and population, theta, sensitivity, false-known."""
    lo, hi = interval_quantiles(prob)
    rows = []
    for group in ("prior", "posterior"):
        ds = estimate.idata[group]
        for label, pop in population_draws(ds).items():
            for year in pop[YEAR].values:
                v = pop["N"].sel({YEAR: year}).values.ravel()
                q = np.quantile(v[np.isfinite(v)], [0.5, lo, hi])
                rows.append(
                    {"group": group, "quantity": f"N {label} {int(year)}", "median": q[0], "lower": q[1], "upper": q[2]}
                )
        for name in ("theta", "sensitivity", "false_known"):
            if name in ds:
                q = np.quantile(ds[name].values.ravel(), [0.5, lo, hi])
                rows.append({"group": group, "quantity": name, "median": q[0], "lower": q[1], "upper": q[2]})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ run
def sensitivity_settings(cfg: NetherlandsConfig) -> list:
    from .sensitivity import PriorSetting

    sens = cfg.sensitivity
    deps = sens.dependence or [LabelledDependence(label="baseline", **cfg.model.dependence.model_dump())]
    mism = sens.mismatch or [LabelledMismatch(label="baseline", **cfg.model.mismatch.model_dump())]
    out = []
    for d in deps:
        for m in mism:
            out.append(
                PriorSetting(
                    d.label,
                    DependencePrior(mean=d.mean, sd=d.sd),
                    m.label,
                    MismatchPrior(**m.model_dump(exclude={"label"})),
                    evidence_label="baseline",
                    evidence=tuple(cfg.model.informative),
                )
            )
    for variant in sens.evidence:
        out.append(
            PriorSetting(
                "baseline",
                cfg.model.dependence,
                "baseline",
                cfg.model.mismatch,
                evidence_label=variant.label,
                evidence=tuple(variant.priors),
            )
        )
    return out


def fit_netherlands(cfg: NetherlandsConfig):
    """Fit the Dutch baseline and re-express it under the sensitivity priors.

    Returns (estimate, per-year table, sensitivity table); writing them is the report layer's job
    (:func:`hiddenvictims.runner.run_config`).
    """
    from ...families import anonymous as an
    from .sensitivity import reweight_table

    data = dutch_data(tuple(cfg.years))
    estimate = an.fit(data, cfg.model, cfg.sampler)

    def quantities(post):
        return {f"N {label}": ds["N"] for label, ds in population_draws(post).items()}

    sens = reweight_table(estimate, cfg.model, sensitivity_settings(cfg), quantities, seed=cfg.sampler.seed)
    table = year_table(estimate.posterior)
    return estimate, table, sens
