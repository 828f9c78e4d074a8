"""Linked lists plus a list without linkage (the anonymous chat): Bayesian MSE.

Model: per stratum, log mu(x, a) = loglinear(x) + a * (alpha + theta * 1[x != 0]) over the linked
lists x and the anonymous list a. theta (log odds ratio of dependence between the anonymous
list and the linked lists) is one parameter with a prior (``spec.dependence``): no data
identify it. The cross-classification of the anonymous list with the linked lists is latent
and summed out exactly (:mod:`.anonymous_lik`). A self-reported "known to police or care"
count enters through a mismatch model with priors on its sensitivity and false-known rate.

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
from scipy import optimize

from ..anonymous_data import AnonymousData
from ..capture import PATTERN_FULL_DIM, SAMPLE_DIM, CaptureDraws, full_pattern_labels
from ..constants import TERM_DIM
from ..errors import InputError
from ..estimate import Estimate
from ..spec import AnonymousSpec, SamplerSettings
from ..table import pattern_matrix
from . import anonymous_lik as lik
from .loglinear import design_matrix, resolve_terms, term_name

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
        coef_names = ("(intercept)", *[term_name(t, lists) for t in terms], "alpha")
        c_mu = np.array([pr.intercept_mu] + [0.0] * len(terms) + [spec.anonymous_mu])
        c_sd = np.array([pr.intercept_sd] + [pr.main_sd if len(t) == 1 else pr.interaction_sd for t in terms]
                        + [spec.anonymous_sd])
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
            names += [f"{c}[step {tvals[t]} {gl[g]}]" for t in range(1, n_time) for g in range(n_groups)
                      for c in coef_names]
            mus += [0.0] * ((n_time - 1) * n_groups * n_coef)
            sds += [pool.rw_sd] * ((n_time - 1) * n_groups * n_coef)
    coef_map = np.concatenate(blocks, axis=-1).reshape(n_strata * n_coef, -1)
    names.append("theta")
    mus.append(spec.dependence.mean)
    sds.append(spec.dependence.sd)
    i_theta = len(names) - 1
    i_s = i_f = None  # s and f are integrated out (Beta-binomial), never sampled
    return Structure(
        n_units=n_units, n_groups=n_groups, coef_names=coef_names, design=design,
        n_link_coef=design.shape[1], coef_map=coef_map, param_names=tuple(names),
        prior_mu=np.array(mus, float), prior_sd=np.array(sds, float),
        i_theta=i_theta, i_logit_s=i_s, i_logit_f=i_f, cells=cells,
    )


def informative_arrays(data: AnonymousData, spec: AnonymousSpec, st: Structure) -> dict[str, np.ndarray]:
    """Evidence priors as arrays: stratum mask (I, U, G), kind one-hot (I, 3), mean, sd."""
    n = max(1, len(spec.informative))
    mask = np.zeros((n, st.n_units, st.n_groups))
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
        mask[i] = sel.transpose(*order).values.reshape(st.n_units, st.n_groups)
        if prior.quantity == "N":
            kind[i, KIND_N] = 1
            mu[i] = np.log(prior.median)
        else:
            if prior.list not in ("register", data.anonymous.name):
                raise InputError(
                    f"{spec.name}: coverage prior for list '{prior.list}': use 'register' or "
                    f"'{data.anonymous.name}'"
                )
            if not 0 < prior.median < 1:
                raise InputError(f"{spec.name}: coverage prior median must lie strictly between 0 and 1")
            kind[i, KIND_REG if prior.list == "register" else KIND_ANON] = 1
            mu[i] = np.log(prior.median / (1 - prior.median))
        sd[i] = prior.sd
    return {"info_mask": mask, "info_kind": kind, "info_mu": mu, "info_sd": sd}


# ------------------------------------------------------------------------------ log density
def unpack(phi, st: Structure, xp, coef_map=None):
    """phi (..., D) -> coef (..., U, G, C) and the global parameters."""
    cmap = st.coef_map if coef_map is None else coef_map
    d_coef = st.coef_map.shape[1]
    coef = phi[..., :d_coef] @ cmap.T
    shape = (st.n_units, st.n_groups, st.n_coef)
    if xp is lik.NP:
        coef = coef.reshape(*phi.shape[:-1], *shape)
    else:
        coef = coef.reshape(shape)
    params = {"theta": phi[..., st.i_theta]}
    if st.cells:
        # (l10, l01, l11) -> (intercept u = log lam00, register main beta, alpha)
        th = params["theta"][..., None, None] if xp is lik.NP else params["theta"]
        l10, l01, l11 = coef[..., 0], coef[..., 1], coef[..., 2]
        coef = xp.stack([l10 + l01 - l11 + th, l11 - l01 - th, l11 - l10 - th], axis=-1)
    if st.i_logit_s is not None:
        params["logit_s"] = phi[..., st.i_logit_s]
        params["logit_f"] = phi[..., st.i_logit_f]
    return coef, params


def derived_logs(coef, theta, st: Structure, xp, design=None):
    """log expected N, logit register coverage, logit anonymous coverage: (..., U, G) each."""
    lm = lik.cell_log_means(coef, st.design if design is None else design, st.n_link_coef, theta, xp)
    stack = xp.stack([lm["00"], lm["10"], lm["01"], lm["11"]], axis=-1)
    log_n = xp.logsumexp(stack, axis=-1)
    reg = xp.logsumexp(xp.stack([lm["10"], lm["11"]], axis=-1), axis=-1)
    nreg = xp.logsumexp(xp.stack([lm["00"], lm["01"]], axis=-1), axis=-1)
    anon = xp.logsumexp(xp.stack([lm["01"], lm["11"]], axis=-1), axis=-1)
    nanon = xp.logsumexp(xp.stack([lm["00"], lm["10"]], axis=-1), axis=-1)
    return xp.stack([log_n, reg - nreg, anon - nanon], axis=-1)  # (..., U, G, 3)


def informative_logp(coef, theta, info: dict, st: Structure, xp):
    q = derived_logs(coef, theta, st, xp, info["design"])  # (..., U, G, 3)
    sel = (q[..., None, :, :, :] * info["info_kind"][:, None, None, :]).sum(axis=-1)  # (..., I, U, G)
    z = (sel - info["info_mu"][:, None, None]) / info["info_sd"][:, None, None]
    return (-0.5 * z**2 * info["info_mask"]).sum(axis=(-1, -2, -3))


def log_posterior(xi, st: Structure, arrays: dict, static: dict, xp, likelihood: bool = True):
    """Unnormalised log posterior of the standardised parameters xi (..., D)."""
    phi = arrays["prior_mu"] + arrays["prior_sd"] * xi
    coef, params = unpack(phi, st, xp, arrays["coef_map"])
    out = -0.5 * (xi**2).sum(axis=-1) + informative_logp(coef, params["theta"], arrays, st, xp)
    if likelihood:
        out = out + lik.log_likelihood(coef, params, arrays, static, arrays["design"], st.n_link_coef, xp)
    return out


# ------------------------------------------------------------------------------ mode & whitening
def _batched(fun, points: np.ndarray, chunk: int) -> np.ndarray:
    return np.concatenate([np.atleast_1d(fun(points[i:i + chunk])) for i in range(0, len(points), chunk)])


def posterior_mode(fun, dim: int, chunk: int = 64, step: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Mode and negative Hessian of ``fun`` (vectorised over a leading axis) by quasi-Newton
    with central-difference gradients, then a central-difference Hessian at the mode."""
    eye = np.eye(dim)

    def value(x):
        return -float(fun(x[None])[0])

    def grad(x):
        pts = np.concatenate([x + step * eye, x - step * eye])
        vals = _batched(fun, pts, chunk)
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


def whitening(hess: np.ndarray) -> np.ndarray:
    """M with M M^T = hess^{-1}, after clipping eigenvalues (numerical Hessians can be off)."""
    hess = 0.5 * (hess + hess.T)
    vals, vecs = np.linalg.eigh(hess)
    vals = np.clip(vals, 1e-2, None)
    # eigenvector whitening (not Cholesky): a direction the Hessian mis-scales stays on its own
    # axis, where the sampler's diagonal mass-matrix adaptation can correct it
    return vecs / np.sqrt(vals)


# ------------------------------------------------------------------------------ model
def mismatch_tuple(spec: AnonymousSpec) -> tuple[float, float, float, float]:
    mm = spec.mismatch
    return (mm.sensitivity_a, mm.sensitivity_b, mm.false_known_a, mm.false_known_b)


@dataclass(frozen=True)
class Prepared:
    """A model ready to sample: structure, data arrays, static flags, mode and whitening."""

    data: AnonymousData
    spec: AnonymousSpec
    st: Structure
    arrays: dict
    static: dict
    notes: tuple[str, ...]

    def logp_numpy(self, xi: np.ndarray, likelihood: bool = True) -> np.ndarray:
        return log_posterior(xi, self.st, self.arrays, self.static, lik.NP, likelihood)


def prepare(data: AnonymousData, spec: AnonymousSpec) -> Prepared:
    """Pure: (data, spec) -> everything the model needs (no sampling, no compilation)."""
    obs, notes = data.observations()
    n_groups = data.anonymous.totals.sizes[data.group_dim] if data.group_dim else 1
    arrays, static = lik.prepare_arrays(obs, n_groups, mismatch_tuple(spec))
    st = build_structure(data, spec)
    arrays.update(informative_arrays(data, spec, st))
    arrays.update(prior_mu=st.prior_mu, prior_sd=st.prior_sd, coef_map=st.coef_map, design=st.design)
    return Prepared(data=data, spec=spec, st=st, arrays=arrays, static=static, notes=tuple(notes))


def build_model(prep: Prepared, mode: np.ndarray, whiten: np.ndarray) -> tuple[pm.Model, dict]:
    """The PyMC model in whitened coordinates z (xi = mode + M z); data in pm.Data containers."""
    xp = lik._pt_ops()
    st = prep.st
    values = {**prep.arrays, "xi_mode": mode, "xi_M": whiten}
    with pm.Model() as model:
        shared = {name: pm.Data(name, value) for name, value in values.items()}
        z = pm.Flat("z", shape=st.dim)
        xi = pm.Deterministic("xi", shared["xi_mode"] + (shared["xi_M"] * z[None, :]).sum(axis=-1))
        pm.Potential("logp", log_posterior(xi, st, shared, prep.static, xp))
    return model, values


def structure_key(prep: Prepared) -> tuple:
    st, s = prep.st, prep.static
    return (FAMILY, st.design.shape, st.coef_map.shape, st.dim, st.n_units, st.n_groups,
            s["n_groups"], s["has_mismatch"], s["has_patterns"], prep.arrays["info_mask"].shape,
            tuple((u["mode"], u["mismatch"]) for u in s["units"]))


# ------------------------------------------------------------------------------ fit
def fit(data: AnonymousData, spec: AnonymousSpec, sampler: SamplerSettings,
        prior_draws: int = 4000) -> Estimate:
    """Fit the anonymous-list model; returns an Estimate (N per stratum, shares, prior draws)."""
    from ..sampling import sample

    prep = prepare(data, spec)
    mode, hess = posterior_mode(prep.logp_numpy, prep.st.dim)
    whiten = whitening(hess)
    model, values = build_model(prep, mode, whiten)
    idata = sample(model, values, sampler, key=structure_key(prep), var_names=["xi"])
    xi = idata.posterior["xi"].transpose("chain", "draw", ...).values
    stats = idata.sample_stats if "sample_stats" in idata.groups() else None
    return assemble(prep, xi, sampler, stats,
                    prior_draws=prior_draws, mode=mode)


def assemble(prep: Prepared, xi: np.ndarray, sampler: SamplerSettings, sample_stats=None,
             prior_draws: int = 4000, mode: np.ndarray | None = None) -> Estimate:
    """Posterior and prior draws of N and the shares, from draws of xi (chain, draw, D)."""
    rng = np.random.default_rng([sampler.seed, 0xA70])
    post = population_dataset(prep, xi, rng)
    prior_xi = prior_sample(prep, prior_draws, rng)
    prior = population_dataset(prep, prior_xi, rng, prior=True)
    groups = {"posterior": post, "prior": prior}
    if sample_stats is not None:
        groups["sample_stats"] = sample_stats
    idata = az.InferenceData(**groups)
    notes = list(prep.notes) + describe(prep)
    model = prep.spec.model_dump(mode="json")
    return Estimate(
        idata=idata, table=prep.data, family=FAMILY, model=model,  # type: ignore[arg-type]
        sampler=sampler.model_dump(mode="json"), seed=sampler.seed, notes=tuple(notes),
        extra_summary_vars=("N_unseen", "N_anonymous", "share_anonymous", "theta"),
        diagnostic_vars=("N", "theta"),
    )


def prior_sample(prep: Prepared, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of xi from the prior (Gaussian, reweighted and resampled for evidence priors)."""
    if not prep.spec.informative:
        return rng.standard_normal((1, n, prep.st.dim))
    base = rng.standard_normal((8 * n, prep.st.dim))
    logw = _batched(lambda x: prep.logp_numpy(x, likelihood=False) + 0.5 * (x**2).sum(-1), base, 4096)
    w = np.exp(logw - logw.max())
    idx = rng.choice(len(base), size=n, p=w / w.sum())
    return base[idx][None]  # (1 chain, n, D)


def population_dataset(prep: Prepared, xi: np.ndarray, rng: np.random.Generator, prior: bool = False) -> xr.Dataset:
    """N, hidden-from-register, shares and parameters per draw and stratum, as an xr.Dataset."""
    st, data = prep.st, prep.data
    chains, draws, dim = xi.shape
    flat = xi.reshape(-1, dim)
    phi = st.prior_mu + st.prior_sd * flat
    coef, params = unpack(phi, st, lik.NP)
    if prior:
        lm = lik.cell_log_means(coef, st.design, st.n_link_coef, params["theta"], lik.NP)
        cells = {f"c{key}": rng.poisson(np.exp(np.clip(lm[key], None, 30))) for key in ("00", "10", "01", "11")}
    else:
        cells = {key: [] for key in ("c00", "c10", "c01", "c11")}
        chunk = max(1, int(2e7 // max(1, st.n_units * prep.static["grid"] ** 2)))
        for i in range(0, len(flat), chunk):
            sub_p = {k: v[i:i + chunk] for k, v in params.items()}
            drawn = lik.draw_cells(coef[i:i + chunk], sub_p, prep.arrays, prep.static, st.design,
                                   st.n_link_coef, rng)
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
        da = xr.DataArray(arr.reshape(shape), dims=("chain", "draw", *order),
                          coords={k: coords[k] for k in ("chain", "draw", *order)})
        ds[name] = da.transpose("chain", "draw", *strata)
    if strata:
        axes = tuple(range(2, 2 + len(strata)))
        tot_n = ds["N"].values.sum(axis=axes)
        tot_r = ds["N_registered"].values.sum(axis=axes)
        tot_a = ds["N_anonymous"].values.sum(axis=axes)
        cd = {"chain": coords["chain"], "draw": coords["draw"]}
        with np.errstate(divide="ignore", invalid="ignore"):  # prior draws may have N = 0
            totals = {"N_total": tot_n, "N_hidden_total": tot_n - tot_r, "observed_share_total": tot_r / tot_n,
                      "N_unseen_total": ds["N_unseen"].values.sum(axis=axes),
                      "N_anonymous_total": tot_a, "share_anonymous_total": tot_a / tot_n}
        for name, arr in totals.items():
            ds[name] = xr.DataArray(arr, dims=("chain", "draw"), coords=cd)
    cshape = (chains, draws, *[data.anonymous.totals.sizes[d] for d in order], st.n_coef)
    names = ["(intercept)", data.linked_lists[0], "alpha"] if st.cells else list(st.coef_names)
    coef_da = xr.DataArray(coef.reshape(cshape), dims=("chain", "draw", *order, TERM_DIM),
                           coords={**{k: coords[k] for k in ("chain", "draw", *order)}, TERM_DIM: names})
    ds["beta"] = coef_da.transpose("chain", "draw", *strata, TERM_DIM)
    ds["phi"] = xr.DataArray(phi.reshape(chains, draws, dim), dims=("chain", "draw", "param"),
                             coords={"chain": coords["chain"], "draw": coords["draw"], "param": list(st.param_names)})
    for name, value in params.items():
        ds[name] = xr.DataArray(value.reshape(chains, draws), dims=("chain", "draw"),
                                coords={"chain": coords["chain"], "draw": coords["draw"]})
    k_unit = c["c11"].sum(axis=-1)  # (n, U): members of the anonymous list on a linked list
    ds["K_unit"] = xr.DataArray(k_unit.reshape(chains, draws, -1), dims=("chain", "draw", "unit"),
                                coords={"chain": coords["chain"], "draw": coords["draw"],
                                        "unit": unit_labels(data)})
    if prior:
        a_s, b_s, a_f, b_f = mismatch_tuple(prep.spec)
        mis = ({"sensitivity": rng.beta(a_s, b_s, size=len(k_unit)), "false_known": rng.beta(a_f, b_f, size=len(k_unit))}
               if prep.static["has_mismatch"] else {})
    else:
        mis = mismatch_draws(prep, k_unit, rng)
    for name, value in mis.items():
        ds[name] = xr.DataArray(value.reshape(chains, draws), dims=("chain", "draw"),
                                coords={"chain": coords["chain"], "draw": coords["draw"]})
    q = derived_logs(coef, params["theta"], st, lik.NP)
    exp_n = xr.DataArray(np.exp(q[..., 0]).reshape(shape), dims=("chain", "draw", *order),
                         coords={k: coords[k] for k in ("chain", "draw", *order)})
    ds["expected_N"] = exp_n.transpose("chain", "draw", *strata)
    return xr.Dataset(ds)


def unit_labels(data: AnonymousData) -> list[str]:
    if not data.unit_dims:
        return ["all"]
    import itertools

    grids = itertools.product(*(data.anonymous.totals[d].values for d in data.unit_dims))
    return ["|".join(str(v) for v in combo) for combo in grids]


def mismatch_draws(prep: Prepared, k_unit: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draws of s and f given each draw's overlap (first self-report unit): exact conditionals.

    Given k, the number l of registered members who say 'known' (and r in the reported range)
    has P(l, r | k) from the Beta-binomials; then s | l ~ Beta(a_s + l, b_s + k - l) and
    f | r - l ~ Beta(a_f + r - l, b_f + T - k - r + l). Prior draws use k from the prior.
    """
    obs = prep.static["obs"]
    units = [u for u, info in enumerate(prep.static["units"]) if info["mismatch"]]
    if not units:
        return {}
    u = units[0]
    a_s, b_s, a_f, b_f = mismatch_tuple(prep.spec)
    lo, hi, total = int(obs["kmis_lo"][u]), int(obs["kmis_hi"][u]), float(obs["kmis_T"][u])
    k = np.clip(k_unit[:, u], 0, total)
    joint = lik.mismatch_joint(np.arange(int(total) + 1), lo, hi, total, mismatch_tuple(prep.spec))
    flat = joint.reshape(joint.shape[0], -1)[k.astype(int)]  # (n, (L+1) W)
    finite = np.isfinite(flat).any(axis=1)
    flat = np.where(finite[:, None], flat, 0.0)
    pick = np.argmax(flat + rng.gumbel(size=flat.shape), axis=1)
    width = hi - lo + 1
    l, r = pick // width, lo + pick % width
    s = rng.beta(a_s + l, b_s + np.maximum(k - l, 0))
    f = rng.beta(a_f + np.maximum(r - l, 0), b_f + np.maximum(total - k - (r - l), 0))
    return {"sensitivity": s, "false_known": f}


def describe(prep: Prepared) -> list[str]:
    """What the data can and cannot say, in words, for the Estimate's notes."""
    spec, data = prep.spec, prep.data
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
    if prep.static["has_mismatch"]:
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
            prob.reshape(n_draws, *shape, 2 ** (k + 1)), dims=(SAMPLE_DIM, *strata, PATTERN_FULL_DIM),
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
        "(totals only), not a linked capture table: use a config with kind = \"netherlands\" "
        "(scenarios/netherlands-baseline.toml) or hiddenvictims.families.anonymous.fit(AnonymousData, ...)"
    )
