"""Label-switching moves for the truncated stick-breaking mixture (exact Metropolis-Hastings).

Why: a truncated stick-breaking prior is not exchangeable in the class labels. Class 1 takes
a share V_1 of everyone, class 2 a share V_2 of the rest, and so on, so the prior (and the
posterior) differs between "the big class is class 1" and "the big class is class 2". Each
order in which the occupied classes sit in the sticks is a separate mode: a class holding 93%
of the population cannot pass one holding 6% by a continuous path, because the weights would
have to become equal on the way. HMC never leaves the order that warm-up ended in, and
tempering does not help, because the barrier is the same at every temperature. The orders
differ in what they allow the *small* classes to do: on the UK 2013 six lists a chain spent
about 30% or 75% of its draws with a class of 0.1-1.5% of people, depending on its order,
and the median of N moved by 1,000 with it. Gibbs samplers of the same model (LCMCR) have the
same problem (Papaspiliopoulos & Roberts 2008); Hastie, Liverani & Richardson (2015,
"Sampling from Dirichlet process mixture models with unknown concentration parameter: mixing
issues in large data implementations") add label-switching moves for it.

The move: pick two classes i != j uniformly at random and exchange them: their capture
probabilities, and their *weights* (not their sticks; the sticks of every class from
min(i, j) on are recomputed so that the weights come out exchanged). The likelihood is a sum
over classes, so it does not change. The map is an involution, and in weight coordinates a
permutation (|det| = 1), so the Metropolis-Hastings ratio is the prior ratio times the
Jacobian of the sticks-to-weights map:

    log a = log prior(s') - log prior(s) + log|dw/d log s|(s) - log|dw/d log s|(s'),

with log|dw/d log s| = sum_k [log s_k - s_k - sum_{i<k} s_i] (w_k = (1 - e^{-s_k}) e^{-sum_{i<k} s_i}
is triangular in the sticks). The capture-probability prior is the same for every class, so
only the stick part of the prior enters. The move is compiled (numba) and checked against a
plain numpy version of the same formulas (:func:`relabel_reference`); the caller re-evaluates
the density where a move was accepted (the gradient with respect to the sticks changes).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np


def log_weights_from_sticks(log_s: np.ndarray) -> np.ndarray:
    """Stick-breaking log weights from log s (s_k = -log(1 - V_k)); last axis: K - 1 -> K.

    log w_k = log(1 - e^{-s_k}) - sum_{i<k} s_i: exact in floating point for tiny weights.
    """
    s = np.exp(log_s)
    cum = np.cumsum(s, axis=-1)
    zeros = np.zeros_like(s[..., :1])
    return np.concatenate([np.log(-np.expm1(-s)), zeros], axis=-1) - np.concatenate([zeros, cum], axis=-1)


def sticks_from_log_weights(log_w: np.ndarray) -> np.ndarray:
    """log s of the sticks that give the weights exp(log_w) (last axis: K classes -> K - 1).

    s_k = log T_k - log T_{k+1} with T_k = sum_{i >= k} w_i, i.e. log1p(w_k / T_{k+1}), computed
    in log space so that weights of e^-300 and below keep their sticks.
    """
    tail = np.flip(np.logaddexp.accumulate(np.flip(log_w, axis=-1), axis=-1), axis=-1)
    d = log_w[..., :-1] - tail[..., 1:]  # log(w_k / T_{k+1})
    with np.errstate(divide="ignore"):
        return np.where(d < -30.0, d, np.log(np.logaddexp(0.0, d)))


def log_stick_jacobian(log_s: np.ndarray) -> np.ndarray:
    """log |d(w_1, ..., w_{K-1}) / d(log s_1, ..., log s_{K-1})| per row."""
    s = np.exp(log_s)
    before = np.cumsum(s, axis=-1) - s
    return (log_s - s - before).sum(axis=-1)


def stick_log_prior(log_s: np.ndarray, alpha_shape: float, alpha_rate: float) -> np.ndarray:
    """Log prior density of log s with alpha ~ Gamma(shape, rate) integrated out (as the kernel)."""
    k = log_s.shape[-1] + 1
    return log_s.sum(axis=-1) - (alpha_shape + k - 1) * np.log(alpha_rate + np.exp(log_s).sum(axis=-1))


def relabel(
    x: np.ndarray,
    n_lists: int,
    n_classes: int,
    alpha_shape: float,
    alpha_rate: float,
    tries: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``tries`` label-switching moves on every row of ``x`` (eta row-major, then the K - 1 log s).

    Returns the new rows and how many moves each row accepted. The acceptance does not depend
    on the temperature: only the prior changes. Compiled (numba): in numpy the moves cost more
    than an HMC move on a three-list table. The random numbers are drawn here, in the same order
    as :func:`relabel_reference` draws them.
    """
    p = len(x)
    picks = np.empty((max(tries, 0), 3, p))
    for t in range(tries):
        picks[t, 0] = rng.integers(0, n_classes, size=p)
        picks[t, 1] = rng.integers(1, n_classes, size=p)
        picks[t, 2] = rng.random(p)
    out = np.ascontiguousarray(x, dtype=np.float64).copy()
    accepted = _relabel(out, picks, n_lists, n_classes, float(alpha_shape), float(alpha_rate))
    return out, accepted


@nb.njit(cache=True, error_model="numpy")
def _logaddexp(a: float, b: float) -> float:
    m = max(a, b)
    if m == -np.inf:
        return -np.inf
    return m + math.log1p(math.exp(-abs(a - b)))


@nb.njit(cache=True, error_model="numpy")
def _stick_terms(log_s, a, b):
    """(log prior, log Jacobian) of one row's sticks; see stick_log_prior, log_stick_jacobian."""
    before, jac, lsum = 0.0, 0.0, 0.0
    for k in range(len(log_s)):
        sk = math.exp(log_s[k])
        jac += log_s[k] - sk - before
        before += sk
        lsum += log_s[k]
    return lsum - (a + len(log_s)) * math.log(b + before), jac


@nb.njit(cache=True, error_model="numpy")
def _relabel(x, picks, n_lists, n_classes, a, b):
    """In place on ``x``; ``picks[t]`` holds (class i, offset to class j, uniform) per row."""
    p = x.shape[0]
    n_eta = n_lists * n_classes
    K = n_classes
    accepted = np.zeros(p, dtype=np.int64)
    log_w = np.empty(K)
    tail = np.empty(K)
    new_s = np.empty(K - 1)
    for r in range(p):
        for t in range(picks.shape[0]):
            i = int(picks[t, 0, r])
            j = (i + int(picks[t, 1, r])) % K
            log_s = x[r, n_eta:]
            cum = 0.0
            for k in range(K - 1):
                sk = math.exp(log_s[k])
                log_w[k] = math.log(-math.expm1(-sk)) - cum
                cum += sk
            log_w[K - 1] = -cum
            log_w[i], log_w[j] = log_w[j], log_w[i]
            tail[K - 1] = log_w[K - 1]
            for k in range(K - 2, -1, -1):
                tail[k] = _logaddexp(log_w[k], tail[k + 1])
            finite = True
            for k in range(K - 1):
                d = log_w[k] - tail[k + 1]
                if d < -30.0:
                    v = d
                elif d > 0.0:
                    v = math.log(d + math.log1p(math.exp(-d)))
                else:
                    v = math.log(math.log1p(math.exp(d)))
                new_s[k] = v
                if not math.isfinite(v):
                    finite = False
            if not finite:
                continue
            prior_new, jac_new = _stick_terms(new_s, a, b)
            prior_old, jac_old = _stick_terms(log_s, a, b)
            log_a = prior_new - prior_old + jac_old - jac_new
            if not math.log(picks[t, 2, r]) < log_a:
                continue
            for k in range(K - 1):
                x[r, n_eta + k] = new_s[k]
            for jl in range(n_lists):
                x[r, jl * K + i], x[r, jl * K + j] = x[r, jl * K + j], x[r, jl * K + i]
            accepted[r] += 1
    return accepted


def relabel_reference(
    x: np.ndarray,
    n_lists: int,
    n_classes: int,
    alpha_shape: float,
    alpha_rate: float,
    tries: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`relabel` in plain numpy, from the formulas above: the tests check that the compiled
    move makes exactly the same moves from the same random numbers, and check this one's
    acceptance ratio (the prior survives it; a ratio without the Jacobian or the prior does not).
    """
    p = len(x)
    n_eta = n_lists * n_classes
    rows = np.arange(p)
    x = x.copy()
    accepted = np.zeros(p, dtype=np.int64)
    for _ in range(tries):
        i = rng.integers(0, n_classes, size=p)
        j = (i + rng.integers(1, n_classes, size=p)) % n_classes
        log_s = x[:, n_eta:]
        # a proposal whose sticks under- or overflow is rejected below, not warned about
        with np.errstate(all="ignore"):
            log_w = log_weights_from_sticks(log_s)
            log_w[rows, i], log_w[rows, j] = log_w[rows, j], log_w[rows, i].copy()
            new_s = sticks_from_log_weights(log_w)
            log_a = (
                stick_log_prior(new_s, alpha_shape, alpha_rate)
                - stick_log_prior(log_s, alpha_shape, alpha_rate)
                + log_stick_jacobian(log_s)
                - log_stick_jacobian(new_s)
            )
        ok = np.all(np.isfinite(new_s), axis=1) & (np.log(rng.random(p)) < log_a)
        if not ok.any():
            continue
        eta = x[ok, :n_eta].reshape(-1, n_lists, n_classes)
        r, a, b = np.arange(len(eta)), i[ok], j[ok]
        eta[r, :, a], eta[r, :, b] = eta[r, :, b], eta[r, :, a].copy()
        x[ok, :n_eta] = eta.reshape(len(eta), -1)
        x[ok, n_eta:] = new_s[ok]
        accepted += ok
    return x, accepted
