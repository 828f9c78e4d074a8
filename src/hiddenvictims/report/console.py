"""Printing an Estimate's summary to the terminal (rich tables); no computation here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.table import Table

from ..core.constants import INTERVAL_PERCENT

if TYPE_CHECKING:
    from ..core.estimate import Estimate

LABELS = {"N": "population N", "N_hidden": "hidden (never listed)", "observed_share": "share observed"}


def fmt_value(quantity: str, value: float) -> str:
    if quantity == "observed_share":
        return f"{100 * value:.1f}%"
    return f"{value:,.0f}"


def summary_table(frame: pd.DataFrame, title: str) -> Table:
    pct = INTERVAL_PERCENT
    table = Table(title=title, title_justify="left")
    for col in ("quantity", "stratum", "median", "mean", "sd", f"{pct}% interval"):
        table.add_column(col, justify="left" if col in ("quantity", "stratum") else "right")
    for row in frame.itertuples(index=False):
        q = row.quantity
        table.add_row(
            LABELS.get(q, q),
            str(row.stratum),
            fmt_value(q, row.median),
            fmt_value(q, row.mean),
            fmt_value(q, row.sd),
            f"{fmt_value(q, row.lower)} – {fmt_value(q, row.upper)}",
        )
    return table


def print_estimate(estimate: Estimate, console: Console | None = None, title: str | None = None) -> None:
    console = console or Console()
    t = estimate.table
    head = title or f"{estimate.model.get('name', estimate.family)} ({estimate.family})"
    console.print(summary_table(estimate.summary(), f"{head}: {t.n_observed:,} observed on {t.n_lists} lists"))
    for note in estimate.notes:
        console.print(f"[cyan]note:[/cyan] {note}")
    from ..core import gate

    for warning in estimate.warnings():
        console.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    gate.shown(estimate.warnings())


def _finite(value: float, fmt: str) -> str:
    """Diagnostics of exact (closed-form) posteriors are not MCMC numbers: show 'exact'."""
    return fmt.format(value) if value == value else "exact"


def comparison_table(frame: pd.DataFrame, title: str) -> Table:
    """Models side by side: N median and interval, diagnostics, existence checks."""
    pct = INTERVAL_PERCENT
    table = Table(title=title, title_justify="left")
    for col in ("model", "median N", f"{pct}% interval", "R-hat", "ESS", "existence check"):
        table.add_column(
            col, justify="left" if col in ("model", "existence check") else "right", no_wrap=col != "existence check"
        )
    for row in frame.itertuples(index=False):
        table.add_row(
            row.model,
            f"{row.median:,.0f}",
            f"{row.lower:,.0f}–{row.upper:,.0f}",
            _finite(row.max_rhat, "{:.3f}"),
            _finite(row.min_ess, "{:,.0f}"),
            row.checks,
        )
    return table


def print_comparison(frame: pd.DataFrame, spread: str, title: str, console: Console | None = None) -> None:
    console = console or Console()
    console.print(spread)
    console.print(comparison_table(frame, title))
    for row in frame.itertuples(index=False):
        if row.warnings:
            console.print(f"[bold yellow]warning ({row.model}):[/bold yellow] {row.warnings}")


def print_check(table, k: float, floor: float, console: Console, show_all: bool = False) -> None:
    """What moved against the baseline and by how many standard errors (largest first)."""
    from rich.table import Table

    moved = table[~table["holds"]]
    rows = table if show_all else (moved if len(moved) else table.nlargest(5, "z"))
    out = Table(
        title_justify="left",
        title=(
            f"{len(moved)} of {len(table)} quantities moved (tolerance: {k:g} x combined Monte Carlo "
            f"s.e. + {100 * floor:g}% of the baseline)"
        ),
    )
    for col in ("quantity", "baseline", "now", "change", "s.e. moved", "holds"):
        out.add_column(col, justify="left" if col == "quantity" else "right")
    for r in rows.sort_values("z", ascending=False).itertuples(index=False):
        out.add_row(
            str(r.key),
            f"{r.baseline:,.4g}",
            f"{r.now:,.4g}",
            f"{r.diff:+,.3g}",
            f"{r.z:.1f}",
            "yes" if r.holds else "[bold red]NO[/bold red]",
        )
    console.print(out)
    if not show_all and not len(moved):
        console.print("all hold (the 5 largest moves shown; --all lists every quantity)")
