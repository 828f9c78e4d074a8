"""Labels and sentences of the evidence synthesis that both its markdown report
(:mod:`.synthesis`) and the HTML report (:mod:`.html`) print.

One generator for both reports. This module imports neither of them, so the HTML report can
use it while the synthesis report writes the HTML report, and no import runs in a circle.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..core.constants import INTERVAL_PROB, interval_quantiles
from ..studies.netherlands.pipeline import change_summary
from .formats import fmt_count, fmt_decimal, fmt_share, interval_text
from .sentences import Comparison, EstimateChange, Period, RegisterChange

YEAR = "year"
PCT = int(round(100 * INTERVAL_PROB))
GROUP_NAMES = {
    "register": {
        "en": "register counts (CoMensha, Dutch nationality)",
        "nl": "registraties (CoMensha, Nederlandse nationaliteit)",
    },
    "bounds": {
        "en": "registered minors of any nationality (upper bounds)",
        "nl": "geregistreerde minderjarigen van elke nationaliteit (bovengrenzen)",
    },
    "chat": {"en": "Chat met Fier: victims and minors", "nl": "Chat met Fier: slachtoffers en minderjarigen"},
    "first_disclosure": {
        "en": "Chat met Fier 2020: already known to police or care",
        "nl": "Chat met Fier 2020: al bekend bij politie of hulpverlening",
    },
    "rapporteur_2010_2015": {
        "en": "Rapporteur's estimates 2010-2015 (sexual exploitation, minor girls)",
        "nl": "schattingen Rapporteur 2010-2015 (seksuele uitbuiting, minderjarige meisjes)",
    },
    "rapporteur_2014_2018": {
        "en": "Rapporteur's estimate 2014-2018 (minors, sexual exploitation)",
        "nl": "schatting Rapporteur 2014-2018 (minderjarigen, seksuele uitbuiting)",
    },
}


def variant_label(variant: str, lang: str) -> str:
    if variant == "all evidence":
        return "alle bronnen" if lang == "nl" else variant
    if variant.startswith("without "):
        group = variant.removeprefix("without ")
        name = GROUP_NAMES.get(group, {}).get(lang, group)
        if group == "published estimates" or "+" in group:
            name = "gepubliceerde schattingen" if lang == "nl" else "published estimates"
        return f"zonder {name}" if lang == "nl" else f"without {name}"
    if variant.startswith("published estimates x "):
        factor = variant.removeprefix("published estimates x ")
        return f"gepubliceerde schattingen x {factor.replace('.', ',')}" if lang == "nl" else variant
    return variant


def quotable_comparison(ds: xr.Dataset, figures: pd.DataFrame) -> Comparison | None:
    """The register's change of Dutch victims between its first and last known year, set against
    the estimate's change over the same two years (None with fewer than two register counts)."""
    known = figures.dropna(subset=["register_dutch"])
    if len(known) < 2:
        return None
    first, last = known.iloc[0], known.iloc[-1]
    period = Period(int(first[YEAR]), int(last[YEAR]))
    ch = change_summary(ds, period.start, period.end)
    return Comparison(
        RegisterChange("Dutch victims", period, float(first["register_dutch"]), float(last["register_dutch"])),
        EstimateChange("Dutch victims", period, ch["median"], ch["lower"], ch["upper"], ch["p_fell"]),
    )


def quotable_sentence(c: Comparison | None, lang: str) -> str:
    """The quotable sentence of a :func:`quotable_comparison`, as both reports print it."""
    if c is None:
        return ""
    y0, y1 = c.register.period.start, c.register.period.end
    reg_start, reg_end, est = c.register.count_start, c.register.count_end, c.estimate

    def pct(x):
        return f"{100 * x:+.0f}%".replace("+-", "-")

    if lang == "nl":
        return (
            f"Van {y0} tot {y1} veranderde het aantal geregistreerde Nederlandse slachtoffers met "
            f"{pct(c.register.change)} ({fmt_count(reg_start, 'nl')} naar {fmt_count(reg_end, 'nl')}); "
            f"het geschatte aantal Nederlandse slachtoffers veranderde in dezelfde jaren met {pct(est.median)} "
            f"({PCT}%-interval {pct(est.lower)} tot {pct(est.upper)}); kans dat het daalde: "
            f"{100 * est.p_fell:.0f}%."
        ).replace(".0%", "%")
    return (
        f"From {y0} to {y1} registered Dutch victims changed by {pct(c.register.change)} "
        f"({fmt_count(reg_start)} to {fmt_count(reg_end)}); over the same years "
        f"the estimated number of Dutch victims changed by {pct(est.median)} ({PCT}% interval "
        f"{pct(est.lower)} to {pct(est.upper)}); chance that it fell: {100 * est.p_fell:.0f}%."
    )


def quotable(ds: xr.Dataset, figures: pd.DataFrame, lang: str) -> str:
    """Register change and estimated change over the same two years and the same population."""
    return quotable_sentence(quotable_comparison(ds, figures), lang)


def theta_interval(ds: xr.Dataset) -> np.ndarray | None:
    """Posterior median and interval of theta, the chat-register dependence (None without it)."""
    if "theta" not in ds:
        return None
    lo, hi = interval_quantiles()
    return np.quantile(ds["theta"].values.ravel(), [0.5, lo, hi])


def assumptions(tq: np.ndarray | None, lang: str) -> list[str]:
    """What the synthesis assumes, one sentence each (the markdown report's bullets and the HTML
    report's list); ``tq`` from :func:`theta_interval` (its sentence is left out when None)."""
    if lang == "en":
        theta = (
            None
            if tq is None
            else f"Dependence between chat and register (log odds ratio theta): prior from the linked 2010-2015 "
            f"table, posterior median {tq[0]:.2f} ({PCT}% interval {tq[1]:.2f} to {tq[2]:.2f})."
        )
        items = [
            "The chat reaches victims of sexual exploitation (over 90% of its victims); victims of other forms are "
            "counted by the register only.",
            "Numbers of victims and the register's coverage change smoothly from year to year (random walks); "
            "evidence from one year informs its neighbours with growing uncertainty.",
            theta,
            "'Known to police or care' is not 'registered': a registered chat user says so with chance s, "
            "an unregistered one with chance f.",
            "The Rapporteur's estimates are taken as measurements with error and a shared bias, never as truth.",
        ]
    else:
        theta = (
            None
            if tq is None
            else f"Samenhang tussen chat en registratie (log-odds-ratio theta): prior uit de gekoppelde tabel "
            f"2010-2015, posterior mediaan {fmt_decimal(tq[0], 'nl', 2)} ({PCT}%-interval "
            f"{fmt_decimal(tq[1], 'nl', 2)} tot {fmt_decimal(tq[2], 'nl', 2)})."
        )
        items = [
            "De chat bereikt slachtoffers van seksuele uitbuiting (ruim 90% van de slachtoffers in de chat); "
            "slachtoffers van andere vormen worden alleen door de registratie geteld.",
            "Aantallen slachtoffers en de dekking van de registratie veranderen geleidelijk van jaar tot jaar; "
            "gegevens over één jaar zeggen iets over de jaren ernaast, met groeiende onzekerheid.",
            theta,
            "'Bekend bij politie of hulpverlening' is niet hetzelfde als 'geregistreerd'.",
            "De schattingen van de Rapporteur tellen als metingen met een foutmarge en een gedeelde "
            "vertekening, nooit als de waarheid.",
        ]
    return [item for item in items if item is not None]


def coverage_numbers(ds: xr.Dataset, conflicts: pd.DataFrame) -> tuple[list, float] | None:
    """Registered share of minors in sexual exploitation, 2010-2015 and 2018 (median, interval
    each), and the left-out predictive p-value of the Rapporteur's 11% figure."""
    if "register_coverage_sexual" not in ds:
        return None
    cov = ds["register_coverage_sexual"].sel(age="minor")
    years = [int(y) for y in cov["model_year"].values]
    lo, hi = interval_quantiles()

    def q(sel):
        values = sel.values.reshape(-1, sel.shape[-1]).mean(axis=-1) if sel.ndim > 2 else sel.values
        return np.quantile(values, [0.5, lo, hi])

    parts = []
    if 2010 in years and 2015 in years:
        parts.append(("2010-2015", q(cov.sel(model_year=list(range(2010, 2016))))))
    if 2018 in years:
        parts.append(("2018", q(cov.sel(model_year=2018))))
    if len(parts) < 2:
        return None
    p_value = np.nan
    if len(conflicts) and "row" in conflicts and (conflicts["row"] == "reg_girls_2010_2015").any():
        p_value = float(conflicts.loc[conflicts["row"] == "reg_girls_2010_2015", "p_value"].iloc[0])
    return parts, p_value


def coverage_text(numbers: tuple[list, float] | None, lang: str) -> str:
    """How the model reads '11% of minors registered (2010-2015)' against '2-3% (2018)'."""
    if numbers is None:
        return ""
    parts, p_value = numbers
    text = {
        "en": (
            "Share of minors in sexual exploitation on the register (not via the chat): "
            + ", ".join(f"{period} {interval_text(*v, 'en', fmt_share)}" for period, v in parts)
            + ". The model reads the Rapporteur's '11% registered' (2010-2015) against '2-3%' (2018) as a "
            f"fall in coverage; left out, the 11% figure has a predictive p-value of {p_value:.2f}."
        ),
        "nl": (
            "Aandeel minderjarigen in seksuele uitbuiting dat geregistreerd is (niet via de chat): "
            + ", ".join(f"{period} {interval_text(*v, 'nl', fmt_share)}" for period, v in parts)
            + ". Het model leest de '11% geregistreerd' (2010-2015) van de Rapporteur tegenover '2-3%' "
            f"(2018) als een daling van de dekking; weggelaten heeft het cijfer van 11% een voorspellende "
            f"p-waarde van {fmt_decimal(p_value, 'nl', 2)}."
        ),
    }
    return text[lang]
