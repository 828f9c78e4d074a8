"""CaptureDraws: the capture process implied by each posterior draw, for forward simulation.

Scenarios change the capture process, never the population. What they need from a fit is,
for every posterior draw and stratum, the population size N and the probability that a
member of the population has each capture pattern over the lists (including the all-zero
pattern: never listed). Every model family that can feed scenarios provides a converter to
this type; the scenario engine only ever sees CaptureDraws.

Dims: ``sample`` (chain x draw flattened), the strata dims, and ``pattern_full`` whose labels
are the 2**K patterns in canonical order, index 0 being all zeros ('000...').
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from .constants import STRATUM_DIM, TERM_DIM
from .table import pattern_matrix

SAMPLE_DIM = "sample"
PATTERN_FULL_DIM = "pattern_full"


@dataclass(frozen=True)
class CaptureDraws:
    """Per posterior draw: N (dims sample, *strata) and pattern probabilities over all 2**K.

    ``anonymous`` names lists whose members cannot be linked to the others (the chat);
    ``register`` names the lists that together make up the register (a person is registered
    when on any of them).
    """

    N: xr.DataArray
    pattern_prob: xr.DataArray
    lists: tuple[str, ...]
    register: tuple[str, ...]
    anonymous: tuple[str, ...] = ()

    @property
    def strata(self) -> tuple[str, ...]:
        return tuple(d for d in self.N.dims if d != SAMPLE_DIM)

    def membership(self) -> xr.DataArray:
        """0/1 (pattern_full, list) membership matrix as a DataArray."""
        return xr.DataArray(
            pattern_matrix(len(self.lists), include_zero=True),
            dims=(PATTERN_FULL_DIM, "list"),
            coords={PATTERN_FULL_DIM: self.pattern_prob[PATTERN_FULL_DIM].values, "list": list(self.lists)},
        )

    def prob_on_any(self, names: tuple[str, ...] | list[str]) -> xr.DataArray:
        """Probability of being on at least one of ``names`` (dims sample, *strata)."""
        member = self.membership().sel(list=list(names)).max("list")
        return (self.pattern_prob * member).sum(PATTERN_FULL_DIM)

    def expected_counts(self) -> xr.Dataset:
        """Expected numbers reached by each kind of source, per draw and stratum."""
        hidden = self.pattern_prob.isel({PATTERN_FULL_DIM: 0}, drop=True)
        out = {
            "registered": self.N * self.prob_on_any(self.register),
            "reached_any": self.N * (1.0 - hidden),
            "hidden": self.N * hidden,
            "N": self.N,
        }
        if self.anonymous:
            out["reached_chat"] = self.N * self.prob_on_any(self.anonymous)
        return xr.Dataset(out)


def full_pattern_labels(n_lists: int) -> list[str]:
    return ["".join(map(str, row)) for row in pattern_matrix(n_lists, include_zero=True)]


def from_loglinear(estimate, register: tuple[str, ...] | None = None) -> CaptureDraws:
    """CaptureDraws of a log-linear Estimate: p(pattern) = mu(pattern) / sum mu, N from draws."""
    from .spec import LoglinearSpec
    from .terms import design_matrix, resolve_terms

    table = estimate.table
    spec = LoglinearSpec.model_validate(estimate.model)
    design = design_matrix(table.n_lists, resolve_terms(spec, table.lists))
    beta = estimate.posterior["beta"].transpose("chain", "draw", STRATUM_DIM, TERM_DIM).values
    chains, draws, n_strata, _ = beta.shape
    eta = beta @ design.T  # (chain, draw, stratum, 2^K)
    eta -= eta.max(axis=-1, keepdims=True)
    prob = np.exp(eta)
    structural = table.flat_structural_zero()
    zeros = np.broadcast_to(structural[None, None], (chains, draws, *structural.shape))
    prob[..., 1:][zeros] = 0.0
    prob /= prob.sum(axis=-1, keepdims=True)
    strata_shape = table.strata_shape()
    prob = prob.reshape(chains * draws, *strata_shape, 2**table.n_lists)
    n = estimate.posterior["N"].transpose("chain", "draw", *table.strata).values.reshape(chains * draws, *strata_shape)
    coords = {SAMPLE_DIM: np.arange(chains * draws), **table.strata_coords()}
    return CaptureDraws(
        N=xr.DataArray(n, dims=(SAMPLE_DIM, *table.strata), coords=coords),
        pattern_prob=xr.DataArray(
            prob,
            dims=(SAMPLE_DIM, *table.strata, PATTERN_FULL_DIM),
            coords={**coords, PATTERN_FULL_DIM: full_pattern_labels(table.n_lists)},
        ),
        lists=table.lists,
        register=register or table.lists,
    )
