"""Rank correlations of the study (Spearman, Kendall's tau-b) over materialised rankings.

Unlike Pearson, these need every value: the x and y of all ``n_rankings`` rankings are kept
(``8 * n_rankings * (n_x + n_y)`` bytes). The 95% intervals use Fisher's z with the
normal-theory standard errors of Bonett and Wright (2000) for Spearman,
``sqrt((1 + r^2 / 2) / (N - 3))``, and of Fieller et al. (1957) for Kendall,
``sqrt(0.437 / (N - 4))``: approximate for these discrete metrics (many ties).

References
----------
.. [1] D. G. Bonett and T. A. Wright, "Sample size requirements for estimating Pearson,
   Kendall and Spearman correlations", Psychometrika 65, 2000.
.. [2] E. C. Fieller, H. O. Hartley and E. S. Pearson, "Tests for rank correlation
   coefficients. I", Biometrika 44, 1957.
"""

from __future__ import annotations

import math

import numpy as np

from opauc_sim.correlation.engines import Estimate, Sampling, progress_bar, xy_values

#: The two-sided 95% normal quantile.
_Z95 = 1.959963984540054


def rank_correlation(sampling: Sampling, method: str) -> Estimate:
    """Spearman or Kendall's tau-b of every (x, y) pair, with Fisher-z 95% intervals."""
    xs, ys = _materialise(sampling)
    n = sampling.n_rankings
    if method == "spearman":
        r = _spearman(xs, ys)
        se = np.sqrt((1 + r**2 / 2) / max(n - 3, 1))
    else:
        r = _kendall(xs, ys)
        se = np.full_like(r, math.sqrt(0.437 / max(n - 4, 1)))
    low, high = _fisher_ci(r, se)
    return Estimate(r, low, high)


def _materialise(sampling: Sampling) -> tuple[np.ndarray, np.ndarray]:
    """x and y of every ranking: arrays of shape (n_rankings, n_x) and (n_rankings, n_y)."""
    grid = sampling.grid
    xs = np.empty((sampling.n_rankings, grid.n_x))
    ys = np.empty((sampling.n_rankings, grid.n_y))
    bar = progress_bar(sampling.progress, sampling.n_rankings)
    for start, chunk in sampling.chunks():
        rows = chunk.shape[0]
        xs[start : start + rows], ys[start : start + rows] = xy_values(chunk, grid)
        if bar is not None:
            bar.update(rows)
    if bar is not None:
        bar.close()
    return xs, ys


def _spearman(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    rx = rankdata(xs, axis=0)
    ry = rankdata(ys, axis=0)
    rx -= rx.mean(axis=0)
    ry -= ry.mean(axis=0)
    cov = rx.T @ ry
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.sqrt(np.outer((rx**2).sum(axis=0), (ry**2).sum(axis=0)))
        return np.clip(np.where(denom > 0, cov / np.where(denom > 0, denom, 1), np.nan), -1, 1)


def _kendall(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    from scipy.stats import kendalltau

    out = np.empty((xs.shape[1], ys.shape[1]))
    for a in range(xs.shape[1]):
        for b in range(ys.shape[1]):
            out[a, b] = kendalltau(xs[:, a], ys[:, b], variant="b").statistic
    return out


def _fisher_ci(r: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.arctanh(np.clip(r, -0.999999999999, 0.999999999999))
    return np.tanh(z - _Z95 * se), np.tanh(z + _Z95 * se)
