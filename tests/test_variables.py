"""Every variable in a results folder's idata.nc says what it is (long_name, units, description)."""

from __future__ import annotations

import h5netcdf
import numpy as np

from hiddenvictims.core.estimate import make_estimate
from hiddenvictims.core.io import read_table
from hiddenvictims.core.results import save_estimate
from hiddenvictims.core.variables import describe_variable
from hiddenvictims.data import benchmark_path


def test_every_variable_of_every_group_is_described(tmp_path):
    table = read_table(benchmark_path("korea_palembang_3lists"))
    hidden = np.random.default_rng(1).poisson(50, size=(2, 100))
    estimate = make_estimate(family="loglinear", table=table, hidden=hidden, model={}, sampler={}, seed=1)
    save_estimate(estimate, tmp_path / "out")
    with h5netcdf.File(tmp_path / "out" / "idata.nc", "r") as f:
        seen = 0
        for group in f.groups.values():
            for name, var in group.variables.items():
                if name in group.dimensions:
                    continue
                seen += 1
                for attr in ("long_name", "units", "description"):
                    assert attr in var.attrs, (group.name, name, attr)
                assert var.attrs["description"], (group.name, name)
    assert seen >= 3


def test_hidden_and_unseen_are_told_apart():
    hidden = describe_variable("N_hidden")[2]
    unseen = describe_variable("N_unseen")[2]
    assert "N_unseen" in hidden and "N_hidden" in unseen
    assert describe_variable("N_unseen_total")[0] == "people seen by no source, all strata"
    assert "see docs/models.md" in describe_variable("something_new", "loglinear")[2]
