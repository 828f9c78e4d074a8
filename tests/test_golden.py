"""Golden baselines: every shipped config, rerun with reduced draws (tests/golden/regenerate.py
states them), must agree with its stored baseline within ``hiddenvictims check``'s Monte Carlo
tolerance. Regenerate with ``make golden`` only after a change meant to move the estimates.

The Dutch configs are checked where their baselines already run end to end on the same reduced
copy: test_synthesis_run.py (the default and the scenarios that read its folder) and
test_netherlands_run.py (the chat-only model).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import regenerate  # noqa: E402

CONFIGS = [stem for stem in regenerate.shipped_configs() if stem not in regenerate.DUTCH]


@pytest.fixture(scope="session")
def reduced(tmp_path_factory) -> Path:
    return regenerate.reduced_copy(tmp_path_factory.mktemp("golden"))


def test_every_shipped_config_has_a_golden_baseline_or_is_listed():
    stems = {p.stem for p in (regenerate.ROOT / "scenarios").glob("*.toml")}
    assert stems == set(regenerate.shipped_configs()) | regenerate.NOT_RUNNABLE
    assert regenerate.DUTCH <= stems


@pytest.mark.parametrize("stem", CONFIGS)
def test_golden(stem, reduced, tmp_path):
    out = regenerate.run_reduced(stem, reduced, tmp_path / stem)
    regenerate.assert_matches_golden(stem, out)
