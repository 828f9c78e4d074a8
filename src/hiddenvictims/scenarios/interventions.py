"""Interventions: changes to the capture process, never to the population.

Every intervention is a pure function of :class:`~hiddenvictims.core.capture.CaptureDraws` to
CaptureDraws that rewrites ``pattern_prob`` (the probability of each capture pattern, per
posterior draw and stratum) and leaves ``N`` untouched: who the victims are and how many
there are stays what the posterior says; only who gets found by which source changes.

The registry is closed (:data:`REGISTRY`): a config's ``kind`` selects an entry, never code.

=====================  ===========================================================
kind                   what it changes in the capture process
=====================  ===========================================================
``chat_reach``         the chance that a victim reaches the chat: P(on chat | the
                       person's pattern on every other list) is multiplied by
                       ``multiplier`` (capped at 1). The pattern on the other lists
                       (the register pattern) is kept, so the register is unchanged.
``register_detection`` the chance of being on a named register list (one reporting
                       organisation), given the pattern on every other list, multiplied
                       per list by ``multipliers`` (capped at 1).
``referral``           a share ``probability`` of the chat's contacts who are on no
                       register list is added to a register list (``to``): they stay
                       chat contacts and now also enter the register.
``combination``        its ``steps``, composed by the rule below.
=====================  ===========================================================

Composition (a fixed order, so that combining interventions is well defined and monotone):

1. *Findability* (``chat_reach``, ``register_detection``). Each multiplier m on list L acts
   on the baseline capture process, person-type by person-type: a person whose baseline
   pattern is x and who is not on L is found by L in addition with probability
   ``min(1, (m - 1) P(x + L) / P(x))``, so that P(on L | rest of x) becomes
   ``min(1, m P(on L | rest of x))``; with m < 1 a person on L is lost from it with
   probability 1 - m (m = 0 closes the list). Extra findings on different lists are
   independent given the baseline pattern. Multipliers on the same list multiply.
   Findability steps commute: their order in the config does not matter.
2. *Referral*, on the result of step 1, in the order listed: of the people on a source list
   (the chat) and on no register list, a share r moves onto the register list ``to``.

Each step can be limited to some strata (``strata = {age_group = ["minor"]}``): elsewhere it
is the identity. A multiplier of exactly 1 and a referral probability of exactly 0 leave
``pattern_prob`` bit-for-bit unchanged, so a scenario that changes nothing reproduces the
baseline exactly.

The cap is applied per person-type (stratum x pattern on the other lists), the finest level
the posterior describes; with heterogeneity inside a type and a binding cap the effect on a
real population would be somewhat smaller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Literal

import numpy as np
import xarray as xr
from pydantic import Field, TypeAdapter

from ..core.capture import PATTERN_FULL_DIM, SAMPLE_DIM, CaptureDraws
from ..core.config import Strict
from ..core.config_errors import validate_with
from ..core.errors import InputError, did_you_mean

# ----------------------------------------------------------------------------- parameters
StrataSelector = dict[str, list[str]]


class _Step(Strict):
    label: str | None = Field(None, description="Name shown in reports (default: the kind).")
    strata: StrataSelector = Field(
        default_factory=dict,
        description="Limit the step to these strata, e.g. {age_group = ['minor']}; "
        "several dims must all match. Empty: every stratum.",
    )


class ChatReach(_Step):
    """Make the chat easier to find: P(reach chat | pattern on the other lists) x multiplier."""

    kind: Literal["chat_reach"]
    multiplier: float = Field(ge=0, le=1e3, description="1 = no change, 2 = twice as findable, 0 = closed.")
    list: str | None = Field(None, description="Anonymous list to act on (default: the only one).")


class Referral(_Step):
    """Link the chat to care and police: chat contacts not on the register enter it."""

    kind: Literal["referral"]
    probability: float = Field(ge=0, le=1, description="Share of unregistered chat contacts referred.")
    to: str | None = Field(
        None,
        description="Register list they enter (default: roles.referral_to, else the only register list).",
    )
    source: list[str] | None = Field(None, description="Anonymous lists referring (default: all).")


class RegisterDetection(_Step):
    """Better detection by reporting organisations: P(on list | other lists) x multiplier."""

    kind: Literal["register_detection"]
    multipliers: dict[str, Annotated[float, Field(ge=0, le=1e3)]] = Field(
        min_length=1, description="Register list -> multiplier (0 to 1000)."
    )


class TargetedOutreach(_Step):
    """Outreach aimed at one group the chat reports (e.g. 'parents'): the chat's findability
    times ``multiplier`` for that group only. Needs the forward model of people (the Dutch
    baseline), which splits each stratum into the group and the rest."""

    kind: Literal["targeted_outreach"]
    group: str = Field(description="A group of data/netherlands/chat_composition.csv.")
    multiplier: float = Field(ge=0, description="Findability multiplier within the group.")


class Combination(Strict):
    """Several steps as one named intervention (composed by the module's rule)."""

    kind: Literal["combination"]
    label: str | None = None
    steps: list[Intervention] = Field(min_length=1)


Intervention = Annotated[
    ChatReach | Referral | RegisterDetection | TargetedOutreach | Combination,
    Field(discriminator="kind"),
]
Combination.model_rebuild()
INTERVENTION_LIST = TypeAdapter(list[Intervention])


# ----------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Layout:
    """What interventions are checked against: list roles and stratum levels (as strings)."""

    lists: tuple[str, ...]
    register: tuple[str, ...]
    anonymous: tuple[str, ...]
    strata: dict[str, tuple[str, ...]] = field(default_factory=dict)
    referral_to: str | None = None

    @classmethod
    def of(cls, draws: CaptureDraws, referral_to: str | None = None) -> Layout:
        strata = {d: tuple(str(v) for v in draws.N[d].values) for d in draws.strata}
        return cls(draws.lists, draws.register, draws.anonymous, strata, referral_to)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.strata.values())

    def bit(self, name: str) -> int:
        """Bit of list ``name`` in a canonical pattern index (first list = most significant)."""
        return 1 << (len(self.lists) - 1 - self.lists.index(name))


@dataclass(frozen=True)
class Plan:
    """Compiled interventions: findability multipliers per list, then referrals in order."""

    multipliers: dict[int, np.ndarray] = field(default_factory=dict)  # bit -> (*strata) array
    referrals: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...] = ()  # src, tgt, r(*strata)

    def merge(self, other: Plan) -> Plan:
        mult = dict(self.multipliers)
        for bit, m in other.multipliers.items():
            mult[bit] = mult[bit] * m if bit in mult else m
        return Plan(mult, self.referrals + other.referrals)


class _Ctx:
    """Where a step sits in the config, for one-line errors."""

    def __init__(self, layout: Layout, source: str, key: str) -> None:
        self.layout, self.source, self.key = layout, source, key

    def fail(self, sub: str, message: str) -> InputError:
        key = f"{self.key}.{sub}" if sub else self.key
        return InputError(f"{self.source}: key '{key}': {message}")

    def check_list(self, sub: str, name: str, allowed: Sequence[str], role: str) -> None:
        if name not in allowed:
            if name in self.layout.lists:
                return_msg = f"list '{name}' is not {role} ({role} lists: {', '.join(allowed) or 'none'})"
            else:
                return_msg = (
                    f"unknown list '{name}'{did_you_mean(name, allowed)} ({role} lists: {', '.join(allowed) or 'none'})"
                )
            raise self.fail(sub, return_msg)

    def mask(self, selector: StrataSelector) -> np.ndarray:
        """Boolean (*strata) array: True where the step applies."""
        lay = self.layout
        out = np.ones(lay.shape, dtype=bool)
        for dim, levels in selector.items():
            if dim not in lay.strata:
                dims = ", ".join(lay.strata) or "none: the data are not stratified"
                raise self.fail(
                    f"strata.{dim}",
                    f"unknown stratum dimension '{dim}'{did_you_mean(dim, lay.strata)} (dimensions: {dims})",
                )
            if not levels:
                raise self.fail(f"strata.{dim}", "empty list of levels")
            known = lay.strata[dim]
            for level in levels:
                if str(level) not in known:
                    raise self.fail(
                        f"strata.{dim}",
                        f"unknown level '{level}'{did_you_mean(str(level), known)} (levels: {', '.join(known)})",
                    )
            axis = list(lay.strata).index(dim)
            hit = np.isin(np.array(known), [str(v) for v in levels])
            shape = [1] * len(lay.shape)
            shape[axis] = len(known)
            out = out & hit.reshape(shape)
        return out


# ----------------------------------------------------------------------------- compile
def _chat_reach(step: ChatReach, ctx: _Ctx) -> Plan:
    lay = ctx.layout
    if not lay.anonymous:
        raise ctx.fail(
            "kind",
            "chat_reach needs an anonymous list (the chat); this model has none (set [roles] anonymous)",
        )
    name = step.list
    if name is None:
        if len(lay.anonymous) > 1:
            raise ctx.fail("list", f"several anonymous lists ({', '.join(lay.anonymous)}): name one")
        name = lay.anonymous[0]
    ctx.check_list("list", name, lay.anonymous, "anonymous")
    mult = np.where(ctx.mask(step.strata), step.multiplier, 1.0)
    return Plan({lay.bit(name): mult})


def _register_detection(step: RegisterDetection, ctx: _Ctx) -> Plan:
    lay = ctx.layout
    mask = ctx.mask(step.strata)
    plan = Plan()
    for name, m in step.multipliers.items():
        ctx.check_list(f"multipliers.{name}", name, lay.register, "a register")
        if not (np.isfinite(m) and m >= 0):
            raise ctx.fail(f"multipliers.{name}", f"multiplier must be >= 0, got {m}")
        plan = plan.merge(Plan({lay.bit(name): np.where(mask, m, 1.0)}))
    return plan


def _referral(step: Referral, ctx: _Ctx) -> Plan:
    lay = ctx.layout
    if not lay.anonymous:
        raise ctx.fail(
            "kind",
            "referral needs an anonymous list (the chat) to refer from; this model has none (set [roles] anonymous)",
        )
    target = step.to or lay.referral_to
    if target is None:
        if len(lay.register) != 1:
            raise ctx.fail(
                "to",
                f"several register lists ({', '.join(lay.register)}): name the one "
                "referrals enter (or set [roles] referral_to)",
            )
        target = lay.register[0]
    ctx.check_list("to", target, lay.register, "a register")
    sources = step.source or list(lay.anonymous)
    for i, name in enumerate(sources):
        ctx.check_list(f"source.{i}", name, lay.anonymous, "anonymous")
    idx = np.arange(2 ** len(lay.lists))
    reg_bits = sum(lay.bit(n) for n in lay.register)
    src_bits = sum(lay.bit(n) for n in sources)
    src = idx[((idx & reg_bits) == 0) & ((idx & src_bits) != 0)]
    tgt = src | lay.bit(target)
    prob = np.where(ctx.mask(step.strata), step.probability, 0.0)
    return Plan(referrals=((src, tgt, prob),))


def _targeted(step: TargetedOutreach, ctx: _Ctx) -> Plan:
    raise ctx.fail(
        "kind",
        'targeted_outreach needs the forward model of people (a kind = "netherlands" '
        "baseline), which knows the chat's groups",
    )


def _combination(step: Combination, ctx: _Ctx) -> Plan:
    plan = Plan()
    for i, sub in enumerate(step.steps):
        plan = plan.merge(_compile_one(sub, _Ctx(ctx.layout, ctx.source, f"{ctx.key}.steps.{i}")))
    return plan


@dataclass(frozen=True)
class Kind:
    """One registry entry: parameters, compiler, and a plain statement of what it changes."""

    model: type[Strict]
    compile: Callable[..., Plan]
    changes: str


REGISTRY: dict[str, Kind] = {
    "chat_reach": Kind(
        ChatReach,
        _chat_reach,
        "P(reach the chat | pattern on the other lists) x multiplier, capped at 1; "
        "the register pattern is kept, so registrations do not change by themselves.",
    ),
    "register_detection": Kind(
        RegisterDetection,
        _register_detection,
        "P(on register list L | pattern on the other lists) x multiplier per "
        "list, capped at 1 (better detection by one reporting organisation).",
    ),
    "referral": Kind(
        Referral,
        _referral,
        "a share of the chat's contacts on no register list also enter register list "
        "'to'; nobody new is reached, more are registered.",
    ),
    "targeted_outreach": Kind(
        TargetedOutreach,
        _targeted,
        "the chat's findability x multiplier within one group the chat reports (e.g. "
        "'parents'); the group's share comes from the chat's composition and a "
        "representativeness prior (forward model of people only).",
    ),
    "combination": Kind(
        Combination,
        _combination,
        "its steps together: findability first (multipliers multiply), then referrals in the order listed.",
    ),
}


def _compile_one(step, ctx: _Ctx) -> Plan:
    return REGISTRY[step.kind].compile(step, ctx)


def compile_plan(steps: Sequence, layout: Layout, source: str = "scenario", key: str = "interventions") -> Plan:
    """Check ``steps`` against ``layout`` (lists, roles, strata) and compile them to a Plan."""
    plan = Plan()
    for i, step in enumerate(steps):
        plan = plan.merge(_compile_one(step, _Ctx(layout, source, f"{key}.{i}")))
    return plan


def parse_interventions(data: list, source: str = "scenario") -> list:
    """Validate a list of raw intervention tables (dicts) into parameter models."""
    return validate_with(
        list[Intervention], data, source, prefix="interventions", tags=tuple(REGISTRY), tag_noun="intervention"
    )


# ----------------------------------------------------------------------------- apply
def bit_view(arr: np.ndarray, bit: int) -> np.ndarray:
    """View of (..., 2**K) as (..., 2**K / (2 bit), 2, bit): axis -2 is the list's 0/1."""
    n = arr.shape[-1]
    return arr.reshape(*arr.shape[:-1], n // (2 * bit), 2, bit)


def _boost_one(prob: np.ndarray, bit: int, mult: np.ndarray) -> np.ndarray:
    """One list's findability x ``mult`` (per stratum), without division.

    Mass moving onto the list from pattern x (not on it): min(P(x), (m - 1) P(x + list)), i.e.
    P(x) times the extra-finding probability of the module docstring; mass leaving it (m < 1):
    (1 - m) P(x + list). With m = 1 both are exactly 0, so nothing changes, bit for bit.
    """
    prob = np.ascontiguousarray(prob)
    view = bit_view(prob, bit)
    p_off, p_on = view[..., 0, :], view[..., 1, :]
    m = np.asarray(mult, dtype=np.float64)[None, ..., None, None]
    moved = np.minimum(p_off, np.maximum(m - 1.0, 0.0) * p_on)
    if np.any(m < 1.0):
        moved = moved - np.clip(1.0 - m, 0.0, 1.0) * p_on
    out = np.empty_like(prob)
    out_view = bit_view(out, bit)
    np.subtract(p_off, moved, out=out_view[..., 0, :])
    np.add(p_on, moved, out=out_view[..., 1, :])
    return out


def _boost_many(prob: np.ndarray, boosts: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """Several lists at once: independent extra findings given the baseline pattern.

    For each subset S of the boosted lists, P(x) times the probability that exactly the lists
    in S flip (each with its own probability, computed from the baseline) moves to x XOR S.
    """
    idx = np.arange(prob.shape[-1])
    flips = []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for bit, mult in boosts:
            m = np.asarray(mult, dtype=np.float64)[None, ..., None]
            on = (idx & bit) != 0
            partner = prob[..., idx ^ bit]
            ratio = np.divide(partner, prob, out=np.zeros_like(prob), where=prob > 0)
            up = np.where((m - 1.0) * partner >= prob, 1.0, np.clip((m - 1.0) * ratio, 0.0, 1.0))
            down = np.broadcast_to(np.clip(1.0 - m, 0.0, 1.0), up.shape)
            flips.append((bit, np.where(on, down, up)))
    out = None
    for subset in range(2 ** len(flips)):
        weight = None
        xor = 0
        for j, (bit, flip) in enumerate(flips):
            chosen = (subset >> j) & 1
            term = flip if chosen else 1.0 - flip
            weight = term if weight is None else weight * term
            xor |= bit if chosen else 0
        contrib = prob * weight
        if xor:
            contrib = contrib[..., idx ^ xor]
        out = contrib if out is None else out + contrib
    return out


def apply_plan(prob: np.ndarray, plan: Plan) -> np.ndarray:
    """Apply a compiled plan to pattern probabilities of shape (sample, *strata, 2**K).

    Returns a new array (the input is never modified). See the module docstring for the rule.
    """
    boosts = [(bit, m) for bit, m in sorted(plan.multipliers.items(), key=lambda kv: kv[0]) if not np.all(m == 1.0)]
    out = prob
    if len(boosts) == 1:
        out = _boost_one(prob, *boosts[0])
    elif boosts:
        out = _boost_many(prob, boosts)
    if plan.referrals:
        out = np.array(out, copy=True)
        for src, tgt, r in plan.referrals:
            if np.all(r == 0.0):
                continue
            moved = out[..., src] * np.asarray(r, dtype=np.float64)[None, ..., None]
            out[..., src] -= moved
            out[..., tgt] += moved
    return out


def apply(
    draws: CaptureDraws, steps: Sequence, source: str = "scenario", referral_to: str | None = None
) -> CaptureDraws:
    """CaptureDraws under ``steps`` (parameter models or raw dicts); N is never changed."""
    if steps and isinstance(steps[0], dict):
        steps = parse_interventions(list(steps), source)
    if not steps:
        return draws
    layout = Layout.of(draws, referral_to)
    plan = compile_plan(steps, layout, source)
    prob = draws.pattern_prob.transpose(SAMPLE_DIM, *draws.strata, PATTERN_FULL_DIM)
    new = apply_plan(prob.values, plan)
    return replace(draws, pattern_prob=xr.DataArray(new, dims=prob.dims, coords=prob.coords))


def describe(steps: Sequence) -> list[str]:
    """One plain line per step, for reports."""
    lines = []
    for step in steps:
        if step.kind == "combination":
            inner = "; ".join(describe(step.steps))
            lines.append(f"{step.label or 'combination'}: {inner}")
            continue
        where = ""
        if step.strata:
            where = " in " + ", ".join(f"{d} = {'/'.join(map(str, v))}" for d, v in step.strata.items())
        if step.kind == "chat_reach":
            text = f"chat reach x{step.multiplier:g}"
        elif step.kind == "targeted_outreach":
            text = f"chat reach x{step.multiplier:g} for group '{step.group}'"
        elif step.kind == "referral":
            text = f"referral of {100 * step.probability:g}% of unregistered chat contacts"
            text += f" to {step.to}" if step.to else ""
        else:
            text = "register detection " + ", ".join(f"{k} x{v:g}" for k, v in step.multipliers.items())
        lines.append(f"{step.label + ': ' if step.label else ''}{text}{where}")
    return lines
