"""Fig. 6 of Shi et al. (WWW 2023): correlation of Top-K metrics with Norm_OPAUC(beta).

One panel per metric (Recall, Precision, NDCG), one curve per K, beta on a log axis: the
Monte Carlo estimate with its 95% CI band, the exact value dashed, and each curve's peak
marked. Reads ``results/fig6_curves.csv`` (written by ``opauc-sim simulate fig6``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from opauc_sim.results_cache import load_result, save_figure

NAME = "beta_curves"
TITLES = {"recall": "Recall@K", "precision": "Precision@K", "ndcg": "NDCG@K"}


def make_figure(df: pd.DataFrame) -> Figure:
    """Curves by metric (panels) and K (colours); MC with CI band, exact dashed."""
    metrics = [m for m in TITLES if m in set(df["metric"])]
    ks = sorted(set(df["k"]))
    colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(ks)))
    fig = Figure(figsize=(5 * len(metrics), 4.2), layout="constrained")
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for colour, k in zip(colours, ks, strict=True):
            mc = df[(df.source == "monte_carlo") & (df.metric == metric) & (df.k == k)]
            ex = df[(df.source == "exact") & (df.metric == metric) & (df.k == k)]
            if len(mc):
                mc = mc.sort_values("beta")
                ax.plot(mc["beta"], mc["corr"], color=colour, lw=1.6, label=f"K={k}")
                ax.fill_between(
                    mc["beta"], mc["ci_low"], mc["ci_high"], color=colour, alpha=0.25, lw=0
                )
            if len(ex):
                ex = ex.sort_values("beta")
                ax.plot(
                    ex["beta"],
                    ex["corr"],
                    color="k",
                    lw=0.8,
                    ls="--",
                    label="exact" if k == ks[0] else None,
                )
                i = int(np.nanargmax(ex["corr"].to_numpy()))
                ax.plot(
                    ex["beta"].iloc[i],
                    ex["corr"].iloc[i],
                    "o",
                    color=colour,
                    ms=5,
                    mec="k",
                    mew=0.6,
                )
        ax.set_xscale("log")
        ax.set_xlabel(r"$\beta$ (Norm_OPAUC($\beta$); $\beta=1$ is AUC)")
        ax.set_title(f"{TITLES[metric]} vs Norm_OPAUC($\\beta$)")
        ax.grid(alpha=0.3, which="both", lw=0.4)
    axes[0, 0].set_ylabel("Pearson correlation over random rankings")
    axes[0, -1].legend(fontsize=8, loc="lower left")
    n = df.loc[df.source == "monte_carlo", "n_rankings"]
    note = f"{int(n.iloc[0]):,} uniform rankings, 95% CI bands; " if len(n) else ""
    fig.suptitle(
        f"Fig. 6 reproduction: n_pos=200, n_neg=800 ({note}dots: exact peaks)", fontsize=10
    )
    return fig


#: Columns this figure reads (a cached table without them is refused, naming the file).
COLUMNS = ["source", "metric", "k", "beta", "corr", "ci_low", "ci_high", "n_rankings"]


def main(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, _ = load_result("fig6_curves", results_dir, columns=COLUMNS)
    return [save_figure(make_figure(df), NAME, out_dir)]


if __name__ == "__main__":
    for path in main():
        print(path)
