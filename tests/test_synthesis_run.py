"""The Dutch default run (evidence synthesis) end to end through the CLI, with short chains."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hiddenvictims.studies.netherlands.pipeline import data_path

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import regenerate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: The Dutch scenarios on the synthesis: each reads the baseline's folder (no refit).
SYNTHESIS_SCENARIOS = sorted(regenerate.DUTCH - {regenerate.DUTCH_BASELINE, regenerate.DUTCH_CHAT_ONLY})


@pytest.fixture(scope="module")
def reduced(tmp_path_factory) -> Path:
    """scenarios/ with the golden baselines' reduced draws (tests/golden/regenerate.py): the
    synthesis keeps its full warm-up (a short one leaves the mass matrix unadapted, and every
    draw then builds trajectories of up to 1,024 steps: slower), 4 chains x 200 draws. Its
    results folder is the one the Dutch scenarios in the same copy read."""
    return regenerate.reduced_copy(tmp_path_factory.mktemp("golden"))


@pytest.fixture(scope="module")
def run_dir(reduced):
    out = regenerate.output_dir(reduced, regenerate.DUTCH_BASELINE)
    proc = subprocess.run(
        [sys.executable, "-m", "hiddenvictims.cli", "run", str(reduced / "netherlands-baseline.toml"), *ALLOW],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc


ALLOW = ["--allow-unconverged"]  # short chains


def test_every_output_is_written(run_dir):
    out, proc = run_dir
    for name in (
        "per_year.csv",
        "contributions.csv",
        "variants.csv",
        "report.en.html",
        "report.nl.html",
        "conflicts.csv",
        "sources.csv",
        "diagnostics.csv",
        "bounds.csv",
        "report.en.md",
        "report.nl.md",
        "idata.nc",
        "summary.json",
        "manifest.json",
    ):
        assert (out / name).exists(), name
    assert "What each source contributes" in proc.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 20191231 and len(manifest["data_hash"]) == 64


def test_no_posterior_draw_breaks_a_published_bound(run_dir):
    """Registered Dutch minors never exceed the registered minors of any nationality (read from
    the bundled register figures), and the latent counts hold the observed ones."""
    out, _ = run_dir
    reg = pd.read_csv(data_path("comensha_registrations.csv"))
    bounds = reg[(reg["population"] == "all") & (reg["age"] == "minor")].dropna(subset=["count"])
    post = xr.open_dataset(out / "idata.nc", group="posterior", engine="h5netcdf")
    checked = 0
    for year in post["year"].values:
        rows = bounds[bounds["year"] == year]
        if len(rows):
            minors = post["N_registered"].sel(year=year, age="minor").values
            assert minors.max() <= rows["count"].min()
            checked += 1
    assert checked >= 2  # 2019 and 2020
    dutch = reg[(reg["population"] == "dutch") & (reg["age"] == "all") & (reg["exploitation"] == "all")]
    for year in (2019, 2020):
        observed = float(dutch[dutch["year"] == year]["count"].iloc[0])
        total = post["N_registered"].sel(year=year).sum("age").values
        assert np.all(total == observed)
    n = post["N"].values
    assert np.all(n >= post["N_registered"].values + post["N_anonymous"].values - post["N_both"].values)


def test_contributions_cover_every_source_and_both_factor_variants(run_dir):
    out, _ = run_dir
    contrib = pd.read_csv(out / "variants.csv")
    sources = pd.read_csv(out / "sources.csv")
    variants = set(contrib["variant"])
    for group in sources["group"].unique():
        assert f"without {group}" in variants
    assert {"all evidence", "published estimates x 0.5", "published estimates x 2"} <= variants
    conflicts = pd.read_csv(out / "conflicts.csv")
    assert set(conflicts["group"]) == set(sources["group"])
    assert conflicts["p_value"].between(0, 1).all()


def test_reports_carry_the_headline_in_both_languages(run_dir):
    out, _ = run_dir
    en = (out / "report.en.md").read_text()
    nl = (out / "report.nl.md").read_text()
    assert "In 2020 there were an estimated" in en and "In 2020 waren er naar schatting" in nl
    assert "From 2019 to 2020 registered Dutch victims changed by -36%" in en
    assert "Van 2019 tot 2020" in nl


def test_a_shipped_scenario_runs_on_the_synthesis_and_reuses_its_folder(run_dir, reduced, tmp_path):
    """The shipped Dutch scenarios extend the default (the synthesis): a scenario on the run above
    reads its posterior instead of refitting, and interventions change who is found, never N."""
    shipped = (reduced / "chat-findable-and-referral.toml").read_text()
    assert 'extends = "netherlands-baseline.toml"' in shipped
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hiddenvictims.cli",
            "scenario",
            "run",
            str(reduced / "chat-findable-and-referral.toml"),
            "--out",
            str(tmp_path / "scen"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "baseline posterior reused" in proc.stdout
    summary = pd.read_csv(tmp_path / "scen" / "summary.csv", dtype={"year": str})
    total = summary[(summary["period"] == "sum 2019-2021") & (summary["age"] == "all")]
    total = total.set_index(["quantity", "variant"])
    chat = pd.read_csv(data_path("chat_met_fier.csv"))
    observed = chat[chat["year"].between(2019, 2021) & (chat["quantity"] == "victims")]["value"].sum()
    assert total.loc[("reached_chat", "baseline"), "median"] == observed  # observed, not estimated
    assert total.loc[("reached_chat", "scenario"), "lower"] > observed
    assert total.loc[("newly_registered", "change"), "lower"] > 0  # referral registers people


def test_golden_baseline_of_the_dutch_default(run_dir):
    """The run above is the golden run of netherlands-baseline (same reduced copy)."""
    out, _ = run_dir
    regenerate.assert_matches_golden(regenerate.DUTCH_BASELINE, out)


@pytest.mark.parametrize("stem", SYNTHESIS_SCENARIOS)
def test_golden_baselines_of_the_dutch_scenarios(stem, run_dir, reduced, tmp_path):
    out = regenerate.run_reduced(stem, reduced, tmp_path / stem, {})
    manifest = json.loads((out / "manifest.json").read_text())
    if "baseline" in manifest:  # sweeps record it per point
        assert manifest["baseline"]["reused"], manifest["baseline"]
    regenerate.assert_matches_golden(stem, out)


def test_dutch_notebook_runs_on_the_same_results(run_dir, monkeypatch):
    """notebooks/dutch-case.ipynb top to bottom; it reads the folder above instead of fitting
    the same reduced synthesis again (HV_NOTEBOOK_RESULTS)."""
    from test_notebooks import run_notebook

    out, _ = run_dir
    monkeypatch.setenv("HV_NOTEBOOK_RESULTS", str(out))
    run_notebook("dutch-case", 200, monkeypatch)
