"""Model specifications (the TOML files in ``models/``) and sampler settings.

A spec says *what* to fit; the family modules in :mod:`hiddenvictims.families` say *how*.
Each family has its own spec class; ``ModelSpec`` is their union, told apart by ``family``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from . import config
from .config import Strict

ALL_TWO_WAY = "all-two-way"


class LoglinearPriors(Strict):
    """Normal priors on the log-linear parameters (log scale).

    The intercept is the log expected count of the unobserved (all-zero) cell; a wide Normal on
    it is close to the customary p(N) proportional to 1/N. Main effects are log odds-like
    contrasts of being on one list; interactions are log odds ratios of list dependence. The
    interaction scale is what pins down terms the data cannot identify (see ``checks``).
    """

    intercept_mu: float = 0.0
    intercept_sd: float = Field(10.0, gt=0)
    main_sd: float = Field(10.0, gt=0)
    interaction_sd: float = Field(2.0, gt=0)


class LoglinearSpec(Strict):
    """A hierarchical Poisson log-linear model: main effects plus chosen interactions.

    ``interactions`` holds terms such as ``"A:B"`` or ``"A:B:C"`` (list names joined by ':'),
    or the token ``"all-two-way"``. Lower-order terms implied by a higher-order one are added
    (hierarchy). ``exclude`` removes terms after expansion.
    """

    family: Literal["loglinear"] = "loglinear"
    name: str = "loglinear"
    description: str = ""
    interactions: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    priors: LoglinearPriors = Field(default_factory=LoglinearPriors)


ModelSpec = Annotated[LoglinearSpec, Field(discriminator="family")]


class SpecFile(Strict):
    """Top level of a model TOML file: the spec itself (validated by family)."""

    model: ModelSpec


class SamplerSettings(Strict):
    """How to sample. ``backend='auto'`` uses nutpie when installed, else PyMC's NUTS."""

    draws: int = Field(1000, ge=10)
    tune: int = Field(1000, ge=0)
    chains: int = Field(4, ge=1)
    cores: int | None = Field(None, ge=1)
    seed: int = Field(20261125, ge=0)
    backend: Literal["auto", "pymc", "nutpie"] = "auto"
    target_accept: float = Field(0.9, gt=0, lt=1)
    progressbar: bool = False


def load_model_spec(path: str | Path) -> LoglinearSpec:
    """Read a model TOML (keys at top level, ``family`` selects the spec class)."""
    data = config.read_toml(path)
    return config.parse(SpecFile, {"model": data}, str(path)).model


def parse_model_spec(data: dict, source: str) -> LoglinearSpec:
    return config.parse(SpecFile, {"model": data}, source).model
