"""Model families: one :class:`Family` record each, the one place that says what a family can do.

The registry is closed: a spec's ``family`` selects one of these records, never an import path.
A record says how to fit the family, and, where the family can, how its posterior feeds
scenarios (capture draws and list roles), how it is refitted to simulated lists (monitoring
precision) and which of its models the default comparison shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import capture
from ..core.capture import CaptureDraws
from ..core.estimate import Estimate
from ..core.spec import SamplerSettings
from ..core.table import CaptureTable
from . import anonymous, averaging, latent_class, loglinear


@dataclass(frozen=True)
class ListRoles:
    """The lists a family's input has before fitting: all, the register's, the anonymous ones,
    and the stratum levels (dim -> labels)."""

    lists: tuple[str, ...]
    register: tuple[str, ...]
    anonymous: tuple[str, ...]
    strata: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Family:
    """What one model family can do. ``None``: the family cannot do that (yet)."""

    name: str
    #: fit(data, spec, sampler) -> Estimate; data is a CaptureTable (or the family's own input).
    fit: Callable[[Any, Any, SamplerSettings], Estimate]
    #: Estimate -> CaptureDraws (N and the probability of every capture pattern), for scenarios.
    capture_draws: Callable[[Estimate], CaptureDraws] | None = None
    #: input data -> its lists and strata, known before fitting (scenario configs checked early).
    list_roles: Callable[[Any], ListRoles] | None = None
    #: refit(estimate, full-pattern counts (*strata, 2**K), sampler) -> draws of total N.
    refit: Callable[[Estimate, np.ndarray, SamplerSettings], np.ndarray] | None = None
    #: What a simulated "next year" leaves out, stated with every monitoring-precision result.
    precision_caveats: tuple[str, ...] = ()
    #: Models of this family in the default comparison: (label, spec fields).
    comparison: tuple[tuple[str, dict], ...] = ()


def _table_roles(table: CaptureTable) -> ListRoles:
    strata = {d: tuple(str(v) for v in table.counts[d].values) for d in table.strata}
    return ListRoles(table.lists, table.lists, (), strata)


def _anonymous_roles(data: Any) -> ListRoles:
    """AnonymousData: lists (linked..., anonymous), the register is the linked lists."""
    strata = {d: tuple(str(v) for v in values) for d, values in data.strata_coords().items()}
    return ListRoles(tuple(data.lists), tuple(data.linked_lists), (data.anonymous.name,), strata)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "loglinear",
            fit=loglinear.fit,
            capture_draws=capture.from_loglinear,
            list_roles=_table_roles,
            refit=loglinear.refit_from_patterns,
            comparison=(("independence", {"name": "independence"}),
                        ("two-way", {"name": "two-way", "interactions": ["all-two-way"]})),
        ),
        Family("averaging", fit=averaging.fit, comparison=(("averaging", {"name": "averaging"}),)),
        Family("latent_class", fit=latent_class.fit,
               comparison=(("latent class", {"name": "latent-class"}),)),
        Family(
            "anonymous",
            # needs AnonymousData, not a linked table: fit_table explains that for a table
            fit=anonymous.fit_table,
            capture_draws=anonymous.capture_draws,
            list_roles=_anonymous_roles,
            refit=anonymous.refit_from_patterns,
            precision_caveats=anonymous.PRECISION_CAVEATS,
        ),
    )
}


def fit(table: CaptureTable, spec, sampler: SamplerSettings) -> Estimate:
    """Fit ``spec`` (any family) to ``table``."""
    return FAMILIES[spec.family].fit(table, spec, sampler)
