"""False negatives: held-out positives among DNS's top M and Softmax-v's weight mass.

Reads ``results/false_negatives.csv`` (``opauc-sim false-negatives``, one trained BPR model
per data set) and writes ``figures/false_negatives.png``: for each data set, the share of
held-out positives among what DNS keeps (left) and in Softmax-v's weight mass (right),
against the share among uniform draws (dashed). The shares run from 0.07% (uniform draws
among 41k items) to 38% (DNS's top 1 of 200 candidates on ML-100K), so the axis is
logarithmic and every point carries its value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from opauc_sim.results_cache import load_result, save_figure

COLOURS = ["#1b7837", "#762a83", "#e08214", "#2166ac"]
MARKERS = "osD^"
#: Whether each data set's value labels go above its points (else below): never to the
#: right, where the line to the next point runs, and the second data set apart from the
#: first (the MovieLens pair has close shares).
LABELS_ABOVE = (True, False, True)


def _label_above(y: float, above: bool, base_lines: list[float]) -> bool:
    """``above``, unless a dashed base line runs where the label would sit (within a
    factor 1.8 of the point on that side) and not on the other side."""

    def blocked(up: bool) -> bool:
        return any(1 < (b / y if up else y / b) < 1.8 for b in base_lines)

    return not above if blocked(above) and not blocked(not above) else above


def _percent(value: float) -> str:
    """A share as the docs' false-negative table writes it: 38.3%, 3.5%, 0.07%."""
    pct = 100 * value
    return f"{pct:.1f}%" if pct >= 0.095 else f"{pct:.2f}%"


def make_figure(table: pd.DataFrame, *, title: str = ""):
    """Two panels (DNS's M, Softmax-v's rho): held-out share per data set, log scale."""
    from opauc_sim._optional import require_matplotlib

    require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    fig = Figure(figsize=(9.5, 4.4), layout="constrained")
    ax_d, ax_s = fig.subplots(1, 2, sharey=True)
    datasets = list(dict.fromkeys(table["dataset"]))
    panels = (
        (ax_d, "dns", "M", "DNS(M, 200): share of the M kept", "M (smaller is harder)"),
        (ax_s, "softmax", "rho", "Softmax-v(ρ, 200): share of the weight", "ρ (larger is harder)"),
    )
    offsets = np.linspace(-0.15, 0.15, max(len(datasets), 1))
    base_lines = list(100 * table.loc[table["sampler"] == "uniform", "share"])
    for d, name in enumerate(datasets):
        part = table[table["dataset"] == name]
        colour, marker = COLOURS[d % len(COLOURS)], MARKERS[d % len(MARKERS)]
        base = part.loc[part["sampler"] == "uniform", "share"].to_numpy()
        for ax, sampler, col, _, _ in panels:
            rows = part[part["sampler"] == sampler].sort_values(col)
            x = np.arange(len(rows)) + offsets[d]
            y = 100 * rows["share"].to_numpy()
            ax.plot(x, y, color=colour, marker=marker, ms=6, lw=1.2)
            above = LABELS_ABOVE[min(d, len(LABELS_ABOVE) - 1)]
            for xi, yi, v in zip(x, y, rows["share"], strict=True):
                up = _label_above(yi, above, base_lines)
                ax.annotate(
                    _percent(v),
                    (xi, yi),
                    xytext=(0, 7 if up else -8),
                    textcoords="offset points",
                    ha="center",
                    va="bottom" if up else "top",
                    fontsize=7.5,
                    color=colour,
                )
            if len(base):
                ax.axhline(100 * base[0], color=colour, ls="--", lw=1.0, alpha=0.8)
                if ax is ax_s:
                    ax.annotate(
                        f"uniform {_percent(base[0])}",
                        (1.0, 100 * base[0]),
                        xycoords=("axes fraction", "data"),
                        xytext=(3, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=7.5,
                        color=colour,
                    )
            ax.set_xticks(np.arange(len(rows)), [f"{v:g}" for v in rows[col]])
    for ax, _, _, heading, xlabel in panels:
        ax.set_title(heading, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_xlim(-0.5, 2.6)
        ax.set_yscale("log")
        ax.grid(axis="y", which="major", alpha=0.3, lw=0.4)
    ticks = [0.05, 0.1, 0.3, 1, 3, 10, 30, 60]
    ax_d.yaxis.set_major_locator(FixedLocator(ticks))
    ax_d.yaxis.set_minor_locator(NullLocator())
    ax_d.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    ax_d.set_ylim(0.04, 70)
    ax_d.set_ylabel("held-out positives among the chosen (log scale)")
    handles = [
        Line2D([], [], color=COLOURS[d % 4], marker=MARKERS[d % 4], label=name)
        for d, name in enumerate(datasets)
    ]
    handles.append(Line2D([], [], color="0.3", ls="--", label="uniform draws (base rate)"))
    ax_d.legend(handles=handles, fontsize=8, loc="lower left", title="data set", title_fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def _title(meta: dict) -> str:
    model = (meta.get("params") or {}).get("model") or {}
    recipe = "the authors' recipe" if model.get("authors_code") else "the project's recipe"
    wd = model.get("weight_decay")
    trained = f"BPR trained in {recipe}" + (f", weight decay {wd:g}" if wd is not None else "")
    return (
        f"How often a hard negative is a held-out positive: the picks from 200 uniform "
        f"candidates per training pair\n(after {trained}; 100,000 pairs per data set)"
    )


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, meta = load_result("false_negatives", results_dir)
    fig = make_figure(df, title=_title(meta))
    return [save_figure(fig, "false_negatives", out_dir, dpi=120)]
