"""Model specifications (the TOML files in ``models/``) and sampler settings.

A spec says *what* to fit; the family modules in :mod:`hiddenvictims.families` say *how*.
Each family has its own spec class; ``ModelSpec`` is their union, told apart by ``family``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field

from . import config
from .config import Strict
from .errors import InputError, did_you_mean

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


class AveragingSpec(Strict):
    """Bayesian model averaging over decomposable graphical models (Madigan & York 1997; dga).

    Hyper-Dirichlet prior with ``delta`` per cell of the full table (None: dga's 2**-K), a prior
    on N over the grid N = n_observed .. ``grid_multiplier`` x n_observed (step 1; or up to
    n_observed + ``nmissing_max`` when given) and a uniform prior over graphs. ``search``:
    ``exact`` enumerates every decomposable graph (K <= ``max_lists_exact``), ``mc3`` runs the
    Metropolis search over graphs (``mc3_iterations`` steps per chain, one chain per sampler
    chain), ``auto`` picks exact when K <= ``max_lists_exact``. Stratified tables are fitted
    stratum by stratum (lists inactive in a stratum are dropped there).
    """

    family: Literal["averaging"] = "averaging"
    name: str = "averaging"
    description: str = ""
    delta: float | None = Field(None, gt=0)
    prior_n: Literal["one_over_n", "uniform"] = "one_over_n"
    grid_multiplier: int = Field(16, ge=2)
    nmissing_max: int | None = Field(None, ge=1)
    search: Literal["auto", "exact", "mc3"] = "auto"
    max_lists_exact: int = Field(6, ge=2, le=6)
    mc3_iterations: int = Field(20000, ge=100)
    mc3_burn_in: int = Field(1000, ge=0)
    top_models: int = Field(10, ge=1)


ModelSpec = Annotated[LoglinearSpec | AveragingSpec, Field(discriminator="family")]


class SamplerSettings(Strict):
    """How to sample: NUTS with PyMC (``auto``/``pymc``) or nutpie (compiled once per structure,
    then reused: the faster choice for many fits of one model in one process)."""

    draws: int = Field(1000, ge=10)
    tune: int = Field(1000, ge=0)
    chains: int = Field(4, ge=1)
    cores: int | None = Field(None, ge=1)
    seed: int = Field(20261125, ge=0)
    backend: Literal["auto", "pymc", "nutpie"] = "auto"
    target_accept: float = Field(0.9, gt=0, lt=1)
    progressbar: bool = False


def spec_classes() -> dict[str, type[Strict]]:
    """family name -> spec class, taken from the members of the ``ModelSpec`` union."""
    union = get_args(ModelSpec)[0]
    members = get_args(union) or (union,)
    return {cls.model_fields["family"].default: cls for cls in members}


def parse_model_spec(data: dict, source: str):
    """Validate a model spec table; errors name the key without any wrapper prefix."""
    classes = spec_classes()
    family = data.get("family")
    if family is None:
        raise InputError(f"{source}: missing key 'family' (one of: {', '.join(classes)})")
    if family not in classes:
        raise InputError(
            f"{source}: key 'family': unknown model family '{family}'"
            f"{did_you_mean(str(family), classes)} (one of: {', '.join(classes)})"
        )
    return config.parse(classes[family], data, source)


def load_model_spec(path: str | Path):
    """Read a model TOML (keys at top level, ``family`` selects the spec class)."""
    return parse_model_spec(config.read_toml(path), str(path))
