"""Simulated Dutch worlds with known numbers of victims, for checking the evidence synthesis.

A world has, per year and age group, victims of sexual exploitation and of other forms; a
register with known coverage that drifts over years; an anonymous chat that reaches victims of
sexual exploitation, dependent on the register by a known log odds ratio; a first-disclosure
self-report with known sensitivity and false-known rate; and "published estimates" made the
way the Rapporteur's were: from a linked two-list sample of the same population (Chapman's
estimator with its own standard error). :func:`simulate_evidence` returns evidence rows of the
same structure as the bundled ``evidence.csv``, so one compiled model fits them all.

:func:`prior_draw` and :func:`simulate_values` instead draw from the model itself (parameters
from the prior, every evidence row from its likelihood), which is what simulation-based
calibration of the sampler needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .evidence import AGES
from .synthesis import BETA_PARAMS, Layout, ModelData, SynthesisPriors, expected_counts, row_targets, unpack

YEAR = "year"


@dataclass(frozen=True)
class World:
    """True counts per (age, year) and the evidence rows drawn from them."""

    years: tuple[int, ...]
    victims: np.ndarray  # (A, T): all forms
    evidence: pd.DataFrame


def _chapman(total: np.ndarray, p_a: float, p_b: float, rng: np.random.Generator) -> tuple[float, float]:
    """Two independent linked lists drawn from ``total`` people: Chapman's estimate of the total
    and the relative standard error it would be published with."""
    n = int(total)
    on_a = rng.random(n) < p_a
    on_b = rng.random(n) < p_b
    n1, n2, m = on_a.sum(), on_b.sum(), (on_a & on_b).sum()
    est = (n1 + 1) * (n2 + 1) / (m + 1) - 1
    var = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))
    return float(est), float(np.sqrt(var) / est)


def simulate_world(
    template: pd.DataFrame,
    seed: int,
    theta: float = 0.3,
    bias_factor: float = 1.0,
    biased_row: str = "est_minors_2014_2018",
) -> World:
    """A world and its evidence rows, in the layout of ``template`` (the bundled evidence)."""
    rng = np.random.default_rng(seed)
    years = tuple(range(int(template["year_from"].min()), int(template["year_to"].max()) + 1))
    n_t = len(years)

    def walk(start, sd, size=()):
        steps = np.cumsum(rng.normal(0, sd, (*size, n_t - 1)), -1)
        return np.asarray(start)[..., None] + np.concatenate([np.zeros((*size, 1)), steps], -1)

    log_s = (
        np.log([rng.uniform(900, 1600), rng.uniform(1000, 2000)])[:, None]
        + walk(0.0, 0.1)
        + walk(np.zeros(2), 0.07, (2,))
    )
    sexual = rng.poisson(np.exp(log_s))  # (A, T) true people
    other_total = rng.poisson(np.exp(walk(np.log(rng.uniform(250, 600)), 0.12)))
    omega = rng.uniform(0.1, 0.35)
    other_minor = rng.binomial(other_total, omega)
    other = np.stack([other_minor, other_total - other_minor])
    girls_share = rng.uniform(0.8, 0.95)
    girls = rng.binomial(sexual[0], girls_share)  # minor girls among sexual victims

    logit_r = walk(np.log(0.12 / 0.88) + rng.normal(0, 0.3), 0.2)[None, :] + np.array([[-0.6], [0.0]])
    r0 = 1 / (1 + np.exp(-logit_r))
    r_other = 1 / (1 + np.exp(-walk(np.log(0.2 / 0.8) + rng.normal(0, 0.3), 0.2)))
    chat_from = years.index(int(template.loc[template["quantity"] == "chat", "year_from"].min()))
    logit_c = np.full(n_t, -np.inf)
    logit_c[chat_from:] = walk(np.log(0.1 / 0.9) + rng.normal(0, 0.3), 0.15)[chat_from:]
    c = 1 / (1 + np.exp(-(logit_c[None, :] + np.array([[0.6], [0.0]]))))
    p1 = 1 / (1 + np.exp(-(logit_r + theta)))

    # each victim of sexual exploitation: chat or not, then registered given chat
    chat = rng.binomial(sexual, c)
    both = rng.binomial(chat, p1)
    reg_sexual = both + rng.binomial(sexual - chat, r0)
    reg_other = rng.binomial(other, r_other[None, :])
    girls_reg = rng.binomial(reg_sexual[0], girls / np.maximum(sexual[0], 1))
    sens, false_known = rng.uniform(0.8, 0.98), rng.uniform(0.1, 0.3)

    rows = []
    for _, row in template.iterrows():
        span = [years.index(y) for y in range(int(row["year_from"]), int(row["year_to"]) + 1)]
        ages = [0, 1] if row["age"] == "all" else [AGES.index(row["age"])]
        sexual_only = row["form"] == "sexual"
        new = row.copy()
        if row["kind"] == "known":
            t = span[0]
            n_chat = int(chat[:, t].sum())
            n_both = int(both[:, t].sum())
            known = rng.binomial(n_both, sens) + rng.binomial(n_chat - n_both, false_known)
            new["value"], new["trials"] = max(known, 1), n_chat
        elif row["kind"] == "estimate":
            pop = girls if row["sex"] == "girls" else sexual[ages].sum(axis=0)
            total = pop[span].sum()
            est, rel = _chapman(total, 0.3, 0.25, rng)
            scale = 1.0 / len(span) if row["aggregate"] == "mean" else 1.0
            factor = bias_factor if row["id"] == biased_row else 1.0
            new["value"], new["log_sd"] = est * scale * factor, max(rel, 0.02)
        else:
            if row["quantity"] == "registered":
                if row["sex"] == "girls":
                    counts = girls_reg
                else:
                    counts = reg_sexual[ages].sum(axis=0) + (0 if sexual_only else reg_other[ages].sum(axis=0))
            else:  # chat
                counts = chat[ages].sum(axis=0)
            value = counts[span].sum()
            if row["kind"] == "upper_bound":  # the bound counts other nationalities too
                value += rng.poisson(40 * len(span))
            scale = 1.0 / len(span) if row["aggregate"] == "mean" else 1.0
            new["value"] = max(float(value) * scale, 1.0)
        rows.append(new)
    frame = pd.DataFrame(rows).reset_index(drop=True)
    return World(years=years, victims=sexual + other, evidence=frame)


def prior_draw(layout: Layout, priors: SynthesisPriors, rng: np.random.Generator) -> np.ndarray:
    """One exact draw of the unconstrained vector from the prior: standard normal for every
    standardised parameter, the logit of a Beta draw for the Beta-distributed ones."""
    x = rng.standard_normal(layout.dim)
    for name in BETA_PARAMS:
        prior = getattr(priors, name)
        u = rng.beta(prior.a, prior.b)
        x[layout.blocks[name].start] = np.log(u) - np.log1p(-u)
    return x


def simulate_values(
    layout: Layout, priors: SynthesisPriors, x: np.ndarray, data: ModelData, rng: np.random.Generator
) -> ModelData:
    """Evidence values drawn from the model's own likelihood at parameters ``x``.

    Counts are log-normal around their expectation with the row's sd, estimates log-normal
    around truth times exp(bias), the first-disclosure count binomial. An upper bound is a
    censored observation, not a draw from a density, so bound rows get weight 0. ``data``
    supplies the theta prior (and is otherwise unchanged)."""
    ev = layout.evidence
    q = unpack(x[None], data.as_dict(), layout, priors, np)
    target, both = (a[0] for a in row_targets(q, expected_counts(q, np), layout, np))
    value, weight = np.array(ev.value, float), np.ones(len(ev.value))
    count, est, known = ev.mask("count"), ev.mask("estimate"), ev.mask("known")
    value[count] = target[count] * np.exp(ev.count_sd[count] * rng.standard_normal(count.sum()))
    bias = q["estimate_bias"][0]
    value[est] = target[est] * np.exp(bias + ev.log_sd[est] * rng.standard_normal(est.sum()))
    weight[ev.mask("upper_bound")] = 0.0
    share = both[known] / target[known]
    pi = q["sensitivity"][0] * share + q["false_known"][0] * (1.0 - share)
    value[known] = rng.binomial(ev.trials[known].astype(np.int64), pi)
    return ModelData(value=value, weight=weight, theta_mu=data.theta_mu, theta_sd=data.theta_sd)
