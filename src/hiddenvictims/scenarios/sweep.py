"""Sweeps: a grid over intervention parameters, run in parallel through Dask, resumable.

A sweep has one dimension per swept parameter (``[[sweep.axes]]``). Its cells are cut into
chunks of ``chunk_size``; each chunk is one task. By default the tasks run on a Dask
``LocalCluster(n_workers=2, threads_per_worker=1)``; ``scheduler`` connects to an existing
cluster instead (its workers need this package installed), and ``workers=0`` runs them in this
process without Dask.

Every finished chunk is written at once to a checkpoint folder (``<results>.partial/``: the
posterior draws ``capture.nc``, ``index.json`` with the sweep's fingerprint, and one small
``chunks/chunk-NNNNNN.nc`` per chunk, each written to a temporary name and renamed). Running
the same sweep again after an interruption loads the stored draws (no refit) and computes
only the chunks that are missing. A different config, data set or grid has a different
fingerprint and is refused (``--restart`` discards the old checkpoint).

A cell's numbers depend only on the posterior draws and the cell's parameters (every cell is
computed on its own, with fixed seeds), never on chunking, worker count or completion order,
so a sweep gives identical numbers on one process and on a cluster.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from ..core.config import config_hash
from ..core.constants import INTERVAL_PROB
from ..core.errors import InputError
from .forward import STATS, Engine
from .interventions import compile_plan, parse_interventions
from .schema import set_path

CHUNK_DIM = "cell"
VARIANT_PAIR = ("scenario", "change")


@dataclass(frozen=True)
class Grid:
    """The swept parameters: dimension names, paths into the interventions, values."""

    names: tuple[str, ...]
    paths: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    labels: tuple[str, ...] = ()

    @classmethod
    def from_section(cls, section) -> Grid:
        return cls(
            tuple(a.name for a in section.axes),
            tuple(a.path for a in section.axes),
            tuple(a.grid() for a in section.axes),
            tuple(a.label or a.name for a in section.axes),
        )

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.values)

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.shape))

    def cell_values(self, cells: Sequence[int]) -> np.ndarray:
        """(len(cells), n_axes) parameter values of flat cell indices (C order)."""
        idx = np.unravel_index(np.asarray(cells, dtype=np.int64), self.shape)
        return np.column_stack([self.values[a][i] for a, i in enumerate(idx)])

    def record(self) -> dict:
        return {
            "names": list(self.names),
            "paths": list(self.paths),
            "values": [v.tolist() for v in self.values],
        }


def cell_steps(base_steps: list[dict], paths: Sequence[str], values: Sequence[float]) -> list[dict]:
    steps = base_steps
    for path, value in zip(paths, values, strict=True):
        steps = set_path(steps, path, float(value))
    return steps


def compute_chunk(
    engine: Engine,
    baseline: np.ndarray,
    base_steps: list[dict],
    paths: Sequence[str],
    values: np.ndarray,
) -> np.ndarray:
    """Summaries of the cells whose parameters are the rows of ``values``.

    Returns (cell, outcome, [scenario, change], stratum, stat). A pure function: it runs the
    same on any worker.
    """
    out = []
    for row in values:
        steps = parse_interventions(cell_steps(base_steps, paths, row), "sweep cell")
        plan = compile_plan(steps, engine.layout, "sweep cell")
        out.append(engine.cell_summary(plan, baseline))
    return np.stack(out)


# ----------------------------------------------------------------------------- checkpoints
@dataclass
class Checkpoint:
    """The folder that lets an interrupted sweep resume (see the module docstring)."""

    folder: Path
    fingerprint: str
    n_chunks: int

    @property
    def chunk_dir(self) -> Path:
        return self.folder / "chunks"

    def chunk_path(self, i: int) -> Path:
        return self.chunk_dir / f"chunk-{i:06d}.nc"

    def open(self, restart: bool = False) -> None:
        index = self.folder / "index.json"
        if self.folder.exists() and restart:
            shutil.rmtree(self.folder)
        if index.exists():
            stored = json.loads(index.read_text())
            if stored.get("fingerprint") != self.fingerprint:
                raise InputError(
                    f"{self.folder}: checkpoint of a different sweep (other config, data or "
                    "grid); use --restart to discard it"
                )
            return
        self.chunk_dir.mkdir(parents=True, exist_ok=True)
        tmp = index.with_name("index.json.tmp")
        tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "n_chunks": self.n_chunks}, indent=2))
        tmp.replace(index)

    def done(self) -> set[int]:
        out = set()
        for i in range(self.n_chunks):
            if self.chunk_path(i).exists():
                out.add(i)
        return out

    def save(self, i: int, cells: np.ndarray, stats: np.ndarray) -> None:
        ds = xr.Dataset(
            {"stats": ((CHUNK_DIM, "outcome", "variant", "stratum", "stat"), stats)},
            coords={CHUNK_DIM: cells},
        )
        path = self.chunk_path(i)
        tmp = path.with_name(path.name + ".tmp")
        ds.to_netcdf(tmp, engine="h5netcdf")
        tmp.replace(path)

    def load(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        with xr.open_dataset(self.chunk_path(i), engine="h5netcdf") as ds:
            return ds[CHUNK_DIM].values.copy(), ds["stats"].values.copy()

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# ----------------------------------------------------------------------------- running
@dataclass
class SweepReport:
    cells: int
    chunks: int
    computed: list[int] = field(default_factory=list)
    reused: list[int] = field(default_factory=list)
    seconds: float = 0.0
    where: str = ""

    def record(self) -> dict:
        return {
            "cells": self.cells,
            "chunks": self.chunks,
            "computed_chunks": len(self.computed),
            "reused_chunks": len(self.reused),
            "seconds": round(self.seconds, 3),
            "where": self.where,
        }


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator:
    """A Client on ``scheduler``, or on a new LocalCluster of ``workers`` 1-thread processes."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise InputError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        with client:
            yield client
        return
    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536 (to hand memory back to the OS);
    # setting it at all disables glibc's adaptive mmap threshold, so every large temporary
    # array is mmap'd and page-faulted afresh: the forward simulation ran ~40% slower in a
    # worker than in a plain process. Our workers keep glibc's defaults (None unsets it).
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _progress(enabled: bool, total: int, done: int):
    """The sweep's chunks as a progress task (bars, CI lines or nothing: see ..progress)."""
    from ..core import progress as shown

    if not (enabled or shown.enabled()):
        return contextlib.nullcontext(None)
    return _ChunkTask(shown.task("sweep", total, unit="chunks"), done)


class _ChunkTask:
    def __init__(self, context, done: int) -> None:
        self.context, self.done = context, done

    def __enter__(self):
        self.task = self.context.__enter__()
        if self.done:
            self.task.update(self.done)
        return self

    def advance(self) -> None:
        self.task.advance()

    def __exit__(self, *exc):
        return self.context.__exit__(*exc)


def run_grid(
    engine: Engine,
    base_steps: list[dict],
    grid: Grid,
    *,
    chunk_size: int = 20,
    workers: int = 2,
    scheduler: str | None = None,
    checkpoint: Checkpoint | None = None,
    progress: bool = False,
    on_chunk: Callable[[int], None] | None = None,
    client=None,
) -> tuple[xr.Dataset, SweepReport]:
    """Evaluate every cell of ``grid``; returns the sweep Dataset and what was computed.

    ``client`` (a ``distributed.Client``) reuses a running cluster instead of starting one.

    ``on_chunk(i)`` is called after chunk i is stored (tests use it to interrupt a sweep).
    """
    start = time.perf_counter()
    baseline = engine.flat(engine.evaluate(None))
    n_chunks = -(-grid.n_cells // chunk_size)
    chunks = [np.arange(i * chunk_size, min((i + 1) * chunk_size, grid.n_cells)) for i in range(n_chunks)]
    results: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    report = SweepReport(grid.n_cells, n_chunks)
    if checkpoint is not None:
        for i in sorted(checkpoint.done()):
            try:
                results[i] = checkpoint.load(i)
                report.reused.append(i)
            except (OSError, ValueError, KeyError):
                checkpoint.chunk_path(i).unlink(missing_ok=True)
    todo = [i for i in range(n_chunks) if i not in results]

    def finish(i: int, stats: np.ndarray) -> None:
        results[i] = (chunks[i], stats)
        report.computed.append(i)
        if checkpoint is not None:
            checkpoint.save(i, chunks[i], stats)
        if bar is not None:
            bar.advance()
        if on_chunk is not None:
            on_chunk(i)

    with _progress(progress, n_chunks, n_chunks - len(todo)) as bar:
        if todo and (workers == 0 and not scheduler and client is None):
            report.where = "this process"
            for i in todo:
                finish(
                    i,
                    compute_chunk(engine, baseline, base_steps, grid.paths, grid.cell_values(chunks[i])),
                )
        elif todo:
            from distributed import as_completed

            given = contextlib.nullcontext(client) if client is not None else None
            with given or dask_client(workers, scheduler) as client:
                n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
                report.where = scheduler or f"Dask, {n_workers} workers"
                shared = client.scatter([engine, baseline], broadcast=True, hash=False)
                tag = config_hash({"grid": grid.record(), "t": time.time_ns()})[:12]
                futures = {
                    client.submit(
                        compute_chunk,
                        shared[0],
                        shared[1],
                        base_steps,
                        grid.paths,
                        grid.cell_values(chunks[i]),
                        key=f"hiddenvictims-sweep-{tag}-{i}",
                    ): i
                    for i in todo
                }
                try:
                    for future in as_completed(futures):
                        i = futures[future]
                        finish(i, future.result())
                        future.release()
                except BaseException:
                    client.cancel(list(futures))
                    raise
    report.seconds = time.perf_counter() - start
    return assemble(engine, baseline, grid, results), report


def assemble(
    engine: Engine,
    baseline: np.ndarray,
    grid: Grid,
    results: dict[int, tuple[np.ndarray, np.ndarray]],
) -> xr.Dataset:
    """One Dataset: per outcome (and its change) dims (*axes, stratum, stat), plus the baseline."""
    from .forward import summary_stats

    first = next(iter(results.values()))[1]
    stats = np.empty((grid.n_cells, *first.shape[1:]))
    for cells, values in results.values():
        stats[cells] = values
    stats = stats.reshape(*grid.shape, *first.shape[1:])
    base = summary_stats(baseline)
    dims = (*grid.names, "stratum", "stat")
    coords = {name: vals for name, vals in zip(grid.names, grid.values, strict=True)}
    coords.update({"stratum": engine.stratum_labels, "stat": list(STATS)})
    data = {}
    for k, o in enumerate(engine.outcomes):
        data[o] = (dims, stats[..., k, 0, :, :])
        data[f"{o}_change"] = (dims, stats[..., k, 1, :, :])
        data[f"baseline_{o}"] = (("stratum", "stat"), base[k])
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        {
            "interval_prob": INTERVAL_PROB,
            "interval": "equal-tailed",
            "mode": engine.mode,
            "draws": int(engine.N.shape[0]),
            "axes": json.dumps(grid.record()["paths"]),
            "axis_labels": json.dumps(list(grid.labels)),
        }
    )
    return ds


def sweep_table(ds: xr.Dataset, outcomes: Sequence[str]) -> pd.DataFrame:  # noqa: F821
    """Long table: one row per cell, outcome, variant and stratum, with the summary stats."""
    import pandas as pd

    axes = [d for d in ds[outcomes[0]].dims if d not in ("stratum", "stat")]
    frames = []
    for o in outcomes:
        for variant, name in (("scenario", o), ("change", f"{o}_change")):
            frame = ds[name].to_dataset(dim="stat").to_dataframe().reset_index()
            frame.insert(len(axes), "quantity", o)
            frame.insert(len(axes) + 1, "variant", variant)
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    keep = [*axes, "quantity", "variant", "stratum", *STATS]
    return out[keep]
