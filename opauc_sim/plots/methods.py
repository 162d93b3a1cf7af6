"""Beyond the paper: the Fig. 6 curves under Pearson, Spearman and Kendall's tau-b.

Two panels (Recall@K, NDCG@K), K in {5, 20, 100}; colour by K, line style by coefficient:
Pearson exact (solid), Spearman (dashed) and Kendall (dotted) on the same 100,000 uniform
rankings. Reads ``results/fig6_methods_curves.csv`` (``opauc-sim simulate methods``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from opauc_sim.plots._style import k_colours, paper_lines
from opauc_sim.results_cache import load_result, save_figure

NAME = "methods"
STYLES = {"pearson (exact)": "-", "spearman": "--", "kendall": ":"}


def make_figure(df: pd.DataFrame, ks=(5, 20, 100)) -> Figure:
    """Panels by metric, colour by K, line style by correlation coefficient."""
    ks = [k for k in ks if k in set(df["k"])]
    colours = k_colours(len(ks))
    fig = Figure(figsize=(13, 4.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, metric in zip(axes, ("recall", "ndcg"), strict=True):
        for colour, k in zip(colours, ks, strict=True):
            for method, ls in STYLES.items():
                c = df[(df.method == method) & (df.metric == metric) & (df.k == k)]
                if not len(c):
                    continue
                c = c.sort_values("beta")
                ax.plot(c["beta"], c["corr"], color=colour, ls=ls, lw=1.4)
        ax.set_xscale("log")
        ax.set_xlabel(r"$\beta$")
        ax.set_title(f"{'Recall' if metric == 'recall' else 'NDCG'}@K vs Norm_OPAUC($\\beta$)")
        ax.grid(alpha=0.3, which="both", lw=0.4)
        paper_lines(ax)
    axes[0].set_ylabel("correlation over random rankings")
    handles = [
        Line2D([], [], color=c, lw=2, label=f"K = {k}") for c, k in zip(colours, ks, strict=True)
    ]
    handles += [Line2D([], [], color="0.2", ls=ls, lw=1.4, label=m) for m, ls in STYLES.items()]
    handles += [
        h for h in axes[0].get_legend_handles_labels()[0] if h.get_label().startswith("paper")
    ]
    fig.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)
    n = df.loc[df.method != "pearson (exact)", "n_rankings"].dropna() if "n_rankings" in df else []
    what = f"{int(n.iloc[0]):,} uniform rankings" if len(n) else "uniform rankings"
    fig.suptitle(
        f"Fig. 6 curves under three correlation coefficients (n_pos = 200, n_neg = 800; "
        f"Spearman and Kendall on the same {what})",
        fontsize=10,
    )
    return fig


#: Columns this figure reads (a cached table without them is refused, naming the file).
COLUMNS = ["method", "metric", "k", "beta", "corr"]


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, _ = load_result("fig6_methods_curves", results_dir, columns=COLUMNS)
    return [save_figure(make_figure(df), NAME, out_dir)]
