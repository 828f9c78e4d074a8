"""Bayesian model averaging over decomposable graphical models (Madigan & York 1997).

The model of the R package dga (``bma.cr``), with its conventions:

* given N, the full 2**K table (its all-zero cell holds the unknown ``n0 = N - n``) is
  multinomial, with a hyper-Dirichlet prior of ``delta`` per cell (default ``2**-K``): a clique
  or separator ``s`` gets ``alpha_s = delta * 2**(K - |s|)`` per cell of its marginal table;
* a decomposable graph's log marginal likelihood is ``sum_C t_C(n0) - sum_S t_S(n0)`` over its
  cliques and separators, where for a subset s with marginal counts D (zero cell D_0 + n0) and
  ``A = delta * 2**K``: ``t_s(n0) = lgamma(A) - lgamma(N + A) + sum_cells [lgamma(D + alpha_s)
  - lgamma(alpha_s)]``;
* plus the multinomial coefficient ``lgamma(N + 1) - lgamma(n0 + 1) - sum lgamma(y + 1)``, the
  log prior of N (``-log N``, dga's default, or flat) and a uniform prior over graphs.

The joint posterior over (graph, n0) on the grid ``n0 = 0 .. nmissing_max`` is normalised as a
whole; graph probabilities are its row sums and the pmf of N its column sums.

Speed. Each graph's log weight is a sum of at most 2K - 1 subset terms, so the subset terms are
computed once and the graphs' weights are (graphs x subsets) @ (subsets x grid). Most of the
(graphs x grid) matrix is negligible (6 lists: 18,154 x 41,161 values, of which the UK 2013
table needs a fifth), so the grid is cut into chunks of width ~ 2 sqrt(n0) and each
(graph, chunk) block is bounded above by its values at the chunk ends plus a curvature term,
``g <= max(g(x0), g(x1)) + sup|g''| (x1 - x0)**2 / 8``, with ``|t_s''|`` bounded by trigamma
values. Blocks are dropped in order of their bounds while the dropped bound mass stays below
``PRUNE_EPS`` (1e-12) of the total: a certified truncation, not a heuristic (a graph all of whose
blocks are dropped gets probability 0; its true probability is below 1e-12). Every other cell
is computed exactly (one-step log ratios summed from an lgamma value at most CHUNK_MAX cells
back).

Beyond ``max_lists_exact`` lists the graphs are searched by MC3 (Madigan & York 1995):
Metropolis over decomposable graphs, proposing to add or remove one edge (a uniformly chosen pair
of lists; a non-chordal proposal is rejected, which keeps the proposal symmetric). Every graph
the search scores gets its exact marginal likelihood; graph probabilities are renormalised over
the scored graphs, and the chains' visit frequencies are kept as a convergence check.

Strata are fitted one by one (independent populations, as dga is used per stratum); lists that
did not operate in a stratum are dropped there. ``fit`` returns an Estimate whose ``pmf_N`` is
the exact posterior (unstratified tables) and whose InferenceData has three more groups:
``averaging_models`` (top models, their probabilities and own posterior of N),
``averaging_edges`` (posterior inclusion probability of each pair of lists) and
``averaging_pmf`` (the pmf of N on the grid), all with a ``stratum`` dim ("all" when
unstratified).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import gammaln, logsumexp, polygamma
from threadpoolctl import ThreadpoolController

from ..core import graphs
from ..core.constants import INTERVAL_PERCENT, LIST_DIM, STRATUM_DIM
from ..core.errors import InputError
from ..core.estimate import Estimate, make_estimate
from ..core.spec import AveragingSpec, SamplerSettings
from ..core.summary import summarise_pmf
from ..core.table import CaptureTable, make_table

#: Largest share of the posterior mass that dropped (graph, chunk) blocks may hold (certified).
PRUNE_EPS = 1e-12
#: Chunk width ~ sqrt(CHUNK_C * n0), at most CHUNK_MAX grid points.
CHUNK_C = 4.0
CHUNK_MAX = 512
#: Cells per block of exact work (rows x chunk width), sized to stay in cache.
BLOCK_CELLS = 1 << 16
#: Warn when more posterior mass than this lies in the top 10% of the N grid.
TAIL_WARN = 1e-3
#: Most lists any search handles (a graph's edge set is an int64 bit mask).
MAX_LISTS = graphs.MAX_LISTS
#: Number of models named in the notes.
NOTE_MODELS = 5


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
    """Subset terms t_s(n0) and the graph-independent term of one table (see module doc).

    ``full`` holds the 2**K counts in canonical pattern order with index 0 (the unobserved cell)
    zero. Subsets are vertex-set masks (:mod:`hiddenvictims.core.graphs`), which share their code with
    capture patterns. ``t_s(n0) = c_s + lgamma(n0 + a_s) - lgamma(n + n0 + A)``; the constants
    are computed on first use and cached, so MC3 on many lists only touches subsets it visits.
    """

    full: np.ndarray
    k: int
    delta: float
    prior_n: str
    _a: dict[int, float] = field(default_factory=dict, repr=False)
    _c: dict[int, float] = field(default_factory=dict, repr=False)

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
        cells = self._pat[None, :] & todo[:, None]  # marginal cell of each observed pattern
        d0 = ((cells == 0) * self._y[None, :]).sum(axis=1)
        key = np.repeat(np.arange(todo.size), self._pat.size) * (1 << self.k) + cells.ravel()
        nonzero = cells.ravel() != 0
        uniq, inv = np.unique(key[nonzero], return_inverse=True)
        sums = np.bincount(inv, weights=np.tile(self._y, todo.size)[nonzero])
        owner = uniq >> self.k
        cell_terms = gammaln(sums + alpha[owner]) - gammaln(alpha[owner])
        const = np.bincount(owner, weights=cell_terms, minlength=todo.size)
        const += gammaln(self.total_alpha) - gammaln(alpha)
        for i, s in enumerate(todo):
            self._a[int(s)] = float(d0[i] + alpha[i])
            self._c[int(s)] = float(const[i])

    def params(self, subsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a_s, c_s) of each subset."""
        subsets = np.asarray(subsets, dtype=np.int64)
        self._prepare(subsets)
        return (
            np.array([self._a[int(s)] for s in subsets]),
            np.array([self._c[int(s)] for s in subsets]),
        )

    def values(self, a: np.ndarray, c: np.ndarray, n0: np.ndarray) -> np.ndarray:
        """t_s(n0) by lgamma, shape (len(a), len(n0)); for scattered points."""
        n0 = np.asarray(n0, dtype=np.float64)
        big = gammaln(self.n + n0 + self.total_alpha)
        return c[:, None] + gammaln(n0[None, :] + a[:, None]) - big[None, :]

    def values_cols(self, a: np.ndarray, c: np.ndarray, start: int, stop: int) -> np.ndarray:
        """t_s(n0) for n0 = start .. stop - 1, shape (stop - start, len(a)): lgamma every
        CHUNK_MAX points, the exact one-step log ratios ``log((n0 + a_s) / (n + n0 + A))``
        summed in between."""
        big_a = self.n + self.total_alpha
        return _segmented_run(
            start,
            stop,
            lambda x: c[None, :] + gammaln(x[:, None] + a[None, :]) - gammaln(big_a + x)[:, None],
            lambda x: np.log((x[:, None] + a[None, :]) / (big_a + x)[:, None]),
        )

    def values_run(self, a: np.ndarray, c: np.ndarray, start: int, stop: int) -> np.ndarray:
        """``values_cols`` transposed: shape (len(a), stop - start)."""
        return np.ascontiguousarray(self.values_cols(a, c, start, stop).T)

    def curvature(self, a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Bound of |t_s''| = t_s'' on [lo, hi]: trigamma(lo + a_s) - trigamma(n + hi + A)."""
        lo = np.asarray(lo, dtype=np.float64)
        hi = np.asarray(hi, dtype=np.float64)
        return polygamma(1, lo[None, :] + a[:, None]) - polygamma(1, self.n + hi + self.total_alpha)

    def common(self, n0: np.ndarray) -> np.ndarray:
        """Multinomial coefficient plus log prior of N = n + n0 (lgamma; scattered points)."""
        n0 = np.asarray(n0, dtype=np.float64)
        big_n = self.n + n0
        multinomial = gammaln(big_n + 1.0) - gammaln(n0 + 1.0) - self.log_y_fact
        return multinomial + log_prior_n(self.prior_n, big_n)

    def common_run(self, start: int, stop: int) -> np.ndarray:
        """``common`` on n0 = start .. stop - 1 by summed one-step log ratios."""

        def step(x: np.ndarray) -> np.ndarray:
            big_n = self.n + x
            ratio = (big_n + 1.0) / (x + 1.0)
            if self.prior_n == "one_over_n":
                ratio *= big_n / (big_n + 1.0)
            return np.log(ratio)[:, None]

        return _segmented_run(start, stop, lambda x: self.common(x)[:, None], step)[:, 0]

    def common_curvature(self, lo: np.ndarray) -> np.ndarray:
        lo = np.asarray(lo, dtype=np.float64)
        return polygamma(1, lo + 1.0) + prior_curvature(self.prior_n, self.n + lo)


def _segmented_run(start: int, stop: int, first, log_step) -> np.ndarray:
    """f(n0) for n0 = start .. stop - 1 as (points, m): ``first(x)`` (exact) at the start of
    every CHUNK_MAX-long segment, then f(x + 1) = f(x) + ``log_step(x)`` summed within it, so
    rounding never accumulates over more than CHUNK_MAX steps."""
    seg = CHUNK_MAX
    n_pts = stop - start
    n_seg = -(-n_pts // seg)
    x = np.arange(start, start + n_seg * seg, dtype=np.float64)
    steps = log_step(x)
    out = np.empty((n_seg, seg, steps.shape[1]))
    out[:, 0] = first(x[::seg])
    if seg > 1:
        np.cumsum(steps.reshape(n_seg, seg, -1)[:, :-1], axis=1, out=out[:, 1:])
        out[:, 1:] += out[:, :1]
    return out.reshape(n_seg * seg, -1)[:n_pts]


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


def prune_threshold(excess: np.ndarray, widths: np.ndarray, eps: float | None = None) -> float:
    """Smallest integer tau such that the blocks whose bound lies more than tau below an attained
    value (so the total mass is at least 1) hold at most ``eps`` of the mass together."""
    depth = np.floor(np.clip(-excess, 0.0, 1000.0)).astype(np.int64)
    upper = widths * np.exp(np.clip(excess, -1000.0, 0.0))  # depth 0 blocks are always kept
    per_depth = np.bincount(depth.ravel(), weights=upper.ravel(), minlength=1001)
    tail = np.cumsum(per_depth[::-1])[::-1]  # tail[d]: bound mass of all blocks at depth >= d
    ok = np.flatnonzero(tail <= (PRUNE_EPS if eps is None else eps))
    return float(ok[0]) if ok.size else float("inf")


@dataclass(frozen=True)
class Averaged:
    """Output of :func:`average`."""

    probs: np.ndarray  # (G,) posterior graph probabilities
    pmf: np.ndarray  # (n_grid,) posterior of n0 = 0 .. n_grid - 1
    log_evidence: float  # log of the total mass (uniform graph prior not included)
    own: dict[int, np.ndarray]  # graph -> its own normalised posterior of n0 (top graphs)
    cells_evaluated: int


def average(terms: SubsetTerms, subsets: np.ndarray, coef: np.ndarray, n_grid: int, n_own: int = 10) -> Averaged:
    """Average over graphs with coefficients ``coef`` (G x len(subsets)) on n0 = 0..n_grid-1.

    ``own`` also returns each of the ``n_own`` most probable graphs' own posterior of n0.
    """
    # Many small products: a multi-threaded BLAS runs them ~20x slower than one thread.
    with _threadpools().limit(limits=1, user_api="blas"):
        return _average(terms, np.asarray(subsets, dtype=np.int64), coef, n_grid, n_own)


@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    """Scanning the loaded libraries takes ~40 ms in a full process: do it once."""
    return ThreadpoolController()


def _average(terms: SubsetTerms, subsets: np.ndarray, coef: np.ndarray, n_grid: int, n_own: int) -> Averaged:
    coef = np.ascontiguousarray(coef, dtype=np.float64)
    n_graphs = coef.shape[0]
    a, c = terms.params(subsets)
    b = chunk_bounds(n_grid)
    lo, hi = b[:-1], b[1:]
    stop = hi.copy()
    stop[-1] += 1  # chunk j holds n0 in [lo_j, stop_j); its bound covers [lo_j, hi_j]
    widths = (stop - lo).astype(np.float64)
    coarse = coef @ terms.values(a, c, b) + terms.common(b)[None, :]
    ref = float(coarse.max())
    curv = np.abs(coef) @ terms.curvature(a, lo, hi) + terms.common_curvature(lo)[None, :]
    slack = curv * ((hi - lo) ** 2 / 8.0)[None, :]
    excess = np.maximum(coarse[:, :-1], coarse[:, 1:]) + slack - ref
    keep = excess >= -prune_threshold(excess, widths[None, :])
    # graphs whose own posterior of n0 is kept: the likeliest by the coarse values, with margin
    candidates = np.argsort(-coarse.max(axis=1), kind="stable")[: min(n_graphs, 3 * n_own + 10)]
    slot = np.full(n_graphs, -1)
    slot[candidates] = np.arange(candidates.size)
    own = np.zeros((candidates.size, n_grid))
    mass = np.zeros(n_graphs)
    pmf = np.zeros(n_grid)
    cells = 0
    chunks = np.flatnonzero(keep.any(axis=0))
    first, last = int(lo[chunks[0]]), int(stop[chunks[-1]])
    # t_s and the common term (minus ref) on the span of the kept chunks: one column each
    span = np.empty((last - first, a.size + 1))
    span[:, :-1] = terms.values_cols(a, c, first, last)
    span[:, -1] = terms.common_run(first, last) - ref
    coef1 = np.hstack([coef, np.ones((n_graphs, 1))])
    shift = 0.0  # how far ref has moved since span was filled (only after a rescale)
    for j in chunks:
        rows = np.flatnonzero(keep[:, j])
        values = span[lo[j] - first : stop[j] - first].T
        batch = max(1, BLOCK_CELLS // values.shape[1])
        for r0 in range(0, rows.size, batch):
            sel = rows[r0 : r0 + batch]
            block = coef1[sel] @ values  # log weights minus the reference
            if shift:
                block -= shift
            if excess[sel, j].max() - shift > 600.0:  # the bound cannot rule out overflow
                top = float(block.max())
                if top > 50.0:  # rescale what was accumulated rather than overflow exp
                    scale = np.exp(-top)
                    mass *= scale
                    pmf *= scale
                    own *= scale
                    block -= top
                    shift += top
            np.exp(block, out=block)
            mass[sel] += block.sum(axis=1)
            pmf[lo[j] : stop[j]] += block.sum(axis=0)
            mine = slot[sel]
            if (mine >= 0).any():
                own[mine[mine >= 0], lo[j] : stop[j]] += block[mine >= 0]
            cells += block.size
    ref += shift
    total = mass.sum()
    probs = mass / total
    own_pmfs = {}
    for g in np.argsort(-probs, kind="stable")[:n_own]:
        if probs[g] <= 0:
            break
        if slot[g] >= 0:
            own_pmfs[int(g)] = own[slot[g]] / own[slot[g]].sum()
        else:  # not foreseen by the coarse ranking: compute it (rare)
            own_pmfs[int(g)] = graph_pmf(terms, subsets, coef[g], n_grid)
    return Averaged(
        probs=probs,
        pmf=pmf / pmf.sum(),
        log_evidence=float(ref + np.log(total)),
        own=own_pmfs,
        cells_evaluated=cells,
    )


def graph_pmf(terms: SubsetTerms, subsets: np.ndarray, coef_row: np.ndarray, n_grid: int) -> np.ndarray:
    """Posterior of n0 = 0 .. n_grid - 1 given one graph."""
    used = np.flatnonzero(coef_row)
    a, c = terms.params(subsets[used])
    logw = coef_row[used] @ terms.values_run(a, c, 0, n_grid) + terms.common_run(0, n_grid)
    w = np.exp(logw - logw.max())
    return w / w.sum()


# ---------------------------------------------------------------------------- MC3
@dataclass(frozen=True)
class Mc3Result:
    """What the search saw: every scored graph, its exact log marginal, and visit counts."""

    edges: np.ndarray  # (G,) edge masks of the scored decomposable graphs
    log_marginal: np.ndarray  # (G,) log sum over the grid of the graph's weights
    chain_visits: np.ndarray  # (chains, G) visits after burn-in
    acceptance: float
    iterations: int
    burn_in: int

    @property
    def visits(self) -> np.ndarray:
        return self.chain_visits.sum(axis=0)


def mc3(terms: SubsetTerms, n_grid: int, iterations: int, burn_in: int, chains: int, seed: int) -> Mc3Result:
    """Metropolis over decomposable graphs on ``terms.k`` lists (uniform graph prior).

    Chain c starts from the empty graph (c even) or the complete graph (c odd) and draws its
    proposals from ``numpy.random.default_rng([seed, 0x3C3, c])``.
    """
    k = terms.k
    n_pairs = k * (k - 1) // 2
    common = terms.common_run(0, n_grid)
    rows: dict[int, np.ndarray] = {}
    scores: dict[int, float | None] = {}

    def score(mask: int) -> float | None:
        if mask not in scores:
            coef = graphs.coefficients(mask, k)
            if coef is None:
                scores[mask] = None
                return None
            new = np.array([s for s in coef if s not in rows], dtype=np.int64)
            if new.size:
                a, c = terms.params(new)
                for s, row in zip(new, terms.values_run(a, c, 0, n_grid), strict=True):
                    rows[int(s)] = row
            logw = common.copy()
            for s, value in coef.items():
                logw += value * rows[s]
            scores[mask] = float(logsumexp(logw))
        return scores[mask]

    visit_log: list[dict[int, int]] = []
    accepted = 0
    for chain in range(chains):
        rng = np.random.default_rng([seed, 0x3C3, chain])
        state = 0 if chain % 2 == 0 else (1 << n_pairs) - 1
        current = score(state)
        pairs = rng.integers(0, n_pairs, size=iterations)
        log_u = np.log(rng.random(size=iterations))
        visits: dict[int, int] = {}
        for it in range(iterations):
            proposal = state ^ (1 << int(pairs[it]))
            value = score(proposal)
            if value is not None and log_u[it] < value - current:
                state, current = proposal, value
                accepted += 1
            if it >= burn_in:
                visits[state] = visits.get(state, 0) + 1
        visit_log.append(visits)
    scored = np.array(sorted(m for m, v in scores.items() if v is not None), dtype=np.int64)
    index = {int(m): i for i, m in enumerate(scored)}
    chain_visits = np.zeros((chains, scored.size))
    for chain, visits in enumerate(visit_log):
        for m, count in visits.items():
            chain_visits[chain, index[m]] = count
    return Mc3Result(
        edges=scored,
        log_marginal=np.array([scores[int(m)] for m in scored]),
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
        for s, value in d.items():
            coef[g, col[s]] = value
    return subsets, coef


# ---------------------------------------------------------------------------- one table
@dataclass(frozen=True)
class AveragingResult:
    """Posterior of one unstratified table under model averaging."""

    lists: tuple[str, ...]
    n_observed: int
    delta: float
    prior_n: str
    search: str  # "exact" or "mc3"
    N: np.ndarray  # grid of N
    pmf: np.ndarray  # posterior pmf of N on the grid
    edges: np.ndarray  # (G,) edge masks of the graphs averaged over
    probs: np.ndarray  # (G,) posterior graph probabilities
    top: pd.DataFrame  # the most probable models, each with its own posterior of N
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
        """Posterior mass in the top ``fraction`` of the grid (small: the grid is wide enough)."""
        cut = self.N[0] + (1.0 - fraction) * (self.N[-1] - self.N[0])
        return float(self.pmf[self.N > cut].sum())

    def summary(self) -> dict[str, float]:
        """Median, mean, sd and the INTERVAL_PROB interval of N (exact, from the pmf)."""
        return summarise_pmf(self.N, self.pmf)


def _top_table(
    avg: Averaged, edges: np.ndarray, lists: tuple[str, ...], n_obs: int, visits: np.ndarray | None
) -> pd.DataFrame:
    rows = []
    for rank, (g, own) in enumerate(avg.own.items(), start=1):
        stats = summarise_pmf(n_obs + np.arange(own.size), own)
        row = {
            "rank": rank,
            "model": graphs.describe_edges(int(edges[g]), lists),
            "probability": float(avg.probs[g]),
            "N_median": stats["median"],
            "N_lower": stats["lower"],
            "N_upper": stats["upper"],
        }
        if visits is not None:
            row["visit_frequency"] = float(visits[g] / max(visits.sum(), 1.0))
        rows.append(row)
    return pd.DataFrame(rows)


def resolve_grid(spec: AveragingSpec, n_obs: int) -> int:
    """nmissing_max, the largest n0 on the grid."""
    if spec.nmissing_max is not None:
        return spec.nmissing_max
    return (spec.grid_multiplier - 1) * n_obs


#: Bytes per grid point and per column of subset terms (t_s on the kept span, the graphs' own
#: pmfs, the work arrays), a bound: 6 lists (64 columns plus 40 kept graphs) on 176,306
#: observed people (2.6 million grid points) peaked at 2.0 kB per grid point, this gives 3.3 kB.
BYTES_PER_CELL = 32


def memory_estimate(k: int, n_grid: int, spec: AveragingSpec) -> int:
    """Upper estimate of the peak memory (bytes) of averaging over ``k`` lists on ``n_grid``
    values of n0: the subset columns (all 2**K for exact search, at most 64 + 32 K for the
    graphs MC3 visits) plus the graphs whose own pmf is kept, each a float64 grid column,
    times the work arrays."""
    columns = 2**k if k <= spec.max_lists_exact and spec.search != "mc3" else min(2**k, 64 + 32 * k)
    return BYTES_PER_CELL * n_grid * (columns + 3 * spec.top_models + 10)


def available_memory() -> int | None:
    """Bytes the kernel says can still be allocated without swapping (Linux), else None."""
    try:
        with Path("/proc/meminfo").open() as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_memory(k: int, n_grid: int, spec: AveragingSpec) -> None:
    """Refuse, before any work, an averaging run that would not fit in this machine's memory
    (rather than be killed by the kernel an hour in)."""
    need, have = memory_estimate(k, n_grid, spec), available_memory()
    if have is not None and need > 0.8 * have:
        raise InputError(
            f"model averaging over {k} lists on a grid of {n_grid:,} values of N needs about "
            f"{need / 2**30:.1f} GiB, more than the {have / 2**30:.1f} GiB of memory available: "
            "lower grid_multiplier or set nmissing_max, or use the loglinear family"
        )


def average_counts(
    lists: tuple[str, ...] | list[str],
    counts: np.ndarray,
    spec: AveragingSpec,
    seed: int = 0,
    chains: int = 4,
) -> AveragingResult:
    """Model-averaged posterior of N for one table (counts of the 2**K - 1 observable patterns
    in canonical order). ``seed`` and ``chains`` are used by the MC3 search only."""
    lists = tuple(lists)
    k = len(lists)
    if k > MAX_LISTS:
        raise InputError(f"model averaging handles at most {MAX_LISTS} lists, got {k}")
    delta = spec.delta if spec.delta is not None else default_delta(k)
    n_grid = resolve_grid(spec, int(np.asarray(counts).sum())) + 1
    check_memory(k, n_grid, spec)
    terms = SubsetTerms(full_counts(counts), k, delta, spec.prior_n)
    n_obs = int(round(terms.n))
    search = spec.search
    if search == "auto":
        search = "exact" if k <= spec.max_lists_exact else "mc3"
    if search == "mc3" and spec.mc3_burn_in >= spec.mc3_iterations:
        raise InputError(
            f"mc3_burn_in ({spec.mc3_burn_in}) must be smaller than mc3_iterations ({spec.mc3_iterations})"
        )
    if search == "exact" and k > graphs.MAX_ENUMERATE:
        raise InputError(
            f"exact model averaging enumerates graphs for at most {graphs.MAX_ENUMERATE} lists "
            f"({k} given): use search = 'mc3'"
        )
    found = None
    if search == "exact":
        gs = graphs.decomposable_graphs(k)
        subsets = np.arange(1, 2**k, dtype=np.int64)
        coef = gs.coef[:, 1:]
        edges = np.asarray(gs.edges)
    else:
        found = mc3(terms, n_grid, spec.mc3_iterations, spec.mc3_burn_in, chains, seed)
        edges = found.edges
        subsets, coef = coefficient_matrix(edges, k)
    avg = average(terms, subsets, coef, n_grid, n_own=spec.top_models)
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
        top=_top_table(avg, edges, lists, n_obs, found.visits if found is not None else None),
        cells_evaluated=avg.cells_evaluated,
        mc3=found,
    )


# ---------------------------------------------------------------------------- notes
def _pct(p: float) -> str:
    return f"{100 * p:.0f}%" if p >= 0.01 else f"{100 * p:.2g}%"


def grid_cut(res) -> bool:
    """True when more than TAIL_WARN of the posterior lies in the top 10% of the N grid."""
    return res.tail_mass() > TAIL_WARN


def describe(res: AveragingResult) -> list[str]:
    """Plain-language account of one averaging result."""
    prior = "proportional to 1/N" if res.prior_n == "one_over_n" else "flat"
    how = (
        f"all {res.n_graphs:,} decomposable graphs (exact enumeration)"
        if res.search == "exact"
        else f"the {res.n_graphs:,} decomposable graphs scored by the MC3 search"
    )
    notes = [
        f"Averaged over {how} on {len(res.lists)} lists; hyper-Dirichlet delta = {res.delta:g} per "
        f"cell, prior on N {prior} over N = {res.N[0]:,}..{res.N[-1]:,}, uniform prior over graphs."
    ]
    top = res.top.head(NOTE_MODELS)
    if len(top):
        first = top.iloc[0]
        parts = [f"Top model ({_pct(first['probability'])}): {first['model']}"]
        parts += [f"next ({_pct(r.probability)}): {r.model}" for r in top.iloc[1:3].itertuples()]
        held = _pct(top["probability"].sum())
        notes.append("; ".join(parts) + f". The top {len(top)} hold {held}.")
        notes.append(
            f"Spread across models: the top {len(top)} models' own posterior medians of N run from "
            f"{top['N_median'].min():,.0f} to {top['N_median'].max():,.0f} ({INTERVAL_PERCENT}% intervals from "
            f"{top['N_lower'].min():,.0f} to {top['N_upper'].max():,.0f})."
        )
    incl = res.edge_inclusion().sort_values(ascending=False)
    strong = [f"{name} ({p:.2f})" for name, p in incl.items() if p >= 0.5]
    notes.append(
        "Pairs of lists dependent with posterior probability >= 0.5: " + (", ".join(strong) if strong else "none") + "."
    )
    tail = res.tail_mass()
    if grid_cut(res):
        notes.append(
            f"{_pct(tail)} of the posterior lies in the top 10% of the N grid: the grid cuts the "
            "upper tail, so the answer depends on where it stops (raise grid_multiplier to see "
            "how much)."
        )
    if res.mc3 is not None:
        m = res.mc3
        freq = m.visits / max(m.visits.sum(), 1)
        gap = float(np.abs(freq - res.probs).max()) if res.n_graphs else 0.0
        notes.append(
            f"MC3 search: {m.chain_visits.shape[0]} chains x {m.iterations:,} steps "
            f"({m.burn_in:,} burn-in), acceptance {_pct(m.acceptance)}; probabilities are "
            f"renormalised over the scored graphs; visit frequencies differ from them by at most "
            f"{gap:.3f} (large: run longer)."
        )
    return notes


# ---------------------------------------------------------------------------- fit
def _stratum_tables(table: CaptureTable) -> list[tuple[str, CaptureTable]]:
    """One unstratified table per stratum, without the lists inactive there."""
    if not table.is_stratified:
        return [("all", table)]
    counts = table.flat_counts()
    active = table.active.transpose(*table.strata, LIST_DIM).values.reshape(-1, table.n_lists)
    out = []
    for s, label in enumerate(table.stratum_labels()):
        source = f"{table.source} [stratum {label}]"
        try:
            sub = make_table(table.lists, counts[s], active=active[s], source=source)
            off = [name for name, on in zip(table.lists, active[s], strict=True) if not on]
            out.append((label, sub.drop_lists(off) if off else sub))
        except InputError as exc:
            raise InputError(f"{exc} (model averaging fits each stratum on its own)") from None
    return out


def _groups(labels: list[str], results: list[AveragingResult], lists: tuple[str, ...]) -> dict[str, xr.Dataset]:
    """InferenceData groups: top models, edge inclusion and the pmf of N, per stratum."""
    n_top = max((len(r.top) for r in results), default=0)
    ranks = np.arange(1, n_top + 1)
    models = {
        "model": np.full((len(results), n_top), "", dtype=object),
        **{col: np.full((len(results), n_top), np.nan) for col in ("probability", "N_median", "N_lower", "N_upper")},
    }
    pairs = [f"{lists[i]}-{lists[j]}" for i, j in graphs.edge_pairs(len(lists))]
    inclusion = np.full((len(results), len(pairs)), np.nan)
    width = max(r.N.size for r in results)
    grid_n = np.full((len(results), width), np.nan)
    pmf = np.zeros((len(results), width))
    for s, res in enumerate(results):
        for col in models:
            models[col][s, : len(res.top)] = res.top[col].to_numpy()
        for name, p in res.edge_inclusion().items():
            inclusion[s, pairs.index(name)] = p
        grid_n[s, : res.N.size] = res.N
        pmf[s, : res.N.size] = res.pmf
    models["model"] = models["model"].astype(str)
    dims = (STRATUM_DIM, "rank")
    coords = {STRATUM_DIM: labels}
    return {
        "averaging_models": xr.Dataset({k: (dims, v) for k, v in models.items()}, coords={**coords, "rank": ranks}),
        "averaging_edges": xr.Dataset(
            {"inclusion_probability": ((STRATUM_DIM, "edge"), inclusion)},
            coords={**coords, "edge": pairs},
        ),
        "averaging_pmf": xr.Dataset(
            {"N": ((STRATUM_DIM, "grid_index"), grid_n), "pmf": ((STRATUM_DIM, "grid_index"), pmf)},
            coords=coords,
        ),
    }


def _record(res: AveragingResult) -> dict[str, Any]:
    top = res.top.iloc[0] if len(res.top) else None
    return {
        "search": res.search,
        "n_graphs": res.n_graphs,
        "delta": res.delta,
        "prior_n": res.prior_n,
        "grid": [int(res.N[0]), int(res.N[-1])],
        "top_model": None if top is None else top["model"],
        "top_probability": None if top is None else float(top["probability"]),
        "tail_mass_top10pct_grid": res.tail_mass(),
    }


def fit(table: CaptureTable, spec: AveragingSpec, sampler: SamplerSettings) -> Estimate:
    """Exact (or MC3) Bayesian model averaging over decomposable graphs, stratum by stratum.

    The posterior of N is exact on the grid (``Estimate.pmf_N`` for an unstratified table);
    ``sampler.draws * sampler.chains`` iid draws from it fill ``N`` in the InferenceData so that
    stratum totals and downstream code work as for every family. ``sampler.seed`` seeds the
    draws and the MC3 search; ``sampler.chains`` is the number of MC3 chains.
    """
    parts = _stratum_tables(table)
    results = [
        average_counts(sub.lists, sub.flat_counts()[0], spec, seed=sampler.seed, chains=sampler.chains)
        for _, sub in parts
    ]
    labels = [label for label, _ in parts]
    n_draws = sampler.draws * sampler.chains
    rng = np.random.default_rng([sampler.seed, 0xA7E])
    hidden = np.stack([rng.choice(r.N - r.n_observed, size=n_draws, p=r.pmf) for r in results], axis=-1)
    hidden = hidden.reshape(1, n_draws, *table.strata_shape())
    notes = []
    for label, res in zip(labels, results, strict=True):
        prefix = f"Stratum {label}: " if table.is_stratified else ""
        notes += [prefix + note for note in describe(res)]
    how = "strata fitted independently." if table.is_stratified else "summaries use the exact pmf."
    notes.append(f"N draws are {n_draws:,} independent draws from the exact posterior; {how}")
    pmf_n = None
    if not table.is_stratified:
        pmf_n = xr.DataArray(results[0].pmf, dims="N", coords={"N": results[0].N})
    estimate = make_estimate(
        family="averaging",
        table=table,
        hidden=hidden,
        model=spec.model_dump(mode="json"),
        sampler=sampler.model_dump(mode="json"),
        seed=sampler.seed,
        notes=notes,
        pmf_N=pmf_n,
        diagnostic_vars=(),
        flags=("grid_cut",) if any(grid_cut(res) for res in results) else (),
    )
    estimate.idata.add_groups(_groups(labels, results, table.lists))
    estimate.idata.posterior.attrs["model_averaging"] = json.dumps(
        {label: _record(res) for label, res in zip(labels, results, strict=True)}
    )
    return estimate
