"""Sweeps: one Dataset with a dim per swept parameter; identical on one process and on Dask;
an interrupted sweep resumes without redoing finished chunks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from hiddenvictims.core.errors import InputError
from hiddenvictims.core.testing import fake_capture_draws
from hiddenvictims.scenarios.forward import STATS, Engine
from hiddenvictims.scenarios.sweep import Checkpoint, Grid, run_grid, sweep_table

STEPS = [
    {"kind": "chat_reach", "multiplier": 1.0},
    {"kind": "referral", "probability": 0.0, "to": "A"},
]
GRID = Grid(
    ("reach", "referral"),
    ("interventions.0.multiplier", "interventions.1.probability"),
    (np.array([1.0, 1.5, 2.0, 3.0]), np.array([0.0, 0.25, 0.5])),
)


@pytest.fixture(scope="module")
def engine():
    d = fake_capture_draws(300, lists=("A", "B", "chat"), strata={"age": ["adult", "minor"]}, seed=5)
    return Engine.from_draws(d)


@pytest.fixture(scope="module")
def serial(engine):
    return run_grid(engine, STEPS, GRID, chunk_size=5, workers=0)[0]


def test_sweep_dataset_has_a_dim_per_parameter_and_the_no_change_cell_is_the_baseline(serial):
    assert serial["hidden"].dims == ("reach", "referral", "stratum", "stat")
    assert list(serial["stat"].values) == list(STATS)
    assert list(serial["stratum"].values) == ["total", "adult", "minor"]
    for name in ("reached_chat", "registered", "hidden"):
        cell = serial[name].sel(reach=1.0, referral=0.0)
        assert np.array_equal(cell.values, serial[f"baseline_{name}"].values)
        assert not serial[f"{name}_change"].sel(reach=1.0, referral=0.0).values.any()
    reached = serial["reached_chat"].sel(stratum="total", stat="median", referral=0.0).values
    assert (np.diff(reached) > 0).all()
    registered = serial["registered_change"].sel(stratum="total", stat="median", reach=2.0).values
    assert (np.diff(registered) > 0).all()
    table = sweep_table(serial, ["hidden", "registered"])
    assert len(table) == 12 * 2 * 2 * 3 and {"reach", "referral", "quantity", "variant"} <= set(table.columns)


def test_dask_local_cluster_gives_identical_numbers(engine, serial):
    """Two worker processes, other chunks, other completion order: same numbers, bit for bit."""
    distributed, _ = run_grid(engine, STEPS, GRID, chunk_size=3, workers=2)
    xr.testing.assert_identical(distributed, serial)


def test_an_interrupted_sweep_resumes_without_redoing_finished_chunks(engine, serial, tmp_path):
    folder = tmp_path / "ck"
    n_chunks = -(-12 // 5)

    class Stop(Exception):
        pass

    def stop_after_two(i):
        if len(list((folder / "chunks").glob("chunk-*.nc"))) == 2:
            raise Stop

    ck = Checkpoint(folder, "fp-1", n_chunks)
    ck.open()
    with pytest.raises(Stop):
        run_grid(engine, STEPS, GRID, chunk_size=5, workers=0, checkpoint=ck, on_chunk=stop_after_two)
    assert ck.done() == {0, 1}
    resumed, report = run_grid(
        engine,
        STEPS,
        GRID,
        chunk_size=5,
        workers=0,
        checkpoint=Checkpoint(folder, "fp-1", n_chunks),
    )
    assert sorted(report.reused) == [0, 1] and report.computed == [2]
    xr.testing.assert_identical(resumed, serial)
    assert json.loads((folder / "index.json").read_text())["fingerprint"] == "fp-1"
    with pytest.raises(InputError, match="different sweep"):
        Checkpoint(folder, "fp-2", n_chunks).open()
    fresh = Checkpoint(folder, "fp-2", n_chunks)
    fresh.open(restart=True)
    assert fresh.done() == set()
