"""The paper's Fig. 6 setting, importable without the study's kernels (the CLI's defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fig6Setting:
    """The paper's Fig. 6 setting: ranking sizes, cut-offs and the size of the beta grid."""

    n_pos: int = 200
    n_neg: int = 800
    ks: tuple[int, ...] = (1, 5, 10, 20, 50, 100)
    n_betas: int = 61


#: The paper's Fig. 6 setting (Shi et al., §3.2): the one home of these sizes, of the
#: defaults of :func:`~opauc_sim.correlation.fig6_grid`, and of ``simulate``'s defaults.
FIG6 = Fig6Setting()
