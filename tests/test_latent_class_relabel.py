"""Label-switching moves of the latent-class sampler: exact, and what they change.

The move is exact when it leaves the prior invariant (the likelihood does not change under an
exchange of classes, checked separately): independent exact prior draws, relabelled, must still
be exact prior draws. Two negative controls show that the test sees a wrong acceptance ratio.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from hiddenvictims.families import latent_class_relabel as relabel_module
from hiddenvictims.families.latent_class_kernel import LatentClassDensity
from hiddenvictims.families.latent_class_relabel import (
    log_stick_jacobian,
    log_weights_from_sticks,
    relabel,
    relabel_reference,
    sticks_from_log_weights,
)

L, K = 3, 6
#: KS p-values below this fail (six weights tested per sample: a family-wise level of ~0.6%).
P_MIN = 1e-3


def density(counts=None) -> LatentClassDensity:
    counts = np.zeros(2**L) if counts is None else counts
    return LatentClassDensity(
        n_lists=L,
        n_classes=K,
        counts=counts,
        active=np.ones(L),
        alpha_shape=0.25,
        alpha_rate=0.25,
        capture_a=1.0,
        capture_b=1.0,
    )


def weights(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # a broken move (negative controls) drives sticks to 0
        return np.exp(log_weights_from_sticks(x[:, L * K :]))


def exchanged_sticks(log_s: np.ndarray, i: int, j: int) -> np.ndarray:
    log_w = log_weights_from_sticks(log_s)
    log_w[[i, j]] = log_w[[j, i]]
    return sticks_from_log_weights(log_w)


def test_sticks_and_weights_invert_each_other_down_to_tiny_weights():
    rng = np.random.default_rng(0)
    log_s = np.concatenate([rng.normal(0, 2, size=(200, K - 1)), np.full((1, K - 1), 5.0)])  # e^5 = 148 per stick
    log_w = log_weights_from_sticks(log_s)
    assert log_w.min() < -500  # weights far below what linear space can hold
    np.testing.assert_allclose(sticks_from_log_weights(log_w), log_s, atol=1e-8)
    np.testing.assert_allclose(np.exp(log_w).sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("pair", [(0, 1), (0, K - 1), (2, 4), (3, K - 1)])
def test_exchange_is_an_involution_with_the_stated_jacobian(pair):
    """log |d log s' / d log s| by central differences equals the formula the move uses."""
    i, j = pair
    log_s = np.array([-0.5, 0.3, -1.0, 0.2, 0.7])
    new = exchanged_sticks(log_s, i, j)
    np.testing.assert_allclose(exchanged_sticks(new, i, j), log_s, atol=1e-10)
    h = 1e-6
    jac = np.array(
        [
            (exchanged_sticks(log_s + h * e, i, j) - exchanged_sticks(log_s - h * e, i, j)) / (2 * h)
            for e in np.eye(K - 1)
        ]
    )
    numeric = np.log(abs(np.linalg.det(jac)))
    formula = log_stick_jacobian(log_s[None])[0] - log_stick_jacobian(new[None])[0]
    assert numeric == pytest.approx(formula, abs=1e-6)


def test_exchange_leaves_the_likelihood_unchanged():
    counts = np.concatenate([[0.0], np.arange(1, 2**L, dtype=float) * 7])
    dens = density(counts)
    x = dens.initial_points(np.random.default_rng(1), 400)
    moved, accepted = relabel(x, L, K, 0.25, 0.25, 4, np.random.default_rng(2))
    assert accepted.sum() > 100
    before, _, _ = dens(x, np.ones(len(x)))
    after, _, _ = dens(moved, np.ones(len(x)))
    np.testing.assert_allclose(after, before, rtol=1e-9)


def test_compiled_move_makes_the_same_moves_as_the_reference():
    x = density().prior_draws(np.random.default_rng(6), 2_000)
    fast, fast_n = relabel(x, L, K, 0.25, 0.25, 4, np.random.default_rng(7))
    slow, slow_n = relabel_reference(x, L, K, 0.25, 0.25, 4, np.random.default_rng(7))
    np.testing.assert_array_equal(fast_n, slow_n)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)
    assert fast_n.sum() > 1_000


def relabelled_prior_p_values(move=relabel) -> list[float]:
    dens = density()
    start = dens.prior_draws(np.random.default_rng(1), 20_000)
    fresh = dens.prior_draws(np.random.default_rng(2), 20_000)
    moved, accepted = move(start, L, K, 0.25, 0.25, 5, np.random.default_rng(3))
    assert accepted.mean() > 0.5  # the move does move
    return [stats.ks_2samp(weights(moved)[:, k], weights(fresh)[:, k]).pvalue for k in range(K)]


def test_relabelled_prior_draws_are_still_prior_draws():
    assert min(relabelled_prior_p_values()) > P_MIN


@pytest.mark.parametrize("broken", ["log_stick_jacobian", "stick_log_prior"])
def test_the_prior_check_sees_a_wrong_acceptance_ratio(monkeypatch, broken):
    """Negative controls: drop the Jacobian, or the prior ratio, and the weights come out wrong."""
    assert min(relabelled_prior_p_values(relabel_reference)) > P_MIN
    monkeypatch.setattr(relabel_module, broken, lambda log_s, *args: np.zeros(log_s.shape[0]))
    assert min(relabelled_prior_p_values(relabel_reference)) < 1e-6


def test_tempering_reports_the_accepted_exchanges():
    from hiddenvictims.inference.tempering import TemperingSettings, sample_tempering

    dens = density()
    init = dens.initial_points(np.random.default_rng(4), 2 * 2).reshape(2, 2, dens.dim)
    res = sample_tempering(dens, init, 50, 50, TemperingSettings(temperatures=2), seed=5, cores=1)
    assert res.extra_accepted.shape == (2, 50)
    assert res.extra_accepted.sum() > 0
    off = dataclasses.replace(dens, relabel_tries=0)
    res = sample_tempering(off, init, 50, 50, TemperingSettings(temperatures=2), seed=5, cores=1)
    assert res.extra_accepted.sum() == 0


def test_the_fit_notes_say_how_often_labels_were_exchanged():
    from hiddenvictims.families.latent_class import relabel_note

    assert "0.25 accepted per iteration" in relabel_note(np.ones((4, 100), dtype=int), 3, thin=4)
    assert "did not mix" in relabel_note(np.zeros((4, 100), dtype=int), 3, thin=2)
    assert "keeps the class order" in relabel_note(np.zeros((4, 100), dtype=int), 0, thin=2)
