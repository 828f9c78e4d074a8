"""Dutch victims from all the public evidence: one Bayesian evidence-synthesis model.

In the spirit of multi-parameter evidence synthesis (national HIV prevalence estimates) and of
Bao, Raftery and Reddy's hierarchical model for key populations, every public figure enters as
data with its own error, and published estimates carry a bias term; nothing is fixed truth.

Latent, per year t and age group a (minor, adult), Dutch victims of
- sexual exploitation S[a, t] (the population the chat can reach), log S = level + common trend
  + age-specific deviation, both random walks over years;
- other forms O[t] (labour, criminal), a random walk, a share ``omega`` of them minors.
Register coverage of each population moves smoothly over years (logit random walks), minors
with their own offset. The chat reaches victims of sexual exploitation with a chance that moves
over its years, minors with their own offset. theta is the log odds ratio between being on the
chat and being on the register; its prior comes from the list dependence in the linked
2010-2015 table (:func:`linked_table_dependence`). The 2020 first-disclosure count
is "known to police or care", which a registered chat user says with chance ``s`` and an
unregistered one with chance ``f``.

Evidence rows (:mod:`.evidence`) measure sums or yearly means of the expected counts:
counts are log-normal around their expectation (Poisson variance plus stated rounding),
published estimates are log-normal around the truth times exp(bias) with their stated or
reconstructed sd, published bounds are censored Poisson counts, and the first-disclosure count
is binomial. Each row has a weight (1 or 0) held as data, so the model compiles once and the
leave-one-source-out refits, the factor-of-2 variants and simulation studies only swap data.

What identifies what: with one register and the chat alone, theta cannot be learned and the
hidden number is its prior; with a published estimate of N (or of the register's coverage) for
some years, the register's coverage is known there, and the first-disclosure count then
speaks to theta; the random walks carry that knowledge to neighbouring years with growing
uncertainty.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from ...core.config import Strict
from ...core.errors import InputError
from .evidence import FORMS, QUANTITIES, EvidenceArrays

YEAR, AGE = "year", "age"


# ------------------------------------------------------------------------------ priors
class NormalPrior(Strict):
    mean: float
    sd: float = Field(gt=0, allow_inf_nan=False)


class BetaPrior(Strict):
    a: float = Field(gt=0, allow_inf_nan=False)
    b: float = Field(gt=0, allow_inf_nan=False)


class SynthesisPriors(Strict):
    """Priors of the synthesis model; every value is stated and argued in docs/netherlands.md."""

    sexual_level: NormalPrior = NormalPrior(mean=float(np.log(1500.0)), sd=1.5)
    other_level: NormalPrior = NormalPrior(mean=float(np.log(400.0)), sd=1.5)
    minor_level_offset: NormalPrior = NormalPrior(mean=0.0, sd=1.0)
    trend_step_sd: float = Field(0.15, gt=0, le=2)
    age_step_sd: float = Field(0.10, gt=0, le=2)
    other_step_sd: float = Field(0.20, gt=0, le=2)
    register_start: NormalPrior = NormalPrior(mean=float(np.log(0.12 / 0.88)), sd=1.5)
    register_minor_offset: NormalPrior = NormalPrior(mean=0.0, sd=1.0)
    register_other_start: NormalPrior = NormalPrior(mean=float(np.log(0.2 / 0.8)), sd=1.5)
    register_step_sd: float = Field(0.30, gt=0, le=2)
    chat_start: NormalPrior = NormalPrior(mean=float(np.log(0.1 / 0.9)), sd=2.0)
    chat_minor_offset: NormalPrior = NormalPrior(mean=0.0, sd=1.5)
    chat_step_sd: float = Field(0.30, gt=0, le=2)
    theta: NormalPrior | None = None  # None: from the linked 2010-2015 table
    theta_widen: float = Field(1.5, ge=1, le=10)
    sensitivity: BetaPrior = BetaPrior(a=9.0, b=1.0)
    false_known: BetaPrior = BetaPrior(a=2.0, b=8.0)
    other_minor_share: BetaPrior = BetaPrior(a=2.0, b=6.0)
    girls_share: BetaPrior = BetaPrior(a=18.0, b=2.0)
    estimate_bias_sd: float = Field(0.35, gt=0, le=3)


class SynthesisSpec(Strict):
    """``[model]`` of a ``kind = "netherlands-synthesis"`` run config."""

    family: str = "synthesis"
    name: str = "evidence-synthesis"
    description: str = ""
    first_year: int = Field(2010, ge=1990, le=2100)
    leave_out: list[str] = Field(default_factory=list)
    priors: SynthesisPriors = Field(default_factory=SynthesisPriors)

    @field_validator("family")
    @classmethod
    def _family(cls, v: str) -> str:
        if v != "synthesis":
            raise ValueError("must be 'synthesis'")
        return v


# ------------------------------------------------------------------------------ theta prior
def linked_table_dependence(
    table: pd.DataFrame, police: str = "P", care: tuple[str, ...] = ("O", "R", "Z"), ridge_sd: float = 3.0
) -> dict[str, float]:
    """Two-way log-linear interactions of every list with the police list in a linked table.

    Fits log mu(x) = intercept + main effects + all two-way interactions by penalised Poisson
    maximum likelihood (a Normal(0, ``ridge_sd``) penalty keeps interactions of sparse pairs
    finite). Returns the mean interaction of the care-type lists with police (the chat is a
    help service like them) and the spread over all lists' interactions with police.
    """
    from scipy import optimize

    lists = [c for c in table.columns if c != "count"]
    k = len(lists)
    patterns = np.array(list(itertools.product([0, 1], repeat=k)))[1:]
    counts = {tuple(int(v) for v in r[:-1]): float(r[-1]) for r in table[lists + ["count"]].to_numpy()}
    y = np.array([counts.get(tuple(p), 0.0) for p in patterns])
    pairs = list(itertools.combinations(range(k), 2))
    x = np.column_stack([np.ones(len(patterns)), patterns] + [patterns[:, i] * patterns[:, j] for i, j in pairs])
    pen = np.r_[np.zeros(1 + k), np.full(len(pairs), 1.0 / ridge_sd**2)]

    def objective(beta):
        eta = x @ beta
        mu = np.exp(eta)
        return mu.sum() - y @ eta + 0.5 * pen @ beta**2, x.T @ (mu - y) + pen * beta

    beta = optimize.minimize(objective, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    with_police = {}
    for (i, j), value in zip(pairs, beta[1 + k :], strict=True):
        if police in (lists[i], lists[j]):
            other = lists[j] if lists[i] == police else lists[i]
            with_police[other] = float(value)
    care_mean = float(np.mean([with_police[c] for c in care]))
    spread = float(np.std(list(with_police.values()), ddof=1))
    return {"care_mean": care_mean, "spread": spread, **{f"lor_{c}": v for c, v in with_police.items()}}


def theta_prior(priors: SynthesisPriors, linked: pd.DataFrame) -> tuple[float, float, dict]:
    """The prior on theta: stated in the config, or carried over from the linked table (centre:
    the care-type lists' dependence with police; sd: the spread over all lists, widened)."""
    if priors.theta is not None:
        return priors.theta.mean, priors.theta.sd, {}
    dep = linked_table_dependence(linked)
    return dep["care_mean"], dep["spread"] * priors.theta_widen, dep


# ------------------------------------------------------------------------------ model
@dataclass
class ModelData:
    """Everything that may change between fits of one compiled model (arguments of the
    compiled sampler, not constants in it)."""

    value: np.ndarray
    weight: np.ndarray
    theta_mu: float
    theta_sd: float

    def as_dict(self) -> dict[str, np.ndarray]:
        return {
            "value": np.asarray(self.value, float),
            "weight": np.asarray(self.weight, float),
            "theta_mu": np.asarray(self.theta_mu, float),
            "theta_sd": np.asarray(self.theta_sd, float),
        }


@dataclass
class Layout:
    """Fixed structure of one model: years, the chat's years, evidence arrays, parameter blocks."""

    evidence: EvidenceArrays
    chat_years: tuple[int, ...]
    blocks: dict[str, slice] = field(default_factory=dict)

    @property
    def years(self) -> tuple[int, ...]:
        return self.evidence.years

    @property
    def dim(self) -> int:
        return max(b.stop for b in self.blocks.values())


#: Parameters with Beta priors, sampled on the logit scale.
BETA_PARAMS = ("other_minor_share", "girls_share", "sensitivity", "false_known")


def parameter_blocks(n_years: int, n_chat: int) -> dict[str, slice]:
    """Where each parameter block sits in the unconstrained vector. Every Normal parameter is
    standardised (value = mean + sd * z, z ~ Normal(0, 1)): random walks are non-centred."""
    sizes = {
        "sexual_level": 1,
        "minor_level_offset": 1,
        "trend_steps": n_years - 1,
        "age_steps": 2 * (n_years - 1),
        "other_level": 1,
        "other_steps": n_years - 1,
        "register_start": 1,
        "register_minor_offset": 1,
        "register_steps": n_years - 1,
        "register_other_start": 1,
        "register_other_steps": n_years - 1,
        "chat_start": 1 if n_chat else 0,
        "chat_minor_offset": 1 if n_chat else 0,
        "chat_steps": max(n_chat - 1, 0),
        "theta": 1,
        "estimate_bias": 1,
        **{name: 1 for name in BETA_PARAMS},
    }
    out, at = {}, 0
    for name, size in sizes.items():
        out[name] = slice(at, at + size)
        at += size
    return out


def make_layout(evidence: EvidenceArrays) -> Layout:
    years = chat_years(evidence)
    return Layout(evidence=evidence, chat_years=years, blocks=parameter_blocks(len(evidence.years), len(years)))


def chat_years(ev: EvidenceArrays) -> tuple[int, ...]:
    """Years in which the chat is observed: from its first observed year to the last model year."""
    grid = ev.weights.reshape(len(ev.value), *ev.grid_shape)
    chat = grid[:, QUANTITIES.index("chat")].sum(axis=(0, 1, 2)) > 0
    if not chat.any():
        return ()
    first = int(np.argmax(chat))
    return ev.years[first:]


def unpack(x, data: dict, layout: Layout, priors: SynthesisPriors, xp):
    """Unconstrained vector(s) x (..., dim) -> the model's quantities, each (..., A, T) or (...).

    ``xp`` is ``jax.numpy`` inside the sampler and ``numpy`` for summaries of the draws."""
    p, b = priors, layout.blocks
    n_years = len(layout.years)
    minor = np.array([1.0, 0.0])[:, None]  # AGES = (minor, adult)

    def z(name):
        return x[..., b[name]]

    def scalar(name, prior: NormalPrior):
        return prior.mean + prior.sd * x[..., b[name].start]

    def walk(start, steps, sd):
        path = xp.cumsum(steps * sd, axis=-1)
        return xp.concatenate([xp.zeros_like(path[..., :1]), path], axis=-1) + start[..., None]

    def expit(v):
        return 1.0 / (1.0 + xp.exp(-v))

    lead = x.shape[:-1]
    trend = walk(xp.zeros(lead), z("trend_steps"), p.trend_step_sd)  # (..., T)
    age_steps = z("age_steps").reshape(*lead, 2, n_years - 1)
    age_dev = walk(xp.zeros((*lead, 2)), age_steps, p.age_step_sd)  # (..., A, T)
    log_s = (
        scalar("sexual_level", p.sexual_level)[..., None, None]
        + scalar("minor_level_offset", p.minor_level_offset)[..., None, None] * minor
        + trend[..., None, :]
        + age_dev
    )
    log_o = walk(scalar("other_level", p.other_level), z("other_steps"), p.other_step_sd)  # (..., T)
    omega = expit(x[..., b["other_minor_share"].start])
    share = xp.stack([omega, 1.0 - omega], axis=-1)[..., :, None]  # (..., A, 1)
    sexual = xp.exp(log_s)
    other = xp.exp(log_o)[..., None, :] * share
    rho = walk(scalar("register_start", p.register_start), z("register_steps"), p.register_step_sd)
    logit_r0 = rho[..., None, :] + scalar("register_minor_offset", p.register_minor_offset)[..., None, None] * minor
    r0 = expit(logit_r0)
    r_other = (
        expit(
            walk(scalar("register_other_start", p.register_other_start), z("register_other_steps"), p.register_step_sd)
        )[..., None, :]
        * xp.ones(2)[:, None]
    )
    theta = data["theta_mu"] + data["theta_sd"] * x[..., b["theta"].start]
    p1 = expit(logit_r0 + theta[..., None, None])
    n_chat = len(layout.chat_years)
    if n_chat:
        gamma = walk(scalar("chat_start", p.chat_start), z("chat_steps"), p.chat_step_sd)  # (..., C)
        gamma = xp.concatenate([xp.zeros((*lead, n_years - n_chat)), gamma], axis=-1)
        mask = np.array([1.0 if y in layout.chat_years else 0.0 for y in layout.years])
        c = expit(gamma[..., None, :] + scalar("chat_minor_offset", p.chat_minor_offset)[..., None, None] * minor)
        c = c * mask
    else:
        c = xp.zeros_like(sexual)
    return {
        "sexual": sexual,
        "other": other,
        "register_coverage": r0,
        "register_coverage_other": r_other,
        "chat_reach": c,
        "p_register_given_chat": p1,
        "theta": theta,
        "estimate_bias": p.estimate_bias_sd * x[..., b["estimate_bias"].start],
        "other_minor_share": omega,
        "girls_share": expit(x[..., b["girls_share"].start]),
        "sensitivity": expit(x[..., b["sensitivity"].start]),
        "false_known": expit(x[..., b["false_known"].start]),
    }


def expected_counts(q: dict, xp) -> dict:
    """Expected counts (..., A, T) from :func:`unpack`'s quantities: victims, registered, reached by
    the chat, on both, on neither (the chat reaches victims of sexual exploitation only)."""
    s, o, c = q["sexual"], q["other"], q["chat_reach"]
    r0, p1, ro = q["register_coverage"], q["p_register_given_chat"], q["register_coverage_other"]
    reg_s = s * ((1.0 - c) * r0 + c * p1)
    return {
        "N": s + o,
        "sexual": s,
        "registered": reg_s + o * ro,
        "registered_sexual": reg_s,
        "registered_other": o * ro,
        "chat": s * c,
        "both": s * c * p1,
        "unseen": s * (1.0 - c) * (1.0 - r0) + o * (1.0 - ro),
    }


def row_targets(q: dict, e: dict, layout: Layout, xp):
    """Each evidence row's expected value (..., R): its weights times the latent grid."""
    zeros = xp.zeros_like(e["sexual"])
    grid = xp.stack(
        [
            xp.stack([e["sexual"], e["N"] - e["sexual"]], axis=-3),
            xp.stack([e["registered_sexual"], e["registered_other"]], axis=-3),
            xp.stack([e["chat"], zeros], axis=-3),
            xp.stack([e["both"], zeros], axis=-3),
        ],
        axis=-4,
    )  # (..., Q, F, A, T)
    flat = grid.reshape(*grid.shape[:-4], -1)
    ev = layout.evidence
    girls = q["girls_share"][..., None] ** ev.girls
    return flat @ ev.weights.T * girls, flat @ ev.both_weights.T * girls


def make_logdensity(layout: Layout, priors: SynthesisPriors):
    """log posterior density of the unconstrained vector, as a JAX function of (x, data)."""
    from ...inference.jax_nuts import enable_x64

    enable_x64()
    import jax.numpy as jnp
    from jax.scipy.special import log_ndtr

    ev = layout.evidence
    blocks = layout.blocks
    normal_idx = np.concatenate([np.arange(b.start, b.stop) for n, b in blocks.items() if n not in BETA_PARAMS])
    beta = [(blocks[n].start, getattr(priors, n)) for n in BETA_PARAMS]
    count_i, est_i = np.flatnonzero(ev.mask("count")), np.flatnonzero(ev.mask("estimate"))
    bound_i, known_i = np.flatnonzero(ev.mask("upper_bound")), np.flatnonzero(ev.mask("known"))

    def logdensity(x, data):
        lp = -0.5 * jnp.sum(x[normal_idx] ** 2)
        for i, prior in beta:  # Beta(a, b) on the logit scale, Jacobian included
            lp += -prior.a * jnp.logaddexp(0.0, -x[i]) - prior.b * jnp.logaddexp(0.0, x[i])
        q = unpack(x, data, layout, priors, jnp)
        e = expected_counts(q, jnp)
        target, both = row_targets(q, e, layout, jnp)
        rows = row_logp(target, both, q, data, ev, (count_i, est_i, bound_i, known_i), jnp, log_ndtr)
        return lp + jnp.sum(data["weight"] * rows)

    return logdensity


def row_logp(target, both, q, data, ev: EvidenceArrays, idx, xp, log_ndtr):
    """Log-likelihood of each evidence row (..., R) given the expected values."""
    count_i, est_i, bound_i, known_i = idx
    value = data["value"]
    out = xp.zeros_like(target)
    log_t = xp.log(target)
    z = (xp.log(value[count_i]) - log_t[..., count_i]) / ev.count_sd[count_i]
    out = _set(out, count_i, -0.5 * z**2 - np.log(ev.count_sd[count_i]), xp)
    z = (xp.log(value[est_i]) - log_t[..., est_i] - q["estimate_bias"][..., None]) / ev.log_sd[est_i]
    out = _set(out, est_i, -0.5 * z**2 - np.log(ev.log_sd[est_i]), xp)
    if len(bound_i):
        # log P(Poisson(target) <= value), normal approximation with continuity correction: its
        # log stays finite far in the tail (the exact incomplete gamma underflows to log 0 there,
        # where the sampler starts), and bounds here are 60 or more, where it is accurate
        t = target[..., bound_i]
        out = _set(out, bound_i, log_ndtr((xp.floor(value[bound_i]) + 0.5 - t) / xp.sqrt(t)), xp)
    if len(known_i):
        share = both[..., known_i] / target[..., known_i]
        pi = q["sensitivity"][..., None] * share + q["false_known"][..., None] * (1.0 - share)
        k, n = value[known_i], ev.trials[known_i]
        out = _set(out, known_i, k * xp.log(pi) + (n - k) * xp.log1p(-pi), xp)
    return out


def _set(array, index, values, xp):
    if xp is np:
        array = array.copy()
        array[..., index] = values
        return array
    return array.at[..., index].set(values)


def model_data(
    layout: Layout,
    theta_mu: float,
    theta_sd: float,
    leave_out: tuple[str, ...] = (),
    scale: dict[str, float] | None = None,
) -> ModelData:
    """Data for one fit: every row's value (scaled per group by ``scale``) and weight (0 for the
    groups in ``leave_out``)."""
    ev = layout.evidence
    unknown = [g for g in (*leave_out, *(scale or {})) if g not in ev.groups]
    if unknown:
        raise InputError(f"no evidence group '{unknown[0]}' (groups: {', '.join(sorted(set(ev.groups)))})")
    weight = np.array([0.0 if g in leave_out else 1.0 for g in ev.groups])
    factor = np.array([(scale or {}).get(g, 1.0) for g in ev.groups])
    est = ev.mask("estimate")
    value = np.where(est, ev.value * factor, ev.value)
    return ModelData(value=value, weight=weight, theta_mu=theta_mu, theta_sd=theta_sd)


__all__ = [
    "SynthesisSpec",
    "SynthesisPriors",
    "make_logdensity",
    "make_layout",
    "model_data",
    "theta_prior",
    "linked_table_dependence",
    "FORMS",
]
