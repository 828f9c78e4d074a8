"""The HTML report: renders from whatever a results folder holds, both languages alike,
numbers in each language's format, warnings visible, like-with-like sentences."""

from __future__ import annotations

import re
import string
from html.parser import HTMLParser

import pandas as pd
import pytest
from report_folder import make_folder, make_synthesis_folder
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


# ------------------------------------------------------------------------------ the synthesis
def _synthesis_statements(folder, lang):
    """What the markdown report of the synthesis says, computed by its own functions."""
    import xarray as xr

    from hiddenvictims.report import synthesis_text as sr
    from hiddenvictims.studies.netherlands.pipeline import dutch_figures

    with xr.open_dataset(folder / "idata.nc", group="posterior", engine="h5netcdf") as post:
        post = post.load()
    conflicts = pd.read_csv(folder / "conflicts.csv")
    return {
        "quotable": sr.quotable(post, dutch_figures((2019, 2020, 2021)), lang),
        "coverage": sr.coverage_text(sr.coverage_numbers(post, conflicts), lang),
        "assumptions": sr.assumptions(sr.theta_interval(post), lang),
    }


@pytest.fixture(scope="module")
def synthesis(tmp_path_factory):
    folder = make_synthesis_folder(tmp_path_factory.mktemp("synthesis") / "results")
    html = {lang: render_report(folder, lang) for lang in ("en", "nl")}
    return folder, html


def _section(html: str, start: str, end: str) -> str:
    """From ``start`` to the first ``end`` after it."""
    i = html.index(start)
    return html[i : html.index(end, i)]


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_synthesis_shows_the_refits_with_published_estimates_halved_and_doubled(synthesis, lang):
    folder, html = synthesis
    text = visible_text(html[lang])
    m = MESSAGES[lang]
    variants = pd.read_csv(folder / "variants.csv")
    year = 2021  # the headline year: the last one
    for variant, key in (
        ("published estimates x 0.5", "contrib_scaled_half"),
        ("published estimates x 2", "contrib_scaled_double"),
    ):
        r = variants[
            (variants["variant"] == variant) & (variants["population"] == "Dutch victims") & (variants["year"] == year)
        ].iloc[0]
        cell = m["cell_interval"].format(
            median=fmt_int(r["median"], lang),
            lower=fmt_int(r["lower"], lang),
            upper=fmt_int(r["upper"], lang),
        )
        # In the table, with the row's own numbers in this language's format ...
        assert f"{m[key]} {cell}" in text, (key, cell)
        # ... and in the chart.
        assert m[key] in _section(html[lang], 'id="rests-on"', 'id="contributions"')
    # Leave-one-out rows are named in the report's language too.
    without = "zonder gepubliceerde schattingen" if lang == "nl" else "without published estimates"
    assert without in text
    if lang == "nl":
        table = visible_text(_section(html[lang], '<table id="contributions">', "</table>"))
        assert "without" not in table and "register counts (CoMensha" not in table


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_synthesis_quotable_sentence_on_the_first_screen_under_the_headline(synthesis, lang):
    folder, html = synthesis
    html = html[lang]
    sentence = _synthesis_statements(folder, lang)["quotable"]
    assert sentence  # the bundled register has 2019 and 2020
    first_screen = html[: html.index('id="rests-on"')]
    assert html.index('class="headline"') < html.index(sentence) < html.index("<svg")
    assert sentence in first_screen
    # Register and estimate over the same years: 2019 to 2020 on both sides.
    if lang == "en":
        assert "From 2019 to 2020 registered Dutch victims changed by -36% (244 to 155)" in sentence
        assert "over the same years" in sentence and "chance that it fell" in sentence
    else:
        assert "Van 2019 tot 2020" in sentence and "(244 naar 155)" in sentence
        assert "in dezelfde jaren" in sentence and "kans dat het daalde" in sentence
    assert "2021" not in sentence


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_synthesis_minors_coverage_sentence_under_do_the_sources_agree(synthesis, lang):
    folder, html = synthesis
    html = html[lang]
    m = MESSAGES[lang]
    coverage = _synthesis_statements(folder, lang)["coverage"]
    section = visible_text(_section(html, m["conflicts_title"], m["assumptions_title"]))
    assert coverage and coverage in section
    if lang == "en":
        assert "'11% registered' (2010-2015) against '2-3%' (2018)" in section
        assert "predictive p-value of 0.20" in section
    else:
        assert "'11% geregistreerd' (2010-2015)" in section and "'2-3%'" in section
        assert "voorspellende p-waarde van 0,20" in section


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_synthesis_assumptions_are_the_synthesis_own(synthesis, lang):
    folder, html = synthesis
    html = html[lang]
    m = MESSAGES[lang]
    section = _section(html, f"<h3>{m['assumptions_title']}</h3>", 'id="estimates"')
    items = re.findall(r"<li>(.*?)</li>", section.split("</ul>")[0], re.S)
    expected = _synthesis_statements(folder, lang)["assumptions"]
    unescape = __import__("html").unescape
    assert [unescape(i) for i in items] == expected
    assert len(expected) == 5 and any("theta" in a for a in expected)
    # Nothing of the chat-only model's list.
    for key in ("assumption_link", "assumption_known", "assumption_minors", "assumption_missing"):
        assert m[key] not in unescape(html), key


def test_synthesis_report_has_equal_content_in_both_languages(synthesis):
    _, html = synthesis
    tags = lambda h: [t for t in _parse_tags(h) if t not in ("path", "g", "use")]  # noqa: E731
    assert tags(html["en"]) == tags(html["nl"])
    # Each language's thousands separator in the refits' table.
    table = {lang: _section(h, '<table id="contributions">', "</table>") for lang, h in html.items()}
    assert re.search(r"<td>\d\.\d{3} ", table["nl"]) and not re.search(r"\d,\d{3}", table["nl"])
    assert re.search(r"<td>\d,\d{3} ", table["en"]) and not re.search(r"\d\.\d{3}", table["en"])


def test_synthesis_refit_rows_keep_small_counts_suppressed(tmp_path):
    folder = make_synthesis_folder(tmp_path / "results")
    variants = pd.read_csv(folder / "variants.csv")
    row = (
        (variants["variant"] == "published estimates x 0.5")
        & (variants["population"] == "Dutch victims")
        & (variants["year"] == 2021)
    )
    variants.loc[row, ["median", "lower", "upper"]] = [3.0, 1.0, 2500.0]
    variants.to_csv(folder / "variants.csv", index=False)
    text = visible_text(render_report(folder, "en"))
    half = MESSAGES["en"]["contrib_scaled_half"]
    assert f"{half} <5 (<5 to 2,500)" in text


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_synthesis_quotable_sentence_fits_a_rise_as_well_as_a_fall(lang):
    """The sentence names the register's change with its sign, never a verb that presumes one."""
    from hiddenvictims.report.sentences import Comparison, EstimateChange, Period, RegisterChange
    from hiddenvictims.report.synthesis_text import quotable_sentence

    period = Period(2019, 2020)
    rise = Comparison(
        RegisterChange("Dutch victims", period, 155.0, 186.0),
        EstimateChange("Dutch victims", period, 0.1, -0.1, 0.3, 0.2),
    )
    sentence = quotable_sentence(rise, lang)
    assert "+20%" in sentence and "+10%" in sentence
    if lang == "nl":
        assert "Van 2019 tot 2020 veranderde het aantal geregistreerde" in sentence
        assert "daalde het aantal" not in sentence and "(155 naar 186)" in sentence
    else:
        assert "registered Dutch victims changed by +20% (155 to 186)" in sentence


def test_synthesis_dutch_report_has_dutch_title_and_source_descriptions(synthesis):
    """Every label translated: the Dutch report's title and the evidence rows' descriptions are
    Dutch (from the run config's title_nl and the bundled translations), the English ones absent."""
    from hiddenvictims.studies.netherlands.evidence import load_evidence, notes_nl

    folder, html = synthesis
    nl, en = visible_text(html["nl"]), visible_text(html["en"])
    assert "Nederland: Nederlandse slachtoffers en Nederlandse minderjarige slachtoffers" in nl
    assert "Netherlands: Dutch victims" not in nl and "Netherlands: Dutch victims" in en
    notes = notes_nl()
    evidence = load_evidence()
    assert set(notes) == set(evidence["id"]), "every evidence row needs its Dutch note"
    assert notes["reg_sexual_minor_2018"] in nl and "van de 132: minderjarigen" in nl
    for english in evidence["note"]:
        assert english not in nl


def test_synthesis_chart_shows_the_register_and_chat_counts_on_a_log_axis(synthesis):
    """The published counts (data_used.csv) are dots on the first chart; the register's 155 is
    40 times below the upper end, so the axis is logarithmic and every dot stays visible; the
    publication copy carries them, and the one quotable sentence is not repeated lower down."""
    from hiddenvictims.report.html import write_publication

    folder, html = synthesis
    for lang in ("en", "nl"):
        svg = html[lang][html[lang].index("<svg") : html[lang].index("</svg>")]
        assert MESSAGES[lang]["series_registered"] in svg and MESSAGES[lang]["series_chat"] in svg
        assert MESSAGES[lang]["axis_people_log"] in svg
        assert MESSAGES[lang]["quotable_title"] not in html[lang]
    observed = pd.read_csv(write_publication(folder) / "observed.csv")
    registered = observed[(observed["series"] == "registered") & (observed["population"] == "Dutch victims")]
    assert registered.set_index("year")["count"].astype(int).to_dict() == {2019: 244, 2020: 155}
