"""Exact likelihood of linked lists plus one list without linkage (the anonymous chat).

Model (Poisson, per stratum): log mu(x, a) = loglinear(x) + a * (alpha + theta * 1[x != 0]),
x the capture pattern over the linked lists, a membership of the anonymous list. Collapse the
linked lists into "registered" (on any linked list): per stratum the 2 x 2 table of
(registered, anonymous) has independent Poisson cells with means

    lam10 = sum_{x != 0} mu(x)          lam11 = lam10 * exp(alpha + theta)
    lam00 = mu(0)                       lam01 = lam00 * exp(alpha)

and, given the number registered, the linked patterns are multinomial with probabilities
mu(x) / lam10 (the loglinear part). Nothing links the anonymous list to the others, so the
overlap cell k = n11 is latent. Every observation is a sum of independent Poisson cells:

* linked pattern counts of a stratum (-> the multinomial part plus the registered count n),
* the registered count of a stratum (``reg``) or of a whole unit (``regp``: summed over groups),
* the anonymous total of a stratum (``chat``) or of a unit (``chatp``),
* known-elsewhere counts of a unit: exact (``kex``: the number of anonymous members on a
  linked list) or a self-report with mismatch (``kmis``): R = Bin(k, s) + Bin(T - k, f), s the
  chance that a registered member says "known to police or care", f the chance that an
  unregistered one does, with Beta priors integrated out exactly (a sum of two Beta-binomials:
  a fixed function of k, computed once). R may be known only as a range (a rounded percentage).

The likelihood sums the latent overlaps out exactly: per group g a vector over k_g,
f_g(k) = Pois(k; lam11) * [Pois(T_g - k; lam01)] * [Pois(n_g - k; lam10)]; the groups of a unit
are convolved (their overlaps add up), and the unit-level factors h(k) of the summed overlap
multiply in: L_unit = sum_k (f_1 * ... * f_G)(k) h(k). With exact K and one group this is
Pois(K; lam11) Pois(n - K; lam10) Pois(T - K; lam01): the closed form. No discrete sampling.

Every function takes an array namespace ``xp`` (:data:`NP` or :data:`PT`) so that the same code
builds the PyTensor graph that NUTS samples and the NumPy arrays used for the posterior mode and
for drawing the latent cells afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

BIG = 1e10  # log-weight of impossible grid cells (exp(-BIG) == 0, gradients stay finite)


@dataclass(frozen=True)
class _Ops:
    name: str
    exp: Any
    log: Any
    gammaln: Any
    softplus: Any
    logsumexp: Any
    take: Any
    where: Any
    stack: Any
    sqrt: Any = None
    expm1: Any = None
    abs: Any = None


def _np_softplus(x):
    return np.logaddexp(0.0, x)


NP = _Ops(
    "numpy",
    np.exp,
    np.log,
    special.gammaln,
    _np_softplus,
    lambda x, axis: special.logsumexp(x, axis=axis),
    np.take,
    np.where,
    np.stack,
    np.sqrt,
    np.expm1,
    np.abs,
)


def _pt_ops() -> _Ops:
    import pytensor.tensor as pt
    from pytensor.tensor.math import logsumexp

    return _Ops(
        "pytensor",
        pt.exp,
        pt.log,
        pt.gammaln,
        pt.softplus,
        lambda x, axis: logsumexp(x, axis=axis),
        pt.take,
        pt.switch,
        pt.stack,
        pt.sqrt,
        pt.expm1,
        pt.abs,
    )


# ------------------------------------------------------------------------------ layout
def prepare_arrays(
    obs: dict, n_groups: int, mismatch: tuple[float, float, float, float] = (9.0, 1.0, 2.0, 8.0)
) -> tuple[dict, dict]:
    """Precompute every data-only array of the likelihood, unit by unit (own grid per unit).

    ``obs`` holds per-unit observations (NaN-free, with 0/1 weights): reg_n, reg_w, chat_T,
    chat_w (U, G); regp_n, regp_w, chatp_T, chatp_w, kex, kex_w, kmis_w, kmis_T, kmis_lo,
    kmis_hi (U,); link_y (U, G, P), link_w (U, G). Array names are prefixed 'u<i>.'.
    A unit's ``mode``: 'none' (nothing observed), 'product' (no unit-level observation: the
    groups factorise), 'pooled' (no group-level observation: the summed overlap is Poisson) or
    'conv' (group and unit observations: the groups' overlaps are convolved).
    """
    n_units = obs["reg_n"].shape[0]
    arrays: dict[str, np.ndarray] = {"link_y": obs["link_y"].astype(float), "link_w": obs["link_w"].astype(float)}
    units = []
    for u in range(n_units):
        o = {key: np.asarray(v)[u] for key, v in obs.items() if key not in ("link_y", "link_w")}
        arr, info = _unit_arrays(o, n_groups, mismatch)
        arrays.update({f"u{u}.{key}": value for key, value in arr.items()})
        units.append(info)
    static = {
        "n_groups": n_groups,
        "units": units,
        "has_mismatch": any(info["mismatch"] for info in units),
        "has_patterns": bool(np.any(obs["link_w"] > 0)),
        "grid": max(info["grid"] for info in units),
        "obs": {key: np.asarray(v) for key, v in obs.items()},
    }
    return arrays, static


def _unit_arrays(o: dict, n_groups: int, mismatch: tuple[float, float, float, float]) -> tuple[dict, dict]:
    unit_bound = np.inf
    for w, v in (("regp_w", "regp_n"), ("chatp_w", "chatp_T"), ("kex_w", "kex"), ("kmis_w", "kmis_T")):
        if o[w] > 0:
            unit_bound = min(unit_bound, float(o[v]))
    group_bound = np.full(n_groups, unit_bound)
    for w, v in (("reg_w", "reg_n"), ("chat_w", "chat_T")):
        group_bound = np.where(o[w] > 0, np.minimum(group_bound, o[v]), group_bound)
    free = ~np.isfinite(group_bound)
    group_bound = np.where(free, 0.0, group_bound)
    has_h = bool(np.isfinite(unit_bound))
    split = bool(np.any((o["reg_w"] > 0) | (o["chat_w"] > 0)))
    if free.all():
        mode = "none"
    elif not has_h:
        mode = "product"
    elif not split or n_groups == 1:
        mode = "pooled" if not split else "conv"
    else:
        mode = "conv"
    if has_h:
        unit_bound = min(unit_bound, float(group_bound.sum()) if split else unit_bound)
    big_b = int(max(1, unit_bound if has_h else 0, group_bound.max()))
    k = np.arange(big_b + 1, dtype=float)

    def rest(n):
        r = np.maximum(np.asarray(n, float)[..., None] - k, 0.0)
        return r, special.gammaln(r + 1.0)

    rc, lg_rc = rest(o["chat_T"])
    rr, lg_rr = rest(o["reg_n"])
    rcp, lg_rcp = rest(o["chatp_T"])
    rrp, lg_rrp = rest(o["regp_n"])
    gmask = np.where(k <= group_bound[:, None], 0.0, -BIG)
    gmask = np.where(free[:, None] & (k > 0), -BIG, gmask)
    umask = np.where(k <= unit_bound, 0.0, -BIG) if has_h else np.zeros_like(k)
    if o["kex_w"] > 0:
        umask = np.where(k != o["kex"], -BIG, umask)
    arr = {
        "k": k,
        "lg_k": special.gammaln(k + 1.0),
        "free_w": free.astype(float),
        "gmask": gmask,
        "chat_w": o["chat_w"].astype(float),
        "rest_chat": rc,
        "lg_rest_chat": lg_rc,
        "reg_w": o["reg_w"].astype(float),
        "rest_reg": rr,
        "lg_rest_reg": lg_rr,
        "chatp_w": np.asarray(float(o["chatp_w"])),
        "rest_chatp": rcp,
        "lg_rest_chatp": lg_rcp,
        "regp_w": np.asarray(float(o["regp_w"])),
        "rest_regp": rrp,
        "lg_rest_regp": lg_rrp,
        "umask": umask,
    }
    if mode == "conv" and n_groups > 1:
        kk, ii = np.meshgrid(np.arange(big_b + 1), np.arange(big_b + 1), indexing="ij")
        arr["conv_idx"] = np.clip(kk - ii, 0, None).astype(np.int64)
        arr["conv_mask"] = np.where(ii <= kk, 0.0, -BIG)
        # Hankel form of the last convolution step: H[i, j] = h(i + j) (0 beyond the grid)
        arr["hankel_idx"] = np.clip(ii + kk, 0, big_b).ravel().astype(np.int64)
        arr["hankel_on"] = (ii + kk <= big_b).astype(float)
    has_mis = bool(o["kmis_w"] > 0)
    if has_mis:
        arr["mis_logp"] = mismatch_logp(k, int(o["kmis_lo"]), int(o["kmis_hi"]), float(o["kmis_T"]), mismatch)
    return arr, {"mode": mode, "mismatch": has_mis, "grid": big_b + 1}


def log_betabinom(x, n, a: float, b: float):
    """log Beta-binomial pmf (-inf outside 0..n)."""
    x, n = np.asarray(x, float), np.asarray(n, float)
    ok = (x >= 0) & (x <= n)
    xc, nc = np.where(ok, x, 0.0), np.maximum(n, 0.0)
    val = (
        special.gammaln(nc + 1)
        - special.gammaln(xc + 1)
        - special.gammaln(np.maximum(nc - xc, 0) + 1)
        + special.betaln(xc + a, np.maximum(nc - xc, 0) + b)
        - special.betaln(a, b)
    )
    return np.where(ok, val, -np.inf)


def mismatch_joint(k, lo: int, hi: int, total: float, prior: tuple[float, float, float, float]) -> np.ndarray:
    """log P(l of the k registered and r - l of the T - k others say 'known'), (B+1, L+1, W)."""
    a_s, b_s, a_f, b_f = prior
    kk = np.asarray(k, float)[:, None, None]
    ll = np.arange(hi + 1, dtype=float)[None, :, None]
    rr = np.arange(lo, hi + 1, dtype=float)[None, None, :]
    return log_betabinom(ll, kk, a_s, b_s) + log_betabinom(rr - ll, total - kk, a_f, b_f)


def mismatch_logp(k, lo: int, hi: int, total: float, prior: tuple[float, float, float, float]) -> np.ndarray:
    """log P(R in [lo, hi] | k registered among the T anonymous members), s and f integrated out.

    R = Bin(k, s) + Bin(T - k, f) with s ~ Beta(a_s, b_s), f ~ Beta(a_f, b_f): a sum of two
    independent Beta-binomials. Data only (a function of k), so it costs nothing per gradient.
    """
    joint = mismatch_joint(k, lo, hi, total, prior)
    out = special.logsumexp(joint.reshape(joint.shape[0], -1), axis=-1)
    return np.maximum(out, -BIG)


# ------------------------------------------------------------------------------ pieces
def log_pois(k, lg_k, log_lam, ops: _Ops):
    """log Poisson pmf with data k and lgamma(k+1) precomputed."""
    return k * log_lam - ops.exp(log_lam) - lg_k


def cell_log_means(coef, design, n_link_coef: int, theta, ops: _Ops):
    """log lam00, lam10, lam01, lam11 (each (..., U, G)) and log mu(x) (..., U, G, 2^K)."""
    log_mu = coef[..., :n_link_coef] @ design.T
    alpha = coef[..., n_link_coef]
    log_reg = ops.logsumexp(log_mu[..., 1:], axis=-1)
    log00 = log_mu[..., 0]
    th = theta[..., None, None] if getattr(theta, "ndim", 0) else theta
    return {"00": log00, "10": log_reg, "01": log00 + alpha, "11": log_reg + alpha + th, "mu": log_mu}


def _unit_means(lm: dict, u: int) -> dict:
    return {key: lm[key][..., u, :] for key in ("00", "10", "01", "11")}


def group_factor(lmu: dict, a: dict, ops: _Ops):
    """log f_g(k) over the unit's grid: (..., G, B+1)."""
    out = log_pois(a["k"], a["lg_k"], lmu["11"][..., None], ops)
    out = out + a["chat_w"][:, None] * log_pois(a["rest_chat"], a["lg_rest_chat"], lmu["01"][..., None], ops)
    out = out + a["reg_w"][:, None] * log_pois(a["rest_reg"], a["lg_rest_reg"], lmu["10"][..., None], ops)
    # a group with no observation bounding its overlap integrates to one: only k = 0, weight 1
    return (1.0 - a["free_w"][:, None]) * out + a["gmask"]


def log_conv(x, y, a: dict, ops: _Ops):
    """(x * y)(k) = log sum_i exp(x(i) + y(k - i)), k = 0..B, over the last axis."""
    shifted = ops.take(y, a["conv_idx"], axis=-1)  # (..., B+1 [k], B+1 [i]) = y(k - i)
    return ops.logsumexp(x[..., None, :] + shifted + a["conv_mask"], axis=-1)


def overlap_chain(lmu: dict, a: dict, info: dict, n_groups: int, ops: _Ops) -> tuple[list, object]:
    """Per-group factors f (..., G, B+1) and the running convolutions [F_1, ..., F_G]."""
    f = group_factor(lmu, a, ops)
    if info["mode"] == "product":
        return [], f
    if info["mode"] == "pooled":
        total = ops.logsumexp(lmu["11"], axis=-1)[..., None]
        return [log_pois(a["k"], a["lg_k"], total, ops) + a["umask"]], f
    chain = [f[..., 0, :]]
    for g in range(1, n_groups):
        chain.append(log_conv(chain[-1], f[..., g, :], a, ops))
    return chain, f


def unit_factor(lmu: dict, params: dict, a: dict, info: dict, ops: _Ops):
    """log h(k) of the summed overlap of the unit: (..., B+1)."""
    log01 = ops.logsumexp(lmu["01"], axis=-1)[..., None]  # summed over the groups
    log10 = ops.logsumexp(lmu["10"], axis=-1)[..., None]
    out = a["chatp_w"] * log_pois(a["rest_chatp"], a["lg_rest_chatp"], log01, ops)
    out = out + a["regp_w"] * log_pois(a["rest_regp"], a["lg_rest_regp"], log10, ops)
    out = out + a["umask"]
    if info["mismatch"]:
        out = out + a["mis_logp"]
    return out


def multinomial_part(lm: dict, a: dict, static: dict, ops: _Ops):
    """Sum over strata of n(x) log(mu(x) / lam_reg): the linked lists' own pattern information."""
    if not static["has_patterns"]:
        return 0.0
    logp = lm["mu"][..., 1:] - lm["10"][..., None]
    per = (a["link_y"] * logp).sum(axis=-1) * a["link_w"]
    return per.sum(axis=(-1, -2))


def unit_arrays(a: dict, u: int) -> dict:
    prefix = f"u{u}."
    return {key[len(prefix) :]: value for key, value in a.items() if key.startswith(prefix)}


def hankel_sum(x, y, h, a: dict, ops: _Ops):
    """log sum_{i,j} exp(x(i) + y(j) + h(i + j)) for 1-D x, y, h (the graph's form).

    Computed in probability space after subtracting each vector's maximum: two matrix-vector
    products with the Hankel matrix H[i, j] = exp(h(i + j)), far cheaper (with its gradient)
    than a log-space convolution. Terms below exp(-700) of the largest one underflow to zero.
    """
    if ops is NP:  # batched over leading axes
        mx, my, mh = (v.max(axis=-1, keepdims=True) for v in (x, y, h))
        ex, ey, eh = np.exp(x - mx), np.exp(y - my), np.exp(h - mh)
        n = a["hankel_on"].shape[0]
        hank = eh[..., a["hankel_idx"]].reshape(*eh.shape[:-1], n, n) * a["hankel_on"]
        with np.errstate(divide="ignore"):  # an all-underflow sum is log 0 = -inf, on purpose
            return np.log(np.einsum("...i,...ij,...j->...", ex, hank, ey)) + (mx + my + mh)[..., 0]
    mx, my, mh = x.max(), y.max(), h.max()
    ex, ey, eh = ops.exp(x - mx), ops.exp(y - my), ops.exp(h - mh)
    n = a["hankel_on"].shape[0]
    hank = eh[a["hankel_idx"]].reshape((n, n)) * a["hankel_on"]
    return ops.log((ex[:, None] * hank).sum(axis=0) @ ey) + mx + my + mh


def log_likelihood(coef, params: dict, a: dict, static: dict, design, n_link_coef: int, ops: _Ops):
    """Total log-likelihood (up to a constant); coef (U, G, C) for the graph, (..., U, G, C) in NumPy."""
    lm = cell_log_means(coef, design, n_link_coef, params["theta"], ops)
    total = multinomial_part(lm, a, static, ops)
    n_groups = static["n_groups"]
    for u, info in enumerate(static["units"]):
        if info["mode"] == "none":
            continue
        au, lmu = unit_arrays(a, u), _unit_means(lm, u)
        if info["mode"] == "conv" and n_groups > 1:
            f = group_factor(lmu, au, ops)
            first = f[..., 0, :]
            for g in range(1, n_groups - 1):
                first = log_conv(first, f[..., g, :], au, ops)
            h = unit_factor(lmu, params, au, info, ops)
            total = total + hankel_sum(first, f[..., n_groups - 1, :], h, au, ops)
            continue
        chain, f = overlap_chain(lmu, au, info, n_groups, ops)
        if info["mode"] == "product":
            total = total + ops.logsumexp(f, axis=-1).sum(axis=-1)
        else:
            total = total + ops.logsumexp(chain[-1] + unit_factor(lmu, params, au, info, ops), axis=-1)
    return total


# ------------------------------------------------------------------------------ latent draws
def _gumbel_argmax(logw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.argmax(logw + rng.gumbel(size=logw.shape), axis=-1)


def draw_cells(
    coef: np.ndarray, params: dict, a: dict, static: dict, design, n_link_coef: int, rng: np.random.Generator
) -> dict:
    """Posterior draws of the latent 2 x 2 cells of every stratum, given parameter draws.

    ``coef`` (n, U, G, C) and ``params`` arrays (n,) are posterior draws; returns integer
    arrays (n, U, G) 'c00', 'c10', 'c01', 'c11' drawn exactly from their conditional
    distribution given the data and the parameters.
    """
    lm = cell_log_means(coef, design, n_link_coef, params["theta"], NP)
    n, n_units, n_groups = coef.shape[:3]
    lam = {key: np.exp(lm[key]) for key in ("00", "10", "01", "11")}
    k = np.zeros((n, n_units, n_groups), dtype=np.int64)
    for u, info in enumerate(static["units"]):
        au, lmu = unit_arrays(a, u), _unit_means(lm, u)
        if info["mode"] == "none":
            continue
        chain, f = overlap_chain(lmu, au, info, n_groups, NP)
        if info["mode"] == "product":
            k[:, u] = _gumbel_argmax(f, rng)
            continue
        k_tot = _gumbel_argmax(chain[-1] + unit_factor(lmu, params, au, info, NP), rng)  # (n,)
        if info["mode"] == "pooled":
            probs = lam["11"][:, u] / lam["11"][:, u].sum(axis=-1, keepdims=True)
            k[:, u] = rng.multinomial(k_tot, probs)
            continue
        rest = k_tot.copy()
        grid = au["k"].astype(np.int64)
        for g in range(n_groups - 1, 0, -1):
            # k_g | rest  ∝  f_g(k_g) F_{g-1}(rest - k_g)
            back = rest[:, None] - grid
            prev = np.take_along_axis(chain[g - 1], np.clip(back, 0, None), axis=-1)
            logw = f[:, g, :] + np.where(back >= 0, prev, -BIG)
            k[:, u, g] = _gumbel_argmax(logw, rng)
            rest = rest - k[:, u, g]
        k[:, u, 0] = rest
    obs = static["obs"]
    free = np.stack([unit_arrays(a, u)["free_w"] for u in range(n_units)])[None].astype(bool)
    k = np.where(free, rng.poisson(lam["11"]), k)
    c10 = _rest_cells(lam["10"], k, obs["reg_w"], obs["reg_n"], obs["regp_w"], obs["regp_n"], rng)
    c01 = _rest_cells(lam["01"], k, obs["chat_w"], obs["chat_T"], obs["chatp_w"], obs["chatp_T"], rng)
    c00 = rng.poisson(lam["00"])
    return {"c00": c00, "c10": c10, "c01": c01, "c11": k}


def _rest_cells(lam, k, w_split, n_split, w_pool, n_pool, rng) -> np.ndarray:
    """Cells that share an observation with the overlap: observed minus overlap, or drawn."""
    out = rng.poisson(lam)
    split = np.asarray(w_split)[None].astype(bool)
    out = np.where(split, np.asarray(n_split)[None].astype(np.int64) - k, out)
    pooled = np.asarray(w_pool).astype(bool)
    if pooled.any():
        remaining = np.maximum(np.asarray(n_pool)[None].astype(np.int64) - k.sum(axis=-1), 0)
        probs = lam / lam.sum(axis=-1, keepdims=True)
        drawn = rng.multinomial(remaining, probs)
        out = np.where(pooled[None, :, None], drawn, out)
    return out
