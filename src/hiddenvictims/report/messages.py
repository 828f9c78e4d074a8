"""One message catalogue (English and Dutch) and number formats per language.

Every word the HTML report shows comes from :data:`MESSAGES`, so both languages carry the same
content; a test checks that both have the same keys and placeholders. Numbers go through
Babel (locale data ships with the package: nothing downloads), so Dutch reads 1.234 and
12,5% and English 1,234 and 12.5% everywhere, figures included.
"""

from __future__ import annotations

import math

from babel.numbers import format_decimal

from ..core.constants import INTERVAL_PROB

LANGS = ("en", "nl")
LOCALES = {"en": "en_GB", "nl": "nl_NL"}
PCT = int(round(100 * INTERVAL_PROB))

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "lang_name": "English",
        "title_default": "Estimate of a hidden population",
        "generated": "Generated from the results folder {folder}.",
        "headline": "Headline",
        "headline_dutch": (
            "In {year} there were an estimated {n} {population} of human trafficking "
            "({pct}% interval {lower} to {upper}). Of them, an estimated {hidden} "
            "({hidden_lower} to {hidden_upper}) were not in the register."
        ),
        "headline_generic": (
            "An estimated {n} people in total ({pct}% interval {lower} to {upper}); "
            "{observed} of them were seen by at least one list, so an estimated {hidden} "
            "({hidden_lower} to {hidden_upper}) were seen by none."
        ),
        "headline_scenario": (
            'Under the scenario "{name}", the number of people who stay out of sight changes by '
            "{change} ({pct}% interval {lower} to {upper}), from {baseline} to {scenario}."
        ),
        "interval_explained": (
            "The interval is the range in which the number lies with {pct}% probability, given "
            "the data and the assumptions below."
        ),
        "warning_title": "Warning: a convergence check failed.",
        "warning_text": (
            "The numbers may be off by more than their intervals say: do not quote them before "
            "the run is repeated with more draws (appendix)."
        ),
        "warn_rhat": "The independent runs of the sampler disagree with each other.",
        "warn_ess": "Too few effectively independent draws to pin the numbers down.",
        "warn_divergent": "The sampler ran into numerical trouble in part of the model.",
        "warn_other": "Another check failed: see the English report.",
        "chart_title": "Observed and estimated, per year",
        "chart_caption": (
            "Dots: counts in the sources (register, help chat). Lines: the estimated total and the "
            "estimated number not in the register, with their {pct}% interval as a band. "
            "Counts below {threshold} are not plotted."
        ),
        "chart_generic_title": "Observed and estimated",
        "chart_generic_caption": (
            "Dots: people seen by at least one list. Bars: the estimated total with its {pct}% interval."
        ),
        "chart_scenario_title": "Baseline and scenario",
        "chart_scenario_caption": "Median with its {pct}% interval, baseline and scenario.",
        "axis_year": "year",
        "axis_people": "number of people",
        "axis_people_log": "number of people (logarithmic scale)",
        "axis_stratum": "group",
        "series_registered": "registered",
        "series_chat": "reached by the chat",
        "series_N": "estimated total",
        "series_hidden": "not in the register (estimated)",
        "series_observed": "seen by a list",
        "quotable_title": "Sentences you can quote",
        "quotable_intro": (
            "Each sentence compares the register with the estimate over the same years and for the same group."
        ),
        "sentence_change": (
            "From {start} to {end}, the number of registered {population} went from "
            "{reg_start} to {reg_end} ({reg_change}); over the same years the estimated number of "
            "{population} changed by {est_change} ({pct}% interval {est_lower} to {est_upper}; "
            "chance that it fell: {p_fell})."
        ),
        "verdict_unclear": ("A change in registrations does not show that the number itself changed."),
        "verdict_fell": "The estimated number fell as well.",
        "verdict_rose": "The estimated number rose as well.",
        "rests_title": "What the answer rests on",
        "sources_title": "The sources and what each contributes",
        "sources_intro": (
            "Each row is one source of evidence. The chart shows the estimate for {year} when that "
            "source is left out: the further a line lies from the full estimate, the more the "
            "answer depends on that source."
        ),
        "contrib_all": "all sources",
        "contrib_without": "without {source}",
        "contrib_scaled_half": "if the published estimates were half as large",
        "contrib_scaled_double": "if the published estimates were twice as large",
        "contrib_scaled": "if the published estimates were {factor} times as large",
        "contrib_scaled_series": "published estimates half or twice as large",
        "contrib_scaled_intro": (
            "The last rows refit the model as if the Rapporteur's published estimates had been "
            "half or twice as large: they show how far the answer follows those estimates."
        ),
        "col_fit": "fit",
        "quotable_lead": "To quote:",
        "contrib_axis": "estimated {population} in {year}",
        "conflicts_title": "Do the sources agree?",
        "conflicts_ok": "No source disagrees clearly with the others.",
        "conflicts_flagged": "These sources disagree with the others: {sources}.",
        "assumptions_title": "Assumptions",
        "assumption_link": (
            "Nobody can link a chat contact to a register entry. How much the chat and the "
            "register see the same victims is therefore an assumption, not a measurement."
        ),
        "assumption_known": (
            '"Known to police or care", as chat users say, is not the same as "in the '
            'register"; the model allows for the difference.'
        ),
        "assumption_minors": (
            "No count of registered Dutch minors is public, so the estimates for minors are much "
            "less certain than the totals."
        ),
        "assumption_missing": (
            "Figures that are not public are treated as missing; the years are linked so that "
            "neighbouring years inform each other."
        ),
        "assumption_generic": (
            "Capture-recapture assumes that the lists' overlaps say something about the people "
            "no list has seen; the model's assumptions about how the lists depend on each other "
            "decide the answer."
        ),
        "sensitivity_title": "How the estimate moves with the assumptions",
        "sensitivity_caption": (
            "Estimated {population} in {year} (median and {pct}% interval) under other "
            "assumptions about how the chat and the register see the same victims (one colour "
            "per assumption about self-reports)."
        ),
        "table_title": "The estimates per year",
        "col_population": "group",
        "col_year": "year",
        "col_N": "estimated total",
        "col_hidden": "not in the register",
        "col_share_registered": "share registered",
        "col_share_chat": "share reached by the chat",
        "cell_interval": "{median} ({lower} to {upper})",
        "suppressed_note": (
            "Counts from 1 to {below} are shown as <{threshold}, and where needed a second number "
            "is hidden too (shown as x), so that no small count can be worked out from the others."
        ),
        "scenario_title": "Scenario comparison",
        "col_quantity": "outcome",
        "col_baseline": "baseline",
        "col_scenario": "scenario",
        "col_change": "change",
        "data_title": "Data sources",
        "col_source": "source",
        "col_description": "what it is",
        "col_provenance": "where it comes from",
        "data_used_title": "The counts used",
        "col_register": "registered",
        "col_register_minor": "registered minors",
        "col_chat": "reached by the chat",
        "col_chat_minor": "minors reached by the chat",
        "run_details": "Run details",
        "run_data": "data",
        "run_data_hash": "data fingerprint",
        "run_seed": "random seed",
        "run_config": "configuration file",
        "appendix_title": "Appendix: technical diagnostics",
        "appendix_intro": (
            "For analysts. R-hat compares independent sampler runs (should be at most {rhat}); "
            "ESS is the number of effectively independent draws (should be at least {ess})."
        ),
        "diag_max_rhat": "largest R-hat",
        "diag_min_ess_bulk": "smallest bulk ESS",
        "diag_min_ess_tail": "smallest tail ESS",
        "diag_passed": "all checks passed",
        "diag_failed": "checks failed",
        "diag_warnings": "Warnings from the run (as written by the software)",
        "mc_title": "Monte Carlo error",
        "mc_text": (
            "Largest standard error from sampling alone, relative to the value: medians {median}, "
            "lower ends {lower}, upper ends {upper}."
        ),
        "sens_diag_title": "Reliability of the reweighted sensitivity rows",
        "col_dependence": "dependence",
        "col_mismatch": "self-report",
        "col_evidence": "evidence",
        "col_ess": "ESS",
        "col_khat": "Pareto k",
        "conflict_table_title": "Conflict statistics per source",
        "col_statistic": "statistic",
        "col_pvalue": "p-value or z",
        "col_flagged": "flagged",
        "yes": "yes",
        "no": "no",
        "notes_title": "Notes from the model",
        "to": "to",
        "pop_Dutch victims": "Dutch victims",
        "pop_Dutch minors": "Dutch minors",
        "pop_Dutch adults": "Dutch adult victims",
        "pop_people": "people",
        "dep_strong avoidance": "strong avoidance",
        "dep_mild avoidance": "mild avoidance",
        "dep_none": "no dependence",
        "dep_referral": "referral",
        "dep_baseline": "baseline",
        "mis_baseline": "baseline",
        "mis_none": "none",
        "mis_large": "large",
        "q_N": "population",
        "q_hidden": "still hidden",
        "q_registered": "registered",
        "q_reached_chat": "reached by the chat",
        "q_reached_any": "reached by any source",
        "q_chat_not_registered": "chat contacts not registered",
        "footer": ("Made with hiddenvictims. All intervals are equal-tailed {pct}% intervals."),
    },
    "nl": {
        "lang_name": "Nederlands",
        "title_default": "Schatting van een verborgen groep",
        "generated": "Gemaakt uit de resultatenmap {folder}.",
        "headline": "In het kort",
        "headline_dutch": (
            "In {year} waren er naar schatting {n} {population} van mensenhandel "
            "({pct}%-interval {lower} tot {upper}). Van hen stonden er naar schatting {hidden} "
            "({hidden_lower} tot {hidden_upper}) niet in de registratie."
        ),
        "headline_generic": (
            "Naar schatting {n} mensen in totaal ({pct}%-interval {lower} tot {upper}); "
            "{observed} van hen stonden op minstens één lijst, dus naar schatting {hidden} "
            "({hidden_lower} tot {hidden_upper}) op geen enkele."
        ),
        "headline_scenario": (
            'In het scenario "{name}" verandert het aantal mensen dat buiten beeld blijft met '
            "{change} ({pct}%-interval {lower} tot {upper}), van {baseline} naar {scenario}."
        ),
        "interval_explained": (
            "Het interval is het bereik waarin het aantal met {pct}% kans ligt, gegeven de "
            "gegevens en de aannames hieronder."
        ),
        "warning_title": "Waarschuwing: een convergentiecontrole is mislukt.",
        "warning_text": (
            "De getallen kunnen meer afwijken dan hun intervallen zeggen: citeer ze pas als de "
            "berekening met meer trekkingen is herhaald (bijlage)."
        ),
        "warn_rhat": "De onafhankelijke runs van de sampler zijn het niet met elkaar eens.",
        "warn_ess": "Te weinig effectief onafhankelijke trekkingen om de getallen vast te leggen.",
        "warn_divergent": "De sampler liep in een deel van het model vast op numerieke problemen.",
        "warn_other": "Een andere controle is mislukt: zie het Engelse rapport.",
        "chart_title": "Waargenomen en geschat, per jaar",
        "chart_caption": (
            "Stippen: aantallen in de bronnen (registratie, hulpchat). Lijnen: het geschatte "
            "totaal en het geschatte aantal dat niet in de registratie staat, met hun "
            "{pct}%-interval als band. Aantallen onder {threshold} staan niet in de grafiek."
        ),
        "chart_generic_title": "Waargenomen en geschat",
        "chart_generic_caption": (
            "Stippen: mensen die op minstens één lijst staan. Balken: het geschatte totaal met zijn {pct}%-interval."
        ),
        "chart_scenario_title": "Uitgangssituatie en scenario",
        "chart_scenario_caption": "Mediaan met {pct}%-interval, uitgangssituatie en scenario.",
        "axis_year": "jaar",
        "axis_people": "aantal mensen",
        "axis_people_log": "aantal mensen (logaritmische schaal)",
        "axis_stratum": "groep",
        "series_registered": "geregistreerd",
        "series_chat": "bereikt door de chat",
        "series_N": "geschat totaal",
        "series_hidden": "niet in de registratie (geschat)",
        "series_observed": "op een lijst",
        "quotable_title": "Zinnen om te citeren",
        "quotable_intro": (
            "Elke zin vergelijkt de registratie met de schatting over dezelfde jaren en voor dezelfde groep."
        ),
        "sentence_change": (
            "Van {start} tot {end} ging het aantal geregistreerde {population} van {reg_start} "
            "naar {reg_end} ({reg_change}); over dezelfde jaren veranderde het geschatte aantal "
            "{population} met {est_change} ({pct}%-interval {est_lower} tot {est_upper}; "
            "kans dat het daalde: {p_fell})."
        ),
        "verdict_unclear": ("Een verandering in de registraties laat niet zien dat het aantal zelf veranderde."),
        "verdict_fell": "Het geschatte aantal daalde ook.",
        "verdict_rose": "Het geschatte aantal steeg ook.",
        "rests_title": "Waar het antwoord op rust",
        "sources_title": "De bronnen en wat elk bijdraagt",
        "sources_intro": (
            "Elke rij is één bron. De grafiek toont de schatting voor {year} als die bron wordt "
            "weggelaten: hoe verder een lijn van de volledige schatting ligt, hoe meer het "
            "antwoord van die bron afhangt."
        ),
        "contrib_all": "alle bronnen",
        "contrib_without": "zonder {source}",
        "contrib_scaled_half": "als de gepubliceerde schattingen half zo groot waren",
        "contrib_scaled_double": "als de gepubliceerde schattingen twee keer zo groot waren",
        "contrib_scaled": "als de gepubliceerde schattingen {factor} keer zo groot waren",
        "contrib_scaled_series": "gepubliceerde schattingen half of twee keer zo groot",
        "contrib_scaled_intro": (
            "De laatste rijen passen het model opnieuw toe alsof de gepubliceerde schattingen van "
            "de Rapporteur half of twee keer zo groot waren: ze laten zien hoe ver het antwoord "
            "die schattingen volgt."
        ),
        "col_fit": "berekening",
        "quotable_lead": "Om te citeren:",
        "contrib_axis": "geschatte {population} in {year}",
        "conflicts_title": "Zijn de bronnen het eens?",
        "conflicts_ok": "Geen enkele bron spreekt de andere duidelijk tegen.",
        "conflicts_flagged": "Deze bronnen spreken de andere tegen: {sources}.",
        "assumptions_title": "Aannames",
        "assumption_link": (
            "Niemand kan een chatcontact koppelen aan een registratie. Hoe sterk chat en "
            "registratie dezelfde slachtoffers zien, is daarom een aanname, geen meting."
        ),
        "assumption_known": (
            '"Bekend bij politie of hulpverlening", zoals chatgebruikers zeggen, is niet '
            'hetzelfde als "geregistreerd"; het model houdt rekening met dat verschil.'
        ),
        "assumption_minors": (
            "Er is geen openbaar aantal geregistreerde Nederlandse minderjarigen, dus de "
            "schattingen voor minderjarigen zijn veel onzekerder dan de totalen."
        ),
        "assumption_missing": (
            "Getallen die niet openbaar zijn, gelden als ontbrekend; de jaren zijn verbonden, "
            "zodat naburige jaren elkaar informeren."
        ),
        "assumption_generic": (
            "Vangst-hervangst gaat ervan uit dat de overlap tussen lijsten iets zegt over de "
            "mensen die geen lijst zag; de aannames van het model over hoe de lijsten "
            "samenhangen, bepalen het antwoord."
        ),
        "sensitivity_title": "Hoe de schatting met de aannames meebeweegt",
        "sensitivity_caption": (
            "Geschatte {population} in {year} (mediaan en {pct}%-interval) onder andere aannames "
            "over hoe sterk chat en registratie dezelfde slachtoffers zien (één kleur per aanname "
            "over zelfrapportage)."
        ),
        "table_title": "De schattingen per jaar",
        "col_population": "groep",
        "col_year": "jaar",
        "col_N": "geschat totaal",
        "col_hidden": "niet in de registratie",
        "col_share_registered": "aandeel geregistreerd",
        "col_share_chat": "aandeel bereikt door de chat",
        "cell_interval": "{median} ({lower} tot {upper})",
        "suppressed_note": (
            "Aantallen van 1 tot en met {below} staan als <{threshold}, en waar nodig is ook een "
            "tweede getal verborgen (x), zodat geen klein aantal uit de andere te berekenen is."
        ),
        "scenario_title": "Vergelijking van scenario's",
        "col_quantity": "uitkomst",
        "col_baseline": "uitgangssituatie",
        "col_scenario": "scenario",
        "col_change": "verschil",
        "data_title": "Gegevensbronnen",
        "col_source": "bron",
        "col_description": "wat het is",
        "col_provenance": "herkomst",
        "data_used_title": "De gebruikte aantallen",
        "col_register": "geregistreerd",
        "col_register_minor": "geregistreerde minderjarigen",
        "col_chat": "bereikt door de chat",
        "col_chat_minor": "minderjarigen bereikt door de chat",
        "run_details": "Gegevens van de berekening",
        "run_data": "gegevens",
        "run_data_hash": "vingerafdruk van de gegevens",
        "run_seed": "startgetal van het toeval",
        "run_config": "configuratiebestand",
        "appendix_title": "Bijlage: technische diagnostiek",
        "appendix_intro": (
            "Voor analisten. R-hat vergelijkt onafhankelijke runs van de sampler (hoogstens "
            "{rhat}); ESS is het aantal effectief onafhankelijke trekkingen (minstens {ess})."
        ),
        "diag_max_rhat": "grootste R-hat",
        "diag_min_ess_bulk": "kleinste bulk-ESS",
        "diag_min_ess_tail": "kleinste staart-ESS",
        "diag_passed": "alle controles geslaagd",
        "diag_failed": "controles mislukt",
        "diag_warnings": "Waarschuwingen van de berekening (zoals de software ze schrijft)",
        "mc_title": "Monte-Carlofout",
        "mc_text": (
            "Grootste standaardfout door de trekking alleen, ten opzichte van de waarde: "
            "medianen {median}, ondergrenzen {lower}, bovengrenzen {upper}."
        ),
        "sens_diag_title": "Betrouwbaarheid van de herwogen gevoeligheidsrijen",
        "col_dependence": "afhankelijkheid",
        "col_mismatch": "zelfrapportage",
        "col_evidence": "bewijs",
        "col_ess": "ESS",
        "col_khat": "Pareto-k",
        "conflict_table_title": "Conflictstatistieken per bron",
        "col_statistic": "statistiek",
        "col_pvalue": "p-waarde of z",
        "col_flagged": "gemarkeerd",
        "yes": "ja",
        "no": "nee",
        "notes_title": "Opmerkingen van het model",
        "to": "tot",
        "pop_Dutch victims": "Nederlandse slachtoffers",
        "pop_Dutch minors": "Nederlandse minderjarige slachtoffers",
        "pop_Dutch adults": "Nederlandse volwassen slachtoffers",
        "pop_people": "mensen",
        "dep_strong avoidance": "sterke vermijding",
        "dep_mild avoidance": "lichte vermijding",
        "dep_none": "geen afhankelijkheid",
        "dep_referral": "doorverwijzing",
        "dep_baseline": "uitgangspunt",
        "mis_baseline": "uitgangspunt",
        "mis_none": "geen",
        "mis_large": "groot",
        "q_N": "populatie",
        "q_hidden": "blijft buiten beeld",
        "q_registered": "geregistreerd",
        "q_reached_chat": "bereikt door de chat",
        "q_reached_any": "in beeld bij een bron",
        "q_chat_not_registered": "chatcontacten niet geregistreerd",
        "footer": ("Gemaakt met hiddenvictims. Alle intervallen zijn gelijkstaartige {pct}%-intervallen."),
    },
}


def check_lang(lang: str) -> str:
    from ..core.errors import InputError

    if lang not in LANGS:
        raise InputError(f"--lang must be one of {', '.join(LANGS)}, not '{lang}'")
    return lang


def t(key: str, lang: str, **values: object) -> str:
    """The ``lang`` text of ``key`` with ``values`` (and ``pct``) filled in."""
    return MESSAGES[lang][key].format(pct=PCT, **values)


def label(prefix: str, name: str, lang: str) -> str:
    """A translated label (``pop_Dutch victims``); a name from a user's config that the
    catalogue does not know is shown as written."""
    return MESSAGES[lang].get(f"{prefix}_{name}", name)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def fmt_int(value: float | None, lang: str) -> str:
    """A whole number with the language's grouping: 1,234 (en), 1.234 (nl)."""
    if not _finite(value):
        return "–"
    return format_decimal(round(value), format="#,##0", locale=LOCALES[lang])


def fmt_num(value: float | None, lang: str, digits: int = 2) -> str:
    """A decimal number with ``digits`` decimals in the language's format."""
    if not _finite(value):
        return "–"
    return format_decimal(value, format="#,##0." + "0" * digits, locale=LOCALES[lang])


def fmt_pct(value: float | None, lang: str, signed: bool = False) -> str:
    """A share as a percentage with one decimal (12.5% / 12,5%); a signed change (+16%,
    −16%) in whole percents unless below 10%."""
    if not _finite(value):
        return "–"
    pattern = "#,##0" if signed and abs(value) >= 0.1 else "#,##0.0"
    text = format_decimal(100 * value, format=pattern, locale=LOCALES[lang]) + "%"
    if signed:
        text = text.lstrip("-")
        text = ("+" if value > 0 else "−" if value < 0 else "") + text
    return text
