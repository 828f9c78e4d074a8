"""Project-wide conventions: one interval, one set of diagnostic thresholds, canonical dims.

Every summary, report and plot takes its interval from ``INTERVAL_PROB``; nothing relies on a
library default (ArviZ and PyMC disagree: 0.89 ETI vs 0.94 HDI).
"""

from __future__ import annotations

#: Probability mass of every reported interval: equal-tailed (2.5%, 97.5%) quantiles.
INTERVAL_PROB: float = 0.95
#: The same as a whole percentage, for labels ("95% interval"); never written out by hand.
INTERVAL_PERCENT: int = round(100 * INTERVAL_PROB)

#: Convergence thresholds; a fit failing any of them carries a warning in its summary.
RHAT_MAX: float = 1.01
ESS_MIN: float = 400.0

#: Canonical xarray dimension names.
PATTERN_DIM = "pattern"
LIST_DIM = "list"
TERM_DIM = "term"
STRATUM_DIM = "stratum"  # the flattened stratum axis used inside models

#: Cells smaller than this (but above zero) are suppressed in human-readable reports.
SMALL_COUNT_SUPPRESS: int = 5


def interval_quantiles(prob: float = INTERVAL_PROB) -> tuple[float, float]:
    """Lower and upper quantile levels of the equal-tailed interval with mass ``prob``."""
    tail = (1.0 - prob) / 2.0
    return tail, 1.0 - tail
