"""Bundled tables, models and configs by name: they work from any directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hiddenvictims.cli import app
from hiddenvictims.core.errors import InputError
from hiddenvictims.data import bundled_names, resolve

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_bundled_models_and_configs_are_the_repositorys():
    assert bundled_names("model") == sorted(p.stem for p in (ROOT / "models").glob("*.toml"))
    assert bundled_names("config") == sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))


def test_fit_by_names_from_outside_the_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "uk"
    result = runner.invoke(
        app,
        [
            "fit",
            "uk_2013_6lists",
            "--model",
            "two-way",
            "--chains",
            "2",
            "--draws",
            "200",
            "--tune",
            "200",
            "--out",
            str(out),
            "--allow-unconverged",
        ],
    )  # short chains
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["model_file"] == "two-way"
    assert "uk_2013_6lists.csv" in manifest["data_source"]


def test_a_path_wins_over_a_name_and_unknown_names_list_the_bundle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two-way").write_text('family = "loglinear"\ninteractions = []\n')
    assert resolve("model", "two-way") == Path("two-way")
    assert resolve("model", "models/two-way.toml").name == "two-way.toml"
    with pytest.raises(InputError, match="no such file .bundled models by name: averaging"):
        resolve("model", "elsewhere/two-way.toml")  # a misspelt path never takes a bundled file
    result = runner.invoke(app, ["fit", "uk_2013_6list"])
    assert result.exit_code == 2 and "uk_2013_6lists" in result.output


def test_datasets_paths_shows_existing_files():
    result = runner.invoke(app, ["datasets", "--paths"])
    assert result.exit_code == 0, result.output
    shown = [Path(w) for w in result.output.split() if w.endswith((".csv", ".toml"))]
    assert len(shown) == sum(len(bundled_names(k)) for k in ("table", "model", "config"))
    assert all(p.is_file() for p in shown)
