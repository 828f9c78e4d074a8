"""The self-contained HTML report of a results folder, in English or Dutch.

``render_report(folder, lang)`` reads whatever the folder holds (``summary.json`` at least;
``per_year.csv``, ``data_used.csv``, ``changes.csv``, ``sources.csv``, ``contributions.csv``,
``conflicts.csv``, ``sensitivity.csv``, scenario rows, ``manifest.json`` when present) and
fills the Jinja2 template ``templates/report.html.j2``: headline and first chart first, what
the answer rests on next, data sources, then the diagnostics appendix. Every section renders
from the files that exist and is left out otherwise. Figures are inline SVG; the page loads
nothing from the network.

Small counts are suppressed here and in the publication copies (:func:`write_publication`):
see :mod:`.suppression`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..core.constants import ESS_MIN, RHAT_MAX, SMALL_COUNT_SUPPRESS
from ..core.errors import InputError
from . import html_figures as figs
from .messages import PCT, check_lang, fmt_int, fmt_num, fmt_pct, label, t
from .sentences import Comparison, change_table, comparisons
from .suppression import COMPLEMENT, SMALL, is_small, shown_count, suppressed_cells

#: Optional CSV files of a results folder, read when present.
CSV_FILES = (
    "per_year",
    "data_used",
    "changes",
    "sources",
    "contributions",
    "conflicts",
    "sensitivity",
    "variants",
)
HEADLINE_POPULATION = "Dutch victims"
#: variants.csv: refits with the Rapporteur's published estimates multiplied by a factor.
SCALED_PREFIX = "published estimates x "
#: Posterior variables the synthesis' statements read from idata.nc.
SYNTHESIS_VARIABLES = (
    "N",
    "N_registered",
    "N_anonymous",
    "N_unseen",
    "register_coverage_sexual",
    "theta",
)
#: data_used.csv columns: (population, series) of each observed count.
OBSERVED_COLUMNS = {
    "register_dutch": ("Dutch victims", "registered"),
    "register_dutch_minor": ("Dutch minors", "registered"),
    "register_dutch_adult": ("Dutch adults", "registered"),
    "chat_victims": ("Dutch victims", "chat"),
    "chat_minors": ("Dutch minors", "chat"),
    "chat_adults": ("Dutch adults", "chat"),
}
#: A total and its parts among the observed populations (complementary suppression).
OBSERVED_RELATION = ("Dutch victims", ("Dutch minors", "Dutch adults"))


@dataclass
class Folder:
    """What a results folder holds, read once."""

    path: Path
    summary: dict
    manifest: dict
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def frame(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name)

    @property
    def is_synthesis(self) -> bool:
        """Written by the Dutch evidence synthesis (its statements come from its own report
        module, so the HTML and markdown reports say the same)."""
        return "synthesis" in (self.summary.get("family"), self.manifest.get("family"))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not readable as JSON ({exc})") from None


def read_folder(path: str | Path) -> Folder:
    """Read a results folder; InputError (one line) when it is not one."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: no such results folder")
    if not (path / "summary.json").is_file():
        raise InputError(f"{path}: not a results folder (no summary.json)")
    summary = _read_json(path / "summary.json")
    manifest = _read_json(path / "manifest.json") if (path / "manifest.json").is_file() else {}
    frames = {}
    for name in CSV_FILES:
        file = path / f"{name}.csv"
        if file.is_file():
            try:
                frames[name] = pd.read_csv(file)
            except (OSError, ValueError) as exc:
                raise InputError(f"{file}: not readable as CSV ({exc})") from None
    return Folder(path, summary, manifest, frames)


def suppress_threshold(folder: Folder) -> int:
    """The run's ``report.suppress_below`` (in its manifest), else the project default."""
    config = folder.manifest.get("config") or {}
    for section in (config.get("run"), config):  # a run's config, or a scenario's merged one
        if isinstance(section, dict) and isinstance(section.get("report"), dict):
            value = section["report"].get("suppress_below")
            if value is not None:
                return int(value)
    return SMALL_COUNT_SUPPRESS


# ------------------------------------------------------------------------------ suppression
def observed_counts(folder: Folder) -> pd.DataFrame | None:
    """Observed counts in long form (year, population, series, count, why): ``why`` is
    SMALL / COMPLEMENT for hidden cells, None for shown ones."""
    used = folder.frame("data_used")
    if used is None or "year" not in used:
        return None
    rows = []
    for column, (population, series) in OBSERVED_COLUMNS.items():
        if column in used:
            for year, count in zip(used["year"], used[column], strict=True):
                if pd.notna(count):
                    rows.append(
                        {
                            "year": int(year),
                            "population": population,
                            "series": series,
                            "count": float(count),
                        }
                    )
    frame = pd.DataFrame(rows, columns=["year", "population", "series", "count"])
    threshold = suppress_threshold(folder)
    counts = {(r.year, r.population, r.series): r.count for r in frame.itertuples()}
    total, parts = OBSERVED_RELATION
    relations = [((y, total, s), [(y, p, s) for p in parts]) for y, s in {(k[0], k[2]) for k in counts}]
    hidden = suppressed_cells(counts, relations, threshold)
    frame["why"] = [hidden.get((r.year, r.population, r.series)) for r in frame.itertuples()]
    return frame


def per_year_suppression(per_year: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Per (population, year, quantity) which of median/lower/upper to hide and why.

    A small estimated count is hidden; so are the derived cells of a row whose estimated total
    minus its estimated unregistered part (or total times the chat's share) is a small count,
    because that difference is the observed count itself.
    """
    out = per_year[["population", "year", "quantity"]].copy()
    for end in ("median", "lower", "upper"):
        out[f"why_{end}"] = [
            SMALL if q in ("N", "hidden") and is_small(v, threshold) else None
            for q, v in zip(per_year["quantity"], per_year[end], strict=True)
        ]
    wide = per_year.pivot_table(
        index=["population", "year"],
        columns="quantity",
        values=["median", "lower", "upper"],
        aggfunc="first",
    )
    for (population, year), row in wide.iterrows():

        def get(end, q, row=row):
            return row.get((end, q), math.nan)

        implied = {
            ("hidden", "share_registered"): [get(e, "N") - get(e, "hidden") for e in ("median", "lower", "upper")],
            ("share_chat",): [get("median", "N") * get("median", "share_chat")],
        }
        for quantities, values in implied.items():
            if any(is_small(v, threshold) for v in values):
                mask = (out["population"] == population) & (out["year"] == year) & out["quantity"].isin(quantities)
                for end in ("median", "lower", "upper"):
                    out.loc[mask, f"why_{end}"] = out.loc[mask, f"why_{end}"].fillna(COMPLEMENT)
    return out


# ------------------------------------------------------------------------------ formatting
def _value(quantity: str, value: float, why: str | None, threshold: int, lang: str) -> str:
    if quantity.startswith("share"):
        return "x" if why else fmt_pct(value, lang)
    return shown_count(value, why, threshold, lambda v: fmt_int(v, lang))


def _cell(row: pd.Series, why: pd.Series | None, threshold: int, lang: str) -> str:
    q = row["quantity"]
    parts = {
        end: _value(q, row[end], None if why is None else why[f"why_{end}"], threshold, lang)
        for end in ("median", "lower", "upper")
    }
    return t("cell_interval", lang, **parts)


def _warning_lines(summary: dict, lang: str) -> list[str]:
    warnings = (summary.get("diagnostics") or {}).get("warnings") or summary.get("warnings") or []
    out = []
    for w in warnings:
        text = str(w).lower()
        key = (
            "warn_rhat"
            if "r-hat" in text
            else "warn_ess"
            if "sample size" in text or "ess" in text
            else "warn_divergent"
            if "diverg" in text
            else "warn_other"
        )
        out.append(t(key, lang))
    return list(dict.fromkeys(out))


# ------------------------------------------------------------------------------ sections
def _estimate_rows(folder: Folder, threshold: int, lang: str) -> dict | None:
    per_year = folder.frame("per_year")
    if per_year is None:
        return None
    why = per_year_suppression(per_year, threshold).set_index(["population", "year", "quantity"])
    quantities = [q for q in ("N", "hidden", "share_registered", "share_chat") if q in set(per_year["quantity"])]
    rows = []
    for (population, year), sub in per_year.groupby(["population", "year"], sort=False):
        cells = []
        for q in quantities:
            match = sub[sub["quantity"] == q]
            cells.append(_cell(match.iloc[0], why.loc[(population, year, q)], threshold, lang) if len(match) else "–")
        rows.append({"population": label("pop", population, lang), "year": str(year), "cells": cells})
    return {"columns": [t(f"col_{q}", lang) for q in quantities], "rows": rows}


def _headline_dutch(folder: Folder, threshold: int, lang: str) -> tuple[str, int, str] | None:
    per_year = folder.frame("per_year")
    pops = list(dict.fromkeys(per_year["population"]))
    population = HEADLINE_POPULATION if HEADLINE_POPULATION in pops else pops[0]
    sub = per_year[per_year["population"] == population]
    year = int(sub["year"].max())
    why = per_year_suppression(per_year, threshold).set_index(["population", "year", "quantity"])

    def cell(q: str, end: str) -> str:
        match = sub[(sub["year"] == year) & (sub["quantity"] == q)]
        if match.empty:
            return "–"
        return _value(q, match.iloc[0][end], why.loc[(population, year, q)][f"why_{end}"], threshold, lang)

    text = t(
        "headline_dutch",
        lang,
        year=year,
        population=label("pop", population, lang),
        n=cell("N", "median"),
        lower=cell("N", "lower"),
        upper=cell("N", "upper"),
        hidden=cell("hidden", "median"),
        hidden_lower=cell("hidden", "lower"),
        hidden_upper=cell("hidden", "upper"),
    )
    return text, year, population


def _fit_rows(summary: dict) -> pd.DataFrame:
    return pd.DataFrame(summary.get("rows") or [])


def _generic_observed(rows: pd.DataFrame, threshold: int) -> tuple[dict, dict]:
    """Per stratum the observed count (N minus hidden: exact, the two differ by it in every
    draw) and which strata to hide (small, or complementary against the total)."""
    n = rows[rows["quantity"] == "N"].set_index("stratum")["median"]
    hidden = rows[rows["quantity"] == "N_hidden"].set_index("stratum")["median"]
    observed = {s: float(n[s] - hidden[s]) for s in n.index if s in hidden.index}
    total = "total" if "total" in observed else None
    parts = [s for s in observed if s not in ("total", "all")]
    relations = [(total, parts)] if total and parts else []
    return observed, suppressed_cells(observed, relations, threshold)


def _headline_generic(folder: Folder, threshold: int, lang: str) -> str | None:
    rows = _fit_rows(folder.summary)
    if rows.empty or "quantity" not in rows:
        return None
    stratum = "total" if (rows["stratum"] == "total").any() else "all"
    n = rows[(rows["quantity"] == "N") & (rows["stratum"] == stratum)]
    h = rows[(rows["quantity"] == "N_hidden") & (rows["stratum"] == stratum)]
    if n.empty or h.empty:
        return None
    n, h = n.iloc[0], h.iloc[0]
    observed, hide = _generic_observed(rows, threshold)

    def count(v: float) -> str:
        return shown_count(v, SMALL if is_small(v, threshold) else None, threshold, lambda x: fmt_int(x, lang))

    obs = shown_count(observed.get(stratum), hide.get(stratum), threshold, lambda x: fmt_int(x, lang))
    return t(
        "headline_generic",
        lang,
        n=count(n["median"]),
        lower=count(n["lower"]),
        upper=count(n["upper"]),
        observed=obs,
        hidden=count(h["median"]),
        hidden_lower=count(h["lower"]),
        hidden_upper=count(h["upper"]),
    )


def _scenario_rows(summary: dict) -> pd.DataFrame | None:
    rows = pd.DataFrame(summary.get("rows") or [])
    if "scenario" not in summary or rows.empty or "variant" not in rows:
        return None
    stratum = "total" if (rows["stratum"] == "total").any() else rows["stratum"].iloc[0]
    return rows[rows["stratum"] == stratum]


def _headline_scenario(folder: Folder, threshold: int, lang: str) -> str | None:
    rows = _scenario_rows(folder.summary)
    if rows is None:
        return None
    sub = rows[rows["quantity"] == "hidden"].set_index("variant")
    if not {"baseline", "scenario", "change"} <= set(sub.index):
        return None

    def count(v: float) -> str:
        return shown_count(v, SMALL if is_small(v, threshold) else None, threshold, lambda x: fmt_int(x, lang))

    change = sub.loc["change"]

    def signed(v: float) -> str:
        return ("+" if v > 0.5 else "−" if v < -0.5 else "") + fmt_int(abs(v), lang)

    return t(
        "headline_scenario",
        lang,
        name=folder.summary["scenario"],
        change=signed(change["median"]),
        lower=signed(change["lower"]),
        upper=signed(change["upper"]),
        baseline=count(sub.loc["baseline"]["median"]),
        scenario=count(sub.loc["scenario"]["median"]),
    )


def _scenario_table(folder: Folder, threshold: int, lang: str) -> dict | None:
    rows = _scenario_rows(folder.summary)
    if rows is None:
        return None
    out = []
    for quantity, sub in rows.groupby("quantity", sort=False):
        sub = sub.set_index("variant")
        cells = []
        for variant in ("baseline", "scenario", "change"):
            if variant not in sub.index:
                cells.append("–")
                continue
            r = sub.loc[variant]
            fmt = (
                (lambda v: fmt_int(v, lang))
                if variant == "change"
                else (
                    lambda v: shown_count(
                        v,
                        SMALL if is_small(v, threshold) else None,
                        threshold,
                        lambda x: fmt_int(x, lang),
                    )
                )
            )
            cells.append(
                t(
                    "cell_interval",
                    lang,
                    median=fmt(r["median"]),
                    lower=fmt(r["lower"]),
                    upper=fmt(r["upper"]),
                )
            )
        out.append({"quantity": label("q", quantity, lang), "cells": cells})
    chart_rows = rows[rows["variant"].isin(["baseline", "scenario"])].assign(
        category=lambda f: [label("q", q, lang) for q in f["quantity"]],
        label=lambda f: [t(f"col_{v}", lang) for v in f["variant"]],
    )
    svg = figs.interval_chart(chart_rows, "category", "variant", lang, t("axis_people", lang))
    return {
        "columns": [t(f"col_{v}", lang) for v in ("baseline", "scenario", "change")],
        "rows": out,
        "svg": Markup(svg),
    }


def _observed_table(obs: pd.DataFrame | None, threshold: int, lang: str) -> dict | None:
    if obs is None or obs.empty:
        return None
    keys = [(p, s) for p, s in dict.fromkeys(zip(obs["population"], obs["series"], strict=True))]
    names = {"registered": "series_registered", "chat": "series_chat"}
    columns = [f"{label('pop', p, lang)}: {t(names[s], lang)}" for p, s in keys]
    rows = []
    for year, sub in obs.groupby("year"):
        cells = []
        for p, s in keys:
            m = sub[(sub["population"] == p) & (sub["series"] == s)]
            cells.append(
                "–"
                if m.empty
                else shown_count(m.iloc[0]["count"], m.iloc[0]["why"], threshold, lambda v: fmt_int(v, lang))
            )
        rows.append({"year": str(year), "cells": cells})
    return {"columns": columns, "rows": rows}


def _changes(folder: Folder) -> pd.DataFrame | None:
    """changes.csv, else the change table computed from idata.nc's posterior of N by year."""
    if folder.frame("changes") is not None:
        return folder.frame("changes")
    idata_file = folder.path / "idata.nc"
    if not idata_file.is_file():
        return None
    try:
        import arviz as az

        post = az.from_netcdf(str(idata_file)).posterior
        draws = population_year_draws(post)
    except (OSError, KeyError, ValueError):
        return None
    if not draws:
        return None
    years = [int(y) for y in post["year"].values]
    return change_table(draws, years)


def population_year_draws(post) -> dict:
    """Draws of N per population (draws, year) from a Dutch posterior: the study's own split
    when it can make one, else N summed over every dim but year as the headline population."""
    if "N" not in post or "year" not in post["N"].dims:
        return {}
    try:
        from ..studies.netherlands.pipeline import population_draws

        pops = population_draws(post)
        return {name: ds["N"].stack(_s=("chain", "draw")).transpose("_s", "year").values for name, ds in pops.items()}
    except (ImportError, KeyError, ValueError):
        n = post["N"]
        n = n.sum([d for d in n.dims if d not in ("chain", "draw", "year")])
        return {HEADLINE_POPULATION: n.stack(_s=("chain", "draw")).transpose("_s", "year").values}


def quotable_comparisons(folder: Folder, obs: pd.DataFrame | None) -> list[Comparison]:
    """Like-with-like comparisons: registered counts (shown ones only) against the estimate's
    change over the same years for the same population."""
    changes = _changes(folder)
    if obs is None or changes is None:
        return []
    reg = obs[(obs["series"] == "registered") & obs["why"].isna()]
    return comparisons(reg[["population", "year", "count"]], changes)


def sentence_text(c: Comparison, lang: str) -> str:
    est = c.estimate
    fell = c.register.change < 0
    verdict = (
        "verdict_fell"
        if fell and est.p_fell >= 0.95
        else "verdict_rose"
        if not fell and est.p_fell <= 0.05
        else "verdict_unclear"
    )
    population = label("pop", c.register.population, lang)
    return (
        t(verdict, lang)
        + " "
        + t(
            "sentence_change",
            lang,
            start=c.register.period.start,
            end=c.register.period.end,
            population=population,
            reg_start=fmt_int(c.register.count_start, lang),
            reg_end=fmt_int(c.register.count_end, lang),
            reg_change=fmt_pct(c.register.change, lang, signed=True),
            est_change=fmt_pct(est.median, lang, signed=True),
            est_lower=fmt_pct(est.lower, lang, signed=True),
            est_upper=fmt_pct(est.upper, lang, signed=True),
            p_fell=fmt_pct(est.p_fell, lang),
        )
    )


def _sources(folder: Folder, lang: str, population: str | None, year: int | None, threshold: int) -> dict | None:
    sources = folder.frame("sources")
    contrib = folder.frame("contributions")
    conflicts = folder.frame("conflicts")
    if sources is None and contrib is None and conflicts is None:
        return None
    out: dict[str, Any] = {"intro": t("sources_intro", lang, year=year or "")}
    if sources is not None:
        out["rows"] = [
            {
                "id": str(r.get("id", "")),
                "description": str((lang == "nl" and r.get("description_nl")) or r.get("description", "")),
                "provenance": str(r.get("provenance", "")),
            }
            for r in sources.astype(object).fillna("").to_dict(orient="records")  # numeric columns too
        ]
    if contrib is not None and population is not None and year is not None:
        rows = _contribution_rows(folder, population, year, lang)
        if rows:
            frame = pd.DataFrame(rows)
            axis = t("contrib_axis", lang, population=label("pop", population, lang), year=year)
            out["svg"] = Markup(figs.interval_chart(frame, "category", "series", lang, axis))
            out["table"] = {
                "column": axis,
                "rows": [
                    {
                        "category": r["category"],
                        "cell": t(
                            "cell_interval",
                            lang,
                            **{
                                end: shown_count(
                                    r[end],
                                    SMALL if is_small(r[end], threshold) else None,
                                    threshold,
                                    lambda v: fmt_int(v, lang),
                                )
                                for end in ("median", "lower", "upper")
                            },
                        ),
                    }
                    for r in rows
                ],
            }
            out["scaled_intro"] = (
                t("contrib_scaled_intro", lang) if any(r["series"] == "scaled" for r in rows) else None
            )
    if conflicts is not None and "flagged" in conflicts:
        flagged = conflicts[conflicts["flagged"].astype(str).str.lower().isin(["true", "1", "yes"])]
        names = (
            [_group_name(g, lang) for g in dict.fromkeys(flagged["group"])]
            if "group" in flagged
            else list(map(str, flagged["source"]))
        )
        out["conflicts"] = (
            t("conflicts_flagged", lang, sources=", ".join(names)) if len(flagged) else t("conflicts_ok", lang)
        )
    return out


def _group_name(group: str, lang: str) -> str:
    """A synthesis evidence group's name in ``lang`` (as the markdown report names it)."""
    from .synthesis_text import GROUP_NAMES

    return GROUP_NAMES.get(group, {}).get(lang, group)


def _scaled_label(variant: str, lang: str) -> str:
    """'published estimates x 0.5' -> 'if the published estimates were half as large'."""
    try:
        factor = float(variant.removeprefix(SCALED_PREFIX))
    except ValueError:
        return variant
    if math.isclose(factor, 0.5):
        return t("contrib_scaled_half", lang)
    if math.isclose(factor, 2.0):
        return t("contrib_scaled_double", lang)
    return t("contrib_scaled", lang, factor=fmt_num(factor, lang, 1))


def _contribution_rows(folder: Folder, population: str, year: int, lang: str) -> list[dict]:
    """The full estimate, each leave-one-out refit and, for the synthesis, the refits with the
    published estimates scaled (variants.csv) for one population and year, labelled in ``lang``."""
    contrib = folder.frame("contributions")
    sub = contrib[(contrib["population"] == population) & (contrib["year"] == year)]
    per_year = folder.frame("per_year")
    full = per_year[(per_year["population"] == population) & (per_year["year"] == year) & (per_year["quantity"] == "N")]

    def row(category: str, series: str, legend: str, r) -> dict:
        return {
            "category": category,
            "median": r["median"],
            "lower": r["lower"],
            "upper": r["upper"],
            "series": series,
            "label": legend,
        }

    rows = [row(t("contrib_all", lang), "all", t("contrib_all", lang), r) for _, r in full.iterrows()]
    if "variant" in sub:
        from .synthesis_text import variant_label

        names = [variant_label(v, lang) for v in sub["variant"]]
    else:
        names = [t("contrib_without", lang, source=s) for s in sub["source_left_out"]]
    rows += [
        row(name, "without", t("contrib_without", lang, source="…"), r)
        for name, (_, r) in zip(names, sub.iterrows(), strict=True)
    ]
    variants = folder.frame("variants")
    if variants is not None and "variant" in variants:
        scaled = variants[
            variants["variant"].astype(str).str.startswith(SCALED_PREFIX)
            & (variants["population"] == population)
            & (variants["year"] == year)
        ]
        rows += [
            row(_scaled_label(r["variant"], lang), "scaled", t("contrib_scaled_series", lang), r)
            for _, r in scaled.iterrows()
        ]
    return rows


def _sensitivity(folder: Folder, lang: str, population: str | None, year: int | None, threshold: int) -> dict | None:
    sens = folder.frame("sensitivity")
    if sens is None or population is None:
        return None
    quantity = f"N {population}"
    years = sorted({int(s) for s in sens["stratum"] if str(s).isdigit()})
    if not years:
        return None
    shown_year = year if year in years else years[-1]
    sub = sens[(sens["quantity"] == quantity) & (sens["stratum"].astype(str) == str(shown_year))]
    if "evidence" in sub and len(sub):
        sub = sub[sub["evidence"] == sub["evidence"].iloc[0]]
    if sub.empty:
        return None
    return {
        "svg": Markup(figs.sensitivity_chart(sub, lang)),
        "caption": t("sensitivity_caption", lang, population=label("pop", population, lang), year=shown_year),
    }


def _synthesis_posterior(folder: Folder):
    """The posterior variables the synthesis' statements need, from idata.nc (None without)."""
    import xarray as xr

    file = folder.path / "idata.nc"
    if not file.is_file():
        return None
    try:
        with xr.open_dataset(file, group="posterior", engine="h5netcdf") as ds:
            return ds[[v for v in SYNTHESIS_VARIABLES if v in ds]].load()
    except (OSError, ValueError, KeyError):
        return None


def _synthesis_statements(folder: Folder, lang: str) -> dict[str, Any]:
    """The synthesis' quotable sentence, coverage sentence and assumptions, from the very
    functions that write its markdown report (one generator for both reports)."""
    from ..studies.netherlands.pipeline import dutch_figures
    from . import synthesis_text as sr

    post = _synthesis_posterior(folder)
    out: dict[str, Any] = {"quotable": None, "coverage": None}
    per_year = folder.frame("per_year")
    if post is not None and per_year is not None:
        years = tuple(sorted(int(y) for y in per_year["year"].unique()))
        out["quotable"] = sr.quotable(post, dutch_figures(years), lang) or None
        conflicts = folder.frame("conflicts")
        conflicts = pd.DataFrame() if conflicts is None else conflicts
        out["coverage"] = sr.coverage_text(sr.coverage_numbers(post, conflicts), lang) or None
    out["assumptions"] = sr.assumptions(None if post is None else sr.theta_interval(post), lang)
    return out


def _assumptions(kind: str, lang: str) -> list[str]:
    if kind == "dutch":
        return [
            t(k, lang)
            for k in (
                "assumption_link",
                "assumption_known",
                "assumption_minors",
                "assumption_missing",
            )
        ]
    return [t("assumption_generic", lang)]


def _appendix(folder: Folder, lang: str) -> dict:
    diag = folder.summary.get("diagnostics") or {}
    rows = []
    for key in ("max_rhat", "min_ess_bulk", "min_ess_tail"):
        if diag.get(key) is not None:
            digits = 3 if key == "max_rhat" else 0
            value = fmt_num(diag[key], lang, digits) if digits else fmt_int(diag[key], lang)
            rows.append({"name": t(f"diag_{key}", lang), "value": value})
    out: dict[str, Any] = {
        "intro": t("appendix_intro", lang, rhat=fmt_num(RHAT_MAX, lang), ess=fmt_int(ESS_MIN, lang)),
        "rows": rows,
        "warnings": [str(w) for w in (diag.get("warnings") or folder.summary.get("warnings") or [])],
        "notes": [str(n) for n in folder.summary.get("notes") or []],
    }
    per_year = folder.frame("per_year")
    if per_year is not None and "mcse_median" in per_year:
        n = per_year[per_year["quantity"] == "N"]
        rel = {e: fmt_pct(float((n[f"mcse_{e}"] / n[e]).max()), lang) for e in ("median", "lower", "upper")}
        out["mc"] = t("mc_text", lang, **rel)
    sens = folder.frame("sensitivity")
    if sens is not None and {"ess", "pareto_k"} <= set(sens.columns):
        first = sens.drop_duplicates(["dependence", "mismatch", "evidence"])
        out["sens"] = [
            {
                "dependence": label("dep", r["dependence"], lang),
                "mismatch": label("mis", r["mismatch"], lang),
                "evidence": str(r["evidence"]),
                "ess": fmt_int(r["ess"], lang),
                "khat": fmt_num(r["pareto_k"], lang),
            }
            for _, r in first.iterrows()
        ]
    conflicts = folder.frame("conflicts")
    if conflicts is not None:
        stat = "p_value" if "p_value" in conflicts else "z" if "z" in conflicts else None
        out["conflicts"] = [
            {
                "source": _group_name(r["group"], lang) if "group" in r else str(r.get("source", "")),
                "statistic": str(r.get("statistic", "")),
                "value": fmt_num(r[stat], lang, 3) if stat else "–",
                "flagged": t("yes" if str(r.get("flagged")).lower() in ("true", "1", "yes") else "no", lang),
            }
            for r in conflicts.to_dict(orient="records")
        ]
    return out


def _run_details(folder: Folder, lang: str) -> list[dict]:
    m = folder.manifest
    config = m.get("config") or {}
    items = [
        ("run_data", m.get("data_source")),
        ("run_data_hash", m.get("data_hash")),
        ("run_seed", m.get("seed")),
        ("run_config", config.get("config_file")),
    ]
    return [{"name": t(k, lang), "value": str(v)} for k, v in items if v not in (None, "")]


# ------------------------------------------------------------------------------ the report
def report_context(folder: Folder, lang: str) -> dict[str, Any]:
    """Everything the template shows, as text and inline SVG, in ``lang``."""
    check_lang(lang)
    threshold = suppress_threshold(folder)
    summary = folder.summary
    kind = (
        "dutch"
        if folder.frame("per_year") is not None
        else "scenario"
        if _scenario_rows(summary) is not None
        else "fit"
    )
    obs = observed_counts(folder)
    run = (folder.manifest.get("config") or {}).get("run")
    run = run if isinstance(run, dict) else {}
    # A scenario's title is its own (summary["scenario"]); a run config may carry a Dutch one.
    title = summary.get("scenario") or (lang == "nl" and run.get("title_nl")) or run.get("name")
    ctx: dict[str, Any] = dict.fromkeys(
        (
            "headline",
            "chart",
            "sentences",
            "scenario",
            "estimates",
            "sources",
            "sensitivity",
            "observed",
            "quotable",
        )
    )
    ctx.update(
        {
            "lang": lang,
            "t": lambda key, **kw: t(key, lang, **kw),
            "pct": PCT,
            "title": title or t("title_default", lang),
            "warnings": _warning_lines(summary, lang),
            "suppressed_note": t("suppressed_note", lang, below=threshold - 1, threshold=threshold),
            "kind": kind,
        }
    )
    population = year = None
    if kind == "dutch":
        ctx["headline"], year, population = _headline_dutch(folder, threshold, lang)
        per_year = folder.frame("per_year")
        observed = (
            obs[obs["population"] == population]
            if obs is not None
            else pd.DataFrame(columns=["year", "series", "count", "why"])
        )
        observed = observed.assign(hidden=observed["why"].notna())
        est = per_year[(per_year["population"] == population)].copy()
        why = per_year_suppression(per_year, threshold)
        why = why[why["population"] == population].set_index(["year", "quantity"])
        keep = [
            not any(isinstance(why.loc[(y, q)][f"why_{e}"], str) for e in ("median", "lower", "upper"))
            for y, q in zip(est["year"], est["quantity"], strict=True)
        ]
        ctx["chart"] = {
            "title": t("chart_title", lang),
            "caption": t("chart_caption", lang, threshold=threshold),
            "svg": Markup(figs.observed_vs_estimated(est[keep], observed, population, lang)),
        }
        # the synthesis quotes its one comparison on the first screen instead (ctx["quotable"])
        ctx["sentences"] = (
            [] if folder.is_synthesis else [sentence_text(c, lang) for c in quotable_comparisons(folder, obs)]
        )
        ctx["estimates"] = _estimate_rows(folder, threshold, lang)
    elif kind == "scenario":
        ctx["headline"] = _headline_scenario(folder, threshold, lang)
        ctx["scenario"] = _scenario_table(folder, threshold, lang)
    else:
        ctx["headline"] = _headline_generic(folder, threshold, lang)
        ctx["chart"] = _generic_chart(folder, threshold, lang)
    ctx["sources"] = _sources(folder, lang, population, year, threshold)
    ctx["assumptions"] = _assumptions(kind, lang)
    if folder.is_synthesis:
        statements = _synthesis_statements(folder, lang)
        ctx["quotable"] = statements["quotable"]
        ctx["assumptions"] = statements["assumptions"]
        if ctx["sources"] is not None:
            ctx["sources"]["coverage"] = statements["coverage"]
    ctx["sensitivity"] = _sensitivity(folder, lang, population, year, threshold)
    ctx["observed"] = _observed_table(obs, threshold, lang)
    ctx["run_details"] = _run_details(folder, lang)
    ctx["appendix"] = _appendix(folder, lang)
    return ctx


def _generic_chart(folder: Folder, threshold: int, lang: str) -> dict | None:
    rows = _fit_rows(folder.summary)
    if rows.empty or "quantity" not in rows:
        return None
    observed, hide = _generic_observed(rows, threshold)
    n = rows[rows["quantity"] == "N"].copy()
    n = n[[not is_small(v, threshold) for v in n["lower"]]]
    if n.empty:
        return None
    n = n.assign(series="N", label=t("series_N", lang))
    obs = pd.Series({s: v for s, v in observed.items() if s not in hide})
    svg = figs.interval_chart(n, "stratum", "series", lang, t("axis_people", lang), observed=obs)
    return {
        "title": t("chart_generic_title", lang),
        "caption": t("chart_generic_caption", lang),
        "svg": Markup(svg),
    }


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("hiddenvictims.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(path: str | Path, lang: str) -> str:
    """The HTML report of the results folder at ``path`` in ``lang`` ('en' or 'nl')."""
    folder = read_folder(path)
    return _environment().get_template("report.html.j2").render(**report_context(folder, lang))


def write_reports(path: str | Path, langs: tuple[str, ...] = ("en", "nl")) -> list[Path]:
    """Write report.<lang>.html and the publication copies into the results folder at
    ``path`` (used while a run's folder is still its temporary, not yet renamed copy)."""
    path = Path(path)
    out = []
    for lang in langs:
        target = path / f"report.{lang}.html"
        target.write_text(render_report(path, lang), encoding="utf-8")
        out.append(target)
    write_publication(path)
    return out


def write_publication(path: str | Path) -> Path:
    """``publish/``: the CSVs meant for publication, with small counts suppressed (``<5``,
    complementary cells ``x``) and Monte Carlo columns dropped."""
    folder = read_folder(path)
    threshold = suppress_threshold(folder)
    target = Path(path) / "publish"
    target.mkdir(exist_ok=True)
    obs = observed_counts(folder)
    if obs is not None:
        shown = obs.assign(
            count=[
                shown_count(c, w, threshold, lambda v: str(int(round(v))))
                for c, w in zip(obs["count"], obs["why"], strict=True)
            ]
        )
        shown.drop(columns="why").to_csv(target / "observed.csv", index=False)
    per_year = folder.frame("per_year")
    if per_year is not None:
        why = per_year_suppression(per_year, threshold)
        out = per_year[["population", "year", "quantity"]].copy()
        for end in ("median", "lower", "upper"):
            out[end] = [
                ("x" if w else f"{v:.4f}")
                if q.startswith("share")
                else shown_count(v, w, threshold, lambda x: str(int(round(x))))
                for q, v, w in zip(per_year["quantity"], per_year[end], why[f"why_{end}"], strict=True)
            ]
        out.to_csv(target / "per_year.csv", index=False)
    return target
