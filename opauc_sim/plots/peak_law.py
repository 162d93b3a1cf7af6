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


def _setting_label(p: int, q: int) -> str:
    return f"n_pos = {p}, n_neg = {q}  (n = {p + q})"


def make_figure(df: pd.DataFrame) -> Figure:
    """Three panels: beta_peak vs K/n_neg, vs K/n, and beta_peak/(K/n) vs K.

    Each (n_pos, n_neg) setting has its own colour and marker in every panel; Recall is
    drawn with filled markers (and solid lines on the right), NDCG with hollow ones
    (dashed lines).
    """
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(16, 5.0), layout="constrained")
    axes = fig.subplots(1, 3)
    sizes = list(dict.fromkeys(zip(df["n_pos"], df["n_neg"], strict=True)))
    cmap = matplotlib.colormaps["tab10"]
    styles = {"recall": ("-", None), "ndcg": ("--", "none")}  # line style, marker face
    for i, (p, q) in enumerate(sizes):
        part = df[(df.n_pos == p) & (df.n_neg == q)]
        colour, marker = cmap(i % 10), MARKERS[i % len(MARKERS)]
        for metric, (ls, face) in styles.items():
            m = part[part.metric == metric].sort_values("k")
            kw = dict(marker=marker, color=colour, mec=colour, mfc=face or colour)
            axes[0].plot(m["k_over_n_neg"], m["beta_peak"], ls="none", ms=5, **kw)
            axes[1].plot(m["k_over_n"], m["beta_peak"], ls="none", ms=5, **kw)
            axes[2].plot(m["k"], m["beta_peak"] / m["k_over_n"], ls=ls, lw=0.9, ms=4, **kw)
    for ax, xlabel in ((axes[0], "K / n_neg"), (axes[1], "K / n   (n = n_pos + n_neg)")):
        lo, hi = df["k_over_n"].min() / 2, df["k_over_n_neg"].max() * 2
        line = np.geomspace(lo, hi, 10)
        ax.plot(line, line, color="grey", lw=0.8)
        ax.plot(line, 1.5 * line, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("exact peak β")
        ax.grid(alpha=0.3, which="both", lw=0.4)
    axes[0].set_title("peak β against K / n_neg: the settings scatter", fontsize=10)
    axes[1].set_title("peak β against K / n: one line for every setting", fontsize=10)
    axes[2].set_xscale("log")
    axes[2].set_xlabel("K   (at K = 1 the peak is the β grid's lower end)")
    axes[2].set_ylabel("β_peak / (K / n)")
    axes[2].set_title("the ratio: about 1.5 (Recall), 1.15 (NDCG)", fontsize=10)
    axes[2].grid(alpha=0.3, which="both", lw=0.4)
    settings = [
        Line2D(
            [],
            [],
            color=cmap(i % 10),
            marker=MARKERS[i % len(MARKERS)],
            ls="none",
            label=_setting_label(p, q),
        )
        for i, (p, q) in enumerate(sizes)
    ]
    keys = [
        Line2D([], [], color="0.3", marker="o", ls="-", label="Recall@K: filled, solid"),
        Line2D(
            [], [], color="0.3", marker="o", mfc="none", ls="--", label="NDCG@K: hollow, dashed"
        ),
        Line2D([], [], color="grey", lw=0.8, label="β = x"),
        Line2D([], [], color="grey", lw=0.8, ls=":", label="β = 1.5 x"),
    ]
    fig.legend(
        handles=settings + keys,
        loc="outside right center",
        fontsize=8,
        title="setting (colour and marker,\nthe same in every panel)",
        title_fontsize=8,
        frameon=False,
    )
    ks = sorted(set(df["k"]))
    fig.suptitle(
        f"Where the correlation with Norm_OPAUC(β) peaks: {len(sizes)} (n_pos, n_neg) settings, "
        f"K = {', '.join(map(str, ks))} (exact, uniformly random rankings)",
        fontsize=11,
    )
    return fig


#: Columns this figure reads (a cached table without them is refused, naming the file).
COLUMNS = ["n_pos", "n_neg", "k", "metric", "beta_peak", "k_over_n_neg", "k_over_n"]


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, _ = load_result("peak_law", results_dir, columns=COLUMNS)
    return [save_figure(make_figure(df), NAME, out_dir)]
