"""User-facing errors. The CLI turns an ``InputError`` into one line on stderr and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class InputError(ValueError):
    """Bad input from a user: a file, row, column or config key that cannot be used.

    The message is one line and names where the problem is, so the CLI can print it as is.
    """


def require_file(path: str | Path) -> Path:
    """``path`` as a Path, or an InputError naming it when there is no such file.

    Lives here (standard library only) so that the CLI can answer a mistyped file name before
    it loads pandas or xarray.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return path


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean ...?)' hint for a misspelt key or name, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
