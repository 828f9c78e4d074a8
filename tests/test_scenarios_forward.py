"""Forward simulation: outcomes per draw, summaries, and a direct Monte Carlo of a population.

The direct Monte Carlo applies each intervention person by person to a simulated population
(``simulate.simulate_population``) with its own random numbers; it shares no code with the
scenario engine. Its registrations must match the engine's expected registrations within
``MC_SDS`` binomial standard deviations.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from conftest import FAST, load_benchmark

from hiddenvictims.core import capture
from hiddenvictims.core.constants import INTERVAL_PROB
from hiddenvictims.core.simulate import simulate_population
from hiddenvictims.core.spec import LoglinearSpec
from hiddenvictims.core.testing import capture_draws, fake_capture_draws, pattern_probabilities
from hiddenvictims.families import fit
from hiddenvictims.scenarios import forward as fw
from hiddenvictims.scenarios.forward import Engine, scenario_outcomes, summarise_outcomes

MC_SDS = 4.0
LISTS = ("police", "care", "chat")  # chat is the last bit (1), care 2, police 4


def bits_of(k: int) -> np.ndarray:
    return ((np.arange(2**3)[:, None] >> np.arange(2, -1, -1)) & 1).astype(bool)


def class_probs(probs, dependence):
    return pattern_probabilities(probs, dependence)


def direct_monte_carlo(
    records,
    per_class: np.ndarray,
    *,
    chat_mult: float,
    care_mult: float,
    referral: float,
    seed: int,
) -> dict[str, int]:
    """Apply the interventions to every person: extra findings from the person's class and baseline
    pattern, independently per list, then referral of unregistered chat contacts to the police."""
    rng = np.random.default_rng(seed)
    x = records[list(LISTS)].to_numpy().astype(bool)
    cls = records["latent_class"].to_numpy()
    code = x[:, 0] * 4 + x[:, 1] * 2 + x[:, 2] * 1
    final = x.copy()
    for col, bit, mult in ((2, 1, chat_mult), (1, 2, care_mult)):
        off = ~x[:, col]
        p_self = per_class[cls, code]
        p_partner = per_class[cls, code | bit]
        chance = np.clip((mult - 1.0) * p_partner / p_self, 0.0, 1.0)
        final[:, col] |= off & (rng.random(len(x)) < chance)
    unregistered_chat = final[:, 2] & ~final[:, 0] & ~final[:, 1]
    final[:, 0] |= unregistered_chat & (rng.random(len(x)) < referral)
    return {
        "registered": int((final[:, 0] | final[:, 1]).sum()),
        "reached_chat": int(final[:, 2].sum()),
        "hidden": int((~final.any(axis=1)).sum()),
    }


@pytest.mark.parametrize(
    ("classes", "weights", "dependence", "chat_mult", "care_mult", "referral"),
    [
        # heterogeneous (two classes), findability of the chat and referral
        ([[0.10, 0.20, 0.05], [0.30, 0.05, 0.25]], [0.7, 0.3], {(0, 2): -0.5}, 2.0, 1.0, 0.4),
        # one class with list dependence, all three interventions at once
        ([[0.12, 0.18, 0.08]], [1.0], {(0, 1): 0.7, (1, 2): 0.4}, 2.5, 1.6, 0.5),
    ],
)
def test_expected_registrations_match_a_direct_monte_carlo(
    classes, weights, dependence, chat_mult, care_mult, referral
):
    n = 200_000
    pop = simulate_population(n, classes, class_weights=weights, dependence=dependence, list_names=list(LISTS), seed=11)
    per_class = np.array([class_probs(p, dependence) for p in classes])
    # the cap must not bind for any class (person-type level and person level then agree exactly)
    for bit, mult in ((1, chat_mult), (2, care_mult)):
        idx = np.arange(8)
        off = idx[(idx & bit) == 0]
        cond = per_class[:, off | bit] / (per_class[:, off | bit] + per_class[:, off])
        assert (mult * cond).max() < 1.0
    truth = np.asarray(weights) @ per_class
    draws = capture_draws(np.array([float(n)]), truth[None], LISTS, anonymous=("chat",))
    steps = [
        {"kind": "chat_reach", "multiplier": chat_mult},
        {"kind": "register_detection", "multipliers": {"care": care_mult}},
        {"kind": "referral", "probability": referral, "to": "police"},
    ]
    expected = fw.forward(draws, steps)
    mc = direct_monte_carlo(pop.records, per_class, chat_mult=chat_mult, care_mult=care_mult, referral=referral, seed=5)
    sds = {}
    for key, count in mc.items():
        e = float(expected[key].values[0])
        sds[key] = np.sqrt(n * (e / n) * (1 - e / n))
        assert abs(count - e) < MC_SDS * sds[key], (key, count, e, sds[key])
    # the interventions move registrations far more than the Monte Carlo error: the test has power
    base = fw.forward(draws)
    assert float(expected["registered"][0] - base["registered"][0]) > 10 * sds["registered"]


def test_outcomes_add_up(tmp_path):
    d = fake_capture_draws(100, lists=("A", "B", "chat"), strata={"year": ["2020", "2021"]}, seed=3)
    ds = fw.forward(
        d,
        [
            {"kind": "chat_reach", "multiplier": 1.7},
            {"kind": "referral", "probability": 0.2, "to": "A"},
        ],
    )
    assert np.allclose(ds["reached_any"] + ds["hidden"], ds["N"], rtol=1e-12)
    assert (ds["registered"] <= ds["reached_any"] * (1 + 1e-12)).all()
    assert (ds["chat_not_registered"] <= ds["reached_chat"] * (1 + 1e-12)).all()
    union = ds["registered"] + ds["chat_not_registered"]
    assert np.allclose(union, ds["reached_any"], rtol=1e-12)  # only register lists and the chat here


def test_predictive_mode_is_exact_for_no_change_and_centred_on_the_expectation():
    d = fake_capture_draws(400, lists=("A", "B", "chat"), seed=9, n_mean=5000)
    steps = [{"kind": "chat_reach", "multiplier": 1.0}]
    pred = scenario_outcomes(d, steps, mode="predictive", seed=3)
    for name in fw.OUTCOMES:
        assert np.array_equal(pred[name].sel(variant="scenario"), pred[name].sel(variant="baseline"))
    steps = [{"kind": "chat_reach", "multiplier": 2.0}]
    pred = scenario_outcomes(d, steps, mode="predictive", seed=3)["reached_chat"].sel(variant="scenario")
    expd = scenario_outcomes(d, steps)["reached_chat"].sel(variant="scenario")
    diff = (pred - expd).values
    assert abs(diff.mean()) < MC_SDS * diff.std() / np.sqrt(diff.size)
    assert np.array_equal(pred.values, np.round(pred.values))


def test_summaries_use_the_project_interval_and_give_strata_margins_and_total():
    for func in (fw.summarise_outcomes, fw.summary_stats):
        assert inspect.signature(func).parameters["prob"].default == INTERVAL_PROB
    d = fake_capture_draws(300, strata={"age": ["adult", "minor"], "year": ["2020", "2021"]}, seed=2)
    frame = summarise_outcomes(scenario_outcomes(d, [{"kind": "chat_reach", "multiplier": 2.0}]), by=["year"])
    strata = set(frame["stratum"])
    assert {"total", "year=2020", "year=2021", "adult|2020", "minor|2021"} <= strata
    row = frame.query("quantity == 'hidden' and variant == 'baseline' and stratum == 'total'").iloc[0]
    total = (d.N * d.pattern_prob.isel(pattern_full=0)).sum(["age", "year"]).values
    lo, hi = np.quantile(total, [0.025, 0.975])
    assert row["lower"] == pytest.approx(lo) and row["upper"] == pytest.approx(hi)


def test_engine_summaries_are_independent_of_memory_layout():
    """Sums along a strided axis round differently; the engine makes every array contiguous."""
    d = fake_capture_draws(257, strata={"s": ["a", "b", "c"]}, seed=4)
    engine = Engine.from_draws(d)
    base = engine.flat(engine.evaluate(None))
    plan = engine.compile([{"kind": "chat_reach", "multiplier": 1.3}])
    a = engine.cell_summary(plan, base)
    b = engine.cell_summary(plan, np.asfortranarray(base))
    assert np.array_equal(a, b)


@pytest.fixture(scope="module")
def korea_capture():
    est = fit(load_benchmark("korea_palembang_3lists"), LoglinearSpec(), FAST)
    return est, capture.from_loglinear(est)


def test_log_linear_fit_feeds_the_engine(korea_capture):
    est, draws = korea_capture
    from dataclasses import replace

    draws = replace(draws, anonymous=(draws.lists[-1],), register=draws.lists[:-1])
    ds = scenario_outcomes(draws, [{"kind": "chat_reach", "multiplier": 2.0}])
    observed = est.table.n_observed
    reached = float(ds["reached_any"].sel(variant="baseline").median())
    assert reached == pytest.approx(observed, rel=0.05)  # the model reproduces what was seen
    assert (ds["reached_chat"].sel(variant="change") >= 0).all()
