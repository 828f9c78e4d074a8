"""Results folders: contents, manifest, atomic writes, reproducibility from the CLI."""

from __future__ import annotations

import json

import pytest
from conftest import FAST, load_benchmark
from typer.testing import CliRunner

from hiddenvictims.cli import app
from hiddenvictims.core.results import atomic_dir, save_estimate, versions, write_json
from hiddenvictims.core.spec import LoglinearSpec
from hiddenvictims.families import fit

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def korea_estimate():
    return fit(load_benchmark("korea_palembang_3lists"), LoglinearSpec(), FAST)


def test_results_folder_has_everything_and_a_manifest(tmp_path, korea_estimate):
    out = save_estimate(korea_estimate, tmp_path / "res")
    assert sorted(p.name for p in out.iterdir()) == ["idata.nc", "manifest.json", "summary.csv", "summary.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == FAST.seed
    assert manifest["data_hash"] == korea_estimate.table.data_hash()
    assert manifest["config"]["model"]["family"] == "loglinear"
    assert {"numpy", "pymc", "arviz", "python", "hiddenvictims"} <= set(manifest["versions"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interval"] == {"kind": "equal-tailed", "prob": 0.95}
    import arviz as az

    idata = az.from_netcdf(out / "idata.nc")
    assert idata.posterior.attrs["data_hash"] == manifest["data_hash"]
    assert "N" in idata.posterior


def test_failed_write_leaves_old_results_untouched(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "summary.json").write_text("old")
    write_json(out / "manifest.json", {"versions": versions()})
    with pytest.raises(RuntimeError), atomic_dir(out, force=True) as tmp:
        (tmp / "summary.json").write_text("new, half written")
        raise RuntimeError("crash mid-write")
    assert (out / "summary.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["res"]


def test_cli_same_seed_identical_summary_json(tmp_path):
    data = ROOT / "src" / "hiddenvictims" / "data" / "benchmarks" / "korea_palembang_3lists.csv"
    args = [
        "fit",
        str(data),
        "--model",
        str(ROOT / "models" / "independence.toml"),
        "--seed",
        "7",
        "--chains",
        "2",
        "--draws",
        "300",
        "--tune",
        "300",
        "--allow-unconverged",
    ]
    r1 = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    r2 = runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    assert (tmp_path / "a" / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()
    r3 = runner.invoke(app, [*args, "--out", str(tmp_path / "a"), "--force"])
    assert r3.exit_code == 0
    assert "population N" in r1.output


def test_run_config_end_to_end(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        'name = "korea"\n[data]\nbundled = "korea_palembang_3lists"\n'
        f'[model]\nspec = "{ROOT / "models" / "independence.toml"}"\n'
        "[sampler]\nchains = 2\ndraws = 200\ntune = 200\n"
        f'[output]\ndir = "{tmp_path / "out"}"\n'
    )
    r = runner.invoke(app, ["run", str(cfg), "--allow-unconverged"])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["config"]["run"]["name"] == "korea"
