"""Existence / identifiability checks (Fienberg-Rinaldo LP, SparseMSE's checkident statuses).

Targets are published: the artificial 3-list table of Chan, Silverman & Vincent (2021, Table 2)
with the statuses stated in SparseMSE's vignette, and the US Western site table for which the
same paper reports no non-existence / non-identifiability problem.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark

from hiddenvictims.core.checks import check_cells, check_model
from hiddenvictims.core.spec import LoglinearSpec
from hiddenvictims.core.table import make_table
from hiddenvictims.core.terms import INTERCEPT
from hiddenvictims.families import loglinear

ALL_PARAMS_3 = (INTERCEPT, "A", "B", "C", "A:B")


def spec(*interactions: str) -> LoglinearSpec:
    return LoglinearSpec(interactions=list(interactions))


@pytest.fixture(scope="module")
def artificial():
    return load_benchmark("artificial_3lists")


@pytest.fixture(scope="module")
def western():
    return load_benchmark("us_western_site_5lists")


# ---------------------------------------------------------------- artificial 3 lists (published)
@pytest.mark.parametrize(
    ("interactions", "status"),
    [
        (("A:B", "A:C", "B:C"), 2),
        (("all-two-way",), 2),
        (("A:B",), 1),
        (("A:B", "A:C"), 1),
        (("A:B", "B:C"), 1),
        ((), 0),
        (("A:C",), 0),
        (("B:C",), 0),
        (("A:C", "B:C"), 0),
    ],
)
def test_artificial_published_status(artificial, interactions, status):
    (check,) = check_model(artificial, spec(*interactions))
    assert check.status == status
    assert check.extended_mle_exists == (status in (0, 2))
    assert check.identifiable == (status in (0, 1))


def test_artificial_all_two_way_names_terms(artificial):
    (check,) = check_model(artificial, spec("all-two-way"))
    # C never overlaps A or B: A:C and B:C go to minus infinity; what remains (4 cells, 5
    # parameters) leaves the intercept, hence N, undetermined.
    assert check.no_overlap == ("A:C", "B:C")
    assert set(check.not_identifiable) == set(ALL_PARAMS_3)
    assert not check.hidden_count_identified
    assert "estimate of N is decided by the prior" in check.message


def test_artificial_ab_only_diverges(artificial):
    (check,) = check_model(artificial, spec("A:B"))
    # The margins force the cells 101, 011, 111 to zero: the MLE runs off along a direction
    # that moves every parameter (the intercept to +infinity: N is infinite).
    assert check.lp_value == pytest.approx(0.0, abs=1e-9)
    assert check.no_overlap == ()
    assert set(check.no_finite_estimate) == set(ALL_PARAMS_3)
    assert check.not_identifiable == ()
    assert "does not exist" in check.message


def test_artificial_status0_flags_only_no_overlap_term(artificial):
    (check,) = check_model(artificial, spec("A:C"))
    assert check.affected == ("A:C",)
    assert check.hidden_count_identified
    assert not check.mle_exists and check.extended_mle_exists
    (main,) = check_model(artificial, spec())
    assert main.affected == () and main.mle_exists
    assert main.message.startswith("Status 0: no existence")


# ---------------------------------------------------------------- US Western site, 5 lists
@pytest.mark.parametrize("interactions", [(), ("A:E",)])
def test_western_published_models_have_no_problem(western, interactions):
    (check,) = check_model(western, spec(*interactions))
    assert check.status == 0
    assert check.affected == ()
    assert check.mle_exists


def test_western_all_two_way(western):
    """Status 0 as published, but two of the ten pairs never overlap: their terms are -inf."""
    (check,) = check_model(western, spec("all-two-way"))
    assert check.status == 0
    assert check.no_overlap == ("A:B", "B:E")
    assert check.affected == ("A:B", "B:E")
    assert check.hidden_count_identified
    # The note never says "the maximum-likelihood estimate exists" next to terms without one.
    assert "(the extended maximum-likelihood estimate exists, with the terms below" in check.message
    assert "the maximum-likelihood estimate exists and" not in check.message


# ---------------------------------------------------------------- closed-form and structure
def test_saturated_two_list_model_not_identifiable():
    table = make_table(["A", "B"], np.array([30, 20, 10]))
    (check,) = check_model(table, spec("A:B"))
    # 3 cells, 4 parameters: nothing but the prior fixes the hidden cell.
    assert check.status == 2
    assert set(check.not_identifiable) == {INTERCEPT, "A", "B", "A:B"}
    (indep,) = check_model(table, spec())
    assert indep.status == 0 and indep.affected == ()


def test_three_way_term_in_four_lists_is_identifiable_when_seen():
    counts = np.arange(1, 16) * 3  # every observable pattern seen
    table = make_table(["A", "B", "C", "D"], counts)
    (check,) = check_model(table, spec("A:B:C"))
    assert check.status == 0 and check.affected == ()
    (full,) = check_model(table, spec("A:B:C:D"))
    assert full.status == 2  # highest-order interaction is never identifiable


def test_structural_zero_terms_are_named_per_stratum():
    counts = np.zeros((2, 7), dtype=np.int64)
    counts[0] = [5, 7, 2, 9, 3, 4, 1]
    # stratum 'b': list A did not operate. Canonical order 001 010 011 100 101 110 111
    # (A is the first bit), so only the first three patterns can be seen.
    counts[1] = [6, 8, 2, 0, 0, 0, 0]
    active = np.array([[True, True, True], [False, True, True]])
    table = make_table(["A", "B", "C"], counts, strata={"s": ["a", "b"]}, active=active)
    first, second = check_model(table, spec("A:B"))
    assert first.stratum == "a" and first.affected == ()
    assert second.stratum == "b"
    assert second.structural == ("A", "A:B")
    assert second.status == 0
    notes = loglinear.describe(table, spec("A:B"))
    assert len(notes) == 1 and notes[0].startswith("Stratum b:")


def test_check_cells_validates_shapes():
    with pytest.raises(ValueError, match="does not match"):
        check_cells(np.ones((3, 2)), np.ones(4), ["(intercept)", "A"])


def test_describe_and_prior_only_terms_use_the_check(artificial, western):
    assert loglinear.describe(western, spec("A:E")) == []
    notes = loglinear.describe(artificial, spec("A:B"))
    assert len(notes) == 1 and notes[0].startswith("Status 1")
    assert set(loglinear.prior_only_terms(western, spec("all-two-way"))) == {"A:B", "B:E"}
