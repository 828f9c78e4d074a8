"""Forward simulation from the posterior: who would be reached, registered, still hidden.

For every posterior draw the population N and its capture probabilities (changed by the
interventions) give, per stratum (and year, when year is a stratum):

``reached_chat``         on the anonymous list(s): victims the chat reaches
``registered``           on at least one register list
``reached_any``          on any list (N minus hidden)
``hidden``               on no list
``chat_not_registered``  reached by the chat but on no register list: whom referral targets

``mode='expected'`` gives N x probability (the expected number given the draw, smooth and
monotone in the intervention); ``mode='predictive'`` draws multinomial counts per draw with one
seed for every scenario (common random numbers, so a scenario that changes nothing gives the
baseline's numbers exactly). Everything is vectorised over draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..core.capture import PATTERN_FULL_DIM, SAMPLE_DIM, CaptureDraws
from ..core.constants import INTERVAL_PROB, STRATUM_DIM, interval_quantiles
from ..core.errors import InputError
from .interventions import Layout, Plan, apply_plan, bit_view, compile_plan, parse_interventions

OUTCOMES = ("reached_chat", "registered", "reached_any", "hidden", "chat_not_registered")
#: Outcomes that need an anonymous list.
CHAT_OUTCOMES = ("reached_chat", "chat_not_registered")
VARIANTS = ("baseline", "scenario", "change")
STATS = ("mean", "median", "lower", "upper", "sd")
TOTAL = "total"


def outcome_names(layout: Layout) -> tuple[str, ...]:
    return tuple(o for o in OUTCOMES if layout.anonymous or o not in CHAT_OUTCOMES)


def outcome_indices(layout: Layout) -> dict[str, np.ndarray]:
    """Pattern indices (canonical order) counted by each outcome; reached_any is N - hidden."""
    idx = np.arange(2 ** len(layout.lists))
    reg = sum(layout.bit(n) for n in layout.register)
    chat = sum(layout.bit(n) for n in layout.anonymous)
    out = {
        "reached_chat": idx[(idx & chat) != 0],
        "registered": idx[(idx & reg) != 0],
        "hidden": idx[:1],
        "chat_not_registered": idx[((idx & chat) != 0) & ((idx & reg) == 0)],
    }
    return {k: v for k, v in out.items() if k in outcome_names(layout)}


def _share_rule(layout: Layout, members: np.ndarray) -> tuple[str, object]:
    """Cheapest exact way to sum P over ``members``: one list's half, a few cells, or 1 - rest."""
    n = 2 ** len(layout.lists)
    for name in layout.lists:
        bit = layout.bit(name)
        if np.array_equal(members, np.flatnonzero((np.arange(n) & bit) != 0)):
            return "bit", bit
    rest = np.setdiff1d(np.arange(n), members)
    return ("pick", members) if len(members) <= len(rest) else ("rest", rest)


def shares(prob: np.ndarray, rule: tuple[str, object]) -> np.ndarray:
    kind, arg = rule
    if kind == "bit":
        return bit_view(prob, arg)[..., 1, :].sum(axis=(-2, -1))
    if kind == "pick":
        return prob[..., arg].sum(axis=-1)
    return 1.0 - prob[..., arg].sum(axis=-1)


@dataclass(frozen=True)
class Engine:
    """CaptureDraws as plain arrays, ready to evaluate many scenarios (one per sweep cell).

    Pure and deterministic: the same plan gives the same numbers in any process.
    """

    N: np.ndarray  # (sample, *strata)
    prob: np.ndarray  # (sample, *strata, 2**K)
    layout: Layout
    mode: str = "expected"
    seed: int = 0

    @classmethod
    def from_draws(
        cls,
        draws: CaptureDraws,
        mode: str = "expected",
        seed: int = 0,
        referral_to: str | None = None,
    ) -> Engine:
        prob = draws.pattern_prob.transpose(SAMPLE_DIM, *draws.strata, PATTERN_FULL_DIM).values
        n = draws.N.transpose(SAMPLE_DIM, *draws.strata).values
        return cls(
            np.ascontiguousarray(n, dtype=np.float64),
            np.ascontiguousarray(prob, dtype=np.float64),
            Layout.of(draws, referral_to),
            mode,
            seed,
        )

    @property
    def outcomes(self) -> tuple[str, ...]:
        return outcome_names(self.layout)

    def compile(self, steps: Sequence, source: str = "scenario", key: str = "interventions") -> Plan:
        if steps and isinstance(steps[0], dict):
            steps = parse_interventions(list(steps), source)
        return compile_plan(steps, self.layout, source, key)

    def probabilities(self, plan: Plan | None) -> np.ndarray:
        return self.prob if plan is None else apply_plan(self.prob, plan)

    def evaluate(self, plan: Plan | None) -> np.ndarray:
        """Outcomes (outcome, sample, *strata) under ``plan`` (None: the baseline)."""
        prob = np.ascontiguousarray(self.probabilities(plan))
        idx = outcome_indices(self.layout)
        if self.mode == "predictive":
            rng = np.random.default_rng([self.seed, 0xF02D])
            n = np.rint(self.N).astype(np.int64)
            counts = rng.multinomial(n, prob / prob.sum(axis=-1, keepdims=True))
            values = {k: counts[..., v].sum(axis=-1).astype(np.float64) for k, v in idx.items()}
            values["reached_any"] = n - values["hidden"]
        else:
            values = {k: self.N * shares(prob, _share_rule(self.layout, v)) for k, v in idx.items()}
            values["hidden"] = self.N * prob[..., 0]
            values["reached_any"] = self.N * (1.0 - prob[..., 0])
        return np.stack([values[o] for o in self.outcomes])

    # ------------------------------------------------------------------ summaries for sweeps
    @property
    def stratum_labels(self) -> list[str]:
        """Flat stratum axis of sweeps: 'total', then every stratum ('all' if unstratified)."""
        if not self.layout.strata:
            return ["all"]
        grids = np.array(np.meshgrid(*self.layout.strata.values(), indexing="ij")).reshape(len(self.layout.strata), -1)
        return [TOTAL] + ["|".join(str(v) for v in col) for col in grids.T]

    def flat(self, values: np.ndarray) -> np.ndarray:
        """(outcome, sample, *strata) -> (outcome, flat stratum, sample) with the total first."""
        # Always C-contiguous: NumPy sums along a contiguous and a strided axis in different
        # orders, and the last bits of a mean must not depend on how an array was laid out.
        o, s = values.shape[:2]
        if not self.layout.strata:
            return np.ascontiguousarray(values.reshape(o, s, 1).transpose(0, 2, 1))
        cells = np.ascontiguousarray(values.reshape(o, s, -1))
        total = cells.sum(axis=-1, keepdims=True)
        return np.ascontiguousarray(np.concatenate([total, cells], axis=-1).transpose(0, 2, 1))

    def cell_summary(self, plan: Plan, baseline: np.ndarray) -> np.ndarray:
        """(outcome, [scenario, change], flat stratum, stat) for one cell; ``baseline`` = flat()."""
        scen = self.flat(self.evaluate(plan))
        baseline = np.ascontiguousarray(baseline)
        return summary_stats(np.stack([scen, scen - baseline], axis=1))


def summary_stats(values: np.ndarray, prob: float = INTERVAL_PROB) -> np.ndarray:
    """Mean, median, interval and sd over the last axis (draws): (..., len(STATS))."""
    lo, hi = interval_quantiles(prob)
    values = np.ascontiguousarray(values, dtype=np.float64)  # layout-independent sums (see flat)
    q = np.quantile(values, [0.5, lo, hi], axis=-1)
    sd = values.std(axis=-1, ddof=1) if values.shape[-1] > 1 else np.zeros(values.shape[:-1])
    return np.stack([values.mean(axis=-1), q[0], q[1], q[2], sd], axis=-1)


# ----------------------------------------------------------------------------- xarray API
def _dataset(engine: Engine, values: np.ndarray, draws: CaptureDraws) -> xr.Dataset:
    dims = (SAMPLE_DIM, *draws.strata)
    coords = {d: draws.N[d].values for d in dims}
    data = {o: xr.DataArray(values[i], dims=dims, coords=coords) for i, o in enumerate(engine.outcomes)}
    data["N"] = draws.N.transpose(*dims)
    return xr.Dataset(data)


def forward(
    draws: CaptureDraws,
    steps: Sequence = (),
    *,
    mode: str = "expected",
    seed: int = 0,
    referral_to: str | None = None,
    source: str = "scenario",
) -> xr.Dataset:
    """Outcomes per draw and stratum under ``steps`` (dims sample, *strata); N included."""
    engine = Engine.from_draws(draws, mode, seed, referral_to)
    plan = engine.compile(steps, source) if steps else None
    return _dataset(engine, engine.evaluate(plan), draws)


def scenario_outcomes(
    draws: CaptureDraws,
    steps: Sequence = (),
    *,
    mode: str = "expected",
    seed: int = 0,
    referral_to: str | None = None,
    source: str = "scenario",
) -> xr.Dataset:
    """Baseline, scenario and their difference per draw (dim ``variant``), same draws throughout."""
    engine = Engine.from_draws(draws, mode, seed, referral_to)
    base = engine.evaluate(None)
    scen = engine.evaluate(engine.compile(steps, source)) if steps else base.copy()
    parts = [_dataset(engine, v, draws) for v in (base, scen, scen - base)]
    parts[2]["N"] = parts[2]["N"] * 0.0
    return xr.concat(parts, dim=pd.Index(list(VARIANTS), name="variant"))


def _rows(name: str, variant: str, label: str, values: np.ndarray, prob: float) -> dict:
    values = np.asarray(values, dtype=np.float64)
    stats = summary_stats(values, prob)
    return {
        "quantity": name,
        "variant": variant,
        "stratum": label,
        **{k: float(v) for k, v in zip(STATS, stats, strict=True)},
        **_mcse(values, prob),
    }


def _mcse(values: np.ndarray, prob: float) -> dict[str, float]:
    """Monte Carlo standard errors of median and interval ends. The samples are chains laid
    end to end; two halves stand in for chains (ESS-based, as ArviZ's split chains)."""
    from ..core.summary import summary_mcse

    if values.size < 8 or not np.isfinite(values).all() or np.ptp(values) == 0:
        return {"mcse_median": 0.0, "mcse_lower": 0.0, "mcse_upper": 0.0}
    half = values.size // 2
    return summary_mcse(values[: 2 * half].reshape(2, half), prob)


def summarise_outcomes(
    ds: xr.Dataset,
    by: Sequence[str] = (),
    prob: float = INTERVAL_PROB,
    quantities: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per (quantity, variant, stratum): every stratum, margins over ``by``, the total.

    Columns: quantity, variant, stratum, mean, median, lower, upper, sd (equal-tailed
    ``prob`` interval over the posterior draws).
    """
    names = list(quantities or [v for v in OUTCOMES if v in ds])
    strata = [d for d in ds[names[0]].dims if d not in (SAMPLE_DIM, "variant")]
    for dim in by:
        if dim not in strata:
            raise InputError(
                f"output.by: unknown stratum dimension '{dim}' (dimensions: {', '.join(strata) or 'none'})"
            )
    variants = list(ds["variant"].values) if "variant" in ds.dims else ["scenario"]
    rows = []
    for name in names:
        for variant in variants:
            da = ds[name].sel(variant=variant) if "variant" in ds.dims else ds[name]
            if not strata:
                rows.append(_rows(name, variant, "all", da.values, prob))
                continue
            rows.append(_rows(name, variant, TOTAL, da.sum(strata).values, prob))
            for dim in (d for d in by if len(strata) > 1):
                margin = da.sum([d for d in strata if d != dim])
                for level in margin[dim].values:
                    rows.append(_rows(name, variant, f"{dim}={level}", margin.sel({dim: level}).values, prob))
            stacked = da.stack({STRATUM_DIM: strata}).transpose(SAMPLE_DIM, STRATUM_DIM)
            for i, key in enumerate(stacked[STRATUM_DIM].values):
                key = key if isinstance(key, tuple) else (key,)
                rows.append(_rows(name, variant, "|".join(str(k) for k in key), stacked.values[:, i], prob))
    return pd.DataFrame(
        rows, columns=["quantity", "variant", "stratum", *STATS, "mcse_median", "mcse_lower", "mcse_upper"]
    )
