"""Small-cell suppression holds: a stratum with 3 victims never shows as 3, in the HTML or in
the CSVs meant for publication, nor as a difference of shown numbers."""

from __future__ import annotations

import itertools
import re

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from report_folder import SMALL, make_folder
from test_report_html import visible_text

from hiddenvictims.report.html import render_report, write_reports
from hiddenvictims.report.suppression import COMPLEMENT, suppressed_cells
from hiddenvictims.report.suppression import SMALL as WHY_SMALL


def _numbers(text: str, lang: str) -> list[int]:
    """Whole numbers as shown (1.234 in nl, 1,234 in en), years and percentages left out."""
    sep, dec = (".", ",") if lang == "nl" else (",", ".")
    pattern = rf"(?<![\d{dec}{sep}<−+-])\d{{1,3}}(?:\{sep}\d{{3}})*(?![\d%]|[{dec}{sep}]\d)"
    found = [int(token.replace(sep, "")) for token in re.findall(pattern, text)]
    return [n for n in found if not 2000 <= n <= 2100]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    folder = make_folder(tmp_path_factory.mktemp("sup") / "results")
    write_reports(folder)
    return folder


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_three_never_appears_in_the_html(published, lang):
    text = visible_text((published / f"report.{lang}.html").read_text())
    assert "<5" in text
    assert SMALL not in _numbers(text, lang)


def test_three_never_appears_in_the_published_csvs(published):
    for file in (published / "publish").glob("*.csv"):
        frame = pd.read_csv(file, dtype=str)
        for column in ("count", "median", "lower", "upper"):
            if column in frame:
                assert str(SMALL) not in set(frame[column]), (file.name, column)


def test_three_is_no_difference_of_shown_numbers(published):
    """Within a year, no shown count minus another shown count (or minus a sum of shown
    counts) gives 3: the total minus the other part is hidden too."""
    obs = pd.read_csv(published / "publish" / "observed.csv", dtype=str)
    per_year = pd.read_csv(published / "publish" / "per_year.csv", dtype=str)
    for year in obs["year"].unique():
        shown = [int(v) for v in obs[obs["year"] == year]["count"] if v.isdigit()]
        rows = per_year[(per_year["year"] == year) & per_year["quantity"].isin(["N", "hidden"])]
        for pop, sub in rows.groupby("population"):
            for end in ("median", "lower", "upper"):
                values = [int(v) for v in sub[end] if v.isdigit()]
                shown_pairs = itertools.permutations(values, 2)
                assert all(a - b != SMALL for a, b in shown_pairs), (year, pop, end)
        for r in range(2, len(shown) + 1):
            for combo in itertools.combinations(shown, r):
                total, parts = max(combo), sorted(combo)[:-1]
                assert total - sum(parts) != SMALL, (year, combo)
    # And the HTML shows the same: the 2020 adults' register count is replaced by x.
    assert (obs[(obs["year"] == "2020") & (obs["population"] == "Dutch adults")]["count"] == "x").all()


def test_threshold_comes_from_the_config(tmp_path):
    folder = make_folder(tmp_path / "r", suppress_below=10)
    text = visible_text(render_report(folder, "en"))
    assert "<10" in text and "<5" not in text


def test_without_complementary_suppression_the_cell_would_leak():
    """The test above can fail: the plain rule alone leaves 259 and 256 shown."""
    counts = {"total": 259.0, "minors": 3.0, "adults": 256.0}
    primary = {k for k, v in counts.items() if 0 < v < 5}
    assert counts["total"] - counts["adults"] == SMALL and primary == {"minors"}
    hidden = suppressed_cells(counts, [("total", ["minors", "adults"])])
    assert hidden == {"minors": WHY_SMALL, "adults": COMPLEMENT}


@given(st.lists(st.integers(0, 40), min_size=2, max_size=6))
def test_no_relation_is_left_with_one_hidden_cell(parts):
    counts = {f"p{i}": float(v) for i, v in enumerate(parts)}
    counts["total"] = float(sum(parts))
    hidden = suppressed_cells(counts, [("total", [f"p{i}" for i in range(len(parts))])])
    assert len(hidden) != 1
    assert all(k in hidden for k, v in counts.items() if 0 < v < 5)
