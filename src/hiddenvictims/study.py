"""Simulation study: how often each model's interval covers a known N, and at what cost.

``hiddenvictims study CONFIG.toml`` simulates many populations of known size per *setting*
(capture probabilities, latent classes, individual heterogeneity on the logit scale, list
dependence, a list without linkage), fits every listed model to each, and reports per model
and setting: relative bias of the posterior median, coverage of the interval
(``constants.INTERVAL_PROB``), interval width relative to N, and seconds per fit.

Why replicates are independent tasks: a replicate's numbers depend only on the setting, the
model list and its seed (``[study seed, setting index, replicate]``), so they are the same
whether computed in this process, on a local Dask cluster or on a remote one, and in any
order. Each finished replicate is written at once as a one-line CSV into the checkpoint
folder ``<out>.partial/``; a rerun of the same study skips replicates already there
(resume). A different config has a different fingerprint and is refused unless
``--restart``. The results folder (``replicates.csv``, ``summary.csv``, ``summary.md``,
``coverage.png``, ``manifest.json``) is written atomically at the end.

In a setting with an ``anonymous`` list the ``anonymous`` model gets the list's total and how
many of its members are on the other lists; every other model is fitted to the linked lists
only (what one could do by ignoring the anonymous list).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from .core.config import Strict, config_hash
from .core.constants import INTERVAL_PROB
from .core.errors import InputError

ModelName = Literal["independence", "two-way", "two-way-sd10", "averaging", "latent-class", "anonymous"]
ROW_COLUMNS = [
    "setting",
    "replicate",
    "model",
    "n_true",
    "n_observed",
    "median",
    "lower",
    "upper",
    "covered",
    "seconds",
    "max_rhat",
    "warnings",
]


class StudySampler(Strict):
    """Sampler settings of every fit (reduced draws keep a study affordable)."""

    draws: int = Field(500, ge=50)
    tune: int = Field(500, ge=50)
    chains: int = Field(2, ge=2)
    # 'auto' is nutpie when installed: a study fits one structure hundreds of times per
    # worker, so its one-off compile pays for itself after a few fits (PyMC re-initialises
    # every fit, about 1.5 s each)
    backend: Literal["auto", "pymc", "nutpie"] = "auto"


class StudySetting(Strict):
    """One kind of population, simulated ``replicates`` times (see :mod:`.simulate`)."""

    name: str = Field(min_length=1)
    description: str = ""
    n: int = Field(ge=10)
    capture: list[float] | list[list[float]]
    class_weights: list[float] | None = None
    logit_sd: float = Field(0.0, ge=0)
    # (list i, list j, log odds ratio): TOML writes each as an array, so not strict here
    dependence: list[Annotated[tuple[int, int, float], Field(strict=False)]] = Field(default_factory=list)
    anonymous: str | None = None
    models: list[ModelName] = Field(min_length=1)
    replicates: int | None = Field(None, ge=1)
    latent_class_draws: int | None = Field(None, ge=50)

    @model_validator(mode="after")
    def _consistent(self) -> StudySetting:
        rows = np.atleast_2d(np.asarray(self.capture, dtype=float))
        if np.any((rows <= 0) | (rows >= 1)):
            raise ValueError("capture probabilities must lie strictly between 0 and 1")
        k = rows.shape[1]
        if not 3 <= k <= 6:
            raise ValueError(f"{k} lists: a study setting has 3 to 6 lists")
        if self.class_weights is not None and len(self.class_weights) != rows.shape[0]:
            raise ValueError("class_weights needs one weight per row of capture")
        for j, m, _ in self.dependence:
            if not (0 <= j < k and 0 <= m < k and j != m):
                raise ValueError(f"dependence pair ({j}, {m}) is not two of the {k} lists")
        if self.anonymous is not None and self.anonymous not in self.list_names:
            raise ValueError(f"anonymous list '{self.anonymous}' is not one of {self.list_names}")
        if ("anonymous" in self.models) != (self.anonymous is not None):
            raise ValueError("model 'anonymous' needs an anonymous list, and the other way round")
        return self

    @property
    def list_names(self) -> list[str]:
        k = np.atleast_2d(np.asarray(self.capture)).shape[1]
        return [chr(ord("A") + i) for i in range(k)]


class StudyConfig(Strict):
    """A study config file (``scenarios/validation-study.toml``)."""

    name: str = "validation-study"
    description: str = ""
    out: str = "results/validation-study"
    replicates: int = Field(100, ge=1)
    seed: int = Field(2026, ge=0)
    workers: int = Field(2, ge=0)
    sampler: StudySampler = Field(default_factory=StudySampler)
    settings: list[StudySetting] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> StudyConfig:
        names = [s.name for s in self.settings]
        if len(set(names)) != len(names):
            raise ValueError("setting names must be unique")
        return self

    def tasks(self) -> list[tuple[int, int]]:
        """(setting index, replicate) of every replicate, in a fixed order."""
        return [(i, r) for i, s in enumerate(self.settings) for r in range(s.replicates or self.replicates)]


# ---------------------------------------------------------------------------- one replicate
def model_spec(name: str):
    """The spec of a study model: the package defaults, as ``compare`` uses them."""
    from .core.spec import AnonymousSpec, AveragingSpec, LatentClassSpec, LoglinearPriors, LoglinearSpec

    return {
        "independence": lambda: LoglinearSpec(name="independence"),
        "two-way": lambda: LoglinearSpec(name="two-way", interactions=["all-two-way"]),
        # the same model under a wide interaction prior: does the default Normal(0, 2) help or hurt?
        "two-way-sd10": lambda: LoglinearSpec(
            name="two-way-sd10", interactions=["all-two-way"], priors=LoglinearPriors(interaction_sd=10.0)
        ),
        "averaging": lambda: AveragingSpec(name="averaging"),
        "latent-class": lambda: LatentClassSpec(name="latent-class"),
        "anonymous": lambda: AnonymousSpec(name="anonymous"),
    }[name]()


def drop_list(table, name: str):
    """The table of the other lists (people only on ``name`` become unobserved)."""
    from .core.table import make_table, pattern_index

    j = table.lists.index(name)
    keep = [x for x in table.lists if x != name]
    pats = np.delete(table.patterns, j, axis=1)
    counts = table.counts.values.astype(np.int64)
    seen = pats.any(axis=1)
    full = np.bincount(pattern_index(pats[seen]), weights=counts[seen], minlength=2 ** len(keep))
    return make_table(keep, full[1:].astype(np.int64), source=f"{table.source} without {name}")


def run_replicate(config: StudyConfig, index: int, replicate: int) -> pd.DataFrame:
    """Simulate one population of setting ``index`` and fit every model of the setting."""
    import warnings

    from .core.simulate import simulate_population
    from .core.spec import SamplerSettings
    from .families import fit
    from .inference.sampling import prefer_nutpie

    setting = config.settings[index]
    seed = int(np.random.SeedSequence([config.seed, index, replicate]).generate_state(1)[0])
    pop = simulate_population(
        setting.n,
        setting.capture,
        class_weights=setting.class_weights,
        logit_sd=setting.logit_sd,
        dependence={(j, m): g for j, m, g in setting.dependence},
        list_names=setting.list_names,
        seed=seed,
    )
    base = SamplerSettings(
        draws=config.sampler.draws,
        tune=config.sampler.tune,
        chains=config.sampler.chains,
        cores=1,
        seed=seed % 2**31,
        backend=prefer_nutpie(config.sampler.backend),
        progressbar=False,
    )
    rows = []
    for name in setting.models:
        spec = model_spec(name)
        sampler = base
        if name == "latent-class" and setting.latent_class_draws:
            sampler = base.model_copy(update={"draws": setting.latent_class_draws})
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if name == "anonymous":
                from .core.anonymous_data import from_table
                from .families import anonymous

                data, _, _ = from_table(pop.table, setting.anonymous)
                est = anonymous.fit(data, spec, sampler)
            else:
                table = pop.table
                if setting.anonymous is not None:
                    table = drop_list(table, setting.anonymous)
                est = fit(table, spec, sampler)
        seconds = time.perf_counter() - start
        row = est.summary().set_index("quantity").loc["N"]
        if isinstance(row, pd.DataFrame):  # stratified: the total is the last row
            row = row.iloc[-1]
        diag = est.diagnostics()
        rows.append(
            {
                "setting": setting.name,
                "replicate": replicate,
                "model": name,
                "n_true": pop.n_total,
                "n_observed": pop.table.n_observed,
                "median": float(row["median"]),
                "lower": float(row["lower"]),
                "upper": float(row["upper"]),
                "covered": bool(row["lower"] <= pop.n_total <= row["upper"]),
                "seconds": round(seconds, 3),
                "max_rhat": float(diag["rhat"].max()) if len(diag) else float("nan"),
                "warnings": len(est.warnings()),
            }
        )
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


# ---------------------------------------------------------------------------- checkpoint
class Checkpoint:
    """``<out>.partial/``: the study's fingerprint and one CSV per finished replicate."""

    def __init__(self, out: Path, fingerprint: str):
        self.root = Path(f"{out}.partial")
        self.fingerprint = fingerprint

    def open(self, restart: bool) -> None:
        index = self.root / "index.json"
        if self.root.exists() and restart:
            import shutil

            shutil.rmtree(self.root)
        if self.root.exists():
            known = json.loads(index.read_text()).get("fingerprint") if index.exists() else None
            if known != self.fingerprint:
                raise InputError(f"{self.root}: checkpoint of a different study config; use --restart")
            return
        (self.root / "replicates").mkdir(parents=True)
        index.write_text(json.dumps({"fingerprint": self.fingerprint}) + "\n")

    def path(self, index: int, replicate: int) -> Path:
        return self.root / "replicates" / f"s{index:03d}-r{replicate:05d}.csv"

    def done(self) -> set[tuple[int, int]]:
        out = set()
        for p in (self.root / "replicates").glob("s*-r*.csv"):
            s, r = p.stem.split("-")
            out.add((int(s[1:]), int(r[1:])))
        return out

    def save(self, index: int, replicate: int, frame: pd.DataFrame) -> None:
        path = self.path(index, replicate)
        tmp = path.with_suffix(".tmp")
        frame.to_csv(tmp, index=False)
        tmp.rename(path)

    def load_all(self) -> pd.DataFrame:
        files = sorted((self.root / "replicates").glob("s*-r*.csv"))
        return pd.concat([pd.read_csv(p) for p in files], ignore_index=True)


def _task(config_json: str, index: int, replicate: int) -> pd.DataFrame:
    return run_replicate(StudyConfig.model_validate_json(config_json), index, replicate)


def run_study(
    config: StudyConfig,
    out: Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    restart: bool = False,
    force: bool = False,
    progress: bool = False,
) -> tuple[pd.DataFrame, float]:
    """Run (or resume) every replicate; write the results folder. Returns (summary, seconds)."""
    from .core.results import atomic_dir, check_writable

    check_writable(out, force)
    workers = config.workers if workers is None else workers
    checkpoint = Checkpoint(out, config_hash(config))
    checkpoint.open(restart)
    todo = [t for t in config.tasks() if t not in checkpoint.done()]
    start = time.perf_counter()
    if todo and workers == 0 and not scheduler:
        for i, r in todo:
            checkpoint.save(i, r, run_replicate(config, i, r))
    elif todo:
        from distributed import as_completed

        from .scenarios.sweep import dask_client

        payload = config.model_dump_json()
        with dask_client(max(workers, 1), scheduler) as client:
            futures = {client.submit(_task, payload, i, r, pure=False): (i, r) for i, r in todo}
            for future in as_completed(futures):
                i, r = futures[future]
                checkpoint.save(i, r, future.result())
                if progress:
                    import sys

                    done = len(checkpoint.done())
                    sys.stderr.write(f"\r{done}/{len(config.tasks())} replicates")
        if progress:
            import sys

            sys.stderr.write("\n")
    seconds = time.perf_counter() - start
    rows = checkpoint.load_all()
    summary = summarise(rows)
    with atomic_dir(out, force=force) as tmp:
        rows.to_csv(tmp / "replicates.csv", index=False)
        summary.to_csv(tmp / "summary.csv", index=False)
        (tmp / "summary.md").write_text(markdown_table(summary) + "\n")
        plot_coverage(summary, tmp / "coverage.png")
        from .core.results import versions, write_json

        write_json(
            tmp / "manifest.json",
            {
                "config": config.model_dump(mode="json"),
                "fingerprint": config_hash(config),
                "replicates": len(rows),
                "seconds_this_run": round(seconds, 1),
                "versions": versions(),
            },
        )
    import shutil

    shutil.rmtree(checkpoint.root, ignore_errors=True)
    return summary, seconds


# ---------------------------------------------------------------------------- summaries
def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Per setting and model: replicates, relative bias of the median, coverage (with its
    binomial standard error), median relative interval width, median seconds per fit."""
    rel = rows["median"] / rows["n_true"] - 1.0
    width = (rows["upper"] - rows["lower"]) / rows["n_true"]
    frame = rows.assign(rel_bias=rel, rel_width=width)
    order = list(dict.fromkeys(rows["setting"]))
    out = (
        frame.groupby(["setting", "model"], sort=False)
        .agg(
            replicates=("covered", "size"),
            n_true=("n_true", "median"),
            bias=("rel_bias", "mean"),
            coverage=("covered", "mean"),
            width=("rel_width", "median"),
            seconds=("seconds", "median"),
            unconverged=("max_rhat", lambda x: float((x > 1.01).mean())),
        )
        .reset_index()
    )
    out["coverage_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["replicates"])
    out["setting"] = pd.Categorical(out["setting"], categories=order, ordered=True)
    return out.sort_values(["setting"], kind="stable").reset_index(drop=True)


def markdown_table(summary: pd.DataFrame) -> str:
    pct = int(round(100 * INTERVAL_PROB))
    lines = [
        f"| setting | model | replicates | bias of median | {pct}% coverage | width / N | s per fit | R-hat > 1.01 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(
            f"| {r.setting} | {r.model} | {r.replicates} | {r.bias:+.0%} | "
            f"{r.coverage:.0%} (±{r.coverage_se:.0%}) | {r.width:.2f} | {r.seconds:.1f} | "
            f"{r.unconverged:.0%} |"
        )
    return "\n".join(lines)


def plot_coverage(summary: pd.DataFrame, path: Path) -> Path:
    """Coverage per setting and model with the nominal level and binomial error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = list(summary["setting"].cat.categories)
    models = list(dict.fromkeys(summary["model"]))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(settings) * max(1, len(models) / 2) + 1.5))
    for m, model in enumerate(models):
        part = summary[summary["model"] == model]
        y = [settings.index(s) + (m - len(models) / 2) * 0.12 for s in part["setting"]]
        ax.errorbar(part["coverage"], y, xerr=2 * part["coverage_se"], fmt="o", label=model)
    ax.axvline(INTERVAL_PROB, color="grey", ls="--", lw=1)
    ax.set_yticks(range(len(settings)), settings)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)
    ax.set_xlabel(f"coverage of the {int(round(100 * INTERVAL_PROB))}% interval (±2 s.e.)")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def load_study(path: str | Path) -> StudyConfig:
    from .core import config

    return config.load(StudyConfig, path)


def study_models(summary: pd.DataFrame) -> Sequence[str]:
    return list(dict.fromkeys(summary["model"]))
