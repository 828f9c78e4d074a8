"""A small synthetic Dutch results folder for report tests (no model, no sampling).

Numbers are chosen so that no two shown counts differ by the small count (3) by chance: a
difference of 3 anywhere in the report would then be a leak, not a coincidence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

YEARS = (2019, 2020, 2021)
#: Registered Dutch minors in 2020: the small cell that must never be recoverable.
SMALL = 3


def per_year_rows() -> pd.DataFrame:
    rows = []
    est = {
        "Dutch victims": {
            2019: (1650, 980, 4100, 1410, 740, 3860),
            2020: (1390, 810, 3520, 1180, 600, 3310),
            2021: (1540, 860, 4470, 1280, 620, 4210),
        },
        # 2020: total 61 and hidden 58 (61 - 58 = 3 = registered minors): must not both show.
        "Dutch minors": {
            2019: (270, 110, 940, 244, 84, 914),
            2020: (61, 29, 212, 58, 26, 209),
            2021: (230, 90, 860, 204, 64, 834),
        },
    }
    for population, years in est.items():
        for year, (n, nl, nu, h, hl, hu) in years.items():
            for quantity, (m, lo, hi) in (
                ("N", (n, nl, nu)),
                ("hidden", (h, hl, hu)),
                ("share_registered", ((n - h) / n, 0.05, 0.3)),
                ("share_chat", (0.128, 0.052, 0.214)),
            ):
                rows.append(
                    {
                        "population": population,
                        "year": year,
                        "quantity": quantity,
                        "median": m,
                        "lower": lo,
                        "upper": hi,
                        "mcse_median": 0.01 * m,
                        "mcse_lower": 0.01 * lo,
                        "mcse_upper": 0.05 * hi,
                    }
                )
    return pd.DataFrame(rows)


def make_folder(
    path: Path,
    *,
    new_files: bool = True,
    warnings: tuple[str, ...] = (),
    suppress_below: int | None = None,
) -> Path:
    """Write the folder; ``new_files`` adds sources/contributions/conflicts (the evidence
    synthesis' files), ``warnings`` go into summary.json's diagnostics."""
    path.mkdir(parents=True, exist_ok=True)
    summary = {
        "family": "anonymous",
        "model": "synthetic",
        "interval": {"kind": "equal-tailed", "prob": 0.95},
        "rows": [],
        "notes": ["synthetic folder for tests"],
        "diagnostics": {
            "max_rhat": 1.004,
            "min_ess_bulk": 1234.0,
            "min_ess_tail": 987.0,
            "warnings": list(warnings),
        },
    }
    run = {
        "name": "Synthetic baseline",
        "report": {} if suppress_below is None else {"suppress_below": suppress_below},
    }
    manifest = {
        "config": {"run": run, "config_file": "scenarios/synthetic.toml"},
        "data_source": "synthetic",
        "data_hash": "abc123",
        "seed": 7,
    }
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "manifest.json").write_text(json.dumps(manifest))
    per_year_rows().to_csv(path / "per_year.csv", index=False)
    pd.DataFrame(
        {
            "year": YEARS,
            "register_dutch": [338, 259, None],
            "register_dutch_minor": [41, SMALL, 52],
            "register_dutch_adult": [297, 256, 271],
            "chat_victims": [211, 250, 193],
            "chat_minors": [None, 86, 68],
        }
    ).to_csv(path / "data_used.csv", index=False)
    # Changes of the estimate per pair of years (as the Dutch run writes them).
    pd.DataFrame(
        [
            {
                "population": "Dutch victims",
                "start": 2019,
                "end": 2020,
                "median": -0.16,
                "lower": -0.52,
                "upper": 0.41,
                "p_fell": 0.75,
            },
            {
                "population": "Dutch victims",
                "start": 2019,
                "end": 2021,
                "median": -0.05,
                "lower": -0.55,
                "upper": 0.9,
                "p_fell": 0.57,
            },
            {
                "population": "Dutch victims",
                "start": 2020,
                "end": 2021,
                "median": 0.1,
                "lower": -0.4,
                "upper": 1.1,
                "p_fell": 0.4,
            },
        ]
    ).to_csv(path / "changes.csv", index=False)
    pd.DataFrame(
        {
            "dependence": ["strong avoidance", "none", "referral"] * 2,
            "mismatch": ["baseline"] * 3 + ["none"] * 3,
            "evidence": ["baseline"] * 6,
            "quantity": ["N Dutch victims"] * 6,
            "stratum": ["2021"] * 6,
            "median": [5200, 1540, 720, 5600, 1700, 790],
            "lower": [2100, 860, 460, 2300, 910, 480],
            "upper": [14000, 4470, 1300, 15000, 4800, 1400],
            "ess": [900, 2000, 800, 700, 1500, 600],
            "pareto_k": [0.2, 0.1, 0.3, 0.4, 0.2, 0.5],
        }
    ).to_csv(path / "sensitivity.csv", index=False)
    if new_files:
        pd.DataFrame(
            {
                "id": ["register", "chat", "rapporteur"],
                "description": [
                    "CoMensha",
                    "Chat met Fier victims",
                    "National Rapporteur estimate 2016-2019",
                ],
                "provenance": [
                    "CoMensha annual report 2021, table 2",
                    "Fier annual reports",
                    "Nationaal Rapporteur (2021), p. 12",
                ],
            }
        ).to_csv(path / "sources.csv", index=False)
        pd.DataFrame(
            {
                "source_left_out": ["chat", "rapporteur"],
                "population": ["Dutch victims"] * 2,
                "year": [2021, 2021],
                "median": [2900, 1320],
                "lower": [700, 800],
                "upper": [9800, 3100],
            }
        ).to_csv(path / "contributions.csv", index=False)
        pd.DataFrame(
            {
                "source": ["register", "chat", "rapporteur"],
                "statistic": ["pit"] * 3,
                "p_value": [0.41, 0.08, 0.012],
                "flagged": [False, False, True],
            }
        ).to_csv(path / "conflicts.csv", index=False)
    return path


SYNTHESIS_DATA = Path(__file__).parent / "data" / "synthesis"


def make_synthesis_folder(path: Path) -> Path:
    """A results folder of the Dutch evidence synthesis without fitting anything.

    ``tests/data/synthesis`` holds the CSVs of a default run (``hiddenvictims run
    scenarios/netherlands-baseline.toml``), trimmed ``summary.json`` and ``manifest.json``, and
    ``draws.csv``: 200 posterior draws (25 per chain, evenly spaced) of the variables the
    reports' sentences read, one column per variable|year|age. They become ``idata.nc`` here.
    """
    import shutil

    import numpy as np
    import xarray as xr

    path.mkdir(parents=True, exist_ok=True)
    for file in SYNTHESIS_DATA.iterdir():
        if file.name != "draws.csv":
            shutil.copy(file, path / file.name)
    draws = pd.read_csv(SYNTHESIS_DATA / "draws.csv")
    n = len(draws)
    variables = {"theta": (("chain", "draw"), draws["theta"].to_numpy()[None, :])}
    years = sorted({int(c.split("|")[1]) for c in draws if c.startswith("N|")})
    ages = ["minor", "adult"]
    for name in ("N", "N_registered", "N_anonymous", "N_unseen"):
        values = np.stack([np.stack([draws[f"{name}|{y}|{a}"] for a in ages], axis=-1) for y in years], axis=1)
        variables[name] = (("chain", "draw", "year", "age"), values[None])
    model_years = sorted(int(c.split("|")[1]) for c in draws if c.startswith("register_coverage_sexual|"))
    coverage = np.stack([draws[f"register_coverage_sexual|{y}|minor"] for y in model_years], -1)
    # Only minors' coverage is read; adults get the same draws to keep the array whole.
    variables["register_coverage_sexual"] = (
        ("chain", "draw", "age", "model_year"),
        np.stack([coverage, coverage], axis=1)[None],
    )
    posterior = xr.Dataset(
        variables,
        coords={
            "chain": [0],
            "draw": np.arange(n),
            "year": years,
            "age": ages,
            "model_year": model_years,
        },
    )
    posterior.to_netcdf(path / "idata.nc", group="posterior", engine="h5netcdf")
    return path
