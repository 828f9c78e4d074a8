"""Existence and identifiability of log-linear MSE parameters (Fienberg & Rinaldo 2012).

For a hierarchical Poisson log-linear model fitted to the observable cells of a capture table
(every pattern except the all-zero one, minus structural zeros), three things can go wrong:

1. **No overlap.** A term whose lists were never seen together (its sufficient statistic is 0)
   has maximum-likelihood value minus infinity. Chan, Silverman & Vincent (2021) call the MLE
   with those terms at minus infinity (and their cells dropped) the *extended* MLE.
2. **The extended MLE does not exist** (SparseMSE status 1). On the cells that remain, the
   observed margins lie on the boundary of the marginal cone: some further combination of
   parameters runs off to infinity. Tested by the linear program of Fienberg & Rinaldo as
   SparseMSE's ``checkident`` sets it up: maximise ``s`` subject to ``A x = t``, ``x >= s``,
   ``s >= 0``; the MLE exists iff the optimum is positive.
3. **Not identifiable** (SparseMSE status 2). The remaining design matrix is rank deficient:
   several parameter values fit the data equally well.

Status codes follow SparseMSE: ``status = (extended MLE does not exist) + 2 * (rank deficient)``,
so 0 = fine, 1 = extended MLE does not exist, 2 = exists but not identifiable, 3 = both.

Beyond the status we name the parameters concerned. The *facial set* F (cells that can have a
positive fitted value, found by one more linear program) carries all the information the data
have; a parameter is determined by the data iff its unit vector lies in the row space of the
design restricted to F. Everything else is pinned down only by its prior in a Bayesian fit.
The intercept is the log expected count of the hidden (all-zero) cell: when it is among the
flagged parameters, the data say nothing about N.

Pure functions of arrays (:func:`check_cells`) with a thin wrapper for a table and a
log-linear spec (:func:`check_model`, one result per stratum).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg import null_space
from scipy.optimize import linprog

from .terms import INTERCEPT, design_matrix, resolve_terms, term_name

if TYPE_CHECKING:
    from .spec import LoglinearSpec
    from .table import CaptureTable

#: Optimum of the existence LP (margins scaled to total 1) below this counts as zero.
LP_TOL = 1e-9
#: Rows of the null-space basis with norm above this mark a parameter as undetermined.
NULL_TOL = 1e-8

STATUS_TEXT = {
    0: "the maximum-likelihood estimate exists and every remaining parameter is identifiable",
    1: "the extended maximum-likelihood estimate does not exist",
    2: "the extended maximum-likelihood estimate exists but parameters are not identifiable",
    3: ("the extended maximum-likelihood estimate does not exist and parameters are not identifiable"),
}


@dataclass(frozen=True)
class ExistenceCheck:
    """Outcome of the existence / identifiability check for one model on one table (stratum).

    ``status`` is SparseMSE's code (0 fine, 1 extended MLE does not exist, 2 not identifiable,
    3 both). ``no_overlap``: terms whose lists were never observed together (minus infinity in
    the extended MLE). ``no_finite_estimate``: those plus the terms the LP finds running off to
    infinity. ``not_identifiable``: terms the data do not determine even then (rank deficiency).
    ``structural``: terms involving a list that did not operate in this stratum (not in the
    data at all). ``lp_value`` is the optimum of SparseMSE's LP with margins scaled to sum 1.
    """

    status: int
    no_overlap: tuple[str, ...]
    no_finite_estimate: tuple[str, ...]
    not_identifiable: tuple[str, ...]
    structural: tuple[str, ...]
    lp_value: float
    message: str
    stratum: str = "all"

    @property
    def affected(self) -> tuple[str, ...]:
        """Every parameter that only the prior pins down (model order kept by the builder)."""
        seen: dict[str, None] = {}
        for name in (*self.no_finite_estimate, *self.not_identifiable, *self.structural):
            seen.setdefault(name, None)
        return tuple(seen)

    @property
    def extended_mle_exists(self) -> bool:
        return self.status in (0, 2)

    @property
    def identifiable(self) -> bool:
        return self.status in (0, 1)

    @property
    def mle_exists(self) -> bool:
        """Finite MLE of every parameter (no overlap problems either)."""
        return self.status == 0 and not self.no_finite_estimate and not self.structural

    @property
    def hidden_count_identified(self) -> bool:
        """False when the intercept (the hidden cell) is among the flagged parameters."""
        return INTERCEPT not in self.affected


# ---------------------------------------------------------------------------- linear programs
def existence_lp(design: np.ndarray, margins: np.ndarray) -> float:
    """SparseMSE's LP: max s s.t. design^T x = margins, x_c >= s, s >= 0 (x >= 0).

    ``design`` is (cells, parameters) and includes an intercept column, so the total of x is
    fixed and the LP is bounded. Margins are scaled to total 1; returns the optimum s.
    """
    cells, npar = design.shape
    total = margins[0] if margins[0] > 0 else 1.0
    target = margins / total
    c = np.zeros(cells + 1)
    c[-1] = -1.0  # linprog minimises
    a_eq = np.hstack([design.T, np.zeros((npar, 1))])
    a_ub = np.hstack([-np.eye(cells), np.ones((cells, 1))])  # s - x_c <= 0
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=np.zeros(cells),
        A_eq=a_eq,
        b_eq=target,
        bounds=[(0, None)] * (cells + 1),
        method="highs",
    )
    if res.status != 0:  # infeasible cannot happen (x = counts is feasible); be safe
        return 0.0
    return float(-res.fun)


def facial_set(design: np.ndarray, margins: np.ndarray) -> np.ndarray:
    """Boolean mask of cells that can be positive in some x >= 0 with design^T x = margins.

    One LP (homogeneous in the scale lam): max sum y s.t. design^T x = lam * margins,
    0 <= y <= 1, y <= x, x >= 0, lam >= 0. At the optimum y_c = 1 exactly on the facial set.
    """
    cells, npar = design.shape
    total = margins[0] if margins[0] > 0 else 1.0
    target = margins / total
    # variables: x (cells), y (cells), lam
    nvar = 2 * cells + 1
    c = np.zeros(nvar)
    c[cells : 2 * cells] = -1.0
    a_eq = np.hstack([design.T, np.zeros((npar, cells)), -target[:, None]])
    a_ub = np.hstack([-np.eye(cells), np.eye(cells), np.zeros((cells, 1))])
    bounds = [(0, None)] * cells + [(0, 1)] * cells + [(0, None)]
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=np.zeros(cells),
        A_eq=a_eq,
        b_eq=np.zeros(npar),
        bounds=bounds,
        method="highs",
    )
    if res.status != 0:
        raise RuntimeError(f"facial-set linear program failed: {res.message}")
    return res.x[cells : 2 * cells] > 0.5


def undetermined(design: np.ndarray) -> np.ndarray:
    """Columns j whose unit vector is not in the row space of ``design`` (not determined)."""
    if design.shape[0] == 0:
        return np.ones(design.shape[1], dtype=bool)
    basis = null_space(design)
    if basis.size == 0:
        return np.zeros(design.shape[1], dtype=bool)
    return np.linalg.norm(basis, axis=1) > NULL_TOL


# ---------------------------------------------------------------------------- the check
def check_cells(
    design: np.ndarray,
    counts: np.ndarray,
    names: Sequence[str],
    stratum: str = "all",
    prior_note: str = "",
) -> ExistenceCheck:
    """Check one model on one set of observable cells.

    ``design`` is (cells, parameters) for the observable, non-structural cells, column 0 the
    intercept (named ``names[0]``); ``counts`` the observed counts of those cells.
    ``prior_note`` is appended to the message where parameters are flagged (e.g. which prior
    decides them).
    """
    design = np.asarray(design, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    names = list(names)
    if design.shape != (len(counts), len(names)):
        raise ValueError(f"design {design.shape} does not match {len(counts)} cells, {len(names)} names")
    margins = design.T @ counts
    present = design.any(axis=0)
    present[0] = True
    empty = present & (margins <= 0)
    empty[0] = False
    # extended MLE: zero-margin terms at minus infinity, their cells (all zero counts) dropped
    keep_cells = ~(design[:, empty] > 0).any(axis=1)
    keep_cols = present & ~empty
    reduced = design[np.ix_(keep_cells, keep_cols)]
    reduced_margins = margins[keep_cols]
    col_names = [n for n, k in zip(names, keep_cols, strict=True) if k]

    rank_def = reduced.shape[1] - np.linalg.matrix_rank(reduced)
    lp_value = existence_lp(reduced, reduced_margins)
    no_mle = lp_value <= LP_TOL
    status = int(no_mle) + 2 * int(rank_def > 0)

    unident = undetermined(reduced)
    face = facial_set(reduced, reduced_margins)
    if no_mle == bool(face.all()):
        # The two programs answer the same question; disagreement means numerical trouble.
        raise RuntimeError(f"existence LP (optimum {lp_value:.3g}) and facial-set LP disagree; check the table")
    diverge = undetermined(reduced[face]) & ~unident

    no_overlap = [n for n, e in zip(names, empty, strict=True) if e]
    infinite = no_overlap + [n for n, d in zip(col_names, diverge, strict=True) if d]
    not_ident = [n for n, u in zip(col_names, unident, strict=True) if u]
    structural = [n for n, p in zip(names, present, strict=True) if not p]
    message = _message(status, no_overlap, infinite, not_ident, structural, names[0], prior_note)
    return ExistenceCheck(
        status=status,
        no_overlap=tuple(no_overlap),
        no_finite_estimate=tuple(infinite),
        not_identifiable=tuple(not_ident),
        structural=tuple(structural),
        lp_value=lp_value,
        message=message,
        stratum=stratum,
    )


def _join(names: Sequence[str]) -> str:
    return ", ".join(names)


def _message(
    status: int,
    no_overlap: list[str],
    infinite: list[str],
    not_ident: list[str],
    structural: list[str],
    intercept: str,
    prior_note: str,
) -> str:
    parts: list[str] = []
    if no_overlap:
        parts.append(
            f"No one was observed on all the lists of {_join(no_overlap)}: "
            f"{'this term has' if len(no_overlap) == 1 else 'these terms have'} no finite "
            "estimate (minus infinity at the maximum likelihood)."
        )
    diverging = [n for n in infinite if n not in no_overlap]
    if diverging:
        parts.append(
            "The extended maximum-likelihood estimate does not exist: the likelihood keeps "
            f"rising as {_join(diverging)} run off to plus or minus infinity together."
        )
    if not_ident:
        parts.append(f"The data do not determine {_join(not_ident)} (the design is rank deficient).")
    if structural:
        parts.append(f"{_join(structural)} involve a list that did not operate here.")
    flagged = [*infinite, *not_ident, *structural]
    if not flagged:
        return (
            "Status 0: no existence or identifiability problem; every parameter has a finite "
            "estimate fixed by the data."
        )
    note = f" ({prior_note})" if prior_note else ""
    parts.append(f"Only the prior pins these down{note}.")
    if intercept in flagged:
        parts.append(
            "This includes the intercept, the log expected count of people on no list: "
            "the estimate of N is decided by the prior, not by the data."
        )
    elif status == 0:
        parts.append("The remaining parameters, and N, are determined by the data.")
    text = STATUS_TEXT[status]
    if status == 0 and no_overlap:
        # "The MLE exists" next to "these terms have no finite estimate" reads as a
        # contradiction: what exists is the extended MLE, with those terms at minus infinity.
        text = (
            "the extended maximum-likelihood estimate exists, with the terms below at minus "
            "infinity, and every other parameter is identifiable"
        )
    return f"Status {status} ({text}). " + " ".join(parts)


def check_model(table: CaptureTable, spec: LoglinearSpec) -> tuple[ExistenceCheck, ...]:
    """Check a log-linear spec on a table: one result per stratum (each has its own parameters)."""

    terms = resolve_terms(spec, table.lists, spec.name)
    names = [INTERCEPT] + [term_name(t, table.lists) for t in terms]
    x_obs = design_matrix(table.n_lists, terms)[1:]
    counts = table.flat_counts()
    structural = table.flat_structural_zero()
    labels = table.stratum_labels()
    note = (
        f"main-effect sd {spec.priors.main_sd}, interaction sd {spec.priors.interaction_sd}, "
        f"intercept sd {spec.priors.intercept_sd}"
    )
    out = []
    for s, label in enumerate(labels):
        cells = ~structural[s]
        out.append(check_cells(x_obs[cells], counts[s, cells], names, stratum=label, prior_note=note))
    return tuple(out)
