"""Shared test fixtures: benchmark tables (bundled copies), fast sampler settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hiddenvictims.core.io import read_table
from hiddenvictims.core.spec import SamplerSettings
from hiddenvictims.core.table import CaptureTable
from hiddenvictims.data import benchmark_path

#: The shared benchmark folder (beside the repository), found from this file, never the cwd.
BENCHMARKS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "benchmarks"

#: Small but honest sampler settings for pipeline tests (2 chains x 500 draws).
FAST = SamplerSettings(chains=2, draws=500, tune=500, seed=11, backend="pymc")


def load_benchmark(name: str) -> CaptureTable:
    """A benchmark table by name, from the copy bundled with the package (always present)."""
    return read_table(benchmark_path(name.removesuffix(".csv")))


@pytest.fixture(scope="session")
def benchmarks_dir() -> Path:
    """The shared benchmark folder; tests that need its .md/peer files fail loudly without it."""
    assert BENCHMARKS_DIR.is_dir(), f"benchmark directory {BENCHMARKS_DIR} not found"
    return BENCHMARKS_DIR
