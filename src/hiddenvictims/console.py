"""Printing an Estimate's summary to the terminal (rich tables); no computation here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.table import Table

from .constants import INTERVAL_PROB

if TYPE_CHECKING:
    from .estimate import Estimate

LABELS = {"N": "population N", "N_hidden": "hidden (never listed)", "observed_share": "share observed"}


def fmt_value(quantity: str, value: float) -> str:
    if quantity == "observed_share":
        return f"{100 * value:.1f}%"
    return f"{value:,.0f}"


def summary_table(frame: pd.DataFrame, title: str) -> Table:
    pct = int(round(100 * INTERVAL_PROB))
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
    for warning in estimate.warnings():
        console.print(f"[bold yellow]warning:[/bold yellow] {warning}")
