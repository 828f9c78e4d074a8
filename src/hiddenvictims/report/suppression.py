"""Small-cell suppression that holds: no count from 1 to threshold-1 can be read or worked out.

Primary suppression hides every count in [1, threshold). Complementary suppression then hides
one more cell in every additive relation (a total and its parts) that has exactly one hidden
cell, because a total minus its other shown parts would give the hidden one back; this repeats
until no relation has a single hidden cell. Estimates whose difference is an observed count
(an estimated total minus its estimated unregistered part is the registered count) are handled
by :func:`implied_counts` in the report: the row's derived cells are hidden as well.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence

from ..core.constants import SMALL_COUNT_SUPPRESS

Relation = tuple[Hashable, Sequence[Hashable]]


def is_small(value: float | None, threshold: int = SMALL_COUNT_SUPPRESS) -> bool:
    """A count that must not be shown: it rounds to 1 .. threshold-1."""
    if value is None or not math.isfinite(value):
        return False
    return 0 < round(value) < threshold


SMALL, COMPLEMENT = "small", "complement"
#: How a complementary cell shows: not "<5" (it is not small), just "not shown".
COMPLEMENT_MARK = "x"


def suppressed_cells(
    counts: Mapping[Hashable, float],
    relations: Iterable[Relation] = (),
    threshold: int = SMALL_COUNT_SUPPRESS,
) -> dict[Hashable, str]:
    """Keys of ``counts`` to hide, each with why (SMALL or COMPLEMENT): the small ones, plus
    complementary cells so that no relation ``total = sum(parts)`` (cells absent from
    ``counts`` are not shown, so they do not count) has exactly one hidden member."""
    hidden = {key: SMALL for key, value in counts.items() if is_small(value, threshold)}
    relations = [(total, list(parts)) for total, parts in relations]
    changed = True
    while changed:
        changed = False
        for total, parts in relations:
            members = [k for k in (total, *parts) if k in counts]
            if len(members) < len(parts) + 1:
                continue  # a member is not shown at all: nothing can be recovered from this one
            if sum(k in hidden for k in members) != 1:
                continue
            candidates = [k for k in parts if k not in hidden] or [total]
            # The smallest shown part gives away least; a zero would reveal nothing when hidden,
            # so prefer a positive one.
            pick = min(candidates, key=lambda k: (counts[k] <= 0, counts[k]))
            hidden[pick] = COMPLEMENT
            changed = True
    return hidden


def shown_count(value: float | None, why: str | None, threshold: int, fmt) -> str:
    """The text of a count: ``<threshold`` when small, ``x`` when hidden to protect a small
    one, else ``fmt(value)``."""
    if why == SMALL:
        return f"<{threshold}"
    if why == COMPLEMENT:
        return COMPLEMENT_MARK
    return fmt(value)
