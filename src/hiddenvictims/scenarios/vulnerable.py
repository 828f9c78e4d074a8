"""Vulnerable groups: how many victims in each group the chat reports stay out of sight?

The chat publishes its victims' composition (minors, under 15, criminal exploitation, exploited
for more than one or five years, still being exploited, exploited by parents; bundled in
``data/netherlands/chat_composition.csv`` with sources). The register publishes none of these
for Dutch victims. The hidden number in a group therefore rests on two things, both carried
draw by draw:

* **the chat's composition with its sampling uncertainty**: a published share x of n victims is
  Beta(x n + 1/2, (1 - x) n + 1/2) (Jeffreys); a share of a sub-base (parents among the
  sexually exploited) is multiplied by the base's own Beta draw;
* **representativeness**: is the chat's mix the hidden population's mix? The group's share
  among all victims is ``logit(pi) = logit(s) + delta``, with ``delta`` the log odds ratio of
  belonging to the group, all victims against the chat's victims. ``delta > 0``: the chat
  under-reaches the group. Prior Normal(mean, sd) (default 0, 0.5: within a factor 2.7 either
  way, 95%), truncated in each draw to what the draw allows (a group cannot have fewer victims
  than chat contacts).

Within a group, the chance of being registered given chat status is the stratum's (nothing
published says otherwise). Minors are a stratum of the model itself: their numbers come from
the fit, not from the composition.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
from scipy.special import expit, logit, ndtr, ndtri

from ..core.constants import INTERVAL_PROB, interval_quantiles
from ..core.errors import InputError
from .people import GROUP_DIM, PeopleDraws, outcomes, split_groups

#: Groups estimated for the advisor (CKM recommendations 1 and 3), in report order.
VULNERABLE = (
    "minor",
    "under_15",
    "criminal_exploitation",
    "exploited_over_1_year",
    "exploited_over_5_years",
    "still_exploited",
    "parents",
)
LABELS = {
    "minor": {"en": "minors", "nl": "minderjarigen"},
    "under_15": {"en": "under 15", "nl": "jonger dan 15"},
    "criminal_exploitation": {"en": "criminal exploitation", "nl": "criminele uitbuiting"},
    "exploited_over_1_year": {"en": "exploited > 1 year", "nl": "> 1 jaar uitgebuit"},
    "exploited_over_5_years": {"en": "exploited > 5 years", "nl": "> 5 jaar uitgebuit"},
    "still_exploited": {"en": "still being exploited", "nl": "nog in uitbuiting"},
    "parents": {"en": "exploited by parents", "nl": "uitgebuit door ouders"},
}
SENSITIVITY_DELTAS = (-1.0, -0.5, 0.0, 0.5, 1.0)


@dataclass(frozen=True)
class Representativeness:
    """Prior of delta: log odds ratio of group membership, all victims vs the chat's victims."""

    mean: float = 0.0
    sd: float = 0.5


def load_composition() -> pd.DataFrame:
    """The bundled composition figures (year, group, base, age, share, base_n, ..., source)."""
    path = resources.files("hiddenvictims.data") / "netherlands" / "chat_composition.csv"
    with resources.as_file(path) as p:
        frame = pd.read_csv(p, keep_default_na=False)
    frame["share"] = frame["share"].astype(float)
    frame["base_n"] = frame["base_n"].astype(int)
    return frame


def _row(comp: pd.DataFrame, year: int, group: str) -> pd.Series | None:
    sub = comp[(comp["year"] == year) & (comp["group"] == group)]
    return None if sub.empty else sub.iloc[0]


def _beta(row: pd.Series, n: int, rng: np.random.Generator) -> np.ndarray:
    x = row["share"] * row["base_n"]
    return rng.beta(x + 0.5, row["base_n"] - x + 0.5, size=n)


def available(comp: pd.DataFrame, year: int, group: str) -> bool:
    return _row(comp, year, group) is not None


def chat_share_draws(
    comp: pd.DataFrame, year: int, group: str, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """Draws of the group's share among the chat's victims of the ages it lives in.

    Returns (draws, age) with age 'all' or 'minor' (under 15 is a share of minors: the
    under-15 share of all victims over the minors' share, draw by draw)."""
    row = _row(comp, year, group)
    if row is None:
        raise InputError(f"chat_composition.csv: no figure for group '{group}' in {year}")
    s = _beta(row, n, rng)
    if row["base"] != "all":
        base = _row(comp, year, row["base"])
        if base is None:
            raise InputError(
                f"chat_composition.csv: {year} '{group}' is a share of '{row['base']}', which has no figure that year"
            )
        s = s * _beta(base, n, rng)
    if row["age"] == "minor":
        minor = _row(comp, year, "minor")
        if minor is None:
            raise InputError(f"chat_composition.csv: {year} '{group}' needs the minors' share")
        # a ratio of two shares of the same victims; with the published figures it is near 0.4
        s = np.minimum(s / _beta(minor, n, rng), 1.0 - 1e-9)
    return s, str(row["age"])


def delta_bounds(s: np.ndarray, p_chat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per draw, the delta for which neither the group nor the rest has fewer victims than chat
    contacts in any cell: pi >= s p_chat and 1 - pi >= (1 - s) p_chat (p_chat: (sample, cells))."""
    s2 = s[:, None]
    pmax = np.clip(p_chat.max(axis=1), 1e-12, 1.0 - 1e-12)[:, None]
    lo = logit(np.clip(s2 * pmax, 1e-15, 1 - 1e-15)) - logit(s2)
    hi = logit(np.clip(1.0 - (1.0 - s2) * pmax, 1e-15, 1 - 1e-15)) - logit(s2)
    return lo[:, 0], hi[:, 0]


def draw_delta(prior: Representativeness, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The prior of delta truncated to [lo, hi] per draw (inverse CDF: exact, vectorised)."""
    if prior.sd <= 0:
        return np.full(lo.shape, prior.mean)
    a, b = ndtr((lo - prior.mean) / prior.sd), ndtr((hi - prior.mean) / prior.sd)
    u = a + (b - a) * rng.uniform(size=lo.shape)
    return prior.mean + prior.sd * ndtri(np.clip(u, 1e-300, 1 - 1e-16))


def population_share(s: np.ndarray, delta: np.ndarray) -> np.ndarray:
    return expit(logit(s) + delta)


def _age_mask(people: PeopleDraws, age: str) -> np.ndarray:
    if age == "all" or "age" not in people.strata:
        return np.ones(people.shape, dtype=bool)
    levels = np.array(people.strata["age"])
    shape = [1] * len(people.shape)
    axis = list(people.strata).index("age")
    shape[axis] = len(levels)
    return np.broadcast_to((levels == age).reshape(shape), people.shape)


def group_split(
    people: PeopleDraws,
    comp: pd.DataFrame,
    group: str,
    years: list[int],
    prior: Representativeness,
    seed: int = 0,
    delta: float | None = None,
) -> tuple[PeopleDraws, np.ndarray, dict]:
    """``people`` (year x age) split into (group, rest) for the years with a published figure.

    Years without a figure for the group take the figure of the nearest year that has one (said
    in the returned info). ``delta`` fixed: a sensitivity row (draws it cannot hold are dropped
    and counted). Returns (split people, kept-draw mask, info)."""
    rng = np.random.default_rng([seed, 0x6A0])
    n = people.n_draws
    have = sorted(int(y) for y in comp.loc[comp["group"] == group, "year"].unique())
    if not have:
        raise InputError(f"chat_composition.csv: no figure at all for group '{group}'")
    year_levels = [int(y) for y in people.strata["year"]]
    used = {y: min(have, key=lambda h: (abs(h - y), -h)) for y in year_levels}
    chat = people.cells[1] + people.cells[3]
    N = people.N
    with np.errstate(divide="ignore", invalid="ignore"):
        p_chat = np.where(N > 0, chat / N, 0.0)
    year_axis = list(people.strata).index("year")
    s_all = np.zeros((n, *people.shape))
    pi_all = np.zeros((n, *people.shape))
    keep = np.ones(n, dtype=bool)
    deltas = {}
    draws_by_year = {}
    for y_src in sorted(set(used.values())):
        draws_by_year[y_src] = chat_share_draws(comp, y_src, group, n, rng)
    # one delta per draw, shared by all years: the feasible range is the intersection
    lo, hi = np.full(n, -np.inf), np.full(n, np.inf)
    for i, y in enumerate(year_levels):
        s, age = draws_by_year[used[y]]
        mask = _age_mask(people, age)
        pc = np.take(p_chat, i, axis=year_axis + 1)
        m = np.take(mask, i, axis=year_axis)
        l_, h_ = delta_bounds(s, pc.reshape(n, -1)[:, m.ravel()])
        lo, hi = np.maximum(lo, l_), np.minimum(hi, h_)
    if delta is None:
        d = draw_delta(prior, lo, hi, rng)
    else:
        d = np.full(n, float(delta))
        keep = (d >= lo) & (d <= hi)
    deltas["delta"] = d
    for i, y in enumerate(year_levels):
        s, age = draws_by_year[used[y]]
        mask = _age_mask(people, age)
        pi = population_share(s, d)
        idx = [slice(None)] * (1 + len(people.shape))
        idx[year_axis + 1] = i
        sub_mask = np.take(mask, i, axis=year_axis)
        s_all[tuple(idx)] = np.where(sub_mask[None], s.reshape(-1, *[1] * sub_mask.ndim), 0.0)
        pi_all[tuple(idx)] = np.where(sub_mask[None], pi.reshape(-1, *[1] * sub_mask.ndim), 0.0)
    split = split_groups(people, group, s_all, pi_all)
    info = {"group": group, "figure_years": {str(k): v for k, v in used.items()}, "delta": d, "kept": int(keep.sum())}
    return split, keep, info


def estimates(
    people: PeopleDraws,
    comp: pd.DataFrame,
    year: int,
    prior: Representativeness = Representativeness(),
    seed: int = 0,
    groups: tuple[str, ...] = VULNERABLE,
    prob: float = INTERVAL_PROB,
) -> pd.DataFrame:
    """Hidden number per group in ``year``: not registered and on neither list (median and
    interval over draws), plus the chat's contacts in the group. Rows: one per group."""
    lo_q, hi_q = interval_quantiles(prob)
    yi = list(people.strata["year"]).index(str(year))
    rows = []
    for group in groups:
        if group == "minor" and "age" in people.strata:
            out = outcomes(people.cells)  # (outcome, sample, year, age)
            sel = np.take(out, yi, axis=2)[..., list(people.strata["age"]).index("minor")]
            basis = "model (age is a stratum of the fit)"
        else:
            if not available(comp, year, group):
                continue
            split, _, info = group_split(people, comp, group, [year], prior, seed)
            out = outcomes(split.cells)
            g_axis = list(split.strata).index(GROUP_DIM) + 2
            sel = np.take(np.take(out, 0, axis=g_axis), yi, axis=2)
            sel = sel.reshape(sel.shape[0], sel.shape[1], -1).sum(-1)
            basis = f"chat composition {year}, representativeness prior N({prior.mean:g}, {prior.sd:g})"
        row = {"group": group, "year": year, "basis": basis}
        for k, name in enumerate(("reached_chat", "registered", "not_registered", "hidden")):
            if name == "registered":
                continue
            v = sel[k]
            q = np.quantile(v, [0.5, lo_q, hi_q])
            row.update({f"{name}_median": q[0], f"{name}_lower": q[1], f"{name}_upper": q[2]})
        rows.append(row)
    return pd.DataFrame(rows)


def sensitivity(
    people: PeopleDraws,
    comp: pd.DataFrame,
    year: int,
    seed: int = 0,
    groups: tuple[str, ...] = VULNERABLE,
    deltas=SENSITIVITY_DELTAS,
    prob: float = INTERVAL_PROB,
) -> pd.DataFrame:
    """Not-registered number per group at fixed representativeness delta (median, interval),
    with the share of posterior draws that delta is consistent with."""
    lo_q, hi_q = interval_quantiles(prob)
    yi = list(people.strata["year"]).index(str(year))
    rows = []
    for group in groups:
        if group == "minor" or not available(comp, year, group):
            continue
        for d in deltas:
            split, keep, _ = group_split(people, comp, group, [year], Representativeness(), seed, d)
            out = outcomes(split.cells)
            g_axis = list(split.strata).index(GROUP_DIM) + 2
            sel = np.take(np.take(out, 0, axis=g_axis), yi, axis=2)
            v = sel.reshape(sel.shape[0], sel.shape[1], -1).sum(-1)[2][keep]
            q = np.quantile(v, [0.5, lo_q, hi_q]) if v.size else [np.nan] * 3
            rows.append(
                {
                    "group": group,
                    "year": year,
                    "delta": d,
                    "odds_ratio": float(np.exp(d)),
                    "not_registered_median": q[0],
                    "not_registered_lower": q[1],
                    "not_registered_upper": q[2],
                    "draws_consistent": float(keep.mean()),
                }
            )
    return pd.DataFrame(rows)
