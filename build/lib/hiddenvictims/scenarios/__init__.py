"""Scenario engine: what if anonymous online help were easier to find and linked to care?

Data flow: config (:mod:`.schema`) -> fit -> CaptureDraws (:mod:`.pipeline`) -> interventions
(:mod:`.interventions`) -> outcomes (:mod:`.forward`) -> precision (:mod:`.precision`), sweeps
(:mod:`.sweep`), tables and plots (:mod:`.report`); :mod:`.run` writes results folders and
:mod:`.cli` is the ``hiddenvictims scenario`` command.
"""

from __future__ import annotations

# (the module `forward` is not shadowed by its function of the same name: import that from .forward)
from .forward import OUTCOMES, scenario_outcomes, summarise_outcomes
from .interventions import REGISTRY, apply

__all__ = ["OUTCOMES", "REGISTRY", "apply", "scenario_outcomes", "summarise_outcomes"]
