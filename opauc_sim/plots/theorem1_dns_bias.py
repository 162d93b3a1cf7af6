"""Theorem 1 beyond N = n_neg: the bias of DNS(M, N) against the surrogate at beta = M/N.

Left: at fixed beta = M / N, the total variation distance between DNS(M, N)'s expected
weights and the CVaR weights shrinks as N grows, to 0 at N = n_neg (Theorem 1). Right: at
fixed M, the relative bias of the expected DNS loss is 0 at both ends (N = M: the mean;
N = n_neg: the theorem) and negative in between. Reads ``results/theorem1_dns_bias.csv``
(written by ``opauc-sim proof-tables``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from opauc_sim.plots._style import k_colours
from opauc_sim.results_cache import load_result, save_figure

NAME = "theorem1_dns_bias"


def make_figure(df: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(10, 3.9), layout="constrained")
    left, right = fig.subplots(1, 2)
    n_neg = int(df.n_neg.iloc[0])
    fixed_beta = df[df.series == "fixed beta"]
    betas = sorted(set(fixed_beta.beta))
    colours = k_colours(len(betas))
    for colour, beta in zip(colours, betas, strict=True):
        sub = fixed_beta[fixed_beta.beta == beta].sort_values("n_draws")
        sub = sub[sub.n_draws < n_neg]  # TV = 0 at N = n_neg: off a log axis
        left.plot(sub.n_draws, sub.tv, "o-", color=colour, ms=4, label=rf"$\beta$ = {beta:g}")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel(f"N (negatives drawn of n_neg = {n_neg}); TV = 0 at N = n_neg")
    left.set_ylabel("TV(E[DNS weights], CVaR weights)")
    left.set_title("fixed beta = M/N: bias vanishes as N grows")
    left.legend(fontsize=8)
    fixed_m = df[df.series == "fixed M"]
    ms = sorted(set(fixed_m.m))
    colours = matplotlib.colormaps["plasma"](np.linspace(0, 0.8, max(len(ms), 1)))
    for colour, m in zip(colours, ms, strict=True):
        sub = fixed_m[fixed_m.m == m].sort_values("n_draws")
        right.plot(sub.n_draws, 100 * sub.rel_bias, "o-", color=colour, ms=4, label=f"M = {m}")
    right.axhline(0, color="k", lw=0.6)
    right.set_xscale("log")
    right.set_xlabel("N")
    right.set_ylabel("relative bias of E[DNS loss] vs surrogate (%)")
    right.set_title("fixed M: zero only at N = M and N = n_neg")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both", lw=0.4)
    fig.suptitle(
        "DNS(M, N) vs the OPAUC surrogate at beta = M/N (exact expectation, BPR losses)",
        fontsize=10,
    )
    return fig


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, _ = load_result("theorem1_dns_bias", results_dir)
    return [save_figure(make_figure(df), NAME, out_dir)]
