"""Words, tables, charts and results folders of a people-model scenario, in English and Dutch.

No computation beyond selecting rows: numbers come from :mod:`hiddenvictims.scenarios.people_run`,
:mod:`hiddenvictims.scenarios.people_sweep` (through :mod:`~hiddenvictims.scenarios.people_engine`)
and :mod:`hiddenvictims.scenarios.vulnerable`. The results folders are written atomically, each
with its manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..core.constants import INTERVAL_PROB
from ..core.results import atomic_dir, versions, write_json
from ..scenarios.people import CHANGE_NAMES, OUTCOMES, SAMPLE
from ..scenarios.vulnerable import LABELS as GROUP_LABELS
from .scenarios import compare_header, compare_long, fmt_number

PCT = int(round(100 * INTERVAL_PROB))

L = {
    "reached_chat": ("reached by the chat", "bereikt via de chat"),
    "registered": ("registered", "geregistreerd"),
    "not_registered": ("still not registered", "nog steeds niet geregistreerd"),
    "hidden": ("still hidden (on neither list)", "blijft buiten beeld (op geen van beide lijsten)"),
    "newly_reached": ("newly reached by the chat", "nieuw bereikt via de chat"),
    "newly_registered": ("newly registered", "nieuw geregistreerd"),
    "change_not_registered": ("change in not registered", "verschil niet geregistreerd"),
    "change_hidden": ("change in still hidden", "verschil buiten beeld"),
    "baseline": ("baseline", "uitgangssituatie"),
    "scenario": ("scenario", "scenario"),
    "change": ("change", "verschil"),
    "observed": ("observed", "waargenomen"),
    "p_imp": ("P(improvement)", "P(verbetering)"),
    "year": ("year", "jaar"),
    "age": ("age", "leeftijd"),
    "group": ("group", "groep"),
    "minor": ("minors", "minderjarigen"),
    "adult": ("adults", "volwassenen"),
    "all": ("all", "alle"),
    "rest": ("rest", "overig"),
}


def t(key: str, lang: str) -> str:
    pair = L.get(key)
    if pair is None:
        return GROUP_LABELS.get(key, {}).get(lang, key)
    return pair[0] if lang == "en" else pair[1]


def cell(row: pd.Series, lang: str) -> str:
    """'median (lower – upper)'; an observed number alone, marked as observed."""
    if bool(row.get("observed", False)):
        return f"{fmt_number(row['median'])} ({t('observed', lang)})"
    if bool(row.get("exact", False)):
        return fmt_number(row["median"]) if row["median"] else "0"
    return f"{fmt_number(row['median'])} ({fmt_number(row['lower'])} – {fmt_number(row['upper'])})"


def _md(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def _pick(summary: pd.DataFrame, **match) -> pd.DataFrame:
    sub = summary
    for k, v in match.items():
        sub = sub[sub[k] == v]
    return sub


def strata_cols(summary: pd.DataFrame) -> list[str]:
    return [c for c in ("year", "age", "group") if c in summary.columns]


def headline(summary: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Sum over years, all ages and groups: baseline, scenario, change, P(improvement)."""
    alls = {c: "all" for c in strata_cols(summary)}
    rows = []
    for name in OUTCOMES:
        part = _pick(summary, outcome=name, **alls)
        b, s, c = (part[part["variant"] == v].iloc[0] for v in ("baseline", "scenario", "change"))
        rows.append(
            {
                "": t(name, lang),
                t("baseline", lang): cell(b, lang),
                t("scenario", lang): cell(s, lang),
                t("change", lang): cell(c, lang),
                t("p_imp", lang): "–" if c["exact"] else f"{100 * c['p_improvement']:.0f}%",
            }
        )
    return pd.DataFrame(rows)


def per_stratum(summary: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Yearly figures per year, age (and group): the four outcomes an advisor reads."""
    cols = strata_cols(summary)
    ch = summary[(summary["variant"] == "change") & (summary["year"] != "all")]
    sc = summary[(summary["variant"] == "scenario") & (summary["year"] != "all")]
    keys = ch[cols].drop_duplicates()
    rows = []
    for key in keys.itertuples(index=False):
        match = dict(zip(cols, key, strict=True))
        row = {t(c, lang): t(str(v), lang) if c != "year" else v for c, v in match.items()}
        for q, frame in (("newly_reached", ch), ("newly_registered", ch), ("not_registered", sc), ("hidden", sc)):
            r = _pick(frame, quantity=q, **match)
            row[t(q, lang)] = cell(r.iloc[0], lang)
        rows.append(row)
    return pd.DataFrame(rows)


TEXT = {
    "en": {
        "interventions": "Interventions",
        "headline": "Sum over {period}, all ages{groups}: {pct}% intervals. Baseline numbers "
        "marked 'observed' were counted; they carry no interval.",
        "per_year": "Yearly figures per year and age{groups} (scenario; changes against baseline)",
        "reach": "How far could the chat reach? (sum over years)",
        "reach_text": "The data show how many victims the chat reaches today, not how many more it "
        "could reach. v is the variance of a gamma frailty on people's chances of "
        "being found: v = 0 (everyone not yet found equally findable) is the most "
        "a more findable chat could do; larger v means the not-yet-found are harder "
        "to reach. This run uses v = {v:g}.",
        "groups": "Vulnerable groups, {year}: hidden number per group",
        "groups_text": "From the chat's composition (published shares with their sample sizes) "
        "and a representativeness prior: delta, the log odds ratio of belonging to "
        "the group among all victims against among the chat's victims, "
        "Normal({m:g}, {s:g}). Minors come from the model itself. 'Not registered' "
        "= not on the register; 'still hidden' = on neither list.",
        "sens": "Sensitivity to representativeness (not registered, {year})",
        "sens_text": "delta fixed; odds ratio = exp(delta) (> 1: the chat under-reaches the "
        "group). 'consistent' is the share of posterior draws that delta allows.",
        "rests": "What the numbers rest on",
        "not_registered": "not registered",
        "hidden": "still hidden",
        "chat": "chat contacts (published)",
    },
    "nl": {
        "interventions": "Interventies",
        "headline": "Som over {period}, alle leeftijden{groups}: {pct}%-intervallen. Getallen van "
        "de uitgangssituatie met 'waargenomen' zijn geteld; zij hebben geen interval.",
        "per_year": "Jaarcijfers per jaar en leeftijd{groups} (scenario; verschil met uitgangssituatie)",
        "reach": "Hoe ver zou de chat kunnen reiken? (som over de jaren)",
        "reach_text": "De gegevens laten zien hoeveel slachtoffers de chat nu bereikt, niet "
        "hoeveel meer hij zou kunnen bereiken. v is de variantie van een "
        "gamma-frailty op de kans om gevonden te worden: v = 0 (iedereen die nog "
        "niet gevonden is even vindbaar) is het meeste dat een beter vindbare chat "
        "kan doen; een grotere v betekent dat wie nog niet gevonden is moeilijker "
        "te bereiken is. Deze run gebruikt v = {v:g}.",
        "groups": "Kwetsbare groepen, {year}: aantal buiten beeld per groep",
        "groups_text": "Uit de samenstelling van de chat (gepubliceerde aandelen met hun "
        "steekproefomvang) en een prior voor representativiteit: delta, de log "
        "odds ratio van groepslidmaatschap onder alle slachtoffers tegenover onder "
        "de chatslachtoffers, Normal({m:g}, {s:g}). Minderjarigen komen uit het "
        "model zelf. 'Niet geregistreerd' = niet in het register; 'buiten beeld' "
        "= op geen van beide lijsten.",
        "sens": "Gevoeligheid voor representativiteit (niet geregistreerd, {year})",
        "sens_text": "delta vast; odds ratio = exp(delta) (> 1: de chat bereikt de groep minder "
        "goed). 'consistent' is het aandeel posteriortrekkingen dat delta toelaat.",
        "rests": "Waar de getallen op rusten",
        "not_registered": "niet geregistreerd",
        "hidden": "buiten beeld",
        "chat": "chatcontacten (gepubliceerd)",
    },
}


def _groups_table(groups: pd.DataFrame, lang: str) -> pd.DataFrame:
    from ..scenarios.vulnerable import load_composition

    comp = load_composition()
    rows = []
    for g in groups.itertuples(index=False):
        pub = comp[(comp["year"] == g.year) & (comp["group"] == g.group)]
        chat = "–"
        if len(pub):
            p = pub.iloc[0]
            # the published words are Dutch or English as found; the Dutch report gives the share
            chat = (
                f"{p['published_as']} ({100 * p['share']:.0f}% of {p['base_n']})"
                if lang == "en"
                else f"{100 * p['share']:.0f}% van {p['base_n']}"
            )
        rows.append(
            {
                t("group", lang): GROUP_LABELS.get(g.group, {}).get(lang, g.group),
                TEXT[lang]["chat"]: chat,
                TEXT[lang]["not_registered"]: f"{fmt_number(g.not_registered_median)} "
                f"({fmt_number(g.not_registered_lower)} – "
                f"{fmt_number(g.not_registered_upper)})",
                TEXT[lang]["hidden"]: f"{fmt_number(g.hidden_median)} ({fmt_number(g.hidden_lower)} – "
                f"{fmt_number(g.hidden_upper)})",
            }
        )
    return pd.DataFrame(rows)


def _sens_table(sens: pd.DataFrame, lang: str) -> pd.DataFrame:
    deltas = sorted(sens["delta"].unique())
    rows = []
    for group, part in sens.groupby("group", sort=False):
        row = {t("group", lang): GROUP_LABELS.get(group, {}).get(lang, group)}
        for d in deltas:
            r = part[part["delta"] == d].iloc[0]
            head = f"delta {d:+g} (OR {np.exp(d):.2g})"
            row[head] = (
                f"{fmt_number(r.not_registered_median)} "
                f"({fmt_number(r.not_registered_lower)}"
                f" – {fmt_number(r.not_registered_upper)})"
                + ("" if r.draws_consistent >= 0.999 else f"; consistent {100 * r.draws_consistent:.0f}%")
            )
        rows.append(row)
    return pd.DataFrame(rows)


def report_text(result, cfg, lang: str) -> str:
    from ..scenarios.interventions import describe

    tx = TEXT[lang]
    years = result.people.strata["year"]
    period = f"{years[0]}-{years[-1]}"
    groups = "" if result.group_info is None else (f", {'groups' if lang == 'en' else 'groepen'}")
    parts = [
        f"# {cfg.name}",
        "",
        cfg.description,
        "",
        f"**{tx['interventions']}:** " + "; ".join(describe(cfg.interventions)),
        "",
        tx["headline"].format(period=period, groups=groups, pct=PCT),
        "",
        _md(headline(result.summary, lang)),
        "",
        f"## {tx['per_year'].format(groups=groups)}",
        "",
        _md(per_stratum(result.summary, lang)),
        "",
        f"## {tx['reach']}",
        "",
        tx["reach_text"].format(v=cfg.people.reach_heterogeneity),
        "",
    ]
    rt = result.reach_table.copy()
    rows = []
    for v, part in rt.groupby("reach_heterogeneity"):
        row = {"v": f"{v:g}"}
        for r in part.itertuples(index=False):
            row[t(r.quantity, lang)] = f"{fmt_number(r.median)} ({fmt_number(r.lower)} – {fmt_number(r.upper)})"
        rows.append(row)
    parts += [_md(pd.DataFrame(rows)), ""]
    if result.groups is not None and len(result.groups):
        year = int(result.groups["year"].iloc[0])
        rep = cfg.people.representativeness
        parts += [
            f"## {tx['groups'].format(year=year)}",
            "",
            tx["groups_text"].format(m=rep.mean, s=rep.sd),
            "",
            _md(_groups_table(result.groups, lang)),
            "",
            f"### {tx['sens'].format(year=year)}",
            "",
            tx["sens_text"],
            "",
            _md(_sens_table(result.groups_sens, lang)),
            "",
        ]
    parts += [f"## {tx['rests']}", ""] + [f"- {a}" for a in result.assumptions]
    if lang == "nl":
        parts += ["", "_De aannames hierboven staan in het Engels zoals in summary.json; de getallen zijn dezelfde._"]
    return "\n".join(parts) + "\n"


def outcomes_dataset(result) -> xr.Dataset:
    """Per-draw baseline and scenario outcomes (dims variant, sample, *strata)."""
    strata = result.people.strata
    dims = (SAMPLE, *strata)
    coords = {SAMPLE: np.arange(result.people.n_draws), **{k: list(v) for k, v in strata.items()}}
    data = {}
    for k, name in enumerate(OUTCOMES):
        data[name] = xr.DataArray(
            np.stack([result.base[k], result.scen[k]]),
            dims=("variant", *dims),
            coords={"variant": ["baseline", "scenario"], **coords},
        )
    data["N"] = xr.DataArray(result.people.N, dims=dims, coords=coords)
    return xr.Dataset(data)


# ----------------------------------------------------------------------------- charts
def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _stratum_rows(summary: pd.DataFrame) -> pd.DataFrame:
    cols = strata_cols(summary)
    keep = summary.copy()
    if "group" in cols:
        keep = keep[keep["group"] != "all"]
    keep = keep[keep["age"] != "all"]
    keep["label"] = keep[cols].astype(str).agg(" ".join, axis=1)
    tot = summary[(summary[cols] == "all").all(axis=1)].copy()
    tot["label"] = "sum"
    return pd.concat([keep, tot])


def plot_change(summary: pd.DataFrame, path: Path, lang: str = "en", title: str = "") -> Path:
    """Change against baseline with its interval, per year x age (x group) and summed: one
    panel per outcome; a symmetric-log axis when the changes span orders of magnitude."""
    plt = _plt()
    rows = _stratum_rows(summary[summary["variant"] == "change"])
    labels = list(dict.fromkeys(rows["label"]))
    fig, axes = plt.subplots(1, 4, figsize=(13, 0.32 * len(labels) + 1.8), sharey=True)
    for ax, name in zip(axes, OUTCOMES, strict=True):
        part = rows[rows["outcome"] == name].set_index("label").loc[labels]
        y = np.arange(len(labels))
        ax.errorbar(
            part["median"],
            y,
            xerr=[part["median"] - part["lower"], part["upper"] - part["median"]],
            fmt="o",
            color="C0",
            capsize=2,
            markersize=3,
        )
        ax.axvline(0, color="0.5", linewidth=0.8)
        span = np.abs(part[["lower", "upper"]].to_numpy())
        nz = span[span > 0]
        if nz.size and nz.max() / max(nz.min(), 1e-9) > 100:
            ax.set_xscale("symlog", linthresh=max(1.0, float(np.quantile(nz, 0.1))))
        ax.set_title(t(CHANGE_NAMES[name], lang), fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(labels)), labels, fontsize=7)
    axes[0].invert_yaxis()
    fig.suptitle(f"{title}: {t('change', lang)} ({PCT}%)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_levels(summary: pd.DataFrame, path: Path, lang: str = "en", title: str = "") -> Path:
    """Baseline and scenario levels per stratum on a log axis (counts span orders of magnitude:
    tens of chat contacts, thousands hidden)."""
    plt = _plt()
    rows = _stratum_rows(summary[summary["variant"].isin(["baseline", "scenario"])])
    labels = list(dict.fromkeys(rows["label"]))
    fig, axes = plt.subplots(1, 4, figsize=(13, 0.32 * len(labels) + 1.8), sharey=True)
    for ax, name in zip(axes, OUTCOMES, strict=True):
        for j, (variant, color) in enumerate((("baseline", "0.4"), ("scenario", "C1"))):
            part = rows[(rows["outcome"] == name) & (rows["variant"] == variant)]
            part = part.set_index("label").loc[labels]
            y = np.arange(len(labels)) + (j - 0.5) * 0.3
            ax.errorbar(
                np.maximum(part["median"], 0.5),
                y,
                xerr=[np.maximum(part["median"] - part["lower"], 0), np.maximum(part["upper"] - part["median"], 0)],
                fmt="o",
                color=color,
                capsize=2,
                markersize=3,
                label=t(variant, lang),
            )
        ax.set_xscale("log")
        ax.set_title(t(name, lang), fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(labels)), labels, fontsize=7)
    axes[0].invert_yaxis()
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{title} ({PCT}%)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_people(result, console) -> None:
    from rich.table import Table

    frame = headline(result.summary, "en")
    years = result.people.strata["year"]
    table = Table(title=f"{result.name}: sum over {years[0]}-{years[-1]} ({PCT}% intervals)", title_justify="left")
    for i, col in enumerate(frame.columns):
        table.add_column(str(col), justify="left" if i == 0 else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    console.print(table)
    for note in result.assumptions:
        console.print(f"[cyan]note:[/cyan] {note}", soft_wrap=True)


def plot_compare_change(summaries: dict, path: Path, lang: str = "en") -> Path:
    """Each scenario's change against baseline (sum over years, all strata) with its interval."""
    plt = _plt()
    names = list(summaries)
    fig, axes = plt.subplots(1, 4, figsize=(13, 0.5 * len(names) + 1.8), sharey=True)
    for ax, name in zip(axes, OUTCOMES, strict=True):
        for j, n in enumerate(names):
            s = summaries[n]
            cols = strata_cols(s)
            r = s[(s["variant"] == "change") & (s["outcome"] == name) & (s[cols] == "all").all(axis=1)].iloc[0]
            ax.errorbar(
                r["median"],
                j,
                xerr=[[r["median"] - r["lower"]], [r["upper"] - r["median"]]],
                fmt="o",
                color="C0",
                capsize=3,
            )
        ax.axvline(0, color="0.5", linewidth=0.8)
        ax.set_title(t(CHANGE_NAMES[name], lang), fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(names)), names, fontsize=8)
    axes[0].invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_heatmap_pair(ds: xr.Dataset, outcome: str, path: Path, lang: str = "en", stratum: str = "total") -> Path:
    """Median change against baseline next to its uncertainty (width of the interval), over
    the first two swept axes (others at their first value); one axis: a line with its band."""
    import json

    plt = _plt()
    da = ds[f"{outcome}_change"].sel(stratum=stratum)
    axes = [d for d in da.dims if d != "stat"]
    labels = json.loads(ds.attrs.get("axis_labels", "[]")) or axes
    da = da.isel({d: 0 for d in axes[2:]})
    what = t(CHANGE_NAMES[outcome], lang)
    suffix = " (sum over years)" if lang == "en" else " (som over de jaren)"
    if len(axes) == 1:
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        x = da[axes[0]].values
        ax.plot(x, da.sel(stat="median"), color="C0")
        ax.fill_between(x, da.sel(stat="lower"), da.sel(stat="upper"), color="C0", alpha=0.25)
        ax.set_xlabel(labels[0])
        ax.set_title(what + suffix, fontsize=10)
    else:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11.5, 4.6))
        x, y = da[axes[0]].values, da[axes[1]].values
        med = da.sel(stat="median").transpose(axes[1], axes[0]).values
        width = (da.sel(stat="upper") - da.sel(stat="lower")).transpose(axes[1], axes[0]).values
        m1 = a1.pcolormesh(x, y, med, shading="nearest", cmap="viridis")
        fig.colorbar(m1, ax=a1)
        a1.set_title(f"{what}: {'median' if lang == 'en' else 'mediaan'}{suffix}", fontsize=9)
        m2 = a2.pcolormesh(x, y, width, shading="nearest", cmap="magma")
        fig.colorbar(m2, ax=a2)
        a2.set_title(f"{PCT}% {'interval width' if lang == 'en' else 'intervalbreedte'}", fontsize=9)
        for ax in (a1, a2):
            ax.set_xlabel(labels[0])
            ax.set_ylabel(labels[1])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sweep_report(ds: xr.Dataset, cfg, notes: list[str], record: dict, lang: str) -> str:
    """Words for a sweep: the grid's corners and centre, sums over years, with intervals."""
    axes = [d for d in ds[OUTCOMES[0]].dims if d not in ("stratum", "stat")]
    picks = {tuple(0 for _ in axes), tuple(ds.sizes[a] - 1 for a in axes), tuple(ds.sizes[a] // 2 for a in axes)}
    rows = []
    for pick in sorted(picks):
        cell_ = ds.isel(dict(zip(axes, pick, strict=True))).sel(stratum="total")
        row = {a: f"{float(cell_[a]):.3g}" for a in axes}
        for o in OUTCOMES:
            c = cell_[f"{o}_change"]
            row[t(CHANGE_NAMES[o], lang)] = (
                f"{fmt_number(float(c.sel(stat='median')))} "
                f"({fmt_number(float(c.sel(stat='lower')))}"
                f" – {fmt_number(float(c.sel(stat='upper')))})"
            )
        rows.append(row)
    head = (
        "Change against baseline, sum over the years, at the grid's corners and centre "
        f"({PCT}% intervals); {record['cells']} cells."
        if lang == "en"
        else "Verschil met de uitgangssituatie, som over de jaren, in de hoeken en het midden "
        f"van het rooster ({PCT}%-intervallen); {record['cells']} cellen."
    )
    parts = [
        f"# {cfg.name}",
        "",
        cfg.description,
        "",
        head,
        "",
        _md(pd.DataFrame(rows)),
        "",
        "## " + ("What the numbers rest on" if lang == "en" else "Waar de getallen op rusten"),
        "",
    ] + [f"- {n}" for n in notes]
    return "\n".join(parts) + "\n"


def report_section(post, lang: str, year: int, seed: int = 0) -> list[str]:
    """Markdown lines for the Dutch report: the hidden number per vulnerable group in ``year``
    with its representativeness sensitivity. Here, not in :mod:`hiddenvictims.scenarios.vulnerable`,
    so that the groups' computations never import their report (no import circle)."""
    from ..scenarios.people import from_posterior
    from ..scenarios.vulnerable import Representativeness, estimates, load_composition, sensitivity

    people = from_posterior(post, "baseline")
    if str(year) not in people.strata.get("year", ()):
        return []
    comp = load_composition()
    prior = Representativeness()
    est = estimates(people, comp, year, prior, seed)
    sens = sensitivity(people, comp, year, seed)
    tx = TEXT[lang]
    return [
        f"## {tx['groups'].format(year=year)}",
        "",
        tx["groups_text"].format(m=prior.mean, s=prior.sd),
        "",
        _md(_groups_table(est, lang)),
        "",
        f"### {tx['sens'].format(year=year)}",
        "",
        tx["sens_text"],
        "",
        _md(_sens_table(sens, lang)),
        "",
    ]


# ----------------------------------------------------------------------------- results folders
def write_people(result, prep, target: Path, force: bool) -> Path:
    """The results folder of one scenario (:func:`~hiddenvictims.scenarios.people_run.evaluate_people`)."""
    from ..scenarios.interventions import describe
    from ..scenarios.people_run import check_bound, manifest

    cfg = prep.cfg
    with atomic_dir(target, force=force) as tmp:
        write_json(tmp / "manifest.json", manifest(prep, result))
        result.summary.to_csv(tmp / "summary.csv", index=False)
        result.reach_table.to_csv(tmp / "reach_heterogeneity.csv", index=False)
        if result.groups is not None:
            result.groups.to_csv(tmp / "groups.csv", index=False)
            result.groups_sens.to_csv(tmp / "groups_sensitivity.csv", index=False)
        write_json(
            tmp / "summary.json",
            {
                "scenario": cfg.name,
                "description": cfg.description,
                "interventions": describe(cfg.interventions),
                "interval": {"kind": "equal-tailed", "prob": INTERVAL_PROB},
                "posterior_draws": result.people.n_draws,
                "assumptions": result.assumptions,
                "bound_excess": check_bound(result),
                "rows": result.summary.replace({np.nan: None}).to_dict(orient="records"),
            },
        )
        if cfg.output.draws:
            outcomes_dataset(result).to_netcdf(tmp / "outcomes.nc", engine="h5netcdf")
        for lang in cfg.output.languages:
            (tmp / f"report.{lang}.md").write_text(report_text(result, cfg, lang))
            if cfg.output.plots:
                plot_change(result.summary, tmp / f"change.{lang}.png", lang, title=cfg.name)
                plot_levels(result.summary, tmp / f"levels.{lang}.png", lang, title=cfg.name)
    return target


def write_people_compare(results: dict, baselines, preps, target: Path, force: bool) -> Path:
    """The results folder of several scenarios side by side: ``results`` maps each scenario's
    name to its result (in the order of ``preps``), ``baselines`` are the posteriors they used."""
    from ..scenarios.people_run import manifest

    names = list(results)
    long = compare_long({n: r.summary for n, r in results.items()})
    first = preps[0]
    with atomic_dir(target, force=force) as tmp:
        long.to_csv(tmp / "compare.csv", index=False)
        write_json(
            tmp / "compare.json",
            {
                **compare_header(names, preps),
                "baselines": [{"reused": b.reused, "where": b.where, "reason": b.reason} for b in baselines],
            },
        )
        write_json(
            tmp / "manifest.json",
            {
                "kind": "compare",
                "engine": "people",
                "configs": [manifest(p, results[n]) for n, p in zip(names, preps, strict=True)],
                "versions": versions(),
            },
        )
        for lang in first.cfg.output.languages:
            parts = [f"# {'Scenarios compared' if lang == 'en' else 'Scenario’s vergeleken'}", ""]
            for n, r in results.items():
                parts += [f"## {n}", "", _md(headline(r.summary, lang)), ""]
            (tmp / f"report.{lang}.md").write_text("\n".join(parts))
            plot_compare_change({n: r.summary for n, r in results.items()}, tmp / f"compare.{lang}.png", lang)
    return target


def write_people_sweep(sweep, prep, target: Path, force: bool) -> Path:
    """The results folder of a sweep (:func:`~hiddenvictims.scenarios.people_sweep.sweep_people`)."""
    from ..core.config import config_hash
    from ..scenarios.interventions import describe

    cfg, ds, baseline, grid, record, notes = prep.cfg, sweep.ds, sweep.baseline, sweep.grid, sweep.record, sweep.notes
    with atomic_dir(target, force=force) as tmp:
        ds.to_netcdf(tmp / "sweep.nc", engine="h5netcdf")
        sweep.table.to_csv(tmp / "sweep.csv", index=False)
        write_json(
            tmp / "manifest.json",
            {
                "kind": "sweep",
                "engine": "people",
                "config": prep.manifest_config(),
                "config_hash": config_hash(prep.manifest_config()),
                "data_hash": prep.table.data_hash(),
                "seed": cfg.sampler.seed,
                "baseline": {"reused": baseline.reused, "where": baseline.where, "reason": baseline.reason},
                "interventions": describe(cfg.interventions),
                "sweep": record,
                "grid": grid.record(),
                "versions": versions(),
            },
        )
        write_json(
            tmp / "summary.json",
            {
                "scenario": cfg.name,
                "description": cfg.description,
                "interval": {"kind": "equal-tailed", "prob": INTERVAL_PROB},
                "posterior_draws": sweep.people.n_draws,
                "grid": grid.record(),
                "run": record,
                "assumptions": notes,
            },
        )
        for lang in cfg.output.languages:
            (tmp / f"report.{lang}.md").write_text(sweep_report(ds, cfg, notes, record, lang))
            if cfg.output.plots:
                for o in OUTCOMES:
                    plot_heatmap_pair(ds, o, tmp / f"heatmap_{o}.{lang}.png", lang)
    return target


def print_people_sweep(sweep, console) -> None:
    """How the sweep ran, and what its numbers rest on."""
    console.print(f"{sweep.grid.n_cells} cells in {sweep.record['seconds']:.2f} s on {sweep.record['where']}")
    for note in sweep.notes:
        console.print(f"[cyan]note:[/cyan] {note}", soft_wrap=True)
