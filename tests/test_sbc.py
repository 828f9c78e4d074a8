"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018) of the
sampler-based families.

For each replicate: draw the parameters from the prior, simulate data from the model, fit, and
record the rank of the true value among L posterior draws (thinned to about the chain's ESS). If
the sampler draws from the right posterior, every rank is uniform on 0..L whatever the prior and
data. A chi-square test on 10 equal bins of the ranks rejects uniformity at p < 0.001 per
quantity: a correct sampler fails one quantity with probability 0.001 (about 0.3% for the three
quantities per family). What it detects: posteriors too narrow or too wide (U- or hump-shaped
ranks) and biased ones (ranks piled at one end).

* Log-linear (NUTS): 3 lists, all two-way interactions, proper priors on every parameter,
  N = the simulated cells including the unobserved one; quantities N, the intercept (log
  expected hidden count) and one interaction. 200 replicates.
* Latent classes (parallel tempering): the model conditions on n observed people (prior on N
  proportional to 1/N), so the generating process is: parameters from the prior, n = 400
  people drawn from the zero-truncated pattern distribution, N - n ~ NegBinomial(n, 1 - p0).
  Quantities that do not depend on class labels: N, p0 and the largest class weight.
  100 replicates.

* Anonymous list (NUTS via nutpie): linked lists A and B (independent), list C known only by
  its total and by how many of its members are on A or B; proper priors on the log-linear
  coefficients, C's main effect alpha and its dependence theta on the linked lists. Cells are
  Poisson from the model; quantities N, alpha and theta. 100 replicates.

* Dutch evidence synthesis (NUTS compiled with JAX, one compile for all replicates): the model's
  own layout over 2010-2021 and its priors; every evidence row drawn from its likelihood (bound
  rows, censored observations with no density, left out). Quantities: expected Dutch victims and
  minors in 2020, the register's coverage of adult victims of sexual exploitation in 2020, theta
  and the published estimates' bias. 100 replicates.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from hiddenvictims.core.spec import (
    AnonymousSpec,
    DependencePrior,
    LatentClassSpec,
    LoglinearPriors,
    LoglinearSpec,
    SamplerSettings,
)
from hiddenvictims.core.table import make_table, pattern_matrix
from hiddenvictims.core.terms import design_matrix, resolve_terms
from hiddenvictims.families import fit

pytestmark = pytest.mark.slow

#: Posterior draws each rank is taken among (ranks run 0..L).
L = 99
BINS = 10
P_MIN = 0.001


def rank(true: float, draws: np.ndarray, rng: np.random.Generator) -> int:
    """Rank of ``true`` among L draws thinned evenly from ``draws``; ties (discrete N) broken at
    random, as SBC requires."""
    flat = np.asarray(draws).ravel()
    pick = flat[np.linspace(0, len(flat) - 1, L).astype(int)]
    below = int(np.sum(pick < true))
    ties = int(np.sum(pick == true))
    return below + int(rng.integers(0, ties + 1))


def uniformity_pvalue(ranks: list[int]) -> float:
    counts = np.histogram(ranks, bins=BINS, range=(-0.5, L + 0.5))[0]
    return float(stats.chisquare(counts).pvalue)


def assert_calibrated(ranks: dict[str, list[int]]) -> None:
    pvalues = {name: uniformity_pvalue(r) for name, r in ranks.items()}
    bad = {k: round(v, 5) for k, v in pvalues.items() if v < P_MIN}
    hist = {k: np.histogram(r, bins=BINS, range=(-0.5, L + 0.5))[0].tolist() for k, r in ranks.items()}
    assert not bad, f"ranks not uniform: {bad}; histograms {hist}"


def test_sbc_loglinear_two_way():
    lists = ("A", "B", "C")
    priors = LoglinearPriors(intercept_mu=6.0, intercept_sd=0.5, main_sd=0.7, interaction_sd=0.5)
    spec = LoglinearSpec(name="two-way", interactions=["all-two-way"], priors=priors)
    terms = resolve_terms(spec, lists)
    x = design_matrix(len(lists), terms)
    mu = np.array([priors.intercept_mu] + [0.0] * len(terms))
    sd = np.array([priors.intercept_sd] + [priors.main_sd if len(t) == 1 else priors.interaction_sd for t in terms])
    ab = [i for i, t in enumerate(terms, start=1) if len(t) == 2][0]
    rng = np.random.default_rng(2018)
    ranks: dict[str, list[int]] = {"N": [], "intercept": [], "A:B": []}
    for rep in range(200):
        theta = rng.normal(mu, sd)
        cells = rng.poisson(np.exp(x @ theta))
        table = make_table(lists, cells[1:])
        settings = SamplerSettings(chains=2, draws=500, tune=500, seed=rep, backend="nutpie")
        est = fit(table, spec, settings)
        beta = est.posterior["beta"].values.reshape(-1, len(theta))
        ranks["N"].append(rank(cells.sum(), est.posterior["N"].values, rng))
        ranks["intercept"].append(rank(theta[0], beta[:, 0], rng))
        ranks["A:B"].append(rank(theta[ab], beta[:, ab], rng))
    assert_calibrated(ranks)


def test_sbc_latent_class():
    from hiddenvictims.families.latent_class import log_weights
    from hiddenvictims.families.latent_class_kernel import LatentClassDensity

    n_lists, k, n_obs = 4, 3, 400
    spec = LatentClassSpec(n_classes=k, alpha_shape=2.0, alpha_rate=1.0, capture_a=2.0, capture_b=2.0)
    prior = LatentClassDensity(
        n_lists=n_lists,
        n_classes=k,
        counts=np.zeros(2**n_lists),
        active=np.ones(n_lists),
        alpha_shape=spec.alpha_shape,
        alpha_rate=spec.alpha_rate,
        capture_a=spec.capture_a,
        capture_b=spec.capture_b,
    )
    pats = pattern_matrix(n_lists, include_zero=True).astype(float)
    rng = np.random.default_rng(2016)
    # "first class" is the weight of stick 1, which depends on the labels: the stick-breaking
    # prior is not exchangeable, so it is calibrated only if the label exchanges are exact
    ranks: dict[str, list[int]] = {"N": [], "p0": [], "largest class": [], "first class": []}
    for rep in range(100):
        draw = prior.prior_draws(rng, 1)[0]
        eta = draw[: n_lists * k].reshape(n_lists, k)
        w = np.exp(log_weights(draw[n_lists * k :], xp=np))
        lam = 1 / (1 + np.exp(-eta))
        p = (w[None, :] * np.prod(np.where(pats[:, :, None] == 1, lam[None], 1 - lam[None]), axis=1)).sum(1)
        counts = rng.multinomial(n_obs, p[1:] / p[1:].sum())
        n_true = n_obs + rng.negative_binomial(n_obs, 1 - p[0])
        settings = SamplerSettings(chains=4, draws=400, tune=400, seed=rep)
        est = fit(make_table([f"L{j}" for j in range(n_lists)], counts), spec, settings)
        post = est.idata.posterior
        ranks["N"].append(rank(n_true, est.posterior["N"].values, rng))
        ranks["p0"].append(rank(p[0], post["p0"].values, rng))
        ranks["largest class"].append(rank(w.max(), post["class_weight"].max("latent_class").values, rng))
        ranks["first class"].append(rank(w[0], post["class_weight"].isel(latent_class=0).values, rng))
    assert_calibrated(ranks)


def test_sbc_anonymous_list():
    from hiddenvictims.core.anonymous_data import from_table
    from hiddenvictims.families import anonymous

    priors = LoglinearPriors(intercept_mu=5.0, intercept_sd=0.5, main_sd=0.7)
    spec = AnonymousSpec(
        priors=priors, anonymous_mu=-0.5, anonymous_sd=0.7, dependence=DependencePrior(mean=0.0, sd=0.5)
    )
    pats = pattern_matrix(3, include_zero=True)  # lists A, B (linked) and C (anonymous)
    linked, on_c = pats[:, :2], pats[:, 2]
    rng = np.random.default_rng(2024)
    ranks: dict[str, list[int]] = {"N": [], "alpha": [], "theta": []}
    for rep in range(100):
        b0 = rng.normal(priors.intercept_mu, priors.intercept_sd)
        b_a, b_b = rng.normal(0.0, priors.main_sd, size=2)
        alpha = rng.normal(spec.anonymous_mu, spec.anonymous_sd)
        theta = rng.normal(spec.dependence.mean, spec.dependence.sd)
        log_mu = b0 + linked @ np.array([b_a, b_b]) + on_c * (alpha + theta * linked.any(axis=1))
        cells = rng.poisson(np.exp(log_mu))
        data, _, _ = from_table(make_table(["A", "B", "C"], cells[1:]), "C")
        settings = SamplerSettings(chains=2, draws=500, tune=500, seed=rep, backend="nutpie")
        est = anonymous.fit(data, spec, settings, prior_draws=10)
        post = est.idata.posterior
        ranks["N"].append(rank(cells.sum(), post["N"].values, rng))
        ranks["alpha"].append(rank(alpha, post["beta"].sel(term="alpha").values, rng))
        ranks["theta"].append(rank(theta, post["theta"].values, rng))
    assert_calibrated(ranks)


def dutch_synthesis_ranks(replicates: int, fit_theta_shift: float = 0.0) -> dict[str, list[int]]:
    """Ranks of the synthesis' key quantities; ``fit_theta_shift`` (prior sds) moves the theta
    prior the fit uses away from the one the data came from: a miscalibrated fit, for checking
    that the test notices one."""
    from hiddenvictims.studies.netherlands.synthesis import SynthesisSpec
    from hiddenvictims.studies.netherlands.synthesis_fit import compile_fit, prepare, quantities
    from hiddenvictims.studies.netherlands.synthesis_sim import prior_draw, simulate_values

    prep = prepare(SynthesisSpec(), (2019, 2020, 2021))
    layout, priors = prep.layout, prep.spec.priors
    t = layout.years.index(2020)
    run = compile_fit(prep, chains=2, tune=500, draws=500, target_accept=0.9)
    rng = np.random.default_rng(2020)
    names = ("Dutch victims", "Dutch minors", "register coverage", "theta", "estimate bias")
    ranks: dict[str, list[int]] = {name: [] for name in names}
    for rep in range(replicates):
        x = prior_draw(layout, priors, rng)
        data = simulate_values(layout, priors, x, prep.data, rng)
        true_q, true_e = quantities(prep, x[None], data)
        fit_data = replace(data, theta_mu=data.theta_mu + fit_theta_shift * data.theta_sd)
        res = run(fit_data, rep)
        q, e = quantities(prep, res.position, fit_data)
        truth = {
            "Dutch victims": true_e["N"][0, :, t].sum(),
            "Dutch minors": true_e["N"][0, 0, t],
            "register coverage": true_q["register_coverage"][0, 1, t],
            "theta": true_q["theta"][0],
            "estimate bias": true_q["estimate_bias"][0],
        }
        draws = {
            "Dutch victims": e["N"][..., t].sum(axis=-1),
            "Dutch minors": e["N"][..., 0, t],
            "register coverage": q["register_coverage"][..., 1, t],
            "theta": q["theta"],
            "estimate bias": q["estimate_bias"],
        }
        for name in names:
            ranks[name].append(rank(truth[name], draws[name], rng))
    return ranks


def test_sbc_dutch_synthesis():
    assert_calibrated(dutch_synthesis_ranks(100))
