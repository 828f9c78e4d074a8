"""``hiddenvictims check``: holds on a rerun with another seed, fails naming the quantity when
one registration is added in a small stratum or a prior changes; JUnit XML; --update."""

from __future__ import annotations

import json
import math
from xml.etree import ElementTree as ET

import pandas as pd
import pytest
from typer.testing import CliRunner

from hiddenvictims.cli import app
from hiddenvictims.core.io import read_table
from hiddenvictims.core.regression import K_SE, REL_FLOOR, compare, folder_quantities
from hiddenvictims.core.results import save_estimate
from hiddenvictims.core.spec import LoglinearPriors, LoglinearSpec, SamplerSettings
from hiddenvictims.families import fit

SAMPLER = dict(chains=2, draws=500, tune=500, backend="pymc")
#: A large stratum and a small one; in the small one the overlap (A and B) is 2 people.
COUNTS = {"big": (400, 300, 120), "small": (20, 15, 2)}


def _table(path, extra_overlap: int = 0):
    rows = []
    for stratum, (a_only, b_only, both) in COUNTS.items():
        both += extra_overlap if stratum == "small" else 0
        rows += [(stratum, 1, 0, a_only), (stratum, 0, 1, b_only), (stratum, 1, 1, both)]
    pd.DataFrame(rows, columns=["region", "A", "B", "count"]).to_csv(path, index=False)
    return read_table(path, strata=["region"])


def _run(tmp_path, name, seed, extra_overlap=0, priors=None):
    table = _table(tmp_path / f"{name}.csv", extra_overlap)
    spec = LoglinearSpec(family="loglinear", name="independence", interactions=[], priors=priors or LoglinearPriors())
    est = fit(table, spec, SamplerSettings(seed=seed, **SAMPLER))
    return save_estimate(est, tmp_path / name)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("check")
    return {
        "base": _run(tmp, "base", seed=1),
        "reseed": _run(tmp, "reseed", seed=2),
        "one_more": _run(tmp, "one_more", seed=1, extra_overlap=1),
        "prior": _run(tmp, "prior", seed=1, priors=LoglinearPriors(intercept_mu=0.0, intercept_sd=0.5)),
    }


def test_summary_json_carries_monte_carlo_errors(runs):
    rows = json.loads((runs["base"] / "summary.json").read_text())["rows"]
    assert rows and all(r["mcse_median"] is not None and r["mcse_median"] > 0 for r in rows if r["quantity"] == "N")
    q = folder_quantities(runs["base"])
    assert {"N small median", "N big upper", "N total lower"} <= set(q["key"])


def test_passes_on_a_rerun_with_another_seed(runs):
    result = CliRunner().invoke(app, ["check", str(runs["reseed"]), "--against", str(runs["base"])])
    assert result.exit_code == 0, result.output
    table = compare(folder_quantities(runs["reseed"]), folder_quantities(runs["base"]))
    # Different draws: the runs differ, but within the stated tolerance.
    assert (table["diff"].abs() > 0).any() and table["holds"].all()


def test_fails_naming_the_quantity_when_one_registration_is_added(runs, tmp_path):
    xml = tmp_path / "check.xml"
    result = CliRunner().invoke(
        app, ["check", str(runs["one_more"]), "--against", str(runs["base"]), "--junit", str(xml)]
    )
    assert result.exit_code == 1, result.output
    assert "N small median" in result.output and "NO" in result.output
    table = compare(folder_quantities(runs["one_more"]), folder_quantities(runs["base"]))
    moved = set(table.loc[~table["holds"], "key"])
    assert "N small median" in moved
    assert not any(k.startswith("N big") for k in moved)  # the large stratum did not change
    suite = ET.parse(xml).getroot().find("testsuite")
    failures = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert "N small median" in failures and int(suite.get("failures")) == len(failures)


def test_fails_when_a_prior_is_changed(runs):
    result = CliRunner().invoke(app, ["check", str(runs["prior"]), "--against", str(runs["base"])])
    assert result.exit_code == 1
    assert "N small" in result.output


def test_update_writes_a_baseline_only_when_asked(runs, tmp_path):
    baseline = tmp_path / "golden" / "baseline.json"
    runner = CliRunner()
    missing = runner.invoke(app, ["check", str(runs["base"]), "--against", str(baseline)])
    assert missing.exit_code == 2 and not baseline.exists()
    assert runner.invoke(app, ["check", str(runs["base"]), "--against", str(baseline), "--update"]).exit_code == 0
    stored = json.loads(baseline.read_text())
    assert len(stored["quantities"]) == len(folder_quantities(runs["base"]))
    assert runner.invoke(app, ["check", str(runs["reseed"]), "--against", str(baseline)]).exit_code == 0


def test_tolerance_is_k_standard_errors_plus_a_relative_floor():
    base = pd.DataFrame({"key": ["x", "y", "gone"], "value": [100.0, 100.0, 1.0], "mcse": [3.0, math.nan, 0.1]})
    now = pd.DataFrame(
        {
            "key": ["x", "y", "new"],
            "value": [100.0 + K_SE * 5.0 + 1.9, 102.5, 1.0],
            "mcse": [4.0, math.nan, 0.1],
        }
    )
    table = compare(now, base).set_index("key")
    assert table.loc["x", "holds"] and table.loc["x", "z"] == pytest.approx((K_SE * 5 + 1.9) / 5)
    assert not table.loc["y", "holds"]  # no s.e.: only the 2% floor, and it moved 2.5%
    assert REL_FLOOR == 0.02
    assert not table.loc["gone", "holds"] and not table.loc["new", "holds"]


def test_bad_input_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["check", str(tmp_path), "--against", str(tmp_path)])
    assert result.exit_code == 2 and "summary.json" in result.output
