"""Bundled public aggregate data, model specs and configs, read with importlib.resources.

Tables (``benchmarks/*.csv``, sources in the SOURCES.md files), the model specs of the
repository's ``models/`` and the configs of its ``scenarios/`` ship with the package, so a name
(``uk_2013_6lists``, ``two-way``, ``uk-2013-two-way``) works from any directory. A path that
exists always wins over a name.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: Bundled folders and the file suffix of their entries.
KINDS = {
    "table": ("benchmarks", ".csv"),
    "model": ("models", ".toml"),
    "config": ("scenarios", ".toml"),
}


def bundled_names(kind: str) -> list[str]:
    """Names (file stems) of the bundled tables, models or configs."""
    folder, suffix = KINDS[kind]
    root = resources.files(__name__) / folder
    return sorted(p.name.removesuffix(suffix) for p in root.iterdir() if p.name.endswith(suffix))


def bundled_path(kind: str, name: str) -> Path:
    """Path of a bundled table, model or config by name; InputError (with hints) if unknown."""
    from ..core.errors import InputError, did_you_mean

    folder, suffix = KINDS[kind]
    names = bundled_names(kind)
    stem = name.removesuffix(suffix)
    if stem not in names:
        raise InputError(f"no bundled {kind} '{name}'{did_you_mean(stem, names)}; bundled: {', '.join(names)}")
    return Path(str(resources.files(__name__) / folder / f"{stem}{suffix}"))


def resolve(kind: str, ref: str | Path, base: Path | None = None) -> Path:
    """A file the user named: the path (relative to ``base`` if given) when it exists, else the
    bundled entry of that name (``two-way`` or ``models/two-way.toml`` -> the bundled
    ``two-way.toml``), else an InputError that lists the bundled names."""
    from ..core.errors import InputError

    path = Path(ref)
    full = path if base is None or path.is_absolute() else base / path
    if full.exists():
        return full
    folder, suffix = KINDS[kind]
    stem = path.name.removesuffix(suffix)
    # Only bare names and paths into the repository's own folder fall back to the bundle:
    # a misspelt path elsewhere must fail, not silently take a bundled file.
    ours = path.parent in (Path(), Path(folder), Path("..") / folder)
    if ours and stem in bundled_names(kind):
        return bundled_path(kind, stem)
    raise InputError(f"{full}: no such file (bundled {kind}s by name: {', '.join(bundled_names(kind))})")


def benchmark_names() -> list[str]:
    """Names of the bundled benchmark tables (file stems)."""
    return bundled_names("table")


def benchmark_path(name: str) -> Path:
    """Path of a bundled benchmark table by name (``uk_2013_6lists``)."""
    return bundled_path("table", name)
