"""Model averaging over decomposable graphs: graph enumeration, exact posterior against an
independent brute-force computation, dga's published numbers, and MC3 against exhaustive search.

Tolerances
----------
* ``PMF_TOL`` (1e-8, max abs difference of pmfs) and ``PROB_TOL`` (graph probabilities) compare
  two computations of the same deterministic quantity; the fast one drops blocks holding at most
  1e-12 of the mass, so both are far above rounding and truncation error.
* ``DGA_PROB_TOL``: dga.csv prints graph probabilities to 6 decimals.
* MC3: renormalised probabilities miss only the mass of graphs never scored (``MC3_MASS_TOL``);
  visit frequencies are Monte Carlo estimates, compared within 4 between-chain standard errors
  plus 0.01. These golden values come from the R package (dga 2.0.2, see
  ``peer_reference/README.md``) and are never regenerated from this code.
"""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA, load_benchmark
from scipy.special import gammaln

from hiddenvictims.core import graphs
from hiddenvictims.core.errors import InputError
from hiddenvictims.core.spec import (
    AveragingSpec,
    SamplerSettings,
    load_model_spec,
    parse_model_spec,
)
from hiddenvictims.core.summary import pmf_quantile
from hiddenvictims.core.table import make_table
from hiddenvictims.families import FAMILIES, fit
from hiddenvictims.families.averaging import average_counts

ROOT = Path(__file__).resolve().parents[1]

PMF_TOL = 1e-8
PROB_TOL = 1e-8
DGA_PROB_TOL = 1e-4
MC3_MASS_TOL = 0.005


def table(name: str):
    return load_benchmark(name)


def exact(name: str, **kw):
    t = table(name)
    return average_counts(t.lists, t.flat_counts()[0], AveragingSpec(**kw))


# ---------------------------------------------------------------------------- reference
def is_chordal_brute(adj: dict[int, set[int]]) -> bool:
    """Chordal iff repeatedly removing a simplicial vertex empties the graph."""
    adj = {v: set(n) for v, n in adj.items()}
    while adj:
        simplicial = [v for v, nb in adj.items() if all(b in adj[a] for a, b in itertools.combinations(nb, 2))]
        if not simplicial:
            return False
        v = simplicial[0]
        for u in adj[v]:
            adj[u].discard(v)
        del adj[v]
    return True


@cache
def brute_force_graphs(k: int) -> list[tuple[frozenset, list[tuple], list[tuple]]]:
    """(edge set, cliques, separators) of every chordal graph, by brute force over edge sets.

    Cliques: complete vertex sets not inside a larger complete set. Separators: edges of a
    maximum-weight spanning tree of the clique graph (Kruskal), empty ones included.
    """
    pairs = list(itertools.combinations(range(k), 2))
    out = []
    for bits in itertools.product((0, 1), repeat=len(pairs)):
        edges = frozenset(p for p, b in zip(pairs, bits, strict=True) if b)
        adj = {v: set() for v in range(k)}
        for i, j in edges:
            adj[i].add(j)
            adj[j].add(i)
        if not is_chordal_brute(adj):
            continue
        complete = [
            set(c)
            for m in range(1, k + 1)
            for c in itertools.combinations(range(k), m)
            if all(p in edges for p in itertools.combinations(c, 2))
        ]
        cliques = [c for c in complete if not any(c < d for d in complete)]
        cand = sorted(
            ((len(cliques[i] & cliques[j]), i, j) for i, j in itertools.combinations(range(len(cliques)), 2)),
            reverse=True,
        )
        parent = list(range(len(cliques)))

        def root(i, parent=parent):
            while parent[i] != i:
                i = parent[i]
            return i

        seps = []
        for _, i, j in cand:
            if root(i) != root(j):
                parent[root(i)] = root(j)
                seps.append(tuple(sorted(cliques[i] & cliques[j])))
        out.append((edges, [tuple(sorted(c)) for c in cliques], seps))
    return out


def reference_posterior(counts, k, delta, nmissing_max, prior="one_over_n"):
    """The dga formulas written out plainly: loops over graphs, components and cells (only the
    grid of n0 is an array). Returns (graph edge sets, graph probabilities, pmf of n0)."""
    y = np.concatenate([[0.0], np.asarray(counts, dtype=float)]).reshape((2,) * k)
    n = y.sum()
    n0 = np.arange(nmissing_max + 1, dtype=float)
    big_a = delta * 2**k
    memo = {}

    def component(c):
        if c not in memo:
            alpha = delta * 2 ** (k - len(c))
            marg = y.sum(axis=tuple(a for a in range(k) if a not in c)) if c else np.array(n)
            flat = np.atleast_1d(marg).ravel()
            total = gammaln(big_a) - gammaln(n + n0 + big_a)
            for idx, d in enumerate(flat):
                cell = d + n0 if idx == 0 else d
                total = total + gammaln(cell + alpha) - gammaln(alpha)
            memo[c] = total
        return memo[c]

    log_prior = -np.log(n + n0) if prior == "one_over_n" else 0.0
    common = gammaln(n + n0 + 1) - gammaln(n0 + 1) - gammaln(y.ravel()[1:] + 1).sum() + log_prior
    found = brute_force_graphs(k)
    logw = []
    for _, cliques, seps in found:
        lw = common.copy()
        for c in cliques:
            lw = lw + component(c)
        for s in seps:
            lw = lw - component(s)
        logw.append(lw)
    logw = np.array(logw)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    return [e for e, _, _ in found], w.sum(axis=1), w.sum(axis=0)


def probs_by_edges(res) -> dict[frozenset, float]:
    return {frozenset(graphs.edges_of(int(m), len(res.lists))): p for m, p in zip(res.edges, res.probs, strict=True)}


# ---------------------------------------------------------------------------- graphs
@pytest.mark.parametrize("k", [2, 3, 4, 5, 6])
def test_number_of_decomposable_graphs(k):
    assert graphs.decomposable_graphs(k).n_graphs == graphs.KNOWN_COUNTS[k]


@pytest.mark.parametrize("k", [3, 4, 5])
def test_enumeration_matches_brute_force(k):
    """Same graphs, same cliques, same (non-empty) separators with multiplicity."""
    brute = {e: (sorted(c), sorted(s for s in seps if s)) for e, c, seps in brute_force_graphs(k)}
    gs = graphs.decomposable_graphs(k)
    ours = {}
    for g, m in enumerate(gs.edges):
        cliques, seps = gs.structure(g)
        ours[frozenset(graphs.edges_of(int(m), k))] = (sorted(cliques), sorted(seps))
    assert ours == brute


@pytest.mark.parametrize("k", [4, 5, 6])
def test_moebius_coefficients_equal_junction_tree_ones(k):
    """Two independent derivations of cliques minus separators agree on every graph."""
    gs = graphs.decomposable_graphs(k)
    rng = np.random.default_rng(1)
    picks = range(gs.n_graphs) if k < 6 else rng.choice(gs.n_graphs, 2000, replace=False)
    for g in picks:
        vec = np.zeros(2**k, dtype=int)
        for s, c in graphs.coefficients(int(gs.edges[g]), k).items():
            vec[s] = c
        assert np.array_equal(vec, gs.coef[g])
        # cliques minus separators count the connected components
        assert gs.coef[g].sum() >= 1


def test_chordality_tests_agree():
    k = 5
    masks = np.arange(2 ** (k * (k - 1) // 2))
    assert np.array_equal(graphs.chordal_mask(masks, k), [graphs.is_decomposable(int(m), k) for m in masks])
    assert graphs.decompose(graphs.edge_mask_from_pairs([(0, 1), (1, 2), (2, 3), (0, 3)], 4), 4) is None


# ---------------------------------------------------------------------------- exact posterior
@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("korea_palembang_3lists", {}),
        ("artificial_3lists", {"prior_n": "uniform", "delta": 1.0}),
        ("uk_2013_4lists_noGP", {}),
        ("hiv_lazio_1990_4lists", {"delta": 0.5, "grid_multiplier": 8}),
        ("uk_2013_5lists", {}),
        ("us_western_site_5lists", {"prior_n": "uniform"}),
    ],
)
def test_posterior_matches_brute_force_reference(name, kw):
    t = table(name)
    spec = AveragingSpec(**kw)
    res = average_counts(t.lists, t.flat_counts()[0], spec)
    k = t.n_lists
    delta = spec.delta if spec.delta is not None else 2.0**-k
    edges, probs, pmf = reference_posterior(t.flat_counts()[0], k, delta, res.N.size - 1, prior=spec.prior_n)
    assert res.probs.sum() == pytest.approx(1.0, abs=1e-12)
    assert res.pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.max(np.abs(res.pmf - pmf)) < PMF_TOL
    ours = probs_by_edges(res)
    assert set(ours) == set(edges)
    assert max(abs(ours[e] - p) for e, p in zip(edges, probs, strict=True)) < PROB_TOL


def test_six_lists_match_reference_on_a_short_grid():
    """The 18,154-graph path (a different chunk pattern) against the reference, grid 0..1500."""
    t = table("uk_2013_6lists")
    res = average_counts(t.lists, t.flat_counts()[0], AveragingSpec(nmissing_max=1500))
    _, _, pmf = reference_posterior(t.flat_counts()[0], 6, 2.0**-6, 1500)
    assert np.max(np.abs(res.pmf - pmf)) < PMF_TOL


DGA = pd.read_csv(TEST_DATA / "peer_reference" / "dga.csv")


@pytest.mark.parametrize("row", range(10))
def test_reproduces_dga(row):
    """dga 2.0.2 bma.cr with its defaults: quantiles on the grid and the top-5 graph probs."""
    ref = DGA.iloc[row]
    res = exact(ref.file, nmissing_max=int(ref.nmissing_max))
    assert res.delta == ref.delta and res.N[-1] - res.N[0] == ref.nmissing_max
    for level, col in [(0.5, "post_median_N"), (0.025, "q025"), (0.975, "q975"), (0.05, "q05"), (0.95, "q95")]:
        assert pmf_quantile(res.N, res.pmf, level) == ref[col], (col, ref.file)
    assert float(res.N @ res.pmf) == pytest.approx(ref.post_mean_N, abs=1e-5)
    top5 = np.sort(res.probs)[::-1][:5]
    expected = np.array([float(x) for x in ref.top5_model_probs.split(";")])
    np.testing.assert_allclose(top5, expected, atol=DGA_PROB_TOL)


# ---------------------------------------------------------------------------- MC3
@pytest.mark.parametrize(
    ("name", "iterations"),
    [("us_western_site_5lists", 20000), ("uk_2013_6lists", 20000), ("netherlands_2010_2015_6lists", 20000)],
)
def test_mc3_agrees_with_exhaustive_enumeration(name, iterations):
    t = table(name)
    counts = t.flat_counts()[0]
    full = average_counts(t.lists, counts, AveragingSpec(search="exact"))
    mc = average_counts(t.lists, counts, AveragingSpec(search="mc3", mc3_iterations=iterations), seed=7, chains=4)
    assert mc.search == "mc3" and full.search == "exact"
    exact_p = probs_by_edges(full)
    top = np.argsort(-mc.probs)[:5]
    per_chain = mc.mc3.chain_visits / mc.mc3.chain_visits.sum(axis=1, keepdims=True)
    se = per_chain.std(axis=0, ddof=1) / np.sqrt(per_chain.shape[0])
    freq = mc.mc3.visits / mc.mc3.visits.sum()
    for g in top:
        key = frozenset(graphs.edges_of(int(mc.edges[g]), t.n_lists))
        assert mc.probs[g] == pytest.approx(exact_p[key], abs=MC3_MASS_TOL)
        assert abs(freq[g] - exact_p[key]) < 4 * se[g] + 0.01
    # the same top models, in the same order, and nearly the same posterior of N
    assert [frozenset(graphs.edges_of(int(mc.edges[g]), t.n_lists)) for g in top[:3]] == [
        frozenset(graphs.edges_of(int(full.edges[g]), t.n_lists)) for g in np.argsort(-full.probs)[:3]
    ]
    for level in (0.025, 0.5, 0.975):
        a, b = pmf_quantile(mc.N, mc.pmf, level), pmf_quantile(full.N, full.pmf, level)
        assert abs(a - b) <= 0.005 * b


def test_mc3_is_seeded_and_handles_seven_lists():
    rng = np.random.default_rng(3)
    counts = rng.poisson(rng.gamma(0.5, 30.0, size=2**7 - 1))
    lists = [f"L{i}" for i in range(7)]
    spec = AveragingSpec(mc3_iterations=1500, mc3_burn_in=200, grid_multiplier=4)
    a = average_counts(lists, counts, spec, seed=5, chains=2)
    b = average_counts(lists, counts, spec, seed=5, chains=2)
    assert a.search == "mc3" and a.n_graphs > 10
    assert np.array_equal(a.edges, b.edges) and np.array_equal(a.pmf, b.pmf)
    assert a.probs.sum() == pytest.approx(1.0) and a.pmf.sum() == pytest.approx(1.0)
    with pytest.raises(InputError, match="mc3"):
        average_counts(lists, counts, AveragingSpec(search="exact"))
    with pytest.raises(InputError, match="mc3_burn_in"):
        average_counts(lists, counts, AveragingSpec(mc3_iterations=200, mc3_burn_in=500))
    with pytest.raises(InputError, match="at most 11 lists"):
        average_counts([f"L{i}" for i in range(12)], np.ones(2**12 - 1), spec)


# ---------------------------------------------------------------------------- family
def test_spec_file_and_registry():
    spec = load_model_spec(ROOT / "models" / "averaging.toml")
    assert isinstance(spec, AveragingSpec) and spec.family == "averaging"
    assert FAMILIES["averaging"].fit.module == "hiddenvictims.families.averaging"
    with pytest.raises(InputError, match="did you mean 'delta'"):
        parse_model_spec({"family": "averaging", "dleta": 0.1}, "m.toml")
    with pytest.raises(InputError, match="max_lists_exact"):
        parse_model_spec({"family": "averaging", "max_lists_exact": 7}, "m.toml")


def test_fit_returns_exact_summary_and_model_table():
    t = table("uk_2013_4lists_noGP")
    est = fit(t, AveragingSpec(), SamplerSettings(draws=500, chains=2, seed=4))
    res = exact("uk_2013_4lists_noGP")
    row = est.summary().set_index("quantity").loc["N"]
    assert row["median"] == pmf_quantile(res.N, res.pmf, 0.5)
    assert (row["lower"], row["upper"]) == (pmf_quantile(res.N, res.pmf, 0.025), pmf_quantile(res.N, res.pmf, 0.975))
    assert est.posterior["N"].shape == (1, 1000)
    hidden = est.posterior["N_hidden"].values
    assert hidden.min() >= 0 and np.all(hidden == np.round(hidden))
    models = est.idata.averaging_models.sel(stratum="all")
    assert models["probability"].values[0] == pytest.approx(res.probs.max())
    assert str(models["model"].values[0]) == res.top.iloc[0]["model"]
    assert "LA-NG" in est.idata.averaging_edges["edge"].values
    assert any(note.startswith("Top model (") for note in est.notes)
    assert est.warnings() == []
    again = fit(t, AveragingSpec(), SamplerSettings(draws=500, chains=2, seed=4))
    assert np.array_equal(again.posterior["N"].values, est.posterior["N"].values)


def test_a_grid_that_cuts_the_posterior_is_flagged():
    """UK 2013 (4 lists) has about 10,000 hidden victims: a grid stopping at 2,000 cuts the
    posterior, and the estimate says so in a note and in its machine-readable flags."""
    t = table("uk_2013_4lists_noGP")
    full = fit(t, AveragingSpec(), SamplerSettings(draws=200, chains=1, seed=4))
    cut = fit(t, AveragingSpec(nmissing_max=2000), SamplerSettings(draws=200, chains=1, seed=4))
    assert full.flags == () and cut.flags == ("grid_cut",)
    assert any("of the N grid" in note for note in cut.notes)
    assert not any("of the N grid" in note for note in full.notes)


def test_strata_are_fitted_one_by_one_without_inactive_lists():
    base = table("uk_2013_4lists_noGP")
    counts = base.flat_counts()[0]
    k = base.n_lists
    no_go = np.where(base.patterns[:, 3] == 1, 0, counts)  # GO did not operate in stratum "b"
    t = make_table(
        base.lists,
        np.stack([counts, no_go]),
        strata={"year": ["a", "b"]},
        active=np.array([[True] * k, [True, True, True, False]]),
    )
    est = fit(t, AveragingSpec(), SamplerSettings(draws=200, chains=1, seed=2))
    assert est.posterior["N"].dims == ("chain", "draw", "year")
    models = est.idata.averaging_models
    sub = make_table(base.lists, no_go).drop_lists(["GO"])
    alone = average_counts(sub.lists, sub.flat_counts()[0], AveragingSpec())
    assert models["probability"].sel(stratum="b").values[0] == pytest.approx(alone.probs.max(), abs=1e-12)
    assert np.isnan(est.idata.averaging_edges["inclusion_probability"].sel(stratum="b", edge="LA-GO"))
    assert any(note.startswith("Stratum b: Averaged over all 8 decomposable graphs") for note in est.notes)
