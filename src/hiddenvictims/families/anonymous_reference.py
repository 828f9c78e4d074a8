"""Full-linkage reference for the anonymous-list model (validation only).

When every list is linked, the anonymous-list model's assumptions are an ordinary Poisson
log-linear model over (linked lists x, anonymous list a) with

    log mu(x, a) = loglinear(x) + a * alpha + a * 1[x != 0] * theta,

the last term not a standard hierarchical interaction: one log odds ratio between the
anonymous list and "on any linked list". Given the linked pattern totals n(x, .), the counts
n(x, 1) are Binomial with one probability for every x != 0, so K = sum_{x != 0} n(x, 1) is
sufficient: the fit on the anonymised data (:mod:`.anonymous`) and this fit have the same
posterior. The test suite checks that they agree within Monte Carlo error.

Same whitened NUTS as :mod:`.loglinear`: theta = mode + M z with M from the Hessian at the mode.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.special import gammaln

from ..core.constants import TERM_DIM
from ..core.errors import InputError
from ..core.estimate import Estimate, make_estimate
from ..core.spec import AnonymousSpec, SamplerSettings
from ..core.table import CaptureTable, make_table, pattern_index, pattern_matrix
from ..core.terms import INTERCEPT, design_matrix, resolve_terms, term_name
from .loglinear import posterior_mode, whitening


def reorder(table: CaptureTable, anonymous: str) -> CaptureTable:
    """The same table with ``anonymous`` moved to the last position."""
    if table.is_stratified:
        raise InputError(f"{table.source}: the full-linkage reference handles unstratified tables only")
    if anonymous not in table.lists:
        raise InputError(f"{table.source}: unknown list '{anonymous}'")
    order = [n for n in table.lists if n != anonymous] + [anonymous]
    idx = [table.lists.index(n) for n in order]
    pats = table.patterns[:, idx]
    out = np.zeros(2 ** len(order), dtype=np.int64)
    np.add.at(out, pattern_index(pats), table.counts.values.astype(np.int64))
    return make_table(order, out[1:], source=table.source)


def reference_design(
    n_linked: int, spec: AnonymousSpec, linked: tuple[str, ...]
) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Design over all 2^(K+1) patterns (anonymous list = last bit), names, prior mean and sd."""
    terms = resolve_terms(spec, linked, spec.name)  # type: ignore[arg-type]
    link = design_matrix(n_linked, terms)  # (2^K, C_link)
    pats = pattern_matrix(n_linked + 1, include_zero=True)
    x_idx = pattern_index(np.atleast_2d(pats[:, :n_linked])) if n_linked else np.zeros(len(pats), int)
    a = pats[:, -1].astype(float)
    any_x = (pats[:, :n_linked].sum(axis=1) > 0).astype(float)
    design = np.column_stack([link[x_idx], a, a * any_x])
    names = [INTERCEPT, *[term_name(t, linked) for t in terms], "alpha", "theta"]
    pr = spec.priors
    mu = np.array([pr.intercept_mu] + [0.0] * len(terms) + [spec.anonymous_mu, spec.dependence.mean])
    sd = np.array(
        [pr.intercept_sd]
        + [pr.main_sd if len(t) == 1 else pr.interaction_sd for t in terms]
        + [spec.anonymous_sd, max(spec.dependence.sd, 1e-6)]
    )
    return design, names, mu, sd


def fit_reference(table: CaptureTable, anonymous: str, spec: AnonymousSpec, sampler: SamplerSettings) -> Estimate:
    """Fit the single-theta log-linear model to the fully linked table (anonymous list last)."""
    from ..inference.sampling import sample

    table = reorder(table, anonymous)
    linked = table.lists[:-1]
    design, names, mu, sd = reference_design(len(linked), spec, linked)
    x_obs = design[1:]
    y = table.counts.values.astype(float)
    w = np.ones_like(y)
    mode, hess = posterior_mode(x_obs, y, w, mu, sd)
    data = {"X": x_obs, "y": y, "lyf": gammaln(y + 1.0), "mode": mode, "M": whitening(hess), "mu": mu, "sd": sd}
    with pm.Model(coords={TERM_DIM: names}) as model:
        shared = {k: pm.Data(k, v) for k, v in data.items()}
        z = pm.Flat("z", dims=TERM_DIM)
        beta = pm.Deterministic("beta", shared["mode"] + (shared["M"] * z[None, :]).sum(axis=-1), dims=TERM_DIM)
        eta = pt.dot(shared["X"], beta)
        pm.Potential("loglik", pt.sum(shared["y"] * eta - pt.exp(eta) - shared["lyf"]))
        pm.Potential("prior", pt.sum(-0.5 * ((beta - shared["mu"]) / shared["sd"]) ** 2))
    key = ("anonymous-reference", design.shape, tuple(names))
    idata = sample(model, data, sampler, key=key, var_names=["beta"])
    beta = idata.posterior["beta"].transpose("chain", "draw", TERM_DIM).values
    rng = np.random.default_rng([sampler.seed, 0x4E30])
    n0 = rng.poisson(np.exp(beta[..., 0]))
    idata.posterior["theta"] = idata.posterior["beta"].sel({TERM_DIM: "theta"})
    return make_estimate(
        family="anonymous-reference",
        table=table,
        hidden=n0,
        model=spec.model_dump(mode="json"),
        sampler=sampler.model_dump(mode="json"),
        seed=sampler.seed,
        idata=idata,
        notes=("full-linkage reference: log-linear with a single anonymous-list dependence theta",),
        diagnostic_vars=("N", "theta"),
    )
