"""False negatives: held-out positives among DNS's top M and Softmax-v's weight mass.

Reads ``results/false_negatives.csv`` (``opauc-sim false-negatives``, one trained BPR model
per data set) and writes ``figures/false_negatives.png``.
"""

from __future__ import annotations

from pathlib import Path

from opauc_sim.results_cache import load_result, save_figure
from opauc_sim.train.study import plot_false_negatives


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, _ = load_result("false_negatives", results_dir)
    fig = plot_false_negatives(
        df,
        title="After BPR training: how often the hardest of 200 uniform candidates is a "
        "held-out positive",
    )
    return [save_figure(fig, "false_negatives", out_dir, dpi=120)]
