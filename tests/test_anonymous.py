"""The anonymous-list model: exactness against full linkage, two-source closed form, widening.

Tolerances are Monte Carlo tolerances: Z_MC standard errors of the difference of two posterior
quantiles, each MCSE from ArviZ (``method='quantile'``), so a correct implementation fails a
single comparison with probability about 6e-5 (the 6-list test makes 18 such comparisons).
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from conftest import load_benchmark

from hiddenvictims.core.anonymous_data import from_table, two_source
from hiddenvictims.core.capture import PATTERN_FULL_DIM
from hiddenvictims.core.spec import AnonymousSpec, SamplerSettings
from hiddenvictims.families import anonymous as an
from hiddenvictims.families.anonymous_reference import fit_reference

Z_MC = 4.0
SAMPLER = SamplerSettings(chains=2, draws=1000, tune=500, seed=5, backend="pymc")
SIX_LISTS = ("I", "K", "O", "P", "R", "Z")
SPEC6 = AnonymousSpec(interactions=["all-two-way"], dependence={"mean": 0.0, "sd": 1.0})
QUANTILES = (0.025, 0.5, 0.975)


def quantile_and_mcse(estimate, var: str = "N", sel: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    da = estimate.posterior[var]
    if sel:
        da = da.sel(sel)
    q = np.quantile(da.values.ravel(), QUANTILES)
    ds = da.to_dataset(name=var)
    se = np.array([float(az.mcse(ds, method="quantile", prob=p)[var]) for p in QUANTILES])
    return q, se


@pytest.fixture(scope="session")
def six_list_fits():
    """For each of the six lists: the anonymised fit and the full-linkage fit (same assumptions)."""
    table = load_benchmark("netherlands_2010_2015_6lists")
    out = {}
    for name in SIX_LISTS:
        data, total, known = from_table(table, name)
        out[name] = {
            "anonymous": an.fit(data, SPEC6, SAMPLER),
            "full": fit_reference(table, name, SPEC6, SAMPLER.model_copy(update={"seed": 6})),
            "total": total,
            "known": known,
        }
    return out


@pytest.mark.parametrize("name", SIX_LISTS)
def test_anonymous_equals_full_linkage(six_list_fits, name):
    """Keeping only a list's total and how many of its members are elsewhere loses nothing
    under the single-theta model: the two posteriors of N agree within Monte Carlo error."""
    fits = six_list_fits[name]
    qa, sa = quantile_and_mcse(fits["anonymous"])
    qf, sf = quantile_and_mcse(fits["full"])
    tol = Z_MC * np.sqrt(sa**2 + sf**2)
    assert np.all(np.abs(qa - qf) <= tol), f"{name}: anonymous {qa.round()} vs full {qf.round()} (tol {tol.round()})"
    ta = fits["anonymous"].posterior["theta"].values.ravel()
    tf = fits["full"].posterior["theta"].values.ravel()
    assert abs(ta.mean() - tf.mean()) < Z_MC * np.hypot(ta.std() / np.sqrt(500), tf.std() / np.sqrt(500))
    assert not fits["anonymous"].warnings()


@pytest.fixture(scope="session")
def two_source_point():
    """Register 600, chat 400, 100 on both; theta fixed at 0.5."""
    data = two_source(600, 400, 100)
    spec = AnonymousSpec(dependence={"mean": 0.5, "sd": 0.0})
    return an.fit(data, spec, SAMPLER)


def test_two_source_closed_form(two_source_point):
    """With theta known, N00 = N10 * N01 / N11 * exp(theta) (up to MC error and an O(1/n) prior effect)."""
    est = two_source_point
    expected = 500 * 300 / 100 * np.exp(0.5)
    q, se = quantile_and_mcse(est, "N_unseen")
    # |Bayes - MLE| for a log-flat prior is O(1/n) relative: below 0.5% here (n11 = 100)
    assert abs(q[1] - expected) <= Z_MC * se[1] + 0.005 * expected
    n = est.posterior["N"].values.ravel()
    assert np.all(n >= 600 + 300)
    assert any("the answer is the prior on theta" in note for note in est.notes)


def test_interval_widens_with_dependence_prior():
    """Two sources: the 95% interval of N widens monotonically as the prior on theta widens."""
    data = two_source(600, 400, 100)
    widths = []
    for sd in (0.1, 0.4, 1.0):
        est = an.fit(data, AnonymousSpec(dependence={"mean": 0.0, "sd": sd}), SAMPLER)
        q = np.quantile(est.posterior["N"].values.ravel(), [0.025, 0.975])
        widths.append(q[1] - q[0])
    assert widths[0] < widths[1] < widths[2], widths


def test_capture_draws_of_two_source_fit(two_source_point):
    est = two_source_point
    draws = an.capture_draws(est)
    assert draws.lists == ("register", "chat")
    assert draws.register == ("register",) and draws.anonymous == ("chat",)
    prob = draws.pattern_prob
    assert list(prob[PATTERN_FULL_DIM].values) == ["00", "01", "10", "11"]
    np.testing.assert_allclose(prob.sum(PATTERN_FULL_DIM).values, 1.0)
    # odds ratio of the pattern probabilities is exp(theta) = exp(0.5) in every draw
    p = prob.values
    np.testing.assert_allclose(p[:, 3] * p[:, 0] / (p[:, 1] * p[:, 2]), np.exp(0.5), rtol=1e-9)
    counts = draws.expected_counts()
    assert float(counts["registered"].median()) == pytest.approx(600, rel=0.1)


def test_prior_group_is_present(two_source_point):
    prior = two_source_point.idata.prior
    assert {"N", "theta"} <= set(prior.data_vars)
    np.testing.assert_allclose(prior["theta"].values, 0.5)


def test_sensitivity_redraws_theta_exactly(two_source_point):
    """One register: theta is not in the likelihood, so another dependence prior is applied by
    redrawing theta; the never-listed count scales by exp(new - old)."""
    from hiddenvictims.core.spec import DependencePrior
    from hiddenvictims.studies.netherlands.sensitivity import (
        PriorSetting,
        redraw_theta,
        reweight_table,
        weighted_quantiles,
    )

    est = two_source_point
    moved = redraw_theta(est, DependencePrior(mean=1.5, sd=0.0), seed=1)  # sd 0: theta fixed
    ratio = np.median(moved["N_unseen"].values) / np.median(est.posterior["N_unseen"].values)
    assert ratio == pytest.approx(np.exp(1.0), rel=0.03)
    np.testing.assert_allclose(
        (moved["N"] - moved["N_unseen"]).values, (est.posterior["N"] - est.posterior["N_unseen"]).values
    )
    settings = [
        PriorSetting("low", DependencePrior(mean=-1.0, sd=0.2)),
        PriorSetting("high", DependencePrior(mean=1.0, sd=0.2)),
    ]
    table = reweight_table(
        est, AnonymousSpec(dependence={"mean": 0.5, "sd": 0.0}), settings, lambda post: {"N": post["N"]}
    )
    low, high = table["median"].to_numpy()
    assert low < high
    np.testing.assert_allclose(table["ess"], 2000)  # no reweighting needed: all weights equal
    assert weighted_quantiles(np.arange(101.0), np.ones(101), [0.5])[0] == pytest.approx(50.0)
