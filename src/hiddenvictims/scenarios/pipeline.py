"""From a scenario config to CaptureDraws: read, validate, fit, convert, assign list roles.

The data flow is one way: config -> fit (any family) -> CaptureDraws -> interventions ->
outcomes. Everything that can be checked before fitting is checked before fitting (keys, list
names, stratum levels, sweep paths), so bad input costs no sampling and writes nothing.

Families feed scenarios through their :class:`~hiddenvictims.families.Family` record
(``capture_draws``, ``list_roles``). The anonymous-list model's lists are (register..., "chat")
with ``anonymous=("chat",)`` and need no ``[roles]``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ..core.capture import PATTERN_FULL_DIM, SAMPLE_DIM, CaptureDraws
from ..core.config import Strict, config_hash, parse
from ..core.errors import InputError, did_you_mean
from ..core.runconfig import load_spec, load_table
from .interventions import Layout, compile_plan
from .schema import DUTCH_KINDS, RolesSection, ScenarioConfig, fit_section, load_scenario

if TYPE_CHECKING:
    from ..core.estimate import Estimate  # ArviZ: seconds to import, not needed to check a config


# ----------------------------------------------------------------------------- converters
def to_capture(estimate: Estimate) -> CaptureDraws:
    """The estimate's CaptureDraws, through its family's record (:data:`hiddenvictims.families.FAMILIES`)."""
    from ..families import FAMILIES

    record = FAMILIES.get(estimate.family)
    if record is None or record.capture_draws is None:
        able = ", ".join(name for name, f in FAMILIES.items() if f.capture_draws is not None)
        raise InputError(
            f"model family '{estimate.family}' cannot feed scenarios yet (no CaptureDraws "
            f"converter; families that can: {able})"
        )
    return record.capture_draws(estimate)


# ----------------------------------------------------------------------------- roles
@dataclass(frozen=True)
class Roles:
    lists: tuple[str, ...]
    register: tuple[str, ...]
    anonymous: tuple[str, ...]
    referral_to: str | None


def resolve_roles(
    lists: tuple[str, ...],
    register: tuple[str, ...],
    anonymous: tuple[str, ...],
    roles: RolesSection,
    source: str,
) -> Roles:
    """List roles after ``[roles]`` (names there are the data's names; renaming comes last)."""

    def check(key: str, name: str) -> None:
        if name not in lists:
            raise InputError(
                f"{source}: key 'roles.{key}': unknown list '{name}'{did_you_mean(name, lists)}"
                f" (lists: {', '.join(lists)})"
            )

    if roles.anonymous is not None:
        for i, name in enumerate(roles.anonymous):
            check(f"anonymous.{i}", name)
        anonymous = tuple(roles.anonymous)
        register = tuple(n for n in lists if n not in anonymous)
    if roles.register_lists is not None:
        for i, name in enumerate(roles.register_lists):
            check(f"register.{i}", name)
        register = tuple(roles.register_lists)
    clash = set(register) & set(anonymous)
    if clash:
        raise InputError(f"{source}: key 'roles.register': {sorted(clash)} cannot be both register and anonymous")
    if not register:
        raise InputError(f"{source}: key 'roles.register': no register list left")
    referral_to = roles.referral_to
    if referral_to is not None:
        check("referral_to", referral_to)
        if referral_to not in register:
            raise InputError(f"{source}: key 'roles.referral_to': '{referral_to}' is not a register list")
    for old in roles.rename:
        check(f"rename.{old}", old)
    new = {n: roles.rename.get(n, n) for n in lists}
    if len(set(new.values())) != len(lists):
        raise InputError(f"{source}: key 'roles.rename': names would clash ({list(new.values())})")
    return Roles(
        lists=tuple(new[n] for n in lists),
        register=tuple(new[n] for n in register),
        anonymous=tuple(new[n] for n in anonymous),
        referral_to=new[referral_to] if referral_to else None,
    )


def apply_roles(draws: CaptureDraws, roles: RolesSection, source: str) -> tuple[CaptureDraws, Roles]:
    r = resolve_roles(draws.lists, draws.register, draws.anonymous, roles, source)
    return replace(draws, lists=r.lists, register=r.register, anonymous=r.anonymous), r


def layout_before_fit(data: Any, family: str, roles: RolesSection, source: str) -> Layout | None:
    """The Layout of a family whose list roles are known before fitting (checked then), else None
    (checked after fitting, from its capture draws)."""
    from ..families import FAMILIES

    if family == "synthesis":  # a study's model, not a family: its inputs know the lists
        r = resolve_roles(data.lists, data.register, data.anonymous, roles, source)
        strata = {d: tuple(str(v) for v in values) for d, values in data.strata_coords().items()}
        return Layout(r.lists, r.register, r.anonymous, strata, r.referral_to)
    record = FAMILIES.get(family)
    if record is None or record.list_roles is None:
        return None
    known = record.list_roles(data)
    r = resolve_roles(known.lists, known.register, known.anonymous, roles, source)
    return Layout(r.lists, r.register, r.anonymous, known.strata, r.referral_to)


# ----------------------------------------------------------------------------- baselines
def _load_run(cfg: Any, base: Path, source: str) -> tuple[Any, Any]:
    """A run config: the table of ``[data]`` and the spec of ``[model]``."""
    return load_table(cfg.data, base), load_spec(cfg.model, base, source)


def _load_netherlands(cfg: Any, base: Path, source: str) -> tuple[Any, Any]:
    """The Dutch chat-only baseline: bundled register and chat figures, the anonymous-list model."""
    from ..studies.netherlands.pipeline import dutch_data

    return dutch_data(tuple(cfg.years)), cfg.model


def _load_synthesis(cfg: Any, base: Path, source: str) -> tuple[Any, Any]:
    """The Dutch default: the evidence synthesis over the bundled public figures."""
    from ..studies.netherlands.synthesis_baseline import SynthesisInputs

    return SynthesisInputs(tuple(cfg.years)), cfg.model


#: Baseline kind (the config's ``kind``) -> loader of (data, model spec). Closed.
BASELINE_LOADERS: dict[str | None, Callable[[Any, Path, str], tuple[Any, Any]]] = {
    None: _load_run,
    "netherlands": _load_netherlands,
    "netherlands-synthesis": _load_synthesis,
}


# ----------------------------------------------------------------------------- prepare & fit
@dataclass
class Prepared:
    """A validated scenario config with its inputs read (nothing fitted yet)."""

    path: Path
    cfg: ScenarioConfig
    raw: dict
    files: list[Path]
    table: Any  # CaptureTable, or AnonymousData for the Dutch baseline
    spec: Any
    layout: Layout | None

    @property
    def source(self) -> str:
        return str(self.path)

    def fit_key(self) -> str:
        return config_hash({**fit_section(self.cfg), "data_hash": self.table.data_hash()})

    def manifest_config(self) -> dict:
        return {
            "scenario": self.cfg.model_dump(mode="json"),
            "config_files": [str(p) for p in self.files],
            "kind": "sweep" if self.cfg.sweep is not None else "scenario",
        }


def with_priors(spec: Any, priors: dict, source: str) -> Any:
    """The spec with ``[priors]`` overrides, validated by the spec's own priors class."""
    if not priors:
        return spec
    current = getattr(spec, "priors", None)
    if not isinstance(current, Strict):
        raise InputError(f"{source}: key 'priors': model family '{spec.family}' has no priors to override")

    class _Wrap(Strict):
        priors: type(current)  # type: ignore[valid-type]

    merged = parse(_Wrap, {"priors": {**current.model_dump(), **priors}}, source).priors
    return spec.model_copy(update={"priors": merged})


def check_against(layout: Layout, cfg: ScenarioConfig, source: str) -> None:
    """Interventions and output margins against the lists and strata of the data."""
    compile_plan(cfg.interventions, layout, source)
    for i, dim in enumerate(cfg.output.by):
        if dim not in layout.strata:
            raise InputError(
                f"{source}: key 'output.by.{i}': unknown stratum dimension '{dim}'"
                f"{did_you_mean(dim, layout.strata)} (dimensions: "
                f"{', '.join(layout.strata) or 'none: the data are not stratified'})"
            )


def check_people(layout: Layout, cfg: ScenarioConfig, source: str) -> None:
    """A Dutch scenario's interventions against its strata (and the group it splits off)."""
    from .people import GROUP_DIM, REST
    from .people_engine import compile_people
    from .people_run import target_group
    from .vulnerable import load_composition

    strata = dict(layout.strata)
    group = target_group(cfg)
    if group is not None:
        known = sorted(load_composition()["group"].unique())
        if group not in known:
            raise InputError(
                f"{source}: key 'people.group': unknown group '{group}'"
                f"{did_you_mean(group, known)} (groups: {', '.join(known)})"
            )
        strata[GROUP_DIM] = (group, REST)
    compile_people(cfg.interventions, strata, cfg.people.reach_heterogeneity, source)


def prepare(path: str | Path) -> Prepared:
    """Load and check everything that can be checked before fitting."""
    path = Path(path)
    cfg, raw, files = load_scenario(path)
    load = BASELINE_LOADERS[getattr(cfg, "kind", None)]
    table, spec = load(cfg, path.parent, str(path))
    spec = with_priors(spec, cfg.priors, str(path))
    layout = layout_before_fit(table, getattr(spec, "family", ""), cfg.roles, str(path))
    if layout is not None and getattr(cfg, "kind", None) in DUTCH_KINDS:
        check_people(layout, cfg, str(path))
    elif layout is not None:
        check_against(layout, cfg, str(path))
    return Prepared(path, cfg, raw, files, table, spec, layout)


def check_precision(prep: Prepared, enabled: bool | None) -> None:
    """Before fitting: can monitoring precision be measured for this family, if asked for?"""
    from .precision import unavailable

    if (prep.cfg.precision.enabled if enabled is None else enabled) and prep.cfg.sweep is None:
        reason = unavailable(getattr(prep.spec, "family", ""))
        if reason is not None:
            raise InputError(f"{prep.source}: key 'precision.enabled': {reason}")


@dataclass(frozen=True)
class Fitted:
    estimate: Estimate
    draws: CaptureDraws
    roles: Roles


def fit_capture(prep: Prepared, cache: dict | None = None) -> Fitted:
    """Fit the config's model (or reuse a fit with the same data/model/priors/sampler/roles)."""
    key = prep.fit_key()
    if cache is not None and key in cache:
        return cache[key]
    from ..families import fit

    estimate = fit(prep.table, prep.spec, prep.cfg.sampler)
    draws, roles = apply_roles(to_capture(estimate), prep.cfg.roles, prep.source)
    layout = Layout.of(draws, roles.referral_to)
    if prep.layout is None:
        check_against(layout, prep.cfg, prep.source)
    estimate.warnings()  # the convergence gate (hiddenvictims.core.gate) hears of every fit
    fitted = Fitted(estimate, draws, roles)
    if cache is not None:
        cache[key] = fitted
    return fitted


# ----------------------------------------------------------------------------- capture I/O
def capture_hash(draws: CaptureDraws) -> str:
    """SHA-256 of the draws' numbers and roles: identifies the posterior a result came from."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(draws.N.values, dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(draws.pattern_prob.values, dtype=np.float64).tobytes())
    digest.update(repr((draws.lists, draws.register, draws.anonymous, draws.N.dims)).encode())
    return digest.hexdigest()


def save_capture(draws: CaptureDraws, path: Path) -> None:
    ds = xr.Dataset({"N": draws.N, "pattern_prob": draws.pattern_prob})
    ds.attrs["roles"] = json.dumps(
        {
            "lists": list(draws.lists),
            "register": list(draws.register),
            "anonymous": list(draws.anonymous),
        }
    )
    tmp = path.with_name(path.name + ".tmp")
    ds.to_netcdf(tmp, engine="h5netcdf")
    tmp.replace(path)


def load_capture(path: Path) -> CaptureDraws:
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()

    roles = json.loads(ds.attrs["roles"])
    n = ds["N"]
    strata = [d for d in n.dims if d != SAMPLE_DIM]
    return CaptureDraws(
        N=n,
        pattern_prob=ds["pattern_prob"].transpose(SAMPLE_DIM, *strata, PATTERN_FULL_DIM),
        lists=tuple(roles["lists"]),
        register=tuple(roles["register"]),
        anonymous=tuple(roles["anonymous"]),
    )
