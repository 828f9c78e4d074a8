"""Bayesian model averaging over decomposable graphical models (Madigan & York 1997).

The same model as the R package dga (``bma.cr``), with its conventions:

* the full 2**K table (the all-zero cell holding the unknown ``n0 = N - n``) is multinomial given
  N, with a hyper-Dirichlet prior of ``delta`` per cell (default ``2**-K``): a clique or
  separator ``s`` gets ``delta * 2**(K - |s|)`` per cell of its marginal table;
* the log marginal likelihood of a decomposable graph is
  ``sum_C t_C(n0) - sum_S t_S(n0)`` with, for a subset s with marginal counts D (zero cell
  D_0 + n0) and A = delta * 2**K,
  ``t_s(n0) = lgamma(A) - lgamma(N + A) + sum_cells [lgamma(D + alpha_s) - lgamma(alpha_s)]``;
* plus the multinomial coefficient ``lgamma(N + 1) - lgamma(n0 + 1) - sum lgamma(y + 1)``, the
  log prior of N (``-log N`` by default, or flat) and a uniform prior over graphs.

The joint posterior over (graph, n0) on the grid ``n0 = 0 .. nmissing_max`` is normalised as a
whole; graph probabilities are its row sums, the pmf of N its column sums.

Speed. Each graph's log weight is a sum of at most 2K - 1 subset terms, so we compute the
2**K subset terms once and take (graphs x subsets) @ (subsets x grid). A full (graphs x grid)
matrix for 6 lists is 18,154 x 41,161 values, most of them below exp(-1000) of the maximum, so
the grid is cut into chunks of width ~ 2 sqrt(n0) and each (graph, chunk) block is bounded from
above by its values at the chunk ends plus a bound on the curvature (|t''| <= trigamma terms):
``g <= max(g(x0), g(x1)) + sup|g''| (x1 - x0)**2 / 8``. Blocks whose bound lies ``TAU`` below the
largest value seen are dropped, where ``TAU = log(graphs x grid) + 36``: the dropped mass is at
most ``exp(-36)`` (about 2e-16) of the total, a certified truncation, not a heuristic.
Everything else is computed exactly.

For more than ``max_lists_exact`` lists the graphs are searched by MC3 (Madigan & York 1995):
Metropolis over decomposable graphs, proposing to add or remove one edge (a uniformly chosen
vertex pair; a non-chordal result is rejected). Every graph the search scores gets its exact
marginal likelihood, and the reported graph probabilities are renormalised over the scored
graphs; the chains' visit frequencies are kept as a convergence check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import gammaln, logsumexp, polygamma

from .. import graphs
from ..errors import InputError
from ..estimate import Estimate, make_estimate
from ..spec import AveragingSpec, SamplerSettings
from ..summary import summarise_pmf
from ..table import CaptureTable, make_table

#: Extra log-units below the maximum at which (graph, chunk) blocks are dropped (see module doc).
TAU_EXTRA = 36.0
#: Chunk width ~ sqrt(CHUNK_C * n0), at most CHUNK_MAX grid points.
CHUNK_C = 4.0
CHUNK_MAX = 512
#: Warn when more posterior mass than this lies in the top 10% of the N grid.
TAIL_WARN = 1e-3
#: Most lists any search handles (vertex-set masks are int64).
MAX_LISTS = 20


# ---------------------------------------------------------------------------- prior on N
def log_prior_n(name: str, big_n: np.ndarray) -> np.ndarray:
    if name == "one_over_n":
        return -np.log(big_n)
    return np.zeros_like(big_n, dtype=np.float64)


def prior_curvature(name: str, big_n: np.ndarray) -> np.ndarray:
    """Upper bound of |d^2 log prior / dN^2| on [N, inf)."""
    if name == "one_over_n":
        return 1.0 / big_n**2
    return np.zeros_like(big_n, dtype=np.float64)


def default_delta(k: int) -> float:
    return 2.0**-k


# ---------------------------------------------------------------------------- subset terms
@dataclass
class SubsetTerms:
    """The subset terms t_s(n0) and the graph-independent term of one table (see module doc).

    ``full`` holds the 2**K counts in canonical pattern order, index 0 (the unobserved cell) 0.
    Subsets are vertex-set masks (:mod:`hiddenvictims.graphs`); their constants are computed
    on first use and cached, so MC3 on many lists only touches the subsets it visits.
    """

    full: np.ndarray
    k: int
    delta: float
    prior_n: str
    _a: dict[int, float] = field(default_factory=dict)
    _c: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.full = np.asarray(self.full, dtype=np.float64)
        self.n = float(self.full.sum())
        self.total_alpha = self.delta * 2.0**self.k
        nz = np.flatnonzero(self.full)
        self._pat, self._y = nz.astype(np.int64), self.full[nz]
        self.log_y_fact = float(gammaln(self._y + 1.0).sum())

    def _prepare(self, subsets: np.ndarray) -> None:
        todo = np.array([s for s in np.unique(subsets) if int(s) not in self._a], dtype=np.int64)
        if todo.size == 0:
            return
        sizes = np.array([bin(int(s)).count("1") for s in todo])
        alpha = self.delta * 2.0 ** (self.k - sizes)
        cells = self._pat[None, :] & todo[:, None]  # (subsets, observed patterns)
        zero = (cells == 0) * self._y[None, :]
        d0 = zero.sum(axis=1)
        # marginal counts of the non-zero cells: group (subset, cell) pairs
        key = np.repeat(np.arange(todo.size), self._pat.size) * (1 << self.k) + cells.ravel()
        keep = cells.ravel() != 0
        uniq, inv = np.unique(key[keep], return_inverse=True)
        sums = np.bincount(inv, weights=np.tile(self._y, todo.size)[keep])
        owner = uniq >> self.k
        cell_terms = gammaln(sums + alpha[owner]) - gammaln(alpha[owner])
        const = np.bincount(owner, weights=cell_terms, minlength=todo.size)
        const += gammaln(self.total_alpha) - gammaln(alpha)
        for i, s in enumerate(todo):
            self._a[int(s)] = float(d0[i] + alpha[i])
            self._c[int(s)] = float(const[i])

    def params(self, subsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a_s, const_s) with t_s(n0) = const_s + lgamma(n0 + a_s) - lgamma(n + n0 + A)."""
        subsets = np.asarray(subsets, dtype=np.int64)
        self._prepare(subsets)
        a = np.array([self._a[int(s)] for s in subsets])
        c = np.array([self._c[int(s)] for s in subsets])
        return a, c

    def values(self, subsets: np.ndarray, n0: np.ndarray) -> np.ndarray:
        """t_s(n0), shape (len(subsets), len(n0))."""
        a, c = self.params(subsets)
        n0 = np.asarray(n0, dtype=np.float64)
        return c[:, None] + gammaln(n0[None, :] + a[:, None]) - gammaln(self.n + n0 + self.total_alpha)

    def curvature(self, subsets: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Upper bound of |t_s''| on each [lo, hi]: trigamma(lo + a_s) - trigamma(n + hi + A)."""
        a, _ = self.params(subsets)
        lo = np.asarray(lo, dtype=np.float64)
        hi = np.asarray(hi, dtype=np.float64)
        return polygamma(1, lo[None, :] + a[:, None]) - polygamma(1, self.n + hi + self.total_alpha)

    def common(self, n0: np.ndarray) -> np.ndarray:
        """Multinomial coefficient plus log prior of N = n + n0."""
        n0 = np.asarray(n0, dtype=np.float64)
        big_n = self.n + n0
        return gammaln(big_n + 1.0) - gammaln(n0 + 1.0) - self.log_y_fact + log_prior_n(self.prior_n, big_n)

    def common_curvature(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        lo = np.asarray(lo, dtype=np.float64)
        return polygamma(1, lo + 1.0) + prior_curvature(self.prior_n, self.n + lo)


def full_counts(counts: np.ndarray) -> np.ndarray:
    """2**K counts (index 0 = the unobserved cell, set to 0) from the 2**K - 1 observed ones."""
    return np.concatenate([[0.0], np.asarray(counts, dtype=np.float64)])


# ---------------------------------------------------------------------------- averaging core
def chunk_bounds(n_grid: int) -> np.ndarray:
    """Chunk boundaries b_0 = 0 < ... < b_J = n_grid - 1 with widths ~ sqrt(CHUNK_C * b)."""
    bounds = [0]
    while bounds[-1] < n_grid - 1:
        step = int(min(CHUNK_MAX, max(1.0, np.sqrt(CHUNK_C * bounds[-1]))))
        bounds.append(min(n_grid - 1, bounds[-1] + step))
    if len(bounds) == 1:
        bounds.append(0)
    return np.array(bounds, dtype=np.int64)


@dataclass(frozen=True)
class Averaged:
    """Output of :func:`average`: graph probabilities, pmf of n0, and work done."""

    probs: np.ndarray  # (G,)
    pmf: np.ndarray  # (n_grid,) over n0 = 0 .. n_grid - 1
    log_evidence: float  # log sum over graphs and grid (graph prior not included)
    keep: np.ndarray  # (G, J) blocks computed exactly
    bounds: np.ndarray
    cells_evaluated: int


def average(terms: SubsetTerms, subsets: np.ndarray, coef: np.ndarray, n_grid: int) -> Averaged:
    """Average over graphs with coefficients ``coef`` (G x len(subsets)) on n0 = 0..n_grid-1."""
    coef = np.asarray(coef, dtype=np.float64)
    n_graphs = coef.shape[0]
    b = chunk_bounds(n_grid)
    lo, hi = b[:-1], b[1:]
    coarse = coef @ terms.values(subsets, b) + terms.common(b)[None, :]
    ref = float(coarse.max())
    curv = np.abs(coef) @ terms.curvature(subsets, lo, hi) + terms.common_curvature(lo, hi)[None, :]
    bound = np.maximum(coarse[:, :-1], coarse[:, 1:]) + curv * ((hi - lo) ** 2 / 8.0)[None, :]
    tau = np.log(float(n_graphs) * n_grid) + TAU_EXTRA
    keep = bound >= ref - tau
    mass = np.zeros(n_graphs)
    pmf = np.zeros(n_grid)
    cells = 0
    last = len(lo) - 1
    for j in np.flatnonzero(keep.any(axis=0)):
        rows = np.flatnonzero(keep[:, j])
        cols = np.arange(lo[j], hi[j] + 1 if j == last else hi[j])
        sub = coef[rows]
        used = np.flatnonzero(np.any(sub != 0, axis=0))
        block = sub[:, used] @ terms.values(subsets[used], cols) + terms.common(cols)[None, :]
        top = float(block.max())
        if top > ref + 50.0:  # rescale what has been accumulated (never by exp overflow)
            mass *= np.exp(ref - top)
            pmf *= np.exp(ref - top)
            ref = top
        w = np.exp(block - ref)
        mass[rows] += w.sum(axis=1)
        pmf[cols] += w.sum(axis=0)
        cells += block.size
    total = mass.sum()
    return Averaged(
        probs=mass / total,
        pmf=pmf / pmf.sum(),
        log_evidence=float(ref + np.log(total)),
        keep=keep,
        bounds=b,
        cells_evaluated=cells,
    )


def graph_pmf(terms: SubsetTerms, subsets: np.ndarray, coef_row: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Normalised posterior of n0 over ``cols`` for one graph."""
    used = np.flatnonzero(coef_row)
    logw = coef_row[used] @ terms.values(subsets[used], cols) + terms.common(cols)
    w = np.exp(logw - logw.max())
    return w / w.sum()


# ---------------------------------------------------------------------------- MC3
@dataclass
class Mc3Result:
    edges: np.ndarray  # (G,) edge masks of every scored decomposable graph
    log_marginal: np.ndarray  # (G,)
    visits: np.ndarray  # (G,) post-burn-in visits, all chains
    chain_visits: np.ndarray  # (chains, G)
    acceptance: float
    iterations: int
    burn_in: int


def mc3(terms: SubsetTerms, n_grid: int, iterations: int, burn_in: int, chains: int, seed: int) -> Mc3Result:
    """Metropolis over decomposable graphs with exact marginals (graph prior uniform)."""
    k = terms.k
    n_pairs = k * (k - 1) // 2
    n0 = np.arange(n_grid, dtype=np.float64)
    common = terms.common(n0)
    rows: dict[int, np.ndarray] = {}
    scores: dict[int, float | None] = {}

    def score(mask: int) -> float | None:
        if mask in scores:
            return scores[mask]
        coef = graphs.coefficients(mask, k)
        if coef is None:
            scores[mask] = None
            return None
        new = [s for s in coef if s not in rows]
        if new:
            for s, row in zip(new, terms.values(np.array(new, dtype=np.int64), n0), strict=True):
                rows[s] = row
        logw = common.copy()
        for s, c in coef.items():
            logw += c * rows[s]
        scores[mask] = float(logsumexp(logw))
        return scores[mask]

    full = (1 << n_pairs) - 1
    visit_log: list[dict[int, int]] = []
    accepted = 0
    for c in range(chains):
        rng = np.random.default_rng([seed, 0x3C3, c])
        state = 0 if c % 2 == 0 else full
        current = score(state)
        pairs = rng.integers(0, n_pairs, size=iterations)
        logu = np.log(rng.random(size=iterations))
        visits: dict[int, int] = {}
        for it in range(iterations):
            proposal = state ^ (1 << int(pairs[it]))
            value = score(proposal)
            if value is not None and logu[it] < value - current:
                state, current = proposal, value
                accepted += 1
            if it >= burn_in:
                visits[state] = visits.get(state, 0) + 1
        visit_log.append(visits)
    scored = np.array(sorted(m for m, v in scores.items() if v is not None), dtype=np.int64)
    index = {int(m): i for i, m in enumerate(scored)}
    chain_visits = np.zeros((chains, scored.size))
    for c, visits in enumerate(visit_log):
        for m, count in visits.items():
            chain_visits[c, index[m]] = count
    return Mc3Result(
        edges=scored,
        log_marginal=np.array([scores[int(m)] for m in scored]),
        visits=chain_visits.sum(axis=0),
        chain_visits=chain_visits,
        acceptance=accepted / (chains * iterations),
        iterations=iterations,
        burn_in=burn_in,
    )


def coefficient_matrix(edges: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(subsets used, G x subsets coefficients) of decomposable graphs given by edge masks."""
    dicts = [graphs.coefficients(int(m), k) for m in edges]
    subsets = np.array(sorted({s for d in dicts for s in d}), dtype=np.int64)
    col = {int(s): i for i, s in enumerate(subsets)}
    coef = np.zeros((len(dicts), subsets.size))
    for g, d in enumerate(dicts):
        for s, c in d.items():
            coef[g, col[s]] = c
    return subsets, coef


# ---------------------------------------------------------------------------- result
@dataclass(frozen=True)
class AveragingResult:
    """Posterior of one (unstratified) table under model averaging."""

    lists: tuple[str, ...]
    n_observed: int
    delta: float
    prior_n: str
    search: str  # "exact" or "mc3"
    N: np.ndarray  # grid of N
    pmf: np.ndarray  # posterior pmf of N on the grid
    edges: np.ndarray  # (G,) edge masks of the graphs averaged over
    probs: np.ndarray  # (G,) posterior graph probabilities
    top: pd.DataFrame  # top models with their own posterior of N
    cells_evaluated: int
    mc3: Mc3Result | None = None

    @property
    def n_graphs(self) -> int:
        return int(self.edges.size)

    def edge_inclusion(self) -> pd.Series:
        """Posterior probability that each pair of lists is joined (dependent given the rest)."""
        k = len(self.lists)
        names = [f"{self.lists[i]}-{self.lists[j]}" for i, j in graphs.edge_pairs(k)]
        bits = (self.edges[:, None] >> np.arange(len(names))[None, :]) & 1
        return pd.Series(self.probs @ bits, index=names, name="inclusion_probability")

    def tail_mass(self, fraction: float = 0.1) -> float:
        """Posterior mass in the top ``fraction`` of the grid (small: grid wide enough)."""
        cut = self.N[0] + (1.0 - fraction) * (self.N[-1] - self.N[0])
        return float(self.pmf[self.N > cut].sum())

    def summary(self) -> dict[str, float]:
        return summarise_pmf(self.N, self.pmf)


def _top_table(
    terms: SubsetTerms, subsets: np.ndarray, coef: np.ndarray, avg: Averaged, edges: np.ndarray,
    lists: tuple[str, ...], n_top: int, visits: np.ndarray | None,
) -> pd.DataFrame:
    order = np.argsort(-avg.probs, kind="stable")[:n_top]
    order = order[avg.probs[order] > 0]  # graphs dropped whole by the bound have no posterior
    n_obs = terms.n
    last = avg.keep.shape[1] - 1
    rows = []
    for rank, g in enumerate(order, start=1):
        chunks = np.flatnonzero(avg.keep[g])
        cols = np.concatenate([
            np.arange(avg.bounds[j], avg.bounds[j + 1] + 1 if j == last else avg.bounds[j + 1])
            for j in chunks
        ])
        own = graph_pmf(terms, subsets, coef[g], cols)
        stats = summarise_pmf(n_obs + cols, own)
        row = {
            "rank": rank,
            "model": graphs.describe_edges(int(edges[g]), lists),
            "probability": float(avg.probs[g]),
            "N_median": stats["median"],
            "N_lower": stats["lower"],
            "N_upper": stats["upper"],
        }
        if visits is not None:
            row["visit_frequency"] = float(visits[g] / visits.sum()) if visits.sum() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def resolve_grid(spec: AveragingSpec, n_obs: int) -> int:
    """nmissing_max: the largest n0 on the grid."""
    return spec.nmissing_max if spec.nmissing_max is not None else (spec.grid_multiplier - 1) * n_obs


def average_counts(
    lists: tuple[str, ...] | list[str], counts: np.ndarray, spec: AveragingSpec, seed: int = 0, chains: int = 4
) -> AveragingResult:
    """Model-averaged posterior of N for one table (counts in canonical order, 2**K - 1)."""
    lists = tuple(lists)
    k = len(lists)
    if k > MAX_LISTS:
        raise InputError(f"model averaging handles at most {MAX_LISTS} lists, got {k}")
    delta = spec.delta if spec.delta is not None else default_delta(k)
    terms = SubsetTerms(full_counts(counts), k, delta, spec.prior_n)
    n_obs = int(round(terms.n))
    n_grid = resolve_grid(spec, n_obs) + 1
    search = spec.search
    if search == "auto":
        search = "exact" if k <= spec.max_lists_exact else "mc3"
    if search == "exact" and k > graphs.MAX_ENUMERATE:
        raise InputError(
            f"exact model averaging enumerates graphs for at most {graphs.MAX_ENUMERATE} lists "
            f"({k} given): use search = 'mc3'"
        )
    result_mc3 = None
    if search == "exact":
        gs = graphs.decomposable_graphs(k)
        subsets = np.arange(1, 2**k, dtype=np.int64)
        coef = gs.coef[:, 1:].astype(np.float64)
        edges = np.asarray(gs.edges)
    else:
        result_mc3 = mc3(terms, n_grid, spec.mc3_iterations, spec.mc3_burn_in, chains, seed)
        edges = result_mc3.edges
        subsets, coef = coefficient_matrix(edges, k)
    avg = average(terms, subsets, coef, n_grid)
    visits = result_mc3.visits if result_mc3 is not None else None
    top = _top_table(terms, subsets, coef, avg, edges, lists, spec.top_models, visits)
    return AveragingResult(
        lists=lists,
        n_observed=n_obs,
        delta=delta,
        prior_n=spec.prior_n,
        search=search,
        N=n_obs + np.arange(n_grid, dtype=np.int64),
        pmf=avg.pmf,
        edges=edges,
        probs=avg.probs,
        top=top,
        cells_evaluated=avg.cells_evaluated,
        mc3=result_mc3,
    )
