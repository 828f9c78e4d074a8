"""Readers that turn CSV files into a validated CaptureTable.

Two layouts are accepted:

* pattern counts: one 0/1 column per list plus a count column (the benchmark tables' layout);
* individual records: one row per person, one 0/1 column per list.

Nothing is guessed, because a guess that goes wrong gives a wrong estimate with exit 0. The
pattern layout is recognised only by a column named exactly ``count`` or by the column the user
names (``count_column``); a column that is *named like* a count (``Count``, ``n``, ``freq``,
``aantal``...) but not declared is an error, never read as one person per row. In the record
layout the list columns must be named (``lists``). Stratum columns (``strata``) label strata;
any other column must be declared as a covariate (``covariates``: read past, not used) or is an
error, so a 0/1 covariate can never become a list. Every list cell holds 0 or 1, every count a
whole number that fits the model arithmetic, and headers are unique.

Every problem raises :class:`InputError` naming the file, the line (1 = header) and the
column, so the CLI can report it in one line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .errors import InputError, did_you_mean
from .table import CaptureTable, make_table, pattern_index

Format = Literal["auto", "patterns", "records"]
COUNT = "count"
#: Header words (lower case) that mean "how many people" in tables seen in practice (English,
#: Dutch, R's ``Freq``, Stata's ``_freq``). Such a column is never silently taken as a list or
#: ignored: it must be the declared count column.
COUNT_LIKE = frozenset(
    {
        "count",
        "counts",
        "cnt",
        "n",
        "nn",
        "num",
        "number",
        "freq",
        "freqs",
        "frequency",
        "frequencies",
        "_freq",
        "weight",
        "weights",
        "w",
        "total",
        "totals",
        "amount",
        "people",
        "persons",
        "aantal",
        "aantallen",
        "frequentie",
        "totaal",
        "getal",
        "number_of_people",
        "#",
    }
)
#: Largest count (and total) accepted: every model computes in float64, which holds whole
#: numbers exactly only up to 2**53; a larger count would be silently rounded.
MAX_COUNT = 2**53


def read_csv_text(path: str | Path) -> pd.DataFrame:
    """Read a CSV as strings (no type guessing), with a clear error for unreadable files.

    Header names are checked first with the csv module, because pandas renames a duplicated
    header (``A,A`` becomes ``A`` and ``A.1``), which would make one list two.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    header = _read_header(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable CSV file ({first})") from None
    frame.columns = header
    return frame


def _read_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            row = next(csv.reader(fh), None)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a readable CSV file (not UTF-8 text)") from None
    except (csv.Error, OSError) as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc})") from None
    if not row:
        raise InputError(f"{path}: not a readable CSV file (no header line)")
    names = [c.strip() for c in row]
    for i, name in enumerate(names):
        if not name:
            raise InputError(f"{path}, line 1: column {i + 1} has no name")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise InputError(
                f"{path}, line 1: column name '{name}' appears twice (columns {seen[name] + 1} "
                f"and {i + 1}); every column needs its own name"
            )
        seen[name] = i
    return names


def parse_names(value: str | Sequence[str] | None, what: str) -> list[str] | None:
    """Column names given as 'A,B,C' (command line) or a list (config); None stays None."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(v).strip() for v in items]
    if any(not n for n in names):
        raise InputError(f"{what}: empty column name in {value!r}")
    if len(set(names)) != len(names):
        raise InputError(f"{what}: a column is named twice in {value!r}")
    return names


def read_table(
    path: str | Path,
    fmt: Format = "auto",
    strata: Sequence[str] = (),
    lists: Sequence[str] | None = None,
    count_column: str | None = None,
    covariates: Sequence[str] = (),
) -> CaptureTable:
    """Read a capture table from ``path``.

    ``fmt='auto'`` takes the pattern-count layout when a column is named exactly ``count`` or
    ``count_column`` is given, else the record layout. ``lists`` defaults, in the pattern
    layout only, to every column that is not the count, a stratum or a covariate; the record
    layout needs ``lists``. Columns that are none of lists, strata, count or ``covariates`` are
    errors.
    """
    frame = read_csv_text(path)
    src = str(path)
    if frame.shape[0] == 0:
        raise InputError(f"{src}: the table is empty (no data rows)")
    if fmt not in ("auto", "patterns", "records"):
        raise InputError(f"format must be auto, patterns or records, not '{fmt}'")
    strata, covariates = list(strata), list(covariates)
    lists = list(lists) if lists is not None else None
    declared = {"stratum": strata, "covariate": covariates, "list": lists or []}
    for role, names in declared.items():
        for col in names:
            if col not in frame.columns:
                raise InputError(
                    f"{src}: {role} column '{col}' not found{did_you_mean(col, frame.columns)} "
                    f"(columns: {', '.join(frame.columns)})"
                )
    _check_roles_disjoint(src, strata, covariates, lists or [], count_column)
    if count_column is not None:
        if count_column not in frame.columns:
            raise InputError(
                f"{src}: count column '{count_column}' not found"
                f"{did_you_mean(count_column, frame.columns)} (columns: {', '.join(frame.columns)})"
            )
        if fmt == "records":
            raise InputError(
                f"{src}: a count column ('{count_column}') means the pattern-count "
                "layout, not records; drop --format records or the count column"
            )
    if fmt == "auto":
        fmt = "patterns" if (count_column is not None or COUNT in frame.columns) else "records"
    count = count_column or COUNT
    used = {*strata, *covariates, *(lists or []), *([count] if fmt == "patterns" else [])}
    if fmt == "patterns" and count not in frame.columns:
        like = [c for c in frame.columns if c.lower() in COUNT_LIKE and c not in used]
        hint = (
            f"; if '{like[0]}' holds the counts say --count-column {like[0]}"
            if like
            else did_you_mean(COUNT, frame.columns)
        )
        raise InputError(
            f"{src}: missing column 'count'{hint} (pattern-count tables need one 0/1 column per list plus 'count')"
        )
    _refuse_undeclared_counts(src, frame, used, fmt, count)
    if fmt == "patterns":
        if lists is None:
            lists = [c for c in frame.columns if c not in used]
        _refuse_undeclared(src, frame, {*used, *lists})
        return _from_patterns(frame, src, strata, lists, count)
    if lists is None:
        others = [c for c in frame.columns if c not in used]
        raise InputError(
            f"{src}: no 'count' column, so one row per person: name the list columns with "
            f"--lists (e.g. --lists {','.join(others[:3]) or 'A,B'}) and any other column with "
            "--strata or --covariates; or, for pattern counts, name the count column with "
            "--count-column"
        )
    _refuse_undeclared(src, frame, used)
    return _from_records(frame, src, strata, lists)


def _check_roles_disjoint(
    src: str, strata: list[str], covariates: list[str], lists: list[str], count: str | None
) -> None:
    roles = [("stratum", strata), ("covariate", covariates), ("list", lists), ("count", [count] if count else [])]
    for i, (role_a, names_a) in enumerate(roles):
        for role_b, names_b in roles[i + 1 :]:
            both = sorted(set(names_a) & set(names_b))
            if both:
                raise InputError(f"{src}: column '{both[0]}' is declared both as {role_a} and as {role_b}")


def _refuse_undeclared_counts(src: str, frame: pd.DataFrame, used: set[str], fmt: str, count: str) -> None:
    """A count-like header that is not the declared count column is an error, never a guess."""
    for col in frame.columns:
        if col in used or col.strip().lower() not in COUNT_LIKE:
            continue
        if fmt == "patterns":
            raise InputError(
                f"{src}: column '{col}' looks like a count, but the count column is '{count}'; "
                f"declare '{col}' with --covariates if it is not a count, or say "
                f"--count-column {col} if it is"
            )
        raise InputError(
            f"{src}: column '{col}' looks like a count, but only a column named exactly 'count' "
            f"is read as one; if it holds the number of people per row say --count-column {col}, "
            f"if each row is one person name the lists with --lists and declare '{col}' with "
            "--covariates"
        )


def _refuse_undeclared(src: str, frame: pd.DataFrame, used: set[str]) -> None:
    extra = [c for c in frame.columns if c not in used]
    if extra:
        raise InputError(
            f"{src}: column '{extra[0]}' is not a declared list, stratum or covariate; add it to "
            f"--lists, --strata or --covariates (columns are never guessed)"
        )


def _binary_columns(frame: pd.DataFrame, names: list[str], src: str) -> np.ndarray:
    values = frame[names].to_numpy()
    ok = np.isin(values, ["0", "1"])
    if not ok.all():
        row, col = np.argwhere(~ok)[0]
        raise InputError(
            f"{src}, line {row + 2}, column '{names[col]}': value '{values[row, col]}' "
            "is not 0 or 1 (a list column holds 1 for on the list, 0 for not)"
        )
    return (values == "1").astype(np.int8)


#: Most list columns a table may have: a table holds all 2**K - 1 patterns (2**20 int64 counts
#: is 8 MiB; each list more doubles it). The families have lower limits of their own.
MAX_LISTS = 20


def _check_lists(src: str, frame: pd.DataFrame, lists: list[str]) -> None:
    if len(lists) > MAX_LISTS:
        raise InputError(
            f"{src}: {len(lists)} list columns ({', '.join(lists[:4])}, ...); at most {MAX_LISTS} "
            "are read (a table holds all 2**K patterns); declare other columns with --covariates"
        )
    for name in lists:
        if name not in frame.columns:
            raise InputError(f"{src}: list column '{name}' not found{did_you_mean(name, frame.columns)}")
    if len(lists) < 2:
        raise InputError(f"{src}: need at least two list columns, found {len(lists)} ({lists})")


_INTEGER = re.compile(r"^[+]?\d+$")


def _parse_counts(frame: pd.DataFrame, src: str, column: str) -> np.ndarray:
    raw = frame[column].to_numpy()
    counts = np.empty(len(raw), dtype=np.int64)
    total = 0
    for i, text in enumerate(raw):
        where = f"{src}, line {i + 2}, column '{column}'"
        text = str(text).strip()
        if _INTEGER.match(text):
            value: int | float = int(text)
        else:
            try:
                value = float(text)
            except ValueError:
                raise InputError(f"{where}: '{text}' is not a number") from None
            if np.isfinite(value) and value < 0:
                raise InputError(f"{where}: negative count {text}")
            if not np.isfinite(value) or value != int(value):
                raise InputError(f"{where}: count {text} is not a whole number")
            value = int(value)
        if value < 0:
            raise InputError(f"{where}: negative count {text}")
        total += value
        if value > MAX_COUNT or total > MAX_COUNT:
            raise InputError(
                f"{where}: count {text} is too large (counts and their total must stay below "
                f"2**53 = {MAX_COUNT:,}, the largest whole number float64 holds exactly)"
            )
        counts[i] = value
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
        number = float(value)
    except ValueError:
        return (1, value)
    # NaN never compares, so it would scramble the sort: order it with the text labels.
    return (0, number) if np.isfinite(number) or np.isinf(number) else (1, value)


def _from_patterns(frame: pd.DataFrame, src: str, strata: list[str], lists: list[str], count: str) -> CaptureTable:
    _check_lists(src, frame, lists)
    member = _binary_columns(frame, lists, src)
    counts = _parse_counts(frame, src, count)
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


def _from_records(frame: pd.DataFrame, src: str, strata: list[str], lists: list[str]) -> CaptureTable:
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
    empty = np.flatnonzero(flat.sum(axis=1) == 0)
    if empty.size:
        # A stratum nobody was seen in has no information about its size (and its all-zero
        # table has no maximum-likelihood estimate), so it cannot be fitted.
        codes = np.unravel_index(int(empty[0]), shape)
        label = ", ".join(f"{k}={v[c]}" for (k, v), c in zip(levels.items(), codes, strict=True))
        raise InputError(
            f"{src}: stratum ({label}) has no observations; a stratum nobody was seen in cannot "
            "be estimated: remove it or use fewer --strata"
        )
    return make_table(lists, flat[:, 1:].reshape(*shape, -1), strata=levels, source=src)
