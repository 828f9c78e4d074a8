"""Bad input ends in one line naming file, line and column (or key), exit code 2, nothing written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hiddenvictims.cli import app

runner = CliRunner()

GOOD_MODEL = 'family = "loglinear"\nname = "m"\ninteractions = []\n'


def invoke(tmp_path, csv_text: str, model_text: str = GOOD_MODEL, extra: tuple[str, ...] = ()):
    data = tmp_path / "table.csv"
    data.write_text(csv_text)
    model = tmp_path / "model.toml"
    model.write_text(model_text)
    out = tmp_path / "out"
    result = runner.invoke(app, ["fit", str(data), "--model", str(model), "--out", str(out), *extra])
    return result, out


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    text = result.stderr.strip()
    assert "Traceback" not in result.output and "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    assert text.startswith("error:")
    for fragment in fragments:
        assert fragment in text, (fragment, text)


CASES = {
    "value other than 0/1": ("A,B,count\n1,0,5\n0,2,3\n1,1,2\n", ("table.csv", "line 3", "column 'B'", "'2'")),
    "negative count": ("A,B,count\n1,0,5\n0,1,-3\n1,1,2\n", ("table.csv", "line 3", "'count'", "negative")),
    "fractional count": ("A,B,count\n1,0,5.5\n0,1,3\n1,1,2\n", ("line 2", "'count'", "not a whole number")),
    "non-numeric count": ("A,B,count\n1,0,five\n0,1,3\n1,1,2\n", ("line 2", "'count'", "not a number")),
    "all-zero pattern": ("A,B,count\n1,0,5\n0,0,3\n1,1,2\n", ("line 3", "all-zero pattern")),
    "duplicate pattern": ("A,B,count\n1,0,5\n0,1,3\n1,0,2\n", ("line 4", "duplicate pattern 10", "line 2")),
    "fewer than two lists": ("A,count\n1,5\n", ("table.csv", "at least two list columns")),
    "empty table": ("A,B,count\n", ("table.csv", "empty")),
    "all counts zero": ("A,B,count\n1,0,0\n0,1,0\n", ("table.csv", "empty")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_tables(tmp_path, case):
    text, fragments = CASES[case]
    result, out = invoke(tmp_path, text)
    assert_one_line_error(result, *fragments)
    assert not out.exists()


def test_missing_count_column(tmp_path):
    result, out = invoke(tmp_path, "A,B,n\n1,0,5\n0,1,3\n", extra=("--format", "patterns"))
    assert_one_line_error(result, "table.csv", "missing column 'count'")
    assert not out.exists()


def test_misspelt_count_column_gets_a_hint(tmp_path):
    result, _ = invoke(tmp_path, "A,B,counts\n1,0,5\n0,1,3\n", extra=("--format", "patterns"))
    assert_one_line_error(result, "missing column 'count'", "--count-column counts")


def test_model_term_with_unknown_list(tmp_path):
    model = 'family = "loglinear"\nname = "m"\ninteractions = ["A:C"]\n'
    result, out = invoke(tmp_path, "A,B,count\n1,0,5\n0,1,3\n1,1,2\n", model_text=model)
    assert_one_line_error(result, "term 'A:C'", "unknown list 'C'", "lists: A, B")
    assert not out.exists()


def test_unknown_model_key_with_hint(tmp_path):
    model = 'family = "loglinear"\nname = "m"\ninteraction = ["A:B"]\n'
    result, _ = invoke(tmp_path, "A,B,count\n1,0,5\n0,1,3\n1,1,2\n", model_text=model)
    assert_one_line_error(result, "model.toml", "unknown key", "interaction", "did you mean 'interactions'")


def test_unknown_family(tmp_path):
    model = 'family = "loglinaer"\nname = "m"\n'
    result, _ = invoke(tmp_path, "A,B,count\n1,0,5\n0,1,3\n1,1,2\n", model_text=model)
    assert_one_line_error(result, "model.toml", "family")


def test_missing_data_file(tmp_path):
    result = runner.invoke(app, ["fit", str(tmp_path / "nope.csv")])
    assert_one_line_error(result, "nope.csv", "no such file")


def test_existing_results_folder_is_not_overwritten(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    result, _ = invoke(tmp_path, "A,B,count\n1,0,5\n0,1,3\n1,1,2\n")
    assert_one_line_error(result, "exists", "--force")
    assert (out / "keep.txt").read_text() == "precious"


def test_bad_run_config_key(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('name = "x"\n[data]\nbundled = "uk_2013_6lists"\n[model]\nspec = "m.toml"\n[sampler]\ndraw = 10\n')
    result = runner.invoke(app, ["run", str(cfg)])
    assert_one_line_error(result, "run.toml", "sampler.draw", "did you mean 'draws'")


def test_unknown_bundled_table(tmp_path):
    cfg = tmp_path / "run.toml"
    (tmp_path / "m.toml").write_text(GOOD_MODEL)
    cfg.write_text('name = "x"\n[data]\nbundled = "uk_2013_6list"\n[model]\nspec = "m.toml"\n')
    result = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "o")])
    assert_one_line_error(result, "uk_2013_6list", "did you mean 'uk_2013_6lists'")
    assert not (tmp_path / "o").exists()
