"""The compiled NUTS sampler on a target with a closed form: a correlated, badly scaled Gaussian.

Tolerances are four Monte Carlo standard errors of the draws themselves (ArviZ's ``mcse``)."""

from __future__ import annotations

import numpy as np
import pytest

MEAN = np.array([1.0, -2.0, 0.5])
SD = np.array([1.0, 10.0, 0.1])
CORR = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, -0.3], [0.0, -0.3, 1.0]])
COV = CORR * np.outer(SD, SD)


@pytest.fixture(scope="module")
def fit():
    import jax.numpy as jnp

    from hiddenvictims.inference.jax_nuts import make_sampler

    precision = np.linalg.inv(COV)

    def logdensity(x, data):
        d = x - data["mean"]
        return -0.5 * d @ jnp.asarray(precision) @ d

    run = make_sampler(logdensity, dim=3, chains=4, tune=400, draws=1000, target_accept=0.9)
    return run, run({"mean": MEAN}, seed=11)


def _within(draws: np.ndarray, truth: float) -> tuple[float, float]:
    import arviz as az

    return abs(float(draws.mean()) - truth), float(np.asarray(az.mcse(draws)).item())


def test_recovers_mean_and_covariance(fit):
    _, result = fit
    x = result.position  # (chain, draw, dim)
    for k in range(3):
        err, mcse = _within(x[..., k], MEAN[k])
        assert err < 4 * mcse, (k, err, mcse)
        centred = (x[..., k] - MEAN[k]) ** 2
        err, mcse = _within(centred, COV[k, k])
        assert err < 4 * mcse, (k, err, mcse)
    cross = (x[..., 0] - MEAN[0]) * (x[..., 1] - MEAN[1])
    err, mcse = _within(cross, COV[0, 1])
    assert err < 4 * mcse
    assert result.diverging.sum() == 0


def test_chains_share_one_adapted_kernel(fit):
    """The chains pool their adaptation: one step size and one mass matrix, close to the
    target's covariance (what a dense mass matrix should learn), so every chain takes the same
    trajectories' cost."""
    _, result = fit
    assert np.all(result.step_size == result.step_size[0])
    assert np.all(result.inverse_mass_matrix == result.inverse_mass_matrix[0])
    learnt = result.inverse_mass_matrix[0]
    assert np.allclose(np.sqrt(np.diag(learnt)), SD, rtol=0.25)
    corr = learnt / np.outer(np.sqrt(np.diag(learnt)), np.sqrt(np.diag(learnt)))
    assert np.allclose(corr, CORR, atol=0.1)


def test_warm_start_reuses_the_kernel_and_new_data(fit):
    """A fit started from another's adapted kernel samples the new data's target."""
    run, result = fit
    shifted = MEAN + np.array([3.0, 0.0, -1.0])
    warm = run({"mean": shifted}, seed=12, start=result.adapted())
    assert np.array_equal(warm.step_size, result.step_size)
    for k in range(3):
        err, mcse = _within(warm.position[..., k], shifted[k])
        assert err < 4 * mcse, (k, err, mcse)
