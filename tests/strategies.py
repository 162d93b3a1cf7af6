"""Hypothesis strategies that deliberately produce the hard cases for ranking metrics.

Ties (scores from a tiny pool), rows with no positives or no negatives, infinite scores,
fractional ``beta * n_neg``, 1-D and 2-D input, and sparse labels.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st


@st.composite
def score_rows(draw, *, min_items: int = 1, max_items: int = 12, ties: bool | None = None):
    """One row: ``(y_true, y_score)`` as float64/int8 arrays, with ties when asked or drawn.

    Scores come from a pool of 2-4 values when ``ties`` (so tie groups mix positives and
    negatives), else from distinct values; ``inf`` / ``-inf`` appear sometimes.
    """
    n = draw(st.integers(min_items, max_items))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if ties is None:
        ties = draw(st.booleans())
    if ties:
        pool = np.array(draw(st.sampled_from([[0.0, 1.0], [-1.0, 0.5, 2.0], [0, 1, 2, 3]])))
        scores = rng.choice(pool.astype(float), size=n)
    else:
        scores = rng.permutation(n).astype(float) + rng.random(n) * 0.5
    if draw(st.integers(0, 9)) == 0:
        scores[rng.integers(n)] = draw(st.sampled_from([np.inf, -np.inf]))
    mode = draw(st.sampled_from(["mixed", "mixed", "mixed", "no_pos", "no_neg"]))
    if mode == "no_pos":
        labels = np.zeros(n, dtype=np.int8)
    elif mode == "no_neg":
        labels = np.ones(n, dtype=np.int8)
    else:
        labels = (rng.random(n) < draw(st.floats(0.1, 0.9))).astype(np.int8)
    return labels, scores


@st.composite
def score_matrices(draw, *, max_rows: int = 5, max_items: int = 10):
    """2-D ``(y_true, y_score)`` with a mix of tied, untied and undefined rows."""
    n_rows = draw(st.integers(1, max_rows))
    n_items = draw(st.integers(1, max_items))
    rows = [draw(score_rows(min_items=n_items, max_items=n_items)) for _ in range(n_rows)]
    labels = np.stack([r[0] for r in rows])
    scores = np.stack([r[1] for r in rows])
    return labels, scores


def as_label_variant(labels: np.ndarray, variant: str):
    """The same labels as bool, int64, float64 or (2-D only) a CSR matrix."""
    if variant == "bool":
        return labels.astype(bool)
    if variant == "int64":
        return labels.astype(np.int64)
    if variant == "float64":
        return labels.astype(np.float64)
    if variant == "csr":
        return sp.csr_matrix(labels)
    raise ValueError(variant)


LABEL_VARIANTS_1D = ("bool", "int64", "float64")
LABEL_VARIANTS_2D = (*LABEL_VARIANTS_1D, "csr")


@st.composite
def betas_for(draw, n_neg: int):
    """A beta in (0, 1], often making beta * n_neg fractional, sometimes an exact K/n_neg."""
    if n_neg > 0 and draw(st.booleans()):
        return draw(st.integers(1, n_neg)) / n_neg
    return draw(st.floats(1e-3, 1.0, exclude_min=False))
