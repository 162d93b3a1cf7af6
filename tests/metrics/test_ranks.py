"""opauc_sim.metrics.ranks: the rank-level kernels against brute force and the score-level metrics.

Kept fast as plain Python: CI also runs this file with NUMBA_DISABLE_JIT=1 -m "not slow".
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim import metrics
from opauc_sim._validation import UndefinedMetricWarning
from opauc_sim.metrics import ranks as rm
from tests import reference_sim as ref

TOL = 1e-12


@st.composite
def compact_rankings(draw, *, max_pos: int = 8, max_neg: int = 10, max_rows: int = 4):
    """``(pos_ranks, n_neg, ks, betas)``: random tie-free rankings and grids.

    Betas mix exact ``j / n_neg`` (integer cut) with arbitrary reals (fractional
    ``beta * n_neg``); ks may repeat and come in any order.
    """
    n_pos = draw(st.integers(1, max_pos))
    n_neg = draw(st.integers(1, max_neg))
    n_rows = draw(st.integers(1, max_rows))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = n_pos + n_neg
    pos = np.stack([np.sort(rng.choice(n, n_pos, replace=False)) for _ in range(n_rows)])
    ks = draw(st.lists(st.integers(1, n), min_size=1, max_size=4))
    betas = draw(
        st.lists(
            st.one_of(
                st.integers(1, n_neg).map(lambda j: j / n_neg),
                st.floats(1e-3, 1.0),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return pos, n_neg, ks, betas


@given(compact_rankings())
def test_matches_bruteforce(case):
    """Every metric, for every K and beta (fractional beta * n_neg included), equals its
    definition computed on the materialised ranking."""
    pos, n_neg, ks, betas = case
    hits = rm.hits_at_k(pos, n_neg, ks)
    rec = rm.recall_at_k(pos, n_neg, ks)
    prec = rm.precision_at_k(pos, n_neg, ks)
    dcg = rm.dcg_at_k(pos, n_neg, ks)
    ndcg = rm.ndcg_at_k(pos, n_neg, ks)
    pairs = rm.pair_count(pos, n_neg, betas)
    area = rm.opauc(pos, n_neg, betas)
    area_max = rm.opauc(pos, n_neg, betas, normalize="max")
    area_mc = rm.opauc(pos, n_neg, betas, normalize="mcclish")
    auc = rm.auc(pos, n_neg)
    n_pos = pos.shape[1]
    for r, row in enumerate(pos):
        labels = ref.materialise(row, n_neg)
        for j, k in enumerate(ks):
            assert hits[r, j] == ref.hits(labels, k)
            assert rec[r, j] == pytest.approx(ref.hits(labels, k) / n_pos, abs=TOL)
            assert prec[r, j] == pytest.approx(ref.hits(labels, k) / k, abs=TOL)
            assert dcg[r, j] == pytest.approx(ref.dcg(labels, k), abs=TOL)
            assert ndcg[r, j] == pytest.approx(ref.ndcg(labels, k), abs=TOL)
        for j, beta in enumerate(betas):
            a = ref.opauc_area(labels, beta)
            assert area[r, j] == pytest.approx(a, abs=TOL)
            assert pairs[r, j] == pytest.approx(ref.pair_count(labels, beta), abs=1e-9)
            assert area_max[r, j] == pytest.approx(a / beta, abs=1e-10)
            half = beta * beta / 2
            assert area_mc[r, j] == pytest.approx(0.5 * (1 + (a - half) / (beta - half)), abs=1e-9)
        assert auc[r] == pytest.approx(ref.opauc_area(labels, 1.0), abs=TOL)


@given(compact_rankings(max_rows=3))
def test_agrees_with_score_level_metrics(case):
    """On tie-free data the rank-level and score-level (opauc_sim.metrics) results agree."""
    pos, n_neg, ks, betas = case
    ks = sorted(set(ks))
    betas = sorted({float(f"{b:.6g}") for b in betas})
    n = pos.shape[1] + n_neg
    y_true = np.zeros((pos.shape[0], n), dtype=np.int8)
    for r, row in enumerate(pos):
        y_true[r, row] = 1
    rng = np.random.default_rng(int(pos.sum()))
    # Scores descending in rank, in a random column order: the same ranking, tie-free.
    perm = rng.permutation(n)
    y_score = np.broadcast_to(-np.arange(n, dtype=np.float64), y_true.shape)[:, perm]
    y_true = y_true[:, perm]
    for j, k in enumerate(ks):
        np.testing.assert_allclose(
            rm.recall_at_k(pos, n_neg, ks)[:, j],
            metrics.recall_at_k(y_true, y_score, k),
            rtol=0,
            atol=TOL,
        )
        np.testing.assert_allclose(
            rm.precision_at_k(pos, n_neg, ks)[:, j],
            metrics.precision_at_k(y_true, y_score, k),
            rtol=0,
            atol=TOL,
        )
        np.testing.assert_allclose(
            rm.ndcg_at_k(pos, n_neg, ks)[:, j],
            metrics.ndcg_at_k(y_true, y_score, k),
            rtol=0,
            atol=TOL,
        )
    for j, beta in enumerate(betas):
        for norm in (None, "max", "mcclish"):
            np.testing.assert_allclose(
                rm.opauc(pos, n_neg, betas, normalize=norm)[:, j],
                metrics.opauc(y_true, y_score, beta, normalize=norm),
                rtol=0,
                atol=1e-11,
            )
    np.testing.assert_allclose(rm.auc(pos, n_neg), metrics.auc(y_true, y_score), atol=TOL)
    ours = rm.evaluate(pos, n_neg, ks=ks, betas=betas)
    theirs = metrics.evaluate(y_true, y_score, ks=ks, betas=betas)
    assert list(ours.columns) == list(theirs.columns)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=1e-11)


def test_shapes_and_order():
    """1-D input drops the ranking axis, scalar grids drop the grid axis, order is kept."""
    pos = [0, 3, 4]
    assert rm.hits_at_k(pos, 5, [8, 1, 4]).tolist() == [3.0, 1.0, 2.0]
    assert rm.hits_at_k(pos, 5, 4) == 2.0
    assert isinstance(rm.recall_at_k(pos, 5, 4), float)
    assert rm.pair_count(pos, 5, [1.0, 0.2]).tolist() == [11.0, 1.0]
    assert rm.hits_at_k([pos, [1, 2, 7]], 5, [8, 1]).shape == (2, 2)
    assert rm.auc([pos, [0, 1, 2]], 5).tolist() == pytest.approx([11 / 15, 1.0])
    assert rm.opauc(np.array([[0, 1, 2]], dtype=np.int32), 5, 0.4).tolist() == [0.4]


def test_hand_computed_fractional_beta():
    """p = (0, 3, 4), n_neg = 5: a = (0, 2, 2); m = 2.5 gives 2.5 + 0.5 + 0.5 = 3.5."""
    assert rm.pair_count([0, 3, 4], 5, 0.5) == 3.5
    assert rm.opauc([0, 3, 4], 5, 0.5) == pytest.approx(3.5 / 15, abs=TOL)
    # The perfect ranking reaches the maximum area beta at every beta.
    assert rm.opauc([0, 1, 2], 5, [0.13, 0.5, 1.0]).tolist() == pytest.approx([0.13, 0.5, 1.0])
    # The worst ranking has zero area.
    assert rm.opauc([5, 6, 7], 5, [0.13, 1.0]).tolist() == [0.0, 0.0]


def test_ndcg_idcg_capped_at_n_pos():
    """IDCG@K sums min(K, n_pos) discounts: all positives on top gives NDCG = 1 for K > n_pos."""
    assert rm.ndcg_at_k([0, 1], 6, [1, 2, 5, 8]).tolist() == pytest.approx([1, 1, 1, 1])
    assert rm.ndcg_at_k([1], 3, 2) == pytest.approx(1 / math.log2(3))


def test_undefined_rows_warn_and_give_nan():
    """No positives: Recall/NDCG/AUC/OPAUC NaN; no negatives: AUC/OPAUC NaN; one warning."""
    empty = np.zeros((3, 0), dtype=np.int64)
    with pytest.warns(UndefinedMetricWarning, match="3 of 3"):
        assert np.isnan(rm.recall_at_k(empty, 4, [1, 2])).all()
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(rm.ndcg_at_k(empty, 4, 2)).all()
    assert (rm.precision_at_k(empty, 4, [1, 2]) == 0).all()
    with pytest.warns(UndefinedMetricWarning, match="no negatives"):
        assert np.isnan(rm.opauc([[0, 1]], 0, 0.5)).all()
    with pytest.warns(UndefinedMetricWarning, match="no negatives"):
        df = rm.evaluate([[0, 1]], 0, ks=[1], betas=[0.5])
    assert np.isnan(df["auc"]).all() and df["recall@1"].tolist() == [0.5]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: rm.hits_at_k([0, 0, 3], 5, 1), ValueError, "strictly increasing"),
        (lambda: rm.hits_at_k([3, 1], 5, 1), ValueError, "strictly increasing"),
        (lambda: rm.hits_at_k([0, 7], 5, 1), ValueError, r"\[0, 7\), got 7"),
        (lambda: rm.hits_at_k([-1, 2], 5, 1), ValueError, "got -1"),
        (lambda: rm.hits_at_k([0.0, 1.0], 5, 1), TypeError, "integer array"),
        (lambda: rm.hits_at_k([True, False], 5, 1), TypeError, "integer array"),
        (lambda: rm.hits_at_k(np.zeros((1, 1, 2), int), 5, 1), ValueError, "1-D or 2-D"),
        (lambda: rm.hits_at_k([0, 1], -1, 1), ValueError, "n_neg"),
        (lambda: rm.hits_at_k([0, 1], 2.0, 1), TypeError, "n_neg"),
        (lambda: rm.hits_at_k([0, 1], 5, 0), ValueError, r"ks\[0\] must be >= 1"),
        (lambda: rm.hits_at_k([0, 1], 5, [1, 8]), ValueError, r"ks\[1\] must be <= 7, got 8"),
        (lambda: rm.hits_at_k([0, 1], 5, 1.5), TypeError, "ks"),
        (lambda: rm.hits_at_k([0, 1], 5, []), ValueError, "ks must not be empty"),
        (lambda: rm.opauc([0, 1], 5, 0.0), ValueError, r"betas\[0\] must be > 0"),
        (lambda: rm.opauc([0, 1], 5, [0.5, 1.5]), ValueError, r"betas\[1\] must be <= 1"),
        (lambda: rm.opauc([0, 1], 5, float("nan")), ValueError, "finite"),
        (lambda: rm.opauc([0, 1], 5, []), ValueError, "betas must not be empty"),
        (lambda: rm.opauc([0, 1], 5, 0.5, normalize="auc"), ValueError, "normalize"),
        (lambda: rm.evaluate([0, 1], 5, ks=[2, 2]), ValueError, "repeat"),
    ],
)
def test_bad_input(call, error, match):
    """Malformed input raises, naming the argument and the bad value."""
    with pytest.raises(error, match=match):
        call()
