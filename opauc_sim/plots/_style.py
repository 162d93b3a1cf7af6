"""Shared choices of the figures: colours for K that read on white, reference lines."""

from __future__ import annotations

import matplotlib
import numpy as np

#: The paper's claims on the Fig. 6 curves: the peak correlation exceeds 0.8, and the
#: correlation with AUC (beta = 1) stays below 0.4.
PAPER_PEAK = 0.8
PAPER_AUC = 0.4


def k_colours(n: int) -> np.ndarray:
    """``n`` colours ordered dark to light for an ordered parameter (K, beta, M, mu).

    Plasma from dark blue to orange: unlike viridis' yellow end, the lightest colour still
    reads on a white background.
    """
    return matplotlib.colormaps["plasma"](np.linspace(0.0, 0.78, max(n, 1)))[:n]


def paper_lines(ax, *, labels: bool = True) -> None:
    """Horizontal reference lines at the paper's 0.8 (peak) and 0.4 (AUC) thresholds."""
    ax.axhline(
        PAPER_PEAK,
        color="0.35",
        lw=0.9,
        ls=(0, (6, 3)),
        zorder=0,
        label="paper: peak corr > 0.8" if labels else None,
    )
    ax.axhline(
        PAPER_AUC,
        color="0.35",
        lw=0.9,
        ls=(0, (1, 2)),
        zorder=0,
        label="paper: corr at AUC (β = 1) < 0.4" if labels else None,
    )
