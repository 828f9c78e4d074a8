"""The evidence synthesis as the baseline of a scenario.

A scenario on the Dutch default needs, before anything is fitted, the lists and strata its
interventions may name and the hash of the data the baseline is fitted to (to decide whether the
baseline's results folder can be reused); and, when no results folder matches, the baseline's
posterior from the main fit alone (the leave-one-out checks are the baseline run's business, not
a scenario's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from .evidence import AGES

#: The lists a scenario may name: the register (linked) and the anonymous chat.
REGISTER, CHAT = "register", "chat"


@dataclass(frozen=True)
class SynthesisInputs:
    """What the scenario pipeline reads of the synthesis before fitting."""

    years: tuple[int, ...]
    source: str = "hiddenvictims.data/netherlands (bundled public figures)"
    lists: tuple[str, ...] = (REGISTER, CHAT)
    register: tuple[str, ...] = (REGISTER,)
    anonymous: tuple[str, ...] = (CHAT,)

    def data_hash(self) -> str:
        from .synthesis_fit import data_hash

        return data_hash()

    def strata_coords(self) -> dict[str, np.ndarray]:
        return {"year": np.array(self.years), "age": np.array(AGES)}


def main_fit(cfg, spec=None, prep=None):
    """(prepared model, sampler result, posterior dataset) of the main fit of a
    synthesis config (``spec`` replaces its model, e.g. with a scenario's prior overrides;
    ``prep``: the model already prepared from it)."""
    from .pipeline import dutch_figures
    from .synthesis_fit import compile_fit, posterior_dataset, prepare

    years = tuple(cfg.years)
    if prep is None:
        prep = prepare(spec if spec is not None else cfg.model, years)
    s = cfg.sampler
    result = compile_fit(prep, s.chains, s.tune, s.draws, s.target_accept)(prep.data, s.seed)
    ds = posterior_dataset(prep, result.position, prep.data, dutch_figures(years), years, s.seed)
    return prep, result, ds


def fit_posterior(cfg, spec=None) -> xr.Dataset:
    """The baseline posterior (counts per chain, draw, year and age) from the main fit alone."""
    return main_fit(cfg, spec)[2]
