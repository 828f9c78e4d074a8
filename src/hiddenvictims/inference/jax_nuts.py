"""NUTS compiled end to end with JAX (BlackJAX): warm-up and draws in one XLA program.

For small models that are refitted many times with other data (leave-one-source-out fits,
variants, simulation studies) the per-call overhead of a Python-driven sampler dominates. Here
the log density takes the data as an argument, so :func:`make_sampler` compiles once per shape
and every later fit with new data of the same shape reuses the compiled program.

Chains are vectorised (``jax.vmap``) and start from independent points. Each runs Stan's windowed
adaptation on its own; the chains then pool what they learnt (one mass matrix, the mean of theirs,
and one step size tuned on all chains' acceptance), and draw with that one kernel. Vectorised
chains advance in lockstep, so every NUTS step costs the longest trajectory among them: with
per-chain kernels a chain that adapted a small step size (31 to 63 leapfrog steps per draw on the
Dutch synthesis, varying with the seed) slows all of them, while pooled chains all take the same
number of steps (31) and the pooled mass matrix is estimated from eight times the draws.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Deepest trajectory during warm-up (2^6 = 64 leapfrog steps). While step sizes are being
#: adapted some chain in every iteration builds a tree up to the cap (dual averaging tries steps
#: far below the final one) and, vectorised, every chain waits for it: on the Dutch synthesis a cap
#: of 64 instead of 128 halves the warm-up's time and leaves the pooled step size and the steps per
#: draw after warm-up (31) as they were. Draws after warm-up keep BlackJAX's default cap (1,024).
WARMUP_MAX_DOUBLINGS = 6

#: Share of the warm-up (at most :data:`POOLED_TUNE_MAX` iterations) spent tuning the one shared
#: step size after the chains' mass matrices are pooled.
POOLED_TUNE_SHARE = 0.2
POOLED_TUNE_MAX = 200


def cache_dir() -> Path:
    """Where compiled samplers are kept between runs: ``$HIDDENVICTIMS_CACHE`` or the user's
    cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``) / hiddenvictims / jax."""
    if os.environ.get("HIDDENVICTIMS_CACHE"):
        return Path(os.environ["HIDDENVICTIMS_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hiddenvictims" / "jax"


def enable_x64() -> None:
    """Double precision (counts of thousands and log densities near -1e4 need it), and XLA's
    persistent compilation cache: compiling a sampler takes 10 to 20 s, and the same structure
    is compiled again by every later run, scenario fallback fit and test."""
    import jax

    jax.config.update("jax_enable_x64", True)
    if jax.config.jax_compilation_cache_dir is None:
        try:
            folder = cache_dir()
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:  # a read-only home: compile every time
            return
        jax.config.update("jax_compilation_cache_dir", str(folder))


@dataclass(frozen=True)
class NutsResult:
    """Draws of the unconstrained position (chain, draw, dim) and per-draw sampler statistics."""

    position: np.ndarray
    diverging: np.ndarray  # (chain, draw) bool
    n_steps: np.ndarray  # (chain, draw) leapfrog steps
    step_size: np.ndarray  # (chain,)
    inverse_mass_matrix: np.ndarray  # (chain, dim, dim), or (chain, dim) when diagonal

    def adapted(self) -> dict[str, np.ndarray]:
        """The adapted kernel parameters and last positions, to start a related fit with."""
        return {
            "step_size": self.step_size,
            "inverse_mass_matrix": self.inverse_mass_matrix,
            "position": self.position[:, -1],
        }


def make_sampler(
    logdensity: Callable,
    dim: int,
    chains: int,
    tune: int,
    draws: int,
    target_accept: float = 0.9,
    dense_mass: bool = True,
    pooled: bool = True,
) -> Callable:
    """A compiled ``run(data, seed) -> NutsResult``: ``logdensity(x, data)`` of an unconstrained
    vector ``x`` (dim,). Chains start from independent Normal(0, 0.5) points (the models here
    are standardised, so that is inside the prior's bulk). ``dense_mass``: adapt a full mass
    matrix, which straightens the long linear ridges of count models (a population times its
    coverage is pinned, each alone is not) at a cost of dim^2 per step. ``pooled``: the chains
    draw with one pooled kernel (the module's docstring says why); ``False`` keeps each chain's
    own adapted kernel (kept to measure the difference, ``benchmarks/bench_synthesis.py``)."""
    enable_x64()
    import blackjax
    import jax
    import jax.numpy as jnp
    from blackjax.adaptation.step_size import dual_averaging_adaptation

    pooled_tune = min(POOLED_TUNE_MAX, int(POOLED_TUNE_SHARE * tune)) if pooled else 0

    def adapt_one(target, key):
        """Stan's windowed adaptation of one chain: (state, {step_size, inverse_mass_matrix})."""
        key_init, key_warm = jax.random.split(key)
        x0 = 0.5 * jax.random.normal(key_init, (dim,))
        warmup = blackjax.window_adaptation(
            blackjax.nuts,
            target,
            is_mass_matrix_diagonal=not dense_mass,
            target_acceptance_rate=target_accept,
            max_num_doublings=WARMUP_MAX_DOUBLINGS,
        )
        (state, params), _ = warmup.run(key_warm, x0, num_steps=tune - pooled_tune)
        return state, params

    def pooled_step_size(target, states, inverse_mass, step_size, key):
        """Dual averaging of one step size for all chains on their mean acceptance rate, with
        the pooled mass matrix fixed: (states, step size)."""
        da_init, da_update, da_final = dual_averaging_adaptation(target_accept)

        def one(carry, k):
            states, da = carry
            kernel = blackjax.nuts(
                target,
                step_size=jnp.exp(da.log_step_size),
                inverse_mass_matrix=inverse_mass,
                max_num_doublings=WARMUP_MAX_DOUBLINGS,
            )
            states, info = jax.vmap(kernel.step)(jax.random.split(k, chains), states)
            return (states, da_update(da, jnp.mean(info.acceptance_rate))), None

        (states, da), _ = jax.lax.scan(one, (states, da_init(step_size)), jax.random.split(key, pooled_tune))
        return states, da_final(da)

    def draw(target, state, params, key):
        kernel = blackjax.nuts(target, **params).step

        def step(state, k):
            state, info = kernel(k, state)
            return state, (state.position, info.is_divergent, info.num_integration_steps)

        _, (pos, div, n) = jax.lax.scan(step, state, jax.random.split(key, draws))
        return pos, div, n, params["step_size"], params["inverse_mass_matrix"]

    def all_chains(data, key):
        """Adapt every chain, pool their kernels, draw with the pooled kernel."""
        key_warm, key_pool, key_draw = jax.random.split(key, 3)

        def target(x):
            return logdensity(x, data)

        states, adapted = jax.vmap(lambda k: adapt_one(target, k))(jax.random.split(key_warm, chains))
        # the warm-up's own settings (its cap on trajectories) stay behind: draws use the defaults
        params = {k: adapted[k] for k in ("step_size", "inverse_mass_matrix")}
        if pooled:
            inverse_mass = params["inverse_mass_matrix"].mean(axis=0)
            start_step = jnp.exp(jnp.log(params["step_size"]).mean())
            states, step_size = pooled_step_size(target, states, inverse_mass, start_step, key_pool)
            params = {
                "step_size": jnp.full(chains, step_size),
                "inverse_mass_matrix": jnp.broadcast_to(inverse_mass, (chains, *inverse_mass.shape)),
            }
        keys = jax.random.split(key_draw, chains)
        return jax.vmap(lambda st, p, k: draw(target, st, p, k))(states, params, keys)

    def one_chain_warm(data, key, start):
        """A fit that reuses another fit's adapted step size and mass matrix and starts where it
        ended: ``tune`` iterations of burn-in with the fixed kernel, no adaptation."""
        key_burn, key_draw = jax.random.split(key)

        def target(x):
            return logdensity(x, data)

        params = {"step_size": start["step_size"], "inverse_mass_matrix": start["inverse_mass_matrix"]}
        kernel = blackjax.nuts(target, **params)
        state = kernel.init(start["position"])

        def burn(state, k):
            return kernel.step(k, state)[0], None

        state, _ = jax.lax.scan(burn, state, jax.random.split(key_burn, tune))
        return draw(target, state, params, key_draw)

    @jax.jit
    def run_batch(data, key):
        n_batch = jax.tree_util.tree_leaves(data)[0].shape[0]
        return jax.vmap(all_chains, in_axes=(0, 0))(data, jax.random.split(key, n_batch))

    @jax.jit
    def run_warm(data, key, start):
        keys = jax.random.split(key, chains)
        return jax.vmap(one_chain_warm, in_axes=(None, 0, 0))(data, keys, start)

    def run(data, seed: int, start: dict | None = None) -> NutsResult:
        """Fit one data set (leaves without a batch axis) or a batch of them (a :class:`Batch`
        from :func:`stack`: all chains of all data sets in one program). ``start``: the
        :meth:`NutsResult.adapted` of a related fit of one data set, whose kernel is reused."""
        key = jax.random.PRNGKey(seed)
        if start is not None:
            args = (jax.tree_util.tree_map(jnp.asarray, data), key, jax.tree_util.tree_map(jnp.asarray, start))
            try:
                out = ahead["warm"](*args)
            except (KeyError, TypeError, ValueError):  # not compiled ahead, or for other shapes
                out = run_warm(*args)
            return NutsResult(*(np.asarray(v) for v in out))
        batched = isinstance(data, Batch)
        leaves = data.data if batched else jax.tree_util.tree_map(lambda v: jnp.asarray(v)[None], data)
        out = [np.asarray(v) for v in run_batch(jax.tree_util.tree_map(jnp.asarray, leaves), key)]
        return NutsResult(*out) if batched else NutsResult(*(v[0] for v in out))

    ahead: dict = {}

    def precompile_warm(data) -> None:
        """Compile the program of fits with a ``start`` (see :meth:`run`) for data shaped like
        ``data`` ahead of their first call, e.g. in a thread while another fit samples (compiling
        takes about 20 s on one core). A failure here is left for the first call to raise."""
        start = {
            "step_size": jnp.ones(chains),
            "position": jnp.zeros((chains, dim)),
            "inverse_mass_matrix": jnp.ones((chains, dim, dim) if dense_mass else (chains, dim)),
        }
        try:
            lowered = run_warm.lower(jax.tree_util.tree_map(jnp.asarray, data), jax.random.PRNGKey(0), start)
            ahead["warm"] = lowered.compile()
        except Exception:  # noqa: BLE001 - the first call compiles again and raises it in the caller
            ahead.clear()

    run.precompile_warm = precompile_warm
    return run


@dataclass(frozen=True)
class Batch:
    """Several data sets of one shape, stacked along a leading axis (see :func:`stack`)."""

    data: dict


def stack(datasets: list[dict]) -> Batch:
    """Stack data dicts of identical shapes into one :class:`Batch`."""
    return Batch({k: np.stack([np.asarray(d[k]) for d in datasets]) for k in datasets[0]})
