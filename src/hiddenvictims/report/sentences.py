"""Quotable sentences that compare like with like.

A sentence sets the register's change against the estimate's change; both sides are built
from one :class:`Period` and one population, and :class:`Comparison` refuses to exist
otherwise. (An earlier report set the register's 2019->2020 change against the estimate's
2019->2021 change, which an advisor would quote as if it were the same thing.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.constants import interval_quantiles

CHANGE_COLUMNS = ["population", "start", "end", "median", "lower", "upper", "p_fell"]


@dataclass(frozen=True)
class Period:
    start: int
    end: int


@dataclass(frozen=True)
class RegisterChange:
    population: str
    period: Period
    count_start: float
    count_end: float

    @property
    def change(self) -> float:
        return self.count_end / self.count_start - 1


@dataclass(frozen=True)
class EstimateChange:
    """Relative change of the estimated number (median, interval) and P(it fell)."""

    population: str
    period: Period
    median: float
    lower: float
    upper: float
    p_fell: float


@dataclass(frozen=True)
class Comparison:
    register: RegisterChange
    estimate: EstimateChange

    def __post_init__(self) -> None:
        if (self.register.population, self.register.period) != (
            self.estimate.population,
            self.estimate.period,
        ):
            raise ValueError(
                f"a sentence must compare like with like: register {self.register.population} "
                f"{self.register.period} against estimate {self.estimate.population} "
                f"{self.estimate.period}"
            )


def change_table(draws: dict[str, np.ndarray], years: list[int], prob: float | None = None) -> pd.DataFrame:
    """Relative change and P(fell) for every ordered pair of years, per population.

    ``draws[population]`` has shape (draws, years) in the order of ``years``.
    """
    lo, hi = interval_quantiles() if prob is None else interval_quantiles(prob)
    rows = []
    for population, values in draws.items():
        values = np.asarray(values, dtype=np.float64)
        for i, start in enumerate(years):
            for j in range(i + 1, len(years)):
                ratio = values[:, j] / values[:, i]
                ratio = ratio[np.isfinite(ratio)]
                q = np.quantile(ratio, [0.5, lo, hi])
                rows.append(
                    {
                        "population": population,
                        "start": int(start),
                        "end": int(years[j]),
                        "median": q[0] - 1,
                        "lower": q[1] - 1,
                        "upper": q[2] - 1,
                        "p_fell": float(np.mean(ratio < 1)),
                    }
                )
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def comparisons(register: pd.DataFrame, changes: pd.DataFrame) -> list[Comparison]:
    """One comparison per population and pair of years with both register counts known:
    consecutive years, and first to last known year. ``register`` has columns population,
    year, count (hidden counts already removed); ``changes`` is a :func:`change_table`."""
    out = []
    for population, sub in register.dropna(subset=["count"]).groupby("population", sort=False):
        counts = dict(zip(sub["year"].astype(int), sub["count"], strict=True))
        years = sorted(y for y, c in counts.items() if c > 0)
        pairs = list(zip(years, years[1:], strict=False))
        if len(years) > 2:
            pairs.append((years[0], years[-1]))
        for start, end in pairs:
            match = changes[
                (changes["population"] == population) & (changes["start"] == start) & (changes["end"] == end)
            ]
            if len(match) != 1:
                continue
            r = match.iloc[0]
            period = Period(start, end)
            out.append(
                Comparison(
                    RegisterChange(population, period, counts[start], counts[end]),
                    EstimateChange(
                        population,
                        period,
                        float(r["median"]),
                        float(r["lower"]),
                        float(r["upper"]),
                        float(r["p_fell"]),
                    ),
                )
            )
    return out
