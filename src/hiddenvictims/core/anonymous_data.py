"""Data for a list without linkage: linked lists' counts plus an anonymous source's totals.

An anonymous source (the chat) is known only by its total per stratum, sometimes only summed
over a stratum dim (the ``group_dim``, e.g. age: a chat total per year but minors unknown), and
optionally by how many of its members are known elsewhere: either exactly (``known_kind =
"linked"``: the number on some linked list, as in a validation study) or as a self-report
("known to police or care", ``"self-report"``: not the same as being on the register; the model
carries the mismatch). The linked lists (the register, possibly split by reporting
organisation) are pattern counts per stratum, or only summed over the group dim.

Missing figures are NaN and stay NaN: a missing cell contributes nothing to the likelihood.
Strata are the product of the ``unit`` dims (e.g. year) and the optional group dim (last).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import xarray as xr

from .constants import PATTERN_DIM
from .errors import InputError
from .table import CaptureTable, pattern_labels

KnownKind = Literal["linked", "self-report"]


def known_range(victims: float, first_disclosure_pct: float) -> tuple[float, float]:
    """Whole numbers of victims already known to an agency consistent with a rounded percentage.

    A share published as a whole percent p (first disclosure) means the known share lies in
    [100 - p - 0.5, 100 - p + 0.5] percent; the count is a whole number within it.
    """
    if math.isnan(victims) or math.isnan(first_disclosure_pct):
        return math.nan, math.nan
    low = math.ceil(victims * (100 - first_disclosure_pct - 0.5) / 100 - 1e-9)
    high = math.floor(victims * (100 - first_disclosure_pct + 0.5) / 100 + 1e-9)
    return float(low), float(high)


@dataclass(frozen=True)
class AnonymousSource:
    """A list without linkage: totals per stratum and (optionally) members known elsewhere.

    ``totals`` has the strata dims (NaN = missing); ``pooled_totals`` the unit dims (the group
    dim summed out); ``known_low``/``known_high`` (unit dims) bound the number of members known
    elsewhere (equal when exact; a rounded percentage gives a range).
    """

    name: str
    totals: xr.DataArray
    pooled_totals: xr.DataArray | None = None
    known_low: xr.DataArray | None = None
    known_high: xr.DataArray | None = None
    known_kind: KnownKind = "linked"
    compared_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnonymousData:
    """Linked counts (dims *strata, pattern) plus an :class:`AnonymousSource`.

    It offers the parts of the :class:`~hiddenvictims.core.table.CaptureTable` interface that
    summaries and results use (``lists``, ``strata``, ``n_observed`` ...). For this family
    "observed" means *on a linked list* (registered): the anonymous list's members cannot be
    counted as distinct people.
    """

    linked_lists: tuple[str, ...]
    linked: xr.DataArray  # float, dims (*strata, pattern); NaN = missing
    anonymous: AnonymousSource
    linked_pooled: xr.DataArray | None = None  # dims (*unit dims, pattern)
    group_dim: str | None = None
    source: str = "<memory>"
    notes: tuple[str, ...] = field(default=())

    # ------------------------------------------------------------ CaptureTable-like interface
    @property
    def lists(self) -> tuple[str, ...]:
        return (*self.linked_lists, self.anonymous.name)

    @property
    def n_lists(self) -> int:
        return len(self.lists)

    @property
    def strata(self) -> tuple[str, ...]:
        return tuple(str(d) for d in self.anonymous.totals.dims)

    @property
    def unit_dims(self) -> tuple[str, ...]:
        return tuple(d for d in self.strata if d != self.group_dim)

    @property
    def is_stratified(self) -> bool:
        return bool(self.strata)

    def strata_coords(self) -> dict[str, np.ndarray]:
        return {d: self.anonymous.totals[d].values for d in self.strata}

    def strata_shape(self) -> tuple[int, ...]:
        return tuple(self.anonymous.totals.sizes[d] for d in self.strata)

    def stratum_labels(self) -> list[str]:
        if not self.strata:
            return ["all"]
        grids = itertools.product(*(self.anonymous.totals[d].values for d in self.strata))
        return ["|".join(str(v) for v in combo) for combo in grids]

    @property
    def n_observed(self) -> int:
        """People known to be on a linked list (registered), over the cells where it is known."""
        per = self.linked.sum(PATTERN_DIM, skipna=False)
        if self.group_dim is not None and self.linked_pooled is not None:
            pooled = self.linked_pooled.sum(PATTERN_DIM, skipna=False)
            per_unit = per.sum(self.group_dim, skipna=False)
            per_unit = per_unit.where(per_unit.notnull(), pooled)
            return int(np.nansum(per_unit.values))
        return int(np.nansum(per.values))

    def data_hash(self) -> str:
        """SHA-256 of every array (NaN included): identifies the data in manifests."""
        digest = hashlib.sha256()
        src = self.anonymous
        for arr in (self.linked, self.linked_pooled, src.totals, src.pooled_totals, src.known_low, src.known_high):
            digest.update(b"|" if arr is None else arr.to_dataframe(name="v").to_csv().encode())
        digest.update(f"{self.lists}{self.group_dim}{src.known_kind}".encode())
        return digest.hexdigest()

    # ------------------------------------------------------------ observations per unit
    def observations(self) -> tuple[dict, list[str]]:
        """Arrays for the likelihood (units x groups, NaN resolved into 0/1 weights) and notes.

        Per unit, a count known for every group is used group by group; otherwise the unit's
        pooled count (if known); a group count derivable as pooled minus the other groups is
        derived. Missing figures get weight 0 (they contribute nothing).
        """
        notes: list[str] = []
        k_lists = len(self.linked_lists)
        order = (*self.unit_dims, *([self.group_dim] if self.group_dim else []))
        n_groups = self.anonymous.totals.sizes[self.group_dim] if self.group_dim else 1
        unit_shape = tuple(self.anonymous.totals.sizes[d] for d in self.unit_dims)
        n_units = int(np.prod(unit_shape)) if unit_shape else 1

        def per_group(arr: xr.DataArray, extra: tuple[str, ...] = ()) -> np.ndarray:
            return arr.transpose(*order, *extra).values.reshape(n_units, n_groups, *[arr.sizes[e] for e in extra])

        def per_unit(arr: xr.DataArray | None, extra: tuple[str, ...] = ()) -> np.ndarray:
            if arr is None:
                return np.full((n_units, *[self.linked.sizes[e] for e in extra]), np.nan)
            return arr.transpose(*self.unit_dims, *extra).values.reshape(n_units, *[arr.sizes[e] for e in extra])

        link = per_group(self.linked, (PATTERN_DIM,)).astype(float)
        link_known = ~np.isnan(link).any(axis=-1)
        reg = np.where(link_known, np.nansum(link, axis=-1), np.nan)
        regp = per_unit(self.linked_pooled, (PATTERN_DIM,))
        regp = np.where(np.isnan(regp).any(axis=-1), np.nan, np.nansum(regp, axis=-1))
        reg, reg_w, regp, regp_w = _resolve(reg, regp, "linked lists", notes)
        link_w = (link_known & (reg_w > 0)) if k_lists > 1 else np.zeros_like(link_known)
        if k_lists > 1 and np.any(regp_w > 0):
            notes.append("linked pattern counts known only summed over groups: only their total is used")

        chat = per_group(self.anonymous.totals).astype(float)
        chatp = per_unit(self.anonymous.pooled_totals).astype(float)
        chat, chat_w, chatp, chatp_w = _resolve(chat, chatp, self.anonymous.name, notes)

        lo = per_unit(self.anonymous.known_low).astype(float)
        hi = per_unit(self.anonymous.known_high).astype(float)
        known = ~np.isnan(lo) & ~np.isnan(hi)
        total_known = np.where(chatp_w > 0, chatp, np.where((chat_w > 0).all(axis=1), chat.sum(axis=1), np.nan))
        if np.any(known & np.isnan(total_known)):
            raise InputError(
                f"{self.source}: a known-elsewhere count of '{self.anonymous.name}' needs its total "
                "in the same unit, which is missing"
            )
        if np.any(known & ((lo > hi) | (hi > np.nan_to_num(total_known, nan=np.inf)) | (lo < 0))):
            raise InputError(
                f"{self.source}: known-elsewhere counts of '{self.anonymous.name}' must satisfy "
                "0 <= low <= high <= total"
            )
        exact = self.anonymous.known_kind == "linked"
        if exact and np.any(known & (lo != hi)):
            raise InputError(f"{self.source}: an exact (linked) known-elsewhere count must have low == high")
        obs = {
            "reg_n": np.nan_to_num(reg),
            "reg_w": reg_w,
            "regp_n": np.nan_to_num(regp),
            "regp_w": regp_w,
            "chat_T": np.nan_to_num(chat),
            "chat_w": chat_w,
            "chatp_T": np.nan_to_num(chatp),
            "chatp_w": chatp_w,
            "kex": np.nan_to_num(lo) if exact else np.zeros(n_units),
            "kex_w": (known & exact).astype(float),
            "kmis_lo": np.nan_to_num(lo),
            "kmis_hi": np.nan_to_num(hi),
            "kmis_T": np.nan_to_num(total_known),
            "kmis_w": (known & (not exact)).astype(float),
            "link_y": np.nan_to_num(link),
            "link_w": link_w.astype(float),
        }
        return obs, notes


def _resolve(split: np.ndarray, pooled: np.ndarray, what: str, notes: list[str]):
    """Per unit: use group counts when all are known (deriving one from the pooled total if it
    is the only one missing), else the pooled count, else whatever groups are known."""
    split = split.copy()
    pooled = pooled.copy()
    missing = np.isnan(split)
    one_missing = (missing.sum(axis=1) == 1) & ~np.isnan(pooled)
    for u in np.flatnonzero(one_missing):
        g = int(np.flatnonzero(missing[u])[0])
        value = pooled[u] - np.nansum(split[u])
        if value < 0:
            raise InputError(f"{what}: group counts exceed the pooled total in unit {u}")
        split[u, g] = value
    all_known = ~np.isnan(split).any(axis=1)
    if np.any(all_known & ~np.isnan(pooled) & (np.abs(np.nansum(split, axis=1) - pooled) > 1e-9)):
        raise InputError(f"{what}: group counts do not add up to the pooled total")
    use_pooled = ~all_known & ~np.isnan(pooled)
    if np.any(use_pooled & ~np.isnan(split).all(axis=1)):
        notes.append(f"{what}: some group counts are ignored where only the pooled total is complete")
    split_w = np.where(use_pooled[:, None], 0.0, (~np.isnan(split)).astype(float))
    pooled_w = use_pooled.astype(float)
    return np.nan_to_num(split), split_w, np.nan_to_num(pooled), pooled_w


# ------------------------------------------------------------------------------ builders
def strata_array(values, strata: dict[str, list] | None = None, name: str = "") -> xr.DataArray:
    """A float DataArray over named strata dims (NaN allowed) from nested lists or an array."""
    strata = dict(strata or {})
    arr = np.asarray(values, dtype=float)
    shape = tuple(len(v) for v in strata.values())
    if arr.shape != shape:
        raise InputError(f"{name or 'array'}: shape {arr.shape}, expected {shape} for strata {list(strata)}")
    return xr.DataArray(arr, dims=tuple(strata), coords={k: list(v) for k, v in strata.items()}, name=name)


def from_table(
    table: CaptureTable,
    anonymous: str,
    *,
    keep_known: bool = True,
) -> tuple[AnonymousData, int, int]:
    """Anonymise one list of a fully linked table: keep its total and how many are elsewhere.

    Returns (data, total, known): the anonymous list's total and the number of its members on
    some other list. This is the validation set-up of the exactness test.
    """
    if table.is_stratified:
        raise InputError(f"{table.source}: from_table handles unstratified tables only")
    if anonymous not in table.lists:
        raise InputError(f"{table.source}: unknown list '{anonymous}'")
    j = table.lists.index(anonymous)
    counts = table.counts.values.astype(np.int64)
    pats = table.patterns
    on_anon = pats[:, j] == 1
    others = np.delete(pats, j, axis=1)
    on_other = others.any(axis=1)
    total = int(counts[on_anon].sum())
    known = int(counts[on_anon & on_other].sum())
    keep = [name for name in table.lists if name != anonymous]
    k = len(keep)
    weights = 1 << np.arange(k - 1, -1, -1)
    linked = np.zeros(2**k, dtype=float)
    np.add.at(linked, others.astype(np.int64) @ weights, counts)
    linked_da = xr.DataArray(linked[1:], dims=(PATTERN_DIM,), coords={PATTERN_DIM: pattern_labels(k)})
    src = AnonymousSource(
        name=anonymous,
        totals=xr.DataArray(float(total)),
        known_low=xr.DataArray(float(known)) if keep_known else None,
        known_high=xr.DataArray(float(known)) if keep_known else None,
        known_kind="linked",
        compared_to=tuple(keep),
    )
    data = AnonymousData(
        linked_lists=tuple(keep), linked=linked_da, anonymous=src, source=f"{table.source} ({anonymous} anonymised)"
    )
    return data, total, known


def two_source(
    register: float | np.ndarray,
    chat_total: float | np.ndarray,
    known: float | np.ndarray | None = None,
    *,
    strata: dict[str, list] | None = None,
    known_kind: KnownKind = "linked",
    register_name: str = "register",
    chat_name: str = "chat",
    source: str = "<memory>",
) -> AnonymousData:
    """The register (one linked list) plus the chat, per stratum (no pooling)."""
    strata = dict(strata or {})
    reg = strata_array(register, strata, register_name)
    linked = reg.expand_dims({PATTERN_DIM: ["1"]}, axis=-1)
    totals = strata_array(chat_total, strata, chat_name)
    kn = None if known is None else strata_array(known, strata, "known")
    src = AnonymousSource(
        name=chat_name, totals=totals, known_low=kn, known_high=kn, known_kind=known_kind, compared_to=(register_name,)
    )
    return AnonymousData(linked_lists=(register_name,), linked=linked, anonymous=src, source=source)
