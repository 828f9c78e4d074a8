"""Linked lists plus a list without linkage (the anonymous chat): Bayesian MSE.

Model: per stratum, log mu(x, a) = loglinear(x) + a * (alpha + theta * 1[x != 0]) over the linked
lists x and the anonymous list a. theta (log odds ratio of dependence between the anonymous
list and the linked lists) is one parameter with a prior (``spec.dependence``). With one linked
list no data identify it (its posterior is its prior); with several it enters the likelihood
through the anonymous total and the self-reported overlap (docs/models.md). The
cross-classification of the anonymous list with the linked lists is latent and summed out
exactly (:mod:`.anonymous_lik`). A self-reported "known to police or care" count enters through
a mismatch model with priors on its sensitivity and false-known rate.

Parameters: a standardised vector xi ~ Normal(0, I) a priori, phi = prior_mean + prior_sd * xi,
and the per-stratum coefficients are a fixed linear map of phi (independent strata, or partial
pooling across groups plus a random walk across time: ``spec.pooling``). Informative evidence
priors (on N or on a list's coverage) add log-densities. NUTS samples z with xi = mode + M z
(M from the Hessian at the posterior mode, found with NumPy), the whitening of
:mod:`.loglinear`: it makes the posterior close to N(0, I) and sampling fast.

After sampling, each draw gets its latent cells drawn exactly (no discrete sampling in NUTS):
the overlap of the chat with the register, the register-only and chat-only counts where only
sums are known, and the never-listed count N00 ~ Poisson(mu(0, 0)).
"""

from __future__ import annotations

from dataclasses import dataclass

import arviz as az
import numpy as np
import pymc as pm
import xarray as xr

try:  # pytensor >= 2.31 moved it; older releases keep it in graph.basic
    from pytensor.graph.traversal import ancestors
except ImportError:  # pragma: no cover - depends on the installed pytensor
    from pytensor.graph.basic import ancestors
from scipy import optimize

from ..core.anonymous_data import AnonymousData, AnonymousSource, known_range
from ..core.capture import PATTERN_FULL_DIM, SAMPLE_DIM, CaptureDraws, full_pattern_labels
from ..core.constants import PATTERN_DIM, TERM_DIM
from ..core.errors import InputError
from ..core.estimate import Estimate
from ..core.spec import AnonymousSpec, SamplerSettings
from ..core.table import pattern_matrix
from ..core.terms import INTERCEPT, design_matrix, resolve_terms, term_name
from . import anonymous_lik as lik

FAMILY = "anonymous"
KIND_N, KIND_REG, KIND_ANON = 0, 1, 2


# ------------------------------------------------------------------------------ structure
@dataclass(frozen=True)
class Structure:
    """Everything fixed about one model: sizes, design, the phi -> coefficient map, priors."""

    n_units: int
    n_groups: int
    coef_names: tuple[str, ...]  # per stratum: linked coefficients, then 'alpha'
    design: np.ndarray  # (2^K, n_link_coef), row 0 = all-zero linked pattern
    n_link_coef: int
    coef_map: np.ndarray  # (U*G*C, D_coef)
    param_names: tuple[str, ...]  # names of the D entries of phi
    prior_mu: np.ndarray
    prior_sd: np.ndarray
    i_theta: int
    i_logit_s: int | None
    i_logit_f: int | None
    cells: bool = False  # one linked list: coefficients are log cell means (l10, l01, l11)

    @property
    def dim(self) -> int:
        return len(self.param_names)

    @property
    def n_coef(self) -> int:
        return len(self.coef_names)


def build_structure(data: AnonymousData, spec: AnonymousSpec) -> Structure:
    """The parameter layout and priors implied by ``spec`` for ``data`` (pure)."""
    lists = data.linked_lists
    terms = resolve_terms(spec, lists, spec.name)  # type: ignore[arg-type]
    design = design_matrix(len(lists), terms)
    pr = spec.priors
    cells = len(lists) == 1
    if cells:
        coef_names = (f"log_{lists[0]}_only", f"log_{data.anonymous.name}_only", "log_both")
        c_mu = np.full(3, spec.cell_mu)
        c_sd = np.full(3, spec.cell_sd)
    else:
        coef_names = (INTERCEPT, *[term_name(t, lists) for t in terms], "alpha")
        c_mu = np.array([pr.intercept_mu] + [0.0] * len(terms) + [spec.anonymous_mu])
        c_sd = np.array(
            [pr.intercept_sd] + [pr.main_sd if len(t) == 1 else pr.interaction_sd for t in terms] + [spec.anonymous_sd]
        )
    n_coef = len(coef_names)
    n_groups = data.anonymous.totals.sizes[data.group_dim] if data.group_dim else 1
    unit_shape = tuple(data.anonymous.totals.sizes[d] for d in data.unit_dims)
    n_units = int(np.prod(unit_shape)) if unit_shape else 1
    n_strata = n_units * n_groups
    names: list[str] = []
    mus: list[float] = []
    sds: list[float] = []
    blocks: list[np.ndarray] = []  # each (n_strata, n_coef, n_params_in_block) map
    pool = spec.pooling
    labels = data.stratum_labels()
    if pool is None:
        eye = np.zeros((n_strata, n_coef, n_strata * n_coef))
        for s in range(n_strata):
            for c in range(n_coef):
                eye[s, c, s * n_coef + c] = 1.0
                names.append(f"{coef_names[c]}[{labels[s]}]")
        blocks.append(eye)
        mus += list(np.tile(c_mu, n_strata))
        sds += list(np.tile(c_sd, n_strata))
    else:
        group_ok = pool.group_dim is None or pool.group_dim == data.group_dim
        unit_ok = set(data.unit_dims) <= ({pool.time_dim} if pool.time_dim else set())
        if not (group_ok and unit_ok):
            raise InputError(
                f"{spec.name}: pooling needs strata dims = time_dim ({pool.time_dim}) and group_dim "
                f"({pool.group_dim}); the data have {list(data.strata)} with group dim {data.group_dim}"
            )
        n_time = n_units
        # mean block
        mean = np.zeros((n_strata, n_coef, n_coef))
        for s in range(n_strata):
            mean[s] = np.eye(n_coef)
        blocks.append(mean)
        names += [f"{c}[mean]" for c in coef_names]
        mus += list(c_mu)
        sds += list(c_sd)
        if pool.group_dim is not None and n_groups > 1:
            off = np.zeros((n_strata, n_coef, n_groups * n_coef))
            for u in range(n_units):
                for g in range(n_groups):
                    for c in range(n_coef):
                        off[u * n_groups + g, c, g * n_coef + c] = 1.0
            blocks.append(off)
            gvals = data.anonymous.totals[data.group_dim].values
            names += [f"{c}[offset {gvals[g]}]" for g in range(n_groups) for c in coef_names]
            mus += [0.0] * (n_groups * n_coef)
            sds += [pool.group_sd] * (n_groups * n_coef)
        if pool.time_dim is not None and n_time > 1:
            steps = np.zeros((n_strata, n_coef, (n_time - 1) * n_groups * n_coef))
            tvals = data.anonymous.totals[pool.time_dim].values
            for u in range(n_units):
                for g in range(n_groups):
                    for c in range(n_coef):
                        for t in range(1, u + 1):
                            steps[u * n_groups + g, c, ((t - 1) * n_groups + g) * n_coef + c] = 1.0
            blocks.append(steps)
            gl = data.anonymous.totals[data.group_dim].values if data.group_dim else ["all"]
            names += [
                f"{c}[step {tvals[t]} {gl[g]}]" for t in range(1, n_time) for g in range(n_groups) for c in coef_names
            ]
            mus += [0.0] * ((n_time - 1) * n_groups * n_coef)
            sds += [pool.rw_sd] * ((n_time - 1) * n_groups * n_coef)
    coef_map = np.concatenate(blocks, axis=-1).reshape(n_strata * n_coef, -1)
    names.append("theta")
    mus.append(spec.dependence.mean)
    sds.append(spec.dependence.sd)
    i_theta = len(names) - 1
    i_s = i_f = None  # s and f are integrated out (Beta-binomial), never sampled
    return Structure(
        n_units=n_units,
        n_groups=n_groups,
        coef_names=coef_names,
        design=design,
        n_link_coef=design.shape[1],
        coef_map=coef_map,
        param_names=tuple(names),
        prior_mu=np.array(mus, float),
        prior_sd=np.array(sds, float),
        i_theta=i_theta,
        i_logit_s=i_s,
        i_logit_f=i_f,
        cells=cells,
    )


def informative_arrays(data: AnonymousData, spec: AnonymousSpec, structure: Structure) -> dict[str, np.ndarray]:
    """Evidence priors as arrays: stratum mask (I, U, G), kind one-hot (I, 3), mean, sd."""
    n = max(1, len(spec.informative))
    mask = np.zeros((n, structure.n_units, structure.n_groups))
    kind = np.zeros((n, 3))
    mu = np.zeros(n)
    sd = np.ones(n)
    coords = data.strata_coords()
    order = (*data.unit_dims, *([data.group_dim] if data.group_dim else []))
    for i, prior in enumerate(spec.informative):
        sel = xr.DataArray(np.ones(data.strata_shape()), dims=data.strata, coords=coords)
        for dim, value in prior.where.items():
            if dim not in data.strata:
                raise InputError(f"{spec.name}: informative prior selects unknown dim '{dim}' ({list(data.strata)})")
            values = [str(v) for v in coords[dim]]
            if str(value) not in values:
                raise InputError(f"{spec.name}: informative prior: '{value}' is not a value of '{dim}' ({values})")
            sel = sel * (xr.DataArray([str(v) for v in coords[dim]], dims=dim) == str(value))
        mask[i] = sel.transpose(*order).values.reshape(structure.n_units, structure.n_groups)
        if prior.quantity == "N":
            kind[i, KIND_N] = 1
            mu[i] = np.log(prior.median)
        else:
            if prior.list not in ("register", data.anonymous.name):
                raise InputError(
                    f"{spec.name}: coverage prior for list '{prior.list}': use 'register' or '{data.anonymous.name}'"
                )
            if not 0 < prior.median < 1:
                raise InputError(f"{spec.name}: coverage prior median must lie strictly between 0 and 1")
            kind[i, KIND_REG if prior.list == "register" else KIND_ANON] = 1
            mu[i] = np.log(prior.median / (1 - prior.median))
        sd[i] = prior.sd
    return {"info_mask": mask, "info_kind": kind, "info_mu": mu, "info_sd": sd}


# ------------------------------------------------------------------------------ log density
def unpack(phi, structure: Structure, ops, coef_map=None):
    """phi (..., D) -> coef (..., U, G, C) and the global parameters."""
    cmap = structure.coef_map if coef_map is None else coef_map
    d_coef = structure.coef_map.shape[1]
    coef = phi[..., :d_coef] @ cmap.T
    shape = (structure.n_units, structure.n_groups, structure.n_coef)
    if ops is lik.NP:
        coef = coef.reshape(*phi.shape[:-1], *shape)
    else:
        coef = coef.reshape(shape)
    params = {"theta": phi[..., structure.i_theta]}
    if structure.cells:
        coef = cells_to_coef(coef, params["theta"], ops)
    if structure.i_logit_s is not None:
        params["logit_s"] = phi[..., structure.i_logit_s]
        params["logit_f"] = phi[..., structure.i_logit_f]
    return coef, params


def cells_to_coef(cells, theta, ops):
    """(l10, l01, l11) (..., U, G, 3) -> (intercept u = log lam00, register main beta, alpha)."""
    th = theta[..., None, None] if ops is lik.NP else theta
    l10, l01, l11 = cells[..., 0], cells[..., 1], cells[..., 2]
    return ops.stack([l10 + l01 - l11 + th, l11 - l01 - th, l11 - l10 - th], axis=-1)


def derived_logs(coef, theta, structure: Structure, ops, design=None):
    """log expected N, logit register coverage, logit anonymous coverage: (..., U, G) each."""
    lm = lik.cell_log_means(coef, structure.design if design is None else design, structure.n_link_coef, theta, ops)
    stack = ops.stack([lm["00"], lm["10"], lm["01"], lm["11"]], axis=-1)
    log_n = ops.logsumexp(stack, axis=-1)
    reg = ops.logsumexp(ops.stack([lm["10"], lm["11"]], axis=-1), axis=-1)
    nreg = ops.logsumexp(ops.stack([lm["00"], lm["01"]], axis=-1), axis=-1)
    anon = ops.logsumexp(ops.stack([lm["01"], lm["11"]], axis=-1), axis=-1)
    nanon = ops.logsumexp(ops.stack([lm["00"], lm["10"]], axis=-1), axis=-1)
    return ops.stack([log_n, reg - nreg, anon - nanon], axis=-1)  # (..., U, G, 3)


def informative_logp(coef, theta, info: dict, structure: Structure, ops):
    q = derived_logs(coef, theta, structure, ops, info["design"])  # (..., U, G, 3)
    sel = (q[..., None, :, :, :] * info["info_kind"][:, None, None, :]).sum(axis=-1)  # (..., I, U, G)
    z = (sel - info["info_mu"][:, None, None]) / info["info_sd"][:, None, None]
    return (-0.5 * z**2 * info["info_mask"]).sum(axis=(-1, -2, -3))


def log_posterior(xi, structure: Structure, arrays: dict, static: dict, ops, likelihood: bool = True):
    """Unnormalised log posterior of the standardised parameters xi (..., D)."""
    phi = arrays["prior_mu"] + arrays["prior_sd"] * xi
    coef, params = unpack(phi, structure, ops, arrays["coef_map"])
    out = -0.5 * (xi**2).sum(axis=-1) + informative_logp(coef, params["theta"], arrays, structure, ops)
    if likelihood:
        out = out + lik.log_likelihood(coef, params, arrays, static, arrays["design"], structure.n_link_coef, ops)
    return out


# ------------------------------------------------------------------------------ margin coordinates
# ``parameterisation = "margins"`` (one linked list). Per stratum the cells (l10, l01, l11) are
# sampled as (a, b, v): a = log(lam10 + lam11) the register's expected total, b = log(lam01 +
# lam11) the anonymous list's, and v = logit of w = lam10 lam01 / ((lam10 + lam11)(lam01 + lam11))
# = (1 - overlap share of the register)(1 - overlap share of the anonymous list), i.e.
# v = log(lam10 lam01 / lam11) - log(lam10 + lam01 + lam11) = log(lam00 exp(-theta) / listed):
# the hidden-to-listed ratio, the direction along which N's upper tail lies. Given the margins
# (R, C) the overlap x = lam11 is the smaller root of (R - x)(C - x) = w R C, a smooth bijection
# of v onto (0, min(R, C)). Where a unit's figure is known only summed over groups, that margin is
# sampled as the log total over groups plus log ratios of each group to the first (unit
# Jacobian). The density of the sampled coordinates is the model's prior on the cells
# (the Gaussian that the pooling prior implies) plus log|d cells / d(a, b, v)|: the same posterior.
LOG2 = float(np.log(2.0))


def cells_from_margins(x, ops):
    """(a, b, v) (..., 3) -> cells (l10, l01, l11) (..., 3) and log|det d cells / d(a, b, v)| (...)."""
    a, b, v = x[..., 0], x[..., 1], x[..., 2]
    d = ops.abs(a - b)
    m = 0.5 * (a + b + d)  # max(a, b); m - d = min(a, b)
    e = ops.exp(-d)
    g = -ops.expm1(-d)  # |R - C| / max(R, C)
    log_w = -ops.softplus(-v)
    log_1mw = -ops.softplus(v)
    root = ops.sqrt(g * g + 4.0 * ops.exp(log_w) * e)  # sqrt((R - C)^2 + 4 w R C) / max(R, C)
    log_large = m + ops.log(g + root) - LOG2  # the larger of lam10, lam01
    log_small = a + b + log_w - log_large  # lam10 lam01 = w R C
    l11 = (m - d) + log_1mw + LOG2 - ops.log(1.0 + e + root)  # x = 2 R C (1 - w) / (R + C + sqrt(.))
    a_big = a >= b
    l10 = ops.where(a_big, log_large, log_small)
    l01 = ops.where(a_big, log_small, log_large)
    # |det d(a, b, v) / d cells| = [lam10 lam01 (lam10 + lam01 + 2 lam11) + lam10 lam11 R
    #                               + lam01 lam11 C] / (R C L), L = lam10 + lam01 + lam11
    log_l = ops.logsumexp(ops.stack([l10, l01, l11], axis=-1), axis=-1)
    t1 = l10 + l01 + ops.logsumexp(ops.stack([l10, l01, l11 + LOG2], axis=-1), axis=-1)
    t2 = l10 + l11 + a
    t3 = l01 + l11 + b
    log_jac = a + b + log_l - ops.logsumexp(ops.stack([t1, t2, t3], axis=-1), axis=-1)
    return ops.stack([l10, l01, l11], axis=-1), log_jac


def margins_from_cells(cells: np.ndarray) -> np.ndarray:
    """The inverse of :func:`cells_from_margins` (NumPy): (l10, l01, l11) (..., 3) -> (a, b, v)."""
    l10, l01, l11 = cells[..., 0], cells[..., 1], cells[..., 2]
    a, b = np.logaddexp(l10, l11), np.logaddexp(l01, l11)
    v = l10 + l01 - l11 - lik.NP.logsumexp(cells, axis=-1)
    return np.stack([a, b, v], axis=-1)


def _groups_from_pooled(x, flag, off, ops):
    """Per unit (..., U, G): where ``flag`` (U,), x[..., 0] is the log total over the groups and
    x[..., g] (g > 0) the log ratio of group g to group 0; elsewhere x is per group already."""
    rel = x * off  # (0, s_1, ..., s_{G-1})
    pooled = x[..., :1] + rel - ops.logsumexp(rel, axis=-1)[..., None]
    return ops.where(flag[:, None] > 0.5, pooled, x)


def _pooled_from_groups(a: np.ndarray, flag: np.ndarray) -> np.ndarray:
    pooled = np.concatenate([lik.NP.logsumexp(a, axis=-1)[..., None], a[..., 1:] - a[..., :1]], axis=-1)
    return np.where(flag[:, None] > 0.5, pooled, a)


def margin_cells(w, structure: Structure, arrays: dict, ops):
    """Sampled coordinates w (..., Dw) -> cells (..., U, G, 3) and the summed log Jacobian (...)."""
    n = structure.n_units * structure.n_groups * 3
    x = arrays["margin_centre"] + w[..., :n]
    shape = (structure.n_units, structure.n_groups, 3)
    x = x.reshape(*w.shape[:-1], *shape) if ops is lik.NP else x.reshape(shape)
    a = _groups_from_pooled(x[..., 0], arrays["margin_pool_reg"], arrays["margin_group_off"], ops)
    b = _groups_from_pooled(x[..., 1], arrays["margin_pool_anon"], arrays["margin_group_off"], ops)
    cells, log_jac = cells_from_margins(ops.stack([a, b, x[..., 2]], axis=-1), ops)
    return cells, log_jac.sum(axis=(-1, -2))


def log_posterior_margins(w, structure: Structure, arrays: dict, static: dict, ops, likelihood: bool = True):
    """Unnormalised log posterior of the margin coordinates w (..., Dw); theta's standardised
    value is the last entry. Same model as :func:`log_posterior` (cells marginalised over the
    pooling parameters, whose conditional given the cells is the prior's)."""
    cells, log_jac = margin_cells(w, structure, arrays, ops)
    n = structure.n_units * structure.n_groups * 3
    flat = cells.reshape(*w.shape[:-1], n) if ops is lik.NP else cells.reshape((n,))
    diff = flat - arrays["margin_mean"]
    xi_th = w[..., -1]
    theta = arrays["prior_mu"][structure.i_theta] + arrays["prior_sd"][structure.i_theta] * xi_th
    out = -0.5 * ((diff @ arrays["margin_prec"]) * diff).sum(axis=-1) + log_jac - 0.5 * xi_th**2
    coef = cells_to_coef(cells, theta, ops)
    out = out + informative_logp(coef, theta, arrays, structure, ops)
    if likelihood:
        out = out + lik.log_likelihood(
            coef, {"theta": theta}, arrays, static, arrays["design"], structure.n_link_coef, ops
        )
    return out


def margin_arrays(structure: Structure, obs: dict, name: str) -> tuple[dict, dict]:
    """Arrays (prior of the cells, centre, pooled-margin flags) and static flags for 'margins'."""
    if not structure.cells:
        raise InputError(f"{name}: parameterisation 'margins' needs exactly one linked list (the register)")
    amap = structure.coef_map
    d_coef = amap.shape[1]
    mu, sd = structure.prior_mu[:d_coef], structure.prior_sd[:d_coef]
    if np.linalg.matrix_rank(amap) < amap.shape[0]:
        raise InputError(
            f"{name}: parameterisation 'margins' needs a prior of full rank over the strata's cells "
            "(pooling over the group dim of the data, or none): use parameterisation = 'cells'"
        )
    cov = (amap * sd**2) @ amap.T
    prec = np.linalg.inv(cov)
    prec = 0.5 * (prec + prec.T)
    u, g = structure.n_units, structure.n_groups
    pool_reg = np.array([g > 1 and obs["regp_w"][i] > 0 and not np.any(obs["reg_w"][i] > 0) for i in range(u)])
    pool_anon = np.array([g > 1 and obs["chatp_w"][i] > 0 and not np.any(obs["chat_w"][i] > 0) for i in range(u)])
    mean = amap @ mu
    ab_v = margins_from_cells(mean.reshape(u, g, 3))
    ab_v[..., 0] = _pooled_from_groups(ab_v[..., 0], pool_reg.astype(float))
    ab_v[..., 1] = _pooled_from_groups(ab_v[..., 1], pool_anon.astype(float))
    arrays = {
        "margin_centre": ab_v.ravel(),
        "margin_mean": mean,
        "margin_prec": prec,
        "margin_gain": (sd**2)[:, None] * amap.T @ prec,  # D A^T (A D A^T)^-1: phi given the cells
        "margin_pool_reg": pool_reg.astype(float),
        "margin_pool_anon": pool_anon.astype(float),
        "margin_group_off": (np.arange(g) > 0).astype(float),
    }
    static = {
        "dim": u * g * 3 + 1,
        "pool_reg": tuple(bool(x) for x in pool_reg),
        "pool_anon": tuple(bool(x) for x in pool_anon),
    }
    return arrays, static


def xi_from_margins(prepared: PreparedModel, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draws of w (chain, draw, Dw) -> draws of xi (chain, draw, D) of the 'cells' model: the cells
    are a function of w; the pooling parameters phi given the cells are drawn from their exact
    conditional (Gaussian prior conditioned on coef_map @ phi = cells; the likelihood sees only
    the cells), by Matheron's rule."""
    structure, arrays = prepared.structure, prepared.arrays
    chains, draws, dw = w.shape
    flat = w.reshape(-1, dw)
    cells, _ = margin_cells(flat, structure, arrays, lik.NP)
    cells = cells.reshape(len(flat), -1)
    d_coef = structure.coef_map.shape[1]
    assert structure.i_theta == d_coef and structure.dim == d_coef + 1  # xi = (pooling parameters, theta)
    mu, sd = structure.prior_mu[:d_coef], structure.prior_sd[:d_coef]
    phi0 = mu + sd * rng.standard_normal((len(flat), d_coef))
    phi = phi0 + (cells - phi0 @ structure.coef_map.T) @ arrays["margin_gain"].T
    xi = np.concatenate([(phi - mu) / sd, flat[:, -1:]], axis=-1)
    return xi.reshape(chains, draws, -1)


# ------------------------------------------------------------------------------ mode & whitening
def _batched(fun, points: np.ndarray, chunk: int) -> np.ndarray:
    return np.concatenate([np.atleast_1d(fun(points[i : i + chunk])) for i in range(0, len(points), chunk)])


def posterior_mode(fun, dim: int, chunk: int = 64, step: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Mode and negative Hessian of ``fun`` (vectorised over a leading axis) by quasi-Newton
    with central-difference gradients, then a central-difference Hessian at the mode."""
    eye = np.eye(dim)

    def value(x):
        return -float(fun(x[None])[0])

    def grad(x):
        pts = np.concatenate([x + step * eye, x - step * eye])
        vals = _batched(fun, pts, chunk)
        with np.errstate(invalid="ignore"):  # -inf - -inf far from the mode: nan, the optimiser backs off
            return -(vals[:dim] - vals[dim:]) / (2 * step)

    res = optimize.minimize(value, np.zeros(dim), jac=grad, method="BFGS", options={"gtol": 1e-5, "maxiter": 500})
    x = res.x
    h = 1e-3
    pairs = [(i, j) for i in range(dim) for j in range(i, dim)]
    pts = []
    for i, j in pairs:
        for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            pts.append(x + h * (si * eye[i] + sj * eye[j]))
    vals = _batched(fun, np.array(pts), chunk).reshape(-1, 4)
    hess = np.zeros((dim, dim))
    for (i, j), v in zip(pairs, vals, strict=True):
        hess[i, j] = hess[j, i] = -(v[0] - v[1] - v[2] + v[3]) / (4 * h * h)
    return x, hess


def whitening(hess: np.ndarray, ceiling: float | None = None) -> np.ndarray:
    """M with M M^T = hess^{-1}, after clipping eigenvalues (numerical Hessians can be off;
    ``ceiling`` also caps them: a mode in a narrow spike must not set the scale elsewhere)."""
    hess = 0.5 * (hess + hess.T)
    vals, vecs = np.linalg.eigh(hess)
    vals = np.clip(vals, 1e-2, ceiling)
    # eigenvector whitening (not Cholesky): a direction the Hessian mis-scales stays on its own
    # axis, where the sampler's diagonal mass-matrix adaptation can correct it
    return vecs / np.sqrt(vals)


# ------------------------------------------------------------------------------ model
def mismatch_tuple(spec: AnonymousSpec) -> tuple[float, float, float, float]:
    mm = spec.mismatch
    return (mm.sensitivity_a, mm.sensitivity_b, mm.false_known_a, mm.false_known_b)


@dataclass(frozen=True)
class PreparedModel:
    """A model ready to sample: structure, data arrays, static flags, mode and whitening."""

    data: AnonymousData
    spec: AnonymousSpec
    structure: Structure
    arrays: dict
    static: dict
    notes: tuple[str, ...]

    def logp_numpy(self, xi: np.ndarray, likelihood: bool = True) -> np.ndarray:
        return log_posterior(xi, self.structure, self.arrays, self.static, lik.NP, likelihood)

    @property
    def margins(self) -> bool:
        return "margins" in self.static

    @property
    def sample_dim(self) -> int:
        return self.static["margins"]["dim"] if self.margins else self.structure.dim

    @property
    def sampled_var(self) -> str:
        """Name of the coordinates NUTS samples: 'xi', or 'w' for the margin coordinates."""
        return "w" if self.margins else "xi"

    def logp_sampled(self, w: np.ndarray) -> np.ndarray:
        """The log posterior of the coordinates NUTS samples (NumPy)."""
        return sampled_logp(self, w, self.arrays, lik.NP)


def sampled_logp(prepared: PreparedModel, x, arrays: dict, ops):
    """Log posterior of the sampled coordinates x (xi, or the margin coordinates), with the
    arrays in ``arrays`` (NumPy values, or the graph's pm.Data containers)."""
    density = log_posterior_margins if prepared.margins else log_posterior
    return density(x, prepared.structure, arrays, prepared.static, ops)


def prepare(data: AnonymousData, spec: AnonymousSpec) -> PreparedModel:
    """Pure: (data, spec) -> everything the model needs (no sampling, no compilation)."""
    obs, notes = data.observations()
    n_groups = data.anonymous.totals.sizes[data.group_dim] if data.group_dim else 1
    arrays, static = lik.prepare_arrays(obs, n_groups, mismatch_tuple(spec))
    structure = build_structure(data, spec)
    arrays.update(informative_arrays(data, spec, structure))
    arrays.update(
        prior_mu=structure.prior_mu, prior_sd=structure.prior_sd, coef_map=structure.coef_map, design=structure.design
    )
    if spec.parameterisation == "margins":
        margin_values, margin_static = margin_arrays(structure, obs, spec.name)
        arrays.update(margin_values)
        static = {**static, "margins": margin_static}
    return PreparedModel(data=data, spec=spec, structure=structure, arrays=arrays, static=static, notes=tuple(notes))


def build_model(prepared: PreparedModel, mode: np.ndarray, whiten: np.ndarray) -> tuple[pm.Model, dict]:
    """The PyMC model in whitened coordinates z (xi = mode + M z); data in pm.Data containers."""
    ops = lik._pt_ops()
    values = {**prepared.arrays, "xi_mode": mode, "xi_M": whiten}
    with pm.Model() as model:
        shared = {name: pm.Data(name, value) for name, value in values.items()}
        z = pm.Flat("z", shape=prepared.sample_dim)
        xi = pm.Deterministic(prepared.sampled_var, shared["xi_mode"] + (shared["xi_M"] * z[None, :]).sum(axis=-1))
        logp = pm.Potential("logp", sampled_logp(prepared, xi, shared, ops))
    # keep only the containers the graph reads: nutpie's ``with_data`` rejects any other name
    used = {v.name for v in ancestors([logp, xi])}
    return model, {name: value for name, value in values.items() if name in used}


def structure_key(prepared: PreparedModel) -> tuple:
    structure, s = prepared.structure, prepared.static
    return (
        FAMILY,
        structure.design.shape,
        structure.coef_map.shape,
        structure.dim,
        structure.n_units,
        structure.n_groups,
        s["n_groups"],
        s["has_mismatch"],
        s["has_patterns"],
        prepared.arrays["info_mask"].shape,
        tuple((u["mode"], u["mismatch"]) for u in s["units"]),
        tuple(sorted(s["margins"].items())) if prepared.margins else "cells",
    )


# ------------------------------------------------------------------------------ fit
def fit(data: AnonymousData, spec: AnonymousSpec, sampler: SamplerSettings, prior_draws: int = 4000) -> Estimate:
    """Fit the anonymous-list model; returns an Estimate (N per stratum, shares, prior draws)."""
    from ..inference.sampling import sample

    prepared = prepare(data, spec)
    mode, hess = posterior_mode(prepared.logp_sampled, prepared.sample_dim)
    # margins: the mode can sit in the corner where both single cells vanish (a spike of the
    # density in these coordinates); capping the curvature keeps the whitening at the bulk's scale
    whiten = whitening(hess, ceiling=1e2 if prepared.margins else None)
    model, values = build_model(prepared, mode, whiten)
    idata = sample(model, values, sampler, key=structure_key(prepared), var_names=[prepared.sampled_var])
    xi = idata.posterior[prepared.sampled_var].transpose("chain", "draw", ...).values
    if prepared.margins:
        xi = xi_from_margins(prepared, xi, np.random.default_rng([sampler.seed, 0x3A6]))
    stats = idata.sample_stats if "sample_stats" in idata.groups() else None
    return assemble(prepared, xi, sampler, stats, prior_draws=prior_draws, mode=mode)


def assemble(
    prepared: PreparedModel,
    xi: np.ndarray,
    sampler: SamplerSettings,
    sample_stats=None,
    prior_draws: int = 4000,
    mode: np.ndarray | None = None,
) -> Estimate:
    """Posterior and prior draws of N and the shares, from draws of xi (chain, draw, D)."""
    rng = np.random.default_rng([sampler.seed, 0xA70])
    post = population_dataset(prepared, xi, rng)
    prior_xi = prior_sample(prepared, prior_draws, rng)
    prior = population_dataset(prepared, prior_xi, rng, prior=True)
    groups = {"posterior": post, "prior": prior}
    if sample_stats is not None:
        groups["sample_stats"] = sample_stats
    idata = az.InferenceData(**groups)
    notes = list(prepared.notes) + describe(prepared)
    model = prepared.spec.model_dump(mode="json")
    return Estimate(
        idata=idata,
        table=prepared.data,
        family=FAMILY,
        model=model,  # type: ignore[arg-type]
        sampler=sampler.model_dump(mode="json"),
        seed=sampler.seed,
        notes=tuple(notes),
        extra_summary_vars=("N_unseen", "N_anonymous", "share_anonymous", "theta"),
        diagnostic_vars=("N", "theta"),
    )


def prior_sample(prepared: PreparedModel, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of xi from the prior (Gaussian, reweighted and resampled for evidence priors)."""
    if not prepared.spec.informative:
        return rng.standard_normal((1, n, prepared.structure.dim))
    base = rng.standard_normal((8 * n, prepared.structure.dim))
    logw = _batched(lambda x: prepared.logp_numpy(x, likelihood=False) + 0.5 * (x**2).sum(-1), base, 4096)
    w = np.exp(logw - logw.max())
    idx = rng.choice(len(base), size=n, p=w / w.sum())
    return base[idx][None]  # (1 chain, n, D)


def population_dataset(
    prepared: PreparedModel, xi: np.ndarray, rng: np.random.Generator, prior: bool = False
) -> xr.Dataset:
    """N, hidden-from-register, shares and parameters per draw and stratum, as an xr.Dataset."""
    structure, data = prepared.structure, prepared.data
    chains, draws, dim = xi.shape
    flat = xi.reshape(-1, dim)
    phi = structure.prior_mu + structure.prior_sd * flat
    coef, params = unpack(phi, structure, lik.NP)
    if prior:
        lm = lik.cell_log_means(coef, structure.design, structure.n_link_coef, params["theta"], lik.NP)
        cells = {f"c{key}": rng.poisson(np.exp(np.clip(lm[key], None, 30))) for key in ("00", "10", "01", "11")}
    else:
        cells = {key: [] for key in ("c00", "c10", "c01", "c11")}
        chunk = max(1, int(2e7 // max(1, structure.n_units * prepared.static["grid"] ** 2)))
        for i in range(0, len(flat), chunk):
            sub_p = {k: v[i : i + chunk] for k, v in params.items()}
            drawn = lik.draw_cells(
                coef[i : i + chunk],
                sub_p,
                prepared.arrays,
                prepared.static,
                structure.design,
                structure.n_link_coef,
                rng,
            )
            for key in cells:
                cells[key].append(drawn[key])
        cells = {k: np.concatenate(v) for k, v in cells.items()}
    c = {k: v.astype(np.float64) for k, v in cells.items()}
    n_total = c["c00"] + c["c10"] + c["c01"] + c["c11"]
    registered = c["c10"] + c["c11"]
    anon = c["c01"] + c["c11"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "N": n_total,
            "N_hidden": n_total - registered,
            "observed_share": registered / n_total,
            "N_registered": registered,
            "N_anonymous": anon,
            "N_both": c["c11"],
            "N_unseen": c["c00"],
            "share_anonymous": anon / n_total,
        }
    strata = data.strata
    order = (*data.unit_dims, *([data.group_dim] if data.group_dim else []))
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), **data.strata_coords()}
    shape = (chains, draws, *[data.anonymous.totals.sizes[d] for d in order])
    ds = {}
    for name, arr in out.items():
        da = xr.DataArray(
            arr.reshape(shape), dims=("chain", "draw", *order), coords={k: coords[k] for k in ("chain", "draw", *order)}
        )
        ds[name] = da.transpose("chain", "draw", *strata)
    if strata:
        axes = tuple(range(2, 2 + len(strata)))
        tot_n = ds["N"].values.sum(axis=axes)
        tot_r = ds["N_registered"].values.sum(axis=axes)
        tot_a = ds["N_anonymous"].values.sum(axis=axes)
        cd = {"chain": coords["chain"], "draw": coords["draw"]}
        with np.errstate(divide="ignore", invalid="ignore"):  # prior draws may have N = 0
            totals = {
                "N_total": tot_n,
                "N_hidden_total": tot_n - tot_r,
                "observed_share_total": tot_r / tot_n,
                "N_unseen_total": ds["N_unseen"].values.sum(axis=axes),
                "N_anonymous_total": tot_a,
                "share_anonymous_total": tot_a / tot_n,
            }
        for name, arr in totals.items():
            ds[name] = xr.DataArray(arr, dims=("chain", "draw"), coords=cd)
    cshape = (chains, draws, *[data.anonymous.totals.sizes[d] for d in order], structure.n_coef)
    names = [INTERCEPT, data.linked_lists[0], "alpha"] if structure.cells else list(structure.coef_names)
    coef_da = xr.DataArray(
        coef.reshape(cshape),
        dims=("chain", "draw", *order, TERM_DIM),
        coords={**{k: coords[k] for k in ("chain", "draw", *order)}, TERM_DIM: names},
    )
    ds["beta"] = coef_da.transpose("chain", "draw", *strata, TERM_DIM)
    ds["phi"] = xr.DataArray(
        phi.reshape(chains, draws, dim),
        dims=("chain", "draw", "param"),
        coords={"chain": coords["chain"], "draw": coords["draw"], "param": list(structure.param_names)},
    )
    for name, value in params.items():
        ds[name] = xr.DataArray(
            value.reshape(chains, draws),
            dims=("chain", "draw"),
            coords={"chain": coords["chain"], "draw": coords["draw"]},
        )
    k_unit = c["c11"].sum(axis=-1)  # (n, U): members of the anonymous list on a linked list
    ds["K_unit"] = xr.DataArray(
        k_unit.reshape(chains, draws, -1),
        dims=("chain", "draw", "unit"),
        coords={"chain": coords["chain"], "draw": coords["draw"], "unit": unit_labels(data)},
    )
    if prior:
        a_s, b_s, a_f, b_f = mismatch_tuple(prepared.spec)
        mis = (
            {"sensitivity": rng.beta(a_s, b_s, size=len(k_unit)), "false_known": rng.beta(a_f, b_f, size=len(k_unit))}
            if prepared.static["has_mismatch"]
            else {}
        )
    else:
        mis = mismatch_draws(prepared, k_unit, rng)
    for name, value in mis.items():
        ds[name] = xr.DataArray(
            value.reshape(chains, draws),
            dims=("chain", "draw"),
            coords={"chain": coords["chain"], "draw": coords["draw"]},
        )
    q = derived_logs(coef, params["theta"], structure, lik.NP)
    exp_n = xr.DataArray(
        np.exp(q[..., 0]).reshape(shape),
        dims=("chain", "draw", *order),
        coords={k: coords[k] for k in ("chain", "draw", *order)},
    )
    ds["expected_N"] = exp_n.transpose("chain", "draw", *strata)
    return xr.Dataset(ds)


def unit_labels(data: AnonymousData) -> list[str]:
    if not data.unit_dims:
        return ["all"]
    import itertools

    grids = itertools.product(*(data.anonymous.totals[d].values for d in data.unit_dims))
    return ["|".join(str(v) for v in combo) for combo in grids]


def mismatch_draws(prepared: PreparedModel, k_unit: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draws of s and f given each draw's overlap (first self-report unit): exact conditionals.

    Given k, the number l of registered members who say 'known' (and r in the reported range)
    has P(l, r | k) from the Beta-binomials; then s | l ~ Beta(a_s + l, b_s + k - l) and
    f | r - l ~ Beta(a_f + r - l, b_f + T - k - r + l). Prior draws use k from the prior.
    """
    obs = prepared.static["obs"]
    units = [u for u, info in enumerate(prepared.static["units"]) if info["mismatch"]]
    if not units:
        return {}
    u = units[0]
    a_s, b_s, a_f, b_f = mismatch_tuple(prepared.spec)
    lo, hi, total = int(obs["kmis_lo"][u]), int(obs["kmis_hi"][u]), float(obs["kmis_T"][u])
    k = np.clip(k_unit[:, u], 0, total)
    joint = lik.mismatch_joint(np.arange(int(total) + 1), lo, hi, total, mismatch_tuple(prepared.spec))
    flat = joint.reshape(joint.shape[0], -1)[k.astype(int)]  # (n, (L+1) W)
    finite = np.isfinite(flat).any(axis=1)
    flat = np.where(finite[:, None], flat, 0.0)
    pick = np.argmax(flat + rng.gumbel(size=flat.shape), axis=1)
    width = hi - lo + 1
    known_in_overlap, reported = pick // width, lo + pick % width
    s = rng.beta(a_s + known_in_overlap, b_s + np.maximum(k - known_in_overlap, 0))
    f = rng.beta(
        a_f + np.maximum(reported - known_in_overlap, 0), b_f + np.maximum(total - k - (reported - known_in_overlap), 0)
    )
    return {"sensitivity": s, "false_known": f}


def describe(prepared: PreparedModel) -> list[str]:
    """What the data can and cannot say, in words, for the Estimate's notes."""
    spec, data = prepared.spec, prepared.data
    dep = spec.dependence
    notes = [
        f"The dependence between '{data.anonymous.name}' and the linked lists (log odds ratio theta) "
        f"is not identified by any data: it comes from its prior, Normal({dep.mean:g}, {dep.sd:g}).",
    ]
    if len(data.linked_lists) == 1:
        notes.append(
            "With one linked list (the register) and the anonymous list, the number seen by neither is "
            "N00 = N10 x N01 / N11 x exp(theta): given the 2 x 2 margins, the answer is the prior on theta "
            "and nothing else."
        )
    else:
        notes.append(
            "With several linked lists, their own pattern counts carry the MSE; with theta free the "
            "anonymous list adds to the hidden count only what its prior on theta allows."
        )
    if prepared.static["has_mismatch"]:
        mm = spec.mismatch
        notes.append(
            "'Known to police or care' is a self-report, not register membership: a registered member says "
            f"'known' with probability s ~ Beta({mm.sensitivity_a:g}, {mm.sensitivity_b:g}), an unregistered one "
            f"with probability f ~ Beta({mm.false_known_a:g}, {mm.false_known_b:g}); both are integrated out, and "
            "the data cannot separate them from the overlap with the register."
        )
    for prior in spec.informative:
        notes.append(
            f"Evidence prior{(' (' + prior.label + ')') if prior.label else ''}: {prior.quantity}"
            f"{'' if prior.quantity == 'N' else ' of ' + prior.list} median {prior.median:g} "
            f"(sd {prior.sd:g} on the {'log' if prior.quantity == 'N' else 'logit'} scale) where {prior.where}."
        )
    return notes


# ------------------------------------------------------------------------------ capture draws
def capture_draws(estimate: Estimate) -> CaptureDraws:
    """Capture process per posterior draw: N and the probability of every pattern over
    (linked lists..., anonymous list), the all-zero pattern first. ``register`` = the linked
    lists, ``anonymous`` = (the anonymous list,)."""
    if estimate.family != FAMILY:
        raise InputError(f"capture_draws: estimate of family '{estimate.family}', not '{FAMILY}'")
    data: AnonymousData = estimate.table  # type: ignore[assignment]
    post = estimate.posterior
    strata = data.strata
    coef = post["beta"].transpose("chain", "draw", *strata, TERM_DIM).values
    theta = post["theta"].values
    chains, draws = theta.shape
    k = len(data.linked_lists)
    n_link = coef.shape[-1] - 1
    spec = AnonymousSpec.model_validate(estimate.model)
    design = design_matrix(k, resolve_terms(spec, data.linked_lists))
    if design.shape[1] != n_link:
        raise InputError("capture_draws: the estimate's coefficients do not match its spec")
    log_mu = coef[..., :n_link] @ design.T  # (c, d, *strata, 2^K)
    alpha = coef[..., n_link][..., None]
    linked_any = (pattern_matrix(k, include_zero=True).sum(axis=1) > 0).astype(float)
    th = theta.reshape(chains, draws, *([1] * (len(strata) + 1)))
    log_with = log_mu + alpha + th * linked_any
    full = np.stack([log_mu, log_with], axis=-1).reshape(*log_mu.shape[:-1], 2 ** (k + 1))  # a is the last bit
    full = full - full.max(axis=-1, keepdims=True)
    prob = np.exp(full)
    prob /= prob.sum(axis=-1, keepdims=True)
    n_draws = chains * draws
    shape = data.strata_shape()
    coords = {SAMPLE_DIM: np.arange(n_draws), **data.strata_coords()}
    n = post["N"].transpose("chain", "draw", *strata).values.reshape(n_draws, *shape)
    return CaptureDraws(
        N=xr.DataArray(n, dims=(SAMPLE_DIM, *strata), coords=coords),
        pattern_prob=xr.DataArray(
            prob.reshape(n_draws, *shape, 2 ** (k + 1)),
            dims=(SAMPLE_DIM, *strata, PATTERN_FULL_DIM),
            coords={**coords, PATTERN_FULL_DIM: full_pattern_labels(k + 1)},
        ),
        lists=data.lists,
        register=data.linked_lists,
        anonymous=(data.anonymous.name,),
    )


def fit_table(table, spec: AnonymousSpec, sampler: SamplerSettings) -> Estimate:
    """Registry entry (``fit(table, spec, sampler)``): fits :class:`AnonymousData`; a linked
    capture table has no list without linkage, so for one it says what to use instead."""
    if isinstance(table, AnonymousData):
        return fit(table, spec, sampler)
    raise InputError(
        f"{getattr(table, 'source', 'table')}: model family 'anonymous' needs a list without linkage "
        '(totals only), not a linked capture table: use a config with kind = "netherlands" '
        "(scenarios/netherlands-baseline.toml) or hiddenvictims.families.anonymous.fit(AnonymousData, ...)"
    )


# ------------------------------------------------------------------------------ monitoring refits
def observed_from_patterns(
    data: AnonymousData, counts: np.ndarray, rates: tuple[float, float], rng: np.random.Generator
) -> AnonymousData:
    """What the sources would publish about a simulated population, in the layout of ``data``.

    ``counts`` are full-pattern counts (*strata, 2**(K+1)) over (linked lists..., anonymous
    list), the anonymous list the last bit (:class:`~hiddenvictims.core.capture.CaptureDraws` order).
    Nobody sees that table: the linked lists give their pattern counts (or only their totals
    over the group dim, as in ``data``), the anonymous list only its totals, and its members
    "known elsewhere" only where ``data`` has that figure. A self-report is simulated as
    Bin(k, s) + Bin(T - k, f) with (s, f) = ``rates`` and published as a whole percentage
    "first disclosure" (the range :func:`~hiddenvictims.core.anonymous_data.known_range` reads back).
    A figure missing in ``data`` stays missing, so the refit has the same structure.
    """
    src = data.anonymous
    k = len(data.linked_lists)
    strata = data.strata
    shape = data.strata_shape()
    if counts.shape != (*shape, 2 ** (k + 1)):
        raise InputError(f"refit: counts of shape {counts.shape}, expected {(*shape, 2 ** (k + 1))}")
    full = np.asarray(counts, dtype=np.int64).reshape(*shape, 2**k, 2)  # (..., linked x, anonymous a)

    def like(template: xr.DataArray | None, values: np.ndarray, dims: tuple[str, ...]) -> xr.DataArray | None:
        if template is None:
            return None
        arr = xr.DataArray(values.astype(float), dims=dims, coords={d: template[d].values for d in dims}).transpose(
            *template.dims
        )
        return arr.where(template.notnull())

    linked = like(data.linked, full[..., 1:, :].sum(axis=-1), (*strata, PATTERN_DIM))
    anon = full[..., 1].sum(axis=-1)  # (*strata)
    known = full[..., 1:, 1].sum(axis=-1)
    group = data.group_dim
    g_axis = strata.index(group) if group else None

    def pooled(values: np.ndarray) -> np.ndarray:
        return values.sum(axis=g_axis) if group else values

    unit_dims = tuple(d for d in strata if d != group)
    linked_pooled = like(data.linked_pooled, pooled(full[..., 1:, :].sum(axis=-1)), (*unit_dims, PATTERN_DIM))
    totals = like(src.totals, anon, strata)
    pooled_totals = like(src.pooled_totals, pooled(anon), unit_dims)
    low = high = None
    if src.known_low is not None:
        k_unit, t_unit = pooled(known), pooled(anon)
        if src.known_kind == "linked":
            low = high = like(src.known_low, k_unit, unit_dims)
        else:
            s, f = rates
            said = rng.binomial(k_unit, s) + rng.binomial(t_unit - k_unit, f)
            pct = np.where(t_unit > 0, np.round(100.0 * (1.0 - said / np.maximum(t_unit, 1))), 100.0)
            lo_hi = np.array(
                [known_range(float(t), float(p)) for t, p in zip(t_unit.ravel(), pct.ravel(), strict=True)]
            )
            low = like(src.known_low, lo_hi[:, 0].reshape(t_unit.shape), unit_dims)
            high = like(src.known_high, lo_hi[:, 1].reshape(t_unit.shape), unit_dims)
    source = AnonymousSource(
        name=src.name,
        totals=totals,
        pooled_totals=pooled_totals,
        known_low=low,
        known_high=high,
        known_kind=src.known_kind,
        compared_to=src.compared_to,
    )
    return AnonymousData(
        linked_lists=data.linked_lists,
        linked=linked,
        anonymous=source,
        linked_pooled=linked_pooled,
        group_dim=group,
        source="precision replicate",
    )


def refit_from_patterns(estimate: Estimate, counts: np.ndarray, sampler: SamplerSettings) -> np.ndarray:
    """Monitoring-precision hook: refit the estimate's model to what simulated full-pattern
    counts (*strata, 2**(K+1)) would let one observe; returns posterior draws of total N.

    Same spec, same priors, same observation pattern (so the same model structure and compiled
    code). The self-report's rates (s, f) are one posterior draw of the estimate's, chosen with
    the refit's seed.
    """
    if estimate.family != FAMILY:
        raise InputError(f"refit: estimate of family '{estimate.family}', not '{FAMILY}'")
    data: AnonymousData = estimate.table  # type: ignore[assignment]
    spec = AnonymousSpec.model_validate(estimate.model)
    rng = np.random.default_rng([sampler.seed, 0x5E1F])
    post = estimate.posterior
    if "sensitivity" in post:
        s_draws, f_draws = post["sensitivity"].values.ravel(), post["false_known"].values.ravel()
        i = int(rng.integers(s_draws.size))
        rates = (float(s_draws[i]), float(f_draws[i]))
    else:
        rates = (1.0, 0.0)
    new = observed_from_patterns(data, np.asarray(counts), rates, rng)
    refit = fit(new, spec, sampler, prior_draws=10)
    n = refit.posterior["N_total"] if "N_total" in refit.posterior else refit.posterior["N"]
    return n.values.ravel()
