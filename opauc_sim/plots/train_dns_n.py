"""DNS(M=5, N): test metrics against N (Fig. 10 analogue).

Reads the training sweeps cached by ``opauc-sim sweep`` (``results/train_ml1m_gpu.csv``,
the paper's setting on a GPU; ``results/train_ml1m_cpu.csv``, the reduced CPU run;
``results/train_ml100k_cpu.csv``, the paper's setting on ML-100K) and writes one PNG per
sweep found: ``figures/train_dns_n_<source>.png``. Each curve is a K; the
value chosen on validation is circled; the dotted lines are BPR (RNS) at the same scale.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from opauc_sim.train.report import plot_sweep, write_sweep_figures

NAME = "train_dns_n"
TITLE = "DNS(M=5, N): test metrics against N (Fig. 10 analogue)"


def make_figure(df: pd.DataFrame, title: str = TITLE) -> Figure:
    """Relative test NDCG@K / Recall@K against N, one line per K."""
    return plot_sweep(df, "dns", "N", fixed={"M": 5}, title=title)


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    return write_sweep_figures(NAME, TITLE, make_figure, results_dir, out_dir)
