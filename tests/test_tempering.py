"""Parallel tempering (hiddenvictims.inference.tempering) and the latent-class kernel it samples.

The sampler is checked where the answer is known in closed form: a two-mode target whose
modes HMC alone cannot cross; the share of draws in each mode must match the mixture weight
within Monte Carlo error (from the ESS of the mode indicator), while a single temperature
stays in its starting mode. The kernel is checked against the PyMC model it replaces
(same log density up to a constant, same gradient) and against finite differences.
"""

from __future__ import annotations

from dataclasses import replace

import arviz as az
import numpy as np
import pymc as pm
import pytest
from scipy.special import logsumexp

from hiddenvictims.core.simulate import simulate_population
from hiddenvictims.core.spec import LatentClassSpec
from hiddenvictims.families.latent_class import build_model, model_data
from hiddenvictims.families.latent_class_kernel import LatentClassDensity
from hiddenvictims.inference.tempering import (
    TemperingSettings,
    ladder,
    parallel_tempering,
    respace,
    sample_tempering,
)

# ---------------------------------------------------------------- a known two-mode target
#: Mixture 0.3 N(-6, 0.5^2) + 0.7 N(6, 0.5^2) in two dimensions; prior N(0, 5^2 I).
WEIGHT, SHIFT, SD, PRIOR_SD = 0.7, 6.0, 0.5, 5.0


def two_modes(x: np.ndarray, beta: np.ndarray):
    """Batched (loglik, logprior, grad of logprior + beta * loglik) for the two-mode target."""
    mu = np.array([[-SHIFT, 0.0], [SHIFT, 0.0]])
    d = x[:, None, :] - mu[None]  # (P, 2 modes, D)
    comp = np.log([1 - WEIGHT, WEIGHT])[None] - 0.5 * (d**2).sum(-1) / SD**2
    log_mix = logsumexp(comp, axis=1)
    resp = np.exp(comp - log_mix[:, None])
    grad_mix = -(resp[:, :, None] * d).sum(1) / SD**2
    logprior = -0.5 * (x**2).sum(1) / PRIOR_SD**2
    grad_prior = -x / PRIOR_SD**2
    loglik = log_mix - logprior  # so that prior * lik^1 is the mixture itself
    grad_lik = grad_mix - grad_prior
    return loglik, logprior, grad_prior + beta[:, None] * grad_lik


def share_in_right_mode(draws: np.ndarray) -> tuple[float, float]:
    """Share of draws with x0 > 0 and its Monte Carlo standard error (from the ESS)."""
    ind = (draws[..., 0] > 0).astype(float)
    p = float(ind.mean())
    ess = float(az.ess(ind)) if 0 < p < 1 else 1.0
    return p, np.sqrt(p * (1 - p) / ess)


def test_tempering_recovers_mode_weights_that_one_temperature_cannot():
    rng = np.random.default_rng(2)
    settings = TemperingSettings(temperatures=8, min_beta=0.01, max_leapfrog=10)
    init = rng.normal(0, 1, size=(4, 8, 2)) + np.array([-SHIFT, 0.0])  # all start left
    res = parallel_tempering(two_modes, init, draws=3000, tune=1000, settings=settings, rng=rng)
    p, se = share_in_right_mode(res.draws)
    assert se < 0.05  # the chains really moved between the modes
    assert abs(p - WEIGHT) < 4 * se
    assert np.all(res.swap_rate > 0.2)

    single = TemperingSettings(temperatures=1, max_leapfrog=10)
    res1 = parallel_tempering(two_modes, init[:, :1], 1000, 500, single, rng)
    assert share_in_right_mode(res1.draws)[0] == 0.0  # HMC alone never leaves the left mode


#: A Gaussian with one coordinate 25x narrower than the unit mass matrix assumes.
NARROW_SDS = np.array([1.0, 0.04])


def narrow_gaussian(x: np.ndarray, beta: np.ndarray):
    """Batched (loglik, logprior, grad) of N(0, diag(NARROW_SDS^2)), all in the 'likelihood'."""
    loglik = -0.5 * ((x / NARROW_SDS) ** 2).sum(1)
    return loglik, np.zeros(len(x)), beta[:, None] * (-x / NARROW_SDS**2)


def test_delayed_rejection_samples_a_scale_the_step_size_cannot():
    """With no warm-up the step stays 0.1 and the unit mass matrix: on the 0.04-wide
    coordinate every first attempt diverges (0.1 / 0.04 = 2.5 > 2, the leapfrog stability
    limit). The retry with a 4x smaller step is stable, and its delayed-rejection acceptance
    keeps the target exact: the moments match within Monte Carlo error (from the ESS).
    Without the retry the chains never move."""
    settings = TemperingSettings(temperatures=1, trajectory=1.0, max_leapfrog=64, retry_factor=4)
    init = np.random.default_rng(0).normal(size=(4, 1, 2)) * NARROW_SDS
    res = parallel_tempering(narrow_gaussian, init, 3000, 0, settings, np.random.default_rng(1))
    assert res.diverging_first.mean() > 0.9
    assert res.diverging.sum() == 0
    for j, sd in enumerate(NARROW_SDS):
        x = res.draws[..., j]
        ess_mean, ess_sq = float(az.ess(x)), float(az.ess(x**2))
        assert ess_mean > 500
        assert abs(x.mean()) < 4 * sd / np.sqrt(ess_mean)
        # var(x^2) = 2 sd^4 for a normal
        assert abs((x**2).mean() - sd**2) < 4 * np.sqrt(2) * sd**2 / np.sqrt(ess_sq)

    stuck = parallel_tempering(
        narrow_gaussian, init, 300, 0, TemperingSettings(temperatures=1, retry_factor=1), np.random.default_rng(1)
    )
    assert stuck.diverging.mean() > 0.9
    moved = np.any(np.diff(stuck.draws, axis=1) != 0, axis=2)
    assert moved.mean() < 0.1


def test_chain_groups_do_not_depend_on_cores():
    rng = np.random.default_rng(5)
    settings = TemperingSettings(temperatures=4, min_beta=0.05, max_leapfrog=5)
    init = rng.normal(size=(4, 4, 2))
    one = sample_tempering(two_modes, init, 200, 100, settings, seed=9, cores=1)
    two = sample_tempering(two_modes, init, 200, 100, settings, seed=9, cores=2)
    np.testing.assert_array_equal(one.draws, two.draws)
    assert one.draws.shape == (4, 200, 2)


def test_thinning_keeps_every_thin_th_state_and_all_sampler_statistics():
    """thin = 3 runs the same iterations with the same random numbers as thin = 1 with three
    times the draws: its draws are every third state, and its statistics cover all of them."""
    settings = TemperingSettings(temperatures=3, min_beta=0.1, max_leapfrog=8)
    init = np.random.default_rng(4).normal(size=(2, 3, 2))
    every = parallel_tempering(narrow_gaussian, init, 60, 0, settings, np.random.default_rng(6))
    thinned = parallel_tempering(narrow_gaussian, init, 20, 0, replace(settings, thin=3), np.random.default_rng(6))
    np.testing.assert_array_equal(thinned.draws, every.draws[:, 2::3])
    blocks = (2, 20, 3)
    np.testing.assert_array_equal(thinned.n_leapfrog, every.n_leapfrog.reshape(blocks).sum(axis=2))
    np.testing.assert_array_equal(thinned.diverging_first, every.diverging_first.reshape(blocks).any(axis=2))
    np.testing.assert_allclose(thinned.accept, every.accept.reshape(blocks).mean(axis=2))
    # no warm-up: the 0.1 step diverges on the 0.04-wide coordinate, so there is something to keep
    assert 0 < every.diverging_first.mean() < 1


def test_ladder_and_respacing():
    betas = ladder(TemperingSettings(temperatures=5, min_beta=0.01))
    assert betas[0] == 1.0 and betas[-1] == pytest.approx(0.01)
    assert np.allclose(np.diff(np.log(betas)), np.log(0.01) / 4)  # geometric
    # equal rejections: the ladder is already balanced and stays
    assert np.allclose(respace(betas, np.full(4, 0.3)), betas)
    # all the rejection in the first gap: new betas crowd into it
    new = respace(betas, np.array([0.9, 0.001, 0.001, 0.001]))
    assert new[0] == 1.0 and new[-1] == betas[-1]
    assert np.all(np.diff(new) < 0) and new[3] > betas[1]


# ---------------------------------------------------------------- the latent-class kernel
def density_and_model(n_lists=4, n_classes=3, spec=None):
    spec = spec or LatentClassSpec(n_classes=n_classes, alpha_shape=0.5, capture_a=1.5)
    pop = simulate_population(300, [[0.2, 0.3, 0.1, 0.25], [0.6, 0.5, 0.7, 0.4]], class_weights=[0.5, 0.5], seed=3)
    (data,) = model_data(pop.table, spec)
    dens = LatentClassDensity(
        n_lists,
        n_classes,
        data["counts"],
        data["active"],
        spec.alpha_shape,
        spec.alpha_rate,
        spec.capture_a,
        spec.capture_b,
    )
    model = build_model(n_lists, n_classes)
    with model:
        pm.set_data(data)
    return dens, model


def test_kernel_equals_pymc_model_up_to_a_constant_with_same_gradient():
    dens, model = density_and_model()
    logp, dlogp = model.compile_logp(), model.compile_dlogp()
    rng = np.random.default_rng(1)
    x = dens.prior_draws(rng, 6)
    x[:, 12:] = np.clip(x[:, 12:], -3, 3)
    # rows 4 and 5 take the kernel's log-space fallback: extreme logits, tiny class weights
    x[4, [0, 5, 7]] = [45.0, -48.0, 60.0]
    x[5, 12:] = [6.5, 6.0]  # sticks s = e^6.5: almost all weight in class 0
    x[5, [0, 3, 6, 9]] = -42.0
    ll, lp, grad = dens(x, np.ones(6))
    assert np.all(np.isfinite(ll)) and np.all(np.isfinite(grad))
    diffs = []
    for i in range(6):
        point = {"eta": x[i, :12].reshape(4, 3), "log_s": x[i, 12:]}
        diffs.append(ll[i] + lp[i] - logp(point))
        # PyMC orders the gradient by its value variables: eta first or log_s first
        ref = dlogp(point)
        order = [v.name for v in model.value_vars]
        ours = {"eta": grad[i, :12], "log_s": grad[i, 12:]}
        np.testing.assert_allclose(np.concatenate([ours[n] for n in order]), ref, rtol=1e-8, atol=1e-8)
    assert np.ptp(diffs) < 1e-8


def test_kernel_gradient_at_a_tempered_beta_matches_finite_differences():
    dens, _ = density_and_model()
    rng = np.random.default_rng(4)
    x = dens.prior_draws(rng, 3)
    x[:, 12:] = np.clip(x[:, 12:], -3, 3)
    beta = np.array([0.0, 0.37, 1.0])
    _, _, grad = dens(x, beta)
    h = 1e-6
    for d in range(x.shape[1]):
        up, down = x.copy(), x.copy()
        up[:, d] += h
        down[:, d] -= h
        f_up = dens(up, beta)
        f_down = dens(down, beta)
        fd = ((f_up[1] + beta * f_up[0]) - (f_down[1] + beta * f_down[0])) / (2 * h)
        np.testing.assert_allclose(grad[:, d], fd, rtol=1e-5, atol=1e-5)


def test_kernel_prior_draws_follow_the_prior():
    """Sticks: alpha ~ Gamma(a, b), s_k | alpha ~ Exp(alpha) => E[1/(b + sum s)] closed form."""
    dens, _ = density_and_model(spec=LatentClassSpec(n_classes=3, alpha_shape=2.0, alpha_rate=1.0))
    x = dens.prior_draws(np.random.default_rng(0), 200_000)
    lam = 1 / (1 + np.exp(-x[:, :12]))
    assert lam.mean() == pytest.approx(1 / (1 + 1.0), abs=0.003)  # Beta(1, 1) mean
    # alpha | s ~ Gamma(a + K - 1, b + sum s): E[alpha] = E[(a + K - 1) / (b + sum s)] = a / b
    total = np.exp(x[:, 12:]).sum(1)
    assert np.mean(4.0 / (1.0 + total)) == pytest.approx(2.0, rel=0.01)


def test_compiled_leapfrog_equals_the_python_loop():
    """The kernel's integrator and the generic per-step loop give the same HMC move."""
    from hiddenvictims.inference.tempering import hmc_move

    dens, _ = density_and_model()
    rng = np.random.default_rng(8)
    x = dens.initial_points(rng, 6)
    beta = np.linspace(0.1, 1.0, 6)
    scale = np.full_like(x, 0.3)
    step = np.full(6, 0.05)
    settings = TemperingSettings(trajectory=0.6, max_leapfrog=20)
    state = dens(x, beta)

    class Plain:  # the same density without the compiled integrator
        def __call__(self, x, beta):
            return dens(x, beta)

    out_fast = hmc_move(dens, x, beta, scale, step, state, settings, np.random.default_rng(1))
    out_slow = hmc_move(Plain(), x, beta, scale, step, state, settings, np.random.default_rng(1))
    np.testing.assert_allclose(out_fast[0], out_slow[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out_fast[2], out_slow[2], rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(out_fast[4], out_slow[4])


def test_target_accept_reaches_the_tempering_sampler():
    from hiddenvictims.core.spec import SamplerSettings
    from hiddenvictims.families.latent_class import tempering_settings

    assert tempering_settings(LatentClassSpec(), SamplerSettings(target_accept=0.8)).target_accept == 0.8
    spec = LatentClassSpec(target_accept=0.95)
    assert tempering_settings(spec, SamplerSettings(target_accept=0.8)).target_accept == 0.95
    assert tempering_settings(LatentClassSpec(thin=3), SamplerSettings()).thin == 3  # the spec reaches the sampler


def test_higher_target_accept_gives_smaller_steps_and_higher_acceptance():
    rng = np.random.default_rng(5)
    init = rng.normal(6.0, 0.5, size=(2, 1, 2))
    out = {}
    for target in (0.6, 0.95):
        settings = TemperingSettings(temperatures=1, max_leapfrog=10, target_accept=target)
        res = parallel_tempering(two_modes, init, 400, 400, settings, np.random.default_rng(1))
        out[target] = (float(res.step_size[0]), float(res.accept.mean()))
    assert out[0.95][0] < out[0.6][0]
    assert out[0.95][1] > out[0.6][1]
    assert abs(out[0.95][1] - 0.95) < 0.05
