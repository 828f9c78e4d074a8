"""The public evidence on Dutch victims as rows a synthesis model can read.

Every published figure about Dutch victims (register counts, the chat's counts, the 2020
first-disclosure share, the Rapporteur's multiple systems estimates, and the published bounds)
is one row of ``data/netherlands/evidence.csv`` with its source id. A row says which latent
quantity it measures (population ``N``, ``registered``, reached by the ``chat``), for which
form of exploitation, age group and sex, over which years, and whether it is a sum or a
yearly mean. That lets evidence apply to any total (all ages, several years), not only to one
stratum. :func:`evidence_arrays` turns the rows into the weight matrices the model multiplies
its latent expected counts with.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ...core.errors import InputError

EVIDENCE_FILE = "evidence.csv"
#: Dutch wording of each row's note, for the Dutch report (kept apart from the evidence so that
#: a translation never changes the data's hash).
NOTES_NL_FILE = "evidence_notes_nl.csv"
KINDS = ("count", "estimate", "upper_bound", "known")
QUANTITIES = ("N", "registered", "chat", "both")
FORMS = ("sexual", "other")
AGES = ("minor", "adult")
REQUIRED = (
    "id",
    "group",
    "kind",
    "quantity",
    "form",
    "age",
    "sex",
    "year_from",
    "year_to",
    "aggregate",
    "value",
    "source",
)


def evidence_path() -> Path:
    """Path of the bundled evidence table."""
    return Path(str(resources.files("hiddenvictims.data") / "netherlands" / EVIDENCE_FILE))


def notes_nl() -> dict[str, str]:
    """{evidence row id: its note in Dutch} from the bundled translations."""
    path = resources.files("hiddenvictims.data") / "netherlands" / NOTES_NL_FILE
    frame = pd.read_csv(str(path), dtype=str, keep_default_na=False)
    return dict(zip(frame["id"], frame["note_nl"], strict=True))


def load_evidence(path: str | Path | None = None) -> pd.DataFrame:
    """The evidence rows (bundled file unless ``path``), checked: known kinds and selections,
    positive values, whole years."""
    path = Path(path) if path is not None else evidence_path()
    frame = pd.read_csv(
        path,
        dtype={"id": str, "group": str, "source": str, "note": str},
        keep_default_na=False,
        na_values={c: [""] for c in ("trials", "rel_sd", "log_sd")},
    )
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    for i, row in frame.iterrows():
        where = f"{path}: line {i + 2} ({row['id']})"
        checks = {
            "kind": KINDS,
            "quantity": QUANTITIES[:3],
            "form": ("sexual", "all"),
            "age": ("minor", "adult", "all"),
            "sex": ("all", "girls"),
            "aggregate": ("sum", "mean"),
        }
        for column, allowed in checks.items():
            if row[column] not in allowed:
                raise InputError(f"{where}: {column} '{row[column]}' is not one of {', '.join(allowed)}")
        if not float(row["value"]) > 0:
            raise InputError(f"{where}: value must be positive")
        if row["kind"] == "estimate" and not float(row["log_sd"]) > 0:
            raise InputError(f"{where}: an estimate needs log_sd > 0 (its stated or reconstructed uncertainty)")
        if row["kind"] == "known" and not float(row["trials"]) >= float(row["value"]):
            raise InputError(f"{where}: a 'known' row needs trials >= value")
    if frame["id"].duplicated().any():
        raise InputError(f"{path}: duplicated id {frame.loc[frame['id'].duplicated(), 'id'].iloc[0]}")
    return frame


@dataclass(frozen=True)
class EvidenceArrays:
    """Rows of evidence as arrays over the latent grid (quantity, form, age, year), flattened.

    ``weights`` (R, Q*F*A*T) gives each row's target as ``weights @ latent``; ``both_weights``
    the same selection on the 'both' quantity (for 'known' rows: chat users on the register).
    """

    years: tuple[int, ...]
    ids: tuple[str, ...]
    groups: tuple[str, ...]
    kind: np.ndarray  # (R,) index into KINDS
    weights: np.ndarray
    both_weights: np.ndarray
    girls: np.ndarray  # (R,) 1 where the row counts girls only
    value: np.ndarray
    trials: np.ndarray
    count_sd: np.ndarray  # log-scale sd of count rows: Poisson plus stated rounding
    log_sd: np.ndarray  # estimates' stated or reconstructed log-scale sd

    @property
    def grid_shape(self) -> tuple[int, int, int, int]:
        return len(QUANTITIES), len(FORMS), len(AGES), len(self.years)

    def mask(self, kind: str) -> np.ndarray:
        return self.kind == KINDS.index(kind)


def evidence_arrays(frame: pd.DataFrame, years: tuple[int, ...]) -> EvidenceArrays:
    """The weight matrices of ``frame``'s rows over ``years`` (pure)."""
    shape = (len(QUANTITIES), len(FORMS), len(AGES), len(years))
    rows, rows_both = [], []
    for _, row in frame.iterrows():
        span = [y for y in range(int(row["year_from"]), int(row["year_to"]) + 1)]
        outside = [y for y in span if y not in years]
        if outside:
            raise InputError(
                f"evidence '{row['id']}' covers year {outside[0]}, outside the model's years {years[0]}-{years[-1]}"
            )
        w = np.zeros(shape)
        forms = [0] if row["form"] == "sexual" else [0, 1]
        ages = [0, 1] if row["age"] == "all" else [AGES.index(row["age"])]
        scale = 1.0 / len(span) if row["aggregate"] == "mean" else 1.0
        q = QUANTITIES.index(row["quantity"])
        for f in forms:
            for a in ages:
                for y in span:
                    w[q, f, a, years.index(y)] = scale
        rows.append(w.ravel())
        wb = np.zeros(shape)
        wb[QUANTITIES.index("both")] = w[q]
        rows_both.append(wb.ravel())
    n_years = np.array(
        [int(r["year_to"]) - int(r["year_from"]) + 1 if r["aggregate"] == "mean" else 1 for _, r in frame.iterrows()],
        float,
    )
    value = frame["value"].to_numpy(float)
    rel = frame["rel_sd"].fillna(0.0).to_numpy(float)
    return EvidenceArrays(
        years=tuple(years),
        ids=tuple(frame["id"]),
        groups=tuple(frame["group"]),
        kind=np.array([KINDS.index(k) for k in frame["kind"]]),
        weights=np.array(rows),
        both_weights=np.array(rows_both),
        girls=(frame["sex"] == "girls").to_numpy(float),
        value=value,
        trials=frame["trials"].fillna(0.0).to_numpy(float),
        count_sd=np.sqrt(1.0 / (value * n_years) + rel**2),
        log_sd=frame["log_sd"].fillna(1.0).to_numpy(float),
    )
