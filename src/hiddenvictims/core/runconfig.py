"""Run configs (TOML in ``scenarios/``): data + model + sampler + output, run end to end.

Paths inside a config are relative to the config file. ``data.bundled`` names a table shipped
with the package (``hiddenvictims datasets``) instead of a file; ``model.spec`` may name a
bundled model (``two-way``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from . import config
from .config import Strict
from .errors import InputError
from .io import read_table
from .spec import LoglinearSpec, SamplerSettings, load_model_spec, parse_model_spec
from .table import CaptureTable

#: Keys that make a config a scenario (``hiddenvictims run`` hands it to the scenario engine):
#: a baseline with list roles or prior overrides is one, even without interventions.
SCENARIO_KEYS = ("extends", "interventions", "sweep", "roles", "priors")


class DataSection(Strict):
    """Where the capture table comes from: a CSV ``path`` or a ``bundled`` table name."""

    path: str | None = None
    bundled: str | None = None
    format: Literal["auto", "patterns", "records"] = "auto"
    strata: list[str] = Field(default_factory=list)
    lists: list[str] | None = None
    count_column: str | None = None
    covariates: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> DataSection:
        if (self.path is None) == (self.bundled is None):
            raise ValueError("give exactly one of 'path' or 'bundled'")
        return self


class ModelSection(Strict):
    """The model: a spec file (``spec``, relative to the config) or an inline ``inline`` table."""

    spec: str | None = None
    inline: dict | None = None

    @model_validator(mode="after")
    def _one_model(self) -> ModelSection:
        if (self.spec is None) == (self.inline is None):
            raise ValueError("give exactly one of 'spec' or 'inline'")
        return self


class OutputSection(Strict):
    dir: str = "results/run"


class RunConfig(Strict):
    """A single estimate: read data, fit one model, write a results folder."""

    name: str
    description: str = ""
    data: DataSection
    model: ModelSection
    sampler: SamplerSettings = Field(default_factory=SamplerSettings)
    output: OutputSection = Field(default_factory=OutputSection)


def resolve(base: Path, relative: str) -> Path:
    path = Path(relative)
    return path if path.is_absolute() else (base / path)


def load_table(section: DataSection, base: Path) -> CaptureTable:
    if section.bundled is not None:
        from ..data import benchmark_path

        path = benchmark_path(section.bundled)
    else:
        path = resolve(base, section.path or "")
    return read_table(
        path,
        fmt=section.format,
        strata=section.strata,
        lists=section.lists,
        count_column=section.count_column,
        covariates=section.covariates,
    )


def load_spec(section: ModelSection, base: Path, source: str) -> LoglinearSpec:
    if section.spec is not None:
        from ..data import resolve as resolve_file

        return load_model_spec(resolve_file("model", section.spec, base))
    return parse_model_spec(section.inline or {}, f"{source} [model.inline]")


def load_run_config(path: str | Path) -> RunConfig:
    return config.load(RunConfig, path)


def output_dir(cfg: RunConfig, override: str | None) -> Path:
    """Output folder: the override, else ``output.dir`` relative to the working directory."""
    if override:
        return Path(override)
    if not cfg.output.dir:
        raise InputError("output.dir is empty")
    return Path(cfg.output.dir)
