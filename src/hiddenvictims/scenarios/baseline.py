"""Reuse, don't refit: the Dutch baseline posterior from its results folder when it matches.

A scenario on the Dutch baseline needs the baseline's posterior (N, registered, reached by the
chat, on both, per draw, year and age). ``hiddenvictims run scenarios/netherlands-baseline.toml``
writes it to a results folder with a manifest (config, data hash, versions). A scenario takes
the posterior from there when

* the manifest's run config equals the scenario's baseline part on everything that decides the
  fit (kind, years, model, sampler; a scenario with its own ``[priors]`` never matches),
* its data hash equals the hash of the data the scenario would fit, and
* it was written by the same version of this package,

and fits only when one of these fails (the reason is said in the output and the manifest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from ..core import config
from ..core.results import versions
from .people import PeopleDraws, from_posterior
from .schema import NOT_FIT_KEYS

#: Keys of a scenario config that are not part of the baseline run config.
SCENARIO_ONLY = ("priors", "roles", "people")


@dataclass(frozen=True)
class Baseline:
    people: PeopleDraws
    reused: bool
    where: str  # folder read, or "fitted in this run"
    reason: str  # why reused, or why not


def baseline_dir(prep) -> Path:
    """The results folder the baseline config writes (or ``[people] baseline_dir``)."""
    if prep.cfg.people.baseline_dir:
        return Path(prep.cfg.people.baseline_dir)
    base = config.read_toml(prep.files[0])
    return Path(base.get("output", {}).get("dir", "results/netherlands-baseline"))


def _fit_part(dump: dict) -> dict:
    return {k: v for k, v in dump.items() if k not in (*NOT_FIT_KEYS, *SCENARIO_ONLY)}


def match(prep, folder: Path) -> str | None:
    """None when ``folder`` holds this scenario's baseline posterior, else why it does not."""
    manifest = folder / "manifest.json"
    if not (folder / "idata.nc").is_file() or not manifest.is_file():
        return f"no baseline results in {folder}"
    try:
        record = json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError):
        return f"{manifest} is not readable"
    if prep.cfg.priors:
        return "the scenario overrides the baseline's priors"
    run = record.get("config", {}).get("run")
    if not isinstance(run, dict):
        return f"{manifest} holds no run config"
    if _fit_part(run) != _fit_part(prep.cfg.model_dump(mode="json")):
        return f"{folder} was fitted with another config (years, model or sampler differ)"
    if record.get("data_hash") != prep.table.data_hash():
        return f"{folder} was fitted to other data (data hash differs)"
    mine = versions().get("hiddenvictims")
    if record.get("versions", {}).get("hiddenvictims") != mine:
        theirs = record.get("versions", {}).get("hiddenvictims")
        return f"{folder} was written by hiddenvictims {theirs}, not {mine}"
    return None


def load_baseline(prep, fit: bool = True) -> Baseline:
    """The posterior as people: read from the baseline folder when it matches, else fitted."""
    folder = baseline_dir(prep)
    reason = match(prep, folder)
    if reason is None:
        with xr.open_dataset(folder / "idata.nc", group="posterior", engine="h5netcdf") as ds:
            post = ds.load()
        people = from_posterior(post, str(folder))
        return Baseline(people, True, str(folder), "manifest matches (config, data hash, version)")
    if not fit:
        raise LookupError(reason)
    if getattr(prep.spec, "family", None) == "synthesis":
        from ..studies.netherlands.synthesis_baseline import fit_posterior

        post = fit_posterior(prep.cfg, prep.spec)
    else:
        from ..families import fit as fit_model

        post = fit_model(prep.table, prep.spec, prep.cfg.sampler).posterior
    return Baseline(from_posterior(post, "fitted in this run"), False, "fitted in this run", reason)
