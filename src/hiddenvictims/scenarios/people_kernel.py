"""Compiled (Numba) sweep kernel of the forward model of people: cells x draws x strata.

Same arithmetic as :func:`.people.apply_people` (tests hold the two to 1e-9) without the
temporaries: for each sweep cell, every draw and stratum is moved through findability and
referral, summed into the report rows (the total, each level of the first stratum dim, each
stratum; one row when there is one stratum), and summarised by quickselect quantiles (linear
interpolation, NumPy's default). Why compiled: summaries of many rows of 1,000 draws per cell
are the cost of a sweep, and selection is linear where sorting is not.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, inline="always")
def _extra(logq, lam, k, v):
    """Share of the not-yet-found found in addition at multiplier k (see people.survival)."""
    if k <= 1.0:
        return 0.0
    if v <= 0.0:
        return -np.expm1((k - 1.0) * logq)
    return 1.0 - np.exp(-np.log1p(v * k * lam) / v + np.log1p(v * lam) / v)


@nb.njit(cache=True, inline="always")
def _kept(p, logq, lam, k, v):
    """Share of today's found still found at multiplier k < 1."""
    if k >= 1.0 or p <= 0.0:
        return 1.0
    if v <= 0.0:
        return -np.expm1(k * logq) / p
    return (1.0 - np.exp(-np.log1p(v * k * lam) / v)) / p


@nb.njit(cache=True)
def _select(buf, lo, hi, k):
    """Partially order buf[lo:hi] so that buf[k] is its (k-lo)-th smallest (quickselect)."""
    hi -= 1
    while hi > lo:
        mid = (lo + hi) // 2
        # median of three as pivot
        a, b, c = buf[lo], buf[mid], buf[hi]
        if a > b:
            a, b = b, a
        if b > c:
            b = c
            if a > b:
                b = a
        pivot = b
        i, j = lo, hi
        while i <= j:
            while buf[i] < pivot:
                i += 1
            while buf[j] > pivot:
                j -= 1
            if i <= j:
                buf[i], buf[j] = buf[j], buf[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@nb.njit(cache=True)
def _order_pair(buf, lo, hi, k):
    """(k-th, (k+1)-th) smallest of buf[lo:hi] (positions relative to the whole buffer)."""
    _select(buf, lo, hi, k)
    first = buf[k]
    second = first
    if k + 1 < hi:
        second = buf[k + 1]
        for t in range(k + 2, hi):
            if buf[t] < second:
                second = buf[t]
    return first, second


@nb.njit(cache=True)
def _stats(x, buf, q_lo, q_hi, sign, out):
    """Median, lower, upper (linear interpolation), mean and P(sign * x > 0) of x."""
    n = x.shape[0]
    total = 0.0
    good = 0
    for t in range(n):
        buf[t] = x[t]
        total += x[t]
        if sign * x[t] > 0:
            good += 1
    h_mid, h_lo, h_hi = 0.5 * (n - 1), q_lo * (n - 1), q_hi * (n - 1)
    k_mid, k_lo, k_hi = int(h_mid), int(h_lo), int(h_hi)
    a, b = _order_pair(buf, 0, n, k_mid)
    out[0] = a + (h_mid - k_mid) * (b - a)
    a, b = _order_pair(buf, 0, k_mid + 1, k_lo)
    out[1] = a + (h_lo - k_lo) * (b - a)
    # ranks above the median sit untouched after it (the lower selection stays below)
    lo_start = k_mid + 1 if k_hi > k_mid else 0
    a, b = _order_pair(buf, lo_start, n, k_hi)
    out[2] = a + (h_hi - k_hi) * (b - a)
    out[3] = total / n
    out[4] = good / n if sign != 0 else np.nan


@nb.njit(cache=True)
def _sorted_stats(x, perm, vals, q_lo, q_hi, sign, tol, out):
    """Like :func:`_stats`, keeping ``perm`` (the draws' order at the previous sweep cell).

    Neighbouring cells of a sweep rank the draws almost alike, so an insertion sort from the
    previous order costs about one pass; a row whose order changed a lot is argsorted afresh.
    """
    n = x.shape[0]
    total = 0.0
    good = 0
    for t in range(n):
        total += x[t]
        if sign * x[t] > tol:
            good += 1
    for t in range(n):
        vals[t] = x[perm[t]]
    shifts = 0
    limit = 16 * n
    for t in range(1, n):
        v, p = vals[t], perm[t]
        j = t - 1
        while j >= 0 and vals[j] > v:
            vals[j + 1] = vals[j]
            perm[j + 1] = perm[j]
            j -= 1
            shifts += 1
        vals[j + 1] = v
        perm[j + 1] = p
        if shifts > limit:
            order = np.argsort(x)
            for u in range(n):
                perm[u] = order[u]
                vals[u] = x[order[u]]
            break
    for h_idx in range(3):
        q = 0.5 if h_idx == 0 else (q_lo if h_idx == 1 else q_hi)
        h = q * (n - 1)
        k = int(h)
        upper = vals[k + 1] if k + 1 < n else vals[k]
        out[h_idx] = vals[k] + (h - k) * (upper - vals[k])
    out[3] = total / n
    out[4] = good / n if sign != 0 else np.nan


@nb.njit(cache=True)
def sweep_kernel(cells, logs, lams, pres, kc, kr, ref, v, n_first, q_lo, q_hi, signs, tols, base_rows, out):
    """Summaries of every sweep cell.

    cells (4, S, M): n00, n01, n10, n11; logs/lams/pres (4, S, M): log(1 - p), frailty
    intensity and p of the present chances (chat | unregistered, chat | registered,
    register | no chat, register | chat); kc, kr, ref (C, M); base_rows (4, R, S) the
    baseline's rows; tols (4,) what counts as a change (rounding); out (C, 4, 2, R, 5).
    """
    n_cells = kc.shape[0]
    S, M = cells.shape[1], cells.shape[2]
    R = base_rows.shape[1]
    per_first = M // n_first
    rows = np.zeros((4, R, S))
    x = np.empty(S)
    vals = np.empty(S)
    perm = np.empty((4, 2, R, S), dtype=np.int64)
    for o in range(4):
        for v_ in range(2):
            for r in range(R):
                for s in range(S):
                    perm[o, v_, r, s] = s
    for c in range(n_cells):
        rows[:] = 0.0
        for s in range(S):
            for m in range(M):
                n00, n01, n10, n11 = cells[0, s, m], cells[1, s, m], cells[2, s, m], cells[3, s, m]
                k1, k2 = kc[c, m], kr[c, m]
                a0 = _extra(logs[0, s, m], lams[0, s, m], k1, v)
                a1 = _extra(logs[1, s, m], lams[1, s, m], k1, v)
                b0 = _extra(logs[2, s, m], lams[2, s, m], k2, v)
                b1 = _extra(logs[3, s, m], lams[3, s, m], k2, v)
                lc0 = 1.0 - _kept(pres[0, s, m], logs[0, s, m], lams[0, s, m], k1, v)
                lc1 = 1.0 - _kept(pres[1, s, m], logs[1, s, m], lams[1, s, m], k1, v)
                lr0 = 1.0 - _kept(pres[2, s, m], logs[2, s, m], lams[2, s, m], k2, v)
                lr1 = 1.0 - _kept(pres[3, s, m], logs[3, s, m], lams[3, s, m], k2, v)
                m00 = n00 * (1 - a0) * (1 - b0) + n01 * lc0 * (1 - b1) + n10 * (1 - a1) * lr0 + n11 * lc1 * lr1
                m01 = n00 * a0 * (1 - b0) + n01 * (1 - lc0) * (1 - b1) + n10 * a1 * lr0 + n11 * (1 - lc1) * lr1
                m10 = n00 * (1 - a0) * b0 + n01 * lc0 * b1 + n10 * (1 - a1) * (1 - lr0) + n11 * lc1 * (1 - lr1)
                m11 = n00 + n01 + n10 + n11 - m00 - m01 - m10
                moved = m01 * ref[c, m]
                m01 -= moved
                m11 += moved
                o0, o1, o2, o3 = m01 + m11, m10 + m11, m00 + m01, m00
                if R == 1:
                    rows[0, 0, s] += o0
                    rows[1, 0, s] += o1
                    rows[2, 0, s] += o2
                    rows[3, 0, s] += o3
                    continue
                for r in (0, 1 + m // per_first, 1 + n_first + m):
                    rows[0, r, s] += o0
                    rows[1, r, s] += o1
                    rows[2, r, s] += o2
                    rows[3, r, s] += o3
        for o in range(4):
            for r in range(R):
                _sorted_stats(rows[o, r], perm[o, 0, r], vals, q_lo, q_hi, 0.0, 0.0, out[c, o, 0, r])
                for s in range(S):
                    x[s] = rows[o, r, s] - base_rows[o, r, s]
                _sorted_stats(x, perm[o, 1, r], vals, q_lo, q_hi, signs[o], tols[o], out[c, o, 1, r])
    return out
