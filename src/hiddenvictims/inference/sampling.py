"""Running NUTS on a PyMC model: PyMC's own sampler or nutpie, same settings, same output.

``backend='auto'`` means PyMC: a single fit in a fresh process costs about 1.5 s with PyMC
(its compiled C code is cached on disk) against about 10 s of nutpie compilation. Choose
``nutpie`` for many fits of one structure in one process (simulation studies, monitoring
refits, benchmarks): after the first compile each fit takes a fraction of a second.

nutpie compiles a model to native code once (seconds); the compiled model is cached by a
structural key, and later fits with the same structure only swap the ``pm.Data`` values
(``with_data``), so repeated fits (benchmarks, simulations, scenario refits) pay the
compilation once.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Hashable
from typing import Any

import arviz as az
import numpy as np
import pymc as pm

from ..core.spec import SamplerSettings
from ..core.workers import worker_context

_COMPILED: dict[Hashable, Any] = {}
_LOCK = threading.Lock()


def nutpie_available() -> bool:
    return importlib.util.find_spec("nutpie") is not None


def prefer_nutpie(backend: str) -> str:
    """``backend`` with 'auto' read as nutpie when it is installed (else left as it is).

    For callers where nutpie's one-off compile pays for itself: many fits of one structure in
    one process (simulation studies), or a model PyMC's NUTS needs minutes for.
    """
    return "nutpie" if backend == "auto" and nutpie_available() else backend


def resolve_backend(settings: SamplerSettings) -> str:
    if settings.backend == "auto":
        return "pymc"
    if settings.backend == "nutpie" and not nutpie_available():
        from ..core.errors import InputError

        raise InputError("sampler.backend = 'nutpie' but nutpie is not installed (pip install nutpie)")
    return settings.backend


def n_cores(settings: SamplerSettings) -> int:
    return settings.cores or min(settings.chains, os.cpu_count() or 1)


def sample(
    model: pm.Model,
    data: dict[str, np.ndarray],
    settings: SamplerSettings,
    key: Hashable,
    var_names: list[str] | None = None,
) -> az.InferenceData:
    """Sample ``model`` with its ``pm.Data`` containers set to ``data``.

    ``key`` identifies the model structure (same key = same compiled model can be reused).
    Returns InferenceData with ``posterior`` and ``sample_stats``.
    """
    backend = resolve_backend(settings)
    if backend == "nutpie":
        return _sample_nutpie(model, data, settings, key, var_names)
    return _sample_pymc(model, data, settings, var_names)


def _sample_pymc(
    model: pm.Model, data: dict[str, np.ndarray], settings: SamplerSettings, var_names: list[str] | None
) -> az.InferenceData:
    from ..core import progress

    # Our progress (bars or CI lines) replaces PyMC's own bar; the first draw arrives after
    # PyMC has compiled and initialised, which the bars' elapsed time includes.
    with (
        model,
        progress.task("sampling", settings.tune + settings.draws, settings.chains, "draws", part_label="chain") as bar,
    ):
        pm.set_data(data)
        return pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=n_cores(settings),
            random_seed=settings.seed,
            target_accept=settings.target_accept,
            progressbar=settings.progressbar and not progress.enabled(),
            callback=_counter(bar) if progress.enabled() else None,
            compute_convergence_checks=False,
            var_names=var_names,
            return_inferencedata=True,
            idata_kwargs={"log_likelihood": False},
            compile_kwargs={"mode": "NUMBA"} if settings.compile_mode == "numba" else None,
            mp_ctx=worker_context(),
        )


def _sample_nutpie(
    model: pm.Model,
    data: dict[str, np.ndarray],
    settings: SamplerSettings,
    key: Hashable,
    var_names: list[str] | None,
) -> az.InferenceData:
    import nutpie

    from ..core import progress

    with _LOCK:
        compiled = _COMPILED.get(key)
        if compiled is None:
            with progress.phase("compiling the model (nutpie)"):
                compiled = nutpie.compile_pymc_model(model, var_names=var_names)
            _COMPILED[key] = compiled
    compiled = compiled.with_data(**data)
    # nutpie reports draws only to its own bar or to notebooks, so ours shows elapsed time.
    steps = f"{settings.chains} x {settings.tune + settings.draws:,}"
    with progress.phase(f"sampling {steps} draws (nutpie)"):
        idata = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=n_cores(settings),
            seed=settings.seed,
            target_accept=settings.target_accept,
            progress_bar=settings.progressbar and not progress.enabled(),
        )
    return idata


def _counter(bar):
    """PyMC's per-draw callback (tuning draws included), counted on the chain's bar."""

    def callback(trace, draw) -> None:
        bar.advance(part=draw.chain)

    return callback


def clear_cache() -> None:
    """Forget compiled models (tests use this to measure cold compiles)."""
    with _LOCK:
        _COMPILED.clear()
