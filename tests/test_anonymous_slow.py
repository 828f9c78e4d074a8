"""Slow statistical checks of the anonymous-list model on simulated register + chat populations.

Run with ``make test-all`` (marker ``slow``). Populations come from
:func:`hiddenvictims.core.simulate.simulate_population` with two lists (register, chat) and a known
log odds ratio between them; the chat is anonymised (its total and how many of its members are
on the register are kept, as in a linkage validation study).
"""

from __future__ import annotations

import numpy as np
import pytest

from hiddenvictims.core.anonymous_data import two_source
from hiddenvictims.core.simulate import simulate_population
from hiddenvictims.core.spec import AnonymousSpec, SamplerSettings
from hiddenvictims.families import anonymous as an

pytestmark = pytest.mark.slow

SAMPLER = SamplerSettings(chains=2, draws=1000, tune=500, seed=3, backend="pymc")
N_TRUE = 3000
PROBS = (0.3, 0.15)  # register, chat


def anonymised(theta: float, seed: int):
    pop = simulate_population(N_TRUE, PROBS, dependence={(0, 1): theta}, list_names=["register", "chat"], seed=seed)
    counts = pop.table.counts.values  # patterns 01, 10, 11 (register first)
    register = counts[1] + counts[2]
    chat = counts[0] + counts[2]
    return two_source(register, chat, counts[2], source=f"simulated(seed={seed})")


def covers(est, truth: int) -> bool:
    lo, hi = np.quantile(est.posterior["N"].values.ravel(), [0.025, 0.975])
    return lo <= truth <= hi


def test_avoidance_independence_is_biased_ours_covers():
    """Chat users avoid the police (theta = -1): assuming independence over-estimates N;
    a prior covering the truth (Normal(-1, 0.5)) covers N in at least 17 of 20 populations."""
    ours = AnonymousSpec(dependence={"mean": -1.0, "sd": 0.5})
    independence = AnonymousSpec(dependence={"mean": 0.0, "sd": 0.0})
    hits_ours, hits_ind, med_ind = 0, 0, []
    for seed in range(20):
        data = anonymised(-1.0, seed)
        est = an.fit(data, ours, SAMPLER.model_copy(update={"seed": seed}))
        hits_ours += covers(est, N_TRUE)
        ind = an.fit(data, independence, SAMPLER.model_copy(update={"seed": seed}))
        hits_ind += covers(ind, N_TRUE)
        med_ind.append(np.median(ind.posterior["N"].values))
    assert hits_ours >= 17, hits_ours
    assert np.mean(med_ind) > 1.3 * N_TRUE  # independence: biased upwards (about exp(1) x hidden)
    assert hits_ind <= 5, hits_ind


def test_point_prior_at_truth_has_nominal_coverage():
    """theta known exactly: the two-source posterior covers the true N at the nominal rate
    (40 populations; at least 35 expected under 95% coverage, P(fewer) < 1%)."""
    theta = 0.7
    spec = AnonymousSpec(dependence={"mean": theta, "sd": 0.0})
    hits = 0
    for seed in range(40):
        est = an.fit(anonymised(theta, 100 + seed), spec, SAMPLER.model_copy(update={"seed": seed}))
        hits += covers(est, N_TRUE)
    assert hits >= 35, hits
