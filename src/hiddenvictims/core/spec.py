"""Model specifications (the TOML files in ``models/``) and sampler settings.

A spec says *what* to fit; the family modules in :mod:`hiddenvictims.families` say *how*.
Each family has its own spec class; ``ModelSpec`` is their union, told apart by ``family``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from . import config
from .config import PriorMean, PriorSd, Seed, Shape, Strict
from .errors import InputError, did_you_mean

ALL_TWO_WAY = "all-two-way"


class LoglinearPriors(Strict):
    """Normal priors on the log-linear parameters (log scale).

    The intercept is the log expected count of the unobserved (all-zero) cell; a wide Normal on
    it is close to the customary p(N) proportional to 1/N. Main effects are log odds-like
    contrasts of being on one list; interactions are log odds ratios of list dependence. The
    interaction scale is what pins down terms the data cannot identify (see ``checks``).
    """

    intercept_mu: PriorMean = 0.0
    intercept_sd: PriorSd = 10.0
    main_sd: PriorSd = 10.0
    interaction_sd: PriorSd = 2.0


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
    delta: float | None = Field(None, ge=1e-6, le=1e3)
    prior_n: Literal["one_over_n", "uniform"] = "one_over_n"
    grid_multiplier: int = Field(16, ge=2, le=10_000)
    nmissing_max: int | None = Field(None, ge=1, le=10**9)
    search: Literal["auto", "exact", "mc3"] = "auto"
    max_lists_exact: int = Field(6, ge=2, le=6)
    mc3_iterations: int = Field(20000, ge=100, le=10**8)
    mc3_burn_in: int = Field(1000, ge=0, le=10**8)
    top_models: int = Field(10, ge=1, le=10_000)


class DependencePrior(Strict):
    """Normal prior on theta, the log odds ratio between the anonymous list and the linked lists.

    theta < 0: people on the anonymous list avoid the linked lists (chat users avoid police);
    theta > 0: referral (the chat sends people on). No data identify theta; ``sd = 0`` fixes it.
    """

    mean: PriorMean = 0.0
    sd: float = Field(1.0, ge=0, le=1e3)

    @model_validator(mode="after")
    def _zero_or_proper(self) -> DependencePrior:
        if 0 < self.sd < 1e-3:
            raise ValueError("sd must be 0 (theta fixed) or at least 0.001")
        return self


class MismatchPrior(Strict):
    """Beta priors for self-reported "known to police or care" versus "on the register".

    A member of the anonymous list who is on the register says "known" with probability s
    (sensitivity, Beta(sensitivity_a, sensitivity_b)); one who is not says "known" with
    probability f (known to an agency that did not register them; Beta(false_known_a,
    false_known_b)). Both are integrated out exactly (Beta-binomial), so the reported count
    enters the likelihood as a fixed function of the overlap. Used only for self-reports.
    """

    sensitivity_a: Shape = 9.0
    sensitivity_b: Shape = 1.0
    false_known_a: Shape = 2.0
    false_known_b: Shape = 8.0


class PoolingSpec(Strict):
    """Partial pooling across groups and a random walk across time, for every coefficient.

    coefficient[time, group] = mean + offset[group] + sum of steps up to ``time``, with
    offset ~ Normal(0, group_sd) and step ~ Normal(0, rw_sd). Fixed scales (no hyperpriors):
    with a handful of strata they could not be learned, so they are stated, not estimated.
    """

    group_dim: str | None = None
    time_dim: str | None = None
    group_sd: PriorSd = 1.0
    rw_sd: PriorSd = 0.5


class InformativePrior(Strict):
    """Evidence from an earlier study: a prior on N or on a list's coverage in selected strata.

    ``quantity = "N"``: log of the expected population size ~ Normal(log(median), sd).
    ``quantity = "coverage"``: logit of the share of the population on ``list`` ("register" for
    the linked lists together, or the anonymous list's name) ~ Normal(logit(median), sd).
    ``where`` selects strata by coordinate (e.g. ``{age = "minor"}``); the prior applies to each.
    """

    quantity: Literal["N", "coverage"]
    list: str = "register"
    where: dict[str, str | int] = Field(default_factory=dict)
    median: float = Field(gt=0, le=1e12)
    sd: PriorSd
    label: str = ""


class AnonymousSpec(Strict):
    """Linked lists plus one list without linkage (``families.anonymous``).

    ``interactions`` are terms among the linked lists (as for ``loglinear``); the anonymous
    list's dependence on them is the single parameter theta (``dependence``). ``priors`` covers
    the linked log-linear coefficients; ``anonymous_mu``/``anonymous_sd`` the anonymous list's
    main effect alpha. With a single linked list (the register) the model is parametrised by
    the log expected counts of the cells (register only, anonymous only, both), each with prior
    Normal(``cell_mu``, ``cell_sd``), and the never-listed cell is lam10 lam01 / lam11 exp(theta).
    ``pooling`` (optional) ties strata together; ``informative`` adds evidence priors.

    ``parameterisation`` (one linked list only) is how NUTS explores that same model: ``cells``
    samples the (pooled, whitened) log cell means; ``margins`` samples per stratum the log
    expected register total, the log expected anonymous total (as a log total plus log shares
    across groups where a unit's figure is known only summed over groups) and the overlap on a
    logit scale, adding the log-Jacobian, so the posterior is exactly the same; the data pin
    the margins, which makes the curved ridges of the cell coordinates near-straight.
    """

    family: Literal["anonymous"] = "anonymous"
    name: str = "anonymous"
    description: str = ""
    interactions: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    priors: LoglinearPriors = Field(default_factory=LoglinearPriors)
    anonymous_mu: PriorMean = 0.0
    anonymous_sd: PriorSd = 10.0
    cell_mu: PriorMean = 0.0
    cell_sd: PriorSd = 10.0
    dependence: DependencePrior = Field(default_factory=DependencePrior)
    mismatch: MismatchPrior = Field(default_factory=MismatchPrior)
    pooling: PoolingSpec | None = None
    informative: list[InformativePrior] = Field(default_factory=list)
    parameterisation: Literal["cells", "margins"] = "cells"


class LatentClassSpec(Strict):
    """Latent-class heterogeneity model (Manrique-Vallier 2016; R package LCMCR).

    Up to ``n_classes`` classes (truncated stick-breaking, Dirichlet-process concentration
    alpha ~ Gamma(``alpha_shape``, rate ``alpha_rate``)); within a class, lists independent with
    capture probabilities ~ Beta(``capture_a``, ``capture_b``). Defaults are LCMCR's (K = 10 as
    in its published runs).

    ``sampler``: 'tempering' (default) runs parallel tempering over ``temperatures`` inverse
    temperatures from 1 down to ``min_beta`` with HMC moves of length ``trajectory`` (in posterior
    standard deviations) and at most ``max_leapfrog`` steps, keeping one draw every ``thin``
    iterations (short moves and more of them: more swaps, so more mode changes, per second), and
    moves between mixture configurations that NUTS chains cannot leave; after every HMC move it
    tries ``relabel`` exchanges of two classes (exact Metropolis-Hastings; the stick-breaking
    prior is not label-exchangeable, so without them a chain keeps the class order its warm-up
    ended in; 0 turns them off); 'nuts' samples the
    PyMC model with NUTS. ``target_accept``, when set, replaces the sampler settings' as the
    step-size target of either sampler (None keeps the sampler settings').
    """

    family: Literal["latent_class"] = "latent_class"
    name: str = "latent-class"
    description: str = ""
    n_classes: int = Field(10, ge=1, le=50)
    alpha_shape: Shape = 0.25
    alpha_rate: Shape = 0.25
    capture_a: Shape = 1.0
    capture_b: Shape = 1.0
    sampler: Literal["tempering", "nuts"] = "tempering"
    temperatures: int = Field(10, ge=1, le=64)
    min_beta: float = Field(0.03, ge=1e-4, le=1)
    trajectory: float = Field(1.0, ge=0.01, le=100)
    max_leapfrog: int = Field(64, ge=1, le=4096)
    thin: int = Field(2, ge=1, le=1000)
    relabel: int = Field(3, ge=0, le=100)
    target_accept: float | None = Field(None, gt=0, lt=1)


ModelSpec = Annotated[LoglinearSpec | AveragingSpec | AnonymousSpec | LatentClassSpec, Field(discriminator="family")]


class SamplerSettings(Strict):
    """How to sample: NUTS with PyMC (``auto``/``pymc``) or nutpie (compiled once per structure,
    then reused: the faster choice for many fits of one model in one process)."""

    draws: int = Field(1000, ge=10, le=10**6)
    tune: int = Field(1000, ge=0, le=10**6)
    chains: int = Field(4, ge=1, le=64)
    cores: int | None = Field(None, ge=1, le=1024)
    seed: Seed = 20261125
    backend: Literal["auto", "pymc", "nutpie"] = "auto"
    target_accept: float = Field(0.9, gt=0, lt=1)
    progressbar: bool = False
    #: How PyMC's sampler compiles the model: "c" (PyTensor's C backend; cached on disk, so a
    #: second run starts in about a second) or "numba" (about 45 s to compile, not cached across
    #: processes, but each gradient costs less: 229 against 516 us on the Dutch baseline). Choose
    #: "numba" for one long run; nutpie always compiles with Numba and ignores this.
    compile_mode: Literal["c", "numba"] = "c"


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
    """Read a model TOML (keys at top level, ``family`` selects the spec class); a bundled
    model's name (``two-way``) works from any directory."""
    from ..data import resolve

    path = resolve("model", path)
    return parse_model_spec(config.read_toml(path), str(path))
