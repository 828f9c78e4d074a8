"""Scenarios on the forward model of people: compile interventions, summarise, sweep cells fast.

:func:`compile_people` turns the config's intervention steps into a :class:`PeoplePlan` over
the strata (year, age and, when a group is split off, group). :func:`summary_table` gives, per
outcome, variant (baseline, scenario, change), year (and the sum over years, labelled as such),
age and group: median, interval, mean, whether the number is observed (the same in every draw:
shown without an interval) and, for changes, the posterior probability of an improvement.
:func:`sweep_stats` evaluates many cells at once (vectorised over cells, draws and strata).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core.constants import INTERVAL_PROB, interval_quantiles
from ..core.errors import InputError, did_you_mean
from .people import CHANGE_NAMES, GROUP_DIM, OUTCOMES, PeopleDraws, PeoplePlan, evaluate

ALL = "all"
#: Direction of an improvement for each outcome's change (+1: more is better).
GOOD = {"reached_chat": 1, "registered": 1, "not_registered": -1, "hidden": -1}


def _mask(strata: dict, selector: dict, source: str, key: str) -> np.ndarray:
    shape = tuple(len(v) for v in strata.values())
    out = np.ones(shape, dtype=bool)
    for dim, levels in selector.items():
        if dim not in strata:
            raise InputError(
                f"{source}: key '{key}.strata.{dim}': unknown stratum dimension "
                f"'{dim}'{did_you_mean(dim, strata)} (dimensions: {', '.join(strata)})"
            )
        known = strata[dim]
        for level in levels:
            if str(level) not in known:
                raise InputError(
                    f"{source}: key '{key}.strata.{dim}': unknown level '{level}'"
                    f"{did_you_mean(str(level), known)} (levels: {', '.join(known)})"
                )
        axis = list(strata).index(dim)
        hit = np.isin(np.array(known), [str(v) for v in levels])
        sh = [1] * len(shape)
        sh[axis] = len(known)
        out = out & hit.reshape(sh)
    return out


def compile_people(
    steps: Sequence, strata: dict, heterogeneity: float = 0.0, source: str = "scenario", key: str = "interventions"
) -> PeoplePlan:
    """The steps (parameter models) as per-stratum multipliers and referral shares."""
    plan = PeoplePlan(heterogeneity=heterogeneity)
    for i, step in enumerate(steps):
        k = f"{key}.{i}"
        if step.kind == "combination":
            plan = plan.merge(compile_people(step.steps, strata, heterogeneity, source, f"{k}.steps"))
            continue
        mask = _mask(strata, step.strata, source, k)
        if step.kind == "chat_reach":
            plan = plan.merge(PeoplePlan(chat=np.where(mask, step.multiplier, 1.0)))
        elif step.kind == "targeted_outreach":
            groups = strata.get(GROUP_DIM, ())
            if not groups or groups[0] != step.group:
                raise InputError(
                    f"{source}: key '{k}.group': group '{step.group}' is not split "
                    "off (set [people] group to it, or leave [people] group unset)"
                )
            gmask = _mask(strata, {GROUP_DIM: [step.group]}, source, k)
            plan = plan.merge(PeoplePlan(chat=np.where(mask & gmask, step.multiplier, 1.0)))
        elif step.kind == "referral":
            plan = plan.merge(PeoplePlan(referral=np.where(mask, step.probability, 0.0)))
        elif step.kind == "register_detection":
            for name, m in step.multipliers.items():
                if name != "register":
                    raise InputError(
                        f"{source}: key '{k}.multipliers.{name}': the Dutch baseline has one register list, 'register'"
                    )
                plan = plan.merge(PeoplePlan(register=np.where(mask, m, 1.0)))
    return plan


def observed(values: np.ndarray) -> np.ndarray:
    """True where a quantity is the same in every draw (an observed count): axis 0 = draws."""
    spread = values.max(axis=0) - values.min(axis=0)
    return spread <= 1e-9 * np.maximum(np.abs(values).max(axis=0), 1.0)


def _margins(values: np.ndarray, strata: dict) -> list[tuple[dict, np.ndarray]]:
    """(labels, draws) for every combination of level-or-all over the strata dims."""
    dims = list(strata)
    out = []
    for combo in np.ndindex(*[len(strata[d]) + 1 for d in dims]):
        arr = values
        labels = {}
        # sum the 'all' dims, then take the levels (from the last axis down keeps indices valid)
        for j in reversed(range(len(dims))):
            c = combo[j]
            if c == len(strata[dims[j]]):
                arr = arr.sum(axis=j + 1)
                labels[dims[j]] = ALL
            else:
                arr = np.take(arr, c, axis=j + 1)
                labels[dims[j]] = strata[dims[j]][c]
        out.append(({d: labels[d] for d in dims}, arr))
    return out


def summary_table(
    people: PeopleDraws, plan: PeoplePlan | None, prob: float = INTERVAL_PROB
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Long table of every outcome, variant and margin; also the (outcome, sample, *strata)
    arrays of the baseline and the scenario."""
    lo, hi = interval_quantiles(prob)
    base = evaluate(people, None)
    scen = evaluate(people, plan) if plan is not None else base.copy()
    years = people.strata.get("year", ())
    period = f"sum {years[0]}-{years[-1]}" if len(years) > 1 else "yearly"
    rows = []
    for k, name in enumerate(OUTCOMES):
        for variant, arr in (("baseline", base[k]), ("scenario", scen[k]), ("change", scen[k] - base[k])):
            scale = max(float(np.abs(base[k]).max()), 1.0)
            for labels, v in _margins(arr, people.strata):
                # exact: the same number in every draw (observed counts; no change at all)
                exact = bool(observed(v[:, None])[0])
                obs = exact and variant == "baseline"
                if variant == "change" and np.all(np.abs(v) <= 1e-9 * scale):
                    v = np.zeros_like(v)
                q = np.quantile(v, [0.5, lo, hi])
                row = {
                    "quantity": name if variant != "change" else CHANGE_NAMES[name],
                    "outcome": name,
                    "variant": variant,
                    **labels,
                    "period": period if labels.get("year") == ALL else "yearly",
                    "observed": obs,
                    "exact": exact,
                    "median": float(q[0]),
                    "lower": float(q[0] if exact else q[1]),
                    "upper": float(q[0] if exact else q[2]),
                    "mean": float(v.mean()),
                }
                if variant == "change":
                    row["p_improvement"] = float(np.mean(GOOD[name] * v > 1e-9 * scale))
                rows.append(row)
    return pd.DataFrame(rows), base, scen


# ----------------------------------------------------------------------------- sweeps
def plans_for_cells(steps_per_cell: list[PeoplePlan], shape: tuple[int, ...]) -> PeoplePlan:
    """Stack per-cell plans along a new leading axis: (cells, 1 [draws], *strata ``shape``)."""

    def stack(attr):
        arrs = [np.broadcast_to(np.asarray(getattr(p, attr), dtype=np.float64), shape) for p in steps_per_cell]
        return np.stack(arrs)[:, None]

    het = steps_per_cell[0].heterogeneity
    return PeoplePlan(stack("chat"), stack("register"), stack("referral"), het)


def fast_quantiles(values: np.ndarray, probs: Sequence[float]) -> np.ndarray:
    """Linear-interpolation quantiles along the last axis (NumPy's default), by one partition."""
    n = values.shape[-1]
    pos = np.asarray(probs) * (n - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    kth = np.unique(np.concatenate([lo, hi]))
    part = np.partition(values, kth, axis=-1)
    frac = pos - lo
    return part[..., lo] * (1 - frac) + part[..., hi] * frac


def flat_rows(values: np.ndarray, n_strata_dims: int) -> np.ndarray:
    """(..., sample, *strata) -> (..., rows, sample): the total, then each year (first dim), then
    every stratum; only the total when there is one stratum."""
    lead = values.shape[: values.ndim - n_strata_dims - 1]
    s = values.shape[len(lead)]
    cells = values.reshape(*lead, s, -1)
    total = cells.sum(-1, keepdims=True)
    if cells.shape[-1] == 1:
        return np.swapaxes(total, -1, -2)
    first = values.reshape(*lead, s, values.shape[len(lead) + 1], -1).sum(-1)
    out = np.concatenate([total, first, cells], axis=-1)
    return np.swapaxes(out, -1, -2)


def row_labels(strata: dict) -> list[str]:
    """Labels of :func:`flat_rows` (a single row 'total' when there is one stratum)."""
    dims = list(strata)
    if int(np.prod([len(v) for v in strata.values()])) == 1:
        return ["total"]
    grids = np.array(np.meshgrid(*strata.values(), indexing="ij")).reshape(len(dims), -1)
    first = [f"{dims[0]}={v}" for v in strata[dims[0]]]
    return ["total", *first, *["|".join(col) for col in grids.T]]


SWEEP_STATS = ("median", "lower", "upper", "mean", "p_improvement")


def sweep_stats(
    people: PeopleDraws, plans: PeoplePlan, prob: float = INTERVAL_PROB, base_rows: np.ndarray | None = None
) -> np.ndarray:
    """Summaries of many cells at once: (cell, outcome, [scenario, change], row, stat).

    ``plans`` has a leading cell axis (see :func:`plans_for_cells`); everything is one array
    expression over cells x draws x strata, then one partition per statistic row.
    """
    from .people import apply_people, outcomes

    lo, hi = interval_quantiles(prob)
    nd = len(people.shape)
    if base_rows is None:
        base_rows = flat_rows(outcomes(people.cells), nd)
    scen = outcomes(apply_people(people.cells[:, None], plans, people.scale))  # (o, c, s, *st)
    scen_rows = flat_rows(np.moveaxis(scen, 0, 1), nd)  # (c, o, rows, s)
    change = scen_rows - base_rows[None]
    both = np.stack([scen_rows, change], axis=2)  # (c, o, 2, rows, s)
    q = fast_quantiles(both, [0.5, lo, hi])
    good = np.array([GOOD[o] for o in OUTCOMES], dtype=np.float64)[None, :, None]
    scale = np.maximum(np.abs(base_rows).max(axis=(-2, -1)), 1.0)[None, :, None, None]
    p_imp = (change * good[..., None] > 1e-9 * scale).mean(-1)
    p_imp = np.stack([np.full_like(p_imp, np.nan), p_imp], axis=2)
    return np.concatenate([q, both.mean(-1)[..., None], p_imp[..., None]], axis=-1)


def present_chances(people: PeopleDraws, heterogeneity: float) -> tuple[np.ndarray, ...]:
    """(logs, lams, pres), each (4, sample, M): log(1 - p), frailty intensity and p of the
    present chances (chat | unregistered, chat | registered, register | no chat, register |
    chat), flattened strata. They do not depend on the sweep cell: computed once."""
    n00, n01, n10, n11 = people.cells.reshape(4, people.n_draws, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pres = np.stack(
            [
                np.where(d > 0, a / d, 0.0)
                for a, d in ((n01, n00 + n01), (n11, n10 + n11), (n10, n00 + n10), (n11, n01 + n11))
            ]
        )
    if people.scale is not None:
        sr, sc = people.scale.reshape(2, people.n_draws, -1)
        pres = np.clip(pres * np.stack([sc, sc, sr, sr]), 0.0, 1.0)
    pres = np.clip(pres, 0.0, 1.0 - 1e-15)
    logs = np.log1p(-pres)
    v = heterogeneity
    lams = np.expm1(-v * logs) / v if v > 0 else np.zeros_like(logs)
    return logs, lams, pres


def sweep_stats_compiled(
    people: PeopleDraws,
    chat: np.ndarray,
    register: np.ndarray,
    referral: np.ndarray,
    heterogeneity: float = 0.0,
    prob: float = INTERVAL_PROB,
    prepared: tuple | None = None,
) -> np.ndarray:
    """:func:`sweep_stats` through the compiled kernel: chat, register, referral (cells, M)."""
    from .people_kernel import sweep_kernel

    lo, hi = interval_quantiles(prob)
    if prepared is None:
        prepared = prepare_sweep(people, heterogeneity)
    logs, lams, pres, base_rows = prepared
    n_cells = chat.shape[0]
    R = base_rows.shape[1]
    out = np.empty((n_cells, 4, 2, R, 5))
    signs = np.array([GOOD[o] for o in OUTCOMES], dtype=np.float64)
    cells = np.ascontiguousarray(people.cells.reshape(4, people.n_draws, -1))
    return sweep_kernel(
        cells,
        logs,
        lams,
        pres,
        np.ascontiguousarray(chat, dtype=np.float64),
        np.ascontiguousarray(register, dtype=np.float64),
        np.ascontiguousarray(referral, dtype=np.float64),
        float(heterogeneity),
        len(people.strata[next(iter(people.strata))]),
        lo,
        hi,
        signs,
        1e-9 * np.maximum(np.abs(base_rows).max(axis=(1, 2)), 1.0),
        base_rows,
        out,
    )


def prepare_sweep(people: PeopleDraws, heterogeneity: float = 0.0) -> tuple:
    """What every cell of a sweep shares: present chances and the baseline's rows."""
    from .people import outcomes

    logs, lams, pres = present_chances(people, heterogeneity)
    base_rows = np.ascontiguousarray(flat_rows(outcomes(people.cells), len(people.shape)))
    return logs, lams, pres, base_rows
