"""Readers that turn CSV files into a validated CaptureTable.

Two layouts are accepted:

* pattern counts: one 0/1 column per list plus ``count`` (the benchmark tables' layout);
* individual records: one row per person, one 0/1 column per list, other columns covariates.

Stratum columns are named explicitly (``strata=[...]``): their values label the strata.
Every problem raises :class:`InputError` naming the file, the line (1 = header) and the
column, so the CLI can report it in one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .errors import InputError, did_you_mean
from .table import CaptureTable, make_table, pattern_index

Format = Literal["auto", "patterns", "records"]
COUNT = "count"


def read_csv_text(path: str | Path) -> pd.DataFrame:
    """Read a CSV as strings (no type guessing), with a clear error for unreadable files."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable CSV file ({first})") from None
    frame.columns = [c.strip() for c in frame.columns]
    return frame


def read_table(
    path: str | Path,
    fmt: Format = "auto",
    strata: Sequence[str] = (),
    lists: Sequence[str] | None = None,
) -> CaptureTable:
    """Read a capture table from ``path``.

    ``fmt='auto'`` takes the pattern-count layout when a ``count`` column exists, else the
    record layout. ``lists`` defaults to every column that is neither ``count`` nor a stratum
    (pattern layout) or every column whose values are all 0/1 (record layout).
    """
    frame = read_csv_text(path)
    src = str(path)
    if frame.shape[0] == 0:
        raise InputError(f"{src}: the table is empty (no data rows)")
    for col in strata:
        if col not in frame.columns:
            raise InputError(
                f"{src}: stratum column '{col}' not found{did_you_mean(col, frame.columns)}"
            )
    if fmt == "auto":
        fmt = "patterns" if COUNT in frame.columns else "records"
    if fmt == "patterns":
        return _from_patterns(frame, src, list(strata), lists)
    return _from_records(frame, src, list(strata), lists)


def _binary_columns(frame: pd.DataFrame, names: list[str], src: str) -> np.ndarray:
    values = frame[names].to_numpy()
    ok = np.isin(values, ["0", "1"])
    if not ok.all():
        row, col = np.argwhere(~ok)[0]
        raise InputError(
            f"{src}, line {row + 2}, column '{names[col]}': value '{values[row, col]}' "
            "is not 0 or 1"
        )
    return (values == "1").astype(np.int8)


def _check_lists(src: str, frame: pd.DataFrame, lists: list[str]) -> None:
    for name in lists:
        if name not in frame.columns:
            raise InputError(f"{src}: list column '{name}' not found{did_you_mean(name, frame.columns)}")
    if len(lists) < 2:
        raise InputError(f"{src}: need at least two list columns, found {len(lists)} ({lists})")


def _parse_counts(frame: pd.DataFrame, src: str) -> np.ndarray:
    raw = frame[COUNT].to_numpy()
    counts = np.empty(len(raw), dtype=np.int64)
    for i, text in enumerate(raw):
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{src}, line {i + 2}, column 'count': '{text}' is not a number") from None
        if value < 0:
            raise InputError(f"{src}, line {i + 2}, column 'count': negative count {text}")
        if not np.isfinite(value) or value != int(value):
            raise InputError(
                f"{src}, line {i + 2}, column 'count': count {text} is not a whole number"
            )
        counts[i] = int(value)
    return counts


def _stratum_keys(frame: pd.DataFrame, strata: list[str]) -> tuple[dict[str, list], np.ndarray]:
    """Sorted stratum levels per column and the flat stratum index of every row."""
    if not strata:
        return {}, np.zeros(len(frame), dtype=np.int64)
    levels = {col: sorted(frame[col].unique(), key=_natural_key) for col in strata}
    flat = np.zeros(len(frame), dtype=np.int64)
    for col in strata:
        codes = frame[col].map({v: i for i, v in enumerate(levels[col])}).to_numpy()
        flat = flat * len(levels[col]) + codes
    return levels, flat


def _natural_key(value: str) -> tuple[int, float | str]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def _from_patterns(
    frame: pd.DataFrame, src: str, strata: list[str], lists: Sequence[str] | None
) -> CaptureTable:
    if COUNT not in frame.columns:
        raise InputError(
            f"{src}: missing column 'count'{did_you_mean(COUNT, frame.columns)} "
            "(pattern-count tables need one 0/1 column per list plus 'count')"
        )
    lists = list(lists) if lists is not None else [c for c in frame.columns if c not in (COUNT, *strata)]
    _check_lists(src, frame, lists)
    member = _binary_columns(frame, lists, src)
    counts = _parse_counts(frame, src)
    zero_rows = np.flatnonzero(member.sum(axis=1) == 0)
    if zero_rows.size:
        i = zero_rows[0]
        raise InputError(
            f"{src}, line {i + 2}: all-zero pattern (on no list) cannot be observed; "
            f"remove this row (count {counts[i]})"
        )
    levels, stratum = _stratum_keys(frame, strata)
    pidx = pattern_index(member)
    key = stratum * (2 ** len(lists)) + pidx
    _, first, n_seen = np.unique(key, return_index=True, return_counts=True)
    if np.any(n_seen > 1):
        dup_key = np.unique(key)[np.argmax(n_seen > 1)]
        rows = np.flatnonzero(key == dup_key)
        where = f" in stratum {frame.iloc[rows[0]][strata].to_dict()}" if strata else ""
        raise InputError(
            f"{src}, line {rows[1] + 2}: duplicate pattern "
            f"{''.join(map(str, member[rows[1]]))}{where} (first seen on line {rows[0] + 2})"
        )
    return _assemble(src, lists, levels, stratum, pidx, counts)


def _from_records(
    frame: pd.DataFrame, src: str, strata: list[str], lists: Sequence[str] | None
) -> CaptureTable:
    if lists is None:
        candidates = [c for c in frame.columns if c not in strata]
        lists = [c for c in candidates if frame[c].isin(["0", "1"]).all()]
        if len(lists) < 2:
            raise InputError(
                f"{src}: found {len(lists)} 0/1 list column(s) ({lists}) and no 'count' column; "
                "a pattern-count table needs a 'count' column, a record table two or more 0/1 "
                "list columns"
            )
    lists = list(lists)
    _check_lists(src, frame, lists)
    member = _binary_columns(frame, lists, src)
    zero_rows = np.flatnonzero(member.sum(axis=1) == 0)
    if zero_rows.size:
        raise InputError(
            f"{src}, line {zero_rows[0] + 2}: a record on no list cannot be observed; "
            "every person must be on at least one list"
        )
    levels, stratum = _stratum_keys(frame, strata)
    return _assemble(src, lists, levels, stratum, pattern_index(member), np.ones(len(frame), np.int64))


def _assemble(
    src: str,
    lists: list[str],
    levels: dict[str, list],
    stratum: np.ndarray,
    pidx: np.ndarray,
    counts: np.ndarray,
) -> CaptureTable:
    shape = tuple(len(v) for v in levels.values())
    n_strata = int(np.prod(shape)) if shape else 1
    flat = np.zeros((n_strata, 2 ** len(lists)), dtype=np.int64)
    np.add.at(flat, (stratum, pidx), counts)
    if flat.sum() == 0:
        raise InputError(f"{src}: the table is empty (all counts are zero)")
    return make_table(lists, flat[:, 1:].reshape(*shape, -1), strata=levels, source=src)
