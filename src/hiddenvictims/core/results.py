"""Writing results folders atomically, with a manifest that says how they were made.

A results folder holds ``idata.nc``, ``summary.csv``, ``summary.json`` and ``manifest.json``
(config, data hash, seed, package and dependency versions). Everything is written into a
temporary sibling folder first and renamed into place at the end, so a crash or a bad input
never leaves a half-written or half-overwritten folder.
"""

from __future__ import annotations

import contextlib
import json
import platform
import shutil
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import config_hash
from .constants import ESS_MIN, INTERVAL_PROB, RHAT_MAX
from .errors import InputError

if TYPE_CHECKING:
    from .estimate import Estimate

TRACKED_PACKAGES = (
    "hiddenvictims", "numpy", "scipy", "pandas", "xarray", "pymc", "pytensor",
    "arviz", "nutpie", "pydantic", "dask", "distributed", "h5netcdf",
)


def versions() -> dict[str, str]:
    """Installed versions of Python and the packages that shape results."""
    out = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def check_writable(out_dir: str | Path, force: bool) -> Path:
    """Refuse to overwrite an existing results folder unless ``force``; fail before any work."""
    out = Path(out_dir)
    if out.exists() and not force:
        raise InputError(f"{out}: results folder exists; use --force to replace it")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    return out


@contextlib.contextmanager
def atomic_dir(out_dir: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``out_dir`` in one rename."""
    out = check_writable(out_dir, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{tmp.name.rsplit('-', 1)[-1]}"
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _round(value: float, digits: int = 6) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def summary_record(estimate: Estimate) -> dict[str, Any]:
    """The content of summary.json: rounded summaries, diagnostics, warnings and notes."""
    frame = estimate.summary()
    diag = estimate.diagnostics()
    rows = [
        {k: (_round(v) if isinstance(v, float) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]
    return {
        "family": estimate.family,
        "model": estimate.model.get("name", estimate.family),
        "interval": {"kind": "equal-tailed", "prob": INTERVAL_PROB},
        "observed": int(estimate.table.n_observed),
        "lists": list(estimate.table.lists),
        "strata": list(estimate.table.strata),
        "rows": rows,
        "diagnostics": {
            "thresholds": {"rhat_max": RHAT_MAX, "ess_min": ESS_MIN},
            "max_rhat": _round(float(diag["rhat"].max())) if len(diag) else None,
            "min_ess_bulk": _round(float(diag["ess_bulk"].min())) if len(diag) else None,
            "min_ess_tail": _round(float(diag["ess_tail"].min())) if len(diag) else None,
            "warnings": estimate.warnings(),
        },
        "notes": list(estimate.notes),
        "flags": list(estimate.flags),
    }


def manifest_record(estimate: Estimate, config: dict | None) -> dict[str, Any]:
    cfg = {"model": estimate.model, "sampler": estimate.sampler, **(config or {})}
    return {
        "family": estimate.family,
        "config": cfg,
        "config_hash": config_hash(cfg),
        "data_source": estimate.table.source,
        "data_hash": estimate.table.data_hash(),
        "seed": estimate.seed,
        "versions": versions(),
    }


def save_estimate(
    estimate: Estimate,
    out_dir: str | Path,
    force: bool = False,
    config: dict | None = None,
) -> Path:
    """Write the results folder for ``estimate`` atomically."""
    with atomic_dir(out_dir, force=force) as tmp:
        idata = estimate.idata.copy()
        manifest = manifest_record(estimate, config)
        idata.posterior.attrs.update(
            {"config_hash": manifest["config_hash"], "data_hash": manifest["data_hash"], "seed": estimate.seed}
        )
        idata.to_netcdf(str(tmp / "idata.nc"), engine="h5netcdf")
        estimate.summary().to_csv(tmp / "summary.csv", index=False)
        write_json(tmp / "summary.json", summary_record(estimate))
        write_json(tmp / "manifest.json", manifest)
    return Path(out_dir)
