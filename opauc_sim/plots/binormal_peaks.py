"""Beyond the paper: how the peak moves as ranking quality grows (binormal scores).

Positive scores ~ N(mu, 1), negatives ~ N(0, 1), n_pos = 200, n_neg = 800 (expected AUC
Phi(mu / sqrt 2)). Left: the Recall@K curves for each mu at K = 5 and K = 50. Right: the
peak beta against mu, one line per K, for Recall and NDCG. Reads
``results/binormal_curves.csv`` and ``results/binormal_peaks.csv`` (written by
``opauc-sim simulate binormal``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from opauc_sim.plots._style import k_colours
from opauc_sim.results_cache import load_result, save_figure

NAME = "binormal_peaks"


def make_figure(
    df: pd.DataFrame, peaks: pd.DataFrame | None = None, *, setting: dict | None = None
) -> Figure:
    """``df``: binormal curves (mu, metric, k, beta, corr, ci_low, ci_high); ``setting``:
    the run's parameters (``n_pos``, ``n_neg``, ``n_rankings``), for the title."""
    if peaks is None:
        from opauc_sim.correlation import peak_beta

        peaks = pd.concat(
            [peak_beta(part.drop(columns="mu")).assign(mu=mu) for mu, part in df.groupby("mu")],
            ignore_index=True,
        )
    fig = Figure(figsize=(15, 4.9), layout="constrained")
    axes = fig.subplots(1, 3)
    mus = sorted(set(df["mu"]))
    # mu: viridis (dark blue to green), kept apart from the K colours of the right panel
    colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.75, len(mus)))
    show_ks = [k for k in (5, 50) if k in set(df["k"])][:2]
    for ax, k in zip(axes[:2], show_ks, strict=False):
        for colour, mu in zip(colours, mus, strict=True):
            c = df[(df.mu == mu) & (df.metric == "recall") & (df.k == k)].sort_values("beta")
            ax.plot(c["beta"], c["corr"], color=colour, lw=1.4, label=f"μ = {mu:g}")
            ax.fill_between(c["beta"], c["ci_low"], c["ci_high"], color=colour, alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel(r"$\beta$")
        ax.set_ylabel("corr(Recall@K, Norm_OPAUC(β))")
        ax.set_title(f"Recall@{k}, binormal rankings")
        ax.grid(alpha=0.3, which="both", lw=0.4)
    ks = sorted(set(peaks["k"]))
    kc = k_colours(len(ks))
    for colour, k in zip(kc, ks, strict=True):
        for metric, ls in (("recall", "-"), ("ndcg", "--")):
            p = peaks[(peaks.k == k) & (peaks.metric == metric)].sort_values("mu")
            axes[2].plot(
                p["mu"],
                p["beta"],
                ls=ls,
                marker="o",
                ms=3,
                color=colour,
                label=f"K={k}" if metric == "recall" else None,
            )
    axes[2].set_yscale("log")
    axes[2].set_xlabel("binormal μ (ranking quality)")
    axes[2].set_ylabel("peak β")
    axes[2].set_title("peak β against μ (solid: Recall, dashed: NDCG)")
    axes[2].grid(alpha=0.3, which="both", lw=0.4)
    mu_handles, mu_labels = axes[0].get_legend_handles_labels()
    fig.legend(
        mu_handles,
        mu_labels,
        loc="outside lower center",
        ncol=len(mu_labels),
        fontsize=8,
        title="left panels: binormal μ (positives ~ N(μ, 1), negatives ~ N(0, 1)); bands: 95% CI",
        title_fontsize=8,
    )
    k_handles, k_labels = axes[2].get_legend_handles_labels()
    fig.legend(
        k_handles,
        k_labels,
        loc="outside right center",
        fontsize=8,
        title="right panel",
        frameon=False,
    )
    setting = setting or {}
    if {"n_pos", "n_neg"} <= set(setting):
        runs = setting.get("n_rankings")
        fig.suptitle(
            f"Better rankings move the peak left: binormal scores, n_pos = {setting['n_pos']}, "
            f"n_neg = {setting['n_neg']}"
            + (f", {runs:,} Monte Carlo rankings per μ" if runs else ""),
            fontsize=11,
        )
    return fig


#: Columns this figure reads (a cached table without them is refused, naming the file).
COLUMNS = ["mu", "metric", "k", "beta", "corr", "ci_low", "ci_high"]


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, meta = load_result("binormal_curves", results_dir, columns=COLUMNS)
    peaks, _ = load_result("binormal_peaks", results_dir)
    fig = make_figure(df, peaks, setting=meta.get("params") or {})
    return [save_figure(fig, NAME, out_dir)]
