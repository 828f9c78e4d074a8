"""Terminal tables fit 80 columns, cut no header or interval, show whole counts."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import xarray as xr
from rich.console import Console

from hiddenvictims.report import scenarios as report
from hiddenvictims.scenario_runner import _rich
from hiddenvictims.scenarios.forward import OUTCOMES


def render(table) -> list[str]:
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text().splitlines()


def outcome_summary() -> pd.DataFrame:
    rows = []
    for q in OUTCOMES:
        for variant, (m, lo, hi) in {
            "baseline": (46411, 27747.2, 76687.9),
            "scenario": (45111, 26747.4, 75687),
            "change": (-1276, -1377.5, -7.1),
        }.items():
            rows.append({"quantity": q, "variant": variant, "stratum": "total", "median": m, "lower": lo, "upper": hi})
    return pd.DataFrame(rows)


def test_counts_are_whole_numbers():
    assert report.fmt_number(7.1) == "7"
    assert report.fmt_number(-0.3) == "0"
    assert report.fmt_number(1234.5) == "1,234"  # round half to even, as Python does
    assert report.fmt_interval(5.4, 0.6, 7.1) == "5 (1 – 7)"


def test_outcome_table_fits_80_columns_with_whole_intervals():
    lines = render(_rich(report.outcome_table(outcome_summary()), "victims, 95% intervals"))
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "(27,747–76,688)" in text and "(-1,378–-7)" in text  # an interval on one line
    assert "…" not in text


def test_sweep_highlights_fit_80_columns_and_keep_their_headers():
    axes = {"chat_reach_multiplier": [1.0, 2.0, 3.0], "referral_probability": [0.0, 0.3, 0.6]}
    stats = ["mean", "median", "lower", "upper", "sd"]
    shape = (3, 3, 1, 5)
    rng = np.random.default_rng(0)
    data = {}
    for q in OUTCOMES:
        values = np.sort(rng.normal(0, 1000, shape), axis=-1)
        data[f"{q}_change"] = ((*axes, "stratum", "stat"), values)
        data[q] = ((*axes, "stratum", "stat"), values)
    ds = xr.Dataset(data, coords={**axes, "stratum": ["total"], "stat": stats})
    frame = report.sweep_highlights_long(ds, list(OUTCOMES))
    lines = render(_rich(frame, "change vs baseline", labels=3))
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "…" not in text
    assert "chat_reach_multiplier" in text.replace("\n", "").replace("│", "").replace(" ", "") or ("chat_reach" in text)
    assert "outcome" in text and "still hidden" in text
