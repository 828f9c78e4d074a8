"""Parallel tempering with Hamiltonian moves, vectorised over chains and temperatures.

Why: the posterior of a latent-class model has separated modes (mixture configurations, e.g.
with and without a small class of people found by several lists). NUTS chains settle in one
each and never cross, so chains disagree and R-hat of N stays above 1.01 however long they run.
In parallel tempering every chain carries a ladder of companions that sample prior x
likelihood^beta for beta from 1 down to ``min_beta``; at small beta the barriers are low, and
swaps between neighbouring temperatures (accepted with the Metropolis ratio) carry mode changes
down to the chain at beta = 1 (Geyer 1991; Earl & Deem 2005). The beta = 1 chain is an ordinary
Markov chain with the posterior as stationary law, so R-hat and ESS keep their usual meaning.
Modes that are as far apart at every temperature, such as the order of the classes in a
stick-breaking mixture, need a move of their own (``extra_move`` below).

We also tried tempered sequential Monte Carlo (resample-move from the prior, HMC moves). It
was worse than wrong: on the UK 2013 six lists independent runs agreed with each other
(R-hat 1.002) on N about 12,000, a region that dominates at intermediate beta, because the
moves could not reach the mode that takes over only near beta = 1. Tempering keeps a chain
at beta = 1 throughout, so it cannot skip the end of the path.

One iteration, for all chains x temperatures at once (one batched density call per leapfrog
step): one HMC move per chain, integrated for a jittered length in posterior standard
deviations (so cold chains, with smaller steps, take more steps; at most ``max_leapfrog``);
then the target's own extra moves, if it has any (see below); then swaps between neighbouring
temperatures, even pairs on even iterations and odd pairs on odd ones. Warm-up adapts a step
size per temperature (towards ``target_accept``) and a diagonal mass matrix per temperature
from the spread of the draws (windows ending at 1/4, 1/2 and 3/4 of the warm-up); in the first
half of the warm-up the ladder itself is re-spaced four times so that every neighbouring pair
swaps equally often (:func:`respace`). All three are then frozen, so the kept draws are a
Markov chain with a fixed kernel. Swapping even pairs and odd pairs in turn (not at random) is
the non-reversible scheme of Syed et al. (2021): states travel along the ladder in straight
runs instead of a random walk.

The target is a batched function ``logdens(x, beta) -> (loglik, logprior, grad)`` with x of
shape (P, D), beta (P,), and grad the gradient of logprior + beta * loglik. A target may also
offer ``leapfrog(x, mom, grad, eps, n_leap, scale2, beta)``, a compiled integrator of each
row for its own number of steps; :func:`hmc_move` then uses it (the latent-class kernel does:
it removes the per-step Python overhead). And it may offer ``extra_move(x, beta, state, rng)
-> (x, state, accepted per row)``: moves that keep each row's tempered target invariant and
that HMC cannot make (the latent-class kernel's label switches), run after every HMC move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LogDensity = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
#: An HMC move whose energy error exceeds this is counted as divergent (as in Stan and PyMC).
DIVERGENCE_ENERGY = 1000.0


@dataclass(frozen=True)
class TemperingSettings:
    """The ladder and the moves. Defaults suit the latent-class model on up to ~70 dims."""

    temperatures: int = 10
    min_beta: float = 0.03
    trajectory: float = 1.0
    max_leapfrog: int = 64
    target_accept: float = 0.85
    #: A diverging HMC move is retried once with the step divided by this (1: no retry). 8, not
    #: 4: with class-label exchanges a state can carry a class whose coordinates the mass matrix
    #: (one per slot) was not tuned for; at 4, one retry in about 4,000 draws on the UK 2013 six
    #: lists diverged again (1 of 25 seeds), at 8 none on 11 seeds.
    retry_factor: int = 8
    #: Iterations (HMC move + swaps) per kept draw after warm-up (the latent-class spec uses 2).
    thin: int = 1


@dataclass(frozen=True)
class TemperingResult:
    """Draws of the beta = 1 chains and what the sampler did."""

    # Per kept draw; with thin > 1 the sampler statistics cover the ``thin`` iterations that
    # led to it (mean acceptance, any divergence, total leapfrog steps), so none is lost.
    draws: np.ndarray  # (chain, draw, D)
    accept: np.ndarray  # (chain, draw) Metropolis acceptance probability of the HMC moves
    diverging: np.ndarray  # (chain, draw) bool: a move diverged, its retry too
    diverging_first: np.ndarray  # (chain, draw) bool: a first attempt diverged (then retried)
    retry_accepted: np.ndarray  # (chain, draw) bool: a retry after a divergence was accepted
    n_leapfrog: np.ndarray  # (chain, draw)
    extra_accepted: np.ndarray  # (chain, draw) accepted moves of the target's own extra_move
    swap_rate: np.ndarray  # (temperature - 1,) over the kept iterations
    betas: np.ndarray  # (temperature,)
    step_size: np.ndarray  # (temperature,)


class DualAveraging:
    """Step-size adaptation of Hoffman & Gelman (2014), one step size per temperature.

    Restarted (around the current step size) whenever the mass matrix changes.
    """

    def __init__(self, step: np.ndarray, target: float):
        self.target = target
        self.restart(step)

    def restart(self, step: np.ndarray) -> None:
        self.mu = np.log(10.0 * step)
        self.h_bar = np.zeros_like(step)
        self.log_bar = np.log(step)
        self.log_step = np.log(step)
        self.count = 0

    def update(self, accept: np.ndarray) -> None:
        self.count += 1
        t = self.count
        w = 1.0 / (t + 10.0)
        self.h_bar = (1.0 - w) * self.h_bar + w * (self.target - accept)
        self.log_step = self.mu - np.sqrt(t) / 0.05 * self.h_bar
        eta = t**-0.75
        self.log_bar = eta * self.log_step + (1.0 - eta) * self.log_bar

    @property
    def step(self) -> np.ndarray:
        return np.exp(self.log_step)

    @property
    def final(self) -> np.ndarray:
        return np.exp(self.log_bar)


def ladder(settings: TemperingSettings) -> np.ndarray:
    """Geometric ladder of inverse temperatures from 1 down to ``min_beta``."""
    t = settings.temperatures
    if t == 1:
        return np.ones(1)
    return settings.min_beta ** (np.arange(t) / (t - 1))


def _integrate(logdens: LogDensity, x, mom, state, eps, n_leap, scale, beta):
    """Leapfrog each row of ``x`` for its own ``n_leap`` steps of size ``eps``.

    Returns (position, momentum, (loglik, logprior, grad)) at the end of each trajectory.
    """
    ll, lp, g = state
    integrate = getattr(logdens, "leapfrog", None)
    if integrate is not None:  # a compiled integrator (same arithmetic, no Python per step)
        xn, pn, lln, lpn, gn = integrate(x, mom, g, eps, n_leap, scale**2, beta)
        return xn, pn, (lln, lpn, gn)
    xn, pn = x.copy(), mom + 0.5 * eps[:, None] * g
    lln, lpn, gn = ll.copy(), lp.copy(), g.copy()
    for i in range(int(n_leap.max())):
        rows = np.flatnonzero(n_leap > i)
        e = eps[rows, None]
        xn[rows] += e * scale[rows] ** 2 * pn[rows]
        lln[rows], lpn[rows], gn[rows] = logdens(xn[rows], beta[rows])
        last = (n_leap[rows] - 1 == i)[:, None]
        pn[rows] += np.where(last, 0.5 * e, e) * gn[rows]
    return xn, pn, (lln, lpn, gn)


def _energy(state, mom, beta, scale) -> np.ndarray:
    ll, lp, _ = state
    return -(lp + beta * ll) + 0.5 * ((mom * scale) ** 2).sum(axis=1)


def hmc_move(
    logdens: LogDensity,
    x: np.ndarray,
    beta: np.ndarray,
    scale: np.ndarray,
    step: np.ndarray,
    state: tuple[np.ndarray, np.ndarray, np.ndarray],
    settings: TemperingSettings,
    rng: np.random.Generator,
):
    """One HMC transition for every row of ``x`` at once, with a delayed-rejection retry.

    ``scale`` (P, D): the standard deviations that define the diagonal mass matrix
    (M^-1 = scale^2); ``step`` (P,). Each row integrates for about ``settings.trajectory``
    (in units of ``scale``, jittered by a factor U(0.5, 1.5)) with at most
    ``settings.max_leapfrog`` steps: chains with small steps (the cold ones) take more steps,
    and rows that have finished are not evaluated again.

    Why the retry: one step size cannot suit every state of a mixture posterior. Where a
    class holds most people its stick is pinned by the data far more tightly than the
    spread of that coordinate over the whole run, which sets the mass matrix; there the
    leapfrog integrator is unstable and the trajectory diverges. A row whose trajectory
    diverged therefore tries again from the same point and momentum with the step divided
    by ``settings.retry_factor`` (and that many times more steps: the same length). This is
    delayed rejection (Modi, Barnett & Carpenter 2023, "Delayed rejection Hamiltonian Monte
    Carlo for sampling multiscale distributions") with the retry made only after a
    divergence; detailed balance then accepts the retry's end point with probability

        min(1, exp(H0 - H2) * [the ghost diverges]),

    where the ghost is the first attempt that the end point, its momentum flipped, would
    have made (both first attempts have acceptance probability exp(-1000), i.e. 0). The
    move keeps the target invariant, so the draws stay exact; moves that do not diverge
    cost nothing extra.

    Returns (x, state, first-attempt acceptance probability (what step-size adaptation
    targets), divergent (the first attempt and the retry both diverged), leapfrog steps per
    row including retries, first attempt divergent, retry accepted).
    """
    p = len(x)
    eps = step * rng.uniform(0.8, 1.2, size=p)
    n_leap = np.ceil(rng.uniform(0.5, 1.5, size=p) * settings.trajectory / eps)
    n_leap = np.clip(n_leap, 1, settings.max_leapfrog).astype(np.int64)
    mom = rng.standard_normal(x.shape) / scale
    h0 = _energy(state, mom, beta, scale)
    x1, p1, s1 = _integrate(logdens, x, mom, state, eps, n_leap, scale, beta)
    h1 = _energy(s1, p1, beta, scale)
    log_a1 = np.where(np.isfinite(h1), h0 - h1, -np.inf)
    take = np.log(rng.random(p)) < log_a1
    x_new = np.where(take[:, None], x1, x)
    s_new = tuple(np.where(take if a.ndim == 1 else take[:, None], a, b) for a, b in zip(s1, state, strict=True))
    first_divergent = ~(log_a1 > -DIVERGENCE_ENERGY)
    divergent = first_divergent.copy()
    steps = n_leap.copy()
    retried_accepted = np.zeros(p, dtype=bool)
    r = settings.retry_factor
    rows = np.flatnonzero(first_divergent)
    if r > 1 and len(rows):
        b_r, sc_r, eps_r, n_r = beta[rows], scale[rows], eps[rows], n_leap[rows]
        st_r = tuple(a[rows] for a in state)
        x2, p2, s2 = _integrate(logdens, x[rows], mom[rows], st_r, eps_r / r, n_r * r, sc_r, b_r)
        h2 = _energy(s2, p2, b_r, sc_r)
        # the ghost: the first attempt that the retry's end point would have made
        _, pg, sg = _integrate(logdens, x2, -p2, s2, eps_r, n_r, sc_r, b_r)
        hg = _energy(sg, pg, b_r, sc_r)
        ghost_divergent = ~(np.where(np.isfinite(hg), h2 - hg, -np.inf) > -DIVERGENCE_ENERGY)
        # retried only after a divergence, so the reverse move counts only if its first
        # attempt diverges too; both first attempts then have acceptance exp(-1000) = 0
        log_a2 = np.where(np.isfinite(h2) & ghost_divergent, h0[rows] - h2, -np.inf)
        take2 = np.log(rng.random(len(rows))) < log_a2
        x_new[rows] = np.where(take2[:, None], x2, x[rows])
        for a, b in zip(s_new, s2, strict=True):
            a[rows] = np.where(take2 if b.ndim == 1 else take2[:, None], b, a[rows])
        divergent[rows] = ~(np.where(np.isfinite(h2), h0[rows] - h2, -np.inf) > -DIVERGENCE_ENERGY)
        retried_accepted[rows] = take2
        steps[rows] += n_r * r + n_r
    return x_new, s_new, np.exp(np.minimum(log_a1, 0.0)), divergent, steps, first_divergent, retried_accepted


def swap_neighbours(
    x: np.ndarray, ll: np.ndarray, betas: np.ndarray, parity: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Metropolis swaps between temperatures t and t + 1 (t of the given parity), in place.

    ``x`` (chain, temperature, D), ``ll`` (chain, temperature). Returns (temperature - 1,)
    accepted-swap counts and summed acceptance probabilities. The ratio is
    (beta_t - beta_t+1) * (ll_t+1 - ll_t): the priors cancel.
    """
    n_chain, n_temp = ll.shape
    accepted = np.zeros(max(n_temp - 1, 0))
    prob = np.zeros(max(n_temp - 1, 0))
    for t in range(parity, n_temp - 1, 2):
        log_a = (betas[t] - betas[t + 1]) * (ll[:, t + 1] - ll[:, t])
        ok = np.log(rng.random(n_chain)) < log_a
        accepted[t] = ok.sum()
        prob[t] = np.exp(np.minimum(log_a, 0.0)).sum()
        x[ok, t], x[ok, t + 1] = x[ok, t + 1].copy(), x[ok, t].copy()
        ll[ok, t], ll[ok, t + 1] = ll[ok, t + 1].copy(), ll[ok, t].copy()
    return accepted, prob


def respace(betas: np.ndarray, rejection: np.ndarray) -> np.ndarray:
    """A ladder with the same ends and equal rejection between neighbours.

    ``rejection[t]`` is the mean swap rejection probability between betas t and t + 1. Their
    cumulative sum estimates the communication barrier Lambda as a function of log beta
    (Syed, Bouchard-Cote, Deligiannidis & Doucet 2021); the new betas cut it into equal parts
    (piecewise-linear interpolation in log beta). A pair with no rejection at all still gets a
    small share, so the ladder never collapses.
    """
    if len(betas) < 3:
        return betas
    lam = np.concatenate([[0.0], np.cumsum(np.maximum(rejection, 1e-3))])
    targets = np.linspace(0.0, lam[-1], len(betas))
    log_b = np.interp(targets, lam, np.log(betas))
    out = np.exp(log_b)
    out[0], out[-1] = betas[0], betas[-1]
    return out


def parallel_tempering(
    logdens: LogDensity,
    init: np.ndarray,
    draws: int,
    tune: int,
    settings: TemperingSettings,
    rng: np.random.Generator,
    report: Callable[[int], None] | None = None,
) -> TemperingResult:
    """Run ``init.shape[0]`` tempered chains; ``init`` is (chain, temperature, D).

    Returns ``draws`` kept states of each beta = 1 chain after ``tune`` warm-up iterations,
    one every ``settings.thin`` iterations. ``report(i)`` is told after each iteration how many
    are done (progress display).
    """
    n_chain, n_temp, dim = init.shape
    if n_temp != settings.temperatures:
        raise ValueError(f"init has {n_temp} temperatures, settings {settings.temperatures}")
    betas = ladder(settings)
    beta = np.tile(betas, n_chain)  # row c * T + t has beta_t
    x = init.reshape(n_chain * n_temp, dim).astype(np.float64)
    scale = np.ones_like(x)
    adapt = DualAveraging(np.full(n_temp, 0.1), settings.target_accept)
    step_t = adapt.step
    windows = {tune // 4, tune // 2, (3 * tune) // 4}
    history: list[np.ndarray] = []
    state = logdens(x, beta)
    thin = settings.thin
    out = np.empty((n_chain, draws, dim))
    accept = np.zeros((n_chain, draws))
    diverging = np.zeros((n_chain, draws), dtype=bool)
    diverging_first = np.zeros((n_chain, draws), dtype=bool)
    retry_accepted = np.zeros((n_chain, draws), dtype=bool)
    n_leap = np.zeros((n_chain, draws), dtype=np.int64)
    swaps = np.zeros(max(n_temp - 1, 0))
    tries = np.zeros(max(n_temp - 1, 0))
    warm_prob = np.zeros(max(n_temp - 1, 0))
    warm_tries = np.zeros(max(n_temp - 1, 0))
    ladder_updates = {tune // 8, tune // 4, (3 * tune) // 8, tune // 2}
    extra = getattr(logdens, "extra_move", None)
    moved = np.zeros(len(x), dtype=np.int64)
    extra_accepted = np.zeros((n_chain, draws), dtype=np.int64)
    for it in range(tune + draws * thin):
        step = np.tile(step_t, n_chain)
        x, state, acc, div, n_l, div1, rescued = hmc_move(logdens, x, beta, scale, step, state, settings, rng)
        if extra is not None:
            x, state, moved = extra(x, beta, state, rng)
        if it < tune:
            adapt.update(acc.reshape(n_chain, n_temp).mean(axis=0))
            step_t = adapt.step if it + 1 < tune else adapt.final
            history.append(x.reshape(n_chain, n_temp, dim).copy())
            if it + 1 in windows and len(history) >= 8:
                recent = np.stack(history[len(history) // 2 :])  # (iter, chain, temp, D)
                sd = recent.std(axis=(0, 1)) + 1e-3  # per temperature
                scale = np.tile(sd, (n_chain, 1))
                history = []
                adapt.restart(adapt.step)
        xs = x.reshape(n_chain, n_temp, dim)
        lls = state[0].reshape(n_chain, n_temp).copy()
        accepted, prob = swap_neighbours(xs, lls, betas, it % 2, rng)
        x = xs.reshape(n_chain * n_temp, dim)
        refresh = bool(accepted.any())  # swapped rows carry another beta's gradient
        if it < tune:
            warm_prob += prob
            warm_tries[it % 2 :: 2] += n_chain
            if it + 1 in ladder_updates and len(betas) > 2 and warm_tries.min() > 0:
                betas = respace(betas, 1.0 - warm_prob / warm_tries)
                beta = np.tile(betas, n_chain)
                warm_prob[:], warm_tries[:] = 0.0, 0.0
                refresh = True  # every row has a new beta
        if refresh:
            state = logdens(x, beta)
        if it >= tune:
            k = (it - tune) // thin
            tries[it % 2 :: 2] += n_chain
            swaps += accepted
            cold = np.arange(n_chain) * n_temp
            out[:, k] = x[cold]  # the last iteration of the block is the one kept
            accept[:, k] += acc[cold] / thin
            diverging[:, k] |= div[cold]
            diverging_first[:, k] |= div1[cold]
            retry_accepted[:, k] |= rescued[cold]
            n_leap[:, k] += n_l[cold]
            extra_accepted[:, k] += moved[cold]
        if report is not None:
            report(it + 1)
    return TemperingResult(
        draws=out,
        accept=accept,
        diverging=diverging,
        diverging_first=diverging_first,
        retry_accepted=retry_accepted,
        n_leapfrog=n_leap,
        extra_accepted=extra_accepted,
        swap_rate=swaps / np.maximum(tries, 1),
        betas=betas,
        step_size=step_t,
    )


# Iterations done per group, shared with forked workers (inherited at fork, not pickled) so
# that the parent process can show progress; None when no one is watching.
_DONE = None
_SHOW: Callable[[], None] | None = None  # in-process runs: refresh the display directly


def _run_group(args) -> TemperingResult:
    logdens, init, draws, tune, settings, seed, group = args

    def report(i: int) -> None:
        _DONE[group] = i
        if _SHOW is not None:
            _SHOW()

    return parallel_tempering(
        logdens, init, draws, tune, settings, np.random.default_rng(seed), report if _DONE is not None else None
    )


def sample_tempering(
    logdens: LogDensity,
    init: np.ndarray,
    draws: int,
    tune: int,
    settings: TemperingSettings,
    seed: int,
    cores: int,
) -> TemperingResult:
    """Run the chains in two independent groups, in two processes when ``cores`` >= 2.

    The split (first half of the chains, second half; each group with its own seed from
    ``seed``) does not depend on ``cores``, so a seed gives the same draws whatever the number
    of cores (not bit for bit across CPUs: the compiled kernel's floating point may differ).
    Each group re-spaces its own ladder; ``betas`` reports the first group's, ``swap_rate`` and
    ``step_size`` are averages over the groups. ``logdens`` must pickle (the groups run in
    forked worker processes).
    """
    n_chain = init.shape[0]
    groups = [g for g in np.array_split(np.arange(n_chain), min(2, n_chain)) if len(g)]
    seeds = np.random.SeedSequence(seed).spawn(len(groups))
    jobs = [(logdens, init[g], draws, tune, settings, s, k) for k, (g, s) in enumerate(zip(groups, seeds, strict=True))]
    results = _run_groups(jobs, [len(g) for g in groups], tune + draws * settings.thin, cores)
    tries = np.array([r.draws.shape[0] for r in results], dtype=float)

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(r, name) for r in results], axis=0)

    return TemperingResult(
        draws=cat("draws"),
        accept=cat("accept"),
        diverging=cat("diverging"),
        diverging_first=cat("diverging_first"),
        retry_accepted=cat("retry_accepted"),
        n_leapfrog=cat("n_leapfrog"),
        extra_accepted=cat("extra_accepted"),
        swap_rate=np.average([r.swap_rate for r in results], axis=0, weights=tries),
        betas=results[0].betas,
        step_size=np.mean([r.step_size for r in results], axis=0),
    )


def _run_groups(jobs: list, sizes: list[int], iterations: int, cores: int) -> list[TemperingResult]:
    """Run the groups (in forked processes when ``cores`` >= 2), showing progress per chain."""
    global _DONE, _SHOW
    import multiprocessing as mp

    from ..core import progress

    method = "fork" if "fork" in mp.get_all_start_methods() else None
    parallel = cores >= 2 and len(jobs) > 1
    watch = progress.enabled() and (method == "fork" or not parallel)
    shown = progress.task("tempering", iterations, sum(sizes), "iterations", part_label="chain")
    with shown as bar:

        def show() -> None:
            chain = 0
            for k, size in enumerate(sizes):
                for c in range(size):
                    bar.update(int(_DONE[k]), part=chain + c)
                chain += size

        _DONE = mp.get_context(method).Array("q", len(jobs), lock=False) if watch else None
        try:
            if not parallel:
                _SHOW = show if watch else None
                return [_run_group(job) for job in jobs]
            from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

            from ..core.workers import worker_context

            # workers die with their parent: a killed run leaves no sampler behind
            context = worker_context() or mp.get_context(method)
            with ProcessPoolExecutor(len(jobs), mp_context=context) as pool:
                futures = [pool.submit(_run_group, job) for job in jobs]
                pending = set(futures)
                while pending:
                    _, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    if watch:
                        show()
                return [f.result() for f in futures]
        finally:
            _DONE, _SHOW = None, None
