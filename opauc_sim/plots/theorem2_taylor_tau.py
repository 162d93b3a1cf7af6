"""Theorem 2: how inexact the Taylor temperature tau = sqrt(Var / (2 rho)) is.

Left: the median ratio of the Taylor tau to the exact tau* of the KL worst case, against
rho, per loss distribution (rows of N = 200 losses); 1 means exact. Right: the Softmax-v
objective minus the CVaR (OPAUC) objective at beta = exp(-rho), in standard deviations of
the losses, with the exact KL worst case dashed. Reads ``results/theorem2_taylor_tau.csv``
and ``results/theorem2_softmax_cvar_gap.csv`` (written by ``opauc-sim proof-tables``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from opauc_sim.results_cache import load_result, save_figure

NAME = "theorem2_taylor_tau"


def make_figure(df: pd.DataFrame) -> Figure:
    """``df``: the two tables merged on (dist, rho)."""
    fig = Figure(figsize=(10, 3.9), layout="constrained")
    left, right = fig.subplots(1, 2)
    dists = list(dict.fromkeys(df.dist))
    colours = matplotlib.colormaps["tab10"](np.arange(len(dists)))
    for colour, dist in zip(colours, dists, strict=True):
        sub = df[df.dist == dist].sort_values("rho")
        finite = sub[np.isfinite(sub.ratio)]
        left.plot(finite.rho, finite.ratio, "o-", color=colour, ms=4, label=dist)
        right.plot(sub.rho, sub.gap_sd_softmax_v_cvar, "o-", color=colour, ms=4, label=dist)
        right.plot(sub.rho, sub.gap_sd_kl_cvar, "--", color=colour, lw=0.9)
    left.axhline(1.0, color="k", lw=0.6)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel(r"$\rho$")
    left.set_ylabel(r"median $\tau_{Taylor} / \tau^*$")
    left.set_title("Taylor tau vs the exact tau* (N = 200)")
    left.legend(fontsize=8)
    right.axhline(0.0, color="k", lw=0.6)
    right.set_xscale("log")
    right.set_xlabel(r"$\rho$  ($\beta = e^{-\rho}$)")
    right.set_ylabel("objective - CVaR, in sd of L")
    right.set_title("Softmax-v (solid) and exact KL (dashed) vs CVaR")
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both", lw=0.4)
    fig.suptitle("Theorem 2: the smooth surrogate is inexact", fontsize=10)
    return fig


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    tau, _ = load_result("theorem2_taylor_tau", results_dir)
    gap, _ = load_result("theorem2_softmax_cvar_gap", results_dir)
    df = tau.merge(gap, on=["dist", "n", "rho"])
    return [save_figure(make_figure(df), NAME, out_dir)]
