"""Bayesian Poisson log-linear MSE for any number of lists.

log mu(pattern) = theta_0 + sum of main effects + chosen interactions (hierarchical), within
each stratum (strata have their own parameters). theta_0 is the log expected count of the
unobserved all-zero cell. Under Poisson sampling the hidden count is independent of the
observed cells given the parameters, so NUTS samples the continuous parameters only and each
draw gets N0 ~ Poisson(exp(theta_0)) afterwards: no discrete sampling.

Mixing: the posterior of theta is strongly correlated (theta_0 is an extrapolation). We
sample z with theta = theta_hat + M z, where theta_hat is the posterior mode and M the inverse
Cholesky factor of the Hessian there (an affine map, constant Jacobian: the same posterior).
z is then close to independent standard normal, which NUTS samples with short trajectories;
this is what gives a high ESS of N, not only of the betas.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.special import gammaln

from ..core.constants import STRATUM_DIM, TERM_DIM
from ..core.estimate import Estimate, make_estimate
from ..core.spec import LoglinearSpec, SamplerSettings
from ..core.table import CaptureTable, make_table, pattern_matrix
from ..core.terms import INTERCEPT, Term, design_matrix, resolve_terms, term_name


def prior_scales(spec: LoglinearSpec, terms: list[Term]) -> tuple[np.ndarray, np.ndarray]:
    pr = spec.priors
    sd = [pr.intercept_sd] + [pr.main_sd if len(t) == 1 else pr.interaction_sd for t in terms]
    mu = [pr.intercept_mu] + [0.0] * len(terms)
    return np.array(mu), np.array(sd)


# ---------------------------------------------------------------------------- mode & whitening
def posterior_mode(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, mu: np.ndarray, sd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mode and Hessian (negative) of the log posterior of one stratum by damped Newton.

    Log posterior: sum_c w_c (y_c eta_c - exp(eta_c)) - sum_j (theta_j - mu_j)^2 / (2 sd_j^2).
    The prior makes it strictly concave, so the mode exists even for sparse tables.
    """
    prec = 1.0 / sd**2
    xs = x * weight[:, None]
    theta = np.linalg.lstsq(
        np.vstack([xs, np.diag(np.sqrt(prec) * 1e-3)]),
        np.concatenate([weight * np.log(y + 0.5), np.zeros(len(mu))]),
        rcond=None,
    )[0]

    def logpost(th: np.ndarray) -> float:
        eta = x @ th
        return float(np.sum(weight * (y * eta - np.exp(eta))) - 0.5 * np.sum(prec * (th - mu) ** 2))

    current = logpost(theta)
    for _ in range(200):
        rate = np.exp(x @ theta) * weight
        grad = x.T @ (weight * y - rate) - prec * (theta - mu)
        hess = (x * rate[:, None]).T @ x + np.diag(prec)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-10:
            cand = theta + t * step
            value = logpost(cand)
            if value >= current - 1e-12:
                break
            t *= 0.5
        theta, improvement, current = cand, value - current, value
        if abs(improvement) < 1e-10 and np.max(np.abs(t * step)) < 1e-8:
            break
    rate = np.exp(x @ theta) * weight
    hess = (x * rate[:, None]).T @ x + np.diag(prec)
    return theta, hess


def whitening(hess: np.ndarray) -> np.ndarray:
    """M with M M^T = hess^{-1}: theta = theta_hat + M z makes z roughly N(0, I)."""
    chol = np.linalg.cholesky(hess)
    return np.linalg.inv(chol).T


# ---------------------------------------------------------------------------- model
def model_data(table: CaptureTable, spec: LoglinearSpec, source: str = "model") -> dict[str, np.ndarray]:
    """Numbers the PyMC model needs (everything that may change between fits of one structure)."""
    terms = resolve_terms(spec, table.lists, source)
    design = design_matrix(table.n_lists, terms)
    x_obs = design[1:]
    counts = table.flat_counts().astype(np.float64)
    weight = (~table.flat_structural_zero()).astype(np.float64)
    mu, sd = prior_scales(spec, terms)
    modes, whites = [], []
    for s in range(counts.shape[0]):
        theta, hess = posterior_mode(x_obs, counts[s], weight[s], mu, sd)
        modes.append(theta)
        whites.append(whitening(hess))
    return {
        "X": x_obs,
        "y": counts,
        "w": weight,
        "log_y_factorial": gammaln(counts + 1.0),
        "theta_hat": np.array(modes),
        "M": np.array(whites),
        "prior_mu": mu,
        "prior_sd": sd,
    }


def build_model(table: CaptureTable, spec: LoglinearSpec, source: str = "model") -> tuple[pm.Model, dict]:
    """Pure: (table, spec) -> (pm.Model with named dims, data for its pm.Data containers)."""
    data = model_data(table, spec, source)
    terms = resolve_terms(spec, table.lists, source)
    coords = {
        STRATUM_DIM: table.stratum_labels(),
        TERM_DIM: [INTERCEPT] + [term_name(t, table.lists) for t in terms],
        "cell": list(table.counts["pattern"].values),
    }
    with pm.Model(coords=coords) as model:
        x = pm.Data("X", data["X"], dims=("cell", TERM_DIM))
        y = pm.Data("y", data["y"], dims=(STRATUM_DIM, "cell"))
        w = pm.Data("w", data["w"], dims=(STRATUM_DIM, "cell"))
        lyf = pm.Data("log_y_factorial", data["log_y_factorial"], dims=(STRATUM_DIM, "cell"))
        theta_hat = pm.Data("theta_hat", data["theta_hat"], dims=(STRATUM_DIM, TERM_DIM))
        whiten = pm.Data("M", data["M"])
        prior_mu = pm.Data("prior_mu", data["prior_mu"], dims=TERM_DIM)
        prior_sd = pm.Data("prior_sd", data["prior_sd"], dims=TERM_DIM)
        z = pm.Flat("z", dims=(STRATUM_DIM, TERM_DIM))
        theta = pm.Deterministic(
            "beta", theta_hat + (whiten * z[:, None, :]).sum(axis=-1), dims=(STRATUM_DIM, TERM_DIM)
        )
        eta = pt.dot(theta, x.T)
        pm.Potential("loglik", pt.sum(w * (y * eta - pt.exp(eta) - lyf)))
        pm.Potential(
            "prior",
            pt.sum(pm.logp(pm.Normal.dist(mu=prior_mu, sigma=prior_sd), theta)),
        )
    return model, data


def structure_key(table: CaptureTable, spec: LoglinearSpec) -> tuple:
    """Fits with equal keys share one compiled model (only pm.Data values differ)."""
    terms = resolve_terms(spec, table.lists)
    return ("loglinear", table.n_lists, len(table.stratum_labels()), tuple(terms))


# ---------------------------------------------------------------------------- notes
def prior_only_terms(table: CaptureTable, spec: LoglinearSpec) -> list[str]:
    """Parameters that only the prior pins down, in any stratum (see :mod:`hiddenvictims.core.checks`).

    Terms with no finite maximum-likelihood estimate (lists never seen together, or the
    Fienberg-Rinaldo linear program finds them running off to infinity), terms the data do not
    identify (rank deficiency, e.g. the highest-order interaction) and terms of lists that did
    not operate. ``(intercept)`` among them means the data say nothing about N.
    """
    from ..core.checks import check_model

    names: dict[str, None] = {}
    for check in check_model(table, spec):
        for name in check.affected:
            names.setdefault(name, None)
    return list(names)


def describe(table: CaptureTable, spec: LoglinearSpec) -> list[str]:
    """Plain-language notes on existence and identifiability (empty when nothing to say)."""
    from ..core.checks import check_model

    notes: list[str] = []
    for check in check_model(table, spec):
        if check.status == 0 and not check.affected:
            continue
        prefix = f"Stratum {check.stratum}: " if table.is_stratified else ""
        notes.append(prefix + check.message)
    return notes


# ---------------------------------------------------------------------------- fit
def hidden_draws(beta: np.ndarray, seed: int, strata_shape: tuple[int, ...]) -> np.ndarray:
    """N0 ~ Poisson(exp(theta_0)) per draw; beta has dims (chain, draw, stratum, term)."""
    rng = np.random.default_rng([seed, 0x4E30])
    lam = np.exp(beta[..., 0])
    n0 = rng.poisson(lam)
    return n0.reshape(*beta.shape[:2], *strata_shape)


def refit_from_patterns(estimate: Estimate, counts: np.ndarray, sampler: SamplerSettings) -> np.ndarray:
    """Monitoring-precision hook: refit the estimate's model to full-pattern counts (*strata, 2**K)
    of a simulated next year; returns posterior draws of total N.

    A list that catches someone in the replicate counts as active there, whatever it was before.
    """
    table = estimate.table
    observed = counts[..., 1:]
    member = pattern_matrix(table.n_lists)
    on_list = (observed @ member) > 0
    active = table.active.transpose(*table.strata, "list").values | on_list
    new = make_table(
        table.lists,
        observed,
        strata=table.strata_coords(),
        active=active,
        source="precision replicate",
    )
    spec = LoglinearSpec.model_validate(estimate.model)
    refit = fit(new, spec, sampler)
    n = refit.posterior["N"]
    return n.sum([d for d in n.dims if d not in ("chain", "draw")]).values.ravel()


def fit(table: CaptureTable, spec: LoglinearSpec, sampler: SamplerSettings) -> Estimate:
    """Fit the log-linear model and return the posterior of N as an Estimate."""
    model, data = build_model(table, spec, source=spec.name)
    from ..inference.sampling import sample

    idata = sample(model, data, sampler, key=structure_key(table, spec), var_names=["z", "beta"])
    beta = idata.posterior["beta"].transpose("chain", "draw", STRATUM_DIM, TERM_DIM).values
    idata.posterior = idata.posterior.drop_vars("z", errors="ignore")
    idata.posterior["log_mu0"] = idata.posterior["beta"].sel({TERM_DIM: INTERCEPT})
    n0 = hidden_draws(beta, sampler.seed, table.strata_shape())
    return make_estimate(
        family="loglinear",
        table=table,
        hidden=n0,
        model=spec.model_dump(mode="json"),
        sampler=sampler.model_dump(mode="json"),
        seed=sampler.seed,
        idata=idata,
        notes=describe(table, spec),
        diagnostic_vars=("N", "log_mu0"),
    )
