"""Interventions change the capture process only: closed-form checks on fake posteriors.

Tolerances: ``EXACT`` means bit-for-bit (np.array_equal); ``FP`` (1e-12, relative) covers
rounding in sums of 2**K probabilities.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hiddenvictims.core.errors import InputError
from hiddenvictims.core.testing import capture_draws, fake_capture_draws
from hiddenvictims.scenarios.forward import Engine, scenario_outcomes
from hiddenvictims.scenarios.interventions import (
    REGISTRY,
    Layout,
    _boost_many,
    _boost_one,
    apply,
    apply_plan,
    compile_plan,
    parse_interventions,
)

FP = 1e-12
STRATA = {"age": ["adult", "minor"], "year": ["2020", "2021"]}


@pytest.fixture(scope="module")
def draws():
    return fake_capture_draws(150, lists=("police", "care", "chat"), strata=STRATA, seed=7)


def prob_of(d):
    return d.pattern_prob.transpose("sample", *d.strata, "pattern_full").values


def cond_on(prob: np.ndarray, bit: int) -> np.ndarray:
    """P(on the list | pattern on the other lists), per off-pattern (…, 2**K / 2)."""
    idx = np.arange(prob.shape[-1])
    off = idx[(idx & bit) == 0]
    p_on, p_off = prob[..., off | bit], prob[..., off]
    return p_on / (p_on + p_off)


NO_CHANGE = [
    [],
    [{"kind": "chat_reach", "multiplier": 1.0}],
    [{"kind": "referral", "probability": 0.0, "to": "police"}],
    [{"kind": "register_detection", "multipliers": {"police": 1.0, "care": 1.0}}],
    [
        {
            "kind": "combination",
            "steps": [
                {"kind": "chat_reach", "multiplier": 1.0},
                {"kind": "referral", "probability": 0.0, "to": "care"},
            ],
        }
    ],
    [
        {"kind": "chat_reach", "multiplier": 3.0, "strata": {"age": ["minor"]}},
        {"kind": "chat_reach", "multiplier": 1 / 3.0, "strata": {"age": ["minor"]}},
    ],
]


@pytest.mark.parametrize("steps", NO_CHANGE[:5], ids=["none", "reach1", "referral0", "detect1", "combo"])
def test_a_scenario_that_changes_nothing_reproduces_the_baseline_exactly(draws, steps):
    ds = scenario_outcomes(draws, steps)
    for name in ("reached_chat", "registered", "reached_any", "hidden", "chat_not_registered"):
        assert np.array_equal(ds[name].sel(variant="scenario").values, ds[name].sel(variant="baseline").values)
        assert not ds[name].sel(variant="change").values.any()
    assert np.array_equal(prob_of(apply(draws, steps)), prob_of(draws))


def test_multipliers_that_cancel_are_close_not_exact(draws):
    """x3 then x1/3 on one list is the identity up to rounding (multipliers multiply first)."""
    assert np.allclose(prob_of(apply(draws, NO_CHANGE[5])), prob_of(draws), rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    "steps",
    [
        [{"kind": "chat_reach", "multiplier": 2.5}],
        [{"kind": "referral", "probability": 0.7, "to": "police"}],
        [{"kind": "register_detection", "multipliers": {"care": 0.5, "police": 4.0}}],
        [{"kind": "chat_reach", "multiplier": 0.0}],
    ],
)
def test_population_never_changes_and_probabilities_stay_valid(draws, steps):
    new = apply(draws, steps)
    assert new.N is draws.N
    p = prob_of(new)
    assert (p >= 0).all()
    assert np.allclose(p.sum(-1), 1.0, rtol=0, atol=FP)


def test_chat_reach_multiplies_the_conditional_chance_and_keeps_the_register(draws):
    chat = Layout.of(draws).bit("chat")
    base = prob_of(draws)
    new = prob_of(apply(draws, [{"kind": "chat_reach", "multiplier": 2.0}]))
    expected = np.minimum(1.0, 2.0 * cond_on(base, chat))
    assert np.allclose(cond_on(new, chat), expected, rtol=FP)
    # the register pattern (all other lists) keeps its probability
    keep = lambda p: p.reshape(*p.shape[:-1], -1, 2).sum(-1)  # noqa: E731 (chat is the last bit)
    assert np.allclose(keep(new), keep(base), rtol=FP, atol=0)
    ds = scenario_outcomes(draws, [{"kind": "chat_reach", "multiplier": 2.0}])
    assert np.allclose(ds["registered"].sel(variant="change"), 0.0, atol=1e-9)


def test_chat_reach_caps_at_one_and_zero_closes_the_chat(draws):
    # the largest multiplier a config accepts: reach is capped at everyone, never beyond
    huge = scenario_outcomes(draws, [{"kind": "chat_reach", "multiplier": 1000}])
    reached = huge["reached_chat"].sel(variant="scenario")
    assert bool((reached <= draws.N * (1 + FP)).all())
    assert float(np.isclose(reached, draws.N, rtol=FP).mean()) > 0.5
    closed = scenario_outcomes(draws, [{"kind": "chat_reach", "multiplier": 0.0}])
    assert not closed["reached_chat"].sel(variant="scenario").values.any()


def test_referral_moves_the_share_of_unregistered_chat_contacts(draws):
    ds = scenario_outcomes(draws, [{"kind": "referral", "probability": 0.4, "to": "police"}])
    target = 0.4 * ds["chat_not_registered"].sel(variant="baseline")
    assert np.allclose(ds["registered"].sel(variant="change"), target, rtol=1e-10)
    assert np.allclose(ds["reached_any"].sel(variant="change"), 0.0, atol=1e-9)
    assert np.allclose(ds["reached_chat"].sel(variant="change"), 0.0, atol=1e-9)
    # everyone referred lands on 'police' (bit 4: pattern 101 = police + chat, from 001)
    new = prob_of(apply(draws, [{"kind": "referral", "probability": 0.4, "to": "police"}]))
    base = prob_of(draws)
    assert np.allclose(new[..., 0b101] - base[..., 0b101], 0.4 * base[..., 0b001], rtol=1e-10)


def test_register_detection_multiplies_one_list_given_the_others(draws):
    police = Layout.of(draws).bit("police")
    new = prob_of(apply(draws, [{"kind": "register_detection", "multipliers": {"police": 1.5}}]))
    assert np.allclose(cond_on(new, police), np.minimum(1.0, 1.5 * cond_on(prob_of(draws), police)), rtol=FP)


def test_combination_is_its_steps_and_findability_steps_commute(draws):
    reach = {"kind": "chat_reach", "multiplier": 1.8}
    detect = {"kind": "register_detection", "multipliers": {"care": 2.0}}
    refer = {"kind": "referral", "probability": 0.3, "to": "care"}
    combo = prob_of(apply(draws, [{"kind": "combination", "steps": [reach, detect, refer]}]))
    listed = prob_of(apply(draws, [reach, detect, refer]))
    reordered = prob_of(apply(draws, [refer, detect, reach]))
    assert np.array_equal(combo, listed)
    assert np.allclose(listed, reordered, rtol=0, atol=1e-15)


def test_one_list_fast_path_matches_the_general_rule(draws):
    prob = prob_of(draws)
    m = np.array([[1.7, 1.0], [0.4, 3.0]])  # per (age, year)
    for bit in (1, 2, 4):
        assert np.allclose(_boost_one(prob, bit, m), _boost_many(prob, [(bit, m)]), rtol=0, atol=1e-15)


def test_steps_limited_to_strata_leave_the_others_alone(draws):
    new = prob_of(apply(draws, [{"kind": "chat_reach", "multiplier": 2.0, "strata": {"age": ["minor"]}}]))
    base = prob_of(draws)
    assert np.array_equal(new[:, 0], base[:, 0])  # adults
    assert not np.allclose(new[:, 1], base[:, 1])  # minors


@pytest.mark.parametrize(
    ("steps", "fragments"),
    [
        (
            [{"kind": "referral", "probability": 0.5, "to": "polce"}],
            ["interventions.0.to", "unknown list 'polce'", "did you mean 'police'"],
        ),
        (
            [{"kind": "referral", "probability": 0.5}],
            ["interventions.0.to", "several register lists"],
        ),
        (
            [{"kind": "register_detection", "multipliers": {"chat": 2.0}}],
            ["interventions.0.multipliers.chat", "not a register"],
        ),
        (
            [{"kind": "chat_reach", "multiplier": 2.0, "strata": {"ages": ["minor"]}}],
            ["interventions.0.strata.ages", "did you mean 'age'"],
        ),
        (
            [{"kind": "chat_reach", "multiplier": 2.0, "strata": {"age": ["minors"]}}],
            ["interventions.0.strata.age", "unknown level 'minors'", "did you mean 'minor'"],
        ),
        (
            [
                {
                    "kind": "combination",
                    "steps": [{"kind": "chat_reach", "multiplier": 2.0, "list": "care"}],
                }
            ],
            ["interventions.0.steps.0.list", "not anonymous"],
        ),
        (
            [{"kind": "chat_reach", "multipler": 2.0}],
            ["unknown key 'interventions.0.multipler'", "did you mean 'multiplier'"],
        ),
        (
            [{"kind": "chat_rech", "multiplier": 2.0}],
            ["interventions.0.kind", "did you mean 'chat_reach'"],
        ),
        (
            [{"kind": "referral", "probability": 1.5, "to": "police"}],
            ["interventions.0.probability", "less than or equal"],
        ),
    ],
)
def test_bad_interventions_name_the_key(draws, steps, fragments):
    with pytest.raises(InputError) as info:
        apply(draws, steps, source="s.toml")
    text = str(info.value)
    assert text.startswith("s.toml: ") and "\n" not in text
    for fragment in fragments:
        assert fragment in text, (fragment, text)


def test_chat_interventions_need_an_anonymous_list():
    d = fake_capture_draws(20, lists=("A", "B"), anonymous=(), seed=1)
    with pytest.raises(InputError, match="needs an anonymous list"):
        apply(d, [{"kind": "chat_reach", "multiplier": 2.0}])


def test_registry_is_closed_and_documented():
    assert set(REGISTRY) == {"chat_reach", "register_detection", "referral", "targeted_outreach", "combination"}
    for kind, entry in REGISTRY.items():
        assert entry.changes and entry.model.__doc__, kind


# ----------------------------------------------------------------------------- property tests
@st.composite
def posteriors(draw):
    """Random posteriors: 2-4 lists (the last is the chat), 1-6 draws, 1-3 strata, sparse."""
    k = draw(st.integers(2, 4))
    n_draws = draw(st.integers(1, 6))
    n_strata = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(0.05, 3.0, size=2**k)
    prob = rng.dirichlet(alpha, size=(n_draws, n_strata))
    zero = rng.random(prob.shape) < draw(st.sampled_from([0.0, 0.2, 0.5]))
    prob = np.where(zero, 0.0, prob)
    prob[..., 0] += 1e-3  # never all zero
    prob /= prob.sum(-1, keepdims=True)
    n = rng.integers(1, 100_000, size=(n_draws, n_strata)).astype(float)
    lists = [f"L{i}" for i in range(k - 1)] + ["chat"]
    return capture_draws(n, prob, lists, anonymous=("chat",), strata={"s": [f"s{i}" for i in range(n_strata)]})


extra_steps = st.lists(
    st.one_of(
        st.builds(lambda r: {"kind": "referral", "probability": r, "to": "L0"}, st.floats(0, 1)),
        st.builds(lambda m: {"kind": "register_detection", "multipliers": {"L0": m}}, st.floats(0, 5)),
    ),
    max_size=2,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(posteriors(), st.floats(0.0, 6.0), extra_steps)
def test_doubling_chat_reach_never_lowers_the_number_reached(d, m, extra):
    engine = Engine.from_draws(d)
    names = engine.outcomes

    def reached(mult):
        steps = parse_interventions([{"kind": "chat_reach", "multiplier": mult}, *extra])
        out = engine.evaluate(compile_plan(steps, engine.layout))
        return {k: out[names.index(k)] for k in ("reached_chat", "reached_any")}

    once, twice = reached(m), reached(2 * m)
    for key in once:
        slack = 1e-9 * np.maximum(1.0, np.abs(once[key]))  # rounding only
        assert (twice[key] >= once[key] - slack).all(), key


@settings(max_examples=80, deadline=None)
@given(posteriors(), st.floats(0, 1), st.floats(0, 1), st.floats(0, 6))
def test_more_referral_never_lowers_registrations_and_nothing_leaks(d, r1, r2, m):
    engine = Engine.from_draws(d)
    lo, hi = sorted((r1, r2))
    regs = []
    for r in (lo, hi):
        steps = parse_interventions(
            [
                {"kind": "chat_reach", "multiplier": m},
                {"kind": "referral", "probability": r, "to": "L0"},
            ]
        )
        prob = apply_plan(engine.prob, compile_plan(steps, engine.layout))
        assert (prob >= -1e-15).all() and np.allclose(prob.sum(-1), 1.0, atol=1e-12)
        regs.append(engine.evaluate(compile_plan(steps, engine.layout))[engine.outcomes.index("registered")])
    assert (regs[1] >= regs[0] - 1e-9 * np.maximum(1.0, regs[0])).all()
