"""Every model on every benchmark table, next to the published figures (docs/validation.md).

Run: .venv/bin/python benchmarks/validation_table.py  -> benchmarks/results/validation.md
(the table is pasted into docs/validation.md; regenerate it after any model change).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

from _results import RESULTS

warnings.filterwarnings("ignore")

from hiddenvictims.core.io import read_table  # noqa: E402
from hiddenvictims.core.spec import SamplerSettings, load_model_spec  # noqa: E402
from hiddenvictims.data import benchmark_names, benchmark_path  # noqa: E402
from hiddenvictims.families import fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = RESULTS

#: Published figures, from each table's .md in shared/data/benchmarks ("published" only).
PUBLISHED = {
    "uk_2013_6lists": "10,000–13,000 (Home Office/Silverman 2014, stepwise)",
    "uk_2013_5lists": "11,313 stepwise (10,000–13,000); BIC averaging 22,991 [11,456, 43,894] (Silverman et al. 2024)",
    "uk_2013_4lists_noGP": "— (used in Silverman 2020; values unverified)",
    "netherlands_2010_2015_6lists": "≈ 6,250/yr × 6 yr (van Dijk et al. 2017, with covariates; not this pooled model)",
    "netherlands_2010_2015_5lists": "as the 6-list table",
    "us_western_site_5lists": "2,483 with A:E, BCa 95% (1,293, 3,670) (Chan, Silverman & Vincent 2021)",
    "korea_palembang_3lists": "95% 124–198 (Ball et al. 2018); all-model 157 [128, 349] (Silverman et al. 2024)",
    "artificial_3lists": "— (existence test; no N)",
    "hiv_lazio_1990_4lists": "— (prevalences only, Abeni et al. 1994)",
    "lesbian_allegheny_4lists": "7,031 (5,850–8,576) (Aaron et al. 2003)",
    "spina_bifida_ny_3lists": "sources held ≈80% of cases (Hook et al. 1980) ⇒ N ≈ 776",
    "scotland_pwid_2006_4lists": "31,700 (24,900–38,700) with covariates (King et al. 2013)",
}

#: Models compared: (column label, spec file). Families register themselves here as they land.
MODELS = [
    ("independence", "models/independence.toml"),
    ("two-way", "models/two-way.toml"),
]
OPTIONAL_MODELS = [
    ("averaging (dga)", "models/averaging.toml"),
    ("latent class", "models/latent-class.toml"),
]


def cell(est) -> str:
    """Median (95% interval); ⚠ = a convergence warning, ‡ = the N grid cuts the posterior."""
    row = est.summary().set_index("quantity").loc["N"]
    flag = " ⚠" if est.warnings() else ""
    if "grid_cut" in est.flags:
        flag += " ‡"
    return f"{row['median']:,.0f} ({row['lower']:,.0f}–{row['upper']:,.0f}){flag}"


def main() -> None:
    models = MODELS + [(label, path) for label, path in OPTIONAL_MODELS if (ROOT / path).is_file()]
    only = set(sys.argv[1:])
    settings = SamplerSettings(chains=4, draws=1000, tune=1000, seed=2026, backend="pymc")
    rows, raw = [], {}
    for name in benchmark_names():
        if only and name not in only:
            continue
        table = read_table(benchmark_path(name))
        cells = []
        for label, path in models:
            spec = load_model_spec(ROOT / path)
            start = time.perf_counter()
            try:
                est = fit(table, spec, settings)
                text = cell(est)
                raw[f"{name}/{label}"] = {
                    "summary": est.summary().to_dict(orient="records"),
                    "warnings": est.warnings(),
                    "seconds": round(time.perf_counter() - start, 2),
                }
            except Exception as exc:  # noqa: BLE001 - the table reports failures instead of hiding them
                text = f"failed: {type(exc).__name__}"
            cells.append(text)
            print(f"{name:32s} {label:18s} {text}", flush=True)
        rows.append(
            f"| {name} | {table.n_lists} | {table.n_observed:,} | " + " | ".join(cells) + f" | {PUBLISHED[name]} |"
        )
    header = "| table | lists | observed | " + " | ".join(label for label, _ in models) + " | published |"
    sep = "|" + "---|" * (4 + len(models))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "validation.md").write_text("\n".join([header, sep, *rows]) + "\n")
    (OUT / "validation.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    print(f"written {OUT / 'validation.md'}")


if __name__ == "__main__":
    main()
