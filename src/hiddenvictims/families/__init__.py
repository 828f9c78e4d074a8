"""Model families: each module exposes ``fit(table, spec, sampler) -> Estimate``.

The registry is closed: a spec's ``family`` selects one of these entries, never an import path.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.estimate import Estimate
from ..core.spec import SamplerSettings
from ..core.table import CaptureTable
from . import anonymous, averaging, latent_class, loglinear

FAMILIES: dict[str, Callable[..., Estimate]] = {
    "loglinear": loglinear.fit,
    "averaging": averaging.fit,
    "latent_class": latent_class.fit,
    # needs AnonymousData, not a linked table: the entry explains that (see families.anonymous)
    "anonymous": anonymous.fit_table,
}


def fit(table: CaptureTable, spec, sampler: SamplerSettings) -> Estimate:
    """Fit ``spec`` (any family) to ``table``."""
    return FAMILIES[spec.family](table, spec, sampler)
