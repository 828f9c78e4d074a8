"""``--dry-run``: check a config completely, say what would run and for how long; fit nothing.

Everything a real run checks before sampling is checked here (the ``extends`` chain, every key,
the data, list roles, sweep paths, the output folder), with the same one-line errors; then the
steps are listed with an expected time from the rule below.

The time rule (2 cores, quiet machine; measured by the benchmarks in ``benchmarks/results``):

    seconds = start + steps per core x cost per step

where a step is one sampler iteration of one chain (tuning included), chains run
``min(chains, cores)`` at a time, and ``start`` covers imports, model set-up and compilation.
Per family (:data:`COST`): log-linear NUTS 0.35 ms a step (UK six lists, two-way, core.json);
the Dutch anonymous-list model 20 ms with the numba backend and 50 ms with C (netherlands.json);
latent classes by parallel tempering 3 ms an iteration (latent_class.json); averaging is exact
(about a second). Scenario cells cost about 1 us per cell x posterior draw x stratum
(scenarios.json). A busy machine is slower: the figures are a floor, not a promise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .core.errors import InputError

#: (start seconds, seconds per step and core) by family and compile mode.
COST: dict[str, tuple[float, float]] = {
    "loglinear": (8.0, 0.35e-3),
    "anonymous/numba": (60.0, 20e-3),
    "anonymous/c": (15.0, 50e-3),
    "latent_class": (8.0, 3e-3),
    "averaging": (8.0, 0.0),
}
SECONDS_PER_CELL_DRAW_STRATUM = 1e-6
#: The evidence synthesis (JAX, all chains vectorised in one program, so not per core): start
#: = one XLA compile (about 20 s on a first run; a warm compilation cache needs 1 to 2 s), and
#: about 0.7 ms per chain-iteration at target_accept 0.97 (main fit of ``make run``: 8 x 6,000
#: iterations in 33 to 37 s after compiling; the nine check fits of 8 x 350 in 15 s; quiet
#: 2-core machine). The rule predicts 99 s for ``make run``; a first run took 87 to 93 s.
SYNTHESIS_COST = (20.0, 0.7e-3)
#: Tables, idata, reports in two languages and their charts, after the fits of the synthesis.
SYNTHESIS_WRITE_SECONDS = 8.0


@dataclass
class Plan:
    """What a command would do: the checked config(s), the results folder, steps and times."""

    what: str
    target: Path
    steps: list[tuple[str, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s for _, s in self.steps)


def fit_seconds(spec, sampler) -> tuple[str, float]:
    """(description, expected seconds) of one fit of ``spec`` with ``sampler`` (rule above)."""
    family = getattr(spec, "family", "loglinear")
    key = family
    if family == "anonymous":
        key = f"anonymous/{'numba' if sampler.compile_mode == 'numba' else 'c'}"
    start, per_step = COST.get(key, COST["loglinear"])
    cores = max(1, min(sampler.chains, sampler.cores or os.cpu_count() or 1))
    steps = sampler.chains * (sampler.tune + sampler.draws)
    what = f"fit {family}: {sampler.chains} chains x ({sampler.tune:,} tune + {sampler.draws:,} draws)"
    if family == "averaging":
        what = "fit averaging (exact posterior over decomposable graphs)"
    return what, start + steps / cores * per_step


def synthesis_fit_seconds(sampler) -> tuple[str, float]:
    """(description, expected seconds) of the synthesis' main fit (rule: :data:`SYNTHESIS_COST`)."""
    start, per_step = SYNTHESIS_COST
    return (
        f"fit the evidence synthesis (JAX compile included): {sampler.chains} chains x "
        f"({sampler.tune:,} tune + {sampler.draws:,} draws)",
        start + sampler.chains * (sampler.tune + sampler.draws) * per_step,
    )


def baseline_fit_seconds(prep) -> tuple[str, float]:
    """The fit a scenario's baseline needs (the synthesis' main fit is skipped when its results
    folder matches, which the plan cannot know without reading the posterior)."""
    if getattr(prep.spec, "family", "") == "synthesis":
        what, seconds = synthesis_fit_seconds(prep.cfg.sampler)
        return f"{what} for the baseline, unless its results folder matches (then read)", seconds
    return fit_seconds(prep.spec, prep.cfg.sampler)


def plan_run(path: Path, out: Path | None, force: bool) -> Plan:
    """A run config (plain or ``kind = "netherlands"``)."""
    from .core.config import read_toml
    from .core.results import check_writable
    from .core.runconfig import SCENARIO_KEYS

    # As runner.config_kind decides (not imported: runner imports the samplers, seconds).
    raw = read_toml(path)
    kind = raw.get("kind")
    if any(key in raw for key in SCENARIO_KEYS):
        return plan_scenario(path, out, force)
    if kind == "netherlands-synthesis":
        return _plan_synthesis(path, out, force)
    if kind == "netherlands":
        from .studies.netherlands.pipeline import dutch_data, load_config, sensitivity_settings

        cfg = load_config(path)
        target = check_writable(out or Path(cfg.output.dir), force)
        dutch_data(tuple(cfg.years))
        plan = Plan(f"{path}: {cfg.name}", target)
        plan.steps.append(fit_seconds(cfg.model, cfg.sampler))
        plan.steps.append(
            (f"prior sensitivity: {len(sensitivity_settings(cfg))} settings by reweighting (no refits)", 5.0)
        )
        plan.steps.append(("tables, plot, reports (en, nl)", 5.0))
        return plan
    from .core.runconfig import load_run_config, load_spec, load_table, output_dir

    cfg = load_run_config(path)
    target = check_writable(output_dir(cfg, str(out) if out else None), force)
    table = load_table(cfg.data, path.parent)
    spec = load_spec(cfg.model, path.parent, str(path))
    plan = Plan(f"{path}: {cfg.name} ({table.n_observed:,} observed on {table.n_lists} lists)", target)
    plan.steps.append(fit_seconds(spec, cfg.sampler))
    return plan


def _plan_synthesis(path: Path, out: Path | None, force: bool) -> Plan:
    """The Dutch evidence synthesis (``kind = "netherlands-synthesis"``): the main fit, then the
    check fits (one per evidence group left out, and the factor variants) on a second compiled
    sampler that reuses the main fit's adaptation."""
    from .core.results import check_writable
    from .studies.netherlands.pipeline import dutch_figures
    from .studies.netherlands.synthesis_fit import prepare
    from .studies.netherlands.synthesis_run import check_variants, load_config

    cfg = load_config(path)
    target = check_writable(out or Path(cfg.output.dir), force)
    dutch_figures(tuple(cfg.years))
    n_checks = len(check_variants(prepare(cfg.model, tuple(cfg.years)), cfg))
    s = cfg.sampler
    start, per_step = SYNTHESIS_COST
    plan = Plan(f"{path}: {cfg.name}", target)
    plan.steps.append(synthesis_fit_seconds(s))
    plan.steps.append(
        (
            f"{n_checks} check fits: {s.chains} chains x ({s.check_burn:,} burn-in + {s.check_draws:,} "
            "draws) each, one evidence group left out or the estimates scaled",
            start + n_checks * s.chains * (s.check_burn + s.check_draws) * per_step,
        )
    )
    plan.steps.append(("tables, idata, reports and charts (en, nl)", SYNTHESIS_WRITE_SECONDS))
    return plan


def _scenario_steps(prep, precision: bool | None, replicates: int | None) -> list[tuple[str, float]]:
    """Fit, scenario evaluation, precision refits (if on) or sweep cells of a prepared config."""
    from .scenarios.precision import unavailable

    cfg = prep.cfg
    steps = [baseline_fit_seconds(prep)]
    draws = cfg.sampler.chains * cfg.sampler.draws
    strata = 1
    if prep.layout is not None:
        for levels in prep.layout.strata.values():
            strata *= max(1, len(levels))
    if cfg.sweep is not None:
        from .scenarios.sweep import Grid

        cells = Grid.from_section(cfg.sweep).n_cells
        steps.append(
            (
                f"sweep: {cells:,} cells x {draws:,} posterior draws x {strata} strata",
                cells * draws * strata * SECONDS_PER_CELL_DRAW_STRATUM,
            )
        )
        return steps
    steps.append((f"scenario: {draws:,} posterior draws x {strata} strata", 2.0))
    enabled = cfg.precision.enabled if precision is None else precision
    family = getattr(prep.spec, "family", "")
    # as pipeline.check_precision: the registry is read without importing the families' samplers
    reason = unavailable(family) if enabled else None
    if reason is not None:
        raise InputError(f"{prep.source}: key 'precision.enabled': {reason}")
    if enabled:
        p = cfg.precision
        n = replicates or p.replicates
        refit = cfg.sampler.model_copy(
            update={"chains": p.chains, "draws": p.draws, "tune": p.tune, "compile_mode": "c"}
        )
        _, one = fit_seconds(prep.spec, refit)
        start = COST.get(f"{prep.spec.family}/c", COST["loglinear"])[0]
        steps.append(
            (
                f"monitoring precision: {n} replicates x 2 refits, {p.chains} chains x ({p.tune} + {p.draws})",
                start + 2 * n * (one - start),
            )
        )
    return steps


def plan_scenario(
    path: Path, out: Path | None, force: bool, precision: bool | None = None, replicates: int | None = None
) -> Plan:
    from .core.results import check_writable
    from .scenario_runner import default_out
    from .scenarios.pipeline import prepare

    prep = prepare(path)
    target = check_writable(out or default_out(prep), force)
    if prep.cfg.sweep is not None and precision:
        raise InputError(f"{prep.source}: --precision is not available for a sweep")
    chain = " <- ".join(str(f) for f in reversed(prep.files))
    plan = Plan(f"{chain}: {prep.cfg.name}", target)
    plan.steps = _scenario_steps(prep, precision, replicates)
    return plan


def plan_compare(paths: list[Path], out: Path | None, force: bool) -> Plan:
    from .core.results import check_writable
    from .scenario_runner import compare_target
    from .scenarios.pipeline import prepare

    if len(paths) < 2:
        raise InputError("compare needs at least two scenario configs")
    preps = [prepare(p) for p in paths]
    for prep in preps:
        if prep.cfg.sweep is not None:
            raise InputError(f"{prep.source}: a sweep; compare takes single scenarios")
    target = check_writable(out or compare_target(preps), force)
    plan = Plan(", ".join(str(p.path) for p in preps), target)
    fitted: set[str] = set()
    for prep in preps:
        key = prep.fit_key()
        if key not in fitted:  # scenarios on the same fit share it
            fitted.add(key)
            what, seconds = baseline_fit_seconds(prep)
            plan.steps.append((f"{what} (for {prep.path.name})", seconds))
        plan.steps.append((f"scenario {prep.cfg.name}", 2.0))
    return plan


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"


def print_plan(plan: Plan, console) -> None:
    """The plan in plain lines (it is read, and it goes into logs)."""
    console.print(f"dry run: {plan.what}", highlight=False, markup=False, soft_wrap=True)
    console.print(
        "  config, data and output folder: OK (nothing fitted, nothing written)", highlight=False, markup=False
    )
    for what, seconds in plan.steps:
        console.print(f"  - {what}: about {_clock(seconds)}", highlight=False, markup=False, soft_wrap=True)
    console.print(
        f"  expected time: about {_clock(plan.seconds)} on a quiet 2-core machine (rule: hiddenvictims.dryrun)",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    console.print(f"  results folder: {plan.target}", highlight=False, markup=False, soft_wrap=True)
