"""Recovery of a known N on simulated populations that satisfy the fitted model (slow).

20 seeded populations of N = 5,000 over four lists; the 95% interval must cover the truth at
least 17 times (under nominal coverage the count is Binomial(20, 0.95): P(<17) = 1.6%), and
the median relative error of the posterior median must be under 5%.
"""

from __future__ import annotations

import numpy as np
import pytest

from hiddenvictims.core.simulate import simulate_population
from hiddenvictims.core.spec import LoglinearSpec, SamplerSettings
from hiddenvictims.families import fit

N_TRUE = 5_000
PROBS = [0.15, 0.10, 0.20, 0.12]
SETTINGS = SamplerSettings(chains=2, draws=1000, tune=500, backend="nutpie")


def run_study(spec: LoglinearSpec, dependence: dict | None) -> tuple[int, float]:
    covered, rel_err = 0, []
    for seed in range(20):
        sim = simulate_population(N_TRUE, PROBS, dependence=dependence, seed=1000 + seed)
        est = fit(sim.table, spec, SETTINGS.model_copy(update={"seed": seed}))
        row = est.summary().set_index("quantity").loc["N"]
        covered += int(row["lower"] <= N_TRUE <= row["upper"])
        rel_err.append(abs(row["median"] / N_TRUE - 1))
    return covered, float(np.median(rel_err))


@pytest.mark.slow
def test_recovery_independence_four_lists():
    covered, med_err = run_study(LoglinearSpec(), None)
    assert covered >= 17, covered
    assert med_err < 0.05, med_err


@pytest.mark.slow
def test_recovery_with_dependence_and_the_matching_interaction():
    covered, med_err = run_study(LoglinearSpec(interactions=["A:B", "C:D"]), {(0, 1): 0.8, (2, 3): -0.5})
    assert covered >= 17, covered
    assert med_err < 0.10, med_err
