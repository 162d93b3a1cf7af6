"""Theorem 3: OPAUC(K / n_neg) against Recall@K for random rankings, inside the bounds.

One panel per K. Each dot is a ranking of n_pos = 200 positives and n_neg = 800 negatives
(positives' scores shifted by a per-ranking amount, so the rankings span bad to nearly
perfect); the solid curves are the real-valued lower and upper bounds of Theorem 3 as
functions of OPAUC, the thin steps the "tight" integer bounds. Reads
``results/theorem3_scatter.csv`` (written by ``opauc-sim proof-tables``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from opauc_sim.bounds import recall_bounds
from opauc_sim.results_cache import load_result, save_figure

NAME = "theorem3_bounds"


def make_figure(df: pd.DataFrame) -> Figure:
    """Scatter of (OPAUC, Recall@K) per K with the bound curves over it."""
    ks = sorted(set(df["k"]))
    fig = Figure(figsize=(4.8 * len(ks), 4.6), layout="constrained")
    axes = fig.subplots(1, len(ks), squeeze=False)[0]
    for ax, k in zip(axes, ks, strict=True):
        sub = df[df.k == k]
        n_pos, n_neg = int(sub.n_pos.iloc[0]), int(sub.n_neg.iloc[0])
        beta = k / n_neg
        ax.scatter(
            sub.pairs / (n_pos * n_neg),  # raw OPAUC(K / n_neg)
            sub.hits / n_pos,  # Recall@K
            s=4,
            alpha=0.25,
            color="tab:blue",
            lw=0,
            label=f"{len(sub):,} random rankings",
        )
        grid = np.linspace(0.0, beta, 801)
        lo, up = recall_bounds(grid, n_pos, n_neg, k)
        ax.plot(grid, up, color="tab:red", lw=1.6, label=r"upper $\sqrt{C}/n_+$")
        ax.plot(grid, lo, color="tab:green", lw=1.6, label="lower bound")
        lo_t, up_t = recall_bounds(grid, n_pos, n_neg, k, rounding="tight")
        ax.plot(
            grid,
            up_t,
            color="tab:red",
            lw=0.6,
            ls=":",
            drawstyle="steps-post",
            label="tight upper (integer hits)",
        )
        ax.plot(
            grid,
            lo_t,
            color="tab:green",
            lw=0.6,
            ls=":",
            drawstyle="steps-post",
            label="tight lower (integer hits)",
        )
        ax.set_xlim(0, beta)
        ax.set_ylim(0, min(k, n_pos) / n_pos * 1.05)
        ax.set_xlabel(rf"raw OPAUC($\beta$ = K/n$_-$ = {beta:g})")
        ax.set_ylabel(f"Recall@{k}")
        ax.set_title(f"K = {k}, n+ = {n_pos}, n- = {n_neg}")
        ax.grid(alpha=0.3, lw=0.4)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8, markerscale=3
    )
    fig.suptitle("Theorem 3: OPAUC(K/n-) bounds Recall@K on both sides", fontsize=10)
    return fig


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, _ = load_result("theorem3_scatter", results_dir)
    return [save_figure(make_figure(df), NAME, out_dir)]
