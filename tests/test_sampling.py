"""The sampler settings reach PyMC, and the Numba compile mode samples the same model."""

from __future__ import annotations

import numpy as np
import pymc as pm
from conftest import load_benchmark

from hiddenvictims.core.spec import LoglinearSpec, SamplerSettings
from hiddenvictims.families import loglinear
from hiddenvictims.inference import sampling


def captured_kwargs(monkeypatch, settings: SamplerSettings) -> dict:
    seen = {}

    def fake_sample(**kwargs):
        seen.update(kwargs)
        return "idata"

    monkeypatch.setattr(pm, "sample", fake_sample)
    with pm.Model() as model:
        pm.Normal("x")
    assert sampling.sample(model, {}, settings, key="k") == "idata"
    return seen


def test_compile_mode_is_passed_to_pymc(monkeypatch):
    numba = captured_kwargs(monkeypatch, SamplerSettings(compile_mode="numba", seed=3, draws=50))
    assert numba["compile_kwargs"] == {"mode": "NUMBA"}
    assert (numba["random_seed"], numba["draws"]) == (3, 50)
    assert captured_kwargs(monkeypatch, SamplerSettings())["compile_kwargs"] is None


def test_numba_and_c_compile_the_same_density():
    """The log density and its gradient agree to 1e-9 between the two backends at 200 random
    points of a two-way log-linear model (UK 2013, 4 lists): the faster backend changes
    nothing but speed."""
    table = load_benchmark("uk_2013_4lists_noGP")
    spec = LoglinearSpec(name="two-way", interactions=["all-two-way"])
    model, values = loglinear.build_model(table, spec)
    with model:
        pm.set_data(values)
    funcs = [model.logp_dlogp_function(ravel_inputs=True, mode=mode) for mode in ("FAST_RUN", "NUMBA")]
    for f in funcs:
        f.set_extra_values({})
    linkers = [type(f._pytensor_function.maker.linker).__name__ for f in funcs]
    assert "Numba" not in linkers[0] and "Numba" in linkers[1], linkers
    size = sum(int(np.prod(v.shape)) for v in model.initial_point().values())
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = rng.normal(0.0, 2.0, size)
        (a, ga), (b, gb) = funcs[0](x), funcs[1](x)
        np.testing.assert_allclose(b, a, rtol=1e-9)
        np.testing.assert_allclose(gb, ga, rtol=1e-9, atol=1e-9 * (1 + np.abs(ga).max()))
