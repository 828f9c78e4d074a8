"""Regenerate the golden baselines of every shipped config (``make golden``).

Each config in scenarios/ is run with reduced draws (GOLDEN_SAMPLER below; scenarios without
monitoring precision, sweeps on a 3 x 3 grid) and its quantities are stored as
tests/golden/<config>/baseline.json. tests/test_golden.py reruns the same reduced configs and
checks them with ``hiddenvictims check``. Regenerate only on purpose: after a change that is
meant to move the estimates (a model, prior or data change), and say so in the commit.

    python tests/golden/regenerate.py [CONFIG_STEM ...]
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
#: Reduced sampler settings for every config: (chains, draws, tune). The Dutch chat-only config
#: runs the anonymous-list sampler, so it gets fewer draws, and PyTensor's cached C backend
#: instead of a fresh Numba compile. The evidence
#: synthesis keeps its full warm-up (a short one leaves the dense mass matrix unadapted, and every
#: draw then builds trajectories of up to 1,024 steps: slower, not faster) and its check fits get
#: fewer draws (CHECK_DRAWS).
GOLDEN_SAMPLER = {"default": (2, 300, 300), "dutch": (2, 150, 150), "synthesis": (4, 200, 1000)}
CHECK_DRAWS = {"check_draws": 100, "check_burn": 100}
SWEEP_POINTS = 3
#: Configs that are a baseline for others and not runnable on their own.
NOT_RUNNABLE = {"demo-chat-baseline", "validation-study"}  # a baseline for others; a study config
#: The Dutch default, whose results folder the Dutch scenarios read instead of refitting: in a
#: reduced copy its output dir points into the copy, so run it first and the others reuse it.
DUTCH_BASELINE = "netherlands-baseline"
#: The Dutch chat-only config: a model of its own, not on the baseline's folder.
DUTCH_CHAT_ONLY = "netherlands-chat-only"
#: The Dutch configs, checked by the modules that already run the Dutch baselines end to end
#: (test_synthesis_run.py, test_netherlands_run.py) on the same reduced copy.
DUTCH = {
    "netherlands-baseline",
    "chat-referral",
    "chat-twice-findable",
    "chat-findable-and-referral",
    "netherlands-sweep",
    "netherlands-chat-only",
    "chat-parental-outreach",
}


def shipped_configs() -> list[str]:
    return sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml") if p.stem not in NOT_RUNNABLE)


def reduced_copy(dest: Path) -> Path:
    """scenarios/ and models/ copied under ``dest`` with reduced draws and sweep grids."""
    shutil.copytree(ROOT / "models", dest / "models")
    shutil.copytree(ROOT / "scenarios", dest / "scenarios")
    for path in (dest / "scenarios").glob("*.toml"):
        text = path.read_text()
        synthesis = 'kind = "netherlands-synthesis"' in text
        kind = "synthesis" if synthesis else "dutch" if path.stem in DUTCH or "netherlands" in text else "default"
        chains, draws, tune = GOLDEN_SAMPLER[kind]
        if synthesis:
            for key, value in CHECK_DRAWS.items():
                text = re.sub(rf"(?m)^{key} = \d+", f"{key} = {value}", text)
        text = re.sub(r"(?m)^draws = \d+", f"draws = {draws}", text)
        text = re.sub(r"(?m)^tune = \d+", f"tune = {tune}", text)
        text = re.sub(r"(?m)^chains = \d+", f"chains = {chains}", text)
        text = re.sub(r"(?m)^num = \d+", f"num = {SWEEP_POINTS}", text)
        text = re.sub(r"(?m)^workers = \d+", "workers = 1", text)
        text = text.replace('compile_mode = "numba"', 'compile_mode = "c"')
        if path.stem in (DUTCH_BASELINE, DUTCH_CHAT_ONLY):
            text = re.sub(r'(?m)^dir = "results/', f'dir = "{(dest / "results").as_posix()}/', text)
        path.write_text(text)
    return dest / "scenarios"


def output_dir(scenarios: Path, stem: str) -> Path:
    """The results folder a (reduced) config names in its ``[output] dir``."""
    from hiddenvictims.core.config import read_toml

    return Path(read_toml(scenarios / f"{stem}.toml")["output"]["dir"])


def run_reduced(stem: str, scenarios: Path, out: Path, cache: dict | None = None) -> Path:
    """Run one reduced config into ``out`` (scenarios without monitoring precision)."""
    from hiddenvictims.runner import config_kind, run_config

    config = scenarios / f"{stem}.toml"
    if config_kind(config) == "scenario":
        from hiddenvictims.scenario_runner import run_scenario

        return run_scenario(config, out=out, force=True, precision=False, workers=1, cache=cache)
    return run_config(config, out=out, force=True)


def assert_matches_golden(stem: str, out: Path) -> None:
    """``hiddenvictims check OUT --against tests/golden/<stem>/baseline.json`` must pass."""
    from typer.testing import CliRunner

    from hiddenvictims.cli import app

    baseline = GOLDEN / stem / "baseline.json"
    assert baseline.is_file(), f"no golden baseline for {stem}: run `make golden`"
    result = CliRunner().invoke(app, ["check", str(out), "--against", str(baseline)])
    assert result.exit_code == 0, result.output


def main(stems: list[str]) -> None:
    from hiddenvictims.core.regression import write_baseline

    with tempfile.TemporaryDirectory() as tmp:
        scenarios = reduced_copy(Path(tmp))
        cache: dict = {}
        stems = stems or shipped_configs()
        if (DUTCH - {DUTCH_CHAT_ONLY}) & set(stems):  # these read the baseline's folder, as in the tests
            run_reduced(DUTCH_BASELINE, scenarios, output_dir(scenarios, DUTCH_BASELINE))
        for stem in stems:
            out = output_dir(scenarios, stem) if stem == DUTCH_BASELINE else Path(tmp) / "out" / stem
            if stem != DUTCH_BASELINE:
                run_reduced(stem, scenarios, out, cache)
            target = write_baseline(out, GOLDEN / stem / "baseline.json")
            print(f"{stem}: {target.relative_to(ROOT)}")  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1:])
