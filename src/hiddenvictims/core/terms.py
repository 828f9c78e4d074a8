"""Log-linear terms: parsing 'A:B', hierarchical closure, names and the design matrix.

Shared by the log-linear family, the existence checks, the anonymous-list family and the
capture-probability conversion, so it lives in the core rather than inside one family.
"""

from __future__ import annotations

import itertools

import numpy as np

from .errors import InputError, did_you_mean
from .spec import ALL_TWO_WAY, LoglinearSpec
from .table import pattern_matrix

Term = tuple[int, ...]
INTERCEPT = "(intercept)"


def parse_term(text: str, lists: tuple[str, ...], source: str = "model") -> Term:
    """'A:B' -> (0, 1) in list order; errors name the unknown list."""
    names = [p.strip() for p in text.split(":")]
    idx = []
    for name in names:
        if name not in lists:
            raise InputError(
                f"{source}: term '{text}' names unknown list '{name}'{did_you_mean(name, lists)} "
                f"(lists: {', '.join(lists)})"
            )
        idx.append(lists.index(name))
    if len(set(idx)) != len(idx) or len(idx) < 2:
        raise InputError(f"{source}: term '{text}' must join two or more different lists with ':'")
    return tuple(sorted(idx))


def resolve_terms(spec: LoglinearSpec, lists: tuple[str, ...], source: str = "model") -> list[Term]:
    """Main effects plus the hierarchical closure of the spec's interactions, minus excludes."""
    k = len(lists)
    chosen: set[Term] = set()
    for text in spec.interactions:
        if text.strip() == ALL_TWO_WAY:
            chosen.update(itertools.combinations(range(k), 2))
        else:
            term = parse_term(text, lists, source)
            for order in range(2, len(term) + 1):
                chosen.update(itertools.combinations(term, order))
    excluded = {parse_term(t, lists, source) for t in spec.exclude}
    chosen -= excluded
    for term in chosen:
        for sub in excluded:
            if set(sub) < set(term):
                raise InputError(
                    f"{source}: excluding '{term_name(sub, lists)}' breaks hierarchy: "
                    f"'{term_name(term, lists)}' is still included"
                )
    mains: list[Term] = [(i,) for i in range(k)]
    return mains + sorted(chosen, key=lambda t: (len(t), t))


def term_name(term: Term, lists: tuple[str, ...]) -> str:
    return ":".join(lists[i] for i in term)


def design_matrix(n_lists: int, terms: list[Term]) -> np.ndarray:
    """(2**K, 1 + len(terms)) design; row 0 is the all-zero pattern, column 0 the intercept."""
    pats = pattern_matrix(n_lists, include_zero=True).astype(np.float64)
    cols = [np.ones(len(pats))] + [pats[:, list(t)].prod(axis=1) for t in terms]
    return np.column_stack(cols)
