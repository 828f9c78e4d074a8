"""``hiddenvictims scenario ...``: thin commands over :mod:`hiddenvictims.scenario_runner`.

Mounted in the main CLI as ``app.add_typer(scenario_app, name="scenario")``. Bad input ends in
one line on stderr and exit code 2, with nothing written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .core.errors import InputError

scenario_app = typer.Typer(
    name="scenario",
    help=(
        "What if anonymous online help were easier to find and better linked to care and police? "
        "Run scenario configs (scenarios/*.toml) on the posterior: victims reached, registered, "
        "still hidden, and how precise next year's estimate would be."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_err = Console(stderr=True)

ConfigArg = Annotated[Path, typer.Argument(metavar="SCENARIO.toml", help="Scenario config (see scenarios/).")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Results folder (default: output.dir).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing results folder.")]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Check the config, data and output folder; say what would run and how long it should take; fit nothing.",
    ),
]
AllowOpt = Annotated[
    bool,
    typer.Option(
        "--allow-unconverged",
        help="Exit 0 even when the fit's convergence checks "
        "fail (default: exit 3; warnings are printed and in summary.json either way).",
    ),
]


def _fail(message: str) -> None:
    _err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@scenario_app.command("run")
def run_cmd(
    config_path: ConfigArg,
    out: OutOpt = None,
    force: ForceOpt = False,
    precision: Annotated[
        bool | None,
        typer.Option(
            "--precision/--no-precision",
            help="Measure monitoring precision (default: precision.enabled in the config).",
            show_default=False,
        ),
    ] = None,
    replicates: Annotated[int | None, typer.Option(help="Precision replicates (default: the config's).", min=2)] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Sweeps: local Dask workers (default: sweep.workers; 0: in this process).",
            min=0,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="Sweeps: use an existing Dask cluster (tcp://host:8786).",
        ),
    ] = None,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Sweeps: discard an interrupted sweep's checkpoint instead of resuming it.",
        ),
    ] = False,
    dry_run: DryRunOpt = False,
    allow_unconverged: AllowOpt = False,
) -> None:
    """Run one scenario (or a sweep) and write its results folder."""
    from .data import resolve

    try:
        path = resolve("config", config_path)  # answered before the scenario engine loads
        if dry_run:
            from .dryrun import plan_scenario, print_plan

            print_plan(plan_scenario(path, out, force, precision, replicates), Console())
            return
        from .scenario_runner import run_scenario

        run_scenario(
            path,
            out=out,
            force=force,
            precision=precision,
            replicates=replicates,
            workers=workers,
            scheduler=scheduler,
            restart=restart,
            progress=sys.stderr.isatty(),
            console=Console(),
        )
    except InputError as exc:
        _fail(str(exc))
    from .core import gate

    gate.enforce(allow_unconverged)


@scenario_app.command("compare")
def compare_cmd(
    configs: Annotated[list[Path], typer.Argument(metavar="A.toml B.toml ...", help="Scenario configs.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Results folder (default: results/compare-A-B...)."),
    ] = None,
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    allow_unconverged: AllowOpt = False,
) -> None:
    """Several scenarios side by side: a table with intervals and a plot."""
    from .core import gate
    from .data import resolve

    try:
        configs = [resolve("config", c) for c in configs]
        if dry_run:
            from .dryrun import plan_compare, print_plan

            print_plan(plan_compare(configs, out, force), Console())
            return
        from .scenario_runner import compare

        compare(configs, out=out, force=force, console=Console())
    except InputError as exc:
        _fail(str(exc))
    gate.enforce(allow_unconverged)


@scenario_app.command("interventions")
def interventions_cmd() -> None:
    """List the interventions a config can use and what each changes in the capture process."""
    from .scenarios.interventions import REGISTRY

    console = Console()
    for kind, entry in REGISTRY.items():
        fields = ", ".join(n for n in entry.model.model_fields if n != "kind")
        console.print(f"[bold]{kind}[/bold] ({fields})\n  {entry.changes}", soft_wrap=True)
