"""Model families: each module exposes ``fit(table, spec, sampler) -> Estimate``.

The registry is closed: a spec's ``family`` selects one of these entries, never an import path.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import InputError
from ..estimate import Estimate
from ..spec import SamplerSettings
from ..table import CaptureTable
from . import anonymous, averaging, latent_class, loglinear

FAMILIES: dict[str, Callable[..., Estimate]] = {
    "loglinear": loglinear.fit,
    "averaging": averaging.fit,
    "latent_class": latent_class.fit,
    # needs AnonymousData, not a linked table: the entry explains that (see families.anonymous)
    "anonymous": anonymous.fit_table,
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
    "averaging": averaging.MAX_LISTS,
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
    return FAMILIES[spec.family](table, spec, sampler)
