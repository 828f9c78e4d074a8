"""The Dutch evidence synthesis: evidence rows, the log density, the theta prior, truncation."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from hiddenvictims.core.errors import InputError
from hiddenvictims.studies.netherlands import evidence as ev
from hiddenvictims.studies.netherlands import synthesis as syn
from hiddenvictims.studies.netherlands.synthesis_fit import _truncated, linked_table, log_lik_rows, prepare

YEARS = tuple(range(2010, 2022))


@pytest.fixture(scope="module")
def prep():
    return prepare(syn.SynthesisSpec(), (2019, 2020, 2021))


def test_every_evidence_row_names_a_documented_source():
    frame = ev.load_evidence()
    sources = (ev.evidence_path().parent / "SOURCES.md").read_text()
    documented = set(re.findall(r"^\| ([a-z0-9_, ]+) \|", sources, flags=re.M))
    ids = {s.strip() for d in documented for s in d.split(",")}
    assert set(frame["source"]) <= ids
    assert frame["id"].is_unique


def test_bad_evidence_row_names_the_line(tmp_path):
    text = ev.evidence_path().read_text().splitlines()
    text[3] = text[3].replace(",registered,", ",registerd,", 1)
    bad = tmp_path / "evidence.csv"
    bad.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match=r"line 4 .*quantity 'registerd'"):
        ev.load_evidence(bad)


def test_weights_select_the_rows_totals():
    frame = ev.load_evidence()
    arr = ev.evidence_arrays(frame, YEARS)
    grid = arr.weights.reshape(len(frame), *arr.grid_shape)
    i = arr.ids.index("est_sexual_2010_2015")  # yearly mean over six years, sexual, both ages
    assert np.allclose(grid[i][0, 0, :, :6], 1 / 6) and grid[i].sum() == pytest.approx(2.0)
    j = arr.ids.index("reg_dutch_2019")  # registered, all forms, all ages, one year
    assert grid[j][1, :, :, YEARS.index(2019)].sum() == 4 and grid[j].sum() == 4
    assert arr.girls[arr.ids.index("est_girls_2010_2015")] == 1
    with pytest.raises(InputError, match="outside the model's years"):
        ev.evidence_arrays(frame, tuple(range(2012, 2022)))


def test_jax_log_density_equals_the_numpy_rows(prep):
    """The compiled density and the NumPy path used for checks and conflicts are one model:
    the log density minus its prior equals the weighted sum of the NumPy row log-likelihoods."""
    import jax.numpy as jnp

    layout, priors = prep.layout, prep.spec.priors
    logdensity = syn.make_logdensity(layout, priors)
    rng = np.random.default_rng(3)
    x = 0.5 * rng.standard_normal((5, layout.dim))
    data = prep.data.as_dict()
    rows = log_lik_rows(prep, x, prep.data)  # (5, R)
    normal = np.concatenate([np.arange(b.start, b.stop) for n, b in layout.blocks.items() if n not in syn.BETA_PARAMS])
    for k in range(5):
        prior = -0.5 * np.sum(x[k, normal] ** 2)
        for name in syn.BETA_PARAMS:
            i, p = layout.blocks[name].start, getattr(priors, name)
            prior += -p.a * np.logaddexp(0, -x[k, i]) - p.b * np.logaddexp(0, x[k, i])
        total = float(logdensity(jnp.asarray(x[k]), data))
        assert total == pytest.approx(prior + np.sum(data["weight"] * rows[k]), rel=1e-10, abs=1e-8)


def test_leaving_a_group_out_zeroes_its_weight(prep):
    data = syn.model_data(prep.layout, 0.0, 1.0, leave_out=("chat",))
    groups = np.array(prep.layout.evidence.groups)
    assert (data.weight[groups == "chat"] == 0).all() and (data.weight[groups != "chat"] == 1).all()
    scaled = syn.model_data(prep.layout, 0.0, 1.0, scale={"rapporteur_2014_2018": 2.0})
    i = prep.layout.evidence.ids.index("est_minors_2014_2018")
    assert scaled.value[i] == 2 * prep.layout.evidence.value[i]
    with pytest.raises(InputError, match="no evidence group 'chatt'"):
        syn.model_data(prep.layout, 0.0, 1.0, leave_out=("chatt",))


def test_linked_table_dependence_recovers_known_interactions():
    """Pattern counts drawn from a two-way log-linear model with known interactions: the
    penalised fit recovers each interaction with police within 4 standard errors (sd of a log
    odds ratio estimate ~ sqrt(sum of 1/cell)), here at most 0.15 on 10^6 people."""
    lists = ["I", "K", "O", "P", "R", "Z"]
    truth = {"O": 0.4, "R": 0.2, "Z": 0.7, "I": -0.5, "K": -1.0}
    rng = np.random.default_rng(11)
    patterns = np.array(list(itertools.product([0, 1], repeat=6)))[1:]
    p = lists.index("P")
    eta = np.log(2e4) + patterns @ np.array([-1.0, -2.0, -0.5, 0.5, -0.8, -0.3])
    for name, value in truth.items():
        eta += value * patterns[:, lists.index(name)] * patterns[:, p]
    table = pd.DataFrame(patterns, columns=lists)
    table["count"] = rng.poisson(np.exp(eta))
    dep = syn.linked_table_dependence(table, ridge_sd=10.0)
    for name, value in truth.items():
        assert dep[f"lor_{name}"] == pytest.approx(value, abs=0.15)
    assert dep["care_mean"] == pytest.approx(np.mean([truth[c] for c in "ORZ"]), abs=0.1)


def test_bundled_linked_table_gives_the_documented_theta_prior():
    mu, sd, source = syn.theta_prior(syn.SynthesisPriors(), linked_table())
    assert mu == pytest.approx(0.41, abs=0.01) and sd == pytest.approx(1.04, abs=0.01)
    assert source["lor_K"] < 0 < source["lor_Z"]


def test_truncated_draws_respect_the_bound_and_the_distribution():
    from scipy import stats

    rng = np.random.default_rng(5)
    u = rng.uniform(size=200_000)
    draws = _truncated(stats.poisson, np.full(u.shape, 60.0), u, 70.0)
    assert draws.max() <= 60
    exact = stats.poisson(70.0)
    k = np.arange(61)
    mean = (k * exact.pmf(k)).sum() / exact.cdf(60)
    assert draws.mean() == pytest.approx(mean, abs=4 * draws.std() / np.sqrt(u.size))
    unbounded = _truncated(stats.binom, np.full(u.shape, np.nan), u, 100, 0.3)
    assert unbounded.mean() == pytest.approx(30.0, abs=4 * np.sqrt(21 / u.size))
