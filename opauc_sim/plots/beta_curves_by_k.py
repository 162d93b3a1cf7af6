"""The curves of Shi et al.'s simulation (WWW 2023, Fig. 6/7), one panel per K.

For each K, Recall/Precision against NDCG along beta: the comparison behind the paper's
remark that left of the peak NDCG@K decays more slowly. Which of the paper's two
simulation figures has this layout was not checked against its images, so the figure is
titled by what it shows, not as "Fig. 7". The three metrics' exact curves (Recall and
Precision coincide), with the Monte Carlo estimate and CI band underneath. Left of the
peak, NDCG@K keeps more of its peak correlation than Recall@K. Reads
``results/fig6_curves.csv``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from opauc_sim.results_cache import load_result, save_figure

NAME = "beta_curves_by_k"
STYLE = {"recall": ("tab:blue", "-"), "precision": ("tab:orange", ":"), "ndcg": ("tab:red", "-")}
LABELS = {
    "recall": "Recall@K",
    "precision": "Precision@K (dotted: equal to Recall@K)",
    "ndcg": "NDCG@K",
}


def make_figure(df: pd.DataFrame, *, setting: dict | None = None) -> Figure:
    """Panels by K; curves by metric (exact if present, else Monte Carlo). ``setting``:
    the run's parameters (``n_pos``, ``n_neg``, ``n_rankings``), for the title."""
    ks = sorted(set(df["k"]))
    ncols = min(3, len(ks))
    nrows = (len(ks) + ncols - 1) // ncols
    fig = Figure(figsize=(4.4 * ncols, 3.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    source = "exact" if (df.source == "exact").any() else "monte_carlo"
    for ax, k in zip(axes.flat, ks, strict=False):
        for metric, (colour, ls) in STYLE.items():
            mc = df[(df.source == "monte_carlo") & (df.metric == metric) & (df.k == k)]
            if len(mc) and metric != "precision":
                mc = mc.sort_values("beta")
                ax.fill_between(
                    mc["beta"], mc["ci_low"], mc["ci_high"], color=colour, alpha=0.4, lw=0
                )
            cur = df[(df.source == source) & (df.metric == metric) & (df.k == k)]
            if len(cur):
                cur = cur.sort_values("beta")
                ax.plot(cur["beta"], cur["corr"], color=colour, ls=ls, lw=1.5, label=LABELS[metric])
        ax.set_xscale("log")
        rows = df[(df.source == source) & (df.k == k)]
        wide = rows.pivot_table(index="beta", columns="metric", values="corr")
        same = wide.shape[1] > 1 and bool((wide.max(axis=1) - wide.min(axis=1)).abs().max() < 1e-9)
        ax.set_title(f"K = {k}" + ("  (the three curves coincide)" if same else ""))
        ax.grid(alpha=0.3, which="both", lw=0.4)
        ax.set_xlabel(r"$\beta$")
    for ax in axes.flat[len(ks) :]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel("correlation with Norm_OPAUC")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if (df.source == "monte_carlo").any():
        from matplotlib.patches import Patch

        handles.append(Patch(color="0.6", alpha=0.4, lw=0))
        labels.append("Monte Carlo 95% CI (band)")
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=9)
    setting = setting or {}
    sizes = (
        f", n_pos = {setting['n_pos']}, n_neg = {setting['n_neg']}"
        if {"n_pos", "n_neg"} <= set(setting)
        else ""
    )
    runs = f", {setting['n_rankings']:,} rankings" if setting.get("n_rankings") else ""
    fig.suptitle(
        f"The paper's simulation (Fig. 6/7){sizes}, one panel per K: Recall/Precision "
        f"against NDCG ({source.replace('_', ' ')} curves; bands: Monte Carlo 95% CI{runs})",
        fontsize=10,
    )
    return fig


#: Columns this figure reads (a cached table without them is refused, naming the file).
COLUMNS = ["source", "metric", "k", "beta", "corr", "ci_low", "ci_high"]


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, meta = load_result("fig6_curves", results_dir, columns=COLUMNS)
    return [save_figure(make_figure(df, setting=meta.get("params") or {}), NAME, out_dir)]
