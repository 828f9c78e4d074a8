"""Seeded fake posteriors for testing code that consumes them, without sampling.

``fake_capture_draws`` builds a :class:`~hiddenvictims.core.capture.CaptureDraws` whose draws
scatter around a known capture process (independent lists plus optional pairwise dependence,
per stratum); ``capture_draws`` wraps given arrays; ``pattern_probabilities`` is the closed
form of that capture process. Same arguments and seed, same draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from scipy.special import logit

from .capture import PATTERN_FULL_DIM, SAMPLE_DIM, CaptureDraws, full_pattern_labels
from .table import pattern_matrix

DUTCH_LIKE_LISTS = ("I", "K", "O", "P", "R", "chat")
#: Rough list-capture probabilities of the six Dutch reporting lists (register) plus a chat.
DUTCH_LIKE_PROBS = (0.012, 0.035, 0.014, 0.12, 0.02, 0.02)


def pattern_probabilities(
    capture_probs: Sequence[float], dependence: Mapping[tuple[int, int], float] | None = None
) -> np.ndarray:
    """P(pattern) over all 2**K patterns (canonical order) of a log-linear capture process.

    P(x) ∝ exp(sum_k x_k logit(p_k) + sum_{j<k} gamma_jk x_j x_k); with no dependence the lists
    are independent Bernoulli(p_k).
    """
    probs = np.asarray(capture_probs, dtype=np.float64)
    pats = pattern_matrix(len(probs), include_zero=True).astype(np.float64)
    logw = pats @ logit(probs)
    for (j, k), gamma in (dependence or {}).items():
        logw += gamma * pats[:, j] * pats[:, k]
    w = np.exp(logw - logw.max())
    return w / w.sum()


def capture_draws(
    N: np.ndarray,
    pattern_prob: np.ndarray,
    lists: Sequence[str],
    register: Sequence[str] | None = None,
    anonymous: Sequence[str] = (),
    strata: Mapping[str, Sequence] | None = None,
) -> CaptureDraws:
    """CaptureDraws from arrays: N (sample, *strata), pattern_prob (sample, *strata, 2**K)."""
    strata = {k: list(v) for k, v in (strata or {}).items()}
    lists = tuple(lists)
    anonymous = tuple(anonymous)
    register = tuple(register) if register is not None else tuple(n for n in lists if n not in anonymous)
    N = np.asarray(N, dtype=np.float64)
    pattern_prob = np.asarray(pattern_prob, dtype=np.float64)
    coords = {SAMPLE_DIM: np.arange(N.shape[0]), **strata}
    dims = (SAMPLE_DIM, *strata)
    return CaptureDraws(
        N=xr.DataArray(N, dims=dims, coords=coords),
        pattern_prob=xr.DataArray(
            pattern_prob,
            dims=(*dims, PATTERN_FULL_DIM),
            coords={**coords, PATTERN_FULL_DIM: full_pattern_labels(len(lists))},
        ),
        lists=lists,
        register=register,
        anonymous=anonymous,
    )


def fake_capture_draws(
    n_draws: int = 200,
    *,
    lists: Sequence[str] = ("register", "chat"),
    anonymous: Sequence[str] = ("chat",),
    register: Sequence[str] | None = None,
    strata: Mapping[str, Sequence] | None = None,
    capture_probs: Sequence[float] | None = None,
    dependence: Mapping[tuple[int, int], float] | None = None,
    n_mean: float = 1000.0,
    n_spread: float = 0.15,
    concentration: float = 2000.0,
    seed: int = 0,
) -> CaptureDraws:
    """A seeded fake posterior of a capture process.

    Per stratum the centre is ``pattern_probabilities(capture_probs, dependence)`` (random
    probabilities in [0.03, 0.35] per list and stratum when ``capture_probs`` is None); each draw
    is Dirichlet(concentration x centre) around it. N is lognormal around ``n_mean`` with
    log-sd ``n_spread``, rounded.
    """
    rng = np.random.default_rng([seed, 0xFA4E])
    lists = tuple(lists)
    strata = {k: list(v) for k, v in (strata or {}).items()}
    shape = tuple(len(v) for v in strata.values())
    n_strata = int(np.prod(shape)) if shape else 1
    k = len(lists)
    centres = []
    for _ in range(n_strata):
        probs = capture_probs if capture_probs is not None else rng.uniform(0.03, 0.35, size=k)
        centres.append(pattern_probabilities(probs, dependence))
    centre = np.array(centres)  # (n_strata, 2**K)
    alpha = np.maximum(concentration * centre, 1e-2)
    draws = rng.gamma(alpha[None], size=(n_draws, *alpha.shape))
    prob = draws / draws.sum(axis=-1, keepdims=True)
    n = np.round(n_mean * np.exp(rng.normal(0.0, n_spread, size=(n_draws, n_strata))))
    return capture_draws(
        n.reshape(n_draws, *shape),
        prob.reshape(n_draws, *shape, 2**k),
        lists,
        register=register,
        anonymous=anonymous,
        strata=strata,
    )


def dutch_like_capture_draws(
    n_draws: int = 1000, *, strata: Mapping[str, Sequence] | None = None, seed: int = 0
) -> CaptureDraws:
    """Six lists shaped like the Dutch case: five register lists and a chat; N around 40,000."""
    return fake_capture_draws(
        n_draws,
        lists=DUTCH_LIKE_LISTS,
        anonymous=("chat",),
        strata=strata,
        capture_probs=DUTCH_LIKE_PROBS,
        dependence={(3, 5): 0.8, (1, 3): 0.5},
        n_mean=40_000.0,
        n_spread=0.2,
        concentration=20_000.0,
        seed=seed,
    )


def fake_dutch_posterior(
    n_draws: int = 400, *, seed: int = 0, chains: int = 2, chat_observed: Mapping[int, float] | None = None
) -> xr.Dataset:
    """A seeded posterior shaped like the Dutch results folder's: (chain, draw, year, age).

    Variables N, N_registered, N_anonymous, N_both, N_unseen with age in (minor, adult) and
    years 2019-2021. The chat's total per year is fixed at ``chat_observed`` (observed: the
    same in every draw), split over age by a Beta draw; everything else varies by draw.
    """
    rng = np.random.default_rng([seed, 0xD07C])
    years = [2019, 2020, 2021]
    chat_obs = dict(chat_observed or {2019: 299.0, 2020: 250.0, 2021: 285.0})
    per_chain = n_draws // chains
    shape = (chains, per_chain, len(years), 2)
    n = np.round(np.exp(rng.normal(np.log([[1300.0, 2500.0]] * 3), 0.35, size=shape)))
    minor_share = rng.beta(60, 40, size=shape[:3])
    chat = np.stack(
        [
            np.round(np.array([chat_obs[y] for y in years]) * minor_share),
            np.array([chat_obs[y] for y in years]) - np.round(np.array([chat_obs[y] for y in years]) * minor_share),
        ],
        axis=-1,
    )
    p_reg = rng.beta(4, 40, size=shape)
    both = np.round(chat * rng.beta(8, 30, size=shape))
    reg = np.maximum(np.round(both + (n - chat) * p_reg), both)
    n = np.maximum(n, reg + chat - both)
    unseen = n - reg - chat + both
    coords = {"chain": np.arange(chains), "draw": np.arange(per_chain), "year": years, "age": ["minor", "adult"]}
    dims = ("chain", "draw", "year", "age")
    return xr.Dataset(
        {
            name: xr.DataArray(v, dims=dims, coords=coords)
            for name, v in (
                ("N", n),
                ("N_registered", reg),
                ("N_anonymous", chat),
                ("N_both", both),
                ("N_unseen", unseen),
            )
        }
    )
