"""Gowalla training study: test NDCG@K / Recall@K against M, N and rho (Fig. 8-10 analogs).

Reads ``results/train_gowalla.csv`` (``studies/gowalla.sh``) and writes
``figures/train_gowalla_dns_m.png``, ``..._dns_n.png`` and ``..._softmax_rho.png``: seed
means with min-max bands over seeds, BPR dashed, and NDCG@K relative to its best with
each K's best starred (:func:`make_figure`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from opauc_sim.results_cache import load_result, save_figure
from opauc_sim.train.study import param_curves, seeds_of, select

PANELS = (
    ("train_gowalla_dns_m", "dns", "M", {"N": 200}, "DNS(M, N=200) against M (Fig. 8 analog)"),
    ("train_gowalla_dns_n", "dns", "N", {"M": 5}, "DNS(M=5, N) against N (Fig. 9 analog)"),
    (
        "train_gowalla_softmax_rho",
        "softmax",
        "rho",
        {"N": 200},
        "Softmax-v(rho, N=200) against rho (Fig. 10 analog)",
    ),
)


def make_figure(
    df: pd.DataFrame, sampler: str, param: str, *, fixed: dict | None = None, title: str = ""
):
    """Three panels against ``param``, one colour per K: test NDCG@K, test Recall@K, and
    NDCG@K relative to its best value over ``param`` (where each K peaks, the guideline's
    question, on one scale).

    Lines are seed means, shaded bands the min-max over seeds where there are several;
    the dashed line of the same colour is BPR (RNS at its best weight decay, seed mean);
    a star marks each K's best value of ``param``.
    """
    from opauc_sim._optional import require_matplotlib

    matplotlib = require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    tidy = param_curves(df, sampler, param, fixed=fixed)
    fig = Figure(figsize=(14, 4.0), layout="constrained")
    axes = fig.subplots(1, 3)
    ks = sorted(set(tidy["K"])) if len(tidy) else []
    colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.8, max(len(ks), 1)))
    for ax, metric in zip(axes[:2], ("ndcg", "recall"), strict=True):
        for colour, k in zip(colours, ks, strict=False):
            part = tidy[(tidy["metric"] == metric) & (tidy["K"] == k)].sort_values(param)
            ax.plot(part[param], part["mean"], "-o", color=colour, ms=4)
            if (part["n_seeds"] > 1).any():
                ax.fill_between(part[param], part["lo"], part["hi"], color=colour, alpha=0.2)
            best, _ = select(df, "rns", metric=metric, k=k)
            if best is not None:
                level = seeds_of(df, best)[f"test_{metric}@{k}"].mean()
                ax.axhline(level, color=colour, ls="--", lw=1)
        ax.set_ylabel(f"test {'NDCG' if metric == 'ndcg' else 'Recall'}@K")
    rel = axes[2]
    for colour, k in zip(colours, ks, strict=False):
        part = tidy[(tidy["metric"] == "ndcg") & (tidy["K"] == k)].sort_values(param)
        if part.empty:
            continue
        top = part["mean"].max()
        rel.plot(part[param], part["mean"] / top, "-o", color=colour, ms=4)
        at = part.loc[part["mean"].idxmax(), param]
        rel.plot([at], [1.0], "*", color=colour, ms=14, mec="k", mew=0.5)
    rel.set_ylabel("test NDCG@K / its best over " + ("rho" if param == "rho" else param))
    for ax in axes:
        ax.set_xscale("log")
        values = sorted(set(tidy[param])) if len(tidy) else []
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.set_xticks([], minor=True)
        ax.set_xlabel(r"$\rho$" if param == "rho" else param)
        ax.grid(alpha=0.3, lw=0.4)
    handles = [
        Line2D([], [], color=c, marker="o", ms=4, label=f"K={k}")
        for c, k in zip(colours, ks, strict=False)
    ]
    handles.append(Line2D([], [], color="0.3", ls="--", label="BPR (RNS), best wd"))
    handles.append(Line2D([], [], color="0.3", marker="*", ls="", ms=10, label="best at this K"))
    handles.append(matplotlib.patches.Patch(color="0.5", alpha=0.3, label="min-max over seeds"))
    fig.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    return fig


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, meta = load_result("train_gowalla", results_dir)
    params = meta.get("params", {})
    recipe = "authors' recipe" if params.get("authors_code") else "project recipe"
    head = f"Gowalla, MF, {params.get('epochs', '?')} epochs, lr {params.get('lr', '?')}, {recipe}"
    written = []
    for name, sampler, param, fixed, title in PANELS:
        sub = df[df["sampler"] == sampler]
        for key, value in fixed.items():
            sub = sub[sub[key] == value]
        if sub[param].nunique() < 2:
            continue  # not enough of the grid finished yet
        fig = make_figure(df, sampler, param, fixed=fixed, title=f"{head}: {title}")
        written.append(save_figure(fig, name, out_dir, dpi=120))
    return written
