"""Scenario runs on the Dutch baseline through the forward model of people.

``scenario run`` of a config whose baseline is ``kind = "netherlands"``: the baseline posterior
(reused from its results folder when the manifest matches, see :mod:`.baseline`), split into a
group when the scenario targets one, the interventions compiled per stratum, and the outcomes
per year, age and group with the vulnerable-group table (:func:`evaluate_people`). Nothing is
written or printed here: :mod:`hiddenvictims.report.people` writes the results folder (report
in words, en and nl, and charts of the change against baseline) and
:mod:`hiddenvictims.scenario_runner` runs the steps in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.constants import INTERVAL_PROB
from ..core.results import versions
from .baseline import Baseline
from .interventions import describe
from .people import GROUP_DIM, PeopleDraws, PeoplePlan, evaluate, upper_bound_hidden_drop
from .people_engine import compile_people, summary_table
from .vulnerable import Representativeness, estimates, group_split, load_composition, sensitivity

#: Reach heterogeneity values of the "how far could the chat reach" table.
HETEROGENEITY_TABLE = (0.0, 1.0, 4.0)


def target_group(cfg) -> str | None:
    """The group split off: ``[people] group``, else the group of a targeted_outreach step."""
    if cfg.people.group:
        return cfg.people.group

    def walk(steps):
        for step in steps:
            if step.kind == "targeted_outreach":
                return step.group
            if step.kind == "combination":
                found = walk(step.steps)
                if found:
                    return found
        return None

    return walk(cfg.interventions)


def has_referral(steps) -> bool:
    return any(
        s.kind == "referral" and s.probability > 0 or (s.kind == "combination" and has_referral(s.steps)) for s in steps
    )


@dataclass
class PeopleResult:
    name: str
    summary: pd.DataFrame
    base: np.ndarray
    scen: np.ndarray
    people: PeopleDraws
    baseline: Baseline
    plan: PeoplePlan
    groups: pd.DataFrame | None
    groups_sens: pd.DataFrame | None
    reach_table: pd.DataFrame
    assumptions: list[str] = field(default_factory=list)
    group_info: dict | None = None


def prepare_people(prep, baseline: Baseline) -> tuple[PeopleDraws, dict | None]:
    cfg = prep.cfg
    people = baseline.people
    group = target_group(cfg)
    if group is None:
        return people, None
    prior = Representativeness(cfg.people.representativeness.mean, cfg.people.representativeness.sd)
    split, _, info = group_split(
        people, load_composition(), group, [int(y) for y in people.strata["year"]], prior, cfg.sampler.seed
    )
    return split, info


def reach_table(people: PeopleDraws, steps, source: str) -> pd.DataFrame:
    """Newly reached and fall of the hidden count (sums over years and strata) under several
    reach heterogeneities: what the data cannot say, shown."""
    rows = []
    for v in HETEROGENEITY_TABLE:
        plan = compile_people(steps, people.strata, v, source)
        base, scen = evaluate(people, None), evaluate(people, plan)
        for k, name in ((0, "newly_reached"), (3, "change_hidden"), (2, "change_not_registered")):
            d = (scen[k] - base[k]).reshape(base.shape[1], -1).sum(-1)
            q = np.quantile(d, [0.5, (1 - INTERVAL_PROB) / 2, (1 + INTERVAL_PROB) / 2])
            rows.append({"reach_heterogeneity": v, "quantity": name, "median": q[0], "lower": q[1], "upper": q[2]})
    return pd.DataFrame(rows)


def assumptions_for(cfg, baseline: Baseline, group_info: dict | None) -> list[str]:
    out = [
        f"Baseline posterior: {baseline.where} ({baseline.reason}).",
        "Capture chances per person: "
        + (
            "the model's p_register and p_chat."
            if not baseline.people.derived_probabilities
            else "derived from the posterior counts (p_register = N_registered / N, "
            "p_chat = N_anonymous / N, each by the other source's status); the model gives "
            "no per-draw chances."
        ),
        f"Reach heterogeneity v = {cfg.people.reach_heterogeneity:g}: "
        + (
            "everyone not yet found is equally findable, the most a more findable chat could reach (an upper end); "
            if cfg.people.reach_heterogeneity == 0
            else "the not-yet-found are harder to reach than those found (gamma frailty); "
        )
        + "the data cannot say how far the chat could reach; the table 'how far could the "
        "chat reach' shows v = 0, 1, 4.",
        "Interventions change who is found, never the victims: N is the same in every variant.",
    ]
    if has_referral(cfg.interventions):
        out.append(
            "Referral moves unregistered chat contacts onto the register: it changes "
            "'not registered', never 'still hidden' (they were already found by the chat), "
            "and it makes chat and register dependent beyond what the baseline's "
            "dependence prior (theta) assumes."
        )
    if group_info is not None:
        out.append(
            f"Group '{group_info['group']}': its share among all victims is the chat's share "
            "(Beta, with the published sample size) shifted by a representativeness log odds "
            f"ratio delta ~ Normal({cfg.people.representativeness.mean:g}, "
            f"{cfg.people.representativeness.sd:g}) truncated per draw to what the draw allows; "
            "within the group the chance of registration given chat status is the stratum's. "
            "Figures by year: " + ", ".join(f"{k} from {v}" for k, v in group_info["figure_years"].items()) + "."
        )
    return out


def evaluate_people(prep, baseline: Baseline) -> PeopleResult:
    cfg = prep.cfg
    people, info = prepare_people(prep, baseline)
    plan = compile_people(cfg.interventions, people.strata, cfg.people.reach_heterogeneity, prep.source)
    summary, base, scen = summary_table(people, plan)
    groups = sens = None
    years = people.strata["year"]
    year = int(cfg.people.groups_year or years[-1])
    if str(year) in years:
        comp = load_composition()
        core = baseline.people
        prior = Representativeness(cfg.people.representativeness.mean, cfg.people.representativeness.sd)
        groups = estimates(core, comp, year, prior, cfg.sampler.seed)
        sens = sensitivity(core, comp, year, cfg.sampler.seed)
    return PeopleResult(
        cfg.name,
        summary,
        base,
        scen,
        people,
        baseline,
        plan,
        groups,
        sens,
        reach_table(people, cfg.interventions, prep.source),
        assumptions_for(cfg, baseline, info),
        info,
    )


def check_bound(result: PeopleResult) -> float:
    """Largest excess of the fall in the hidden count over the model's own bound (<= 0: holds)."""
    drop = result.base[3] - result.scen[3]
    bound = upper_bound_hidden_drop(result.people, result.plan)
    return float(np.max(drop - bound))


def manifest(prep, result: PeopleResult) -> dict:
    from ..core.config import config_hash

    cfg = prep.manifest_config()
    return {
        "kind": "scenario",
        "engine": "people",
        "config": cfg,
        "config_hash": config_hash(cfg),
        "data_source": prep.table.source,
        "data_hash": prep.table.data_hash(),
        "seed": prep.cfg.sampler.seed,
        "baseline": {
            "reused": result.baseline.reused,
            "where": result.baseline.where,
            "reason": result.baseline.reason,
        },
        "interventions": describe(prep.cfg.interventions),
        "versions": versions(),
    }


__all__ = ["GROUP_DIM", "PeopleResult", "evaluate_people", "check_bound"]
