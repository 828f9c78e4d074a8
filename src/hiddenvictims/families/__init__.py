"""Model families: one :class:`Family` record each, the one place that says what a family can do.

The registry is closed: a spec's ``family`` selects one of these records, never an import path.
A record says how to fit the family, and, where the family can, how its posterior feeds
scenarios (capture draws and list roles), how it is refitted to simulated lists (monitoring
precision) and which of its models the default comparison shows.

The records name their functions (:class:`Deferred`) instead of importing the family modules:
reading the registry (a dry run asking whether a family can refit, a scenario config asking for
its list roles) must not load PyMC and ArviZ, which cost seconds of CPU. A family's module is
imported at the first call of one of its functions.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core import capture, graphs
from ..core.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from ..core.capture import CaptureDraws
    from ..core.estimate import Estimate
    from ..core.spec import SamplerSettings
    from ..core.table import CaptureTable


@dataclass(frozen=True)
class Deferred:
    """The function ``name`` of ``module``, imported when first called (picklable: the module and
    the name travel, not the function)."""

    module: str
    name: str

    def resolve(self) -> Callable:
        return getattr(importlib.import_module(self.module), self.name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)


def _of(family_module: str, name: str) -> Deferred:
    return Deferred(f"{__name__}.{family_module}", name)


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


#: What the anonymous family's refit (``anonymous.refit_from_patterns``) leaves out of its
#: simulated next year, stated with every monitoring-precision result.
ANONYMOUS_PRECISION_CAVEATS: tuple[str, ...] = (
    "Simulated next years are reduced to what the Dutch sources publish: the register's total "
    "per year (none for 2021, as now), the chat's victims per year and its minors where "
    "counted now, and the share 'already known to police or care' as a whole percent for "
    "2020 only, with the self-report's rates (s, f) taken from one posterior draw.",
    "The chat counts each victim at most once a year (unique first-time visitors); repeat "
    "contacts, and chat users who are not Dutch victims, are not simulated.",
    "The refits use the same priors: the dependence between chat and register (theta) stays "
    "unidentified, so intervals narrow only as far as the observed margins allow.",
)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "loglinear",
            fit=_of("loglinear", "fit"),
            capture_draws=capture.from_loglinear,
            list_roles=_table_roles,
            refit=_of("loglinear", "refit_from_patterns"),
            comparison=(
                ("independence", {"name": "independence"}),
                ("two-way", {"name": "two-way", "interactions": ["all-two-way"]}),
            ),
        ),
        Family("averaging", fit=_of("averaging", "fit"), comparison=(("averaging", {"name": "averaging"}),)),
        Family(
            "latent_class", fit=_of("latent_class", "fit"), comparison=(("latent class", {"name": "latent-class"}),)
        ),
        Family(
            "anonymous",
            # needs AnonymousData, not a linked table: fit_table explains that for a table
            fit=_of("anonymous", "fit_table"),
            capture_draws=_of("anonymous", "capture_draws"),
            list_roles=_anonymous_roles,
            refit=_of("anonymous", "refit_from_patterns"),
            precision_caveats=ANONYMOUS_PRECISION_CAVEATS,
        ),
    )
}


#: Most lists each family takes, and why. Every family works on all 2**K - 1 capture
#: patterns. Log-linear (and the anonymous family's linked part): the existence check solves
#: linear programs over the cells x terms; with all two-way terms it took 22 s and 0.5 GB at 10
#: lists, 59 s and 1.3 GB at 12, and asked for 32 GiB at 16. Averaging: a graph's edge set is
#: a 64-bit mask (55 pairs at 11 lists). Latent classes: cost grows with the observed patterns
#: only, but the table holds all 2**K.
MAX_LISTS: dict[str, int] = {
    "loglinear": 12,
    "anonymous": 12,
    "averaging": graphs.MAX_LISTS,
    "latent_class": 16,
}


def fit(table: CaptureTable, spec, sampler: SamplerSettings) -> Estimate:
    """Fit ``spec`` (any family) to ``table``; refuses more lists than the family handles."""
    limit = MAX_LISTS[spec.family]
    if table.n_lists > limit:
        raise InputError(
            f"{table.source}: {table.n_lists} lists, but the {spec.family} family handles at "
            f"most {limit} (its cost grows as 2**K): drop or merge lists (table.drop_lists)"
        )
    return FAMILIES[spec.family].fit(table, spec, sampler)
