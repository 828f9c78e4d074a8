"""The simulation-study command: one replicate's numbers, resume, bad config, summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hiddenvictims.core.config import config_hash
from hiddenvictims.core.errors import InputError
from hiddenvictims.core.simulate import simulate_population
from hiddenvictims.study import (
    Checkpoint,
    StudyConfig,
    drop_list,
    load_study,
    run_study,
    summarise,
)

TINY = {
    "name": "tiny",
    "replicates": 2,
    "workers": 0,
    "sampler": {"draws": 100, "tune": 100},
    "settings": [
        {"name": "indep", "n": 400, "capture": [0.3, 0.25, 0.35], "models": ["averaging"]},
    ],
}


def test_default_study_config_is_valid_and_has_100_replicates_per_setting():
    config = load_study("scenarios/validation-study.toml")
    assert config.replicates >= 100
    assert all((s.replicates or config.replicates) >= 100 for s in config.settings)
    lists = {len(s.list_names) for s in config.settings}
    assert min(lists) == 3 and max(lists) == 6


def test_bad_setting_is_refused_with_its_reason():
    bad = {**TINY, "settings": [{**TINY["settings"][0], "anonymous": "Z"}]}
    with pytest.raises(ValueError, match="anonymous list 'Z'"):
        StudyConfig.model_validate(bad)


def test_drop_list_keeps_the_other_lists_margins():
    pop = simulate_population(2000, [0.3, 0.2, 0.25], seed=1)
    rest = drop_list(pop.table, "C")
    full = pop.records
    for name in ("A", "B"):
        on = int(full[name].sum())
        idx = rest.lists.index(name)
        assert int(rest.counts.values[rest.patterns[:, idx] == 1].sum()) == on


def test_study_writes_results_and_resumes_without_refitting(tmp_path, monkeypatch):
    config = StudyConfig.model_validate(TINY)
    out = tmp_path / "study"
    # a checkpoint with replicate 0 already done: only replicate 1 may be computed
    cp = Checkpoint(out, config_hash(config))
    cp.open(restart=False)
    import hiddenvictims.study as study

    first = study.run_replicate(config, 0, 0)
    cp.save(0, 0, first)
    calls = []
    real = study.run_replicate

    def counting(cfg, i, r):
        calls.append((i, r))
        return real(cfg, i, r)

    monkeypatch.setattr(study, "run_replicate", counting)
    summary, _ = run_study(config, out)
    assert calls == [(0, 1)]
    rows = pd.read_csv(out / "replicates.csv")
    assert len(rows) == 2 and set(rows["replicate"]) == {0, 1}
    stored = rows.loc[rows["replicate"] == 0, "median"].item()
    assert stored == pytest.approx(first["median"].item())
    for name in ("summary.csv", "summary.md", "coverage.png", "manifest.json"):
        assert (out / name).exists()
    assert not cp.root.exists()
    assert summary["replicates"].item() == 2
    # a rerun into an existing folder without --force is refused before any work
    with pytest.raises(InputError, match="exists"):
        run_study(config, out)


def test_checkpoint_of_another_config_is_refused(tmp_path):
    config = StudyConfig.model_validate(TINY)
    Checkpoint(tmp_path / "s", "other").open(restart=False)
    with pytest.raises(InputError, match="different study config"):
        run_study(config, tmp_path / "s")


def test_summary_coverage_and_bias_are_what_the_rows_say():
    rows = pd.DataFrame(
        {
            "setting": ["a"] * 4,
            "model": ["m"] * 4,
            "n_true": [100] * 4,
            "median": [90.0, 110.0, 100.0, 120.0],
            "lower": [80.0] * 4,
            "upper": [105.0] * 4,
            "covered": [True, False, True, False],
            "seconds": [1.0] * 4,
            "max_rhat": [1.0] * 4,
        }
    )
    s = summarise(rows)
    assert s["coverage"].item() == 0.5
    assert s["bias"].item() == pytest.approx(0.05)
    assert s["width"].item() == pytest.approx(0.25)
    assert s["coverage_se"].item() == pytest.approx(np.sqrt(0.25 / 4))
