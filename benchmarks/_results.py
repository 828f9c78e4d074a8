"""Where benchmarks write: an untracked folder unless the tracked record is asked for.

``benchmarks/results/`` is the committed record that the docs quote; ``make bench`` must not
rewrite it as a side effect. So scripts write to ``results/bench/`` (ignored by git) unless
``BENCH_RECORD=1`` (``make bench-record``, ``run_all.py --record``) asks for the record.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORD = HERE / "results"
RESULTS = RECORD if os.environ.get("BENCH_RECORD") == "1" else HERE.parent / "results" / "bench"
RESULTS.mkdir(parents=True, exist_ok=True)
