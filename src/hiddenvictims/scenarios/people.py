"""A forward model of people: who would reach the chat, who would be registered, who stays hidden.

For every posterior draw, the victims of a stratum (year x age, optionally split by a group such
as "exploited by parents") fall into four cells: on the register only (``n10``), reached by the
chat only (``n01``), on both (``n11``) and on neither (``n00``). Those cells *are* the posterior:
N, coverage of both sources and their dependence, draw by draw. A scenario changes each person's
chances, never the people:

* **chat findability** (multiplier k): a person not yet reached reaches the chat with the
  probability that an intensity k times the present one adds. With reach chances that differ
  between people (a gamma frailty of variance ``v``, the assumption the data cannot check), the
  chance of never being reached at intensity k is ``S_k = (1 + v k L)^(-1/v)`` with L set by
  today's reach ``p``: ``S_1 = 1 - p``; ``v -> 0`` gives ``S_k = (1 - p)^k``. The newly reached
  share of the not-yet-reached is ``1 - S_k / S_1``: smooth, strictly below 1 for any finite k,
  and smaller with more heterogeneity. It is applied separately to the registered and the
  unregistered (each with its own present chat reach), so the dependence between chat and
  register is carried, draw by draw. ``k < 1`` loses chat contacts (share ``1 - p_k / p``).
* **register detection** (multiplier k): the same rule for the register, separately for chat
  users and non-users.
* **referral** (probability r): of the chat's contacts who are not registered (after
  findability), a share r enters the register.
* **targeted outreach**: chat findability in one group only.

Findability steps act on the baseline cells together (extra findings by chat and register are
independent given a person's baseline cell); referral follows. Nothing is capped: no outcome is
a bound being hit, and every outcome is a smooth function of the scenario and the draw.

Outcomes per draw and stratum (expected numbers given the draw): ``reached_chat``,
``registered``, ``not_registered`` (N minus registered: who stays outside the register),
``hidden`` (on neither list), and their changes: ``newly_reached`` and ``newly_registered``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

#: Outcome names, in report order.
OUTCOMES = ("reached_chat", "registered", "not_registered", "hidden")
#: Names of the changes against baseline that an advisor reads first.
CHANGE_NAMES = {
    "reached_chat": "newly_reached",
    "registered": "newly_registered",
    "not_registered": "change_not_registered",
    "hidden": "change_hidden",
}
CELL_NAMES = ("n00", "n01", "n10", "n11")
SAMPLE = "sample"
GROUP_DIM = "group"
REST = "rest"
ALL = "all"


@dataclass(frozen=True)
class PeopleDraws:
    """Per posterior draw and stratum: the four cells of register x chat.

    ``cells`` has shape (4, sample, *strata) in the order of :data:`CELL_NAMES`; ``strata`` maps
    each stratum dim to its levels (e.g. year, age, group). ``source`` says where the numbers
    came from (a results folder, a fit) and ``derived_probabilities`` whether the capture
    chances were read (p_register, p_chat) or derived from the counts.
    """

    cells: np.ndarray
    strata: dict[str, tuple[str, ...]]
    source: str = ""
    derived_probabilities: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: (2, sample, *strata): p_register and p_chat of the model over the shares the counts
    #: imply (1 where the model gives no chances); scales the present chances of each person.
    scale: np.ndarray | None = None

    @property
    def n_draws(self) -> int:
        return int(self.cells.shape[1])

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.strata.values())

    @property
    def N(self) -> np.ndarray:
        return self.cells.sum(axis=0)

    def thin(self, n: int, seed: int = 0) -> PeopleDraws:
        """At most ``n`` draws, evenly spaced (deterministic; chains stay represented)."""
        if n >= self.n_draws:
            return self
        idx = np.linspace(0, self.n_draws - 1, n).round().astype(int)
        scale = None if self.scale is None else self.scale[:, idx]
        return PeopleDraws(self.cells[:, idx], self.strata, self.source, self.derived_probabilities, self.notes, scale)


# ----------------------------------------------------------------------------- construction
def from_counts(N, registered, chat, both, strata: dict, source: str = "", derived: bool = True) -> PeopleDraws:
    """Cells from N, N_registered, N_anonymous, N_both arrays of shape (sample, *strata)."""
    N, reg, chat, both = (np.asarray(a, dtype=np.float64) for a in (N, registered, chat, both))
    cells = np.stack([N - reg - chat + both, chat - both, reg - both, both])
    if np.any(cells < -1e-9 * np.maximum(N, 1.0)):
        raise ValueError(f"{source or 'posterior'}: negative cell counts (N < registered + chat - both)")
    return PeopleDraws(np.maximum(cells, 0.0), {k: tuple(map(str, v)) for k, v in strata.items()}, source, derived)


def from_posterior(post: xr.Dataset, source: str = "") -> PeopleDraws:
    """Cells from a posterior with N, N_registered, N_anonymous, N_both over (chain, draw, ...).

    The cells (baseline outcomes) are the counts themselves, so an observed count (the chat's
    contacts) stays exactly what was observed. Where the posterior carries per-draw capture
    chances ``p_register`` and ``p_chat`` (the evidence-synthesis model does), a person's present
    chances of being found are those (their ratio to the counts' shares scales the chances of
    every cell); otherwise they are derived: ``p_register = N_registered / N`` and
    ``p_chat = N_anonymous / N``.
    """
    need = ("N", "N_registered", "N_anonymous", "N_both")
    missing = [v for v in need if v not in post]
    if missing:
        raise KeyError(f"{source or 'posterior'}: lacks {', '.join(missing)}")
    strata_dims = [d for d in post["N"].dims if d not in ("chain", "draw")]

    def arr(name: str) -> np.ndarray:
        da = post[name].transpose("chain", "draw", *strata_dims)
        return da.values.reshape(-1, *da.shape[2:]).astype(np.float64)

    n, reg, chat, both = (arr(v) for v in need)
    strata = {d: tuple(str(v) for v in post[d].values) for d in strata_dims}
    out = from_counts(n, reg, chat, both, strata, source, True)
    if "p_register" in post and "p_chat" in post:
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.stack(
                [np.where(reg > 0, n * arr("p_register") / reg, 1.0), np.where(chat > 0, n * arr("p_chat") / chat, 1.0)]
            )
        out = PeopleDraws(out.cells, out.strata, source, False, (), scale)
    return out


def from_capture(draws, source: str = "") -> PeopleDraws:
    """Cells from :class:`~hiddenvictims.core.capture.CaptureDraws` (register lists + one chat)."""
    from ..core.capture import PATTERN_FULL_DIM, SAMPLE_DIM

    prob = draws.pattern_prob.transpose(SAMPLE_DIM, *draws.strata, PATTERN_FULL_DIM).values
    n = draws.N.transpose(SAMPLE_DIM, *draws.strata).values.astype(np.float64)
    k = len(draws.lists)
    idx = np.arange(2**k)

    def bit(name):
        return 1 << (k - 1 - draws.lists.index(name))

    reg = sum(bit(x) for x in draws.register)
    chat = sum(bit(x) for x in draws.anonymous)
    on_r, on_c = (idx & reg) != 0, (idx & chat) != 0
    cells = np.stack(
        [
            n * prob[..., ~on_r & ~on_c].sum(-1),
            n * prob[..., ~on_r & on_c].sum(-1),
            n * prob[..., on_r & ~on_c].sum(-1),
            n * prob[..., on_r & on_c].sum(-1),
        ]
    )
    strata = {d: tuple(str(v) for v in draws.N[d].values) for d in draws.strata}
    return PeopleDraws(cells, strata, source, True)


# ----------------------------------------------------------------------------- groups
def split_groups(people: PeopleDraws, name: str, chat_share: np.ndarray, pop_share: np.ndarray) -> PeopleDraws:
    """Add a ``group`` dim (``name``, rest): each stratum split by the group's share.

    ``chat_share`` and ``pop_share`` have shape (sample,) or broadcast to (sample, *strata): the
    group's share among the chat's contacts and among all victims. Within a group the chance of
    registration given chat status is the stratum's (the register publishes no group figures):
    an assumption stated with every result.
    """
    n00, n01, n10, n11 = people.cells
    extra = (slice(None),) + (None,) * len(people.shape)
    s = np.asarray(chat_share, dtype=np.float64)
    pi = np.asarray(pop_share, dtype=np.float64)
    if s.ndim == 1:
        s, pi = s[extra], pi[extra]
    chat, N = n01 + n11, n00 + n01 + n10 + n11
    not_chat = N - chat
    with np.errstate(divide="ignore", invalid="ignore"):
        r_chat = np.where(chat > 0, n11 / chat, 0.0)
        r_none = np.where(not_chat > 0, n10 / not_chat, 0.0)
    out = []
    for share_c, share_p in ((s, pi), (1.0 - s, 1.0 - pi)):
        c_g = chat * share_c
        rest_g = np.maximum(N * share_p - c_g, 0.0)
        out.append(np.stack([rest_g * (1 - r_none), c_g * (1 - r_chat), rest_g * r_none, c_g * r_chat]))
    cells = np.stack(out, axis=-1)
    scale = None
    if people.scale is not None:
        scale = np.repeat(people.scale[..., None], 2, axis=-1)
    return PeopleDraws(
        cells,
        {**people.strata, GROUP_DIM: (name, REST)},
        people.source,
        people.derived_probabilities,
        people.notes,
        scale,
    )


# ----------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class PeoplePlan:
    """Per-stratum scenario parameters (arrays broadcast to the strata shape)."""

    chat: np.ndarray | float = 1.0  # findability multiplier of the chat
    register: np.ndarray | float = 1.0  # detection multiplier of the register
    referral: np.ndarray | float = 0.0  # share of unregistered chat contacts referred
    heterogeneity: float = 0.0  # frailty variance v of reach chances (assumption)

    def merge(self, other: PeoplePlan) -> PeoplePlan:
        return PeoplePlan(
            np.asarray(self.chat) * other.chat,
            np.asarray(self.register) * other.register,
            1.0 - (1.0 - np.asarray(self.referral)) * (1.0 - np.asarray(other.referral)),
            max(self.heterogeneity, other.heterogeneity),
        )


def survival(p: np.ndarray, k, v: float) -> np.ndarray:
    """P(not reached) at k times today's intensity, given today's reach p (gamma frailty v)."""
    p = np.clip(p, 0.0, 1.0 - 1e-15)
    if v <= 0.0:
        return np.exp(k * np.log1p(-p))
    lam = np.expm1(-v * np.log1p(-p)) / v
    return np.exp(-np.log1p(v * k * lam) / v)


def _extra(p: np.ndarray, k, v: float) -> np.ndarray:
    """Share of the not-yet-found found in addition at multiplier k >= 1 (0 where k <= 1)."""
    k = np.asarray(k, dtype=np.float64)
    if v <= 0.0:  # S_k / S_1 = (1 - p)^(k - 1): one exp
        return -np.expm1(np.maximum(k - 1.0, 0.0) * np.log1p(-np.clip(p, 0.0, 1.0 - 1e-15)))
    s1 = survival(p, 1.0, v)
    sk = survival(p, np.maximum(k, 1.0), v)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s1 > 0, 1.0 - sk / s1, 0.0)


def _kept(p: np.ndarray, k, v: float) -> np.ndarray:
    """Share of today's found still found at multiplier k < 1 (1 where k >= 1)."""
    k = np.asarray(k, dtype=np.float64)
    pk = 1.0 - survival(p, np.minimum(k, 1.0), v)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, pk / p, 1.0)


def _ratio(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / b, 0.0)


def apply_people(cells: np.ndarray, plan: PeoplePlan, scale: np.ndarray | None = None) -> np.ndarray:
    """Cells (4, ...) under ``plan``; parameters broadcast against cells[0]. Pure.

    ``scale`` (2, ...): the model's p_register and p_chat over the counts' shares, when the
    model gives capture chances (see :func:`from_posterior`)."""
    n00, n01, n10, n11 = cells
    v = plan.heterogeneity
    kc, kr, r = plan.chat, plan.register, np.asarray(plan.referral, dtype=np.float64)
    # present chances, by the other source's status (carries the dependence)
    pc_unreg = _ratio(n01, n00 + n01)
    pc_reg = _ratio(n11, n10 + n11)
    pr_nochat = _ratio(n10, n00 + n10)
    pr_chat = _ratio(n11, n01 + n11)
    if scale is not None:
        sr, sc = scale
        pc_unreg, pc_reg = np.clip(pc_unreg * sc, 0, 1), np.clip(pc_reg * sc, 0, 1)
        pr_nochat, pr_chat = np.clip(pr_nochat * sr, 0, 1), np.clip(pr_chat * sr, 0, 1)
    zero = np.zeros((), dtype=np.float64)

    def pair(p0, p1, k, fn):
        # a multiplier of exactly 1 everywhere changes nothing: skip the work (sweeps of one axis)
        if np.all(np.asarray(k) == 1.0):
            return zero, zero
        return fn(p0, k, v), fn(p1, k, v)

    a0, a1 = pair(pc_unreg, pc_reg, kc, _extra)  # newly reach the chat
    b0, b1 = pair(pr_nochat, pr_chat, kr, _extra)  # newly registered
    # losses when a multiplier is below 1 (a smaller chat / weaker detection)
    lc0 = lc1 = lr0 = lr1 = zero
    if np.any(np.asarray(kc) < 1.0):
        lc0, lc1 = (1.0 - x for x in pair(pc_unreg, pc_reg, kc, _kept))
    if np.any(np.asarray(kr) < 1.0):
        lr0, lr1 = (1.0 - x for x in pair(pr_nochat, pr_chat, kr, _kept))
    # findability: each baseline cell moves independently along the two sources
    m00 = n00 * (1 - a0) * (1 - b0) + n01 * lc0 * (1 - b1) + n10 * (1 - a1) * lr0 + n11 * lc1 * lr1
    m01 = n00 * a0 * (1 - b0) + n01 * (1 - lc0) * (1 - b1) + n10 * a1 * lr0 + n11 * (1 - lc1) * lr1
    m10 = n00 * (1 - a0) * b0 + n01 * lc0 * b1 + n10 * (1 - a1) * (1 - lr0) + n11 * lc1 * (1 - lr1)
    total = n00 + n01 + n10 + n11
    m11 = total - m00 - m01 - m10
    moved = m01 * r
    return np.stack(np.broadcast_arrays(m00, m01 - moved, m10, m11 + moved))


def outcomes(cells: np.ndarray) -> np.ndarray:
    """(outcome, ...) in the order of :data:`OUTCOMES` from cells (4, ...)."""
    n00, n01, n10, n11 = cells
    registered = n10 + n11
    return np.stack([n01 + n11, registered, n00 + n01, n00])


def evaluate(people: PeopleDraws, plan: PeoplePlan | None) -> np.ndarray:
    """(outcome, sample, *strata) under ``plan`` (None: the baseline)."""
    cells = people.cells if plan is None else apply_people(people.cells, plan, people.scale)
    return outcomes(cells)


def upper_bound_hidden_drop(people: PeopleDraws, plan: PeoplePlan) -> np.ndarray:
    """The model's own bound on the fall of the hidden count (sample, *strata).

    Findability can only reach the never-listed at the homogeneous rate (heterogeneity only
    lowers it): ``n00 (1 - (1 - a)(1 - b))`` with the homogeneous extra shares a and b. Referral
    does not change the hidden count (it moves chat contacts onto the register).
    """
    n00, n01, n10, n11 = people.cells
    a = _extra(_ratio(n01, n00 + n01), plan.chat, 0.0)
    b = _extra(_ratio(n10, n00 + n10), plan.register, 0.0)
    return n00 * (1 - (1 - a) * (1 - b))
