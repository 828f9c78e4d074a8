"""The evidence synthesis on simulated Dutch worlds with known numbers of victims (slow).

20 seeded worlds (a register with known, drifting coverage, an anonymous chat dependent on the
register, a first-disclosure self-report, and published estimates made from linked two-list
samples of the same population) are fitted side by side in one compiled run. With a 95%
interval and a correct model, coverage of 18 or more in 20 has probability 0.92 under
Binomial(20, 0.95); the synthesis must also be narrower than the same model without the
published estimates, and an estimate made 3 times too large must be flagged by the conflict
check.
"""

from __future__ import annotations

import numpy as np
import pytest

from hiddenvictims.core.constants import interval_quantiles
from hiddenvictims.studies.netherlands import evidence as ev
from hiddenvictims.studies.netherlands.synthesis import SynthesisSpec
from hiddenvictims.studies.netherlands.synthesis_fit import (
    compile_fit,
    conflict_rows,
    expected_n,
    prepare,
    variant_data,
)
from hiddenvictims.studies.netherlands.synthesis_sim import simulate_world

pytestmark = pytest.mark.slow
REPORT = (2019, 2020, 2021)
SEEDS = range(20)


@pytest.fixture(scope="module")
def worlds():
    template = ev.load_evidence()
    honest = [simulate_world(template, seed) for seed in SEEDS]
    biased = [simulate_world(template, seed, bias_factor=3.0) for seed in range(5)]
    return honest, biased


def _fit_all(frames, leave_out=()):
    """One compiled sampler, one fit per world (a vectorised batch of worlds is slower: every
    NUTS step waits for the longest trajectory of all chains)."""
    spec = SynthesisSpec()
    preps = [prepare(spec, REPORT, evidence=f) for f in frames]
    run = compile_fit(preps[0], chains=4, tune=800, draws=600, target_accept=0.9)
    data = [variant_data(p, leave_out=leave_out) for p in preps]
    return preps, data, [run(d, 7 + k) for k, d in enumerate(data)]


def test_synthesis_covers_the_truth_and_beats_chat_only(worlds):
    honest, _ = worlds
    preps, data, res = _fit_all([w.evidence for w in honest])
    _, data_chat, res_chat = _fit_all(
        [w.evidence for w in honest], leave_out=("rapporteur_2010_2015", "rapporteur_2014_2018")
    )
    lo, hi = interval_quantiles()
    rng = np.random.default_rng(1)
    covered, narrower = 0, 0
    t = honest[0].years.index(2020)
    for k, world in enumerate(honest):
        truth = world.victims[:, t].sum()
        n = expected_n(preps[k], res[k].position, data[k], REPORT)["Dutch victims"][..., 1]
        draws = rng.poisson(n)  # the latent count around its expectation
        q = np.quantile(draws, [lo, hi])
        covered += q[0] <= truth <= q[1]
        n_chat = expected_n(preps[k], res_chat[k].position, data_chat[k], REPORT)["Dutch victims"][..., 1]
        q_chat = np.quantile(n_chat, [lo, hi])
        narrower += (q[1] / q[0]) < (q_chat[1] / q_chat[0])
    assert covered >= 18, f"covered {covered} of 20"
    assert narrower >= 18, f"narrower than chat-only in {narrower} of 20"


def test_a_biased_published_estimate_is_flagged(worlds):
    _, biased = worlds
    group = "rapporteur_2014_2018"
    preps, data, res = _fit_all([w.evidence for w in biased], leave_out=(group,))
    flagged = 0
    for k in range(len(biased)):
        rows = conflict_rows(preps[k], group, res[k].position, data[k], seed=k)
        flagged += min(r["p_value"] for r in rows) * len(rows) < 0.05
    assert flagged >= 4, f"flagged {flagged} of 5"
