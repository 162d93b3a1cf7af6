"""Softmax-v(rho, N=200): test metrics against rho (Fig. 9 analogue).

Reads the training sweeps cached by ``opauc-sim sweep`` (``results/train_ml1m_gpu.csv``,
the paper's setting on a GPU; ``results/train_ml1m_cpu.csv``, the reduced CPU run;
``results/train_ml100k_cpu.csv``, the paper's setting on ML-100K) and writes one PNG per
sweep found: ``figures/train_softmax_rho_<source>.png``. Each curve is a K; the
value chosen on validation is circled; the dotted lines are BPR (RNS) at the same scale.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from opauc_sim.train.report import plot_sweep, write_sweep_figures

NAME = "train_softmax_rho"
TITLE = "Softmax-v(rho, N=200): test metrics against rho (Fig. 9 analogue)"


def make_figure(df: pd.DataFrame, title: str = TITLE) -> Figure:
    """Relative test NDCG@K / Recall@K against rho, one line per K."""
    return plot_sweep(df, "softmax", "rho", fixed={"N": 200}, title=title)


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    return write_sweep_figures(NAME, TITLE, make_figure, results_dir, out_dir)
