"""Command-line interface: thin commands over the Python API.

Bad input (InputError) ends in one line on stderr and exit code 2, with nothing written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .core.errors import InputError, require_file

app = typer.Typer(
    name="hiddenvictims",
    help=(
        "Estimate how many people in a hidden population no list has seen (multiple systems "
        "estimation), from two or more overlapping lists.\n\n"
        "Start with:  hiddenvictims fit TABLE.csv --model models/independence.toml --out results/x"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
err_console = Console(stderr=True)


@app.callback()
def _options(
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show the samplers' own log messages (PyMC, nutpie).")
    ] = False,
) -> None:
    """Library chatter (PyMC's "Initializing NUTS ...") is hidden unless --verbose: the
    commands print their own progress and results."""
    import logging

    # PyMC sets its logger to INFO on import only when the root logger has no handler: give the
    # root one (message only, as PyMC's own), so that the levels set here hold without importing
    # PyMC now (it costs seconds, and most commands answer before they need it).
    logging.basicConfig(format="%(message)s")
    if verbose:
        import pymc  # noqa: F401  (PyTensor resets its logger level on import: set ours after it)
    level = logging.INFO if verbose else logging.WARNING
    for name in ("pymc", "pytensor", "nutpie"):
        logging.getLogger(name).setLevel(level)

DataArg = Annotated[
    Path,
    typer.Argument(
        help="CSV table: one 0/1 column per list plus 'count' (pattern counts), or one row per "
        "person with 0/1 list columns (records).",
        show_default=False,
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed: same seed, same machine, same numbers.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing results folder.")]
StrataOpt = Annotated[
    list[str] | None, typer.Option("--strata", help="Column(s) that label strata (repeatable).")
]
FormatOpt = Annotated[str, typer.Option("--format", help="auto | patterns | records")]
DrawsOpt = Annotated[int | None, typer.Option(help="Posterior draws per chain.")]
TuneOpt = Annotated[int | None, typer.Option(help="Tuning steps per chain.")]
ChainsOpt = Annotated[int | None, typer.Option(help="Number of chains.")]
BackendOpt = Annotated[str | None, typer.Option(help="auto | pymc | nutpie")]


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _read_checked(data: Path, fmt: str, strata: list[str] | None, out: Path | None, force: bool):
    """Validate the output folder and read the table; InputError on any problem."""
    if fmt not in ("auto", "patterns", "records"):
        raise InputError(f"--format must be auto, patterns or records, not '{fmt}'")
    require_file(data)  # before loading pandas: a mistyped name is answered at once
    from .core.io import read_table
    from .core.results import check_writable

    if out is not None:
        check_writable(out, force)
    return read_table(data, fmt=fmt, strata=strata or [])  # type: ignore[arg-type]


def _sampler(seed: int, draws: int | None, tune: int | None, chains: int | None, backend: str | None):
    from .core.spec import SamplerSettings

    values = {"seed": seed, "progressbar": sys.stderr.isatty()}
    for key, value in (("draws", draws), ("tune", tune), ("chains", chains), ("backend", backend)):
        if value is not None:
            values[key] = value
    from .core import config

    return config.parse(SamplerSettings, values, "command line")


@app.command()
def fit(
    data: DataArg,
    model: Annotated[Path, typer.Option("--model", "-m", help="Model spec TOML (see models/).")] = Path(
        "models/independence.toml"
    ),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Results folder to write.")] = None,
    seed: SeedOpt = 20261125,
    strata: StrataOpt = None,
    fmt: FormatOpt = "auto",
    draws: DrawsOpt = None,
    tune: TuneOpt = None,
    chains: ChainsOpt = None,
    backend: BackendOpt = None,
    force: ForceOpt = False,
) -> None:
    """Fit one model to a capture table and print the posterior of the population size."""
    try:
        table = _read_checked(data, fmt, strata, out, force)
        from .core.results import save_estimate
        from .core.spec import load_model_spec
        from .families import fit as fit_family  # PyMC and friends: only once the input is read

        spec = load_model_spec(model)
        sampler = _sampler(seed, draws, tune, chains, backend)
        estimate = fit_family(table, spec, sampler)
        from .report.console import print_estimate

        print_estimate(estimate)
        if out is not None:
            save_estimate(estimate, out, force=force, config={"data": str(data), "model_file": str(model)})
            Console().print(f"results written to {out}")
    except InputError as exc:
        _fail(str(exc))


@app.command()
def run(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.toml", help="Run or scenario config.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Override output.dir.")] = None,
    force: ForceOpt = False,
) -> None:
    """Run a config from scenarios/: read its data, fit its model, write its results folder."""
    from .runner import run_config

    try:
        run_config(config_path, out=out, force=force, console=Console())
    except InputError as exc:
        _fail(str(exc))


@app.command()
def compare(
    data: DataArg,
    model: Annotated[
        list[Path] | None,
        typer.Option("--model", "-m", help="Model spec TOML (repeatable). Default: independence, "
                     "two-way, averaging over decomposable graphs, latent classes."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for table, plot, manifest.")] = None,
    seed: SeedOpt = 20261125,
    strata: StrataOpt = None,
    fmt: FormatOpt = "auto",
    draws: DrawsOpt = None,
    chains: ChainsOpt = None,
    backend: BackendOpt = None,
    force: ForceOpt = False,
) -> None:
    """Fit several models to one table and show their estimates side by side (spread first)."""
    try:
        table = _read_checked(data, fmt, strata, out, force)
        from .core.results import atomic_dir, versions, write_json
        from .families.compare import compare_models, default_specs, specs_from_files
        from .report.plots import plot_comparison

        specs = specs_from_files(model) if model else default_specs()
        sampler = _sampler(seed, draws, None, chains, backend)
        comparison = compare_models(table, specs, sampler)
    except InputError as exc:
        _fail(str(exc))
    frame = comparison.frame()
    console = Console()
    from .report.console import print_comparison

    title = f"{data.name}: {table.n_observed:,} observed on {table.n_lists} lists"
    print_comparison(frame, comparison.spread_sentence(), title, console)
    if out is not None:
        with atomic_dir(out, force=force) as tmp:
            frame.to_csv(tmp / "compare.csv", index=False)
            plot_comparison(frame, tmp / "compare.png", title=data.name)
            write_json(tmp / "compare.json", {"spread": comparison.spread_sentence(),
                                               "rows": frame.to_dict(orient="records")})
            write_json(tmp / "manifest.json", {
                "data_source": str(data), "data_hash": table.data_hash(), "seed": seed,
                "models": [{"label": label, **est.model} for label, est in comparison.estimates],
                "sampler": sampler.model_dump(mode="json"), "versions": versions()})
        console.print(f"results written to {out}")


@app.command()
def datasets() -> None:
    """List the public aggregate tables bundled with the package (usable as data.bundled)."""
    from .core.io import read_table
    from .data import benchmark_names, benchmark_path

    console = Console()
    for name in benchmark_names():
        t = read_table(benchmark_path(name))
        console.print(f"{name:34s} {t.n_lists} lists  {t.n_observed:>6,} observed  ({', '.join(t.lists)})")


from .scenario_cli import scenario_app  # noqa: E402  (mounted after this module's commands)

app.add_typer(scenario_app, name="scenario")


def main() -> None:
    """Entry point of the ``hiddenvictims`` command."""
    import warnings

    # Library chatter that says nothing about the user's estimate (see pyproject filterwarnings).
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    warnings.filterwarnings("ignore", message=".*ArviZ is undergoing a major refactor.*")
    app()


if __name__ == "__main__":
    main()
