"""Theorem 3 (Shi et al. 2023): OPAUC(K / n_neg) bounds Recall@K and Precision@K.

For a tie-free ranking of n_pos positives and n_neg negatives with n_pos > K, n_neg > K,
beta = K / n_neg and C = n_pos * n_neg * OPAUC(beta):

    (n_pos + K - sqrt((n_pos + K)^2 - 4 C)) / 2  <=  hits@K  <=  sqrt(C),

Recall@K = hits@K / n_pos, Precision@K = hits@K / K; the paper floors the lower bound and
ceils the upper, and since hits@K is an integer ceil(lower) and floor(upper) hold too.
Both bounds are attained.

Checked here: every ranking of n <= 14 items (opauc_sim.checks.theorem3), hypothesis over
(n_pos, n_neg, K, ranking) with the metrics module as the oracle for OPAUC and Recall@K,
tightness, and the edges n_pos <= K, n_neg = K, K > n_neg and tied scores.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim import metrics
from opauc_sim.bounds import ROUNDINGS, hits_bounds, precision_bounds, recall_bounds
from opauc_sim.checks import by_key, theorem3
from proofs_check._helpers import DEEP, assert_expected


def test_exhaustive_enumeration_n_le_14():
    """Every ranking of n <= 14 items: the bounds hold, are attained, and the edges behave
    as recorded (n_pos <= K and n_neg = K hold; AUC in place of OPAUC for K > n_neg fails)."""
    results = theorem3.check_exhaustive(14)
    assert_expected(results)
    assert by_key(results, "theorem3.recall_within_bounds").cases == 133_482
    assert by_key(results, "theorem3.recall_within_bounds").holds
    assert by_key(results, "theorem3.precision_within_bounds").holds
    assert by_key(results, "theorem3.upper_attained").holds
    assert by_key(results, "theorem3.lower_attained").holds
    assert by_key(results, "theorem3.edge_n_pos_at_most_k").holds
    assert by_key(results, "theorem3.edge_n_neg_equals_k").holds
    assert by_key(results, "theorem3.edge_k_above_n_neg_auc").holds is False
    # Given C, ceil(lower) and min(floor(upper), K, n_pos) are the exact extremes of hits@K.
    assert by_key(results, "theorem3.lower_sharp_given_c").holds
    assert by_key(results, "theorem3.capped_upper_sharp_given_c").holds
    assert by_key(results, "theorem3.upper_sharp_given_c").holds is False


def test_random_rankings_and_metrics_identity():
    results = theorem3.check_random(2000 if DEEP else 150)
    results.append(theorem3.check_metrics_identity(9 if DEEP else 6, 300 if DEEP else 40))
    assert_expected(results)


def test_enumeration_matches_brute_force_pair_count():
    """The vectorised pair count equals a literal double loop over (positive, negative)."""
    positive = theorem3.enumerate_rankings(7)
    for k in range(1, 8):
        hits, pairs = theorem3.hits_and_pairs(positive, k)
        for row, h, c in zip(positive, hits, pairs, strict=True):
            neg_ranks = [r for r in range(7) if row[r] == 0]
            top_neg = neg_ranks[:k]
            if len(neg_ranks) >= k:
                brute = sum(1 for i in range(7) if row[i] for j in top_neg if i < j)
                assert c == brute
            assert h == row[:k].sum()


@st.composite
def ranked_items(draw, max_pos=60, max_neg=60, inside=True):
    """(y_true, y_score, n_pos, n_neg, k): a tie-free ranking, uniform or top-heavy."""
    n_pos = draw(st.integers(2 if inside else 1, max_pos))
    n_neg = draw(st.integers(2 if inside else 1, max_neg))
    k = draw(st.integers(1, min(n_pos, n_neg) - 1) if inside else st.integers(1, n_neg))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shift = draw(st.sampled_from([0.0, 1.0, 3.0, 8.0]))
    y_true = np.r_[np.ones(n_pos, dtype=np.int64), np.zeros(n_neg, dtype=np.int64)]
    y_score = rng.standard_normal(n_pos + n_neg) + shift * y_true
    return y_true, y_score, n_pos, n_neg, k


def _bounds_hold(y_true, y_score, n_pos, n_neg, k):
    value = float(metrics.opauc(y_true, y_score, k / n_neg))
    recall = float(metrics.recall_at_k(y_true, y_score, k))
    precision = float(metrics.precision_at_k(y_true, y_score, k))
    for rounding in ROUNDINGS:
        lo, up = recall_bounds(value, n_pos, n_neg, k, rounding=rounding)
        assert lo - 1e-12 <= recall <= up + 1e-12, (rounding, lo, recall, up)
        lo, up = precision_bounds(value, n_pos, n_neg, k, rounding=rounding)
        assert lo - 1e-12 <= precision <= up + 1e-12, (rounding, lo, precision, up)


@given(ranked_items())
def test_bounds_hold_inside_preconditions(case):
    """Theorem 3 as stated (n_pos > K, n_neg > K), with metrics.opauc and metrics'
    Recall/Precision@K as the oracle, for all three roundings."""
    _bounds_hold(*case)


@given(ranked_items(inside=False))
def test_bounds_hold_for_any_k_le_n_neg(case):
    """Edge: dropping n_pos > K (and allowing K = n_neg) keeps both bounds."""
    _bounds_hold(*case)


@given(st.integers(1, 12), st.integers(1, 14), st.integers(0, 2**32 - 1), st.data())
def test_ties_real_valued_bounds(n_pos, n_neg, seed, data):
    """Edge (a finding, not the theorem): with tied scores, hits@K as the expectation over
    tie orders and OPAUC with diagonal tie segments still satisfy the real-valued bounds."""
    k = data.draw(st.integers(1, n_neg))
    rng = np.random.default_rng(seed)
    y_true = np.r_[np.ones(n_pos, dtype=np.int64), np.zeros(n_neg, dtype=np.int64)]
    y_score = rng.integers(0, data.draw(st.integers(1, 4)), n_pos + n_neg).astype(float)
    value = min(float(metrics.opauc(y_true, y_score, k / n_neg)), k / n_neg)
    hits = float(metrics.recall_at_k(y_true, y_score, k)) * n_pos
    lo, up = hits_bounds(value, n_pos, n_neg, k)
    assert lo - 1e-12 <= hits <= up + 1e-12


def test_ties_probe_record():
    assert_expected([theorem3.check_ties(50)])
