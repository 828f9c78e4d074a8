"""``hiddenvictims check``: did a code or data change move the estimates?

Every reported quantity of a results folder (the rows of ``summary.json``, and ``per_year.csv``
where a run writes one) is compared with a baseline (another results folder, or a stored
``baseline.json``). A quantity holds when

    |a - b| <= K * sqrt(se_a**2 + se_b**2) + REL_FLOOR * |b|

with se the Monte Carlo standard errors both runs report (0 for exact summaries). K = 4 keeps
the chance of a false alarm over ~100 quantities below 1% when nothing changed (the errors are
roughly normal; 4 s.e. is exceeded with probability 6e-5 each); REL_FLOOR = 2% absorbs
differences between machines that sampling error does not cover (different CPUs give different
draws for the same seed). A quantity present on one side only counts as moved.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import pandas as pd

from .errors import InputError

K_SE: float = 4.0
REL_FLOOR: float = 0.02
ENDS = ("median", "lower", "upper")
BASELINE_VERSION = 1


def folder_quantities(path: str | Path) -> pd.DataFrame:
    """Every reported quantity of a results folder: columns key, value, mcse."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: no such results folder")
    summary_file = path / "summary.json"
    if not summary_file.is_file():
        raise InputError(f"{path}: not a results folder (no summary.json)")
    try:
        summary = json.loads(summary_file.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{summary_file}: not valid JSON ({exc})") from None
    rows = []
    # A fit's rows; a scenario's outcome rows and its baseline fit; a sweep's baseline outcomes
    # and fit (its per-cell table carries no Monte Carlo errors, so it is not compared).
    for group, prefix in (("rows", ""), ("baseline", "baseline "), ("fit", "fit ")):
        for r in summary.get(group) or []:
            label = prefix + " ".join(str(r[k]) for k in ("quantity", "variant", "stratum") if k in r)
            for end in ENDS:
                if r.get(end) is not None:
                    rows.append((f"{label} {end}", float(r[end]), _num(r.get(f"mcse_{end}"))))
    per_year = path / "per_year.csv"
    if per_year.is_file():
        frame = pd.read_csv(per_year)
        for r in frame.to_dict(orient="records"):
            label = f"{r['population']} {r['year']} {r['quantity']}"
            for end in ENDS:
                rows.append((f"{label} {end}", float(r[end]), _num(r.get(f"mcse_{end}"))))
    rows += _sweep_totals(path / "sweep.csv")
    if not rows:
        raise InputError(f"{summary_file}: no reported quantities (key 'rows' is empty)")
    return pd.DataFrame(rows, columns=["key", "value", "mcse"]).drop_duplicates("key")


def _sweep_totals(path: Path) -> list[tuple[str, float, float]]:
    """A sweep's per-cell totals (stratum ``total``): keyed by the cell's axis values. The table
    carries no Monte Carlo errors, so only the relative floor applies to them."""
    if not path.is_file():
        return []
    frame = pd.read_csv(path)
    if "stratum" not in frame or "quantity" not in frame:
        return []
    axes = list(frame.columns[: list(frame.columns).index("quantity")])
    out = []
    for r in frame[frame["stratum"] == "total"].to_dict(orient="records"):
        cell = " ".join(f"{a}={r[a]:g}" for a in axes)
        for end in ENDS:
            out.append((f"sweep {cell} {r['quantity']} {r.get('variant', '')} {end}", float(r[end]), math.nan))
    return out


def _num(value) -> float:
    """A Monte Carlo error; missing or not finite counts as unknown (NaN)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def load_baseline(path: str | Path) -> pd.DataFrame:
    """A baseline: a results folder or a ``baseline.json`` written by :func:`write_baseline`."""
    path = Path(path)
    if path.is_dir():
        return folder_quantities(path)
    if not path.is_file():
        raise InputError(f"{path}: no such baseline (a results folder or a baseline.json)")
    try:
        data = json.loads(path.read_text())
        frame = pd.DataFrame(data["quantities"], columns=["key", "value", "mcse"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a baseline.json ({exc})") from None
    frame["mcse"] = [_num(v) for v in frame["mcse"]]
    return frame


def write_baseline(results: str | Path, target: str | Path) -> Path:
    """Store the quantities of ``results`` as a baseline.json (atomic replace)."""
    frame = folder_quantities(results)
    target = Path(target)
    record = {
        "version": BASELINE_VERSION,
        "source": str(results),
        "quantities": [
            {"key": k, "value": v, "mcse": None if math.isnan(s) else s} for k, v, s in frame.itertuples(index=False)
        ],
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    tmp.replace(target)
    return target


@dataclass(frozen=True)
class Tolerance:
    k: float = K_SE
    rel_floor: float = REL_FLOOR


def compare(now: pd.DataFrame, baseline: pd.DataFrame, tol: Tolerance = Tolerance()) -> pd.DataFrame:
    """One row per quantity: baseline, now, difference, its combined s.e., how many s.e. it
    moved (z), the tolerance and whether it holds. Unknown s.e. count as 0 (only the floor)."""
    merged = baseline.merge(now, on="key", how="outer", suffixes=("_base", "_now"), sort=False)
    out = []
    for r in merged.itertuples(index=False):
        se = math.sqrt(_zero(r.mcse_base) ** 2 + _zero(r.mcse_now) ** 2)
        if math.isnan(r.value_base) or math.isnan(r.value_now):
            out.append((r.key, r.value_base, r.value_now, math.nan, se, math.inf, math.nan, False))
            continue
        diff = r.value_now - r.value_base
        tolerance = tol.k * se + tol.rel_floor * abs(r.value_base)
        z = abs(diff) / se if se > 0 else (0.0 if diff == 0 else math.inf)
        out.append((r.key, r.value_base, r.value_now, diff, se, z, tolerance, abs(diff) <= tolerance))
    return pd.DataFrame(out, columns=["key", "baseline", "now", "diff", "se", "z", "tolerance", "holds"])


def _zero(value: float) -> float:
    return 0.0 if value is None or math.isnan(value) else float(value)


def junit_xml(table: pd.DataFrame, name: str, target: str | Path) -> Path:
    """JUnit XML: one test case per quantity, a failure for each that moved."""
    root = ET.Element("testsuites", name=name)
    suite = ET.SubElement(
        root,
        "testsuite",
        name=name,
        tests=str(len(table)),
        failures=str(int((~table["holds"]).sum())),
        errors="0",
    )
    for r in table.itertuples(index=False):
        case = ET.SubElement(suite, "testcase", classname=name, name=str(r.key))
        if not r.holds:
            failure = ET.SubElement(case, "failure", message=describe(r))
            failure.text = describe(r)
    target = Path(target)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(target, encoding="utf-8", xml_declaration=True)
    return target


def describe(r) -> str:
    if math.isnan(r.baseline):
        return f"{r.key}: new quantity (not in the baseline)"
    if math.isnan(r.now):
        return f"{r.key}: missing (in the baseline, not in this run)"
    return f"{r.key}: {r.baseline:.6g} -> {r.now:.6g} ({r.diff:+.4g}, {r.z:.1f} s.e.; tolerance {r.tolerance:.4g})"
