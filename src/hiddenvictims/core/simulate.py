"""Synthetic populations with a known size, for tests, validation and calibration.

Each person's capture pattern over K lists is drawn from a log-linear distribution

    P(x | person) ∝ exp( sum_k x_k * (logit p_ck + u_i) + sum_{j<k} gamma_jk x_j x_k )

where c is the person's latent class (heterogeneity between groups), p_ck the class's
capture probabilities, u_i ~ Normal(0, logit_sd) an individual effect shared by all lists
(heterogeneity within a class: people who are easy to find are easy for every list), and
gamma_jk the log odds ratio of dependence between lists j and k (positive: referral,
negative: avoidance). With one class, logit_sd = 0 and no gamma, lists are independent
Bernoulli(p_k).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import logit

from .table import CaptureTable, make_table, pattern_index, pattern_matrix


@dataclass(frozen=True)
class SimulatedPopulation:
    """Everyone in the population (``records``, with ``observed``) and the observed table."""

    records: pd.DataFrame
    table: CaptureTable
    n_total: int

    @property
    def n_hidden(self) -> int:
        return self.n_total - self.table.n_observed


def simulate_population(
    n: int,
    capture_probs: Sequence[float] | Sequence[Sequence[float]],
    *,
    class_weights: Sequence[float] | None = None,
    logit_sd: float = 0.0,
    dependence: Mapping[tuple[int, int], float] | None = None,
    list_names: Sequence[str] | None = None,
    seed: int = 0,
) -> SimulatedPopulation:
    """Simulate ``n`` people and their capture histories (see module docstring).

    ``capture_probs`` is (K,) for one class or (classes, K); ``class_weights`` (classes,)
    defaults to equal weights; ``dependence`` maps list-index pairs (j, k) to log odds ratios.
    """
    probs = np.atleast_2d(np.asarray(capture_probs, dtype=np.float64))
    n_classes, k = probs.shape
    if np.any((probs <= 0) | (probs >= 1)):
        raise ValueError("capture probabilities must lie strictly between 0 and 1")
    weights = np.full(n_classes, 1.0 / n_classes) if class_weights is None else np.asarray(class_weights, float)
    weights = weights / weights.sum()
    names = list(list_names) if list_names is not None else [chr(ord("A") + i) for i in range(k)]
    rng = np.random.default_rng(seed)

    pats = pattern_matrix(k, include_zero=True).astype(np.float64)  # (2^K, K)
    pair_term = np.zeros(len(pats))
    for (j, m), gamma in (dependence or {}).items():
        pair_term += gamma * pats[:, j] * pats[:, m]

    cls = rng.choice(n_classes, size=n, p=weights)
    u = rng.normal(0.0, logit_sd, size=n) if logit_sd > 0 else np.zeros(n)
    # person-level logits (n, K) -> pattern log-weights (n, 2^K), sampled by Gumbel-max
    lin = logit(probs[cls]) + u[:, None]
    logw = lin @ pats.T + pair_term[None, :]
    draw = np.argmax(logw + rng.gumbel(size=logw.shape), axis=1)
    member = pats[draw].astype(np.int8)

    records = pd.DataFrame(member, columns=names)
    records["latent_class"] = cls
    records["observed"] = member.any(axis=1)
    obs = member[records["observed"].to_numpy()]
    counts = np.bincount(pattern_index(obs), minlength=2**k)[1:]
    table = make_table(names, counts, source=f"simulated(n={n}, seed={seed})")
    return SimulatedPopulation(records=records, table=table, n_total=n)
