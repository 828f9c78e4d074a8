"""Command-line interface: thin commands over the Python API.

Bad input (InputError) ends in one line on stderr and exit code 2, with nothing written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .core.errors import InputError

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
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show the samplers' own log messages (PyMC, nutpie).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or progress lines.")] = False,
) -> None:
    """Library chatter (PyMC's "Initializing NUTS ...") is hidden unless --verbose: the
    commands print their own progress (bars on a terminal, plain lines in logs; --quiet: none)
    and results."""
    import logging

    from .core import gate, progress

    progress.configure("off" if quiet else "auto")
    # Back to silent when the command ends: the API (and tests calling the CLI in-process) stay quiet.
    ctx.call_on_close(lambda: progress.configure("off"))
    # A command that stops early (bad input, Ctrl-C) gives up its claim on its results folder.
    ctx.call_on_close(_release_claims)
    gate.reset()

    # Without importing PyMC (seconds; --dry-run must not pay them): PyMC's import sets its
    # logger to INFO and adds a handler only if it has none, so ours, with our level, filters.
    level = logging.INFO if verbose else logging.WARNING
    pymc_log = logging.getLogger("pymc")
    handler = next((h for h in pymc_log.handlers if getattr(h, "hiddenvictims", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.hiddenvictims = True  # type: ignore[attr-defined]
        pymc_log.addHandler(handler)
    handler.setLevel(level)
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
AllowOpt = Annotated[
    bool,
    typer.Option(
        "--allow-unconverged",
        help="Exit 0 even when convergence checks fail "
        "(default: exit 3; the warnings are printed and in summary.json either way).",
    ),
]
StrataOpt = Annotated[list[str] | None, typer.Option("--strata", help="Column(s) that label strata (repeatable).")]
FormatOpt = Annotated[str, typer.Option("--format", help="auto | patterns | records")]
ListsOpt = Annotated[
    str | None,
    typer.Option("--lists", help="List columns, comma-separated (A,B,C); required for one row per person."),
]
CountColOpt = Annotated[
    str | None,
    typer.Option(
        "--count-column",
        help="Column holding the number of people per row (default: the column named exactly 'count').",
    ),
]
CovariatesOpt = Annotated[
    str | None,
    typer.Option(
        "--covariates",
        help="Other columns to read past, comma-separated (never guessed: an undeclared column is an error).",
    ),
]
DrawsOpt = Annotated[int | None, typer.Option(help="Posterior draws per chain.")]
TuneOpt = Annotated[int | None, typer.Option(help="Tuning steps per chain.")]
ChainsOpt = Annotated[int | None, typer.Option(help="Number of chains.")]
BackendOpt = Annotated[str | None, typer.Option(help="auto | pymc | nutpie")]


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _read_checked(
    data: Path,
    fmt: str,
    strata: list[str] | None,
    out: Path | None,
    force: bool,
    lists: str | None = None,
    count_column: str | None = None,
    covariates: str | None = None,
):
    """Validate the output folder and read the table; InputError on any problem."""
    if fmt not in ("auto", "patterns", "records"):
        raise InputError(f"--format must be auto, patterns or records, not '{fmt}'")
    from .data import resolve

    path = resolve("table", data)  # before loading pandas: a mistyped name is answered at once
    from .core.io import parse_names, read_table
    from .core.results import check_writable

    if out is not None:
        check_writable(out, force)
    return read_table(  # type: ignore[arg-type]
        path,
        fmt=fmt,
        strata=strata or [],
        lists=parse_names(lists, "--lists"),
        count_column=count_column,
        covariates=parse_names(covariates, "--covariates") or [],
    )


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
    model: Annotated[
        Path,
        typer.Option(
            "--model",
            "-m",
            help="Model spec TOML, or a bundled model's name (independence, two-way, averaging, latent-class ...).",
        ),
    ] = Path("independence"),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Results folder to write.")] = None,
    seed: SeedOpt = 20261125,
    strata: StrataOpt = None,
    fmt: FormatOpt = "auto",
    lists: ListsOpt = None,
    count_column: CountColOpt = None,
    covariates: CovariatesOpt = None,
    draws: DrawsOpt = None,
    tune: TuneOpt = None,
    chains: ChainsOpt = None,
    backend: BackendOpt = None,
    force: ForceOpt = False,
    allow_unconverged: AllowOpt = False,
) -> None:
    """Fit one model to a capture table and print the posterior of the population size."""
    try:
        table = _read_checked(data, fmt, strata, out, force, lists, count_column, covariates)
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
    from .core import gate

    gate.enforce(allow_unconverged)


@app.command()
def run(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.toml", help="Run or scenario config.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Override output.dir.")] = None,
    force: ForceOpt = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Check the config, data and output folder; say what "
            "would run and how long it should take; fit nothing.",
        ),
    ] = False,
    allow_unconverged: AllowOpt = False,
) -> None:
    """Run a config (a path, or a bundled config's name such as uk-2013-two-way): read its data,
    fit its model, write its results folder."""
    from .core import gate
    from .data import resolve

    try:
        if dry_run:
            from .dryrun import plan_run, print_plan

            print_plan(plan_run(resolve("config", config_path), out, force), Console())
            return
        from .runner import run_config

        run_config(resolve("config", config_path), out=out, force=force, console=Console())
    except InputError as exc:
        _fail(str(exc))
    gate.enforce(allow_unconverged)


@app.command()
def compare(
    data: DataArg,
    model: Annotated[
        list[Path] | None,
        typer.Option(
            "--model",
            "-m",
            help="Model spec TOML (repeatable). Default: independence, "
            "two-way, averaging over decomposable graphs, latent classes.",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for table, plot, manifest.")] = None,
    seed: SeedOpt = 20261125,
    strata: StrataOpt = None,
    fmt: FormatOpt = "auto",
    lists: ListsOpt = None,
    count_column: CountColOpt = None,
    covariates: CovariatesOpt = None,
    draws: DrawsOpt = None,
    chains: ChainsOpt = None,
    backend: BackendOpt = None,
    force: ForceOpt = False,
    allow_unconverged: AllowOpt = False,
) -> None:
    """Fit several models to one table and show their estimates side by side (spread first)."""
    try:
        table = _read_checked(data, fmt, strata, out, force, lists, count_column, covariates)
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
            write_json(
                tmp / "compare.json", {"spread": comparison.spread_sentence(), "rows": frame.to_dict(orient="records")}
            )
            write_json(
                tmp / "manifest.json",
                {
                    "data_source": str(data),
                    "data_hash": table.data_hash(),
                    "seed": seed,
                    "models": [{"label": label, **est.model} for label, est in comparison.estimates],
                    "sampler": sampler.model_dump(mode="json"),
                    "versions": versions(),
                },
            )
        console.print(f"results written to {out}")
    from .core import gate

    gate.enforce(allow_unconverged)


@app.command()
def datasets(
    paths: Annotated[bool, typer.Option("--paths", help="Show where each file is.")] = False,
) -> None:
    """List the public tables, models and configs bundled with the package: their names work
    wherever a file is asked for (`fit uk_2013_6lists --model two-way`, data.bundled)."""
    from .core.io import read_table
    from .data import benchmark_names, benchmark_path, bundled_names, bundled_path

    console = Console(soft_wrap=True)
    console.print("[bold]tables[/bold]")
    for name in benchmark_names():
        t = read_table(benchmark_path(name))
        where = f"\n    {benchmark_path(name)}" if paths else f"  ({', '.join(t.lists)})"
        console.print(f"  {name:30s} {t.n_lists} lists {t.n_observed:>6,} observed{where}", highlight=False)
    for kind, title in (("model", "models"), ("config", "configs")):
        console.print(f"[bold]{title}[/bold]")
        for name in bundled_names(kind):
            where = f"  {bundled_path(kind, name)}" if paths else ""
            console.print(f"  {name}{where}", highlight=False)


@app.command()
def study(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.toml", help="Study config.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Results folder.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address.")] = None,
    workers: Annotated[int | None, typer.Option(help="Local Dask workers (0: no Dask).")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Discard a checkpoint.")] = False,
    force: ForceOpt = False,
) -> None:
    """Simulation study: coverage, bias, width and time of each model on known-N populations
    (resumes from <out>.partial/ after an interruption)."""
    from .study import load_study, markdown_table, run_study

    try:
        config = load_study(config_path)
        target = out or Path(config.out)
        summary, seconds = run_study(
            config,
            target,
            scheduler=scheduler,
            workers=workers,
            restart=restart,
            force=force,
            progress=sys.stderr.isatty(),
        )
    except InputError as exc:
        _fail(str(exc))
    Console().print(markdown_table(summary), soft_wrap=True)
    Console().print(f"{seconds:,.0f} s; written {target}")


@app.command()
def report(
    results: Annotated[Path, typer.Argument(metavar="RESULTS_DIR", help="A results folder.")],
    lang: Annotated[str, typer.Option("--lang", help="nl | en")] = "nl",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file (default RESULTS_DIR/report.LANG.html).")
    ] = None,
) -> None:
    """Write the self-contained HTML report of a results folder (for policy advisors)."""
    from .report.html import render_report
    from .report.messages import check_lang

    try:
        check_lang(lang)
        text = render_report(results, lang)
    except InputError as exc:
        _fail(str(exc))
    target = out or results / f"report.{lang}.html"
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    Console().print(f"report written to {target}")


@app.command()
def check(
    results: Annotated[Path, typer.Argument(metavar="RESULTS_DIR", help="A results folder.")],
    against: Annotated[Path, typer.Option("--against", help="Baseline: a results folder or a baseline.json.")],
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")] = None,
    update: Annotated[
        bool, typer.Option("--update", help="Write RESULTS_DIR's quantities to the baseline.json.")
    ] = False,
    show_all: Annotated[bool, typer.Option("--all", help="List every quantity.")] = False,
) -> None:
    """Compare every reported quantity with a baseline; exit 1 if one moved beyond its
    Monte Carlo tolerance (k x combined s.e. + a relative floor), 2 on bad input."""
    from .core.regression import K_SE, REL_FLOOR, compare, folder_quantities, junit_xml, load_baseline, write_baseline

    console = Console()
    try:
        if update:
            if against.is_dir():
                raise InputError(f"--update writes a baseline.json; {against} is a folder")
            write_baseline(results, against)
            console.print(f"baseline written to {against}")
            return
        table = compare(folder_quantities(results), load_baseline(against))
    except InputError as exc:
        _fail(str(exc))
    from .report.console import print_check

    print_check(table, K_SE, REL_FLOOR, console, show_all=show_all)
    if junit is not None:
        junit_xml(table, f"hiddenvictims check {results.name}", junit)
    raise typer.Exit(code=0 if bool(table["holds"].all()) else 1)


from .scenario_cli import scenario_app  # noqa: E402  (mounted after this module's commands)

app.add_typer(scenario_app, name="scenario")


#: Exit codes: 0 done, 1 our fault (a bug: please report it), 2 bad input (the message says
#: which file, line, key), 3 the fit did not converge (see --allow-unconverged), 130 Ctrl-C.
EXIT_BUG, EXIT_INPUT, EXIT_UNCONVERGED, EXIT_INTERRUPTED = 1, 2, 3, 130
REPORT_HINT = "this is a bug in hiddenvictims; please report it with the command and --verbose output"


def run_cli(args: list[str] | None = None) -> int:
    """Run the command line and return its exit code; every failure is one line on stderr.

    Input errors exit 2, an interrupted run (Ctrl-C, SIGTERM) 130 with nothing written (the
    results folder is written atomically and its claim released), anything else is our fault:
    exit 1 with a hint to report it, the traceback only with --verbose.
    """
    try:  # recent typer vendors click; older versions use click itself
        from typer._click.exceptions import ClickException
    except ImportError:
        from click.exceptions import ClickException

    argv = list(sys.argv[1:] if args is None else args)
    verbose = "--verbose" in argv
    try:
        code = app(args=argv, standalone_mode=False)
        return code if isinstance(code, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except ClickException as exc:  # usage errors: bad option, missing argument
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()
        else:
            err_console.print(
                f"[bold red]error:[/bold red] {exc.format_message()} (see --help)", highlight=False, soft_wrap=True
            )
        return EXIT_INPUT
    except InputError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        return EXIT_INPUT
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("interrupted: nothing was written", highlight=False)
        return EXIT_INTERRUPTED
    except MemoryError:
        err_console.print(
            "[bold red]error:[/bold red] out of memory: use a smaller model or fewer draws",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_INPUT
    except Exception as exc:  # noqa: BLE001 (the last resort: one line, not a traceback)
        if verbose:
            err_console.print_exception()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        err_console.print(
            f"[bold red]error:[/bold red] {type(exc).__name__}: {first} ({REPORT_HINT})",
            highlight=False,
            soft_wrap=True,
            markup=True,
        )
        return EXIT_BUG
    finally:
        _release_claims()


def _release_claims() -> None:
    """Give up this process' claims on results folders. Only a command that imported the results
    writer can hold one; importing it here would load NumPy for nothing (a third of --help's time)."""
    results = sys.modules.get(f"{__package__}.core.results")
    if results is not None:
        results.release_all()


def _sigterm(signum, frame) -> None:  # noqa: ARG001
    raise KeyboardInterrupt


def main() -> None:
    """Entry point of the ``hiddenvictims`` command."""
    import signal
    import warnings

    # Library chatter that says nothing about the user's estimate (see pyproject filterwarnings).
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    warnings.filterwarnings("ignore", message=".*ArviZ is undergoing a major refactor.*")
    # SIGTERM (kill, a CI timeout) stops like Ctrl-C: temp folders removed, claims released.
    signal.signal(signal.SIGTERM, _sigterm)
    sys.exit(run_cli())


if __name__ == "__main__":
    main()
