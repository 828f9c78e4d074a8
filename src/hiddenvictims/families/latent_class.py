"""Latent-class heterogeneity model (Manrique-Vallier 2016; R package LCMCR).

The population is a mixture of at most K classes (truncated stick-breaking, i.e. a truncated
Dirichlet process with concentration alpha ~ Gamma(a, b)); within class k a person is on list j
independently with probability lambda_jk ~ Beta(c, d). LCMCR's defaults: K = 10 in its published
runs (its function default is 5), a = b = 0.25, c = d = 1.

Sampling. With the prior p(N) proportional to 1/N, N integrates out and the class parameters
have the conditional likelihood

    prod over observed patterns x of p(x)^{n_x} / (1 - p0)^n,

p(x) = sum_k pi_k prod_j lambda_jk^{x_j} (1 - lambda_jk)^{1 - x_j} (class labels summed out
with log-sum-exp) and p0 = p(all zero). The continuous parameters are sampled (no discrete
class labels, no discrete N); each posterior draw then gets N = n + NegBinomial(n, 1 - p0)
(numpy, seeded from the sampler seed).

Parameterisation (what helps gradient-based samplers):

* capture probabilities on the logit scale, eta = logit(lambda), with the Beta(c, d) prior
  pushed forward (log density c log lambda + d log(1 - lambda), written with softplus);
* sticks V_k on the scale s_k = -log(1 - V_k) (the log of what each break leaves), sampled as
  log s_k; log pi_k = log(1 - exp(-s_k)) - sum_{j<k} s_j, exact in floating point;
* alpha integrated out analytically: given alpha the s_k are iid Exponential(alpha), so with
  alpha ~ Gamma(a, b) the sticks have joint density proportional to (b + sum s)^-(a + K - 1).
  That removes the alpha-stick funnel (the main source of divergences with small alpha). Each
  draw then gets alpha | sticks ~ Gamma(a + K - 1, b + sum s), its exact full conditional
  (it does not depend on the data), so the (alpha, sticks, lambda) draws are joint posterior
  draws.

Samplers (``spec.sampler``). Labels switch between chains; N and p0 do not care, and they are
what the diagnostics check. What a single NUTS chain cannot do is move a nearly empty class
into a new configuration: when the posterior has several mixture configurations (e.g. a small
class of people on many lists present or absent), NUTS chains settle in different ones (on
the UK 2013 six lists: R-hat of N 1.02-1.07 whatever the run length). The default,
'tempering', runs parallel tempering (:mod:`hiddenvictims.inference.tempering`) on a numba kernel of the
same density (:mod:`.latent_class_kernel`), which moves between configurations through the
hotter chains, and after every HMC move tries exchanges of two classes
(:mod:`.latent_class_relabel`): the stick-breaking prior is not exchangeable in the labels, so
each order of the occupied classes is a mode of its own that no continuous move leaves, and
the orders differ in how readily a small class appears (on the UK 2013 six lists the median
of N moved by 1,000 with the order warm-up ended in). 'nuts' keeps the PyMC model (useful as a
cross-check; it has no label moves). Either way, when chains
still disagree the fit says so in its notes, with the per-chain medians of N; when they agree
on N but not on the configuration (R-hat of the sorted class weights, which do not depend on
labels), the notes say so, and N's stated Monte Carlo error comes from the chains' spread.

Structural zeros: a list that did not operate in a stratum is masked out of that stratum's
likelihood (its lambda then follows its prior and plays no role). Strata are fitted one by one
with the same compiled model.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.special import expit, logsumexp

from ..core.constants import LIST_DIM, RHAT_MAX, STRATUM_DIM
from ..core.estimate import Estimate, make_estimate
from ..core.spec import LatentClassSpec, SamplerSettings
from ..core.table import CaptureTable, pattern_matrix
from ..inference.tempering import TemperingSettings, sample_tempering
from .latent_class_kernel import LatentClassDensity
from .latent_class_relabel import log_weights_from_sticks

CLASS_DIM = "latent_class"
STICK_DIM = "stick"
FREE_VARS = ["log_s", "eta"]
#: Below this swap rate between two neighbouring temperatures the fit says the ladder has a gap.
MIN_SWAP_RATE = 0.1
#: Above this R-hat of the second or third largest class weight the fit says the configuration
#: mixes slowly. Looser than N's 1.01 because the weight of a class that comes and goes has an
#: ESS of only 200-300 in a default run on the UK 2013 six lists, where seeds agree within their
#: Monte Carlo error and its R-hat is still 1.003-1.039; chains stuck in different class orders
#: (before the sampler exchanged labels) gave 1.10-1.16, and NUTS chains 1.45.
CONFIGURATION_RHAT_MAX = 1.05


# ---------------------------------------------------------------------------- model
def model_data(table: CaptureTable, spec: LatentClassSpec) -> list[dict[str, np.ndarray]]:
    """pm.Data values for each stratum (counts in canonical order incl. the zero cell, mask)."""
    counts = table.flat_counts().astype(np.float64)
    active = table.active.transpose(*table.strata, LIST_DIM).values.reshape(-1, table.n_lists)
    out = []
    for s in range(counts.shape[0]):
        out.append(
            {
                "counts": np.concatenate([[0.0], counts[s]]),
                "active": active[s].astype(np.float64),
                "alpha_shape": np.asarray(spec.alpha_shape, dtype=np.float64),
                "alpha_rate": np.asarray(spec.alpha_rate, dtype=np.float64),
                "capture_a": np.asarray(spec.capture_a, dtype=np.float64),
                "capture_b": np.asarray(spec.capture_b, dtype=np.float64),
            }
        )
    return out


def log_weights(log_s: pt.TensorVariable | np.ndarray, xp=pt):
    """Stick-breaking log weights from log s (s_k = -log(1 - V_k)); last axis = sticks.

    Works on PyTensor tensors (``xp=pt``) and on numpy arrays (``xp=np``).
    """
    if xp is pt:
        s = pt.exp(log_s)
        log_v = pt.log1mexp(-s)
        cum = pt.cumsum(s, axis=-1)
        zeros = pt.zeros_like(s[..., :1])
        return pt.concatenate([log_v, zeros], axis=-1) - pt.concatenate([zeros, cum], axis=-1)
    return log_weights_from_sticks(log_s)


def build_model(n_lists: int, n_classes: int, list_names=None) -> pm.Model:
    """Pure: the PyMC model for one stratum of ``n_lists`` lists and ``n_classes`` classes.

    Everything table- or prior-specific is a ``pm.Data`` container (``counts``, ``active``,
    ``alpha_shape``, ``alpha_rate``, ``capture_a``, ``capture_b``), so one compiled model serves
    every table with the same number of lists and classes.
    """
    pats = pattern_matrix(n_lists, include_zero=True).astype(np.float64)
    names = list(list_names) if list_names is not None else [f"list{j}" for j in range(n_lists)]
    coords = {
        LIST_DIM: names,
        CLASS_DIM: np.arange(n_classes),
        STICK_DIM: np.arange(max(n_classes - 1, 0)),
        "cell": np.arange(2**n_lists),
    }
    with pm.Model(coords=coords) as model:
        counts = pm.Data("counts", np.zeros(2**n_lists), dims="cell")
        active = pm.Data("active", np.ones(n_lists), dims=LIST_DIM)
        a_alpha = pm.Data("alpha_shape", 0.25)
        b_alpha = pm.Data("alpha_rate", 0.25)
        cap_a = pm.Data("capture_a", 1.0)
        cap_b = pm.Data("capture_b", 1.0)
        n_obs = counts[1:].sum()

        eta = pm.Flat("eta", dims=(LIST_DIM, CLASS_DIM))  # logit capture probabilities
        log_lam = -pt.softplus(-eta)
        log1m_lam = -pt.softplus(eta)
        pm.Potential("capture_prior", (cap_a * log_lam + cap_b * log1m_lam).sum())

        if n_classes > 1:
            log_s = pm.Flat("log_s", dims=STICK_DIM)
            total = pt.exp(log_s).sum()
            # alpha integrated out: p(s) ∝ (b + sum s)^-(a + K - 1); + log s for the log scale
            pm.Potential("stick_prior", -(a_alpha + n_classes - 1) * pt.log(b_alpha + total) + log_s.sum())
            log_w = log_weights(log_s)
        else:
            log_w = pt.zeros(1)

        # log P(pattern | class) over active lists: x . eta + sum_j log(1 - lambda_j)
        masked_eta = eta * active[:, None]
        base = (log1m_lam * active[:, None]).sum(axis=0)
        log_joint = pt.dot(pats, masked_eta) + base[None, :] + log_w[None, :]
        log_p = pt.logsumexp(log_joint, axis=1).flatten()
        pm.Potential("loglik", (counts[1:] * log_p[1:]).sum() - n_obs * pt.log1mexp(log_p[0]))
    return model


def structure_key(table: CaptureTable, spec: LatentClassSpec) -> tuple:
    """Fits with equal keys share one compiled model (only pm.Data values differ)."""
    return ("latent_class", table.n_lists, spec.n_classes)


# ---------------------------------------------------------------------------- after sampling
def derived_draws(eta: np.ndarray, log_s: np.ndarray | None, active: np.ndarray) -> dict[str, np.ndarray]:
    """Class weights, capture probabilities and log p0 per draw (numpy, stable).

    ``eta`` is (chain, draw, list, class), ``log_s`` (chain, draw, stick) or None for K = 1.
    """
    if log_s is None:
        log_w = np.zeros((*eta.shape[:2], 1))
    else:
        log_w = log_weights(log_s, xp=np)
    log1m = -np.logaddexp(0.0, eta)  # log(1 - lambda)
    log_p0 = logsumexp(log_w + (log1m * active[None, None, :, None]).sum(axis=2), axis=-1)
    return {"class_weight": np.exp(log_w), "capture_prob": expit(eta), "log_p0": log_p0}


def hidden_draws(log_p0: np.ndarray, n_obs: int, rng: np.random.Generator) -> np.ndarray:
    """N - n ~ NegBinomial(n, 1 - p0): failures before n successes, success probability 1 - p0."""
    success = np.clip(-np.expm1(log_p0), 1e-15, 1.0)
    return rng.negative_binomial(n_obs, success)


def alpha_draws(log_s: np.ndarray | None, spec: LatentClassSpec, rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """alpha | sticks ~ Gamma(a + K - 1, rate b + sum s): its exact full conditional."""
    if log_s is None:
        return rng.gamma(spec.alpha_shape, 1.0 / spec.alpha_rate, size=shape)
    total = np.exp(log_s).sum(axis=-1)
    return rng.gamma(spec.alpha_shape + spec.n_classes - 1, 1.0 / (spec.alpha_rate + total))


def chain_disagreement(n_draws: np.ndarray, p0: np.ndarray) -> str | None:
    """A note when chains settled in different mixture configurations (R-hat of p0 too high)."""
    import arviz as az

    if p0.shape[0] < 2:
        return None
    rhat = float(az.rhat(np.asarray(p0)))
    if np.isfinite(rhat) and rhat <= RHAT_MAX:
        return None
    medians = ", ".join(f"{m:,.0f}" for m in np.median(n_draws, axis=1))
    return (
        f"Chains disagree (R-hat of p0 {rhat:.3f}): per-chain medians of N are {medians}. "
        "Latent-class posteriors can have several mixture configurations (for example a small "
        "class of people on many lists present in some chains and absent in others) that the "
        "chains did not move between often enough; run longer (or, under NUTS, switch to "
        "sampler = 'tempering'), and compare seeds before using N."
    )


def ranked_weights(class_weight: np.ndarray) -> np.ndarray:
    """Class weights sorted from largest down along the last axis: label-free summaries."""
    return -np.sort(-class_weight, axis=-1)


def configuration_note(n_draws: np.ndarray, class_weight: np.ndarray) -> str | None:
    """A note when the mixture configuration mixes more slowly than N shows.

    ``class_weight`` is (chain, draw, class). The sorted weights (largest, second, third ...)
    do not depend on class labels, so their R-hat is meaningful. Before the sampler exchanged
    labels (:mod:`.latent_class_relabel`), the third-largest weight on the UK 2013 six lists had
    R-hat up to 1.16 while N's was 1.006: each chain kept the class order its warm-up ended in,
    the orders differ in how often a small class is present, and N's ESS did not see it. With
    the exchanges that is rare, but a weight of a class that comes and goes mixes more slowly
    than N, so the check stays (and :func:`..core.diagnostics.quantile_mcse` still looks at the
    chains' own medians).
    """
    import arviz as az

    if n_draws.shape[0] < 2 or class_weight.shape[-1] < 3:
        return None
    ranked = ranked_weights(class_weight)
    rhats = [float(az.rhat(ranked[..., k])) for k in (1, 2)]
    finite = [r for r in rhats if np.isfinite(r)]
    if not finite or max(finite) <= CONFIGURATION_RHAT_MAX:
        return None
    return (
        f"The mixture configuration mixes slowly: R-hat of the second and third largest class "
        f"weights {rhats[0]:.3f} and {rhats[1]:.3f} (N: {float(az.rhat(n_draws)):.3f}). Chains "
        "move between configurations (for example with or without a small class) less often "
        "than N's effective sample size suggests; where the chains' own medians and interval "
        "ends spread more than that allows, the stated Monte Carlo errors come from their spread, "
        "but even those can be too small. Run longer (more draws) before quoting N to the last "
        "few percent."
    )


def describe(table: CaptureTable, spec: LatentClassSpec) -> list[str]:
    notes = [
        f"Latent classes: up to {spec.n_classes} classes of people with their own capture "
        f"probabilities (Beta({spec.capture_a:g}, {spec.capture_b:g}) prior), lists independent "
        f"within a class; stick-breaking weights with concentration alpha ~ "
        f"Gamma({spec.alpha_shape:g}, {spec.alpha_rate:g}); prior on N proportional to 1/N."
    ]
    if table.n_lists < 3:
        notes.append(
            "With two lists a latent-class model is not identified: the heterogeneity and N "
            "are decided by the priors, not by the data."
        )
    return notes


# ---------------------------------------------------------------------------- fit
def _nuts_stratum(model, table, spec, settings, data, seed):
    """(eta, log_s, sample_stats, notes) of one stratum by NUTS (``spec.sampler = 'nuts'``);
    ``model`` is built once per fit and shared by the strata (only its pm.Data change)."""
    from ..inference.sampling import sample

    run = settings.model_copy(update={"seed": seed})
    var_names = FREE_VARS if spec.n_classes > 1 else ["eta"]
    idata = sample(model, data, run, key=structure_key(table, spec), var_names=var_names)
    post = idata.posterior
    eta = post["eta"].transpose("chain", "draw", ...).values
    log_s = post["log_s"].transpose("chain", "draw", ...).values if spec.n_classes > 1 else None
    return eta, log_s, idata.sample_stats, []


def target_accept(spec: LatentClassSpec, sampler: SamplerSettings) -> float:
    """The step-size target of whichever sampler runs: the spec's when set, else the
    sampler settings'. (The divergence warning says "raise target_accept": it must act.)"""
    return spec.target_accept if spec.target_accept is not None else sampler.target_accept


def tempering_settings(spec: LatentClassSpec, sampler: SamplerSettings) -> TemperingSettings:
    return TemperingSettings(
        temperatures=spec.temperatures,
        min_beta=spec.min_beta,
        trajectory=spec.trajectory,
        max_leapfrog=spec.max_leapfrog,
        target_accept=target_accept(spec, sampler),
        thin=spec.thin,
    )


def _tempering_stratum(table, spec, settings, data, seed):
    """(eta, log_s, sample_stats, notes) of one stratum by parallel tempering (the default)."""
    from ..inference.sampling import n_cores

    density = LatentClassDensity(
        n_lists=table.n_lists,
        n_classes=spec.n_classes,
        counts=data["counts"],
        active=data["active"],
        alpha_shape=spec.alpha_shape,
        alpha_rate=spec.alpha_rate,
        capture_a=spec.capture_a,
        capture_b=spec.capture_b,
        relabel_tries=spec.relabel,
    )
    ts = tempering_settings(spec, settings)
    rng = np.random.default_rng([seed, 0x7E4B])
    init = density.initial_points(rng, settings.chains * ts.temperatures)
    init = init.reshape(settings.chains, ts.temperatures, density.dim)
    res = sample_tempering(density, init, settings.draws, settings.tune, ts, seed, n_cores(settings))
    chains, draws = res.draws.shape[:2]
    n_eta = table.n_lists * spec.n_classes
    eta = res.draws[..., :n_eta].reshape(chains, draws, table.n_lists, spec.n_classes)
    log_s = res.draws[..., n_eta:] if spec.n_classes > 1 else None
    stats = xr.Dataset(
        {
            "acceptance_rate": (("chain", "draw"), res.accept),
            "diverging": (("chain", "draw"), res.diverging),
            "diverging_first": (("chain", "draw"), res.diverging_first),
            "retry_accepted": (("chain", "draw"), res.retry_accepted),
            "n_steps": (("chain", "draw"), res.n_leapfrog),
            "relabel_accepted": (("chain", "draw"), res.extra_accepted),
        },
        coords={"chain": np.arange(chains), "draw": np.arange(draws)},
        attrs={
            "sampler": "parallel tempering",
            "betas": res.betas.tolist(),
            "swap_rate": res.swap_rate.tolist(),
            "step_size": res.step_size.tolist(),
        },
    )
    notes = [swap_note(res.betas, res.swap_rate), retry_note(res, ts.retry_factor)]
    return eta, log_s, stats, notes + [relabel_note(res.extra_accepted, spec.relabel, ts.thin)]


def relabel_note(accepted: np.ndarray, tries: int, thin: int) -> str:
    """Plain words on the class-label exchanges of the beta = 1 chains (``accepted`` per draw)."""
    if tries == 0:
        return "No class-label exchanges (relabel = 0): each chain keeps the class order it starts in."
    per = accepted.sum() / (accepted.size * thin)
    text = f"Class-label exchanges: {per:.2f} accepted per iteration at beta 1 ({tries} tried)."
    if accepted.sum() == 0:
        text += " None was accepted: the class orders did not mix; compare seeds before using N."
    return text


def retry_note(res, factor: int) -> str:
    """Plain words on the moves retried with a smaller step (see ``tempering.hmc_move``)."""
    first, left = int(res.diverging_first.sum()), int(res.diverging.sum())
    if first == 0:
        return "No HMC move diverged."
    return (
        f"{first} of {res.diverging.size:,} HMC moves diverged at the adapted step size and were "
        f"retried with the step divided by {factor} (delayed rejection): {int(res.retry_accepted.sum())} "
        f"retries accepted, {left} diverged again."
    )


def swap_note(betas: np.ndarray, swap_rate: np.ndarray) -> str:
    """Plain words on the tempering ladder; flags a gap where swaps (nearly) never happen."""
    if len(swap_rate) == 0:
        return "Sampled by HMC at one temperature (no tempering)."
    text = (
        f"Sampled by parallel tempering: {len(betas)} temperatures (beta 1 to {betas[-1]:.2f}), "
        f"swap rates between neighbours {swap_rate.min():.2f}-{swap_rate.max():.2f}."
    )
    low = int(np.argmin(swap_rate))
    if swap_rate[low] < MIN_SWAP_RATE:
        text += (
            f" Few swaps between beta {betas[low]:.2f} and {betas[low + 1]:.2f}: modes may not "
            "be mixed; raise 'temperatures' or lower 'min_beta'."
        )
    return text


def fit(table: CaptureTable, spec: LatentClassSpec, sampler: SamplerSettings) -> Estimate:
    """Fit the latent-class model (stratum by stratum) and return the posterior of N.

    ``spec.sampler``: 'tempering' (default; parallel tempering with the numba kernel, mixes
    between mixture configurations) or 'nuts' (PyMC model; ``backend = "auto"`` means nutpie
    when installed). Either sampler adapts its step size to :func:`target_accept`. The settings actually used
    are recorded in ``Estimate.sampler``.
    """
    from ..inference.sampling import prefer_nutpie

    settings = sampler.model_copy(update={"target_accept": target_accept(spec, sampler)})
    if spec.sampler == "nuts":
        # PyMC's NUTS needs minutes for this model (long trajectories at small steps through
        # a 10-class mixture); nutpie needs seconds plus a one-off compile.
        settings = settings.model_copy(update={"backend": prefer_nutpie(settings.backend)})
        sample_stratum = partial(_nuts_stratum, build_model(table.n_lists, spec.n_classes, table.lists))
    else:
        sample_stratum = _tempering_stratum
    labels = table.stratum_labels()
    observed = table.flat_counts().sum(axis=1)
    rng = np.random.default_rng([sampler.seed, 0x1C4C])
    per_stratum: list[dict[str, np.ndarray]] = []
    stats = []
    sampler_notes: list[str] = []
    for s, data in enumerate(model_data(table, spec)):
        seed = sampler.seed if len(labels) == 1 else int(np.random.SeedSequence([sampler.seed, s]).generate_state(1)[0])
        eta, log_s, stat, extra = sample_stratum(table, spec, settings, data, seed)
        derived = derived_draws(eta, log_s, data["active"])
        derived["alpha"] = alpha_draws(log_s, spec, rng, eta.shape[:2])
        derived["hidden"] = hidden_draws(derived["log_p0"], int(observed[s]), rng)
        per_stratum.append(derived)
        stats.append(stat)
        sampler_notes += [n if len(labels) == 1 else f"Stratum {labels[s]}: {n}" for n in extra]

    hidden = np.stack([d["hidden"] for d in per_stratum], axis=-1)
    chains, draws = hidden.shape[:2]
    base = {"chain": np.arange(chains), "draw": np.arange(draws), STRATUM_DIM: labels}
    lists = list(table.lists)
    classes = np.arange(spec.n_classes)

    def stack(name: str) -> np.ndarray:
        return np.stack([d[name] for d in per_stratum], axis=2)

    log_p0 = stack("log_p0")
    posterior = xr.Dataset(
        {
            "p0": (("chain", "draw", STRATUM_DIM), np.exp(log_p0)),
            "alpha": (("chain", "draw", STRATUM_DIM), stack("alpha")),
            "class_weight": (("chain", "draw", STRATUM_DIM, CLASS_DIM), stack("class_weight")),
            "capture_prob": (
                ("chain", "draw", STRATUM_DIM, LIST_DIM, CLASS_DIM),
                stack("capture_prob"),
            ),
        },
        coords={**base, LIST_DIM: lists, CLASS_DIM: classes},
    )
    sample_stats = xr.concat(stats, dim=STRATUM_DIM) if len(stats) > 1 else stats[0]
    import arviz as az

    idata = az.InferenceData(posterior=posterior, sample_stats=sample_stats)
    notes = describe(table, spec) + sampler_notes
    for s, label in enumerate(labels):
        n_draws = observed[s] + hidden[..., s]
        note = chain_disagreement(n_draws, np.exp(log_p0[..., s]))
        if note is None:  # chains agree on N: do they agree on the configuration?
            note = configuration_note(n_draws, per_stratum[s]["class_weight"])
        if note:
            notes.append(note if len(labels) == 1 else f"Stratum {label}: {note}")
    return make_estimate(
        family="latent_class",
        table=table,
        hidden=hidden.reshape(chains, draws, *table.strata_shape()),
        model=spec.model_dump(mode="json"),
        sampler=settings.model_dump(mode="json"),
        seed=sampler.seed,
        idata=idata,
        notes=notes,
        diagnostic_vars=("N", "p0"),
    )
