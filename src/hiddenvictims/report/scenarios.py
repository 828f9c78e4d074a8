"""Tables and plots of scenario results, in English and Dutch. No computation here.

Plots use Matplotlib's Agg backend (files only, no display) and show the INTERVAL_PROB
equal-tailed interval of every number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..core.constants import INTERVAL_PERCENT, INTERVAL_PROB
from ..scenarios.forward import TOTAL

LANGUAGES = ("en", "nl")

LABELS: dict[str, dict[str, str]] = {
    "reached_chat": {"en": "reached by the chat", "nl": "bereikt via de chat"},
    "registered": {"en": "registered", "nl": "geregistreerd"},
    "reached_any": {"en": "reached by any source", "nl": "in beeld bij een bron"},
    "hidden": {"en": "still hidden", "nl": "blijft buiten beeld"},
    "chat_not_registered": {
        "en": "chat contacts not registered",
        "nl": "chatcontacten niet geregistreerd",
    },
    "N": {"en": "population N", "nl": "populatie N"},
    "baseline": {"en": "baseline", "nl": "uitgangssituatie"},
    "scenario": {"en": "scenario", "nl": "scenario"},
    "change": {"en": "change vs baseline", "nl": "verschil met uitgangssituatie"},
    "quantity": {"en": "quantity", "nl": "grootheid"},
    "median": {"en": "median", "nl": "mediaan"},
    "interval": {"en": "{pct}% interval", "nl": "{pct}%-interval"},
    "victims": {
        "en": "victims (posterior median, {pct}% interval)",
        "nl": "slachtoffers (mediaan van de posterior, {pct}%-interval)",
    },
    "heat_title": {
        "en": "{what}: change vs baseline (median)",
        "nl": "{what}: verschil met uitgangssituatie (mediaan)",
    },
    "held_at": {"en": "other axes at", "nl": "overige assen op"},
}


def label(key: str, lang: str = "en", **values: str) -> str:
    """The ``lang`` label of ``key`` ({pct} and any ``values`` filled in); ``key`` if unknown."""
    entry = LABELS.get(key)
    return entry[lang].format(pct=INTERVAL_PERCENT, **values) if entry else key


def fmt_number(value: float) -> str:
    """Every outcome counts people: whole numbers (an interval end of 7.1 victims reads as a
    precision the draws do not have)."""
    if not np.isfinite(value):
        return "–"
    whole = round(value)
    return "0" if whole == 0 else f"{whole:,.0f}"  # no '-0' from rounding noise


def fmt_interval(median: float, lower: float, upper: float) -> str:
    return f"{fmt_number(median)} ({fmt_number(lower)} – {fmt_number(upper)})"


def total_label(frame: pd.DataFrame) -> str:
    return TOTAL if (frame["stratum"] == TOTAL).any() else "all"


def outcome_table(summary: pd.DataFrame, lang: str = "en", stratum: str | None = None) -> pd.DataFrame:
    """Rows: outcomes; columns: baseline, scenario, change, each 'median (lower – upper)'."""
    stratum = stratum or total_label(summary)
    part = summary[summary["stratum"] == stratum]
    rows = []
    for quantity in dict.fromkeys(part["quantity"]):
        row = {label("quantity", lang): label(quantity, lang)}
        for variant in ("baseline", "scenario", "change"):
            r = part[(part["quantity"] == quantity) & (part["variant"] == variant)]
            if len(r):
                r = r.iloc[0]
                row[label(variant, lang)] = fmt_interval(r["median"], r["lower"], r["upper"])
        rows.append(row)
    return pd.DataFrame(rows)


def compare_table(summaries: Mapping[str, pd.DataFrame], lang: str = "en", variant: str = "scenario") -> pd.DataFrame:
    """Rows: outcomes; one column per scenario: 'median (lower – upper)' of ``variant``."""
    rows = []
    first = next(iter(summaries.values()))
    stratum = total_label(first)
    for quantity in dict.fromkeys(first["quantity"]):
        row = {label("quantity", lang): label(quantity, lang)}
        for name, frame in summaries.items():
            r = frame[(frame["quantity"] == quantity) & (frame["variant"] == variant) & (frame["stratum"] == stratum)]
            row[name] = fmt_interval(*r.iloc[0][["median", "lower", "upper"]]) if len(r) else "–"
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- plots
def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_compare(
    summaries: Mapping[str, pd.DataFrame],
    path: Path,
    lang: str = "en",
    title: str = "",
    quantities: Sequence[str] | None = None,
) -> Path:
    """One panel per outcome: each scenario's median and interval (the baseline of the first)."""
    plt = _plt()
    first = next(iter(summaries.values()))
    stratum = total_label(first)
    quantities = list(quantities or dict.fromkeys(first["quantity"]))
    names = list(summaries)
    fig, axes = plt.subplots(
        1,
        len(quantities),
        figsize=(3.2 * len(quantities), 0.6 * len(names) + 2.0),
        sharey=True,
        squeeze=False,
    )
    for ax, quantity in zip(axes[0], quantities, strict=True):
        for j, name in enumerate(names):
            f = summaries[name]
            r = f[(f["quantity"] == quantity) & (f["variant"] == "scenario") & (f["stratum"] == stratum)]
            if not len(r):
                continue
            r = r.iloc[0]
            ax.errorbar(
                r["median"],
                j,
                xerr=[[r["median"] - r["lower"]], [r["upper"] - r["median"]]],
                fmt="o",
                color="C0" if j else "0.35",
                capsize=3,
            )
        b = first[(first["quantity"] == quantity) & (first["variant"] == "baseline") & (first["stratum"] == stratum)]
        if len(b):
            ax.axvline(b.iloc[0]["median"], color="0.6", linestyle=":", linewidth=1)
        ax.set_title(label(quantity, lang), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.ticklabel_format(axis="x", style="plain")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    axes[0][0].set_yticks(range(len(names)), names)
    axes[0][0].invert_yaxis()
    if title:
        fig.suptitle(title, fontsize=11)
    fig.supxlabel(label("victims", lang), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_outcomes(summary: pd.DataFrame, path: Path, lang: str = "en", title: str = "") -> Path:
    """Baseline and scenario side by side for each outcome (total over strata)."""
    per_variant = {
        label(v, lang): summary[summary["variant"] == v].assign(variant="scenario") for v in ("baseline", "scenario")
    }
    return plot_compare(per_variant, path, lang, title)


def plot_heatmap(
    ds: xr.Dataset,
    quantity: str,
    path: Path,
    lang: str = "en",
    stat: str = "median",
    stratum: str | None = None,
    change: bool = True,
    title: str = "",
) -> Path:
    """Heat map of one outcome over the first two swept axes (a line with its interval for one)."""
    plt = _plt()
    var = f"{quantity}_change" if change else quantity
    da = ds[var]
    axes = [d for d in da.dims if d not in ("stratum", "stat")]
    strata = list(ds["stratum"].values)
    stratum = stratum or (TOTAL if TOTAL in strata else strata[0])
    da = da.sel(stratum=stratum)
    labels = dict(zip(axes, _axis_labels(ds, axes), strict=True))
    held = {d: da[d].values[0] for d in axes[2:]}
    da = da.isel({d: 0 for d in axes[2:]})
    what = label(quantity, lang)
    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    if len(axes) == 1:
        x = da[axes[0]].values
        ax.plot(x, da.sel(stat=stat).values, color="C0")
        ax.fill_between(
            x,
            da.sel(stat="lower").values,
            da.sel(stat="upper").values,
            color="C0",
            alpha=0.25,
            label=label("interval", lang),
        )
        ax.set_xlabel(labels[axes[0]])
        ax.set_ylabel(label("change", lang) if change else what)
        ax.legend(loc="best", fontsize=8)
    else:
        z = da.sel(stat=stat).transpose(axes[1], axes[0]).values
        x, y = da[axes[0]].values, da[axes[1]].values
        mesh = ax.pcolormesh(x, y, z, shading="nearest", cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=label("change", lang) if change else what)
        ax.set_xlabel(labels[axes[0]])
        ax.set_ylabel(labels[axes[1]])
    text = title or label("heat_title", lang, what=what)
    if held:
        text += "\n" + label("held_at", lang) + " " + ", ".join(f"{k} = {v:g}" for k, v in held.items())
    if stratum not in (TOTAL, "all"):
        text += f" [{stratum}]"
    ax.set_title(text, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _axis_labels(ds: xr.Dataset, axes: list[str]) -> list[str]:
    import json

    stored = json.loads(ds.attrs.get("axis_labels", "[]"))
    return stored if len(stored) == len(axes) else axes


def sweep_highlights_long(ds: xr.Dataset, quantities: Sequence[str], lang: str = "en") -> pd.DataFrame:
    """:func:`sweep_highlights` with one row per cell and outcome (axes..., outcome, change):
    narrow enough for an 80-column terminal whatever the number of outcomes."""
    wide = sweep_highlights(ds, quantities)
    axes = [c for c in wide.columns if c not in quantities]
    long = wide.melt(id_vars=axes, value_vars=list(quantities), var_name="outcome", value_name=label("change", lang))
    long["outcome"] = [label(q, lang) for q in long["outcome"]]
    return long.sort_values(axes, kind="stable").reset_index(drop=True)


def sweep_highlights(ds: xr.Dataset, quantities: Sequence[str]) -> pd.DataFrame:
    """The grid's corner cells (and centre): median change of each outcome, total stratum."""
    axes = [d for d in ds[quantities[0]].dims if d not in ("stratum", "stat")]
    strata = list(ds["stratum"].values)
    stratum = TOTAL if TOTAL in strata else strata[0]
    picks = {(0,) * len(axes)}
    picks.add(tuple(ds.sizes[a] - 1 for a in axes))
    picks.add(tuple(ds.sizes[a] // 2 for a in axes))
    if len(axes) >= 2:
        picks.add(tuple([ds.sizes[axes[0]] - 1] + [0] * (len(axes) - 1)))
        picks.add(tuple([0] + [ds.sizes[a] - 1 for a in axes[1:]]))
    rows = []
    for pick in sorted(picks):
        cell = ds.isel({**dict(zip(axes, pick, strict=True)), "stratum": strata.index(stratum)})
        row = {a: float(f"{float(cell[a]):.4g}") for a in axes}
        for q in quantities:
            c = cell[f"{q}_change"]
            row[q] = fmt_interval(float(c.sel(stat="median")), float(c.sel(stat="lower")), float(c.sel(stat="upper")))
        rows.append(row)
    return pd.DataFrame(rows)


def compare_long(summaries: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The summaries of several scenarios in one long table, the scenario's name first
    (``compare.csv`` of ``scenario compare``, whichever engine ran them)."""
    long = pd.concat([s.assign(scenario=name) for name, s in summaries.items()], ignore_index=True)
    return long[["scenario", *[c for c in long.columns if c != "scenario"]]]


def compare_header(names: Sequence[str], preps: Sequence) -> dict:
    """What every ``compare.json`` starts with: the scenarios, their config files, the interval."""
    return {
        "scenarios": list(names),
        "config_files": [str(p.path) for p in preps],
        "interval": {"kind": "equal-tailed", "prob": INTERVAL_PROB},
    }
