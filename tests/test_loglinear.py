"""Log-linear MSE: closed forms, published benchmarks, strata and structural zeros."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FAST, load_benchmark

from hiddenvictims.core.spec import LoglinearSpec, SamplerSettings, load_model_spec
from hiddenvictims.core.table import make_table
from hiddenvictims.core.terms import design_matrix, resolve_terms
from hiddenvictims.families import fit
from hiddenvictims.families.loglinear import build_model, model_data, posterior_mode

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def median_N(estimate) -> float:
    return float(estimate.summary().set_index("quantity").loc["N", "median"])


def test_hierarchical_closure_and_exclusion():
    lists = ("A", "B", "C", "D")
    terms = resolve_terms(LoglinearSpec(interactions=["A:B:C"]), lists)
    assert (0, 1) in terms and (0, 2) in terms and (1, 2) in terms and (0, 1, 2) in terms
    spec = LoglinearSpec(interactions=["all-two-way"], exclude=["A:D"])
    terms = resolve_terms(spec, lists)
    assert len([t for t in terms if len(t) == 2]) == 5 and (0, 3) not in terms
    from hiddenvictims.core.errors import InputError

    with pytest.raises(InputError, match="breaks hierarchy"):
        resolve_terms(LoglinearSpec(interactions=["A:B:C"], exclude=["A:B"]), lists)


def test_design_row_zero_is_the_unobserved_cell():
    x = design_matrix(3, [(0,), (1,), (2,), (0, 1)])
    assert x.shape == (8, 5)
    assert x[0].tolist() == [1, 0, 0, 0, 0]
    assert x[7].tolist() == [1, 1, 1, 1, 1]  # pattern 111


def test_mode_with_flat_prior_is_the_closed_form_mle():
    """Two lists, independence: the MLE of mu00 is n10 * n01 / n11 (Lincoln-Petersen)."""
    counts = np.array([300.0, 200.0, 100.0])  # patterns 01, 10, 11
    x = design_matrix(2, [(0,), (1,)])[1:]
    theta, _ = posterior_mode(x, counts, np.ones(3), np.zeros(3), np.full(3, 1e6))
    assert np.exp(theta[0]) == pytest.approx(200 * 300 / 100, rel=1e-8)


def test_logp_and_gradient_finite_at_initial_point():
    table = load_benchmark("us_western_site_5lists")
    model, _ = build_model(table, LoglinearSpec(interactions=["all-two-way"]))
    point = model.initial_point()
    assert np.isfinite(model.compile_logp()(point))
    assert np.all(np.isfinite(model.compile_dlogp()(point)))


def test_two_list_independence_matches_chapman():
    """Posterior median within 1% of Chapman's estimator (n = 1,900 >= 500)."""
    n10, n01, n11 = 800, 600, 500
    table = make_table(["A", "B"], np.array([n01, n10, n11]))
    chapman = (n10 + n11 + 1) * (n01 + n11 + 1) / (n11 + 1) - 1
    est = fit(table, LoglinearSpec(), SamplerSettings(chains=2, draws=1000, tune=500, seed=3, backend="pymc"))
    assert abs(median_N(est) / chapman - 1) < 0.01


def test_us_western_site_with_AE_reproduces_published_2483():
    table = load_benchmark("us_western_site_5lists")
    spec = load_model_spec(ROOT / "models" / "western-AE.toml")
    est = fit(table, spec, SamplerSettings(chains=4, draws=1000, tune=1000, seed=5, backend="pymc"))
    assert abs(median_N(est) / 2483 - 1) < 0.05
    assert not est.warnings()


def test_uk_five_lists_stepwise_model_inside_published_range():
    table = load_benchmark("uk_2013_5lists")
    spec = load_model_spec(ROOT / "models" / "uk5-stepwise.toml")
    est = fit(table, spec, SamplerSettings(chains=4, draws=1000, tune=1000, seed=5, backend="pymc"))
    med = median_N(est)
    assert 10_000 <= med <= 13_000
    assert abs(med / 11_313 - 1) < 0.05


def test_strata_fit_jointly_equal_separate_fits_in_distribution():
    """Strata have their own parameters: a joint fit matches per-stratum closed forms."""
    counts = np.array([[300, 200, 100], [90, 60, 10]])  # stratum y1: mu00=600; y2: 540
    table = make_table(["A", "B"], counts, strata={"year": ["y1", "y2"]})
    est = fit(table, LoglinearSpec(), SamplerSettings(chains=2, draws=1500, tune=500, seed=9, backend="pymc"))
    hidden = est.posterior["N_hidden"]
    assert hidden.dims == ("chain", "draw", "year")
    # posterior mean of mu00 ~ n10*n01/(n11-1) under a flat prior on log mu (Gamma posteriors)
    for year, (n01, n10, n11) in zip(["y1", "y2"], counts, strict=True):
        expected = n10 * n01 / (n11 - 1)
        draws = hidden.sel(year=year).values.ravel()
        se = draws.std() / np.sqrt(len(draws) / 2)  # ESS >= draws / 2 for this whitened model
        assert abs(draws.mean() - expected) < 4 * se + 0.02 * expected
    total = est.posterior["N_total"].values
    assert np.allclose(total, est.posterior["N"].sum("year").values)


def test_structural_zero_list_does_not_change_the_other_strata_or_pin_N():
    """A list absent in one year: that year's estimate equals the two-list closed form."""
    counts = np.array([[0, 200, 0, 300, 0, 100, 0], [40, 180, 20, 280, 10, 90, 5]])
    active = np.array([[True, True, False], [True, True, True]])
    table = make_table(["A", "B", "C"], counts, strata={"year": [2019, 2020]}, active=active)
    data = model_data(table, LoglinearSpec())
    assert data["w"][0].tolist() == [0, 1, 0, 1, 0, 1, 0]
    est = fit(table, LoglinearSpec(), FAST)
    med = float(est.posterior["N_hidden"].sel(year=2019).median())
    assert abs(med / (300 * 200 / 100) - 1) < 0.06


def test_same_seed_same_numbers():
    table = load_benchmark("korea_palembang_3lists")
    a = fit(table, LoglinearSpec(), FAST).summary()
    b = fit(table, LoglinearSpec(), FAST).summary()
    assert a.equals(b)
