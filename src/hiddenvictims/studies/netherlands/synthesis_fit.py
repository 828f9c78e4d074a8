"""Fitting the Dutch evidence synthesis and turning its draws into what the reports show.

Pure functions around one compiled sampler: :func:`prepare` reads the evidence and fixes the
model's structure, :func:`compile_fit` compiles the sampler once, and every fit (the main one,
each source left out, the variants) swaps only the data. :func:`posterior_dataset` draws the
latent counts per year and age group (on the register, reached by the chat, on both, on
neither) given the published figures, so that the results folder speaks the same variables as
the chat-only model and the scenarios can run on either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ...core.constants import interval_quantiles
from ...core.errors import InputError
from .evidence import AGES, evidence_arrays, evidence_path, load_evidence
from .synthesis import (
    Layout,
    ModelData,
    SynthesisSpec,
    expected_counts,
    make_layout,
    make_logdensity,
    model_data,
    row_logp,
    row_targets,
    theta_prior,
    unpack,
)

YEAR, AGE = "year", "age"
LINKED_TABLE = "netherlands_2010_2015_6lists.csv"


@dataclass
class Prepared:
    """The model's fixed structure and its full-evidence data."""

    layout: Layout
    spec: SynthesisSpec
    data: ModelData
    theta_source: dict
    evidence: pd.DataFrame

    @property
    def groups(self) -> list[str]:
        """Evidence groups in their order of first appearance."""
        return list(dict.fromkeys(self.layout.evidence.groups))


def linked_table() -> pd.DataFrame:
    """The bundled linked six-list table of 2010-2015 (presumed victims, all nationalities)."""
    path = resources.files("hiddenvictims.data") / "benchmarks" / LINKED_TABLE
    return pd.read_csv(str(path))


def data_hash() -> str:
    """SHA-256 over the bundled files the synthesis reads."""
    from .pipeline import data_path

    digest = hashlib.sha256()
    for path in (evidence_path(), data_path("comensha_registrations.csv"), data_path("chat_met_fier.csv")):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def prepare(spec: SynthesisSpec, report_years: tuple[int, ...], evidence: pd.DataFrame | None = None) -> Prepared:
    """Evidence rows -> layout over the years ``spec.first_year`` .. last report year."""
    frame = load_evidence() if evidence is None else evidence
    if not report_years:
        raise InputError("years: at least one year to report")
    last = max(report_years)
    if min(report_years) < spec.first_year:
        raise InputError(f"years: {min(report_years)} is before model.first_year ({spec.first_year})")
    inside = frame[(frame["year_from"] >= spec.first_year) & (frame["year_to"] <= last)]
    years = tuple(range(spec.first_year, last + 1))
    layout = make_layout(evidence_arrays(inside.reset_index(drop=True), years))
    mu, sd, source = theta_prior(spec.priors, linked_table())
    data = model_data(layout, mu, sd, leave_out=tuple(spec.leave_out))
    return Prepared(layout=layout, spec=spec, data=data, theta_source=source, evidence=inside.reset_index(drop=True))


def compile_fit(prep: Prepared, chains: int, tune: int, draws: int, target_accept: float):
    """A compiled ``run(data, seed) -> NutsResult`` for this structure (one XLA compile per
    batch size): ``data`` is one :class:`ModelData` or a list of them, fitted side by side."""
    from ...inference.jax_nuts import make_sampler, stack

    run = make_sampler(
        make_logdensity(prep.layout, prep.spec.priors),
        prep.layout.dim,
        chains=chains,
        tune=tune,
        draws=draws,
        target_accept=target_accept,
    )

    def fit(data: ModelData | list[ModelData], seed: int, start: dict | None = None):
        if isinstance(data, list):
            return run(stack([d.as_dict() for d in data]), seed)
        return run(data.as_dict(), seed, start=start)

    fit.precompile_warm = lambda data: run.precompile_warm(data.as_dict())
    return fit


def variant_data(prep: Prepared, leave_out: tuple[str, ...] = (), scale: dict[str, float] | None = None) -> ModelData:
    """The full-evidence data with more groups left out or estimates scaled."""
    base = tuple(prep.spec.leave_out)
    return model_data(
        prep.layout, prep.data.theta_mu, prep.data.theta_sd, leave_out=base + tuple(leave_out), scale=scale
    )


def quantities(prep: Prepared, position: np.ndarray, data: ModelData) -> tuple[dict, dict]:
    """Model quantities and expected counts of every draw (NumPy)."""
    q = unpack(position, data.as_dict(), prep.layout, prep.spec.priors, np)
    return q, expected_counts(q, np)


# ------------------------------------------------------------------------------ latent counts
def _truncated(dist, upper: np.ndarray, u: np.ndarray, *args) -> np.ndarray:
    """Inverse-CDF draws of ``dist(*args)`` conditioned on <= ``upper`` (NaN: no bound)."""
    cap = np.where(np.isfinite(upper), dist.cdf(np.nan_to_num(upper, nan=0.0), *args), 1.0)
    return dist.ppf(np.clip(u * cap, 0.0, 1.0), *args)


def posterior_dataset(
    prep: Prepared,
    position: np.ndarray,
    data: ModelData,
    figures: pd.DataFrame,
    report_years: tuple[int, ...],
    seed: int,
) -> xr.Dataset:
    """Latent counts per (chain, draw, year, age) for the report years, given the published
    figures: registered (the observed Dutch total split over age, minors never above the
    registered minors of any nationality), reached by the chat (observed), on both, on neither;
    plus expected counts and per-draw capture probabilities."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    q, e = quantities(prep, position, data)
    years = prep.layout.years
    cols = [years.index(y) for y in report_years]
    pick = {k: v[..., cols] for k, v in e.items()}  # (chain, draw, A, Y)
    shape = pick["N"].shape
    fig = figures.set_index(YEAR).reindex(report_years)
    reg_total = fig["register_dutch"].to_numpy(float)
    bound = fig["register_minor_any_nationality"].to_numpy(float)
    chat_total = fig["chat_victims"].to_numpy(float)
    chat_minor = fig["chat_minors"].to_numpy(float)

    reg = np.empty(shape)
    share_minor = pick["registered"][..., 0, :] / pick["registered"].sum(axis=-2)
    u = rng.uniform(size=shape[:2] + shape[-1:])
    for j in range(len(report_years)):
        if np.isfinite(reg_total[j]):
            minor = _truncated(stats.binom, np.full(shape[:2], bound[j]), u[..., j], reg_total[j], share_minor[..., j])
            reg[..., 0, j], reg[..., 1, j] = minor, reg_total[j] - minor
        else:
            reg[..., 0, j] = _truncated(
                stats.poisson, np.full(shape[:2], bound[j]), u[..., j], pick["registered"][..., 0, j]
            )
            reg[..., 1, j] = rng.poisson(pick["registered"][..., 1, j])
    chat = np.empty(shape)
    chat_share = pick["chat"][..., 0, :] / np.maximum(pick["chat"].sum(axis=-2), 1e-300)
    for j in range(len(report_years)):
        if np.isfinite(chat_minor[j]):
            chat[..., 0, j], chat[..., 1, j] = chat_minor[j], chat_total[j] - chat_minor[j]
        elif np.isfinite(chat_total[j]):
            minor = rng.binomial(int(chat_total[j]), chat_share[..., j])
            chat[..., 0, j], chat[..., 1, j] = minor, chat_total[j] - minor
        else:
            chat[..., :, j] = rng.poisson(pick["chat"][..., :, j])
    p_reg_chat = np.where(pick["chat"] > 0, pick["both"] / np.maximum(pick["chat"], 1e-300), 0.0)
    both = np.minimum(rng.binomial(chat.astype(np.int64), np.clip(p_reg_chat, 0.0, 1.0)), reg)
    unseen = rng.poisson(pick["unseen"])
    n = reg + chat - both + unseen
    dims = ("chain", "draw", AGE, YEAR)
    coords = {"chain": np.arange(shape[0]), "draw": np.arange(shape[1]), AGE: list(AGES), YEAR: list(report_years)}

    def da(values, description):
        return xr.DataArray(values, dims=dims, coords=coords, attrs={"description": description})

    ds = xr.Dataset(
        {
            "N": da(n, "Dutch victims (latent count)"),
            "N_registered": da(reg, "on the register (CoMensha)"),
            "N_anonymous": da(chat, "reached by the chat (observed where published)"),
            "N_both": da(both, "on the register and reached by the chat"),
            "N_unseen": da(unseen, "on neither"),
            "N_expected": da(pick["N"], "expected number of Dutch victims"),
            "p_register": da(pick["registered"] / pick["N"], "chance that a victim is registered"),
            "p_chat": da(pick["chat"] / pick["N"], "chance that a victim reaches the chat"),
        }
    )
    # the whole modelled period: expected victims and the register's coverage of victims of
    # sexual exploitation, by age (how the model reads 11% registered in 2010-2015 against 2-3% in 2018)
    span = {"chain": coords["chain"], "draw": coords["draw"], AGE: list(AGES), "model_year": list(years)}
    ds["N_expected_all_years"] = xr.DataArray(
        e["N"],
        dims=("chain", "draw", AGE, "model_year"),
        coords=span,
        attrs={"description": "expected Dutch victims, every modelled year"},
    )
    ds["register_coverage_sexual"] = xr.DataArray(
        q["register_coverage"],
        dims=("chain", "draw", AGE, "model_year"),
        coords=span,
        attrs={"description": "chance that a victim of sexual exploitation (not a chat user) is registered"},
    )
    for name in ("theta", "estimate_bias", "sensitivity", "false_known", "other_minor_share", "girls_share"):
        ds[name] = xr.DataArray(q[name], dims=("chain", "draw"), coords={k: coords[k] for k in ("chain", "draw")})
    return ds.transpose("chain", "draw", YEAR, AGE, ...)


def expected_n(prep: Prepared, position: np.ndarray, data: ModelData, report_years: tuple[int, ...]) -> dict:
    """Expected Dutch victims and Dutch minors per report year: {population: (chain, draw, Y)}."""
    _, e = quantities(prep, position, data)
    cols = [prep.layout.years.index(y) for y in report_years]
    n = e["N"][..., cols]
    return {"Dutch victims": n.sum(axis=-2), "Dutch minors": n[..., 0, :]}


# ------------------------------------------------------------------------------ checks
def interval_rows(draws: dict, report_years: tuple[int, ...], **labels) -> list[dict]:
    lo, hi = interval_quantiles()
    rows = []
    for population, arr in draws.items():
        for j, year in enumerate(report_years):
            v = arr[..., j].ravel()
            qs = np.quantile(v, [0.5, lo, hi])
            rows.append(
                {
                    **labels,
                    "population": population,
                    YEAR: year,
                    "median": qs[0],
                    "lower": qs[1],
                    "upper": qs[2],
                    "ratio": qs[2] / qs[1],
                }
            )
    return rows


def conflict_rows(prep: Prepared, group: str, position: np.ndarray, data: ModelData, seed: int) -> list[dict]:
    """Cross-validation conflict check of one evidence group: how surprising each of its rows is
    under the fit that left the group out (posterior predictive p-value, two-sided for counts,
    estimates and the known count, one-sided for bounds)."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    ev = prep.layout.evidence
    q, e = quantities(prep, position, data)
    target, both = row_targets(q, e, prep.layout, np)
    flat_target = target.reshape(-1, target.shape[-1])
    out = []
    for i, (row_id, g) in enumerate(zip(ev.ids, ev.groups, strict=True)):
        if g != group:
            continue
        t = flat_target[:, i]
        kind = int(ev.kind[i])
        obs = ev.value[i]
        if kind in (0, 1):  # count or estimate: log-normal predictive
            bias = q["estimate_bias"].ravel() if kind == 1 else 0.0
            sd = ev.count_sd[i] if kind == 0 else ev.log_sd[i]
            pred = np.log(t) + bias + sd * rng.standard_normal(t.shape)
            p = 2 * min(np.mean(pred <= np.log(obs)), np.mean(pred >= np.log(obs)))
            z = (np.log(obs) - pred.mean()) / pred.std()
        elif kind == 2:  # upper bound: chance the predicted count stays within it
            p = float(np.mean(stats.poisson.cdf(obs, t)))
            z = float("nan")
        else:  # known count of a binomial
            share = both.reshape(-1, both.shape[-1])[:, i] / t
            pi = q["sensitivity"].ravel() * share + q["false_known"].ravel() * (1 - share)
            pred = rng.binomial(int(ev.trials[i]), pi)
            p = 2 * min(np.mean(pred <= obs), np.mean(pred >= obs))
            z = (obs - pred.mean()) / pred.std()
        out.append({"group": group, "row": row_id, "observed": obs, "p_value": min(1.0, float(p)), "z": float(z)})
    return out


def log_lik_rows(prep: Prepared, position: np.ndarray, data: ModelData) -> np.ndarray:
    """Log-likelihood of every evidence row per draw (chain, draw, R)."""
    from scipy.special import log_ndtr

    ev = prep.layout.evidence
    q, e = quantities(prep, position, data)
    target, both = row_targets(q, e, prep.layout, np)
    idx = tuple(np.flatnonzero(ev.mask(k)) for k in ("count", "estimate", "upper_bound", "known"))
    return row_logp(target, both, q, data.as_dict(), ev, idx, np, log_ndtr)
