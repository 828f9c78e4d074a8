"""Writing results folders atomically, with a manifest that says how they were made.

A results folder holds ``idata.nc``, ``summary.csv``, ``summary.json`` and ``manifest.json``
(config, data hash, seed, package and dependency versions). Everything is written into a
temporary sibling folder first and renamed into place at the end, so a crash or a bad input
never leaves a half-written or half-overwritten folder.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import platform
import secrets
import shutil
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import config_hash
from .constants import ESS_MIN, INTERVAL_PROB, RHAT_MAX
from .errors import InputError
from .variables import describe

if TYPE_CHECKING:
    from .estimate import Estimate

TRACKED_PACKAGES = (
    "hiddenvictims",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "pymc",
    "pytensor",
    "arviz",
    "nutpie",
    "pydantic",
    "dask",
    "distributed",
    "h5netcdf",
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


#: Set to "POINT:FLAGFILE" by the kill tests only: at POINT ("writing" or "renames") the
#: writer creates FLAGFILE and sleeps, so a test can SIGKILL it exactly there.
TEST_PAUSE_ENV = "HIDDENVICTIMS_TEST_PAUSE"
MANIFEST = "manifest.json"
_CLAIMS: dict[Path, Path] = {}  # target -> lock file held by this process
_MADE_PARENTS: list[Path] = []  # folders created for a claim, removed again if left empty


def _test_pause(point: str) -> None:
    spec = os.environ.get(TEST_PAUSE_ENV, "")
    if spec.partition(":")[0] == point:
        Path(spec.partition(":")[2]).write_text(str(os.getpid()))
        time.sleep(3600)


def is_results_folder(path: Path) -> bool:
    """True when ``path`` holds a manifest this tool wrote (a JSON object with our version)."""
    try:
        data = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "hiddenvictims" in (data.get("versions") or {})


def _lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


def _siblings(out: Path, kind: str) -> list[Path]:
    try:
        return sorted(out.parent.glob(f".{glob_escape(out.name)}.{kind}-*"))
    except OSError:
        return []


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


def _check_target(out: Path, force: bool) -> None:
    text = str(out)
    if out.name in ("", ".", "..") or text.strip() == "":
        raise InputError(f"'{text}': not a folder name; give the results folder to write, e.g. --out results/mine")
    if out.is_symlink():
        what = "a dangling symbolic link" if not out.exists() else "a symbolic link"
        raise InputError(f"{out}: is {what}; give a real folder to write the results to")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise InputError(f"{out}: results folder exists; use --force to replace it")
        if not is_results_folder(out):
            raise InputError(
                f"{out}: exists and is not a results folder written by hiddenvictims (no "
                f"{MANIFEST} of ours); --force replaces only those, so nothing was touched"
            )
    ancestor = out.parent
    while not ancestor.exists():
        if ancestor.is_symlink():
            raise InputError(f"{ancestor}: is a dangling symbolic link; cannot write {out}")
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{out}: cannot be created ({ancestor} is not a folder)")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{out}: cannot write here ({ancestor} is not writable)")


def _lock_owner_alive(lock: Path) -> bool:
    try:
        pid = int(lock.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False  # unreadable: written by a process killed mid-write
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _recover(out: Path) -> None:
    """Undo what a killed writer left beside ``out`` (we hold its lock, so no one else is
    writing): a target moved aside but not replaced comes back; temp folders go."""
    olds = _siblings(out, "old")
    if not out.exists() and not out.is_symlink() and olds:
        complete = [p for p in olds if is_results_folder(p)]
        if complete:
            complete[-1].rename(out)
    for path in [*_siblings(out, "tmp"), *_siblings(out, "old")]:
        shutil.rmtree(path, ignore_errors=True)


def claim(out_dir: str | Path, force: bool) -> Path:
    """Check ``out_dir`` can be written and claim it for this process, before any work.

    The claim is an exclusively created lock file beside the target (``.NAME.lock`` holding
    our pid), so of two runs aimed at one folder exactly one goes ahead; a lock left by a
    killed run (its pid is gone) is taken over. Refuses (InputError): an existing folder
    without ``force``, with ``force`` a folder that is not one of our results folders (it
    could hold the user's data), a file, a symbolic link, an unwritable place, an empty name.
    """
    out = Path(out_dir)
    # First what no lock can change (name, link, file, permissions); whether an existing folder
    # may be replaced is decided under the lock, after a killed run's leftovers are recovered.
    _check_target(out, force=True)
    key = out.absolute()
    if key in _CLAIMS:
        return out
    missing = []
    parent = out.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create its folder ({exc.strerror})") from None
    _MADE_PARENTS.extend(reversed(missing))
    lock = _lock_path(out)
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _lock_owner_alive(lock):
                release_all()
                raise InputError(
                    f"{out}: another run is writing this results folder (lock {lock}); "
                    "wait for it or choose another --out"
                ) from None
            # Taken over from a killed run: rename first, so two runs cannot both remove it.
            with contextlib.suppress(OSError):
                lock.rename(lock.with_name(f"{lock.name}.stale-{os.getpid()}"))
                lock.with_name(f"{lock.name}.stale-{os.getpid()}").unlink()
            continue
        except OSError as exc:
            release_all()
            raise InputError(f"{out}: cannot write here ({exc.strerror})") from None
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()}\n")
        break
    else:
        raise InputError(f"{out}: could not claim the results folder (lock {lock})")
    _CLAIMS[key] = lock
    try:
        _recover(out)
        _check_target(out, force)  # again: a recovered folder may now be in the way
    except BaseException:
        release(out)
        raise
    return out


def release(out_dir: str | Path) -> None:
    """Give up the claim on ``out_dir`` (remove our lock file)."""
    lock = _CLAIMS.pop(Path(out_dir).absolute(), None)
    if lock is not None:
        with contextlib.suppress(OSError):
            lock.unlink()


def release_all() -> None:
    """Give up every claim of this process and remove parent folders we created, if empty."""
    for key in list(_CLAIMS):
        release(key)
    while _MADE_PARENTS:
        with contextlib.suppress(OSError):
            _MADE_PARENTS.pop().rmdir()


atexit.register(release_all)


def check_writable(out_dir: str | Path, force: bool) -> Path:
    """Claim ``out_dir`` (see :func:`claim`): fail before any work, not after the fit."""
    return claim(out_dir, force)


@contextlib.contextmanager
def atomic_dir(out_dir: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out_dir``; on success it replaces ``out_dir``.

    A replacement never leaves the target missing for longer than between two renames (old
    aside, new in, then the old one deleted), and a run killed there is recovered by the next
    claim of the same target. Failing to write (a full disk) is an InputError; nothing stays.
    """
    out = claim(out_dir, force)
    try:
        try:
            # A plain mkdir honours the user's umask (mkdtemp makes every folder drwx------, so
            # colleagues could not open the results); the random name keeps it exclusive.
            tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(8)}"
            tmp.mkdir()
        except OSError as exc:
            raise InputError(f"{out}: cannot write here ({exc.strerror})") from None
        try:
            yield tmp
            _test_pause("writing")
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, OSError) and not isinstance(exc, InputError):
                raise InputError(
                    f"{out}: could not write the results ({exc.strerror or exc}); nothing was written"
                ) from None
            raise
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{tmp.name.rsplit('-', 1)[-1]}"
            out.rename(old)
        _test_pause("renames")
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        release(out)


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
        idata = describe(estimate.idata, estimate.family)  # a copy, every variable explained
        manifest = manifest_record(estimate, config)
        idata.posterior.attrs.update(
            {"config_hash": manifest["config_hash"], "data_hash": manifest["data_hash"], "seed": estimate.seed}
        )
        idata.to_netcdf(str(tmp / "idata.nc"), engine="h5netcdf")
        estimate.summary().to_csv(tmp / "summary.csv", index=False)
        write_json(tmp / "summary.json", summary_record(estimate))
        write_json(tmp / "manifest.json", manifest)
    return Path(out_dir)
