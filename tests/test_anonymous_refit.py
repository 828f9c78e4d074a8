"""Monitoring precision for the Dutch anonymous-list model: the refit hook.

A simulated year is reduced to what the sources publish (register totals per year, chat totals
by age where counted, the self-reported first disclosure as a whole percent), refitted with the
same spec, and must recover the simulated population.
"""

from __future__ import annotations

import numpy as np
import pytest

from hiddenvictims.core.spec import SamplerSettings
from hiddenvictims.families import anonymous as an
from hiddenvictims.scenarios.precision import monitoring_precision, unavailable
from hiddenvictims.studies.netherlands import pipeline as nl

SMALL = SamplerSettings(seed=11, chains=2, draws=120, tune=150, target_accept=0.9)
BASELINE = nl.Path(__file__).resolve().parents[1] / "scenarios" / "netherlands-chat-only.toml"


@pytest.fixture(scope="module")
def dutch():
    cfg = nl.load_config(BASELINE)
    return nl.dutch_data(tuple(cfg.years)), cfg.model


def test_observed_keeps_what_the_sources_publish(dutch):
    data, spec = dutch
    counts = np.zeros((3, 2, 4), dtype=np.int64)  # (year, age, pattern_full: 00 01 10 11)
    counts[..., 1], counts[..., 2], counts[..., 3] = 100, 60, 40  # chat only, register only, both
    counts[..., 0] = 500
    new = an.observed_from_patterns(data, counts, (1.0, 0.0), np.random.default_rng(0))
    # register: per year, pooled over age, missing where the real figure is missing (2021)
    np.testing.assert_array_equal(new.linked_pooled.values.ravel(), [200.0, 200.0, np.nan])
    assert np.isnan(new.linked.values).all()
    # chat: minors where counted (2020, 2021), the year total everywhere
    np.testing.assert_array_equal(new.anonymous.totals.sel(age="minor").values, [np.nan, 140.0, 140.0])
    np.testing.assert_array_equal(new.anonymous.pooled_totals.values, [280.0, 280.0, 280.0])
    # known elsewhere: only 2020; with s = 1, f = 0 it is the overlap, 80 of 280, as a rounded %
    assert np.isnan(new.anonymous.known_low.values[[0, 2]]).all()
    lo, hi = new.anonymous.known_low.values[1], new.anonymous.known_high.values[1]
    assert lo <= 80 <= hi and hi - lo <= 3
    # same observation pattern, hence the same model structure (the compiled model is reused)
    assert an.structure_key(an.prepare(new, spec)) == an.structure_key(an.prepare(data, spec))


@pytest.mark.slow  # two replicates of two refits of the chat-only model: about 90 s on 2 cores
def test_refit_recovers_a_simulated_year(dutch):
    data, spec = dutch
    est = an.fit(data, spec, SMALL, prior_draws=50)
    assert unavailable("anonymous") is None
    draws = an.capture_draws(est)
    frame = monitoring_precision(est, draws, replicates=2, sampler=SMALL, seed=5)
    base = frame[frame["variant"] == "baseline"]
    assert len(base) == 2
    assert (base["lower"] < base["upper"]).all() and (base["lower"] > 0).all()
    # the lower end is firm: at least everyone the register or the chat counted
    assert (base["lower"] >= 0.5 * base["observed"]).all()
    assert base["covered"].all()
