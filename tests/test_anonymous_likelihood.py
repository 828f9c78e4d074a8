"""The anonymous-list likelihood against brute-force sums over the latent cells (NumPy only).

Every latent cell of the (register, chat) 2 x 2 table is an independent Poisson; an observation
is a sum of cells. Brute force enumerates the latent cells and adds up the joint probability;
the exact likelihood (:mod:`hiddenvictims.families.anonymous_lik`) must match it to 1e-9.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from hiddenvictims.families import anonymous_lik as lik

DESIGN = np.array([[1.0, 0.0], [1.0, 1.0]])  # one linked list: intercept, main effect


def obs_dict(n_units: int, n_groups: int, **given) -> dict:
    z2, z1 = np.zeros((n_units, n_groups)), np.zeros(n_units)
    out = {
        "reg_n": z2,
        "reg_w": z2,
        "chat_T": z2,
        "chat_w": z2,
        "regp_n": z1,
        "regp_w": z1,
        "chatp_T": z1,
        "chatp_w": z1,
        "kex": z1,
        "kex_w": z1,
        "kmis_lo": z1,
        "kmis_hi": z1,
        "kmis_T": z1,
        "kmis_w": z1,
        "link_y": np.zeros((n_units, n_groups, 1)),
        "link_w": z2,
    }
    out.update({k: np.asarray(v, dtype=float) for k, v in given.items()})
    return out


def loglik(obs: dict, coef: np.ndarray, theta: float, mismatch=(9.0, 1.0, 2.0, 8.0)) -> float:
    arrays, static = lik.prepare_arrays(obs, coef.shape[1], mismatch)
    return float(lik.log_likelihood(coef, {"theta": theta}, arrays, static, DESIGN, 2, lik.NP))


def means(coef: np.ndarray, theta: float) -> dict:
    u, b, a = coef[..., 0], coef[..., 1], coef[..., 2]
    return {"00": np.exp(u), "10": np.exp(u + b), "01": np.exp(u + a), "11": np.exp(u + b + a + theta)}


COEF1 = np.array([[[3.0, 0.4, -0.3]]])  # (U=1, G=1, C=3)
COEF2 = np.array([[[2.6, -0.2, 0.3], [3.1, 0.5, -0.6]]])  # (U=1, G=2, C=3)


def test_exact_known_is_closed_form():
    lam = means(COEF1, 0.7)
    n, t, k = 40, 30, 12
    got = loglik(obs_dict(1, 1, reg_n=[[n]], reg_w=[[1]], chat_T=[[t]], chat_w=[[1]], kex=[k], kex_w=[1]), COEF1, 0.7)
    want = (
        stats.poisson.logpmf(k, lam["11"])
        + stats.poisson.logpmf(n - k, lam["10"])
        + stats.poisson.logpmf(t - k, lam["01"])
    ).item()
    assert got == pytest.approx(want, abs=1e-9)


def test_unknown_overlap_is_bivariate_poisson():
    lam = means(COEF1, -0.4)
    n, t = 25, 18
    got = loglik(obs_dict(1, 1, reg_n=[[n]], reg_w=[[1]], chat_T=[[t]], chat_w=[[1]]), COEF1, -0.4)
    want = np.log(
        sum(
            stats.poisson.pmf(k, lam["11"]) * stats.poisson.pmf(n - k, lam["10"]) * stats.poisson.pmf(t - k, lam["01"])
            for k in range(min(n, t) + 1)
        ).item()
    )
    assert got == pytest.approx(want, abs=1e-9)


def test_self_report_mismatch_brute_force():
    """R = Bin(k, s) + Bin(T - k, f) with s ~ Beta(6, 2), f ~ Beta(2, 5) integrated out."""
    lam = means(COEF1, 0.2)
    n, t, lo, hi = 22, 15, 6, 7
    prior = (6.0, 2.0, 2.0, 5.0)
    got = loglik(
        obs_dict(
            1,
            1,
            reg_n=[[n]],
            reg_w=[[1]],
            chat_T=[[t]],
            chat_w=[[1]],
            kmis_lo=[lo],
            kmis_hi=[hi],
            kmis_T=[t],
            kmis_w=[1],
        ),
        COEF1,
        0.2,
        prior,
    )
    total = 0.0
    for k in range(min(n, t) + 1):
        base = (
            stats.poisson.pmf(k, lam["11"]) * stats.poisson.pmf(n - k, lam["10"]) * stats.poisson.pmf(t - k, lam["01"])
        ).item()
        p_r = sum(
            stats.betabinom.pmf(j, k, prior[0], prior[1]) * stats.betabinom.pmf(r - j, t - k, prior[2], prior[3])
            for r in range(lo, hi + 1)
            for j in range(0, min(k, r) + 1)
        )
        total += base * p_r
    assert got == pytest.approx(np.log(total), abs=1e-9)


def test_pooled_register_split_chat_convolution():
    """Register known only summed over two groups, chat per group: a 2-D sum over overlaps."""
    lam = means(COEF2, 0.5)
    n, t1, t2 = 20, 9, 7
    got = loglik(obs_dict(1, 2, regp_n=[n], regp_w=[1], chat_T=[[t1, t2]], chat_w=[[1, 1]]), COEF2, 0.5)
    total = 0.0
    for k1, k2 in itertools.product(range(t1 + 1), range(t2 + 1)):
        if k1 + k2 > n:
            continue
        total += (
            stats.poisson.pmf(k1, lam["11"][0, 0])
            * stats.poisson.pmf(k2, lam["11"][0, 1])
            * stats.poisson.pmf(t1 - k1, lam["01"][0, 0])
            * stats.poisson.pmf(t2 - k2, lam["01"][0, 1])
            * stats.poisson.pmf(n - k1 - k2, lam["10"][0].sum())
        )
    assert got == pytest.approx(np.log(total), abs=1e-9)


def test_pooled_everything_and_missing_cells():
    """Both sources pooled over groups is a bivariate Poisson of the summed means; a unit with
    nothing observed contributes nothing; a missing register leaves the chat's Poisson total."""
    lam = means(COEF2, -0.3)
    n, t = 30, 12
    obs = obs_dict(3, 2, regp_n=[n, 0, 0], regp_w=[1, 0, 0], chatp_T=[t, 0, t], chatp_w=[1, 0, 1])
    coef = np.repeat(COEF2, 3, axis=0)
    got = loglik(obs, coef, -0.3)
    l11, l10, l01 = lam["11"].sum(), lam["10"].sum(), lam["01"].sum()
    unit0 = np.log(
        sum(
            stats.poisson.pmf(k, l11) * stats.poisson.pmf(n - k, l10) * stats.poisson.pmf(t - k, l01)
            for k in range(t + 1)
        )
    )
    unit2 = stats.poisson.logpmf(t, l11 + l01)
    assert got == pytest.approx(unit0 + unit2, abs=1e-9)


def test_latent_draws_respect_the_data():
    rng = np.random.default_rng(1)
    obs = obs_dict(1, 2, regp_n=[20], regp_w=[1], chat_T=[[9, 7]], chat_w=[[1, 1]])
    arrays, static = lik.prepare_arrays(obs, 2)
    coef = np.repeat(COEF2[None], 500, axis=0)
    cells = lik.draw_cells(coef, {"theta": np.full(500, 0.5)}, arrays, static, DESIGN, 2, rng)
    assert np.all(cells["c10"].sum(axis=-1) + cells["c11"].sum(axis=-1) == 20)
    assert np.all(cells["c01"] + cells["c11"] == np.array([[9, 7]]))
    assert np.all(cells["c10"] >= 0) and np.all(cells["c11"] >= 0)
    # the drawn overlap follows its exact conditional distribution: compare the mean of k1 + k2
    lam = means(COEF2, 0.5)
    w = {}
    for k1, k2 in itertools.product(range(10), range(8)):
        w[(k1, k2)] = (
            stats.poisson.pmf(k1, lam["11"][0, 0])
            * stats.poisson.pmf(k2, lam["11"][0, 1])
            * stats.poisson.pmf(9 - k1, lam["01"][0, 0])
            * stats.poisson.pmf(7 - k2, lam["01"][0, 1])
            * stats.poisson.pmf(20 - k1 - k2, lam["10"][0].sum())
        )
    z = sum(w.values())
    mean = sum((k1 + k2) * v for (k1, k2), v in w.items()) / z
    sd = np.sqrt(sum((k1 + k2 - mean) ** 2 * v for (k1, k2), v in w.items()) / z)
    drawn = cells["c11"].sum(axis=-1)
    assert abs(drawn.mean() - mean) < 4 * sd / np.sqrt(500)
