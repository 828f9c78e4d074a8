"""Plots written to results folders (matplotlib, Agg backend: no display needed).

matplotlib is imported inside each function: commands that draw nothing never load it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..core.constants import INTERVAL_PERCENT


def plot_comparison(frame: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Forest plot: one line per model, median and interval, on a shared axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.6 * len(frame) + 1.5))
    y = range(len(frame))[::-1]
    ax.hlines(list(y), frame["lower"], frame["upper"], color="tab:blue", lw=2)
    ax.plot(frame["median"], list(y), "o", color="tab:blue")
    ax.set_yticks(list(y), frame["model"])
    ax.set_xlabel(f"population size N (median and {INTERVAL_PERCENT}% interval)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_sensitivity(table: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """One panel per (quantity, stratum): median and interval per dependence prior, one
    series per mismatch setting (evidence 'none' rows only). Saved as PNG (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table[table["evidence"] == table["evidence"].iloc[0]]
    panels = list(dict.fromkeys(zip(rows["quantity"], rows["stratum"], strict=True)))
    deps = list(dict.fromkeys(rows["dependence"]))
    mism = list(dict.fromkeys(rows["mismatch"]))
    ncol = min(3, len(panels))
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    for ax, (qname, stratum) in zip(axes.ravel(), panels, strict=False):
        sub = rows[(rows["quantity"] == qname) & (rows["stratum"] == stratum)]
        for m_i, m in enumerate(mism):
            s = sub[sub["mismatch"] == m].set_index("dependence").reindex(deps)
            x = np.arange(len(deps)) + (m_i - (len(mism) - 1) / 2) * 0.12
            ax.errorbar(
                x,
                s["median"],
                yerr=[s["median"] - s["lower"], s["upper"] - s["median"]],
                fmt="o",
                capsize=3,
                label=f"mismatch: {m}",
            )
        ax.set_xticks(np.arange(len(deps)))
        ax.set_xticklabels(deps, rotation=20, fontsize=8)
        ax.set_title(f"{qname} {stratum}", fontsize=9)
        ax.set_yscale("log")
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle(title or f"Sensitivity: median and {INTERVAL_PERCENT}% interval", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
