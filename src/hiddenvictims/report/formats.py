"""Counts, shares and intervals as the Dutch markdown reports and terminal tables write them.

Counts from 1 to 4 show as "<5". A leaf module, so that every Dutch report (the anonymous-list
baseline's and the evidence synthesis') can share it without importing another report module;
the HTML report formats its numbers through :mod:`.messages` instead.
"""

from __future__ import annotations

import numpy as np

from ..core.constants import SMALL_COUNT_SUPPRESS


def fmt_count(value: float, lang: str = "en") -> str:
    """Whole number with thousands separator; counts from 1 to 4 suppressed as '<5'."""
    if value is None or not np.isfinite(value):
        return "–"
    v = int(round(value))
    if 0 < v < SMALL_COUNT_SUPPRESS:
        return f"<{SMALL_COUNT_SUPPRESS}"
    text = f"{v:,}"
    return text.replace(",", ".") if lang == "nl" else text


def fmt_share(value: float, lang: str = "en") -> str:
    """A share in percent: one decimal below 10%, whole percents above."""
    if value is None or not np.isfinite(value):
        return "–"
    text = f"{100 * value:.1f}%" if value < 0.1 else f"{100 * value:.0f}%"
    return text.replace(".", ",") if lang == "nl" else text


def fmt_decimal(x: float, lang: str, digits: int = 1) -> str:
    """``x`` with ``digits`` decimals and the language's decimal mark (1.5 / 1,5)."""
    text = f"{x:.{digits}f}"
    return text.replace(".", ",") if lang == "nl" else text


def interval_text(median: float, lower: float, upper: float, lang: str, fmt=fmt_count) -> str:
    """'median (lower to upper)', each number through ``fmt``."""
    sep = " tot " if lang == "nl" else " to "
    return f"{fmt(median, lang)} ({fmt(lower, lang)}{sep}{fmt(upper, lang)})"
