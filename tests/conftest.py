"""Shared test fixtures: benchmark tables (bundled copies), fast sampler settings."""

from __future__ import annotations

from pathlib import Path

from hiddenvictims.core.io import read_table
from hiddenvictims.core.spec import SamplerSettings
from hiddenvictims.core.table import CaptureTable
from hiddenvictims.data import benchmark_path

#: Golden values from independent implementations, with their provenance (data/SOURCES.md).
TEST_DATA = Path(__file__).resolve().parent / "data"

#: Small but honest sampler settings for pipeline tests (2 chains x 500 draws).
FAST = SamplerSettings(chains=2, draws=500, tune=500, seed=11, backend="pymc")


def load_benchmark(name: str) -> CaptureTable:
    """A benchmark table by name, from the copy bundled with the package (always present)."""
    return read_table(benchmark_path(name.removesuffix(".csv")))
