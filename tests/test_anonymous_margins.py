"""The 'margins' parameterisation of the one-register anonymous-list model is exact.

NUTS samples per stratum (log register total, log anonymous total, logit overlap coordinate)
instead of the log cell means; the log-Jacobian makes the posterior the same. Checked: the map
and its inverse, the log-Jacobian against finite differences, and the posterior of N against
the 'cells' parameterisation within Monte Carlo error (Z_MC standard errors, ArviZ MCSE).
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

from hiddenvictims.core.anonymous_data import two_source
from hiddenvictims.core.errors import InputError
from hiddenvictims.core.spec import AnonymousSpec, SamplerSettings
from hiddenvictims.families import anonymous as an
from hiddenvictims.families import anonymous_lik as lik
from hiddenvictims.studies.netherlands import pipeline as nl

Z_MC = 4.0
QUANTILES = (0.025, 0.5, 0.975)


def random_cells(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cells = rng.normal(3.0, 2.5, size=(n, 3))
    cells[:5, 0] = cells[:5, 1]  # equal margins up to the overlap: a = b
    cells[5:10, 2] = cells[5:10, 0] - 12.0  # almost no overlap
    cells[10:15, 0] = cells[10:15, 2] - 12.0  # the register almost inside the anonymous list
    return cells


def test_margin_map_inverts():
    cells = random_cells(400)
    back, _ = an.cells_from_margins(an.margins_from_cells(cells), lik.NP)
    np.testing.assert_allclose(back, cells, atol=1e-8)


def test_log_jacobian_matches_finite_differences():
    cells = random_cells(60, seed=1)
    x = an.margins_from_cells(cells)
    _, log_jac = an.cells_from_margins(x, lik.NP)
    h = 1e-6
    for i in range(len(x)):
        jac = np.zeros((3, 3))
        for j in range(3):
            step = np.zeros(3)
            step[j] = h
            up, _ = an.cells_from_margins(x[i] + step, lik.NP)
            down, _ = an.cells_from_margins(x[i] - step, lik.NP)
            jac[:, j] = (up - down) / (2 * h)
        assert np.log(abs(np.linalg.det(jac))) == pytest.approx(log_jac[i], abs=1e-5)


def test_pooled_margin_coordinates_have_unit_jacobian():
    rng = np.random.default_rng(2)
    a = rng.normal(4.0, 1.5, size=(2, 3))  # (U, G)
    flag = np.array([1.0, 0.0])
    off = (np.arange(3) > 0).astype(float)
    pooled = an._pooled_from_groups(a, flag)
    np.testing.assert_allclose(pooled[0, 0], np.log(np.exp(a[0]).sum()))
    np.testing.assert_allclose(an._groups_from_pooled(pooled, flag, off, lik.NP), a, atol=1e-12)
    h = 1e-6
    jac = np.zeros((3, 3))
    for j in range(3):
        step = np.zeros((2, 3))
        step[0, j] = h
        jac[:, j] = (
            an._groups_from_pooled(pooled + step, flag, off, lik.NP)
            - an._groups_from_pooled(pooled - step, flag, off, lik.NP)
        )[0] / (2 * h)
    assert abs(np.linalg.det(jac)) == pytest.approx(1.0, abs=1e-6)


def test_margins_need_one_linked_list():
    from conftest import load_benchmark

    from hiddenvictims.core.anonymous_data import from_table

    data, _, _ = from_table(load_benchmark("netherlands_2010_2015_6lists"), "I")
    with pytest.raises(InputError, match="one linked list"):
        an.prepare(data, AnonymousSpec(parameterisation="margins"))


def test_margin_density_is_the_cells_density_plus_jacobian():
    """On the Dutch baseline's structure (pooled register, chat pooled in 2019, self-report in
    2020): the margin log density is the cells model's prior on the cells (the Gaussian implied
    by the pooling prior on phi, rebuilt here from coef_map) + its likelihood + the log-Jacobian,
    and the xi it maps back to reproduce the same coefficients."""
    cfg = nl.load_config(nl.Path(__file__).resolve().parents[1] / "scenarios" / "netherlands-chat-only.toml")
    data = nl.dutch_data((2019, 2020, 2021))
    spec = cfg.model.model_copy(update={"parameterisation": "margins"})
    prepared = an.prepare(data, spec)
    structure = prepared.structure
    rng = np.random.default_rng(3)
    w = 0.3 * rng.standard_normal((20, prepared.sample_dim))
    new = prepared.logp_sampled(w)
    cells, log_jac = an.margin_cells(w, structure, prepared.arrays, lik.NP)
    theta = structure.prior_mu[structure.i_theta] + structure.prior_sd[structure.i_theta] * w[:, -1]
    coef = an.cells_to_coef(cells, theta, lik.NP)
    loglik = lik.log_likelihood(
        coef, {"theta": theta}, prepared.arrays, prepared.static, structure.design, structure.n_link_coef, lik.NP
    )
    d = structure.coef_map.shape[1]
    cov = (structure.coef_map * structure.prior_sd[:d] ** 2) @ structure.coef_map.T
    diff = cells.reshape(len(w), -1) - structure.coef_map @ structure.prior_mu[:d]
    prior = -0.5 * np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff) - 0.5 * w[:, -1] ** 2
    np.testing.assert_allclose(new, prior + loglik + log_jac, rtol=1e-10, atol=1e-6)
    # and the xi it maps back to give the same cells under the cells model's map
    xi = an.xi_from_margins(prepared, w[None], rng)[0]
    phi = structure.prior_mu + structure.prior_sd * xi
    back, params = an.unpack(phi, structure, lik.NP)
    np.testing.assert_allclose(back, coef, atol=1e-8)
    np.testing.assert_allclose(params["theta"], theta)


def quantile_and_mcse(da) -> tuple[np.ndarray, np.ndarray]:
    q = np.quantile(da.values.ravel(), QUANTILES)
    ds = da.to_dataset(name="x")
    se = np.array([float(az.mcse(ds, method="quantile", prob=p)["x"]) for p in QUANTILES])
    return q, se


@pytest.fixture(scope="module")
def both_fits():
    """Two-source data with the overlap unknown (the hard case: N's upper tail is the prior's
    plateau near zero overlap), two strata: cells and margins parameterisations."""
    data = two_source([600.0, 300.0], [400.0, 350.0], None, strata={"age": ["minor", "adult"]})
    sampler = SamplerSettings(chains=2, draws=1000, tune=500, seed=7, backend="pymc", target_accept=0.95)
    base = AnonymousSpec(cell_mu=4.0, cell_sd=3.0, dependence={"mean": 0.0, "sd": 1.0})
    return {p: an.fit(data, base.model_copy(update={"parameterisation": p}), sampler) for p in ("cells", "margins")}


@pytest.mark.slow
@pytest.mark.parametrize("var", ["N", "N_both"])
def test_margins_and_cells_agree(both_fits, var):
    for age in ("minor", "adult"):
        qc, sc = quantile_and_mcse(both_fits["cells"].posterior[var].sel(age=age))
        qm, sm = quantile_and_mcse(both_fits["margins"].posterior[var].sel(age=age))
        tol = Z_MC * np.sqrt(sc**2 + sm**2)
        assert np.all(np.abs(qc - qm) <= tol), (
            f"{var} {age}: cells {qc.round()} vs margins {qm.round()} (tol {tol.round()})"
        )
