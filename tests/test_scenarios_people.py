"""The forward model of people: against a person-by-person Monte Carlo, its own bounds, observed
counts without intervals, the compiled sweep kernel, reuse of the baseline folder, vulnerable
groups and monitoring-precision statements. Synthetic posteriors only (no fits)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from hiddenvictims.core.results import versions
from hiddenvictims.core.testing import fake_dutch_posterior
from hiddenvictims.scenario_runner import run_people
from hiddenvictims.scenarios import people as pp
from hiddenvictims.scenarios import people_engine as pe
from hiddenvictims.scenarios.baseline import load_baseline, match
from hiddenvictims.scenarios.people_run import check_bound, evaluate_people
from hiddenvictims.scenarios.pipeline import prepare
from hiddenvictims.scenarios.precision import MIN_REPLICATES, median_mcse, precision_summary
from hiddenvictims.scenarios.vulnerable import (
    Representativeness,
    estimates,
    load_composition,
    sensitivity,
)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
DUTCH = [
    "chat-twice-findable.toml",
    "chat-referral.toml",
    "chat-findable-and-referral.toml",
    "chat-parental-outreach.toml",
]


# ----------------------------------------------------------------------------- Monte Carlo
def _gamma_frailty(rng, n, v):
    return rng.gamma(1.0 / v, v, size=n) if v > 0 else np.ones(n)


def _simulate(rng, n, p_chat, p_reg, v):
    """People with their own hazards: chat and register chances differ person by person
    (gamma frailty of variance v), independently of each other."""
    lam_c = -np.log1p(-p_chat) if v == 0 else (np.expm1(-v * np.log1p(-p_chat)) / v)
    lam_r = -np.log1p(-p_reg) if v == 0 else (np.expm1(-v * np.log1p(-p_reg)) / v)
    hc = lam_c * _gamma_frailty(rng, n, v)
    hr = lam_r * _gamma_frailty(rng, n, v)
    chat = rng.uniform(size=n) < -np.expm1(-hc)
    reg = rng.uniform(size=n) < -np.expm1(-hr)
    return hc, hr, chat, reg


@pytest.mark.parametrize("v", [0.0, 2.0])
def test_predicted_newly_reached_and_registered_match_a_person_by_person_monte_carlo(v):
    """Two groups with known chances per person; a scenario (chat x2.5, register x1.5, referral
    30%) predicted from the cells alone agrees with simulating every person, per group, within
    4 binomial standard deviations."""
    rng = np.random.default_rng(20261130)
    kc, kr, r = 2.5, 1.5, 0.3
    groups = {"a": (60_000, 0.08, 0.15), "b": (40_000, 0.25, 0.05)}
    cells, mc = [], {}
    for name, (n, p_chat, p_reg) in groups.items():
        hc, hr, chat, reg = _simulate(rng, n, p_chat, p_reg, v)
        cells.append([np.sum(~chat & ~reg), np.sum(chat & ~reg), np.sum(~chat & reg), np.sum(chat & reg)])
        # the scenario, person by person: extra hazard (k - 1) h for the not yet found
        new_chat = ~chat & (rng.uniform(size=n) < -np.expm1(-(kc - 1) * hc))
        new_reg = ~reg & (rng.uniform(size=n) < -np.expm1(-(kr - 1) * hr))
        chat2, reg2 = chat | new_chat, reg | new_reg
        referred = chat2 & ~reg2 & (rng.uniform(size=n) < r)
        reg2 = reg2 | referred
        mc[name] = (new_chat.sum(), (reg2 & ~reg).sum(), n)
    people = pp.PeopleDraws(np.array(cells, dtype=float).T[:, None, :], {"group": tuple(groups)})
    plan = pp.PeoplePlan(chat=kc, register=kr, referral=r, heterogeneity=v)
    base, scen = pp.evaluate(people, None), pp.evaluate(people, plan)
    for j, name in enumerate(groups):
        new_reached, new_reg, n = mc[name]
        pred_reached = scen[0, 0, j] - base[0, 0, j]
        pred_reg = scen[1, 0, j] - base[1, 0, j]
        for pred, seen in ((pred_reached, new_reached), (pred_reg, new_reg)):
            p = pred / n
            # the baseline cells are themselves one draw: two binomial variances
            sd = np.sqrt(2 * n * p * (1 - p))
            assert abs(pred - seen) < 4 * sd, (name, pred, seen, sd)


def test_the_hazard_rule_does_not_cap_and_is_smooth():
    """1 - (1 - p)^k: strictly below everyone for any finite k, and monotone in k."""
    cells = np.array([[900.0], [100.0], [50.0], [10.0]])[:, None, :]
    people = pp.PeopleDraws(cells, {"s": ("x",)})
    hidden = [pp.evaluate(people, pp.PeoplePlan(chat=k))[3].item() for k in (1, 2, 5, 20, 50)]
    assert all(a > b for a, b in zip(hidden, hidden[1:], strict=False))
    assert hidden[-1] > 0
    assert hidden[1] == pytest.approx(900 * (1 - 100 / 1000))


# ----------------------------------------------------------------------------- shipped configs
@pytest.fixture(scope="module")
def fake_baseline():
    from hiddenvictims.scenarios.baseline import Baseline

    post = fake_dutch_posterior(600, seed=4)
    return Baseline(pp.from_posterior(post, "synthetic"), True, "synthetic", "test")


@pytest.mark.parametrize("name", DUTCH)
def test_no_shipped_scenario_reduces_the_hidden_count_beyond_the_models_bound(name, fake_baseline):
    prep = prepare(SCENARIOS / name)
    result = evaluate_people(prep, fake_baseline)
    assert check_bound(result) <= 1e-9 * result.base[3].max()
    drop = result.base[3] - result.scen[3]
    assert np.all(drop < result.base[3])  # nobody's chance reaches 1: someone always stays hidden
    assert np.all(drop >= -1e-9 * result.base[3].max())


@pytest.mark.parametrize("name", DUTCH)
def test_observed_quantities_carry_no_interval(name, fake_baseline, tmp_path):
    prep = prepare(SCENARIOS / name)
    out = run_people(prep, tmp_path / "r", baseline=fake_baseline)
    summary = json.loads((out / "summary.json").read_text())["rows"]
    chat = [
        r
        for r in summary
        if r["quantity"] == "reached_chat"
        and r["variant"] == "baseline"
        and r["age"] == "all"
        and r.get("group", "all") == "all"
    ]
    assert chat and all(r["observed"] and r["lower"] == r["upper"] == r["median"] for r in chat)
    total = next(r for r in chat if r["year"] == "all")
    assert total["median"] == 834 and total["period"] == "sum 2019-2021"
    for lang in ("en", "nl"):
        text = (out / f"report.{lang}.md").read_text()
        assert "834 (" + ("observed" if lang == "en" else "waargenomen") + ")" in text
    # nothing estimated is shown as observed
    assert not any(r["observed"] for r in summary if r["quantity"] == "hidden")


def test_reports_and_charts_are_written_in_both_languages(fake_baseline, tmp_path):
    out = run_people(prepare(SCENARIOS / "chat-parental-outreach.toml"), tmp_path / "p", baseline=fake_baseline)
    for f in (
        "report.en.md",
        "report.nl.md",
        "change.en.png",
        "levels.nl.png",
        "groups.csv",
        "groups_sensitivity.csv",
        "reach_heterogeneity.csv",
        "manifest.json",
    ):
        assert (out / f).is_file(), f
    en = (out / "report.en.md").read_text()
    assert "exploited by parents" in en and "Sensitivity to representativeness" in en
    assert "uitgebuit door ouders" in (out / "report.nl.md").read_text()


# ----------------------------------------------------------------------------- sweep kernel
@pytest.mark.parametrize("v", [0.0, 1.5])
def test_compiled_sweep_kernel_equals_the_numpy_forward_model(v):
    people = pp.from_posterior(fake_dutch_posterior(300, seed=2))
    chats = np.linspace(0.5, 3.0, 7)
    plans = [pp.PeoplePlan(chat=c, register=1.2, referral=0.25, heterogeneity=v) for c in chats]
    slow = pe.sweep_stats(people, pe.plans_for_cells(plans, people.shape))
    m = int(np.prod(people.shape))
    fast = pe.sweep_stats_compiled(
        people, np.repeat(chats[:, None], m, 1), np.full((7, m), 1.2), np.full((7, m), 0.25), v
    )
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-7)


def test_sweep_through_dask_equals_the_same_sweep_in_process(fake_baseline):
    from hiddenvictims.scenarios.people_sweep import run_cells

    people = fake_baseline.people.thin(200)
    m = int(np.prod(people.shape))
    chat = np.repeat(np.linspace(1, 3, 12)[:, None], m, 1)
    params = (chat, np.ones_like(chat), np.full_like(chat, 0.2))
    local, _ = run_cells(people, params, 0.0, workers=0)
    dask, rec = run_cells(people, params, 0.0, workers=1, chunk_size=4)
    assert rec["chunks"] == 2  # a few large chunks per worker, never more than the cells
    np.testing.assert_array_equal(local, dask)


# ----------------------------------------------------------------------------- reuse
def _baseline_folder(prep, folder: Path) -> Path:
    from hiddenvictims.scenarios.baseline import SCENARIO_ONLY
    from hiddenvictims.scenarios.schema import NOT_FIT_KEYS

    folder.mkdir(parents=True)
    post = fake_dutch_posterior(200, seed=9)
    post.to_netcdf(folder / "idata.nc", group="posterior", engine="h5netcdf")
    run = {k: v for k, v in prep.cfg.model_dump(mode="json").items() if k not in (*NOT_FIT_KEYS, *SCENARIO_ONLY)}
    (folder / "manifest.json").write_text(
        json.dumps({"config": {"run": run}, "data_hash": prep.table.data_hash(), "versions": versions()})
    )
    return folder


def test_scenarios_reuse_a_matching_baseline_folder_and_say_why_not_otherwise(tmp_path):
    prep = prepare(SCENARIOS / "chat-twice-findable.toml")
    folder = _baseline_folder(prep, tmp_path / "base")
    prep.cfg = prep.cfg.model_copy(update={"people": prep.cfg.people.model_copy(update={"baseline_dir": str(folder)})})
    assert match(prep, folder) is None
    base = load_baseline(prep, fit=False)
    assert base.reused and base.people.n_draws == 200
    record = json.loads((folder / "manifest.json").read_text())
    for key, value, says in (
        ("data_hash", "0" * 64, "other data"),
        ("versions", {"hiddenvictims": "0.0.0"}, "hiddenvictims 0.0.0"),
    ):
        other = tmp_path / f"other-{key}"
        shutil.copytree(folder, other)
        (other / "manifest.json").write_text(json.dumps({**record, key: value}))
        assert says in match(prep, other)
    assert "no baseline results" in match(prep, tmp_path / "absent")


# ----------------------------------------------------------------------------- groups
def test_every_composition_figure_has_a_documented_source():
    comp = load_composition()
    sources = (ROOT / "src/hiddenvictims/data/netherlands/SOURCES.md").read_text()
    assert set(comp["source"]) and all(s in sources for s in comp["source"])
    assert ((comp["share"] > 0) & (comp["share"] < 1)).all()
    parents = comp[comp["group"] == "parents"].set_index("year")["share"]
    assert parents.loc[2021] == pytest.approx(0.16)
    assert parents.loc[2020] == pytest.approx(1 / 7, abs=1e-3)


def test_group_estimates_grow_with_under_reach_and_minors_come_from_the_model(fake_baseline):
    comp = load_composition()
    est = estimates(fake_baseline.people, comp, 2021, Representativeness(), seed=1)
    assert list(est["group"])[:2] == ["minor", "under_15"]
    minors = est.set_index("group").loc["minor"]
    n = fake_baseline.people
    direct = np.median((n.N - n.cells[2] - n.cells[3])[:, 2, 0])
    assert minors["not_registered_median"] == pytest.approx(direct)
    assert (est["not_registered_lower"] < est["not_registered_upper"]).all()
    sens = sensitivity(fake_baseline.people, comp, 2021, seed=1)
    for _, part in sens.groupby("group"):
        assert np.all(np.diff(part.sort_values("delta")["not_registered_median"]) > 0)


# ----------------------------------------------------------------------------- precision
def _frame(k, widths, covered=True):
    import pandas as pd

    rows = []
    for r in range(k):
        for variant in ("baseline", "scenario"):
            w = widths[r] * (0.8 if variant == "scenario" else 1.0)
            rows.append(
                {
                    "replicate": r,
                    "variant": variant,
                    "width": w,
                    "relative_width": w / 1e3,
                    "relative_error": 0.0,
                    "covered": covered,
                }
            )
    return pd.DataFrame(rows)


def test_precision_statements_need_enough_replicates_and_are_medians():
    rng = np.random.default_rng(1)
    few = precision_summary(_frame(4, rng.lognormal(8, 1, 4)))
    assert "baseline" not in few and few["dropped"]
    widths = rng.lognormal(8, 1.5, MIN_REPLICATES)  # heavy-tailed widths
    out = precision_summary(_frame(MIN_REPLICATES, widths))
    assert out["baseline"]["median_width"] == pytest.approx(np.median(widths))
    assert out["width_ratio"]["median"] == pytest.approx(0.8)


def test_median_mcse_matches_the_spread_of_medians():
    rng = np.random.default_rng(7)
    k = 40
    meds = [np.median(rng.lognormal(0, 1, k)) for _ in range(2000)]
    est = np.median([median_mcse(rng.lognormal(0, 1, k)) for _ in range(400)])
    assert est == pytest.approx(np.std(meds), rel=0.3)


def test_referral_drops_the_scenarios_precision_statement():
    from hiddenvictims.scenarios.interventions import parse_interventions

    steps = parse_interventions([{"kind": "referral", "probability": 0.5}])
    out = precision_summary(_frame(MIN_REPLICATES, np.full(MIN_REPLICATES, 100.0)), steps)
    assert "scenario" not in out and "width_ratio" not in out
    assert any("referral" in d for d in out["dropped"])


def test_a_dutch_sweep_reuses_the_baseline_and_writes_heatmaps_with_uncertainty(tmp_path):
    """End to end through `scenario run` (no fit: the baseline folder matches)."""
    from hiddenvictims.scenario_runner import run_scenario

    shutil.copy(SCENARIOS / "netherlands-chat-only.toml", tmp_path)
    base_folder = tmp_path / "base"
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        'extends = "netherlands-chat-only.toml"\nname = "sweep"\n'
        f'[people]\nbaseline_dir = "{base_folder}"\n'
        '[[interventions]]\nkind = "chat_reach"\nmultiplier = 1.0\n'
        '[[interventions]]\nkind = "referral"\nprobability = 0.0\n'
        "[sweep]\nworkers = 0\n"
        '[[sweep.axes]]\nname = "reach"\npath = "interventions.0.multiplier"\n'
        "values = [1.0, 2.0, 3.0]\n"
        '[[sweep.axes]]\nname = "referral"\npath = "interventions.1.probability"\n'
        "values = [0.0, 0.5]\n"
        '[output]\nlanguages = ["en"]\n'
    )
    _baseline_folder(prepare(sweep), base_folder)
    out = run_scenario(sweep, out=tmp_path / "out")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["baseline"]["reused"] and manifest["engine"] == "people"
    ds = xr.open_dataset(out / "sweep.nc", engine="h5netcdf")
    hidden = ds["hidden_change"].sel(stratum="total", stat="median").values
    assert hidden[0, 0] == 0 and np.all(np.diff(hidden[:, 0]) < 0)  # more reach, fewer hidden
    assert np.all(ds["not_registered_change"].sel(stratum="total", stat="median").values[:, 1] < 0)
    assert (out / "heatmap_hidden.en.png").is_file() and (out / "report.en.md").is_file()
    ds.close()


def test_capture_probabilities_of_the_synthesis_model_are_used_when_present():
    """p_register and p_chat (the evidence-synthesis interface) set each person's chances; equal
    to the counts' shares they change nothing, and a higher p_chat reaches more."""
    post = fake_dutch_posterior(100, seed=3)
    derived = pp.from_posterior(post)
    assert derived.derived_probabilities and derived.scale is None
    same = post.assign(p_register=post["N_registered"] / post["N"], p_chat=post["N_anonymous"] / post["N"])
    given = pp.from_posterior(same)
    assert not given.derived_probabilities
    plan = pp.PeoplePlan(chat=2.0)
    np.testing.assert_allclose(pp.evaluate(given, plan), pp.evaluate(derived, plan), rtol=1e-12)
    higher = pp.from_posterior(same.assign(p_chat=same["p_chat"] * 1.5))
    np.testing.assert_array_equal(pp.evaluate(higher, None), pp.evaluate(derived, None))
    assert np.all(pp.evaluate(higher, plan)[0] > pp.evaluate(derived, plan)[0])


def test_compare_of_dutch_scenarios_loads_the_baseline_once(tmp_path):
    from hiddenvictims.scenario_runner import compare

    shutil.copy(SCENARIOS / "netherlands-chat-only.toml", tmp_path)
    base_folder = tmp_path / "base"
    paths = []
    for name, step in (("a", 'kind = "chat_reach"\nmultiplier = 2.0'), ("b", 'kind = "referral"\nprobability = 0.5')):
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f'extends = "netherlands-chat-only.toml"\nname = "{name}"\n'
            f'[people]\nbaseline_dir = "{base_folder}"\n'
            f'[[interventions]]\n{step}\n[output]\nlanguages = ["en"]\n'
        )
        paths.append(path)
    _baseline_folder(prepare(paths[0]), base_folder)
    out = compare(paths, out=tmp_path / "cmp")
    record = json.loads((out / "compare.json").read_text())
    assert len(record["baselines"]) == 1 and record["baselines"][0]["reused"]
    assert (out / "compare.en.png").is_file() and (out / "report.en.md").is_file()
