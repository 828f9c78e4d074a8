"""CaptureTable: counts of people by capture pattern over K named lists, optionally stratified.

Canonical pattern order: pattern index ``i`` in ``0 .. 2**K - 1`` is the binary number whose
most significant bit is the first list (the order of ``itertools.product([0, 1], repeat=K)``).
Index 0 is the all-zero pattern (never observed), so a table stores the ``2**K - 1`` observable
patterns, indices ``1 .. 2**K - 1``, always all of them (absent rows are zero counts).

A list that did not operate in a stratum (``active`` False) makes every pattern that includes
it a *structural* zero: such a cell is not data and is masked out of every likelihood.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import xarray as xr

from .constants import LIST_DIM, PATTERN_DIM
from .errors import InputError


def pattern_matrix(n_lists: int, include_zero: bool = False) -> np.ndarray:
    """0/1 matrix (patterns x lists) of capture patterns in canonical order."""
    full = np.array(list(itertools.product((0, 1), repeat=n_lists)), dtype=np.int8)
    return full if include_zero else full[1:]


def pattern_labels(n_lists: int) -> list[str]:
    """String labels ('0101', ...) of the observable patterns in canonical order."""
    return ["".join(map(str, row)) for row in pattern_matrix(n_lists)]


def pattern_index(rows: np.ndarray) -> np.ndarray:
    """Canonical index (1 .. 2**K - 1) of each 0/1 row of ``rows`` (n x K)."""
    k = rows.shape[1]
    weights = 1 << np.arange(k - 1, -1, -1)
    return rows.astype(np.int64) @ weights


@dataclass(frozen=True)
class CaptureTable:
    """Counts over (*strata, pattern), plus which lists were active in each stratum.

    Build one with :func:`make_table` or the readers in :mod:`hiddenvictims.core.io`; the
    constructor does no validation of its own.
    """

    counts: xr.DataArray  # int64, dims (*strata, "pattern")
    active: xr.DataArray  # bool, dims (*strata, "list")
    source: str = "<memory>"

    # ------------------------------------------------------------------ structure
    @property
    def lists(self) -> tuple[str, ...]:
        return tuple(str(x) for x in self.active[LIST_DIM].values)

    @property
    def n_lists(self) -> int:
        return len(self.lists)

    @property
    def strata(self) -> tuple[str, ...]:
        """Names of the stratifying dims (empty for an unstratified table)."""
        return tuple(d for d in self.counts.dims if d != PATTERN_DIM)

    @property
    def is_stratified(self) -> bool:
        return bool(self.strata)

    @cached_property
    def patterns(self) -> np.ndarray:
        """0/1 membership matrix (observable patterns x lists), canonical order."""
        return pattern_matrix(self.n_lists)

    @cached_property
    def structural_zero(self) -> xr.DataArray:
        """True where a pattern includes a list that was not active in that stratum."""
        inactive = (~self.active).astype(np.int8)
        member = xr.DataArray(
            self.patterns,
            dims=(PATTERN_DIM, LIST_DIM),
            coords={PATTERN_DIM: self.counts[PATTERN_DIM], LIST_DIM: self.active[LIST_DIM]},
        )
        return (member * inactive).sum(LIST_DIM) > 0

    @cached_property
    def observed(self) -> xr.DataArray:
        """Number of distinct people observed on at least one list, per stratum."""
        return self.counts.sum(PATTERN_DIM)

    @property
    def n_observed(self) -> int:
        return int(self.counts.sum())

    def list_totals(self) -> xr.DataArray:
        """How many people each list holds, per stratum (dims *strata, list)."""
        member = xr.DataArray(
            self.patterns,
            dims=(PATTERN_DIM, LIST_DIM),
            coords={PATTERN_DIM: self.counts[PATTERN_DIM], LIST_DIM: self.active[LIST_DIM]},
        )
        return (self.counts * member).sum(PATTERN_DIM)

    def stratum_labels(self) -> list[str]:
        """One label per stratum cell ('2019|minor'), in C order of the stratum dims."""
        if not self.strata:
            return ["all"]
        grids = itertools.product(*(self.counts[d].values for d in self.strata))
        return ["|".join(str(v) for v in combo) for combo in grids]

    def flat_counts(self) -> np.ndarray:
        """Counts as a (n_strata, n_patterns) array, strata flattened in C order."""
        arr = self.counts.transpose(*self.strata, PATTERN_DIM).values
        return arr.reshape(-1, arr.shape[-1])

    def flat_structural_zero(self) -> np.ndarray:
        arr = self.structural_zero.transpose(*self.strata, PATTERN_DIM).values
        return arr.reshape(-1, arr.shape[-1])

    def strata_shape(self) -> tuple[int, ...]:
        return tuple(self.counts.sizes[d] for d in self.strata)

    def strata_coords(self) -> dict[str, np.ndarray]:
        return {d: self.counts[d].values for d in self.strata}

    # ------------------------------------------------------------------ transforms
    def collapse(self) -> CaptureTable:
        """Sum over all strata (a list counts as active if it was active anywhere)."""
        if not self.strata:
            return self
        return CaptureTable(
            counts=self.counts.sum(self.strata),
            active=self.active.any(self.strata),
            source=self.source,
        )

    def drop_lists(self, names: list[str]) -> CaptureTable:
        """Forget lists: marginalise them out (people seen only on them vanish)."""
        unknown = [n for n in names if n not in self.lists]
        if unknown:
            raise InputError(f"{self.source}: unknown list(s) {unknown}; lists are {list(self.lists)}")
        keep = [i for i, name in enumerate(self.lists) if name not in names]
        if len(keep) < 2:
            raise InputError(f"{self.source}: dropping {names} leaves fewer than two lists")
        flat = self.flat_counts()
        new_idx = pattern_index(self.patterns[:, keep])
        out = np.zeros((flat.shape[0], 2 ** len(keep)), dtype=np.int64)
        for j, target in enumerate(new_idx):
            out[:, target] += flat[:, j]
        kept_names = [self.lists[i] for i in keep]
        return make_table(
            kept_names,
            out[:, 1:].reshape(*self.strata_shape(), -1),
            strata=self.strata_coords(),
            active=self.active.sel({LIST_DIM: kept_names}).transpose(*self.strata, LIST_DIM).values,
            source=self.source,
        )

    def to_frame(self) -> pd.DataFrame:
        """The table in pattern-count CSV form: strata columns, list columns, ``count``."""
        labels = self.patterns
        frame = self.counts.to_dataframe(name="count").reset_index()
        idx = frame[PATTERN_DIM].map({lab: i for i, lab in enumerate(self.counts[PATTERN_DIM].values)})
        for j, name in enumerate(self.lists):
            frame[name] = labels[idx.to_numpy(), j]
        cols = [*self.strata, *self.lists, "count"]
        return frame[cols]

    def data_hash(self) -> str:
        """SHA-256 of the canonical CSV form (and active mask): identifies the data in manifests."""
        digest = hashlib.sha256(self.to_frame().to_csv(index=False).encode())
        digest.update(self.active.to_dataframe(name="active").to_csv().encode())
        return digest.hexdigest()


def make_table(
    lists: list[str] | tuple[str, ...],
    counts: np.ndarray,
    strata: dict[str, np.ndarray | list] | None = None,
    active: np.ndarray | None = None,
    source: str = "<memory>",
) -> CaptureTable:
    """Build a CaptureTable from counts in canonical pattern order.

    ``counts`` has shape (*strata sizes, 2**K - 1); ``active`` (optional) has shape
    (*strata sizes, K). Raises InputError for fewer than two lists or negative counts.
    """
    lists = [str(x) for x in lists]
    strata = dict(strata or {})
    if len(lists) < 2:
        raise InputError(f"{source}: need at least two lists, got {len(lists)} ({lists})")
    if len(set(lists)) != len(lists):
        raise InputError(f"{source}: list names must be unique, got {lists}")
    counts = np.asarray(counts)
    shape = tuple(len(v) for v in strata.values())
    if counts.shape != (*shape, 2 ** len(lists) - 1):
        raise InputError(f"{source}: counts have shape {counts.shape}, expected {(*shape, 2 ** len(lists) - 1)}")
    if np.any(counts < 0):
        raise InputError(f"{source}: counts must not be negative")
    dims = (*strata.keys(), PATTERN_DIM)
    coords = {**{k: list(v) for k, v in strata.items()}, PATTERN_DIM: pattern_labels(len(lists))}
    if active is None:
        active = np.ones((*shape, len(lists)), dtype=bool)
    da_active = xr.DataArray(
        np.asarray(active, dtype=bool),
        dims=(*strata.keys(), LIST_DIM),
        coords={**{k: list(v) for k, v in strata.items()}, LIST_DIM: lists},
    )
    table = CaptureTable(
        counts=xr.DataArray(counts.astype(np.int64), dims=dims, coords=coords),
        active=da_active,
        source=source,
    )
    bad = (table.counts.where(table.structural_zero, 0) > 0).any()
    if bool(bad):
        raise InputError(f"{source}: positive count in a pattern that includes an inactive list")
    if table.n_observed == 0:
        raise InputError(f"{source}: the table is empty (no one observed on any list)")
    return table
