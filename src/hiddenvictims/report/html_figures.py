"""The report's figures as inline SVG: text stays text (searchable, sharp on a phone), every
label comes from the message catalogue and every number is in the report language's format.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot state), so building
reports in parallel or inside a notebook cannot leak figures.
"""

from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from .messages import fmt_int, label, t

COLOURS = {
    "N": "#1f4e79",
    "hidden": "#c0504d",
    "registered": "#2e7d32",
    "chat": "#ef8f00",
    "observed": "#2e7d32",
    "baseline": "#7f7f7f",
    "scenario": "#1f4e79",
}


def to_svg(fig: Figure) -> str:
    """The figure as an <svg> element that scales with its container (no fixed size)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": "DejaVu Sans"}):
        # No date or creator: the same results give the same report, byte for byte.
        fig.savefig(
            buffer,
            format="svg",
            bbox_inches="tight",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)
    return text.replace("<svg", '<svg role="img" class="figure"', 1)


#: Largest ratio of the highest interval end to the smallest observed count shown on a linear
#: axis; beyond it the counts would sit on the axis (a register of 155 against an upper end of 6,870).
LOG_AXIS_SPAN = 20.0


def _count_axis(ax, lang: str) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_int(v, lang)))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)


def observed_vs_estimated(estimates: pd.DataFrame, observed: pd.DataFrame, population: str, lang: str) -> str:
    """Per year: registered and chat counts (dots, shown counts only) against the estimated
    total and the estimated number not in the register (lines with interval bands).

    ``estimates``: per_year rows of one population; ``observed``: columns year, series
    ('registered' | 'chat'), count, hidden (bool: suppressed cells are not plotted).
    """
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    for quantity in ("N", "hidden"):
        sub = estimates[estimates["quantity"] == quantity].sort_values("year")
        if sub.empty:
            continue
        x = sub["year"].to_numpy()
        ax.fill_between(x, sub["lower"], sub["upper"], color=COLOURS[quantity], alpha=0.18, linewidth=0)
        ax.plot(
            x,
            sub["median"],
            color=COLOURS[quantity],
            marker="o",
            linewidth=2,
            label=t(f"series_{quantity}", lang),
        )
    for series in ("registered", "chat"):
        sub = observed[(observed["series"] == series) & ~observed["hidden"]].dropna(subset=["count"])
        if not sub.empty:
            ax.scatter(
                sub["year"],
                sub["count"],
                color=COLOURS[series],
                marker="s",
                s=40,
                zorder=3,
                label=t(f"series_{series}", lang),
            )
    years = sorted(estimates["year"].unique())
    ax.set_xticks(years, [str(y) for y in years])
    ax.set_xlabel(t("axis_year", lang))
    ax.set_title(label("pop", population, lang), fontsize=11, loc="left")
    _count_axis(ax, lang)
    # Upper ends far in the tail would flatten every line on a linear axis, and observed counts
    # far below the estimates would sit on the axis: a log axis shows both.
    est = estimates[estimates["quantity"] == "N"]
    shown = observed.loc[~observed["hidden"], "count"].dropna()
    shown = shown[shown > 0]
    span = est["upper"].max() / shown.min() if len(est) and len(shown) else 0.0
    if len(est) and (est["upper"].max() > 10 * est["median"].max() or span > LOG_AXIS_SPAN):
        ax.set_yscale("log")
        # ticks at 1, 2 and 5 times a power of ten, written as plain numbers (not 6 x 10^3)
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_int(v, lang)))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel(t("axis_people_log", lang))
    else:
        ax.set_ylim(bottom=0)
        ax.set_ylabel(t("axis_people", lang))
    ax.legend(fontsize=9, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return to_svg(fig)


def interval_chart(
    rows: pd.DataFrame,
    category: str,
    series: str,
    lang: str,
    xlabel: str,
    observed: pd.Series | None = None,
) -> str:
    """Median and interval per category (horizontal), one colour per series; optional dots of
    observed counts. Used for strata of a plain fit and for baseline against scenario."""
    cats = list(dict.fromkeys(rows[category]))
    groups = list(dict.fromkeys(rows[series]))
    # Series that never share a category (a refit per row) sit on their category's line.
    one_each = rows.groupby(category)[series].nunique().max() <= 1
    per_cat = 1 if one_each else max(1, len(groups))
    fig = Figure(figsize=(6.4, 0.6 + 0.55 * len(cats) * per_cat))
    ax = fig.add_subplot()
    height = 0 if one_each else 0.8 / max(1, len(groups))
    palette = list(COLOURS.values())
    for g_i, group in enumerate(groups):
        sub = rows[rows[series] == group]
        name = str(sub["label"].iloc[0])
        sub = sub.set_index(category).reindex(cats)
        y = np.arange(len(cats)) + (g_i - (len(groups) - 1) / 2) * height
        colour = COLOURS.get(str(group), palette[g_i % len(palette)])
        ax.errorbar(
            sub["median"],
            y,
            xerr=[sub["median"] - sub["lower"], sub["upper"] - sub["median"]],
            fmt="o",
            color=colour,
            capsize=3,
            label=name,
        )
    if observed is not None:
        ax.scatter(
            observed.reindex(cats),
            np.arange(len(cats)),
            marker="s",
            color=COLOURS["observed"],
            zorder=3,
            label=t("series_observed", lang),
        )
    ax.set_yticks(np.arange(len(cats)), [str(c) for c in cats])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_int(v, lang)))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return to_svg(fig)


def sensitivity_chart(sens: pd.DataFrame, lang: str) -> str:
    """One population and year: median and interval per dependence assumption, one series per
    self-report assumption (rows of sensitivity.csv for a single quantity and stratum)."""
    rows = sens.assign(
        category=[label("dep", d, lang) for d in sens["dependence"]],
        label=[f"{t('col_mismatch', lang)}: {label('mis', m, lang)}" for m in sens["mismatch"]],
    )
    return interval_chart(rows, "category", "mismatch", lang, t("axis_people", lang))
