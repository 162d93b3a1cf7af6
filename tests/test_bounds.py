"""Unit tests of opauc_sim.bounds (Theorem 3) against brute-force item lists."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim.bounds import ROUNDINGS, hits_bounds, precision_bounds, recall_bounds


def brute_hits_and_pairs(labels_by_rank: list[int], k: int) -> tuple[int, int]:
    """hits@k and the number of (positive, top-k negative) pairs with the positive above."""
    negatives = [r for r, y in enumerate(labels_by_rank) if y == 0]
    top_negatives = negatives[:k]
    positives = [r for r, y in enumerate(labels_by_rank) if y == 1]
    hits = sum(1 for r in positives if r < k)
    pairs = sum(1 for i in positives for j in top_negatives if i < j)
    return hits, pairs


@st.composite
def rankings(draw, max_pos: int = 30, max_neg: int = 30):
    """A tie-free ranking (labels by rank), its class sizes, and a cut-off k <= n_neg."""
    n_pos = draw(st.integers(1, max_pos))
    n_neg = draw(st.integers(1, max_neg))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    labels = [1] * n_pos + [0] * n_neg
    if draw(st.booleans()):
        rng.shuffle(labels)
    else:  # skewed towards the top, so the bounds are approached
        scores = [rng.normal(3.0 if y else 0.0) for y in labels]
        labels = [y for _, y in sorted(zip(scores, labels, strict=True), reverse=True)]
    k = draw(st.integers(1, n_neg))
    return labels, n_pos, n_neg, k


@given(rankings())
def test_bounds_hold_on_brute_force_rankings(case):
    """Theorem 3: every rounding's bounds contain Recall@K and Precision@K (any n_pos)."""
    labels, n_pos, n_neg, k = case
    hits, pairs = brute_hits_and_pairs(labels, k)
    opauc_value = pairs / (n_pos * n_neg)
    for rounding in ROUNDINGS:
        lo, up = hits_bounds(opauc_value, n_pos, n_neg, k, rounding=rounding)
        assert lo - 1e-12 <= hits <= up + 1e-12, (rounding, lo, hits, up)
        lo, up = recall_bounds(opauc_value, n_pos, n_neg, k, rounding=rounding)
        assert lo - 1e-12 <= hits / n_pos <= up + 1e-12
        lo, up = precision_bounds(opauc_value, n_pos, n_neg, k, rounding=rounding)
        assert lo - 1e-12 <= hits / k <= up + 1e-12


def test_hand_computed_values():
    # n_pos = 4, k = 2, C = 4: lower = (6 - sqrt(36 - 16)) / 2 = 3 - sqrt(5), upper = 2.
    lo, up = hits_bounds(4 / 64, 4, 16, 2)
    assert lo == pytest.approx(3 - math.sqrt(5), rel=1e-15)
    assert up == 2.0
    assert recall_bounds(4 / 64, 4, 16, 2) == pytest.approx(((3 - math.sqrt(5)) / 4, 0.5))
    assert precision_bounds(4 / 64, 4, 16, 2) == pytest.approx(((3 - math.sqrt(5)) / 2, 1.0))
    assert hits_bounds(4 / 64, 4, 16, 2, rounding="paper") == (0.0, 2.0)
    assert hits_bounds(4 / 64, 4, 16, 2, rounding="tight") == (1.0, 2.0)
    assert hits_bounds(0.0, 5, 9, 3) == (0.0, 0.0)


def test_rounding_order():
    rng = np.random.default_rng(0)
    n_pos = rng.integers(1, 50, 500)
    n_neg = rng.integers(1, 50, 500)
    k = np.array([rng.integers(1, q + 1) for q in n_neg])
    value = rng.uniform(0, 1, 500) * k / n_neg
    none = hits_bounds(value, n_pos, n_neg, k)
    paper = hits_bounds(value, n_pos, n_neg, k, rounding="paper")
    tight = hits_bounds(value, n_pos, n_neg, k, rounding="tight")
    assert np.all(paper[0] <= none[0]) and np.all(none[0] <= tight[0])
    assert np.all(tight[1] <= none[1]) and np.all(none[1] <= paper[1])
    assert np.all(none[0] <= none[1] + 1e-12)


def test_integer_bounds_survive_floating_point():
    """C = t^2 and C = t (k + n_pos - t) give exactly t after tight rounding, although
    C / (n_pos n_neg) * n_pos * n_neg is not always an integer in floating point."""
    for n_pos in range(1, 40, 3):
        for n_neg in range(1, 60, 7):
            for k in range(1, n_neg + 1, 2):
                for t in range(0, min(k, n_pos) + 1):
                    c_up, c_lo = t * t, t * (k + n_pos - t)
                    _, up = hits_bounds(c_up / (n_pos * n_neg), n_pos, n_neg, k, rounding="tight")
                    assert up == t
                    if c_lo <= n_pos * k:
                        lo, _ = hits_bounds(
                            c_lo / (n_pos * n_neg), n_pos, n_neg, k, rounding="tight"
                        )
                        assert lo == t


def test_vectorised_matches_scalar_and_broadcasts():
    rng = np.random.default_rng(1)
    n_neg = 40
    k = np.arange(1, 11)
    value = rng.uniform(0, 1, 10) * k / n_neg
    for rounding in ROUNDINGS:
        lo, up = recall_bounds(value, 25, n_neg, k, rounding=rounding)
        assert lo.shape == up.shape == (10,)
        for i in range(10):
            assert (lo[i], up[i]) == recall_bounds(
                float(value[i]), 25, n_neg, int(k[i]), rounding=rounding
            )
    lo, up = precision_bounds(np.full((3, 1), 0.01), 10, 100, np.array([[1, 2, 3]]))
    assert lo.shape == (3, 3)
    assert isinstance(recall_bounds(0.01, 10, 100, 1)[0], float)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((0.1, 5, 4, 5), {}, ValueError, "k must be <= n_neg"),
        ((0.5, 5, 10, 2), {}, ValueError, "opauc_value"),
        ((-0.01, 5, 10, 2), {}, ValueError, "opauc_value"),
        ((np.nan, 5, 10, 2), {}, ValueError, "opauc_value"),
        ((0.1, 0, 10, 2), {}, ValueError, "n_pos"),
        ((0.1, 5, 10, 0), {}, ValueError, "k"),
        ((0.1, 5.5, 10, 2), {}, TypeError, "n_pos"),
        ((0.1, 5, 10, 2), {"rounding": "floor"}, ValueError, "rounding"),
        (("a", 5, 10, 2), {}, TypeError, "opauc_value"),
        ((np.zeros(3), 5, 10, np.array([1, 2])), {}, ValueError, "broadcast"),
    ],
)
def test_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        recall_bounds(*args, **kwargs)


def test_outside_paper_preconditions_is_accepted():
    """n_pos <= k and n_neg = k are outside the paper's statement but inside the proof."""
    lo, up = recall_bounds(2 / 6, 2, 3, 3)  # n_pos < k = n_neg, C = 2
    assert 0.0 <= lo <= up
