"""End to end with small real fits: `hiddenvictims scenario run/compare`, results folders, sweeps
with resuming, monitoring precision."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from conftest import load_benchmark
from typer.testing import CliRunner

from hiddenvictims.cli import app
from hiddenvictims.core.errors import InputError
from hiddenvictims.scenario_runner import run_scenario, run_sweep
from hiddenvictims.scenarios.pipeline import prepare

runner = CliRunner()

BASE = """
name = "tiny baseline"
[data]
bundled = "korea_palembang_3lists"
[model]
inline = {{ family = "loglinear", interactions = [] }}
[sampler]
seed = 3
chains = 1
draws = 300
tune = 300
backend = "pymc"
[roles]
anonymous = ["{chat}"]
rename = {{ {chat} = "chat" }}
note = "test: one Korean list plays the chat"
[precision]
draws = 100
tune = 100
chains = 1
backend = "pymc"
[output]
plots = true
languages = ["en", "nl"]
"""


def toml(*lines: str) -> str:
    return "\n".join(lines) + "\n"


SCENARIOS = {
    "null.toml": toml(
        'name = "changes nothing"',
        "[[interventions]]",
        'kind = "chat_reach"',
        "multiplier = 1.0",
        "[[interventions]]",
        'kind = "referral"',
        "probability = 0.0",
    ),
    "both.toml": toml(
        'name = "findable and linked"',
        "[[interventions]]",
        'kind = "combination"',
        "steps = [",
        '  { kind = "chat_reach", multiplier = 2.0 },',
        '  { kind = "referral", probability = 0.5 },',
        "]",
    ),
    "sweep.toml": toml(
        'name = "small sweep"',
        "[[interventions]]",
        'kind = "chat_reach"',
        "multiplier = 1.0",
        "[[interventions]]",
        'kind = "referral"',
        "probability = 0.0",
        "[sweep]",
        "chunk_size = 2",
        "workers = 0",
        "[[sweep.axes]]",
        'name = "reach"',
        'path = "interventions.0.multiplier"',
        "values = [1.0, 2.0, 3.0]",
        "[[sweep.axes]]",
        'name = "referral"',
        'path = "interventions.1.probability"',
        "values = [0.0, 0.5]",
    ),
}


@pytest.fixture(scope="module")
def configs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scenarios")
    lists = load_benchmark("korea_palembang_3lists").lists
    (folder / "base.toml").write_text(BASE.format(chat=lists[-1]))
    register = lists[0]
    for name, text in SCENARIOS.items():
        (folder / name).write_text(f'extends = "base.toml"\n{text}')
    # referral needs a target among the two register lists
    for name in ("null.toml", "both.toml", "sweep.toml"):
        path = folder / name
        path.write_text(path.read_text() + f'[roles]\nreferral_to = "{register}"\n')
    return folder


def summary(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "summary.csv")


@pytest.fixture(scope="module")
def runs(configs, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    done = {}
    for name in ("base", "null"):
        result = runner.invoke(
            app, ["scenario", "run", str(configs / f"{name}.toml"), "--out", str(out / name), "--allow-unconverged"]
        )
        assert result.exit_code == 0, result.output
        done[name] = out / name
    return done


def test_a_scenario_that_changes_nothing_reproduces_the_baseline_run_exactly(runs):
    base, null = summary(runs["base"]), summary(runs["null"])
    b = base[base["variant"] == "baseline"].reset_index(drop=True)
    for variant in ("baseline", "scenario"):
        s = null[null["variant"] == variant].reset_index(drop=True)
        pd.testing.assert_frame_equal(s.drop(columns="variant"), b.drop(columns="variant"), check_exact=True)
    assert (null.loc[null["variant"] == "change", ["mean", "median", "lower", "upper"]] == 0).all().all()


def test_results_folder_and_manifest(runs, configs):
    folder = runs["null"]
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "manifest.json",
        "outcomes.en.png",
        "outcomes.nc",
        "outcomes.nl.png",
        "publish",
        "report.en.html",
        "report.nl.html",
        "summary.csv",
        "summary.json",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    prep = prepare(configs / "null.toml")
    assert manifest["seed"] == 3 and manifest["data_hash"] == prep.table.data_hash()
    assert manifest["config"]["scenario"]["interventions"][0]["kind"] == "chat_reach"
    assert [Path(f).name for f in manifest["config"]["config_files"]] == ["base.toml", "null.toml"]
    assert {"numpy", "xarray", "dask", "hiddenvictims"} <= set(manifest["versions"])
    assert len(manifest["capture_hash"]) == 64
    record = json.loads((folder / "summary.json").read_text())
    assert record["interval"] == {"kind": "equal-tailed", "prob": 0.95}
    assert any("never the population" in n for n in record["notes"])
    assert any("plays the chat" in n for n in record["notes"])
    ds = xr.open_dataset(folder / "outcomes.nc", engine="h5netcdf")
    assert list(ds["variant"].values) == ["baseline", "scenario", "change"]
    ds.close()


def test_existing_results_are_not_overwritten_without_force(runs, configs):
    result = runner.invoke(app, ["scenario", "run", str(configs / "null.toml"), "--out", str(runs["null"])])
    assert result.exit_code == 2 and "--force" in result.stderr


def test_compare_shares_the_fit_and_writes_a_table_and_plots(configs, tmp_path):
    out = tmp_path / "cmp"
    result = runner.invoke(
        app,
        [
            "scenario",
            "compare",
            "--allow-unconverged",
            str(configs / "null.toml"),
            str(configs / "both.toml"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "changes nothing" in result.output and "findable and linked" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "compare.csv",
        "compare.en.png",
        "compare.json",
        "compare.nl.png",
        "manifest.json",
    ]
    record = json.loads((out / "compare.json").read_text())
    assert record["fits_shared"] is True
    table = pd.read_csv(out / "compare.csv")
    med = table.query("quantity == 'registered' and variant == 'change' and stratum == 'all'").set_index("scenario")
    assert med.loc["changes nothing", "median"] == 0 and med.loc["findable and linked", "median"] > 0


def test_sweep_run_resumes_after_an_interruption(configs, tmp_path):
    prep = prepare(configs / "sweep.toml")
    target = tmp_path / "sweep"
    calls = []

    def interrupt(i):
        calls.append(i)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(InputError, match="2 of 3 chunks saved"):
        run_sweep(prep, target, on_chunk=interrupt)
    partial = tmp_path / "sweep.partial"
    assert not target.exists() and (partial / "capture.nc").exists()
    resumed = []
    run_sweep(prep, target, on_chunk=resumed.append)
    assert len(resumed) == 1 and not partial.exists()
    files = {p.name for p in target.iterdir()}
    assert {
        "sweep.nc",
        "sweep.csv",
        "manifest.json",
        "summary.json",
        "heatmap_hidden.en.png",
        "heatmap_registered.nl.png",
    } <= files
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["sweep"]["reused_chunks"] == 2 and manifest["sweep"]["computed_chunks"] == 1
    with xr.open_dataset(target / "sweep.nc", engine="h5netcdf") as ds:
        assert ds["hidden"].dims == ("reach", "referral", "stratum", "stat")
        assert float(ds["registered_change"].sel(reach=1.0, referral=0.0, stat="median").item()) == 0.0
    # the same sweep from scratch gives the same numbers as the resumed one
    fresh = tmp_path / "fresh"
    run_scenario(configs / "sweep.toml", out=fresh)
    with (
        xr.open_dataset(fresh / "sweep.nc", engine="h5netcdf") as a,
        xr.open_dataset(target / "sweep.nc", engine="h5netcdf") as b,
    ):
        xr.testing.assert_equal(a, b)


def test_monitoring_precision_is_stated_with_its_replicates(configs, tmp_path):
    out = tmp_path / "prec"
    result = runner.invoke(
        app,
        [
            "scenario",
            "run",
            "--allow-unconverged",
            str(configs / "both.toml"),
            "--out",
            str(out),
            "--precision",
            "--replicates",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "precision.csv")
    assert sorted(frame["variant"].unique()) == ["baseline", "scenario"] and frame["replicate"].nunique() == 2
    assert (frame["width"] > 0).all() and (frame["upper"] > frame["lower"]).all()
    record = json.loads((out / "summary.json").read_text())["precision"]
    assert record["replicates"] == 2 and record["interval_prob"] == 0.95
    assert "2 replicates" in result.output
