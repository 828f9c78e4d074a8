"""Running a config end to end: validate everything first, then fit, then write atomically."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console


def run_config(
    path: str | Path, out: str | Path | None = None, force: bool = False, console: Console | None = None
) -> Path:
    """Run the config at ``path``; returns the results folder. Raises InputError on bad input."""
    path = Path(path)
    kind = config_kind(path)
    if kind == "scenario":
        from .scenario_runner import run_scenario

        return run_scenario(path, out=out, force=force, console=console)
    if kind == "netherlands":
        return run_netherlands(path, out=out, force=force, console=console)
    if kind == "netherlands-synthesis":
        return run_synthesis(path, out=out, force=force, console=console)
    from .core.results import check_writable, save_estimate
    from .core.runconfig import load_run_config, load_spec, load_table, output_dir

    cfg = load_run_config(path)
    target = output_dir(cfg, str(out) if out else None)
    check_writable(target, force)
    base = path.parent
    table = load_table(cfg.data, base)
    spec = load_spec(cfg.model, base, str(path))
    from .families import fit as fit_family  # PyMC and friends: only once the config is read
    from .report.console import print_estimate

    estimate = fit_family(table, spec, cfg.sampler)
    if console is not None:
        print_estimate(estimate, console, title=cfg.name)
    save_estimate(estimate, target, force=force, config={"run": cfg.model_dump(mode="json"), "config_file": str(path)})
    if console is not None:
        console.print(f"results written to {target}")
    return target


def run_netherlands(
    config_path: str | Path, out: str | Path | None = None, force: bool = False, console: Console | None = None
) -> Path:
    """Run the Dutch baseline: fit, sensitivity, tables, plot and reports in one results folder."""
    from .core.results import check_writable
    from .report.netherlands import print_summary, write_outputs
    from .studies.netherlands.pipeline import fit_netherlands, load_config

    path = Path(config_path)
    cfg = load_config(path)
    target = Path(out) if out else Path(cfg.output.dir)
    check_writable(target, force)
    estimate, table, sens = fit_netherlands(cfg)
    if console is not None:
        print_summary(estimate, table, cfg, console)
    write_outputs(target, force, estimate, table, sens, cfg, path)
    if console is not None:
        console.print(f"results written to {target}")
    return target


def run_synthesis(
    config_path: str | Path, out: str | Path | None = None, force: bool = False, console: Console | None = None
) -> Path:
    """Run the Dutch default (the evidence synthesis): fit and check, refuse a fit that breaks a
    published bound, write the results folder, then print the summary."""
    from .core import gate
    from .core.results import check_writable
    from .report.synthesis import fit_warnings, print_summary, write_results
    from .studies.netherlands.synthesis_run import fit_synthesis, load_config

    path = Path(config_path)
    cfg = load_config(path)
    target = Path(out) if out else Path(cfg.output.dir)
    check_writable(target, force)
    clock = time.perf_counter()

    def say(message: str) -> None:
        if console is not None:
            console.print(f"[{time.perf_counter() - clock:5.0f} s] {message}")

    run = fit_synthesis(cfg, path, progress=say)
    if len(run.bounds) and run.bounds["share_above"].max() > 0:
        raise RuntimeError(
            "a posterior draw breaks a published bound: registered Dutch minors above the "
            "registered minors of any nationality"
        )
    write_results(run, target, force)
    warnings = fit_warnings(run.diagnostics, run.fit_info)
    gate.record(cfg.model.name, warnings)
    if console is not None:
        gate.shown(warnings)
        print_summary(console, run)
        console.print(f"results written to {target}")
    return target


def config_kind(path: str | Path) -> str | None:
    """What a config describes: ``"scenario"`` (it has a key of ``SCENARIO_KEYS``: ``extends``,
    ``interventions``, a ``sweep``, ``roles`` ...), else its top-level ``kind``
    (``"netherlands"`` for the anonymous-list baseline), else None (a plain run config)."""
    from .core.config import read_toml
    from .core.runconfig import SCENARIO_KEYS

    raw = read_toml(path)
    if any(key in raw for key in SCENARIO_KEYS):
        return "scenario"
    kind = raw.get("kind")
    return str(kind) if kind is not None else None
