"""Plain-language reports (English and Dutch) and the results folder of the Dutch baseline run.

No computation of estimates here: tables come from :mod:`hiddenvictims.studies.netherlands.pipeline`; this module
formats them (small counts suppressed), writes the files atomically and prints a terminal table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..core.constants import INTERVAL_PERCENT, SMALL_COUNT_SUPPRESS
from ..core.results import atomic_dir, manifest_record, summary_record, write_json
from ..studies.netherlands.pipeline import (
    YEAR,
    change_summary,
    dutch_figures,
    mc_error_summary,
    prior_posterior_table,
)
from .formats import fmt_count, fmt_share

PCT = INTERVAL_PERCENT


def fmt_row(row, lang: str) -> str:
    f = fmt_share if row["quantity"].startswith("share") else fmt_count
    sep = " tot " if lang == "nl" else " to "
    return f"{f(row['median'], lang)} ({f(row['lower'], lang)}{sep}{f(row['upper'], lang)})"


def wide_table(table: pd.DataFrame, lang: str) -> str:
    """Markdown table: one row per population x year, columns N, hidden, shares."""
    names = {
        "en": {
            "N": "victims (N)",
            "hidden": "not in the register",
            "share_registered": "share registered",
            "share_chat": "share reached by the chat",
            "population": "population",
            YEAR: "year",
        },
        "nl": {
            "N": "slachtoffers (N)",
            "hidden": "niet in de registratie",
            "share_registered": "aandeel geregistreerd",
            "share_chat": "aandeel bereikt door de chat",
            "population": "groep",
            YEAR: "jaar",
        },
    }[lang]
    pops = {"Dutch victims": "Nederlandse slachtoffers", "Dutch minors": "Nederlandse minderjarigen"}
    quantities = ["N", "hidden", "share_registered", "share_chat"]
    head = "| " + " | ".join([names["population"], names[YEAR], *[names[q] for q in quantities]]) + " |"
    lines = [head, "|" + "---|" * (2 + len(quantities))]
    for (pop, year), sub in table.groupby(["population", YEAR], sort=False):
        cells = [fmt_row(sub[sub["quantity"] == q].iloc[0], lang) for q in quantities]
        label = pops.get(pop, pop) if lang == "nl" else pop
        lines.append("| " + " | ".join([label, str(year), *cells]) + " |")
    return "\n".join(lines)


def sensitivity_markdown(sens: pd.DataFrame, lang: str, year: int) -> str:
    """Compact table for one year: one row per prior setting, N of Dutch victims and minors."""
    rows = sens[sens["stratum"] == str(year)]
    head = {
        "en": f"| dependence prior | mismatch prior | evidence | Dutch victims {year} | Dutch minors {year} "
        "| ESS | k-hat |",
        "nl": f"| afhankelijkheid | mismatch | bewijs | Nederlandse slachtoffers {year} "
        f"| Nederlandse minderjarigen {year} | ESS | k-hat |",
    }[lang]
    lines = [head, "|---|---|---|---|---|---|---|"]
    sep = " tot " if lang == "nl" else " to "
    for (dep, mis, ev), sub in rows.groupby(["dependence", "mismatch", "evidence"], sort=False):
        cells = []
        for quantity in ("N Dutch victims", "N Dutch minors"):
            r = sub[sub["quantity"] == quantity].iloc[0]
            interval = f"{fmt_count(r['lower'], lang)}{sep}{fmt_count(r['upper'], lang)}"
            cells.append(f"{fmt_count(r['median'], lang)} ({interval})")
        r = sub.iloc[0]
        flag = " (!)" if r["pareto_k"] > 0.7 else ""
        lines.append(f"| {dep} | {mis} | {ev} | {cells[0]} | {cells[1]} | {r['ess']:.0f} | {r['pareto_k']:.2f}{flag} |")
    return "\n".join(lines)


def prior_posterior_markdown(estimate, lang: str) -> str:
    frame = prior_posterior_table(estimate)
    head = {
        "en": f"| quantity | prior: median ({PCT}%) | posterior: median ({PCT}%) |",
        "nl": f"| grootheid | prior: mediaan ({PCT}%) | posterior: mediaan ({PCT}%) |",
    }[lang]
    lines = [head, "|---|---|---|"]
    for quantity, sub in frame.groupby("quantity", sort=False):
        cells = []
        for group in ("prior", "posterior"):
            r = sub[sub["group"] == group].iloc[0]
            f = fmt_count if quantity.startswith("N ") else (lambda v, lang=lang: f"{v:.2f}")
            cells.append(f"{f(r['median'])} ({f(r['lower'])}–{f(r['upper'])})")
        lines.append(f"| {quantity} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def quotable(post, figures: pd.DataFrame, lang: str) -> str:
    """One sentence on whether falling registrations mean falling numbers."""
    known = figures.dropna(subset=["register_dutch"])
    years = [int(y) for y in figures[YEAR]]
    first, last = years[0], years[-1]
    ch = change_summary(post, first, last)
    r0, r1 = known.iloc[0], known.iloc[-1]
    reg_change = r1["register_dutch"] / r0["register_dutch"] - 1
    p = ch["p_fell"]
    pct = lambda x: f"{100 * x:+.0f}%".replace("+-", "-")  # noqa: E731
    if lang == "en":
        verdict = (
            "Falling registrations do not show falling numbers"
            if p < 0.9
            else "The estimated number fell too, but by an uncertain amount"
        )
        return (
            f"{verdict}: registered Dutch victims went from {fmt_count(r0['register_dutch'])} in "
            f"{int(r0[YEAR])} to {fmt_count(r1['register_dutch'])} in {int(r1[YEAR])} ({pct(reg_change)}), "
            f"while the estimated number of Dutch victims changed by {pct(ch['median'])} from {first} to {last} "
            f"({PCT}% interval {pct(ch['lower'])} to {pct(ch['upper'])}; chance that it fell at all: "
            f"{100 * p:.0f}%)."
        )
    verdict = (
        "Dalende registraties laten geen daling van het aantal slachtoffers zien"
        if p < 0.9
        else "Het geschatte aantal daalde ook, maar met een onzekere omvang"
    )
    return (
        f"{verdict}: het aantal geregistreerde Nederlandse slachtoffers ging van "
        f"{fmt_count(r0['register_dutch'], 'nl')} in {int(r0[YEAR])} naar {fmt_count(r1['register_dutch'], 'nl')} "
        f"in {int(r1[YEAR])} ({pct(reg_change)}), terwijl het geschatte aantal Nederlandse slachtoffers van "
        f"{first} tot {last} met {pct(ch['median'])} veranderde ({PCT}%-interval {pct(ch['lower'])} tot "
        f"{pct(ch['upper'])}; kans dat het daalde: {100 * p:.0f}%)."
    )


def mc_error_sentence(table: pd.DataFrame, lang: str) -> str:
    """How rough the reported numbers are from sampling alone (largest relative Monte Carlo
    standard error of N's median and interval ends)."""
    e = {k: f"{100 * v:.0f}%" if np.isfinite(v) else "n/a" for k, v in mc_error_summary(table).items()}
    if lang == "en":
        return (
            f"Monte Carlo error (1 s.e., largest over the rows): medians {e['median']}, lower ends "
            f"{e['lower']}, upper ends {e['upper']}. The upper ends come from few draws far in the "
            "tail: read them as orders of magnitude (`per_year.csv` has every standard error)."
        )
    return (
        f"Monte-Carlofout (1 s.e., grootste over de rijen): medianen {e['median']}, ondergrenzen "
        f"{e['lower']}, bovengrenzen {e['upper']}. De bovengrenzen rusten op weinig trekkingen ver in de "
        "staart: lees ze als ordes van grootte (`per_year.csv` geeft elke standaardfout)."
    )


def report_text(estimate, table: pd.DataFrame, sens: pd.DataFrame, cfg, lang: str) -> str:
    """The English or Dutch report; ``table`` is the fit's
    :func:`~hiddenvictims.studies.netherlands.pipeline.year_table`."""
    post = estimate.posterior
    figures = dutch_figures(tuple(cfg.years))
    sentence = quotable(post, figures, lang)
    dep = cfg.model.dependence
    sens_year = 2020 if 2020 in cfg.years else cfg.years[-1]
    if lang == "en":
        parts = [
            f"# {cfg.name}",
            "",
            "**In one sentence:** " + sentence,
            "",
            "## What we estimated",
            "How many Dutch victims of human trafficking (and how many of them minors) there were each year, how "
            "many of them were not in the CoMensha register, and what share the anonymous help chat Chat met Fier "
            f"reached. Each cell gives the middle estimate and a {PCT}% interval.",
            "",
            wide_table(table, "en"),
            "",
            mc_error_sentence(table, "en"),
            "",
            "## What the answer rests on",
            "- Nobody can link a chat contact to a register entry. How much the chat and the register see the same "
            "victims therefore cannot be measured; it is an assumption (the 'dependence', a log odds ratio with "
            f"prior mean {dep.mean:g} and sd {dep.sd:g}). With one register and the chat, the number seen by "
            "neither is (register only) x (chat only) / (both) x exp(dependence): the answer is that assumption.",
            "- 'Known to police or care' (35% of chat victims in 2020, from the published 65% first disclosure) is "
            "not the same as 'in the register'; the model allows for the difference with a prior, so the overlap "
            "between chat and register is uncertain.",
            "- No count of registered Dutch *minors* is public for 2019-2021; the split of the register between "
            "minors and adults comes from the model's pooling across age groups (and from evidence priors where "
            "stated). The minors' estimates are therefore much less certain than the totals.",
            "- The 2021 register count of Dutch victims and the 2019 chat count of minors are not public: they are "
            "treated as missing, and the smooth year-to-year prior carries information across years.",
            "- Chat users are taken to be Dutch victims (almost all chats are in Dutch).",
            "",
            "## How the estimate moves with the assumptions",
            f"Median and {PCT}% interval of N in {sens_year} under other priors (all years in `sensitivity.csv`, "
            "plot in `sensitivity.png`). The dependence prior is applied exactly (it is not in the likelihood); "
            "mismatch and evidence priors reweight the baseline draws (ESS and k-hat say how reliable that is; "
            f"k-hat > 0.7 is flagged (!)). Counts below {SMALL_COUNT_SUPPRESS} are shown as <{SMALL_COUNT_SUPPRESS}. "
            "Dependence: strong avoidance Normal(-2, 0.5), mild avoidance Normal(-1, 0.5), none Normal(0, 0.25), "
            "referral Normal(1, 0.5). Mismatch: f = chance that a chat victim not in the register says "
            "'known to police or care'.",
            "",
            sensitivity_markdown(sens, "en", sens_year),
            "",
            "## Prior against posterior",
            prior_posterior_markdown(estimate, "en"),
            "",
            "The data move N far below the prior's upper range, but theta comes out as it went in: no data speak "
            "to it.",
            "",
            "## Notes from the model",
            *[f"- {n}" for n in estimate.notes],
            *[f"- warning: {w}" for w in estimate.warnings()],
        ]
    else:
        parts = [
            f"# {cfg.name}",
            "",
            "**In één zin:** " + sentence,
            "",
            "## Wat we schatten",
            "Hoeveel Nederlandse slachtoffers van mensenhandel (en hoeveel minderjarigen daaronder) er per jaar "
            "waren, hoeveel van hen niet in de registratie van CoMensha stonden, en welk deel de anonieme "
            f"hulpchat Chat met Fier bereikte. Elke cel geeft de middelste schatting en een {PCT}%-interval.",
            "",
            wide_table(table, "nl"),
            "",
            mc_error_sentence(table, "nl"),
            "",
            "## Waar het antwoord op rust",
            "- Niemand kan een chatcontact koppelen aan een registratie. Hoe sterk chat en registratie dezelfde "
            "slachtoffers zien, is daarom niet te meten; het is een aanname (de 'afhankelijkheid', een log odds "
            f"ratio met verwachting {dep.mean:g} en standaardafwijking {dep.sd:g}). Met één registratie en de chat "
            "is het aantal dat geen van beide ziet (alleen registratie) x (alleen chat) / (beide) x "
            "exp(afhankelijkheid): het antwoord ís die aanname.",
            "- 'Bekend bij politie of hulpverlening' (35% van de chatslachtoffers in 2020, uit de gepubliceerde 65% "
            "first disclosure) is niet hetzelfde als 'geregistreerd'; het model houdt met een prior rekening met dat "
            "verschil, dus de overlap tussen chat en registratie is onzeker.",
            "- Er is geen openbaar aantal geregistreerde Nederlandse *minderjarigen* voor 2019-2021; de verdeling van "
            "de registratie over minderjarigen en volwassenen komt uit het model (samen schatten over "
            "leeftijdsgroepen). De schattingen voor minderjarigen zijn daarom veel onzekerder dan de totalen.",
            "- Het aantal geregistreerde Nederlandse slachtoffers in 2021 en het aantal minderjarigen op de chat in "
            "2019 zijn niet openbaar: ze ontbreken, en de geleidelijke prior over de jaren draagt informatie over.",
            "- Chatgebruikers worden als Nederlandse slachtoffers beschouwd (vrijwel alle chats zijn in het "
            "Nederlands).",
            "",
            "## Hoe de schatting met de aannames meebeweegt",
            f"Mediaan en {PCT}%-interval van N in {sens_year} onder andere priors (alle jaren in `sensitivity.csv`, "
            "grafiek in `sensitivity.png`). De prior op de afhankelijkheid wordt exact toegepast (hij zit niet in de "
            "likelihood); mismatch- en bewijspriors herwegen de trekkingen (ESS en k-hat geven de betrouwbaarheid; "
            f"k-hat > 0,7 is gemarkeerd met (!)). Aantallen onder {SMALL_COUNT_SUPPRESS} staan als "
            f"<{SMALL_COUNT_SUPPRESS}. f = kans dat een chatslachtoffer dat niet geregistreerd is zegt 'bekend bij "
            "politie of hulpverlening'.",
            "",
            sensitivity_markdown(sens, "nl", sens_year),
            "",
            "## Prior tegenover posterior",
            prior_posterior_markdown(estimate, "nl"),
            "",
            "## Opmerkingen bij het model (in het Engels)",
            *[f"- {n}" for n in estimate.notes],
            *[f"- waarschuwing: {w}" for w in estimate.warnings()],
        ]
    from .people import report_section  # groups the chat reports (CKM rec. 1, 3)

    parts += ["", *report_section(post, lang, cfg.years[-1], cfg.sampler.seed)]
    return "\n".join(parts) + "\n"


def change_frame(post) -> pd.DataFrame:
    """Relative change of N and P(fell) for every pair of years, per population (the quotable
    sentences compare the register with these over the same years)."""
    from .html import population_year_draws
    from .sentences import change_table

    return change_table(population_year_draws(post), [int(y) for y in post[YEAR].values])


def write_outputs(
    target: Path, force: bool, estimate, table: pd.DataFrame, sens: pd.DataFrame, cfg, config_path: Path
) -> Path:
    """Write the results folder atomically: fit, tables, plot, reports, manifest."""
    from .plots import plot_sensitivity

    config = {"run": cfg.model_dump(mode="json"), "config_file": str(config_path)}
    from ..core.variables import describe

    with atomic_dir(target, force=force) as tmp:
        manifest = manifest_record(estimate, config)
        idata = describe(estimate.idata, estimate.family)  # a copy, every variable explained
        idata.posterior.attrs.update(
            {"config_hash": manifest["config_hash"], "data_hash": manifest["data_hash"], "seed": estimate.seed}
        )
        idata.to_netcdf(str(tmp / "idata.nc"), engine="h5netcdf")
        estimate.summary().to_csv(tmp / "summary.csv", index=False)
        write_json(tmp / "summary.json", summary_record(estimate))
        write_json(tmp / "manifest.json", manifest)
        table.to_csv(tmp / "per_year.csv", index=False)
        prior_posterior_table(estimate).to_csv(tmp / "prior_posterior.csv", index=False)
        dutch_figures(tuple(cfg.years)).to_csv(tmp / "data_used.csv", index=False)
        sens.to_csv(tmp / "sensitivity.csv", index=False)
        plot_sensitivity(sens, tmp / "sensitivity.png", title=f"{cfg.name}: sensitivity of N")
        (tmp / "report.en.md").write_text(report_text(estimate, table, sens, cfg, "en"))
        (tmp / "report.nl.md").write_text(report_text(estimate, table, sens, cfg, "nl"))
        change_frame(estimate.posterior).to_csv(tmp / "changes.csv", index=False)
        from .html import write_reports

        write_reports(tmp)
    return target


def print_summary(estimate, table: pd.DataFrame, cfg, console) -> None:
    """Terminal table of the per-year estimates plus the quotable sentence."""
    from rich.table import Table

    out = Table(title=f"{cfg.name}: median ({PCT}% interval)", title_justify="left")
    for col in ("population", "year", "N", "not in register", "share registered", "share reached by chat"):
        out.add_column(col, justify="left" if col in ("population", "year") else "right")
    for (pop, year), sub in table.groupby(["population", YEAR], sort=False):
        cells = [
            fmt_row(sub[sub["quantity"] == q].iloc[0], "en") for q in ("N", "hidden", "share_registered", "share_chat")
        ]
        out.add_row(pop, str(year), *cells)
    console.print(out)
    console.print(mc_error_sentence(table, "en"))
    console.print(quotable(estimate.posterior, dutch_figures(tuple(cfg.years)), "en"))
    from ..core import gate

    for warning in estimate.warnings():
        console.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    gate.shown(estimate.warnings())
