"""Scenario runs on the Dutch baseline through the forward model of people.

``scenario run`` of a config whose baseline is ``kind = "netherlands"``: the baseline posterior
(reused from its results folder when the manifest matches, see :mod:`.baseline`), split into a
group when the scenario targets one, the interventions compiled per stratum, and the outcomes
per year, age and group written to a results folder with a report in words (en, nl), charts
of the change against baseline and the vulnerable-group table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.constants import INTERVAL_PROB
from ..core.results import atomic_dir, check_writable, versions, write_json
from . import people_report
from .baseline import Baseline, load_baseline
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


def write_people(result: PeopleResult, prep, target: Path, force: bool) -> Path:
    cfg = prep.cfg
    with atomic_dir(target, force=force) as tmp:
        write_json(tmp / "manifest.json", manifest(prep, result))
        result.summary.to_csv(tmp / "summary.csv", index=False)
        result.reach_table.to_csv(tmp / "reach_heterogeneity.csv", index=False)
        if result.groups is not None:
            result.groups.to_csv(tmp / "groups.csv", index=False)
            result.groups_sens.to_csv(tmp / "groups_sensitivity.csv", index=False)
        write_json(
            tmp / "summary.json",
            {
                "scenario": cfg.name,
                "description": cfg.description,
                "interventions": describe(cfg.interventions),
                "interval": {"kind": "equal-tailed", "prob": INTERVAL_PROB},
                "posterior_draws": result.people.n_draws,
                "assumptions": result.assumptions,
                "bound_excess": check_bound(result),
                "rows": result.summary.replace({np.nan: None}).to_dict(orient="records"),
            },
        )
        if cfg.output.draws:
            people_report.outcomes_dataset(result).to_netcdf(tmp / "outcomes.nc", engine="h5netcdf")
        for lang in cfg.output.languages:
            (tmp / f"report.{lang}.md").write_text(people_report.report_text(result, cfg, lang))
            if cfg.output.plots:
                people_report.plot_change(result.summary, tmp / f"change.{lang}.png", lang, title=cfg.name)
                people_report.plot_levels(result.summary, tmp / f"levels.{lang}.png", lang, title=cfg.name)
    return target


def run_people(prep, target: Path, force: bool = False, console=None, baseline: Baseline | None = None) -> Path:
    check_writable(target, force)
    if baseline is None:
        if console is not None:
            console.print("baseline: looking for a matching results folder ...")
        baseline = load_baseline(prep)
    if console is not None:
        verb = "reused" if baseline.reused else "fitted"
        console.print(f"baseline posterior {verb}: {baseline.where} ({baseline.reason})", soft_wrap=True)
    result = evaluate_people(prep, baseline)
    write_people(result, prep, target, force)
    if console is not None:
        people_report.print_people(result, console)
        console.print(f"results written to {target}")
    return target


def compare_people(preps, names, target: Path, force: bool = False, console=None) -> Path:
    """Several Dutch scenarios side by side, on one baseline posterior (loaded or fitted once
    per distinct fit)."""
    from ..core.config import config_hash
    from .schema import fit_section

    check_writable(target, force)
    baselines: dict[str, Baseline] = {}
    results = {}
    for name, prep in zip(names, preps, strict=True):
        key = config_hash({**fit_section(prep.cfg), "data_hash": prep.table.data_hash()})
        if key not in baselines:
            baselines[key] = load_baseline(prep)
            if console is not None:
                b = baselines[key]
                console.print(
                    f"baseline posterior {'reused' if b.reused else 'fitted'}: {b.where} ({b.reason})", soft_wrap=True
                )
        results[name] = evaluate_people(prep, baselines[key])
    long = pd.concat([r.summary.assign(scenario=n) for n, r in results.items()], ignore_index=True)
    long = long[["scenario", *[c for c in long.columns if c != "scenario"]]]
    first = preps[0]
    with atomic_dir(target, force=force) as tmp:
        long.to_csv(tmp / "compare.csv", index=False)
        write_json(
            tmp / "compare.json",
            {
                "scenarios": list(names),
                "config_files": [str(p.path) for p in preps],
                "interval": {"kind": "equal-tailed", "prob": INTERVAL_PROB},
                "baselines": [{"reused": b.reused, "where": b.where, "reason": b.reason} for b in baselines.values()],
            },
        )
        write_json(
            tmp / "manifest.json",
            {
                "kind": "compare",
                "engine": "people",
                "configs": [manifest(p, results[n]) for n, p in zip(names, preps, strict=True)],
                "versions": versions(),
            },
        )
        for lang in first.cfg.output.languages:
            parts = [f"# {'Scenarios compared' if lang == 'en' else 'Scenario’s vergeleken'}", ""]
            for n, r in results.items():
                parts += [f"## {n}", "", people_report._md(people_report.headline(r.summary, lang)), ""]
            (tmp / f"report.{lang}.md").write_text("\n".join(parts))
            people_report.plot_compare_change(
                {n: r.summary for n, r in results.items()}, tmp / f"compare.{lang}.png", lang
            )
    if console is not None:
        for r in results.values():
            people_report.print_people(r, console)
        console.print(f"results written to {target}")
    return target


__all__ = ["GROUP_DIM", "PeopleResult", "run_people", "evaluate_people", "check_bound"]
