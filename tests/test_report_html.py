"""The HTML report: renders from whatever a results folder holds, both languages alike,
numbers in each language's format, warnings visible, like-with-like sentences."""

from __future__ import annotations

import re
import string
from html.parser import HTMLParser

import pandas as pd
import pytest
from report_folder import make_folder
from typer.testing import CliRunner

from hiddenvictims.cli import app
from hiddenvictims.report.html import (
    observed_counts,
    quotable_comparisons,
    read_folder,
    render_report,
    write_reports,
)
from hiddenvictims.report.messages import MESSAGES, fmt_int, fmt_pct
from hiddenvictims.report.sentences import Comparison, EstimateChange, Period, RegisterChange


class _Text(HTMLParser):
    """Visible text: everything outside <style>, <script> and <title>, SVG <text> included."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("style", "script", "title"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


@pytest.fixture()
def folder(tmp_path):
    return make_folder(tmp_path / "results")


def test_catalogue_has_the_same_keys_and_placeholders_in_both_languages():
    en, nl = MESSAGES["en"], MESSAGES["nl"]
    assert set(en) == set(nl)
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for key in en:
        assert fields(en[key]) == fields(nl[key]), key


def test_number_formats_per_language():
    assert fmt_int(1234.4, "nl") == "1.234" and fmt_int(1234.4, "en") == "1,234"
    assert fmt_pct(0.125, "nl") == "12,5%" and fmt_pct(0.125, "en") == "12.5%"
    assert fmt_pct(0.0125, "en") == "1.2%"  # half to even, as Babel rounds
    assert fmt_pct(-0.16, "en", signed=True) == "−16%"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_headline_first_with_interval_in_the_language_format(folder, lang):
    html = render_report(folder, lang)
    text = visible_text(html)
    n, lo, hi = (fmt_int(v, lang) for v in (1540, 860, 4470))
    headline = re.search(r'<p class="headline">(.*?)</p>', html, re.S).group(1)
    assert n in headline and lo in headline and hi in headline
    # The headline and the first chart come before everything else.
    assert html.index('class="headline"') < html.index("<svg") < html.index('id="rests-on"')
    # No network: nothing is loaded from anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    other = "en" if lang == "nl" else "nl"
    # Four-digit counts only in this language's format (1.540 in nl, never 1,540; and back).
    assert fmt_int(1540, other) not in text


def test_both_languages_have_equal_content(folder):
    en, nl = render_report(folder, "en"), render_report(folder, "nl")
    tags = lambda h: [t for t in _parse_tags(h) if t not in ("path", "g", "use")]  # noqa: E731
    assert tags(en) == tags(nl)
    for word in ("Dutch victims", "not in the register", "share registered", "estimated total"):
        assert word not in visible_text(nl), word


def _parse_tags(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.tags


def test_warning_shown_only_when_a_check_failed(tmp_path):
    ok = render_report(make_folder(tmp_path / "ok"), "nl")
    bad = render_report(
        make_folder(
            tmp_path / "bad",
            warnings=("R-hat 1.050 > 1.01 for N: chains disagree; run longer or check the model",),
        ),
        "nl",
    )
    assert 'role="alert"' not in ok
    first_screen = bad[: bad.index('id="rests-on"')]
    assert MESSAGES["nl"]["warning_title"] in first_screen
    assert MESSAGES["nl"]["warn_rhat"] in first_screen
    # The software's own English wording stays in the appendix.
    assert "chains disagree" not in first_screen and "chains disagree" in bad


def test_renders_without_the_evidence_synthesis_files(tmp_path):
    html = render_report(make_folder(tmp_path / "old", new_files=False), "en")
    assert MESSAGES["en"]["sources_title"] not in html
    assert MESSAGES["en"]["headline"] in html
    html_new = render_report(make_folder(tmp_path / "new"), "en")
    for key in ("sources_title", "conflicts_title"):
        assert MESSAGES["en"][key] in html_new
    assert "CoMensha annual report 2021, table 2" in html_new  # provenance


def test_plain_fit_folder(tmp_path):
    import json

    rows = [
        {"quantity": q, "stratum": s, "median": m, "lower": lo, "upper": hi}
        for q, s, m, lo, hi in [
            ("N", "all", 12345.0, 10000.0, 15000.0),
            ("N_hidden", "all", 2345.0, 0.0, 5000.0),
        ]
    ]
    (tmp_path / "summary.json").write_text(
        json.dumps({"family": "loglinear", "rows": rows, "diagnostics": {"warnings": []}})
    )
    text = visible_text(render_report(tmp_path, "nl"))
    assert "12.345" in text and "10.000 tot 15.000" in text


def test_cli_report_writes_html_and_rejects_a_non_folder(folder, tmp_path):
    runner = CliRunner()
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(folder), "--lang", "en", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!DOCTYPE html>")
    bad = runner.invoke(app, ["report", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and "no such results folder" in bad.output
    bad = runner.invoke(app, ["report", str(folder), "--lang", "de"])
    assert bad.exit_code == 2 and "--lang" in bad.output


# ------------------------------------------------------------------------------ sentences
def test_a_sentence_cannot_compare_different_periods():
    reg = RegisterChange("Dutch victims", Period(2019, 2020), 338, 259)
    with pytest.raises(ValueError, match="like with like"):
        Comparison(reg, EstimateChange("Dutch victims", Period(2019, 2021), -0.05, -0.5, 0.9, 0.57))
    with pytest.raises(ValueError, match="like with like"):
        Comparison(reg, EstimateChange("Dutch minors", Period(2019, 2020), -0.05, -0.5, 0.9, 0.57))


def test_every_quotable_sentence_shares_period_and_population(folder):
    f = read_folder(folder)
    found = quotable_comparisons(f, observed_counts(f))
    assert found, "the folder has register counts for 2019 and 2020"
    for c in found:
        assert (c.register.population, c.register.period) == (
            c.estimate.population,
            c.estimate.period,
        )
    # 2021 has no register count: no sentence may use the 2019->2021 estimate.
    assert {(c.register.period.start, c.register.period.end) for c in found} == {(2019, 2020)}
    text = visible_text(render_report(folder, "en"))
    # The register's 2019->2020 change is set against the estimate's 2019->2020 change (-16%,
    # P(fell) 75%), not against 2019->2021 (-5%, 57%).
    assert "From 2019 to 2020" in text and "−16%" in text and "75.0%" in text
    assert "57.0%" not in text and "−5.0%" not in text


def test_dutch_minors_without_shown_register_counts_get_no_sentence(folder):
    f = read_folder(folder)
    pops = {c.register.population for c in quotable_comparisons(f, observed_counts(f))}
    assert "Dutch minors" not in pops  # 2020's count is suppressed; changes.csv has no minors


def test_write_reports_writes_both_languages_and_publication_copies(folder):
    written = write_reports(folder)
    assert [p.name for p in written] == ["report.en.html", "report.nl.html"]
    assert (folder / "publish" / "per_year.csv").is_file()
    assert "mcse_median" not in pd.read_csv(folder / "publish" / "per_year.csv").columns
