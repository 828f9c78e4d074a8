"""The price of anonymity on the Netherlands 2010-2015 six-list table (docs/validation.md).

For each list in turn: keep only its total and how many of its members are on another list, and
fit the anonymous-list model (two-way terms among the five linked lists, one dependence theta
for the anonymous list, theta ~ Normal(0, 1)); fit the same assumptions with full linkage
(must agree); and fit the ordinary two-way log-linear model to the fully linked table (what
linkage would allow). Prints a markdown table; writes benchmarks/results/anonymous_price.csv.

    .venv/bin/python benchmarks/anonymous_price.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from _results import RESULTS

from hiddenvictims.core.anonymous_data import from_table
from hiddenvictims.core.io import read_table
from hiddenvictims.core.spec import AnonymousSpec, LoglinearSpec, SamplerSettings
from hiddenvictims.data import benchmark_path
from hiddenvictims.families import anonymous as an
from hiddenvictims.families import loglinear
from hiddenvictims.families.anonymous_reference import fit_reference

SAMPLER = SamplerSettings(chains=4, draws=1000, tune=1000, seed=2026, backend="pymc")
SPEC = AnonymousSpec(interactions=["all-two-way"], dependence={"mean": 0.0, "sd": 1.0})


def q(est) -> np.ndarray:
    return np.quantile(est.posterior["N"].values.ravel(), [0.5, 0.025, 0.975])


def main() -> pd.DataFrame:
    table = read_table(benchmark_path("netherlands_2010_2015_6lists"))
    two_way = loglinear.fit(table, LoglinearSpec(interactions=["all-two-way"]), SAMPLER)
    full2 = q(two_way)
    rows = []
    for name in table.lists:
        t0 = time.time()
        data, total, known = from_table(table, name)
        anon = q(an.fit(data, SPEC, SAMPLER))
        ref = q(fit_reference(table, name, SPEC, SAMPLER))
        rows.append(
            {
                "list": name,
                "total": total,
                "on_other_lists": known,
                "anon_median": anon[0],
                "anon_lower": anon[1],
                "anon_upper": anon[2],
                "single_theta_full_median": ref[0],
                "single_theta_full_lower": ref[1],
                "single_theta_full_upper": ref[2],
                "two_way_median": full2[0],
                "two_way_lower": full2[1],
                "two_way_upper": full2[2],
                "seconds": time.time() - t0,
            }
        )
    frame = pd.DataFrame(rows)
    out = RESULTS
    out.mkdir(exist_ok=True)
    frame.to_csv(out / "anonymous_price.csv", index=False)
    print(
        "| anonymised list | its total | of whom on other lists | anonymous model N (95%) | "
        "same assumptions, full linkage | two-way log-linear, full linkage | ratio anon / two-way |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['list']} | {r['total']:,} | {r['on_other_lists']:,} | {r['anon_median']:,.0f} "
            f"({r['anon_lower']:,.0f}–{r['anon_upper']:,.0f}) | {r['single_theta_full_median']:,.0f} "
            f"({r['single_theta_full_lower']:,.0f}–{r['single_theta_full_upper']:,.0f}) | "
            f"{r['two_way_median']:,.0f} ({r['two_way_lower']:,.0f}–{r['two_way_upper']:,.0f}) | "
            f"{r['anon_median'] / r['two_way_median']:.2f} |"
        )
    return frame


if __name__ == "__main__":
    main()
