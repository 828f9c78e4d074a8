"""Summaries on fake posteriors with known answers: no sampling needed."""

from __future__ import annotations

import inspect

import arviz as az
import numpy as np
import pytest
import xarray as xr
from scipy import stats

import hiddenvictims.core.summary as summary_mod
from hiddenvictims.core.constants import INTERVAL_PROB, interval_quantiles
from hiddenvictims.core.estimate import make_estimate
from hiddenvictims.core.summary import pmf_quantile, summarise_draws, summarise_pmf
from hiddenvictims.core.table import make_table


def fake_estimate(hidden: np.ndarray, strata=None, counts=None):
    table = make_table(["A", "B"], counts if counts is not None else np.array([10, 20, 5]), strata=strata)
    return make_estimate(family="fake", table=table, hidden=hidden, model={"name": "fake"}, sampler={}, seed=0)


def test_interval_is_equal_tailed_95():
    assert INTERVAL_PROB == 0.95
    assert interval_quantiles() == pytest.approx((0.025, 0.975))


def test_every_public_summary_function_defaults_to_the_one_interval():
    for name, func in inspect.getmembers(summary_mod, inspect.isfunction):
        if func.__module__ != summary_mod.__name__ or name.startswith("_"):
            continue
        prob = inspect.signature(func).parameters.get("prob")
        if prob is not None:
            assert prob.default == INTERVAL_PROB, name


def test_summary_of_normal_draws_matches_the_distribution():
    rng = np.random.default_rng(1)
    draws = rng.normal(1000.0, 50.0, size=400_000)
    s = summarise_draws(draws)
    # Monte Carlo se of a quantile: sqrt(p(1-p)/n)/f(x); 5 se tolerance
    se_med = np.sqrt(0.25 / draws.size) / stats.norm.pdf(0, scale=50)
    assert s["median"] == pytest.approx(1000.0, abs=5 * se_med)
    assert s["lower"] == pytest.approx(stats.norm.ppf(0.025, 1000, 50), abs=0.6)
    assert s["upper"] == pytest.approx(stats.norm.ppf(0.975, 1000, 50), abs=0.6)
    assert s["sd"] == pytest.approx(50.0, rel=0.01)


def test_pmf_quantiles_follow_the_smallest_grid_value_rule():
    values = np.arange(10, 15)
    pmf = np.array([0.1, 0.2, 0.2, 0.3, 0.2])
    assert pmf_quantile(values, pmf, 0.5) == 12  # cdf 0.1, 0.3, 0.5 -> first >= 0.5
    assert pmf_quantile(values, pmf, 0.3) == 11
    s = summarise_pmf(values, pmf)
    assert s["mean"] == pytest.approx(np.sum(values * pmf))


def test_estimate_population_variables_and_totals():
    hidden = np.full((2, 50, 2), 100.0)
    hidden[..., 1] = 40.0
    counts = np.array([[10, 20, 5], [1, 2, 3]])
    est = fake_estimate(hidden, strata={"age": ["adult", "minor"]}, counts=counts)
    frame = est.summary().set_index(["quantity", "stratum"])
    assert frame.loc[("N", "adult"), "median"] == 135
    assert frame.loc[("N", "minor"), "median"] == 46
    assert frame.loc[("N", "total"), "median"] == 181
    assert frame.loc[("observed_share", "minor"), "median"] == pytest.approx(6 / 46)
    assert frame.loc[("N_hidden", "total"), "median"] == 140


def test_exact_pmf_overrides_draws():
    hidden = np.zeros((1, 10))
    pmf = xr.DataArray([0.5, 0.5], dims="N", coords={"N": [35, 45]})
    est = fake_estimate(hidden)
    est = type(est)(**{**est.__dict__, "pmf_N": pmf})
    frame = est.summary().set_index("quantity")
    assert frame.loc["N", "median"] == 35 and frame.loc["N", "upper"] == 45
    assert frame.loc["N_hidden", "upper"] == 10


def test_diagnostics_flag_disagreeing_chains():
    hidden = np.stack([np.full(200, 10.0), np.full(200, 500.0)]) + np.random.default_rng(0).normal(size=(2, 200))
    est = fake_estimate(hidden)
    warnings = est.warnings()
    assert any("R-hat" in w for w in warnings)
    good = fake_estimate(np.random.default_rng(0).poisson(100, size=(4, 1000)))
    assert good.warnings() == []
    assert isinstance(good.idata, az.InferenceData)
