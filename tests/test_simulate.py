"""The simulator produces what it is told: capture rates, dependence, heterogeneity."""

from __future__ import annotations

import numpy as np

from hiddenvictims.core.simulate import simulate_population


def test_independent_lists_have_the_given_capture_rates():
    n = 40_000
    probs = [0.3, 0.2, 0.1]
    sim = simulate_population(n, probs, seed=1)
    rec = sim.records
    for name, p in zip("ABC", probs, strict=True):
        se = np.sqrt(p * (1 - p) / n)
        assert abs(rec[name].mean() - p) < 4 * se
    assert sim.table.n_observed == int(rec["observed"].sum())
    assert sim.n_hidden == n - sim.table.n_observed


def test_dependence_sets_the_log_odds_ratio():
    n = 200_000
    sim = simulate_population(n, [0.3, 0.3], dependence={(0, 1): -1.0}, seed=2)
    r = sim.records
    n11 = ((r.A == 1) & (r.B == 1)).sum()
    n10 = ((r.A == 1) & (r.B == 0)).sum()
    n01 = ((r.A == 0) & (r.B == 1)).sum()
    n00 = ((r.A == 0) & (r.B == 0)).sum()
    log_or = np.log(n11 * n00 / (n10 * n01))
    se = np.sqrt(1 / n11 + 1 / n10 + 1 / n01 + 1 / n00)
    assert abs(log_or - (-1.0)) < 4 * se


def test_same_seed_same_population():
    a = simulate_population(1000, [[0.5, 0.1], [0.05, 0.4]], class_weights=[0.3, 0.7], logit_sd=0.5, seed=3)
    b = simulate_population(1000, [[0.5, 0.1], [0.05, 0.4]], class_weights=[0.3, 0.7], logit_sd=0.5, seed=3)
    assert a.records.equals(b.records)
