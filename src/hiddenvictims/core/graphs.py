"""Decomposable (chordal) graphs on K labelled vertices, as clique/separator structures.

Conventions
-----------
* Vertex ``v`` (0-based list position) is bit ``1 << (K - 1 - v)`` of a *vertex-set mask*: the
  first list is the most significant bit, as in :func:`hiddenvictims.core.table.pattern_index`, so
  a subset of lists and a capture pattern share one integer code.
* Edge ``e`` is the ``e``-th pair ``(i, j)``, ``i < j``, in lexicographic order; a graph is an
  *edge mask* with bit ``1 << e`` set for each edge present.
* A decomposable graph's log marginal likelihood is ``sum_C t(C) - sum_S t(S)`` over cliques and
  (non-empty) separators of a junction tree. We store it as a *coefficient vector* over vertex
  subsets: +1 on each clique, minus the multiplicity on each separator, 0 elsewhere.

Two independent ways to get the coefficients are provided. For whole enumerations
(:func:`decomposable_graphs`, K <= 6) they come from a Moebius inversion: for a chordal graph the
cliques containing any complete set T form a subtree of the junction tree whose edges are exactly
the separators containing T, so ``sum_{T' >= T} c(T') = 1`` for every non-empty complete T and 0
otherwise; inverting that over the subset lattice gives ``c``. For single graphs of any size
(:func:`decompose`, used by the MC3 search) they come from maximum cardinality search.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import numpy as np

#: Largest K for which :func:`decomposable_graphs` enumerates every graph (18,154 at K = 6;
#: K = 7 has 617,675 graphs out of 2**21 edge sets: use the MC3 search there).
MAX_ENUMERATE = 6

#: Most vertices (lists) any search handles: an edge set is an int64 bit mask, 55 pairs at 11.
MAX_LISTS = 11

#: Number of labelled decomposable graphs on K vertices (OEIS A058862), for checks.
KNOWN_COUNTS = {1: 1, 2: 2, 3: 8, 4: 61, 5: 822, 6: 18154, 7: 617675}


def vertex_bit(v: int, k: int) -> int:
    return 1 << (k - 1 - v)


def vertices_of(mask: int, k: int) -> list[int]:
    """Vertices (0-based, increasing) in a vertex-set mask."""
    return [v for v in range(k) if mask & vertex_bit(v, k)]


@cache
def edge_pairs(k: int) -> tuple[tuple[int, int], ...]:
    """The K(K-1)/2 vertex pairs in edge-index order."""
    return tuple(itertools.combinations(range(k), 2))


@cache
def pair_masks(k: int) -> np.ndarray:
    """For every vertex subset s (0 .. 2**K - 1), the edge mask of all pairs inside s."""
    out = np.zeros(2**k, dtype=np.int64)
    for e, (i, j) in enumerate(edge_pairs(k)):
        both = vertex_bit(i, k) | vertex_bit(j, k)
        sub = np.arange(2**k)
        out[(sub & both) == both] |= 1 << e
    out.setflags(write=False)
    return out


def edge_mask_from_pairs(pairs: list[tuple[int, int]], k: int) -> int:
    index = {p: e for e, p in enumerate(edge_pairs(k))}
    return sum(1 << index[tuple(sorted(p))] for p in pairs)


def edges_of(edge_mask: int, k: int) -> list[tuple[int, int]]:
    return [p for e, p in enumerate(edge_pairs(k)) if edge_mask >> e & 1]


def describe_edges(edge_mask: int, lists: tuple[str, ...] | list[str]) -> str:
    """'LA-NG, PF-GO' (or a phrase for the independence graph)."""
    pairs = edges_of(edge_mask, len(lists))
    if not pairs:
        return "no edges (lists independent)"
    return ", ".join(f"{lists[i]}-{lists[j]}" for i, j in pairs)


def neighbour_masks(edge_mask: int, k: int) -> list[int]:
    """Vertex-set mask of each vertex's neighbours."""
    nbrs = [0] * k
    for i, j in edges_of(edge_mask, k):
        nbrs[i] |= vertex_bit(j, k)
        nbrs[j] |= vertex_bit(i, k)
    return nbrs


# ---------------------------------------------------------------------------- one graph
def decompose(edge_mask: int, k: int) -> tuple[list[int], list[int]] | None:
    """Cliques and non-empty separators (vertex-set masks) of a chordal graph, else None.

    Maximum cardinality search (Tarjan & Yannakakis 1984) numbers the vertices; the graph is
    chordal iff each vertex's earlier-numbered neighbours are complete. The maximal sets
    ``{v} + earlier neighbours`` are the cliques, and in MCS order they form a perfect sequence,
    so ``S_j = C_j & (C_1 | ... | C_{j-1})`` are the separators of a junction tree.
    """
    nbrs = neighbour_masks(edge_mask, k)
    weight = [0] * k
    numbered = 0
    candidates: list[int] = []
    for _ in range(k):
        free = [u for u in range(k) if not numbered & vertex_bit(u, k)]
        v = max(free, key=lambda u: (weight[u], -u))
        earlier = nbrs[v] & numbered
        for w in vertices_of(earlier, k):
            if (earlier & ~vertex_bit(w, k)) & ~nbrs[w]:
                return None  # earlier neighbours not complete: not chordal
        candidates.append(earlier | vertex_bit(v, k))
        numbered |= vertex_bit(v, k)
        for u in vertices_of(nbrs[v] & ~numbered, k):
            weight[u] += 1
    cliques = [
        c
        for i, c in enumerate(candidates)
        if not any(j != i and (c & d) == c and (c != d or j < i) for j, d in enumerate(candidates))
    ]
    separators = []
    seen = 0
    for c in cliques:
        if c & seen:
            separators.append(c & seen)
        seen |= c
    return cliques, separators


def is_decomposable(edge_mask: int, k: int) -> bool:
    return decompose(edge_mask, k) is not None


def coefficients(edge_mask: int, k: int) -> dict[int, int] | None:
    """{vertex-set mask: coefficient} of a decomposable graph (None when not chordal)."""
    parts = decompose(edge_mask, k)
    if parts is None:
        return None
    coef: dict[int, int] = {}
    for c in parts[0]:
        coef[c] = coef.get(c, 0) + 1
    for s in parts[1]:
        coef[s] = coef.get(s, 0) - 1
    return {s: c for s, c in coef.items() if c}


# ---------------------------------------------------------------------------- enumeration
@dataclass(frozen=True)
class GraphSet:
    """Every decomposable graph on ``k`` vertices.

    ``edges[g]`` is graph g's edge mask; ``coef[g, s]`` its coefficient on vertex subset s
    (column 0, the empty set, is always 0). Arrays are read-only (the set is cached).
    """

    k: int
    edges: np.ndarray  # (G,) int64
    coef: np.ndarray  # (G, 2**k) int8

    @property
    def n_graphs(self) -> int:
        return int(self.edges.size)

    def structure(self, g: int) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
        """Cliques and non-empty separators (with multiplicity) of graph ``g``, as tuples of
        vertices; the coefficient is +1 exactly on cliques and -multiplicity on separators."""
        cliques, separators = [], []
        for s in np.flatnonzero(self.coef[g]):
            members = tuple(vertices_of(int(s), self.k))
            value = int(self.coef[g, s])
            if value > 0:
                cliques.append(members)
            else:
                separators += [members] * (-value)
        return cliques, separators


@cache
def induced_cycle_patterns(k: int) -> tuple[np.ndarray, np.ndarray]:
    """(pair mask of a vertex subset, edge mask of a chordless cycle through all of it).

    A graph has an induced cycle of length >= 4 (is not chordal) iff for some row
    ``edges & pair_mask == cycle_mask``.
    """
    pms, cms = [], []
    index = {p: e for e, p in enumerate(edge_pairs(k))}
    for m in range(4, k + 1):
        for subset in itertools.combinations(range(k), m):
            pm = int(pair_masks(k)[sum(vertex_bit(v, k) for v in subset)])
            first, rest = subset[0], subset[1:]
            for perm in itertools.permutations(rest):
                if perm[0] > perm[-1]:
                    continue  # each cycle once (not also reversed)
                cycle = (first, *perm)
                ring = [tuple(sorted((cycle[i], cycle[(i + 1) % m]))) for i in range(m)]
                cm = sum(1 << index[p] for p in ring)
                pms.append(pm)
                cms.append(cm)
    return np.array(pms, dtype=np.int64), np.array(cms, dtype=np.int64)


def chordal_mask(edges: np.ndarray, k: int) -> np.ndarray:
    """Vectorised chordality test of many edge masks (True = chordal)."""
    edges = np.asarray(edges, dtype=np.int64)
    bad = np.zeros(edges.shape, dtype=bool)
    for pm, cm in zip(*induced_cycle_patterns(k), strict=True):
        bad |= (edges & pm) == cm
    return ~bad


def moebius_coefficients(edges: np.ndarray, k: int) -> np.ndarray:
    """Clique/separator coefficients (G, 2**k) of chordal graphs, by Moebius inversion."""
    pm = pair_masks(k)
    complete = ((edges[:, None] & pm[None, :]) == pm[None, :]).astype(np.int8)
    complete[:, 0] = 0
    arr = complete.reshape((edges.size,) + (2,) * k)
    for axis in range(1, k + 1):
        lo = [slice(None)] * (k + 1)
        hi = [slice(None)] * (k + 1)
        lo[axis], hi[axis] = 0, 1
        arr[tuple(lo)] -= arr[tuple(hi)]
    coef = arr.reshape(edges.size, 2**k)
    coef[:, 0] = 0
    return coef


@cache
def decomposable_graphs(k: int) -> GraphSet:
    """All decomposable graphs on ``k`` labelled vertices (2 <= k <= MAX_ENUMERATE), cached."""
    if not 1 <= k <= MAX_ENUMERATE:
        raise ValueError(f"exhaustive enumeration is for 1..{MAX_ENUMERATE} lists, got {k}")
    n_edges = k * (k - 1) // 2
    edges = np.arange(2**n_edges, dtype=np.int64)
    edges = edges[chordal_mask(edges, k)]
    coef = moebius_coefficients(edges, k)
    edges.setflags(write=False)
    coef.setflags(write=False)
    return GraphSet(k=k, edges=edges, coef=coef)
