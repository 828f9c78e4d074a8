"""Running scenario configs end to end and writing their results folders atomically.

* :func:`run_scenario` - one scenario (or, when the config has ``[sweep]``, a sweep):
  validate, fit, apply the interventions, summarise, optionally measure monitoring precision,
  write ``manifest.json``, ``summary.csv``/``.json``, ``outcomes.nc``, plots.
* :func:`compare` - several scenario configs side by side (fits shared where the data, model,
  priors and sampler agree).
* :func:`run_people`, :func:`compare_people`, :func:`run_people_sweep` - the same on the Dutch
  baseline, through the forward model of people: :mod:`.scenarios.people_run` and
  :mod:`.scenarios.people_sweep` compute, :mod:`.report.people` writes and prints.

Nothing is written until everything has been computed; a bad input raises InputError before
any fitting where it can be detected then.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr
from rich.console import Console

from .core import gate
from .core.config import config_hash
from .core.constants import INTERVAL_PERCENT, INTERVAL_PROB
from .core.errors import InputError
from .core.results import atomic_dir, check_writable, versions, write_json
from .core.spec import SamplerSettings
from .report import scenarios as report
from .scenarios.forward import outcome_names, scenario_outcomes, summarise_outcomes
from .scenarios.interventions import describe
from .scenarios.pipeline import (
    Fitted,
    Prepared,
    capture_hash,
    check_precision,
    fit_capture,
    load_capture,
    prepare,
    save_capture,
)
from .scenarios.precision import caveats, monitoring_precision, precision_summary
from .scenarios.schema import ScenarioConfig
from .scenarios.sweep import Checkpoint, Grid, run_grid, sweep_table

if TYPE_CHECKING:
    from .scenarios.baseline import Baseline

NEVER_POPULATION = (
    "Interventions change the capture process, never the population: N is the same "
    "in every variant; only who is found by which source changes."
)
SAME_ASSUMPTIONS = (
    "The number still hidden under a scenario rests on the same model assumptions as the "
    "baseline estimate (list dependence; for an anonymous chat, the assumed dependence "
    "between chat and register, which the data cannot check)."
)


@dataclass
class ScenarioResult:
    name: str
    cfg: ScenarioConfig
    outcomes: xr.Dataset
    summary: pd.DataFrame
    notes: list[str]
    fitted: Fitted
    precision: pd.DataFrame | None = None


def default_out(prep: Prepared) -> Path:
    return Path(prep.cfg.output.dir) if prep.cfg.output.dir else Path("results") / "scenarios" / prep.path.stem


def notes_for(cfg: ScenarioConfig, estimate_notes: Sequence[str] = ()) -> list[str]:
    notes = []
    if cfg.roles.note:
        notes.append(cfg.roles.note)
    notes += [NEVER_POPULATION, SAME_ASSUMPTIONS]
    if cfg.output.mode == "predictive":
        notes.append(
            "Numbers are predictive counts (multinomial per draw, common random numbers across "
            "scenarios), not expected values."
        )
    notes += list(estimate_notes)
    return notes


def evaluate(
    prep: Prepared, fitted: Fitted, precision: bool | None = None, replicates: int | None = None
) -> ScenarioResult:
    """Baseline vs scenario outcomes for every draw, their summaries, and optional precision."""
    cfg = prep.cfg
    ds = scenario_outcomes(
        fitted.draws,
        cfg.interventions,
        mode=cfg.output.mode,
        seed=cfg.sampler.seed,
        referral_to=fitted.roles.referral_to,
        source=prep.source,
    )
    summary = summarise_outcomes(ds, by=cfg.output.by)
    result = ScenarioResult(cfg.name, cfg, ds, summary, notes_for(cfg, fitted.estimate.notes), fitted)
    enabled = cfg.precision.enabled if precision is None else precision
    if enabled:
        sec = cfg.precision
        n_rep = replicates or sec.replicates
        sampler = SamplerSettings(
            draws=sec.draws,
            tune=sec.tune,
            chains=sec.chains,
            backend=sec.backend,
            seed=sec.seed if sec.seed is not None else cfg.sampler.seed + 1,
        )
        result.precision = monitoring_precision(
            fitted.estimate,
            fitted.draws,
            cfg.interventions,
            replicates=n_rep,
            sampler=sampler,
            seed=sampler.seed,
            referral_to=fitted.roles.referral_to,
            source=prep.source,
        )
        result.notes.append(
            f"Monitoring precision from {n_rep} replicates (simulated lists, refitted with "
            f"{sec.chains} x {sec.draws} draws each, the same model and priors); medians of "
            "the widths with their Monte Carlo standard errors."
        )
        result.notes.extend(caveats(fitted.estimate.family))
    return result


def manifest(prep: Prepared, family: str, capture: str, extra: dict | None = None) -> dict:
    cfg = prep.manifest_config()
    return {
        "kind": cfg["kind"],
        "family": family,
        "config": cfg,
        "config_hash": config_hash(cfg),
        "data_source": prep.table.source,
        "data_hash": prep.table.data_hash(),
        "seed": prep.cfg.sampler.seed,
        "capture_hash": capture,
        "interventions": describe(prep.cfg.interventions),
        "versions": versions(),
        **(extra or {}),
    }


def _round(value: float, digits: int = 6) -> float | None:
    return float(f"{value:.{digits}g}") if np.isfinite(value) else None


def _rows(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: (_round(v) if isinstance(v, float) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def write_scenario(result: ScenarioResult, prep: Prepared, target: Path, force: bool) -> Path:
    cfg = result.cfg
    with atomic_dir(target, force=force) as tmp:
        write_json(
            tmp / "manifest.json",
            manifest(prep, result.fitted.estimate.family, capture_hash(result.fitted.draws)),
        )
        result.summary.to_csv(tmp / "summary.csv", index=False)
        record = {
            "scenario": cfg.name,
            "description": cfg.description,
            "interventions": describe(cfg.interventions),
            "interval": {"kind": "equal-tailed", "prob": INTERVAL_PROB},
            "mode": cfg.output.mode,
            "posterior_draws": int(result.outcomes.sizes["sample"]),
            "rows": _rows(result.summary),
            "fit": _rows(result.fitted.estimate.summary()),
            "notes": result.notes,
            "diagnostics": {"warnings": result.fitted.estimate.warnings()},
        }
        if result.precision is not None:
            result.precision.to_csv(tmp / "precision.csv", index=False)
            record["precision"] = precision_summary(result.precision, cfg.interventions)
        write_json(tmp / "summary.json", record)
        if cfg.output.draws:
            result.outcomes.to_netcdf(tmp / "outcomes.nc", engine="h5netcdf")
        if cfg.output.plots:
            for lang in cfg.output.languages:
                report.plot_outcomes(result.summary, tmp / f"outcomes.{lang}.png", lang, title=cfg.name)
        from .report.html import write_reports

        write_reports(tmp)
    return target


def is_people(prep: Prepared) -> bool:
    """Scenarios on the Dutch baseline run through the forward model of people."""
    from .scenarios.schema import DUTCH_KINDS

    return getattr(prep.cfg, "kind", None) in DUTCH_KINDS


def check_people_precision(prep: Prepared, precision: bool | None) -> None:
    """Monitoring precision on the Dutch baseline is dropped rather than printed (see
    docs/scenarios.md): say so before anything runs when it is asked for."""
    if precision if precision is not None else prep.cfg.precision.enabled:
        from .scenarios.precision import people_precision_reason

        raise InputError(f"{prep.source}: key 'precision.enabled': {people_precision_reason(prep.cfg)}")


def run_scenario(
    path: str | Path,
    *,
    out: str | Path | None = None,
    force: bool = False,
    precision: bool | None = None,
    replicates: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    restart: bool = False,
    progress: bool = False,
    console: Console | None = None,
    cache: dict | None = None,
) -> Path:
    """Run the scenario (or sweep) config at ``path``; returns the results folder."""
    prep = prepare(path)
    target = Path(out) if out else default_out(prep)
    check_writable(target, force)
    if prep.cfg.sweep is not None:
        if precision:
            raise InputError(f"{prep.source}: --precision is not available for a sweep")
        if is_people(prep):
            return run_people_sweep(prep, target, force=force, workers=workers, scheduler=scheduler, console=console)
        return run_sweep(
            prep,
            target,
            force=force,
            workers=workers,
            scheduler=scheduler,
            restart=restart,
            progress=progress,
            console=console,
        )
    if is_people(prep):
        check_people_precision(prep, precision)
        return run_people(prep, target, force=force, console=console)
    check_precision(prep, precision)
    fitted = fit_capture(prep, cache)
    result = evaluate(prep, fitted, precision, replicates)
    write_scenario(result, prep, target, force)
    if console is not None:
        print_result(result, console)
        console.print(f"results written to {target}")
    return target


def print_result(result: ScenarioResult, console: Console) -> None:
    from rich.table import Table

    table = _rich(
        report.outcome_table(result.summary),
        f"{result.name}: victims, {INTERVAL_PERCENT}% intervals",
    )
    console.print(table)
    if result.precision is not None:
        p = precision_summary(result.precision, result.cfg.interventions)
        for reason in p["dropped"]:
            console.print(f"[yellow]monitoring precision dropped:[/yellow] {reason}", soft_wrap=True)
        variants = [v for v in ("baseline", "scenario") if v in p]
        if variants:
            t = Table(
                title=f"monitoring precision: width of next year's "
                f"{INTERVAL_PERCENT}% interval for N ({p['replicates']} replicates)",
                title_justify="left",
            )
            for col in ("variant", "median width", "MC s.e.", "quartiles", "coverage"):
                t.add_column(col, justify="left" if col == "variant" else "right")
            for variant in variants:
                v = p[variant]
                t.add_row(
                    variant,
                    f"{v['median_width']:,.0f}",
                    f"{v['mc_se_median_width'] or 0:,.0f}",
                    f"{v['width_q25']:,.0f} – {v['width_q75']:,.0f}",
                    f"{100 * v['coverage']:.0f}% (s.e. {100 * v['coverage_se']:.0f})",
                )
            console.print(t)
        if "width_ratio" in p:
            r = p["width_ratio"]
            console.print(f"width scenario / baseline, median: {r['median']:.2f} (MC s.e. {r['mc_se'] or 0:.2f})")
        for warning in p["warnings"]:
            console.print(f"[bold yellow]warning:[/bold yellow] {warning}", soft_wrap=True)
    for note in result.notes:
        console.print(f"[cyan]note:[/cyan] {note}", soft_wrap=True)
    fit_warnings = result.fitted.estimate.warnings()
    for warning in fit_warnings:
        console.print(f"[bold yellow]warning (fit):[/bold yellow] {warning}", soft_wrap=True)
    gate.shown(fit_warnings)


def _rich(frame: pd.DataFrame, title: str, labels: int = 1):
    """A terminal table that fits 80 columns: 'median (lower – upper)' cells are stacked (the
    interval under the median) and never broken; only the first ``labels`` columns wrap."""
    import re

    from rich.table import Table

    interval = re.compile(r"^(\S+) \((\S+) – (\S+)\)$")

    def cell(value) -> str:
        m = interval.match(str(value))
        return f"{m[1]}\n({m[2]}–{m[3]})" if m else str(value)

    t = Table(title=title, title_justify="left")
    for i, col in enumerate(frame.columns):
        t.add_column(str(col), justify="left" if i < labels else "right", no_wrap=i >= labels, overflow="fold")
    for row in frame.itertuples(index=False):
        t.add_row(*[cell(v) for v in row])
    return t


# ----------------------------------------------------------------------------- sweeps
def sweep_fingerprint(prep: Prepared, grid: Grid) -> str:
    cfg = prep.cfg
    return config_hash(
        {
            "fit": prep.fit_key(),
            "interventions": [s.model_dump(mode="json") for s in cfg.interventions],
            "grid": grid.record(),
            "chunk_size": cfg.sweep.chunk_size,
            "mode": cfg.output.mode,
            "seed": cfg.sampler.seed,
        }
    )


def run_sweep(
    prep: Prepared,
    target: Path,
    *,
    force: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    restart: bool = False,
    progress: bool = False,
    console: Console | None = None,
    on_chunk=None,
) -> Path:
    """Run a sweep config: fit once, evaluate every cell (resumably), write the results folder."""
    from .scenarios.forward import Engine

    cfg = prep.cfg
    assert cfg.sweep is not None
    grid = Grid.from_section(cfg.sweep)
    n_chunks = -(-grid.n_cells // cfg.sweep.chunk_size)
    checkpoint = Checkpoint(target.with_name(target.name + ".partial"), sweep_fingerprint(prep, grid), n_chunks)
    capture_file = checkpoint.folder / "capture.nc"
    fit_file = checkpoint.folder / "fit.json"
    existed = checkpoint.folder.exists() and not restart
    checkpoint.open(restart)
    try:
        if capture_file.exists() and fit_file.exists():
            draws = load_capture(capture_file)
            fit_info = json.loads(fit_file.read_text())
            gate.record("fit", fit_info.get("warnings", []))
            if console is not None:
                console.print(f"resuming the sweep from {checkpoint.folder} (posterior draws reused)")
        else:
            fitted = fit_capture(prep)
            draws = fitted.draws
            fit_info = {
                "family": fitted.estimate.family,
                "referral_to": fitted.roles.referral_to,
                "fit": _rows(fitted.estimate.summary()),
                "notes": list(fitted.estimate.notes),
                "warnings": fitted.estimate.warnings(),
            }
            save_capture(draws, capture_file)
            write_json(fit_file, fit_info)
    except BaseException:
        if not existed:
            checkpoint.remove()
        raise
    engine = Engine.from_draws(draws, cfg.output.mode, cfg.sampler.seed, fit_info["referral_to"])
    steps = [s.model_dump(mode="json") for s in cfg.interventions]
    try:
        ds, rep = run_grid(
            engine,
            steps,
            grid,
            chunk_size=cfg.sweep.chunk_size,
            workers=cfg.sweep.workers if workers is None else workers,
            scheduler=scheduler,
            checkpoint=checkpoint,
            progress=progress,
            on_chunk=on_chunk,
        )
    except KeyboardInterrupt:
        done = len(checkpoint.done())
        raise InputError(
            f"sweep interrupted: {done} of {n_chunks} chunks saved in {checkpoint.folder}; "
            "run the same command again to resume"
        ) from None
    quantities = list(outcome_names(engine.layout))
    ds.attrs.update(
        {
            "scenario": cfg.name,
            "config_hash": config_hash(prep.manifest_config()),
            "data_hash": prep.table.data_hash(),
            "seed": cfg.sampler.seed,
        }
    )
    baseline = summarise_outcomes(
        scenario_outcomes(draws, (), mode=cfg.output.mode, seed=cfg.sampler.seed), by=cfg.output.by
    ).query("variant == 'baseline'")
    notes = notes_for(cfg, fit_info["notes"])
    with atomic_dir(target, force=force) as tmp:
        ds.to_netcdf(tmp / "sweep.nc", engine="h5netcdf")
        sweep_table(ds, quantities).to_csv(tmp / "sweep.csv", index=False)
        write_json(
            tmp / "manifest.json",
            manifest(
                prep,
                fit_info["family"],
                capture_hash(draws),
                {"sweep": rep.record(), "grid": grid.record()},
            ),
        )
        write_json(
            tmp / "summary.json",
            {
                "scenario": cfg.name,
                "description": cfg.description,
                "interval": {"kind": "equal-tailed", "prob": INTERVAL_PROB},
                "mode": cfg.output.mode,
                "posterior_draws": int(engine.N.shape[0]),
                "grid": grid.record(),
                "run": rep.record(),
                "baseline": _rows(baseline),
                "fit": fit_info["fit"],
                "notes": notes,
                "diagnostics": {"warnings": fit_info.get("warnings", [])},
            },
        )
        if cfg.output.plots:
            for lang in cfg.output.languages:
                for q in quantities:
                    report.plot_heatmap(ds, q, tmp / f"heatmap_{q}.{lang}.png", lang)
    checkpoint.remove()
    if console is not None:
        console.print(_rich(report.outcome_table(baseline), f"{cfg.name}: baseline"))
        console.print(
            _rich(
                report.sweep_highlights_long(ds, quantities),
                "change vs baseline at the grid's corners and centre (median and interval)",
                labels=len(grid.names) + 1,
            )
        )
        console.print(
            f"{grid.n_cells} cells in {rep.seconds:.1f} s on {rep.where} "
            f"({len(rep.reused)} of {rep.chunks} chunks reused from an interrupted run)"
        )
        for note in notes:
            console.print(f"[cyan]note:[/cyan] {note}", soft_wrap=True)
        console.print(f"results written to {target}")
    return target


# ----------------------------------------------------------------------------- compare
def compare_target(preps: Sequence[Prepared]) -> Path:
    """Default folder of ``scenario compare``: results/compare-<config names> (the CLI help
    says so)."""
    return Path("results") / ("compare-" + "-".join(p.path.stem for p in preps))[:120]


def compare(
    paths: Sequence[str | Path],
    *,
    out: str | Path | None = None,
    force: bool = False,
    console: Console | None = None,
    cache: dict | None = None,
) -> Path:
    """Several scenario configs side by side: a table with intervals and a plot."""
    if len(paths) < 2:
        raise InputError("compare needs at least two scenario configs")
    preps = [prepare(p) for p in paths]
    for prep in preps:
        if prep.cfg.sweep is not None:
            raise InputError(f"{prep.source}: a sweep; compare takes single scenarios")
    names = [prep.cfg.name for prep in preps]
    if len(set(names)) != len(names):
        names = [f"{prep.cfg.name} ({prep.path.stem})" for prep in preps]
    target = Path(out) if out else compare_target(preps)
    check_writable(target, force)
    kinds = {is_people(p) for p in preps}
    if len(kinds) > 1:
        raise InputError("compare: mix of Dutch baselines and other baselines")
    if kinds == {True}:
        return compare_people(preps, names, target, force=force, console=console)
    cache = {} if cache is None else cache
    results = {
        name: evaluate(prep, fit_capture(prep, cache), precision=False) for name, prep in zip(names, preps, strict=True)
    }
    summaries = {name: r.summary for name, r in results.items()}
    long = report.compare_long(summaries)
    first = preps[0]
    with atomic_dir(target, force=force) as tmp:
        long.to_csv(tmp / "compare.csv", index=False)
        write_json(
            tmp / "compare.json",
            {
                **report.compare_header(names, preps),
                "fits_shared": len({p.fit_key() for p in preps}) == 1,
                "rows": _rows(long),
                "notes": notes_for(first.cfg),
            },
        )
        write_json(
            tmp / "manifest.json",
            {
                "kind": "compare",
                "configs": [
                    manifest(p, results[n].fitted.estimate.family, capture_hash(results[n].fitted.draws))
                    for n, p in zip(names, preps, strict=True)
                ],
                "versions": versions(),
            },
        )
        for lang in first.cfg.output.languages:
            report.plot_compare(summaries, tmp / f"compare.{lang}.png", lang)
    if console is not None:
        console.print(
            _rich(
                report.compare_table(summaries),
                f"scenario: victims, median ({INTERVAL_PERCENT}% interval)",
            )
        )
        console.print(
            _rich(
                report.compare_table(summaries, variant="change"),
                "change vs each scenario's baseline",
            )
        )
        for note in notes_for(first.cfg):
            console.print(f"[cyan]note:[/cyan] {note}", soft_wrap=True)
        console.print(f"results written to {target}")
    return target


# ----------------------------------------------------------------------------- people engine
def _say_baseline(baseline: Baseline, console: Console | None) -> None:
    if console is not None:
        verb = "reused" if baseline.reused else "fitted"
        console.print(f"baseline posterior {verb}: {baseline.where} ({baseline.reason})", soft_wrap=True)


def run_people(
    prep: Prepared, target: Path, force: bool = False, console: Console | None = None, baseline=None
) -> Path:
    """A scenario on the Dutch baseline through the forward model of people: the baseline
    posterior (``baseline``, else reused from its results folder or fitted), the outcomes, the
    results folder, the terminal summary."""
    from .report.people import print_people, write_people
    from .scenarios.baseline import load_baseline
    from .scenarios.people_run import evaluate_people

    check_writable(target, force)
    if baseline is None:
        if console is not None:
            console.print("baseline: looking for a matching results folder ...")
        baseline = load_baseline(prep)
    _say_baseline(baseline, console)
    result = evaluate_people(prep, baseline)
    write_people(result, prep, target, force)
    if console is not None:
        print_people(result, console)
        console.print(f"results written to {target}")
    return target


def compare_people(
    preps: Sequence[Prepared], names: Sequence[str], target: Path, force: bool = False, console: Console | None = None
) -> Path:
    """Several Dutch scenarios side by side, on one baseline posterior (loaded or fitted once
    per distinct fit)."""
    from .report.people import print_people, write_people_compare
    from .scenarios.baseline import load_baseline
    from .scenarios.people_run import evaluate_people
    from .scenarios.schema import fit_section

    check_writable(target, force)
    baselines: dict[str, Baseline] = {}
    results = {}
    for name, prep in zip(names, preps, strict=True):
        key = config_hash({**fit_section(prep.cfg), "data_hash": prep.table.data_hash()})
        if key not in baselines:
            baselines[key] = load_baseline(prep)
            _say_baseline(baselines[key], console)
        results[name] = evaluate_people(prep, baselines[key])
    write_people_compare(results, list(baselines.values()), preps, target, force)
    if console is not None:
        for r in results.values():
            print_people(r, console)
        console.print(f"results written to {target}")
    return target


def run_people_sweep(
    prep: Prepared,
    target: Path,
    force: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    console: Console | None = None,
) -> Path:
    """A sweep on the Dutch baseline through the forward model of people."""
    from .report.people import print_people_sweep, write_people_sweep
    from .scenarios.baseline import load_baseline
    from .scenarios.people_sweep import sweep_people

    check_writable(target, force)
    baseline = load_baseline(prep)
    _say_baseline(baseline, console)
    sweep = sweep_people(prep, baseline, workers, scheduler)
    write_people_sweep(sweep, prep, target, force)
    if console is not None:
        print_people_sweep(sweep, console)
        console.print(f"results written to {target}")
    return target
