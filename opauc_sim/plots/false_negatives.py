"""False negatives: held-out positives among DNS's top M and Softmax-v's weight mass.

Reads ``results/false_negatives.csv`` (``opauc-sim false-negatives``, one trained BPR model
per data set) and writes ``figures/false_negatives.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from opauc_sim.results_cache import load_result, save_figure


def make_figure(table: pd.DataFrame, *, title: str = ""):
    """Bars: share of held-out positives among DNS's top M, per dataset, vs uniform draws."""
    from opauc_sim._optional import require_matplotlib

    require_matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.5, 3.6), layout="constrained")
    ax_d, ax_s = fig.subplots(1, 2, sharey=True)
    datasets = list(dict.fromkeys(table["dataset"]))
    width = 0.8 / max(len(datasets), 1)
    colours = ["#1b7837", "#762a83", "#e08214", "#2166ac"]
    for d, name in enumerate(datasets):
        part = table[table["dataset"] == name]
        base = part.loc[part["sampler"] == "uniform", "share"].to_numpy()
        for ax, sampler, col in ((ax_d, "dns", "M"), (ax_s, "softmax", "rho")):
            rows = part[part["sampler"] == sampler].sort_values(col)
            x = np.arange(len(rows)) + (d - (len(datasets) - 1) / 2) * width
            ax.bar(x, 100 * rows["share"], width, color=colours[d % 4], label=name)
            ax.errorbar(x, 100 * rows["share"], 196 * rows["se"], fmt="none", ecolor="k", lw=0.8)
            if len(base):
                ax.hlines(
                    100 * base[0],
                    x.min() - width / 2,
                    x.max() + width / 2,
                    colors=colours[d % 4],
                    linestyles=":",
                    lw=1.5,
                )
            labels = [f"{v:g}" for v in rows[col]]
            ax.set_xticks(np.arange(len(rows)), labels)
    ax_d.set_xlabel("DNS: M (top M of N = 200)")
    ax_s.set_xlabel(r"Softmax-v: $\rho$ (weight mass, N = 200)")
    ax_d.set_ylabel("held-out positives among the chosen (%)")
    ax_d.legend(fontsize=8, title="data set (dotted: uniform draws)", title_fontsize=8)
    for ax in (ax_d, ax_s):
        ax.grid(axis="y", alpha=0.3, lw=0.4)
    fig.suptitle(title, fontsize=10)
    return fig


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, _ = load_result("false_negatives", results_dir)
    fig = make_figure(
        df,
        title="After BPR training: how often the hardest of 200 uniform candidates is a "
        "held-out positive",
    )
    return [save_figure(fig, "false_negatives", out_dir, dpi=120)]
