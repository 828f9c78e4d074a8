"""How an anonymous-list estimate moves as the priors it rests on move.

The dependence theta and the self-report mismatch (sensitivity s, false-known rate f) are not
identified by any data, so the answer is what their priors make it. Rather than refit for every
prior, one *proposal* fit with wide priors is reweighted: a posterior under prior p_new is the
proposal posterior times p_new / p_proposal. theta's prior enters directly; s and f are
integrated out, so their prior changes the factor P(reported known | overlap K), and the draws
of the overlap K (part of the augmented posterior) are reweighted by its ratio. Weights are smoothed by
Pareto-smoothed importance sampling (PSIS); every row reports the effective sample size and the
Pareto k-hat (k > 0.7: the reweighting is unreliable for that setting: refit it instead).

Pure functions: draws in, tables out (the plot is drawn by :mod:`hiddenvictims.report.plots`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from ...core.constants import INTERVAL_PROB, TERM_DIM, interval_quantiles
from ...core.spec import AnonymousSpec, DependencePrior, InformativePrior, MismatchPrior

SENSITIVITY_COLUMNS = [
    "dependence",
    "mismatch",
    "evidence",
    "quantity",
    "stratum",
    "median",
    "lower",
    "upper",
    "ess",
    "pareto_k",
]


@dataclass(frozen=True)
class PriorSetting:
    """One cell of the sensitivity grid: a dependence prior, a mismatch prior, evidence priors."""

    dependence_label: str
    dependence: DependencePrior
    mismatch_label: str = "-"
    mismatch: MismatchPrior | None = None
    evidence_label: str = "none"
    evidence: tuple[InformativePrior, ...] = field(default=())


def _norm_logpdf(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
    return -0.5 * ((x - mean) / sd) ** 2 - np.log(sd)


def global_log_prior(post: xr.Dataset, dependence: DependencePrior) -> np.ndarray:
    """log prior density of theta per draw (flattened)."""
    if dependence.sd <= 0:
        raise ValueError("reweighting needs a dependence prior with sd > 0 (refit for a point prior)")
    return _norm_logpdf(post["theta"].values.ravel(), dependence.mean, dependence.sd)


def mismatch_log_lik(estimate, mismatch: MismatchPrior) -> np.ndarray:
    """log P(reported known | overlap K) per draw under ``mismatch``, summed over self-report units.

    s and f are integrated out, so the mismatch prior acts only through this factor of the
    augmented posterior of (parameters, K): changing it reweights the draws exactly.
    """
    from ...families import anonymous as an
    from ...families import anonymous_lik as lik

    post = estimate.posterior
    n = post.sizes["chain"] * post.sizes["draw"]
    out = np.zeros(n)
    if "K_unit" not in post:
        return out
    spec = AnonymousSpec.model_validate(estimate.model).model_copy(update={"mismatch": mismatch})
    prepared = an.prepare(estimate.table, spec)
    obs = prepared.static["obs"]
    k_unit = post["K_unit"].transpose("chain", "draw", "unit").values.reshape(n, -1).astype(int)
    for u, info in enumerate(prepared.static["units"]):
        if not info["mismatch"]:
            continue
        total = float(obs["kmis_T"][u])
        table = lik.mismatch_logp(
            np.arange(int(total) + 1), int(obs["kmis_lo"][u]), int(obs["kmis_hi"][u]), total, an.mismatch_tuple(spec)
        )
        out = out + table[np.clip(k_unit[:, u], 0, int(total))]
    return out


def evidence_log_prior(estimate, evidence: Sequence[InformativePrior]) -> np.ndarray:
    """Sum of evidence-prior log densities per draw (flattened), from the coefficient draws."""
    from ...families import anonymous as an
    from ...families import anonymous_lik as lik

    post = estimate.posterior
    n = post.sizes["chain"] * post.sizes["draw"]
    if not evidence:
        return np.zeros(n)
    spec = AnonymousSpec.model_validate({**estimate.model, "informative": [e.model_dump() for e in evidence]})
    prepared = an.prepare(estimate.table, spec)
    data = estimate.table
    order = (*data.unit_dims, *([data.group_dim] if data.group_dim else []))
    coef = (
        post["beta"]
        .transpose("chain", "draw", *order, TERM_DIM)
        .values.reshape(n, prepared.structure.n_units, prepared.structure.n_groups, prepared.structure.n_coef)
    )
    theta = post["theta"].values.ravel()
    info = {**prepared.arrays}
    return an.informative_logp(coef, theta, info, prepared.structure, lik.NP)


def psis_weights(log_ratio: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Normalised PSIS weights, effective sample size and Pareto k-hat."""
    import arviz as az

    log_ratio = np.asarray(log_ratio, dtype=float)
    if np.ptp(log_ratio) < 1e-12:  # nothing to reweight (e.g. only the dependence prior moved)
        return np.full(log_ratio.size, 1.0 / log_ratio.size), float(log_ratio.size), float("nan")
    # ArviZ's generalised-Pareto fit exponentiates differences of its profile log-likelihoods;
    # where they exceed ~709 the term overflows to inf and gets weight 1/inf = 0, as it should
    with np.errstate(over="ignore"):
        lw, khat = az.psislw(log_ratio - log_ratio.max())
    w = np.exp(lw - lw.max())
    w /= w.sum()
    return w, float(1.0 / np.sum(w**2)), float(np.asarray(khat))


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, probs: Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample (inverse of the weighted empirical CDF, midpoint rule)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cdf = np.cumsum(w) - 0.5 * w
    cdf /= w.sum()
    return np.interp(probs, cdf, v)


def redraw_theta(estimate, dependence: DependencePrior, seed: int = 0) -> xr.Dataset:
    """The posterior under another dependence prior, exactly, for the one-register model.

    There theta is not in the likelihood and a priori independent of the cell means, so its
    posterior is its prior: draw theta afresh, shift the coefficients (never-listed mean
    lam00 = lam10 lam01 / lam11 exp(theta)) and redraw the never-listed count.
    """
    post = estimate.posterior
    rng = np.random.default_rng([seed, 0x7E7A])
    old = post["theta"]
    new = xr.DataArray(rng.normal(dependence.mean, dependence.sd, size=old.shape), dims=old.dims, coords=old.coords)
    shift = new - old
    coef = post["beta"]
    terms = coef[TERM_DIM].values
    sign = xr.DataArray([1.0, -1.0, -1.0], dims=TERM_DIM, coords={TERM_DIM: terms})
    coef_new = coef + shift * sign
    lam00 = np.exp(coef_new.sel({TERM_DIM: terms[0]}, drop=True))
    unseen = xr.DataArray(rng.poisson(lam00.values).astype(float), dims=lam00.dims, coords=lam00.coords)
    n = post["N"] - post["N_unseen"] + unseen
    out = post.copy()
    out["theta"], out["beta"], out["N_unseen"], out["N"] = new, coef_new, unseen, n
    out["N_hidden"] = n - post["N_registered"]
    out["observed_share"] = post["N_registered"] / n
    out["share_anonymous"] = post["N_anonymous"] / n
    return out


def _is_cells(estimate) -> bool:
    return len(estimate.table.linked_lists) == 1


def reweight_table(
    estimate,
    base_spec: AnonymousSpec,
    settings: Sequence[PriorSetting],
    quantities,
    prob: float = INTERVAL_PROB,
    seed: int = 0,
) -> pd.DataFrame:
    """Median and interval of each quantity under each prior setting, from one fit under ``base_spec``.

    ``quantities(posterior) -> {name: DataArray (chain, draw, *labels)}``. Dependence: exact
    redraw of theta for one register (see :func:`redraw_theta`), else reweighting; mismatch and
    evidence priors: PSIS reweighting (ESS and k-hat reported per row).
    """
    post = estimate.posterior
    cells = _is_cells(estimate)
    base = mismatch_log_lik(estimate, base_spec.mismatch) + evidence_log_prior(estimate, base_spec.informative)
    if not cells:
        base = base + global_log_prior(post, base_spec.dependence)
    lo, hi = interval_quantiles(prob)
    rows = []
    for i, setting in enumerate(settings):
        view = redraw_theta(estimate, setting.dependence, seed + i) if cells else post
        moved = _with_posterior(estimate, view)
        new = mismatch_log_lik(moved, setting.mismatch or base_spec.mismatch) + evidence_log_prior(
            moved, setting.evidence
        )
        if not cells:
            new = new + global_log_prior(post, setting.dependence)
        w, ess, khat = psis_weights(new - base)
        for name, da in quantities(view).items():
            labels = [d for d in da.dims if d not in ("chain", "draw")]
            flat = da.transpose("chain", "draw", *labels).values.reshape(len(w), -1)
            keys = _label_keys(da, labels)
            for j, key in enumerate(keys):
                q = weighted_quantiles(flat[:, j], w, [0.5, lo, hi])
                rows.append(
                    {
                        "dependence": setting.dependence_label,
                        "mismatch": setting.mismatch_label,
                        "evidence": setting.evidence_label,
                        "quantity": name,
                        "stratum": key,
                        "median": q[0],
                        "lower": q[1],
                        "upper": q[2],
                        "ess": ess,
                        "pareto_k": khat,
                    }
                )
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)


def _with_posterior(estimate, posterior: xr.Dataset):
    """A shallow copy of ``estimate`` whose posterior is ``posterior`` (for evaluating priors)."""
    from dataclasses import replace

    idata = estimate.idata.copy()
    idata.posterior = posterior
    return replace(estimate, idata=idata)


def _label_keys(da: xr.DataArray, labels: list[str]) -> list[str]:
    if not labels:
        return ["all"]
    stacked = da.isel(chain=0, draw=0, drop=True).stack(_k=labels)
    out = []
    for key in stacked["_k"].values:
        key = key if isinstance(key, tuple) else (key,)
        out.append("|".join(str(k) for k in key))
    return out
