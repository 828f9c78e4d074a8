"""Sweeps on the forward model of people: every cell compiled up front, chunks on Dask.

The grid's cells are compiled to per-stratum parameter arrays in this process (cells x strata:
chat findability, register detection, referral). The posterior cells and everything the cells
share (present chances, the baseline's rows) are shipped to each worker once
(``scatter(broadcast=True)``); each task then gets only its chunk's parameter arrays and runs
the compiled kernel (:func:`.people_engine.sweep_stats_compiled`). Chunks are large (a few per
worker) because a task's fixed cost, not the arithmetic, limits how well two workers share
the work. Numbers do not depend on chunking or workers (each cell is computed on its own).
Nothing is written or printed here: :mod:`hiddenvictims.report.people` writes the results folder.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..core.config import config_hash
from ..core.constants import INTERVAL_PROB
from .baseline import Baseline
from .interventions import parse_interventions
from .people import OUTCOMES, PeopleDraws
from .people_engine import (
    SWEEP_STATS,
    compile_people,
    prepare_sweep,
    row_labels,
    sweep_stats_compiled,
)
from .sweep import Grid, cell_steps, dask_client


def compile_cells(
    people: PeopleDraws, base_steps: list[dict], grid: Grid, heterogeneity: float, source: str
) -> tuple[np.ndarray, ...]:
    """(chat, register, referral), each (cells, M strata), for every cell in C order."""
    M = int(np.prod(people.shape))
    out = np.empty((3, grid.n_cells, M))
    for i, row in enumerate(grid.cell_values(np.arange(grid.n_cells))):
        steps = parse_interventions(cell_steps(base_steps, grid.paths, row), source)
        plan = compile_people(steps, people.strata, heterogeneity, source)
        for j, attr in enumerate(("chat", "register", "referral")):
            out[j, i] = np.broadcast_to(np.asarray(getattr(plan, attr), dtype=np.float64), people.shape).ravel()
    return out[0], out[1], out[2]


def _chunk(people, prepared, chat, register, referral, heterogeneity):
    return sweep_stats_compiled(people, chat, register, referral, heterogeneity, prepared=prepared)


def _timed_chunk(people, prepared, chat, register, referral, heterogeneity):
    """A chunk with the CPU seconds it took and the process that ran it: how evenly the work
    is shared is measurable even on a machine whose other load distorts wall-clock time."""
    import os

    start = time.process_time()
    stats = _chunk(people, prepared, chat, register, referral, heterogeneity)
    return stats, time.process_time() - start, os.getpid()


def run_cells(
    people: PeopleDraws,
    params: tuple[np.ndarray, ...],
    heterogeneity: float,
    workers: int = 2,
    chunk_size: int = 20,
    scheduler: str | None = None,
    client=None,
) -> tuple[np.ndarray, dict]:
    """Stats (cells, outcome, [scenario, change], row, stat) and a record of how it ran."""
    start = time.perf_counter()
    chat, register, referral = params
    n = chat.shape[0]
    prepared = prepare_sweep(people, heterogeneity)
    if workers == 0 and scheduler is None and client is None:
        stats = _chunk(people, prepared, chat, register, referral, heterogeneity)
        return stats, {
            "cells": n,
            "chunks": 1,
            "where": "this process",
            "seconds": round(time.perf_counter() - start, 3),
        }
    import contextlib

    from distributed import wait

    given = contextlib.nullcontext(client) if client is not None else None
    with given or dask_client(workers, scheduler) as cl:
        n_workers = max(1, len(cl.scheduler_info(n_workers=-1)["workers"]))
        size = max(chunk_size, math.ceil(n / (2 * n_workers)))
        bounds = [(i, min(i + size, n)) for i in range(0, n, size)]
        shared = cl.scatter([people, prepared], broadcast=True, hash=False)
        tag = config_hash({"t": time.time_ns()})[:12]
        futures = [
            cl.submit(
                _timed_chunk,
                shared[0],
                shared[1],
                chat[a:b],
                register[a:b],
                referral[a:b],
                heterogeneity,
                key=f"hv-people-{tag}-{k}",
            )
            for k, (a, b) in enumerate(bounds)
        ]
        wait(futures)
        parts = [f.result() for f in futures]
        stats = np.concatenate([p[0] for p in parts])
        busy: dict[int, float] = {}
        for _, cpu, pid in parts:
            busy[pid] = busy.get(pid, 0.0) + cpu
        where = scheduler or f"Dask, {n_workers} workers"
    return stats, {
        "cells": n,
        "chunks": len(bounds),
        "where": where,
        "seconds": round(time.perf_counter() - start, 3),
        "worker_cpu_s": sorted(round(v, 3) for v in busy.values()),
    }


def assemble(people: PeopleDraws, grid: Grid, stats: np.ndarray, base: np.ndarray) -> xr.Dataset:
    """Per outcome: scenario and change over (*axes, stratum, stat); the baseline rows."""
    shape = grid.shape
    stats = stats.reshape(*shape, *stats.shape[1:])
    dims = (*grid.names, "stratum", "stat")
    coords = {name: vals for name, vals in zip(grid.names, grid.values, strict=True)}
    coords.update({"stratum": row_labels(people.strata), "stat": list(SWEEP_STATS)})
    data = {}
    for k, o in enumerate(OUTCOMES):
        data[o] = (dims, stats[..., k, 0, :, :])
        data[f"{o}_change"] = (dims, stats[..., k, 1, :, :])
        data[f"baseline_{o}"] = (("stratum", "stat"), base[k])
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        {
            "interval_prob": INTERVAL_PROB,
            "interval": "equal-tailed",
            "draws": people.n_draws,
            "engine": "people",
            "axes": json.dumps(list(grid.paths)),
            "axis_labels": json.dumps(list(grid.labels)),
        }
    )
    return ds


def baseline_rows(people: PeopleDraws) -> np.ndarray:
    """(outcome, row, stat) of the baseline, in the sweep's row order."""
    from .people import outcomes
    from .people_engine import fast_quantiles, flat_rows

    lo, hi = (1 - INTERVAL_PROB) / 2, (1 + INTERVAL_PROB) / 2
    rows = flat_rows(outcomes(people.cells), len(people.shape))  # (o, rows, s)
    q = fast_quantiles(rows, [0.5, lo, hi])
    return np.concatenate([q, rows.mean(-1)[..., None], np.full(q.shape[:-1] + (1,), np.nan)], axis=-1)


@dataclass
class PeopleSweep:
    """A people-engine sweep computed: what the report layer writes and prints."""

    baseline: Baseline
    people: PeopleDraws
    grid: Grid
    ds: xr.Dataset
    table: pd.DataFrame
    notes: list[str]
    record: dict


def sweep_people(prep, baseline: Baseline, workers: int | None = None, scheduler: str | None = None) -> PeopleSweep:
    """Every cell of the config's grid on the baseline posterior (split into the targeted group,
    if any); ``workers`` and ``scheduler`` override the config's."""
    from .people_run import assumptions_for, prepare_people

    cfg = prep.cfg
    people, info = prepare_people(prep, baseline)
    grid = Grid.from_section(cfg.sweep)
    steps = [s.model_dump(mode="json") for s in cfg.interventions]
    v = cfg.people.reach_heterogeneity
    params = compile_cells(people, steps, grid, v, prep.source)
    stats, record = run_cells(
        people, params, v, cfg.sweep.workers if workers is None else workers, cfg.sweep.chunk_size, scheduler
    )
    ds = assemble(people, grid, stats, baseline_rows(people))
    return PeopleSweep(baseline, people, grid, ds, sweep_table(ds), assumptions_for(cfg, baseline, info), record)


def sweep_table(ds: xr.Dataset) -> pd.DataFrame:
    axes = [d for d in ds[OUTCOMES[0]].dims if d not in ("stratum", "stat")]
    frames = []
    for o in OUTCOMES:
        for variant, name in (("scenario", o), ("change", f"{o}_change")):
            frame = ds[name].to_dataset(dim="stat").to_dataframe().reset_index()
            frame.insert(len(axes), "quantity", o)
            frame.insert(len(axes) + 1, "variant", variant)
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["period"] = np.where(out["stratum"] == "total", "sum over years", "yearly")
    return out
