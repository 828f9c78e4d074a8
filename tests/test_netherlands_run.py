"""The Dutch baseline end to end from the command line (short chains), and the Monte Carlo
errors its reports state."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hiddenvictims.cli import app
from hiddenvictims.core.diagnostics import quantile_mcse

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import regenerate  # noqa: E402

runner = CliRunner()
STEM = regenerate.DUTCH_CHAT_ONLY


def short_config(tmp_path: Path) -> tuple[Path, Path]:
    """The shipped chat-only config as its golden baseline runs it (tests/golden/regenerate.py):
    2 chains x 150 draws after 150 warm-up, PyTensor's cached C backend, output inside
    ``tmp_path``."""
    scenarios = regenerate.reduced_copy(tmp_path)
    text = (scenarios / f"{STEM}.toml").read_text()
    for setting in ("draws = 150", "tune = 150", "chains = 2", 'compile_mode = "c"'):
        assert setting in text, setting  # the shipped config still has the keys the copy shortens
    return scenarios / f"{STEM}.toml", regenerate.output_dir(scenarios, STEM)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    cfg, out = short_config(tmp_path_factory.mktemp("nl"))
    result = runner.invoke(app, ["run", str(cfg), "--allow-unconverged"])
    return cfg, out, result


def test_the_dutch_run_prints_and_writes_every_output(run):
    cfg, out, result = run
    assert result.exit_code == 0, result.output
    words = result.output.split()  # the table wraps its cells
    assert words.count("victims") >= 3 and words.count("minors") >= 3
    assert "Falling registrations" in result.output and "Monte Carlo error" in result.output
    for name in (
        "per_year.csv",
        "sensitivity.csv",
        "sensitivity.png",
        "prior_posterior.csv",
        "report.en.md",
        "report.nl.md",
        "manifest.json",
        "idata.nc",
        "data_used.csv",
    ):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "per_year.csv")
    assert set(table["year"]) == {2019, 2020, 2021}
    n = table[table["quantity"] == "N"]
    assert (n["lower"] <= n["median"]).all() and (n["median"] <= n["upper"]).all()
    assert (n["mcse_median"] > 0).all() and (n["mcse_upper"] > n["mcse_median"]).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 20191231 and manifest["data_hash"]
    assert "Monte-Carlofout" in (out / "report.nl.md").read_text()
    assert "Monte Carlo error" in (out / "report.en.md").read_text()


def test_the_dutch_run_does_not_overwrite_without_force(run):
    cfg, out, _ = run
    before = (out / "per_year.csv").read_bytes()
    again = runner.invoke(app, ["run", str(cfg), "--allow-unconverged"])
    assert again.exit_code == 2 and "--force" in again.stderr
    assert (out / "per_year.csv").read_bytes() == before


def test_quantile_mcse_matches_the_spread_of_repeated_runs():
    """On independent Normal draws (4 chains x 500) the stated standard error of the median and
    of the 97.5% point agrees with their spread over 300 repetitions (closed form for the median:
    sqrt(p (1 - p) / n) / phi(0) = 0.0198). 300 repetitions estimate a sd to about 4% (1 s.e.):
    the mean stated error must lie within 15% of it."""
    rng = np.random.default_rng(7)
    reps = [rng.standard_normal((4, 500)) for _ in range(300)]
    probs = (0.5, 0.975)
    stated = np.array([quantile_mcse(r, probs) for r in reps])
    spread = np.array([np.quantile(r.ravel(), probs) for r in reps]).std(axis=0, ddof=1)
    np.testing.assert_allclose(stated.mean(axis=0), spread, rtol=0.15)
    np.testing.assert_allclose(spread[0], np.sqrt(0.25 / 2000) / 0.3989, rtol=0.15)
    # correlated chains (AR(1), rho = 0.9) must state a larger error than independent draws
    ar = np.zeros((4, 500))
    e = rng.standard_normal((4, 500))
    for t in range(1, 500):
        ar[:, t] = 0.9 * ar[:, t - 1] + np.sqrt(1 - 0.81) * e[:, t]
    assert quantile_mcse(ar, (0.5,))[0] > 2.5 * stated[:, 0].mean()
    assert np.isnan(quantile_mcse(np.array([[1.0, np.inf], [2.0, 3.0]]), (0.5,))[0])


def test_quantile_mcse_counts_chains_stuck_in_different_modes():
    """Chains that each stay in one of two modes (means 0 and 0.5, equally likely, one per chain
    for its whole run: a mixture configuration that switches more slowly than the run) have a
    pooled median whose spread over repeated runs is about 0.5 * sd(Binomial(4, 1/2)) / 4 = 0.125
    (plus the within-mode error, 0.028). The stated error must match that spread (300 repetitions, 4%
    sampling error of a sd, 4 chains giving a noisy spread estimate: within 25%), while the
    ESS-based error alone is about half of it (0.064 here)."""
    import arviz as az

    rng = np.random.default_rng(11)
    reps = [rng.standard_normal((4, 500)) + 0.5 * rng.integers(0, 2, size=(4, 1)) for _ in range(300)]
    stated = np.array([quantile_mcse(r, (0.5,))[0] for r in reps])
    ess_based = np.array([float(az.mcse(r, method="quantile", prob=0.5)) for r in reps])
    spread = np.std([np.median(r) for r in reps], ddof=1)
    assert np.sqrt(np.mean(stated**2)) == pytest.approx(spread, rel=0.25)
    assert np.sqrt(np.mean(ess_based**2)) < 0.6 * spread


def test_the_baseline_folder_is_reused_by_scenarios_and_reports_vulnerable_groups(run):
    """A scenario extending the same baseline takes the posterior from the folder (no refit);
    both reports carry the vulnerable-group table with its representativeness sensitivity."""
    from hiddenvictims.scenario_runner import run_scenario

    cfg, out, result = run
    assert result.exit_code == 0, result.output
    for lang, words in (("en", "Sensitivity to representativeness"), ("nl", "Gevoeligheid voor representativiteit")):
        assert words in (out / f"report.{lang}.md").read_text()
    scenario = cfg.parent / "scenario.toml"
    scenario.write_text(
        f'extends = "{cfg.name}"\nname = "twice"\n[people]\nbaseline_dir = "{out.as_posix()}"\n'
        '[[interventions]]\nkind = "chat_reach"\nmultiplier = 2.0\n'
        '[output]\nplots = false\nlanguages = ["en"]\n'
    )
    folder = run_scenario(scenario, out=cfg.parent / "scenario-out")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["baseline"]["reused"], manifest["baseline"]
    rows = pd.read_csv(folder / "summary.csv")
    chat = rows[
        (rows["quantity"] == "reached_chat")
        & (rows["variant"] == "baseline")
        & (rows["year"] == "all")
        & (rows["age"] == "all")
    ].iloc[0]
    assert chat["observed"] and chat["median"] == 834 and chat["lower"] == chat["upper"]


def test_golden_baseline_of_the_chat_only_config(run):
    """The run above is the golden run of netherlands-chat-only (same reduced config)."""
    _, out, result = run
    assert result.exit_code == 0, result.output
    regenerate.assert_matches_golden(STEM, out)
