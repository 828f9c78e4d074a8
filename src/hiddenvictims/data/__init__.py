"""Bundled public aggregate data, read with importlib.resources (see the SOURCES.md files)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def benchmark_names() -> list[str]:
    """Names of the bundled benchmark tables (file stems)."""
    folder = resources.files(__name__) / "benchmarks"
    return sorted(p.name.removesuffix(".csv") for p in folder.iterdir() if p.name.endswith(".csv"))


def benchmark_path(name: str) -> Path:
    """Path of a bundled benchmark table by name (``uk_2013_6lists``)."""
    from ..core.errors import InputError, did_you_mean

    names = benchmark_names()
    if name not in names:
        raise InputError(f"no bundled table '{name}'{did_you_mean(name, names)}; bundled: {', '.join(names)}")
    return Path(str(resources.files(__name__) / "benchmarks" / f"{name}.csv"))
