"""One convergence gate for every command that fits.

Every convergence warning an estimate reports (:meth:`Estimate.warnings`: R-hat, ESS,
divergences) is remembered here; the command prints it and writes it to ``summary.json`` as
before, and at the end refuses, with exit code 3, to call an unconverged run a success unless
the user said ``--allow-unconverged``. The results folder is still written, with its warnings,
so the numbers can be inspected.
"""

from __future__ import annotations

EXIT_UNCONVERGED = 3
_SEEN: dict[str, None] = {}  # ordered set of "model: warning"
_SHOWN: set[str] = set()  # warnings (text) already printed by the command


def record(label: str, warnings: list[str]) -> None:
    """Remember the convergence warnings of one fit (called by ``Estimate.warnings``)."""
    for warning in warnings:
        _SEEN[f"{label}: {warning}"] = None


def shown(warnings: list[str]) -> None:
    """Say that these warnings were printed already (enforce prints only the others)."""
    _SHOWN.update(warnings)


def reset() -> None:
    _SEEN.clear()
    _SHOWN.clear()


def pending() -> list[str]:
    return list(_SEEN)


def enforce(allow: bool) -> None:
    """End the command with exit 3 if any fit did not converge and ``allow`` is False."""
    import typer
    from rich.console import Console

    found = pending()
    unshown = [w for w in found if w.split(": ", 1)[-1] not in _SHOWN]
    reset()
    err = Console(stderr=True)
    for warning in unshown:
        err.print(f"[bold yellow]warning:[/bold yellow] {warning}", highlight=False, soft_wrap=True)
    if found and not allow:
        err.print(
            f"[bold red]error:[/bold red] the fit did not converge ({len(found)} warning(s) "
            "above, also in summary.json): do not use these numbers; run more draws/tune, or "
            "pass --allow-unconverged to accept them",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=EXIT_UNCONVERGED)
