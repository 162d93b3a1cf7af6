"""Shi et al.'s simulation (WWW 2023, Fig. 6/7): Top-K metrics against Norm_OPAUC(beta).

Two panels: Recall@K and Precision@K together (over random rankings of fixed n_pos both are
hits@K times a constant, so their correlations with anything are identical), and NDCG@K.
One colour per K, beta on a log axis: the exact curve, the Monte Carlo estimate with its
95% CI band, each curve's peak marked, and reference lines at the paper's thresholds (peak
correlation above 0.8, correlation with AUC at beta = 1 below 0.4). Reads
``results/fig6_curves.csv`` (written by ``opauc-sim simulate fig6``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from opauc_sim.plots._style import k_colours, paper_lines
from opauc_sim.results_cache import load_result, save_figure

NAME = "beta_curves"
TITLES = {"recall": "Recall@K", "precision": "Precision@K", "ndcg": "NDCG@K"}


def _panels(df: pd.DataFrame) -> list[tuple[list[str], str]]:
    """``(metrics drawn, title)`` per panel; Recall and Precision share one when equal."""
    present = [m for m in TITLES if m in set(df["metric"])]
    panels: list[tuple[list[str], str]] = []
    if "recall" in present and "precision" in present:
        r = df[df.metric == "recall"].sort_values(["source", "k", "beta"])["corr"].to_numpy()
        p = df[df.metric == "precision"].sort_values(["source", "k", "beta"])["corr"].to_numpy()
        if r.shape == p.shape and np.allclose(r, p, rtol=0, atol=1e-12, equal_nan=True):
            panels.append(
                (["recall"], "Recall@K = Precision@K (identical: both are hits@K / const)")
            )
            present = [m for m in present if m not in ("recall", "precision")]
    panels += [([m], TITLES[m]) for m in present]
    return panels


def undefined_curves(df: pd.DataFrame) -> list[str]:
    """The curves (``"Recall@20"``) whose correlation is NaN at every beta: the metric is
    constant over the rankings (e.g. Recall@K with K >= n_pos + n_neg), so no correlation
    is defined. :func:`make_figure` leaves them out and names them."""
    defined = df.groupby(["metric", "k"])["corr"].apply(lambda c: bool(c.notna().any()))
    return [f"{TITLES.get(m, m).replace('@K', '')}@{k}" for (m, k), ok in defined.items() if not ok]


def make_figure(df: pd.DataFrame, title: str | None = None) -> Figure:
    """Curves by metric (panels) and K (colours): exact solid, Monte Carlo with CI band.

    ``df`` has columns ``source`` ("exact" / "monte_carlo"), ``metric``, ``k``, ``beta``,
    ``corr`` and, for Monte Carlo rows, ``ci_low``, ``ci_high``, ``n_rankings``. Curves
    that are undefined everywhere (:func:`undefined_curves`) are not drawn but named in the
    title; with no curve defined at all this raises ``ValueError`` naming them.
    """
    missing = undefined_curves(df)
    if missing:
        df = df[df.groupby(["metric", "k"])["corr"].transform(lambda c: c.notna().any())]
        if df.empty:
            raise ValueError(
                f"no curve is defined (each metric is constant over the rankings): "
                f"{', '.join(missing)}"
            )
    panels = _panels(df)
    ks = sorted(set(df["k"]))
    colours = k_colours(len(ks))
    has_exact = (df.source == "exact").any()
    has_mc = (df.source == "monte_carlo").any()
    fig = Figure(figsize=(5.2 * len(panels) + 2.6, 4.4), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, (metrics, panel_title) in zip(axes, panels, strict=True):
        metric = metrics[0]
        for colour, k in zip(colours, ks, strict=True):
            mc = df[(df.source == "monte_carlo") & (df.metric == metric) & (df.k == k)]
            ex = df[(df.source == "exact") & (df.metric == metric) & (df.k == k)]
            if len(mc):
                mc = mc.sort_values("beta")
                ax.fill_between(
                    mc["beta"], mc["ci_low"], mc["ci_high"], color=colour, alpha=0.35, lw=0
                )
                ax.plot(
                    mc["beta"],
                    mc["corr"],
                    color=colour,
                    lw=1.0 if len(ex) else 1.6,
                    ls=(0, (2, 1.5)) if len(ex) else "-",
                )
            peak_of = ex if len(ex) else mc
            if len(ex):
                ex = ex.sort_values("beta")
                ax.plot(ex["beta"], ex["corr"], color=colour, lw=1.6)
            if len(peak_of):
                peak_of = peak_of.sort_values("beta")
                i = int(np.nanargmax(peak_of["corr"].to_numpy()))
                ax.plot(
                    peak_of["beta"].iloc[i],
                    peak_of["corr"].iloc[i],
                    "o",
                    color=colour,
                    ms=5.5,
                    mec="k",
                    mew=0.7,
                    zorder=5,
                )
        paper_lines(ax)
        ax.set_xscale("log")
        ax.set_xlabel(r"$\beta$ of Norm_OPAUC($\beta$)   ($\beta$ = 1 is AUC)")
        ax.set_title(panel_title, fontsize=10)
        ax.grid(alpha=0.3, which="both", lw=0.4)
    axes[0].set_ylabel("correlation over random rankings")
    axes[0].set_ylim(min(0.0, float(np.nanmin(df["corr"])) - 0.02), 1.0)
    handles = [
        Line2D([], [], color=c, lw=2, label=f"K = {k}") for c, k in zip(colours, ks, strict=True)
    ]
    if has_exact:
        handles.append(Line2D([], [], color="0.2", lw=1.6, label="exact"))
    if has_mc:
        handles.append(
            Line2D([], [], color="0.2", lw=1.0, ls=(0, (2, 1.5)), label="Monte Carlo, 95% CI band")
            if has_exact
            else Line2D([], [], color="0.2", lw=1.6, label="Monte Carlo, 95% CI band")
        )
    handles.append(
        Line2D(
            [], [], ls="none", marker="o", color="0.6", mec="k", ms=5.5, label="peak of each curve"
        )
    )
    handles += [h for h in axes[0].get_legend_handles_labels()[0] if h.get_label()[:5] == "paper"]
    fig.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)
    notes = []
    if has_mc:
        mc = df[df.source == "monte_carlo"]
        n = mc["n_rankings"].dropna()
        half = float(np.nanmax(mc["ci_high"] - mc["ci_low"])) / 2
        if len(n):
            notes.append(f"{int(n.iloc[0]):,} random rankings")
        notes.append(
            f"95% CI half-width at most {half:.3f}"
            + (" (bands thinner than the lines)" if half < 0.005 else "")
        )
    head = title or "The paper's simulation (Fig. 6/7), n_pos = 200, n_neg = 800"
    head += f"  ({'; '.join(notes)})" if notes else ""
    if missing:  # on a line of its own, so that a long list stays readable
        head += f"\nundefined (constant over the rankings), not drawn: {', '.join(missing)}"
    fig.suptitle(head, fontsize=10)
    return fig


#: Columns this figure reads (a cached table without them is refused, naming the file).
COLUMNS = ["source", "metric", "k", "beta", "corr", "ci_low", "ci_high", "n_rankings"]


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, _ = load_result("fig6_curves", results_dir, columns=COLUMNS)
    return [save_figure(make_figure(df), NAME, out_dir)]


def draw_curve(
    curve: pd.DataFrame, name: str, out_dir: str | Path, *, exact: bool, title: str
) -> Path:
    """The figure of one ``correlation.beta_curve`` table (``opauc-sim simulate curve``).

    Curves undefined at every beta are left out and named (:func:`undefined_curves`); a
    table with no defined curve raises ``ValueError`` naming them.
    """
    df = curve.assign(source="exact" if exact else "monte_carlo")
    for column in ("ci_low", "ci_high", "n_rankings"):
        if column not in df:
            df[column] = np.nan
    return save_figure(make_figure(df, title=title), name, out_dir)
