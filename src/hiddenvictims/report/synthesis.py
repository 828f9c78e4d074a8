"""Results folder, reports (English and Dutch) and terminal summary of the evidence synthesis.

No estimation here: every number comes from the tables of
:mod:`hiddenvictims.studies.netherlands.synthesis_run`. Counts from 1 to 4 are shown as "<5" in
the reports. The labels and sentences the HTML report shares are in :mod:`.synthesis_text`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from ..core.config import config_hash
from ..core.constants import INTERVAL_PROB
from ..core.results import atomic_dir, versions, write_json
from ..studies.netherlands.evidence import notes_nl
from ..studies.netherlands.pipeline import mc_error_summary
from ..studies.netherlands.synthesis_fit import data_hash
from .formats import fmt_count, fmt_decimal, fmt_share, interval_text
from .synthesis_text import (
    GROUP_NAMES,
    PCT,
    YEAR,
    assumptions,
    coverage_numbers,
    coverage_text,
    quotable,
    theta_interval,
    variant_label,
)

if TYPE_CHECKING:
    from ..studies.netherlands.synthesis_run import SynthesisRun

POPULATIONS = {
    "Dutch victims": {"en": "Dutch victims", "nl": "Nederlandse slachtoffers"},
    "Dutch minors": {"en": "Dutch minors", "nl": "Nederlandse minderjarigen"},
}


def _row(table: pd.DataFrame, population: str, year: int, quantity: str = "N") -> pd.Series:
    sel = table[(table["population"] == population) & (table[YEAR] == year) & (table["quantity"] == quantity)]
    return sel.iloc[0]


def headline(table: pd.DataFrame, year: int, figures: pd.DataFrame, lang: str) -> str:
    n, m = _row(table, "Dutch victims", year), _row(table, "Dutch minors", year)
    reg = figures.set_index(YEAR)["register_dutch"].get(year, np.nan)
    if lang == "nl":
        text = (
            f"In {year} waren er naar schatting {interval_text(n['median'], n['lower'], n['upper'], 'nl')} "
            f"Nederlandse slachtoffers van mensenhandel ({PCT}%-interval), onder wie "
            f"{interval_text(m['median'], m['lower'], m['upper'], 'nl')} minderjarigen."
        )
        if np.isfinite(reg):
            text += f" CoMensha registreerde dat jaar {fmt_count(reg, 'nl')} Nederlandse slachtoffers."
        return text
    text = (
        f"In {year} there were an estimated {interval_text(n['median'], n['lower'], n['upper'], 'en')} Dutch "
        f"victims of human trafficking ({PCT}% interval), of whom "
        f"{interval_text(m['median'], m['lower'], m['upper'], 'en')} minors."
    )
    if np.isfinite(reg):
        text += f" CoMensha registered {fmt_count(reg)} Dutch victims that year."
    return text


def year_markdown(table: pd.DataFrame, lang: str) -> str:
    labels = {
        "en": ("population", "year", "victims (N)", "not registered", "share registered", "share reached by the chat"),
        "nl": (
            "groep",
            "jaar",
            "slachtoffers (N)",
            "niet geregistreerd",
            "aandeel geregistreerd",
            "aandeel bereikt door de chat",
        ),
    }[lang]
    lines = ["| " + " | ".join(labels) + " |", "|" + "---|" * len(labels)]
    for (pop, year), _ in table.groupby(["population", YEAR], sort=False):
        cells = []
        for quantity in ("N", "hidden", "share_registered", "share_chat"):
            r = _row(table, pop, year, quantity)
            fmt = fmt_share if quantity.startswith("share") else fmt_count
            cells.append(interval_text(r["median"], r["lower"], r["upper"], lang, fmt))
        lines.append(f"| {POPULATIONS[pop][lang]} | {year} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def contributions_markdown(contrib: pd.DataFrame, year: int, lang: str) -> str:
    head = {
        "en": f"| fit | Dutch victims {year} | Dutch minors {year} | upper / lower |",
        "nl": f"| fit | Nederlandse slachtoffers {year} | Nederlandse minderjarigen {year} | boven / onder |",
    }
    lines = [head[lang], "|---|---|---|---|"]
    for variant, sub in contrib[contrib[YEAR] == year].groupby("variant", sort=False):
        v = sub[sub["population"] == "Dutch victims"].iloc[0]
        m = sub[sub["population"] == "Dutch minors"].iloc[0]
        label = variant_label(variant, lang)
        lines.append(
            f"| {label} | {interval_text(v['median'], v['lower'], v['upper'], lang)} | "
            f"{interval_text(m['median'], m['lower'], m['upper'], lang)} | {fmt_decimal(v['ratio'], lang)} |"
        )
    return "\n".join(lines)


def conflicts_markdown(conflicts: pd.DataFrame, lang: str) -> str:
    if not len(conflicts):
        return ""
    head = {
        "en": "| source | p-value (left out, Bonferroni over its rows) | conflict? |",
        "nl": "| bron | p-waarde (weggelaten, Bonferroni over de rijen) | conflict? |",
    }[lang]
    lines = [head, "|---|---|---|"]
    for group, sub in conflicts.groupby("group", sort=False):
        p = sub["group_p_value"].iloc[0]
        flag = sub["flagged"].iloc[0]
        yes, no = ("ja", "nee") if lang == "nl" else ("yes", "no")
        lines.append(
            f"| {GROUP_NAMES.get(group, {}).get(lang, group)} | {fmt_decimal(p, lang) if p >= 0.1 else f'{p:.3f}'} "
            f"| {yes if flag else no} |"
        )
    return "\n".join(lines)


def report_text(cfg, table, contrib, conflicts, diag, ds, figures, fit_info, lang: str) -> str:
    years = list(cfg.years)
    main_year = 2020 if 2020 in years else years[-1]
    mc = mc_error_summary(table)
    ratios = {
        int(y): _row(table, "Dutch victims", y)["upper"] / _row(table, "Dutch victims", y)["lower"] for y in years
    }
    flagged = conflicts[conflicts["flagged"]]["group"].unique().tolist() if len(conflicts) else []
    warnings = fit_warnings(diag, fit_info)
    en = lang == "en"
    out = [
        "# "
        + (
            "Dutch victims of human trafficking: estimate from all public evidence"
            if en
            else "Nederlandse slachtoffers van mensenhandel: schatting uit al het openbare bewijs"
        ),
        "",
    ]
    if warnings:
        out += ["**" + ("Warning" if en else "Waarschuwing") + ":** " + "; ".join(warnings), ""]
    out += [
        headline(table, main_year, figures, lang),
        "",
        quotable(ds, figures, lang),
        "",
        year_markdown(table, lang),
        "",
    ]
    ratio_text = ", ".join(f"{y}: {fmt_decimal(r, lang)}" for y, r in ratios.items())
    out += [
        (
            "Width: upper end / lower end of the interval for Dutch victims: "
            if en
            else "Breedte: bovengrens / ondergrens van het interval voor Nederlandse slachtoffers: "
        )
        + ratio_text
        + ".",
        "",
    ]
    out += ["## " + ("What the answer rests on" if en else "Waar de uitkomst op rust"), ""]
    out += [
        (
            "Every source enters with its own error; published estimates carry a shared bias term. "
            "The table refits the model with each source left out in turn, and with the Rapporteur's "
            "estimates wrong by a factor of 2 either way."
            if en
            else "Elke bron telt mee met een eigen foutmarge; gepubliceerde schattingen hebben een gedeelde "
            "vertekeningsterm. De tabel past het model opnieuw toe zonder telkens één bron, en met de schattingen "
            "van de Rapporteur een factor 2 te hoog of te laag."
        ),
        "",
        contributions_markdown(contrib, main_year, lang),
        "",
    ]
    out += [
        "## " + ("Do the sources agree?" if en else "Zijn de bronnen het eens?"),
        "",
        (
            "Each source is compared with what the other sources predict for it (a small p-value: the "
            "source conflicts with the rest)."
            if en
            else "Elke bron wordt vergeleken met wat de andere bronnen ervoor voorspellen (een kleine p-waarde: "
            "de bron botst met de rest)."
        ),
        "",
        conflicts_markdown(conflicts, lang),
        "",
    ]
    if flagged:
        names = ", ".join(GROUP_NAMES.get(g, {}).get(lang, g) for g in flagged)
        out += [("Sources in conflict with the rest: " if en else "Bronnen die botsen met de rest: ") + names + ".", ""]
    out += ["## " + ("Assumptions" if en else "Aannames"), ""]
    out += [f"- {a}" for a in assumptions(theta_interval(ds), lang)]
    out += ["", coverage_sentence(ds, conflicts, lang)]
    out += ["", "## " + ("Precision of the computation" if en else "Nauwkeurigheid van de berekening"), ""]
    mc_text = (
        f"Monte Carlo error (1 s.e., largest over years and groups): medians {100 * mc['median']:.1f}%, "
        f"lower ends {100 * mc['lower']:.1f}%, upper ends {100 * mc['upper']:.1f}%."
    )
    out += [
        mc_text
        if en
        else mc_text.replace(
            "Monte Carlo error (1 s.e., largest over years and groups): medians",
            "Monte-Carlofout (1 s.e., grootste over jaren en groepen): medianen",
        )
        .replace("lower ends", "ondergrenzen")
        .replace("upper ends", "bovengrenzen")
        .replace(".", ",")
        .rstrip(",")
        + ".",
        "",
    ]
    return "\n".join(out) + "\n"


def coverage_sentence(ds: xr.Dataset, conflicts: pd.DataFrame, lang: str) -> str:
    """The coverage sentence as a markdown bullet ('' when the posterior lacks coverage)."""
    text = coverage_text(coverage_numbers(ds, conflicts), lang)
    return f"- {text}" if text else ""


def fit_warnings(diag: pd.DataFrame, fit_info: dict) -> list[str]:
    from ..core.constants import ESS_MIN, RHAT_MAX

    out = []
    if len(diag) and diag["rhat"].max() > RHAT_MAX:
        out.append(f"R-hat {diag['rhat'].max():.3f} > {RHAT_MAX}")
    if len(diag) and diag[["ess_bulk", "ess_tail"]].min().min() < ESS_MIN:
        out.append(f"ESS {diag[['ess_bulk', 'ess_tail']].min().min():.0f} < {ESS_MIN:.0f}")
    if fit_info.get("divergent"):
        out.append(f"{fit_info['divergent']} divergent transitions")
    return out


def write_results(run: SynthesisRun, target: Path, force: bool) -> None:
    """The results folder of a :func:`~hiddenvictims.studies.netherlands.synthesis_run.fit_synthesis`
    run, written atomically: posterior, tables, manifest, reports (markdown and HTML)."""
    import arviz as az

    cfg, prep, ds, result, fit_info, figures = run.cfg, run.prep, run.ds, run.result, run.fit_info, run.figures
    table, contrib, conflicts, diag, bounds = run.table, run.contributions, run.conflicts, run.diagnostics, run.bounds
    config_record = {
        "run": cfg.model_dump(mode="json"),
        "config_file": str(run.config_path),
        "theta_prior": {"mean": prep.data.theta_mu, "sd": prep.data.theta_sd, **prep.theta_source},
    }
    manifest = {
        "family": "synthesis",
        "config": config_record,
        "config_hash": config_hash(config_record),
        "data_source": "hiddenvictims.data/netherlands (bundled public figures)",
        "data_hash": data_hash(),
        "seed": cfg.sampler.seed,
        "versions": versions(),
    }
    stats = xr.Dataset(
        {"diverging": (("chain", "draw"), result.diverging), "n_steps": (("chain", "draw"), result.n_steps)}
    )
    idata = az.InferenceData(posterior=ds, sample_stats=stats)
    idata.posterior.attrs.update(
        {"config_hash": manifest["config_hash"], "data_hash": manifest["data_hash"], "seed": cfg.sampler.seed}
    )
    summary = {
        "family": "synthesis",
        "model": cfg.model.name,
        "interval": {"kind": "equal-tailed", "prob": INTERVAL_PROB},
        "rows": _records(table),
        "diagnostics": {
            "rows": _records(diag),
            "divergent": fit_info["divergent"],
            "warnings": fit_warnings(diag, fit_info),
        },
        "bounds": _records(bounds),
        "conflicts_flagged": sorted(conflicts[conflicts["flagged"]]["group"].unique().tolist())
        if len(conflicts)
        else [],
    }
    from .html import write_reports

    def name(group: str) -> str:
        return GROUP_NAMES.get(group, {}).get("en", group)

    left_out = contrib[contrib["variant"].str.startswith("without ")]
    sources = prep.evidence.assign(
        description=prep.evidence["note"],
        description_nl=prep.evidence["id"].map(notes_nl()).fillna(prep.evidence["note"]),
        provenance=prep.evidence["source"],
    )
    with atomic_dir(target, force=force) as tmp:
        idata.to_netcdf(str(tmp / "idata.nc"), engine="h5netcdf")
        table.to_csv(tmp / "per_year.csv", index=False)
        contrib.to_csv(tmp / "variants.csv", index=False)
        left_out.assign(
            source_left_out=[variant_label(v, "en").removeprefix("without ") for v in left_out["variant"]]
        ).to_csv(tmp / "contributions.csv", index=False)
        if len(conflicts):
            conflicts = conflicts.assign(
                source=[name(g) for g in conflicts["group"]], statistic="posterior predictive p-value, source left out"
            )
        conflicts.to_csv(tmp / "conflicts.csv", index=False)
        diag.to_csv(tmp / "diagnostics.csv", index=False)
        bounds.to_csv(tmp / "bounds.csv", index=False)
        sources.to_csv(tmp / "sources.csv", index=False)
        # the published counts behind the report's chart and its publication copy (publish/)
        figures.to_csv(tmp / "data_used.csv", index=False)
        write_json(tmp / "summary.json", summary)
        write_json(tmp / "manifest.json", manifest)
        for lang in ("en", "nl"):
            (tmp / f"report.{lang}.md").write_text(
                report_text(cfg, table, contrib, conflicts, diag, ds, figures, fit_info, lang)
            )
        write_reports(tmp)


def _records(frame: pd.DataFrame) -> list[dict]:
    def clean(v):
        if isinstance(v, float | np.floating):
            return float(f"{v:.6g}") if np.isfinite(v) else None
        if isinstance(v, np.integer | np.bool_):
            return v.item()
        return v

    return [{k: clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def print_summary(console, run: SynthesisRun) -> None:
    """Terminal tables of a synthesis run: N per year, what each source contributes, conflicts
    and fit warnings."""
    from rich.table import Table

    cfg, table, contrib, conflicts = run.cfg, run.table, run.contributions, run.conflicts
    years = list(cfg.years)
    grid = Table(title=f"{cfg.name}: median ({PCT}% interval)")
    grid.add_column("year")
    for pop in POPULATIONS:
        grid.add_column(pop)
    grid.add_column("ratio")
    for year in years:
        cells = [
            interval_text(*(_row(table, pop, year)[k] for k in ("median", "lower", "upper")), "en")
            for pop in POPULATIONS
        ]
        r = _row(table, "Dutch victims", year)
        grid.add_row(str(year), *cells, f"{r['upper'] / r['lower']:.1f}")
    console.print(grid)
    main_year = 2020 if 2020 in years else years[-1]
    src = Table(title=f"What each source contributes: Dutch victims {main_year}")
    src.add_column("fit")
    src.add_column("median (interval)")
    src.add_column("ratio")
    for variant, sub in contrib[(contrib[YEAR] == main_year) & (contrib["population"] == "Dutch victims")].groupby(
        "variant", sort=False
    ):
        v = sub.iloc[0]
        src.add_row(
            variant_label(variant, "en"), interval_text(v["median"], v["lower"], v["upper"], "en"), f"{v['ratio']:.1f}"
        )
    console.print(src)
    if len(conflicts) and conflicts["flagged"].any():
        console.print("conflict: " + ", ".join(sorted(conflicts[conflicts["flagged"]]["group"].unique())))
    for w in fit_warnings(run.diagnostics, run.fit_info):
        console.print(f"[yellow]warning:[/] {w}")
