"""Scenario configs (TOML in ``scenarios/``): a run config plus interventions, sweep, outputs.

A scenario config is a baseline config with scenario keys added. The baseline is a run config
(:class:`~hiddenvictims.core.runconfig.RunConfig`: ``name``, ``data``, ``model``, ``sampler``,
``output``) or, with ``kind = "netherlands"``, the Dutch anonymous-list baseline
(:class:`~hiddenvictims.studies.netherlands.pipeline.NetherlandsConfig`); each part is validated by its owner's
schema. The additions:

``extends``        another config whose keys this one starts from: a path relative to this
                   file's folder or a bundled config's name (tables merge key by key,
                   anything else, e.g. the ``interventions`` array, is replaced; the base's
                   own file paths stay relative to its folder). Scenarios extend a baseline,
                   so they share its data and model.
``[priors]``       overrides of the model spec's ``[priors]`` (same keys as the spec).
``[roles]``        which lists are the anonymous chat and which make up the register, when
                   the model family does not say so itself (the log-linear family does not).
``[[interventions]]`` tagged tables from the closed registry, ``kind = "chat_reach"`` etc.
``[precision]``    monitoring precision: simulate next year's lists under the scenario, refit.
``[sweep]``        a grid over intervention parameters (``[[sweep.axes]]``).
``[output]``       folder, expected vs predictive counts, margins, plots and their languages.

Unknown keys are rejected with their path and a "did you mean" hint; every error is one line
naming the file and the key.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)

from ..core import config, config_errors
from ..core.config import Strict
from ..core.errors import InputError, did_you_mean
from ..core.runconfig import OutputSection, RunConfig
from ..data import resolve as resolve_file
from .interventions import INTERVENTION_LIST, REGISTRY, Intervention


class RolesSection(Strict):
    """Roles of the lists for scenarios.

    The log-linear family knows lists only by name; here a demonstration config says which list
    stands in for the chat. A family that knows its roles (the Dutch anonymous-list model names
    its chat list 'chat') needs no ``[roles]``.
    """

    # 'register' is also a method of every pydantic model class (ABCMeta), hence the alias.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)

    anonymous: list[str] | None = Field(None, description="Lists that are anonymous (the chat).")
    register_lists: list[str] | None = Field(
        None,
        alias="register",
        description="Lists that make up the register (default: every list not anonymous).",
    )
    rename: dict[str, str] = Field(
        default_factory=dict,
        description="New names for lists, e.g. {Z = 'chat'}; used everywhere after renaming.",
    )
    referral_to: str | None = Field(None, description="Register list that referrals enter by default.")
    note: str = Field("", description="Shown in every report (e.g. 'demonstration: Z stands in for the chat').")


class ScenarioOutput(OutputSection):
    """Where and what to write."""

    dir: str = Field("", description="Results folder (default results/scenarios/<config stem>).")
    mode: Literal["expected", "predictive"] = Field(
        "expected",
        description="expected: N x probability per draw; predictive: multinomial counts "
        "per draw (common random numbers across scenarios).",
    )
    by: list[str] = Field(
        default_factory=list,
        description="Stratum dims to report margins for "
        "(e.g. ['year']); every stratum and the total are always reported.",
    )
    plots: bool = True
    languages: list[Literal["en", "nl"]] = Field(default_factory=lambda: ["en", "nl"], min_length=1)
    draws: bool = Field(True, description="Also write the per-draw outcomes (outcomes.nc).")


class PrecisionSection(Strict):
    """Monitoring precision: width of next year's interval if the lists were observed under the
    scenario. Each replicate draws a population and its lists from one posterior draw, then refits
    the same model; a small number of replicates is used, and stated, because each is a full fit."""

    enabled: bool = False
    replicates: int = Field(20, ge=2, le=1000)
    draws: int = Field(500, ge=50, le=10**6)
    tune: int = Field(500, ge=0, le=10**6)
    chains: int = Field(2, ge=1, le=64)
    backend: Literal["auto", "pymc", "nutpie"] = Field(
        "auto", description="nutpie compiles once and reuses the compiled model for every refit."
    )
    seed: int | None = Field(None, ge=0, lt=2**32, description="Default: sampler.seed + 1.")


class SweepAxis(Strict):
    """One swept parameter: ``path`` into the interventions, and its values."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Dimension name in sweep.nc.")
    path: str = Field(
        description="e.g. 'interventions.0.multiplier' or "
        "'interventions.1.steps.0.probability' or 'interventions.2.multipliers.P'."
    )
    values: list[float] | None = None
    start: float | None = None
    stop: float | None = None
    num: int | None = Field(None, ge=2, le=100_000)
    label: str | None = Field(None, description="Axis label on plots (default: name).")

    @model_validator(mode="after")
    def _one_grid(self) -> SweepAxis:
        ranged = (self.start, self.stop, self.num)
        if self.values is not None:
            if any(v is not None for v in ranged):
                raise ValueError("give either 'values' or 'start', 'stop' and 'num', not both")
            if not self.values:
                raise ValueError("'values' is empty")
        elif any(v is None for v in ranged):
            raise ValueError("give 'values', or all of 'start', 'stop' and 'num'")
        return self

    def grid(self) -> np.ndarray:
        if self.values is not None:
            return np.asarray(self.values, dtype=np.float64)
        return np.linspace(self.start, self.stop, self.num)


class SweepSection(Strict):
    """A grid: one dimension per axis; cells run in parallel through Dask, in chunks."""

    axes: list[SweepAxis] = Field(min_length=1)
    chunk_size: int = Field(20, ge=1, le=100_000, description="Cells per Dask task and checkpoint.")
    workers: int = Field(2, ge=0, le=512, description="Local Dask workers (0: run in this process).")

    @model_validator(mode="after")
    def _unique(self) -> SweepSection:
        names = [a.name for a in self.axes]
        if len(set(names)) != len(names):
            raise ValueError(f"axis names must be unique, got {names}")
        paths = [a.path for a in self.axes]
        if len(set(paths)) != len(paths):
            raise ValueError(f"two axes sweep the same path ({paths})")
        return self

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a.grid()) for a in self.axes)


class RepresentativenessPrior(Strict):
    """Prior of delta, the log odds ratio of belonging to a group among all victims against
    among the chat's victims (0: the chat's mix is the population's mix)."""

    mean: float = Field(0.0, ge=-5, le=5)
    sd: float = Field(0.5, ge=0, le=5)


class PeopleSection(Strict):
    """The forward model of people (Dutch baseline): groups and the assumptions it rests on."""

    group: str | None = Field(
        None,
        description="Split every stratum into this group of the chat's composition and the "
        "rest (default: the group of a targeted_outreach step, if any).",
    )
    reach_heterogeneity: float = Field(
        0.0,
        ge=0,
        le=100,
        description="Variance v of a gamma frailty on people's chances of being found: 0 "
        "(everyone not yet found equally findable, the most the chat could reach) or more "
        "(the not-yet-found are harder to reach). The data cannot say; reports show it.",
    )
    representativeness: RepresentativenessPrior = Field(default_factory=RepresentativenessPrior)
    groups_year: int | None = Field(None, description="Year of the vulnerable-group table (default: the last year).")
    baseline_dir: str | None = Field(
        None,
        description="Results folder of the baseline run to reuse (default: the baseline config's output.dir).",
    )


#: The keys a scenario adds to its baseline config (everything else belongs to the baseline).
SCENARIO_FIELDS: dict[str, Any] = {
    "priors": (dict[str, Any], Field(default_factory=dict)),
    "roles": (RolesSection, Field(default_factory=RolesSection)),
    "interventions": (list[Intervention], Field(default_factory=list)),
    "precision": (PrecisionSection, Field(default_factory=PrecisionSection)),
    "people": (PeopleSection, Field(default_factory=PeopleSection)),
    "sweep": (SweepSection | None, None),
    "output": (ScenarioOutput, Field(default_factory=ScenarioOutput)),
}


def _with_scenario(base: type[BaseModel], name: str) -> type[BaseModel]:
    model = create_model(name, __base__=base, **SCENARIO_FIELDS)
    model.__doc__ = f"{base.__name__} plus roles, interventions, precision, sweep and outputs."
    return model


#: A run config (data + model + sampler) plus the scenario keys: the default baseline kind.
ScenarioConfig = _with_scenario(RunConfig, "ScenarioConfig")


def _netherlands_config() -> type[BaseModel]:
    from ..studies.netherlands.pipeline import NetherlandsConfig

    return _with_scenario(NetherlandsConfig, "NetherlandsScenarioConfig")


def _synthesis_config() -> type[BaseModel]:
    from ..studies.netherlands.synthesis_run import SynthesisConfig

    return _with_scenario(SynthesisConfig, "SynthesisScenarioConfig")


#: Baseline kinds (the ``kind`` key of the baseline config) -> scenario config class. Closed.
BASELINE_KINDS: dict[str | None, Any] = {
    None: lambda: ScenarioConfig,
    "netherlands": _netherlands_config,
    "netherlands-synthesis": _synthesis_config,
}

#: Baseline kinds of the Dutch case: their scenarios run through the forward model of people.
DUTCH_KINDS = ("netherlands", "netherlands-synthesis")

#: Keys that describe the scenario, not the fit: a fit is shared by configs equal elsewhere.
NOT_FIT_KEYS = (
    "people",
    "name",
    "description",
    "interventions",
    "precision",
    "sweep",
    "output",
    "sensitivity",
)


def fit_section(cfg: BaseModel) -> dict:
    """The part of a config that decides the posterior (a fit cache key)."""
    dump = cfg.model_dump(mode="json")
    return {k: v for k, v in dump.items() if k not in NOT_FIT_KEYS}


# ----------------------------------------------------------------------------- errors
def describe_error(exc: ValidationError, root: Any, prefix: str = "") -> str:
    """One-line description of a scenario validation error (intervention kinds named as such)."""
    return config_errors.describe_error(exc, root, prefix, tags=tuple(REGISTRY), tag_noun="intervention")


# ----------------------------------------------------------------------------- loading
def merge(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``: tables merge key by key, other values are replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> tuple[dict, list[Path]]:
    """The merged TOML of ``path`` and the files it was built from (base first)."""
    path = Path(path)
    data = config.read_toml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data, [path]
    if not isinstance(parent, str):
        raise InputError(f"{path}: key 'extends': must be a file name, got {parent!r}")
    try:
        base_path = resolve_file("config", parent, path.parent)
    except InputError:
        siblings = [p.name for p in path.parent.glob("*.toml")]
        raise InputError(
            f"{path}: key 'extends': no file '{parent}' next to this file"
            f"{did_you_mean(parent, siblings)} and no bundled config of that name "
            "(hiddenvictims datasets)"
        ) from None
    if base_path.resolve() in {p.resolve() for p in (*_seen, path)}:
        raise InputError(f"{path}: key 'extends': '{parent}' extends itself (a cycle)")
    base, files = read_raw(base_path, (*_seen, path))
    if base_path.parent.resolve() != path.parent.resolve():
        base = _anchor_paths(base, base_path.parent)
    return merge(base, data), [*files, path]


def _anchor_paths(raw: dict, folder: Path) -> dict:
    """A base config from another folder: its file paths (``data.path``, ``model.spec``) are
    relative to *its* folder, so they are made absolute before merging into this one."""
    out = copy.deepcopy(raw)
    for section, key in (("data", "path"), ("model", "spec")):
        value = out.get(section, {}).get(key) if isinstance(out.get(section), dict) else None
        if isinstance(value, str) and not Path(value).is_absolute() and (folder / value).exists():
            out[section][key] = str((folder / value).resolve())
    return out


def config_class(data: dict, source: str) -> type[BaseModel]:
    """The scenario config class for the baseline's ``kind`` (none: a run config)."""
    kind = data.get("kind")
    if kind not in BASELINE_KINDS:
        known = [k for k in BASELINE_KINDS if k]
        raise InputError(
            f"{source}: key 'kind': unknown baseline kind {kind!r}"
            f"{did_you_mean(str(kind), known)} (known: none, {', '.join(known)})"
        )
    return BASELINE_KINDS[kind]()


def parse_config(data: dict, source: str) -> ScenarioConfig:
    model = config_class(data, source)
    try:
        cfg = model.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{source}: {describe_error(exc, model)}") from None
    check_sweep(cfg, source)
    check_output(cfg, source)
    return cfg


def load_scenario(path: str | Path) -> tuple[ScenarioConfig, dict, list[Path]]:
    """Read, merge (``extends``) and validate a scenario config: (config, merged dict, files)."""
    data, files = read_raw(path)
    return parse_config(data, str(path)), data, files


def check_output(cfg: ScenarioConfig, source: str) -> None:
    if cfg.sweep is not None and cfg.precision.enabled:
        raise InputError(
            f"{source}: key 'precision.enabled': not available in a sweep (every cell "
            "would need its own refits); run the cell of interest as a single scenario"
        )


# ----------------------------------------------------------------------------- sweep paths
def _walk(tree: Any, parts: list[str], path: str, source: str, key: str) -> tuple[Any, Any]:
    """(container, last key) of ``parts`` inside ``tree``, or an InputError naming ``key``."""
    node = tree
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise InputError(f"{source}: key '{key}': '{path}': no element {part} (there are {len(node)})")
            index: Any = int(part)
        elif isinstance(node, dict):
            if part not in node:
                raise InputError(f"{source}: key '{key}': '{path}': no key '{part}'{did_you_mean(part, list(node))}")
            index = part
        else:
            raise InputError(f"{source}: key '{key}': '{path}' goes below a value")
        if last:
            return node, index
        node = node[index]
    raise InputError(f"{source}: key '{key}': empty path")


def set_path(steps: list[dict], path: str, value: float) -> list[dict]:
    """A copy of the raw intervention tables with ``path`` (interventions.i....) set to value."""
    out = copy.deepcopy(steps)
    parts = path.split(".")[1:]
    node, index = _walk(out, parts, path, "sweep", "path")
    node[index] = float(value)
    return out


def check_sweep(cfg: ScenarioConfig, source: str) -> None:
    """Every axis path names a number inside the interventions, and every value is valid there."""
    if cfg.sweep is None:
        return
    steps = [s.model_dump(mode="json") for s in cfg.interventions]
    for i, axis in enumerate(cfg.sweep.axes):
        key = f"sweep.axes.{i}.path"
        parts = axis.path.split(".")
        if parts[0] != "interventions" or len(parts) < 3:
            raise InputError(
                f"{source}: key '{key}': '{axis.path}' must start with "
                "'interventions.<index>.' (sweeps change intervention parameters)"
            )
        node, index = _walk(steps, parts[1:], axis.path, source, key)
        leaf = node[index]
        if isinstance(leaf, bool) or not isinstance(leaf, int | float):
            raise InputError(f"{source}: key '{key}': '{axis.path}' is not a number ({leaf!r})")
        for value in axis.grid():
            candidate = set_path(steps, axis.path, float(value))
            try:
                INTERVENTION_LIST.validate_python(candidate)
            except ValidationError as exc:
                detail = describe_error(exc, list[Intervention], "interventions")
                raise InputError(f"{source}: key 'sweep.axes.{i}': value {value:g} is not allowed: {detail}") from None


def sweep_cells(cfg: ScenarioConfig) -> list[tuple[float, ...]]:
    """All cells of the grid in C order (last axis fastest)."""
    assert cfg.sweep is not None
    return list(itertools.product(*(axis.grid().tolist() for axis in cfg.sweep.axes)))
