"""Beyond the paper: where the correlation peaks, across (n_pos, n_neg, K).

Left: exact peak beta against K / n_neg (the paper's natural scale) and against K / n
(n = n_pos + n_neg), log-log, one marker per (n_pos, n_neg). The points collapse onto a
line through K / n, not K / n_neg. Right: the ratio beta_peak / (K / n) by K. Reads
``results/peak_law.csv`` (written by ``opauc-sim simulate peak-law``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from opauc_sim.results_cache import load_result, save_figure

NAME = "peak_law"
MARKERS = "osD^v<>ph*"


def make_figure(df: pd.DataFrame) -> Figure:
    """Three panels: beta_peak vs K/n_neg, vs K/n, and beta_peak/(K/n) vs K."""
    fig = Figure(figsize=(16, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
    sizes = list(dict.fromkeys(zip(df["n_pos"], df["n_neg"], strict=True)))
    colours = {"recall": "tab:blue", "ndcg": "tab:red"}
    cmap = matplotlib.colormaps["tab10"]
    for i, (p, q) in enumerate(sizes):
        part = df[(df.n_pos == p) & (df.n_neg == q)]
        for metric, colour in colours.items():
            m = part[part.metric == metric]
            kw = dict(marker=MARKERS[i % len(MARKERS)], ls="none", ms=5, mfc="none", color=colour)
            label = f"n_pos={p}, n_neg={q}" if metric == "recall" else None
            axes[0].plot(m["k_over_n_neg"], m["beta_peak"], **kw)
            axes[1].plot(m["k_over_n"], m["beta_peak"], **kw)
            axes[2].plot(
                m["k"],
                m["beta_peak"] / m["k_over_n"],
                color=cmap(i % 10),
                marker=MARKERS[i % len(MARKERS)],
                ms=4,
                ls="-" if metric == "recall" else "--",
                lw=0.8,
                label=label,
            )
    for ax, xlabel in ((axes[0], "K / n_neg"), (axes[1], "K / n   (n = n_pos + n_neg)")):
        lo, hi = df["k_over_n"].min() / 2, df["k_over_n_neg"].max() * 2
        line = np.geomspace(lo, hi, 10)
        ax.plot(line, line, color="grey", lw=0.8, label="beta = x")
        ax.plot(line, 1.5 * line, color="grey", lw=0.8, ls=":", label="beta = 1.5 x")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("exact peak beta")
        ax.grid(alpha=0.3, which="both", lw=0.4)
        ax.legend(fontsize=8, loc="upper left")
    axes[0].set_title("peak beta vs K / n_neg (blue: Recall, red: NDCG)")
    axes[1].set_title("peak beta vs K / n: one line for all sizes")
    axes[2].set_xscale("log")
    axes[2].set_xlabel("K")
    axes[2].set_ylabel("beta_peak / (K / n)")
    axes[2].set_title("ratio (solid: Recall, dashed: NDCG)")
    axes[2].grid(alpha=0.3, which="both", lw=0.4)
    from matplotlib.lines import Line2D

    handles, labels = axes[2].get_legend_handles_labels()
    handles += [
        Line2D([], [], color="tab:blue", marker="o", mfc="none", ls="-", label="Recall@K"),
        Line2D([], [], color="tab:red", marker="o", mfc="none", ls="--", label="NDCG@K"),
    ]
    labels += ["Recall@K: blue (left), solid (right)", "NDCG@K: red (left), dashed (right)"]
    fig.legend(
        handles,
        labels,
        loc="outside right center",
        fontsize=8,
        title="marker (all panels), colour (right):\nthe (n_pos, n_neg) setting",
        title_fontsize=8,
        frameon=False,
    )
    return fig


#: Columns this figure reads (a cached table without them is refused, naming the file).
COLUMNS = ["n_pos", "n_neg", "k", "metric", "beta_peak", "k_over_n_neg", "k_over_n"]


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, _ = load_result("peak_law", results_dir, columns=COLUMNS)
    return [save_figure(make_figure(df), NAME, out_dir)]
